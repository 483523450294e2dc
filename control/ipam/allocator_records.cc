// Allocator: ownership records. Records arrive by gossip, push-pull, sync
// and donations; a message is checked whole before any of it applies, and
// one that takes this host's blocks without its say is dropped and answered
// with higher records of its own (reassert). A block changing hands turns
// allocations in it into conflicts (lost) or starts its settling time
// (reclaimed by this host). Records this host writes go out at the node's
// full retransmit limit; records it relays are coalesced per pool and sent
// at a share of it.
#include "control/ipam/allocator.h"

#include <algorithm>
#include <cmath>

#include "control/gossip/node.h"
#include "control/ipam/ipam.pb.h"

namespace ferry::ipam {

// --- receiving ---------------------------------------------------------------

void Allocator::receive(const v1::Records& msg, bool rebroadcast) {
  std::vector<CheckedPool> checked;
  std::vector<ForgedRecord> forged;
  if (!check_records(msg, checked, forged)) return;
  if (!forged.empty()) {
    reassert(checked, forged);
    return;
  }
  apply_records(checked, rebroadcast);
}

bool Allocator::check_records(const v1::Records& msg, std::vector<CheckedPool>& checked,
                              std::vector<ForgedRecord>& forged) {
  for (const auto& pr : msg.pools()) {
    auto decoded = from_proto(pr.spec(), config_);
    if (!decoded) {
      count(Counter::malformed);
      return false;
    }
    PoolSpec spec = std::move(*decoded);
    const Pool* known = find_pool(spec.name);
    if (known != nullptr && !(known->spec == spec)) {
      count(Counter::pool_mismatch);
      return false;
    }
    auto runs = decode_runs(pr.runs(), spec.num_blocks());
    if (!runs) {
      count(Counter::bad_range);
      return false;
    }
    for (const Run& r : *runs) {
      count(Counter::records_rx);
      // A record that takes one of our blocks must be ours (we persist every
      // record we write before anyone sees it), or a reclaim.
      if (r.record.owner == self_ || r.record.reclaimed) continue;
      for (std::uint32_t b = r.first; b < r.first + r.count; ++b) {
        const Record cur = known != nullptr ? known->map.at(b) : Record{0, spec.genesis, false};
        // Our own reclaimed record may have lost a tie to another heir who
        // has since moved on: that is not a forgery.
        if (cur.owner == self_ && !cur.reclaimed && std::is_gt(r.record.compare(cur))) {
          forged.push_back(ForgedRecord{checked.size(), b, r.record.version});
        }
      }
    }
    checked.push_back(CheckedPool{std::move(spec), std::move(*runs)});
  }
  return true;
}

void Allocator::reassert(const std::vector<CheckedPool>& checked, const std::vector<ForgedRecord>& forged) {
  count(Counter::forged);
  // A record of ours above the forged one wins everywhere.
  std::map<std::string, std::vector<std::uint32_t>> by_pool;
  for (const ForgedRecord& f : forged) {
    const PoolSpec& spec = checked[f.pool].spec;
    Pool* p = find_pool(spec.name);
    if (p == nullptr) p = &add_pool(spec);
    if (p->map.at(f.block).version > f.version) continue;  // already reasserted above it
    p->map.reset(f.block, Record{f.version + 1, self_, false});
    by_pool[spec.name].push_back(f.block);
    count(Counter::reasserted);
  }
  persist();
  for (const auto& [pool_name, blocks] : by_pool) {
    const Pool* p = find_pool(pool_name);
    broadcast(*p, runs_of(*p, blocks), queue_);
  }
}

void Allocator::apply_records(const std::vector<CheckedPool>& checked, bool rebroadcast) {
  bool mine = false;
  std::vector<std::string> touched;
  for (const CheckedPool& c : checked) {
    Pool* p = find_pool(c.spec.name);
    if (p == nullptr) p = &add_pool(c.spec);
    std::vector<std::uint32_t> changed;
    for (const Run& r : c.runs) {
      for (std::uint32_t b = r.first; b < r.first + r.count; ++b) {
        const Record before = p->map.at(b);
        if (!p->map.merge(b, r.record)) continue;
        count(Counter::records_applied);
        changed.push_back(b);
        if (before.owner == self_ || r.record.owner == self_) mine = true;
        on_block_change(*p, b, before, r.record);
      }
    }
    if (!changed.empty()) touched.push_back(c.spec.name);
    if (rebroadcast && !changed.empty()) {
      // Relayed news is coalesced per pool and sent at the next flush.
      if (p->relay.empty() && relay_flush_ == gossip::kNever) relay_flush_ = clock_.now() + config_.relay_interval;
      p->relay.insert(changed.begin(), changed.end());
    }
  }
  if (mine) persist();
  std::vector<Completion> done;
  for (const std::string& name : touched) {
    Pool* p = find_pool(name);
    if (!p->pending.empty()) serve_pending(*p, done);
  }
  run(done);
}

void Allocator::on_block_change(Pool& p, std::uint32_t block, const Record& before, const Record& after) {
  if (before.owner == self_ && after.owner != self_) {
    p.settling.erase(block);
    if (after.reclaimed) count(Counter::blocks_lost);
    // Anything we allocated there is no longer ours to keep.
    for (auto& [ip, handle] : p.allocs.take_block(block, p.spec.block_first(block), p.spec.block_size)) {
      conflicts_.push_back(Conflict{p.spec.name, ip, std::move(handle), after.owner});
      count(Counter::conflicts);
    }
  } else if (after.owner == self_ && before.owner != self_ && after.reclaimed) {
    p.settling[block] = clock_.now() + config_.reclaim_settle;
  }
}

// --- writing and sending -----------------------------------------------------

void Allocator::write(Pool& p, std::uint32_t block, const Record& record) {
  const Record before = p.map.at(block);
  p.map.reset(block, record);
  on_block_change(p, block, before, record);
}

std::vector<Run> Allocator::runs_of(const Pool& p, const std::vector<std::uint32_t>& blocks) const {
  std::vector<std::uint32_t> sorted = blocks;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::vector<Run> out;
  for (const std::uint32_t b : sorted) {
    const Record& r = p.map.at(b);
    if (!out.empty() && out.back().first + out.back().count == b && out.back().record == r) {
      ++out.back().count;
    } else {
      out.push_back(Run{b, 1, r});
    }
  }
  return out;
}

void Allocator::broadcast(const Pool& p, const std::vector<Run>& runs, gossip::BroadcastQueue& queue) {
  for (const v1::IpamMessage& msg : updates(p.spec, runs)) queue.queue("", framing_.frame(msg));
}

void Allocator::flush_relay() {
  relay_flush_ = gossip::kNever;
  for (auto& [name, p] : pools_) {
    if (p.relay.empty()) continue;
    broadcast(p, runs_of(p, std::vector<std::uint32_t>(p.relay.begin(), p.relay.end())), relay_queue_);
    p.relay.clear();
  }
}

void Allocator::get_broadcasts(size_t overhead_per_item, size_t byte_budget, std::vector<std::string>& out) {
  // This host's own records first, at the node's full retransmit limit;
  // relayed ones at a share of it (push-pull repairs what they miss, and
  // safety never depends on them).
  const std::uint32_t limit = node_.retransmit_limit();
  std::size_t used = 0;
  if (!queue_.empty()) used = queue_.get(overhead_per_item, byte_budget, limit, out);
  if (relay_queue_.empty() || used >= byte_budget) return;
  const auto relay_limit = std::max<std::uint32_t>(
      2, static_cast<std::uint32_t>(std::ceil(static_cast<double>(limit) * config_.relay_share)));
  relay_queue_.get(overhead_per_item, byte_budget - used, relay_limit, out);
}

}  // namespace ferry::ipam
