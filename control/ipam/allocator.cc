#include "control/ipam/allocator.h"

#include <algorithm>
#include <cmath>

#include "control/gossip/node.h"
#include "control/ipam/ipam.pb.h"

namespace ferry::ipam {

namespace {

using gossip::TimePoint;

constexpr std::size_t kBroadcastChunk = 900;  // bytes of runs per broadcast item (fits a datagram)

void to_proto(const PoolSpec& s, v1::PoolSpec& out) {
  out.set_name(s.name);
  out.set_subnet(s.subnet);
  out.set_prefix_len(s.prefix_len);
  out.set_block_size(s.block_size);
  out.set_genesis(s.genesis);
  if (s.is_v6()) {
    out.set_ipv6_network(s.net6.data(), s.net6.size());
    out.set_ipv6_prefix_len(s.prefix6);
  }
}

// A pool definition from the wire or a snapshot, checked whole: IPv4 with
// no IPv6 fields, or IPv6 with a 16-byte network and a window that matches
// its prefix.
Result<PoolSpec> from_proto(const v1::PoolSpec& in, const Config& config) {
  PoolSpec spec{in.name(), in.subnet(), in.prefix_len(), in.block_size(), in.genesis(), {}, in.ipv6_prefix_len()};
  if (spec.is_v6() != !in.ipv6_network().empty()) return make_error("pool definition: IPv6 network and prefix differ");
  if (spec.is_v6()) {
    if (in.ipv6_network().size() != spec.net6.size()) {
      return make_error("pool definition: IPv6 network is not 16 bytes");
    }
    std::copy(in.ipv6_network().begin(), in.ipv6_network().end(), spec.net6.begin());
  }
  if (auto v = spec.validate(config.max_wire_blocks, config.max_name_size); !v) return v.error();
  return spec;
}

std::vector<const v1::Run*> run_ptrs(const google::protobuf::RepeatedPtrField<v1::Run>& runs) {
  std::vector<const v1::Run*> out;
  out.reserve(static_cast<std::size_t>(runs.size()));
  for (const auto& r : runs) out.push_back(&r);
  return out;
}

double seconds(gossip::Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

Allocator::Allocator(Config config, gossip::Node& node, gossip::Clock& clock, std::uint64_t seed)
    : config_(config),
      node_(node),
      clock_(clock),
      rng_(seed),
      self_(node.name()),
      next_check_(clock.now() + config.check_interval),
      next_sync_(config.sync_interval.count() > 0 ? clock.now() + config.sync_interval : gossip::kNever) {}

Allocator::~Allocator() = default;

// --- pools -------------------------------------------------------------------

Allocator::Pool& Allocator::add_pool(const PoolSpec& spec) {
  auto [it, inserted] = pools_.try_emplace(spec.name, spec, BlockMap(spec.num_blocks(), spec.genesis));
  return it->second;
}

Allocator::Pool* Allocator::find_pool(const std::string& name) {
  auto it = pools_.find(name);
  return it == pools_.end() ? nullptr : &it->second;
}

const Allocator::Pool* Allocator::find_pool(const std::string& name) const {
  auto it = pools_.find(name);
  return it == pools_.end() ? nullptr : &it->second;
}

const PoolSpec* Allocator::spec(const std::string& pool) const {
  const Pool* p = find_pool(pool);
  return p ? &p->spec : nullptr;
}

const BlockMap* Allocator::map(const std::string& pool) const {
  const Pool* p = find_pool(pool);
  return p ? &p->map : nullptr;
}

Result<PoolSpec> Allocator::ensure_pool(const std::string& name, std::string_view cidr, const std::string& genesis) {
  if (!valid_name(name, config_.max_name_size)) return make_error("bad pool name '{}'", name);
  auto spec = PoolSpec::make(name, cidr, genesis, config_.max_blocks);
  if (!spec) return spec.error();
  return ensure_spec(*spec);
}

Result<PoolSpec> Allocator::ensure_pool(const std::string& name, Addr subnet, std::uint32_t prefix_len,
                                        const std::string& genesis) {
  if (!valid_name(name, config_.max_name_size)) return make_error("bad pool name '{}'", name);
  auto spec = PoolSpec::make(name, subnet, prefix_len, genesis, config_.max_blocks);
  if (!spec) return spec.error();
  return ensure_spec(*spec);
}

Result<PoolSpec> Allocator::ensure_spec(const PoolSpec& spec) {
  if (const Pool* p = find_pool(spec.name)) {
    // The block size is the cluster's (learned or ours); the rest must agree.
    PoolSpec want = spec;
    want.block_size = p->spec.block_size;
    if (!(p->spec == want)) {
      return make_error("pool {} is already defined as {} (genesis {}), not {} (genesis {})", spec.name, p->spec.cidr(),
                        p->spec.genesis, spec.cidr(), spec.genesis);
    }
    return p->spec;
  }
  add_pool(spec);
  persist();
  return spec;
}

// --- local state -------------------------------------------------------------

bool Allocator::usable(const Pool& p, std::uint32_t block) const {
  return p.map.owner(block) == self_ && !p.settling.contains(block);
}

std::optional<Addr> Allocator::lowest_free(const Pool& p) const {
  for (const std::uint32_t b : p.map.blocks_of(self_)) {
    if (p.settling.contains(b)) continue;
    auto used = p.used.find(b);
    if (used != p.used.end() && used->second >= p.spec.usable_in(b)) continue;
    const Addr first = p.spec.block_first(b);
    for (Addr ip = first; ip - first < p.spec.block_size; ++ip) {
      if (!p.spec.reserved(ip) && !p.allocs.contains(ip)) return ip;
    }
  }
  return std::nullopt;
}

std::uint32_t Allocator::free_addresses(const std::string& pool) const {
  const Pool* p = find_pool(pool);
  if (!p) return 0;
  std::uint32_t n = 0;
  for (const std::uint32_t b : p->map.blocks_of(self_)) {
    if (p->settling.contains(b)) continue;
    auto used = p->used.find(b);
    n += p->spec.usable_in(b) - (used == p->used.end() ? 0 : used->second);
  }
  return n;
}

std::optional<Addr> Allocator::lookup(const std::string& pool, const std::string& handle) const {
  const Pool* p = find_pool(pool);
  if (!p) return std::nullopt;
  auto it = p->by_handle.find(handle);
  if (it == p->by_handle.end()) return std::nullopt;
  return it->second;
}

std::map<Addr, std::string> Allocator::allocations(const std::string& pool) const {
  const Pool* p = find_pool(pool);
  return p ? p->allocs : std::map<Addr, std::string>{};
}

std::vector<AddressRange> Allocator::owned_ranges(const std::string& pool) const {
  std::vector<AddressRange> out;
  const Pool* p = find_pool(pool);
  if (!p) return out;
  for (const std::uint32_t b : p->map.blocks_of(self_)) {
    const Addr first = p->spec.block_first(b);
    const Addr last = first + p->spec.block_size - 1;
    if (!out.empty() && out.back().last + 1 == first) {
      out.back().last = last;
    } else {
      out.push_back(AddressRange{first, last});
    }
  }
  return out;
}

std::vector<std::string> Allocator::pool_names() const {
  std::vector<std::string> out;
  out.reserve(pools_.size());
  for (const auto& [name, p] : pools_) out.push_back(name);
  return out;
}

std::size_t Allocator::pending() const {
  std::size_t n = 0;
  for (const auto& [name, p] : pools_) n += p.pending.size();
  return n;
}

bool Allocator::fenced() const {
  return config_.fence_after.count() > 0 && no_quorum_since_ != gossip::kNever &&
         clock_.now() - no_quorum_since_ >= config_.fence_after && !has_quorum(cluster_size());
}

// --- persistence -------------------------------------------------------------

std::string Allocator::snapshot() const {
  v1::Snapshot snap;
  snap.set_host(self_);
  for (const auto& [name, p] : pools_) {
    auto* ps = snap.add_pools();
    to_proto(p.spec, *ps->mutable_spec());
    for (const Run& r : p.map.runs()) encode_run(r, *ps->add_runs());
    for (const auto& [ip, handle] : p.allocs) {
      auto* a = ps->add_allocations();
      a->set_address(ip);
      a->set_handle(handle);
    }
  }
  return snap.SerializeAsString();
}

bool Allocator::persist() {
  if (!persist_) return true;
  if (auto r = persist_(snapshot()); !r) {
    count(Counter::persist_failed);
    return false;
  }
  return true;
}

Result<void> Allocator::restore(const std::string& snapshot) {
  v1::Snapshot snap;
  if (!snap.ParseFromString(snapshot)) return make_error("IPAM state: does not decode");
  if (snap.host() != self_) return make_error("IPAM state belongs to host '{}', not '{}'", snap.host(), self_);
  // Check everything before changing anything.
  struct Loaded {
    PoolSpec spec;
    std::vector<Run> runs;
  };
  std::vector<Loaded> loaded;
  for (const auto& ps : snap.pools()) {
    auto decoded = from_proto(ps.spec(), config_);
    if (!decoded) return decoded.error().wrap("IPAM state");
    PoolSpec spec = std::move(*decoded);
    if (const Pool* p = find_pool(spec.name); p && !(p->spec == spec)) {
      return make_error("IPAM state: pool {} differs from the one already known", spec.name);
    }
    auto runs = decode_runs(run_ptrs(ps.runs()), spec.num_blocks());
    if (!runs) return runs.error().wrap(fmt::format("IPAM state, pool {}", spec.name));
    for (const auto& a : ps.allocations()) {
      if (!spec.contains(a.address()) || spec.reserved(a.address())) {
        return make_error("IPAM state, pool {}: bad allocation {}", spec.name, spec.format(a.address()));
      }
    }
    loaded.push_back(Loaded{std::move(spec), std::move(*runs)});
  }
  for (std::size_t i = 0; i < loaded.size(); ++i) {
    Pool& p = add_pool(loaded[i].spec);
    for (const Run& r : loaded[i].runs) p.map.merge(r);
    for (const auto& a : snap.pools(static_cast<int>(i)).allocations()) {
      const std::uint32_t b = p.spec.block_of(a.address());
      if (p.map.owner(b) != self_) {
        conflicts_.push_back(Conflict{p.spec.name, a.address(), a.handle(), p.map.owner(b)});
        count(Counter::conflicts);
        continue;
      }
      if (!p.allocs.emplace(a.address(), a.handle()).second) continue;
      ++p.used[b];
      if (!a.handle().empty()) p.by_handle[a.handle()] = a.address();
    }
  }
  return ok();
}

// --- allocation --------------------------------------------------------------

Result<Addr> Allocator::commit(Pool& p, Addr ip, const std::string& handle) {
  const std::uint32_t b = p.spec.block_of(ip);
  p.allocs.emplace(ip, handle);
  ++p.used[b];
  if (!handle.empty()) p.by_handle[handle] = ip;
  if (!persist()) {
    p.allocs.erase(ip);
    if (--p.used[b] == 0) p.used.erase(b);
    if (!handle.empty()) p.by_handle.erase(handle);
    count(Counter::allocate_failed);
    return make_error("pool {}: could not save the IPAM state; address {} not allocated", p.spec.name,
                      p.spec.format(ip));
  }
  count(Counter::allocated);
  return ip;
}

std::optional<Result<Addr>> Allocator::try_allocate(Pool& p, const std::string& handle, std::optional<Addr> want) {
  if (!handle.empty()) {
    if (auto it = p.by_handle.find(handle); it != p.by_handle.end()) {
      if (want && *want != it->second) {
        return Result<Addr>(make_error("pool {}: {} already holds {}, not {}", p.spec.name, handle,
                                       p.spec.format(it->second), p.spec.format(*want)));
      }
      return Result<Addr>(it->second);
    }
  }
  if (fenced()) {
    count(Counter::fenced_refusals);
    return Result<Addr>(make_error(
        "pool {}: this host has not seen a majority of the cluster for {:.0f} s and stops allocating (fenced): "
        "its space may be reclaimed by the others; retry once it reconnects",
        p.spec.name, seconds(clock_.now() - no_quorum_since_)));
  }
  if (want) {
    const Addr ip = *want;
    if (!p.spec.contains(ip)) {
      return Result<Addr>(
          make_error("address {} is outside pool {} ({})", p.spec.format(ip), p.spec.name, p.spec.window()));
    }
    if (p.spec.reserved(ip)) {
      return Result<Addr>(make_error(
          "address {} is reserved in {} ({})", p.spec.format(ip), p.spec.cidr(),
          p.spec.is_v6() ? "first, gateway or last address of the window" : "network, gateway or broadcast"));
    }
    if (p.allocs.contains(ip)) return Result<Addr>(make_error("address {} is already in use", p.spec.format(ip)));
    if (usable(p, p.spec.block_of(ip))) return commit(p, ip, handle);
    return std::nullopt;  // the block's owner must give it first (or it is settling)
  }
  if (auto ip = lowest_free(p)) return commit(p, *ip, handle);
  return std::nullopt;
}

void Allocator::allocate(const std::string& pool, const std::string& handle, std::optional<Addr> want, Done done) {
  std::vector<Completion> completions;
  Pool* p = find_pool(pool);
  if (p == nullptr) {
    count(Counter::allocate_failed);
    done(make_error("unknown pool '{}'", pool));
    return;
  }
  if (handle.size() > config_.max_name_size) {
    count(Counter::allocate_failed);
    done(make_error("allocation handle longer than {} bytes", config_.max_name_size));
    return;
  }
  // Queued behind earlier requests so a donation serves them in order.
  if (p->pending.empty()) {
    if (auto r = try_allocate(*p, handle, want)) {
      if (!*r) count(Counter::allocate_failed);
      done(std::move(*r));
      return;
    }
  }
  p->pending.push_back(Pending{handle, want, std::move(done), clock_.now() + config_.allocate_timeout});
  ask_donation(*p, completions);
  run(completions);
}

Result<void> Allocator::release(const std::string& pool, Addr address) {
  Pool* p = find_pool(pool);
  if (p == nullptr) return make_error("unknown pool '{}'", pool);
  auto it = p->allocs.find(address);
  if (it == p->allocs.end()) return make_error("address {} is not allocated in pool {}", p->spec.format(address), pool);
  const std::string handle = it->second;
  const std::uint32_t b = p->spec.block_of(address);
  p->allocs.erase(it);
  if (--p->used[b] == 0) p->used.erase(b);
  if (!handle.empty()) p->by_handle.erase(handle);
  if (!persist()) {
    p->allocs.emplace(address, handle);
    ++p->used[b];
    if (!handle.empty()) p->by_handle[handle] = address;
    return make_error("pool {}: could not save the IPAM state; {} stays allocated", pool, p->spec.format(address));
  }
  count(Counter::released);
  return ok();
}

// --- graceful hand-over ------------------------------------------------------

Result<std::uint32_t> Allocator::hand_over() {
  // A fenced host must not give space away: the majority may be reclaiming
  // it (the same rule as for donations).
  if (fenced()) {
    count(Counter::fenced_refusals);
    return make_error(
        "hand-over refused: this host has not seen a majority of the cluster for {:.0f} s (fenced); its space "
        "will be reclaimed by the others after reclaim_after",
        seconds(clock_.now() - no_quorum_since_));
  }
  std::vector<std::string> live;  // sorted by name (members() order is not)
  for (const auto& m : node_.members()) {
    if (m.name != self_ && !left_.contains(m.name) && alive(m.name)) live.push_back(m.name);
  }
  std::sort(live.begin(), live.end());
  struct Plan {
    Pool* pool;
    std::vector<std::uint32_t> blocks;
    std::vector<std::pair<std::uint32_t, Record>> before;
  };
  std::vector<Plan> plans;
  std::uint32_t total = 0;
  for (auto& [name, p] : pools_) {
    Plan plan{&p, {}, {}};
    for (const std::uint32_t b : p.map.blocks_of(self_)) {
      if (!p.used.contains(b) && !p.settling.contains(b)) plan.blocks.push_back(b);
    }
    if (plan.blocks.empty()) continue;
    total += static_cast<std::uint32_t>(plan.blocks.size());
    plans.push_back(std::move(plan));
  }
  if (total == 0) return 0U;
  if (live.empty()) {
    return make_error("hand-over refused: no other live host to give {} free blocks to (is this host cut off?)", total);
  }
  for (Plan& plan : plans) {
    Pool& p = *plan.pool;
    // Prefer hosts that already take part in this pool; each gets one
    // contiguous share, so the map grows by at most one run per recipient.
    std::vector<std::string> to;
    for (const std::string& name : live) {
      if (p.map.count_of(name) > 0) to.push_back(name);
    }
    if (to.empty()) to = live;
    const std::size_t n = plan.blocks.size();
    std::size_t i = 0;
    for (std::size_t k = 0; k < to.size(); ++k) {
      const std::size_t share = n / to.size() + (k < n % to.size() ? 1 : 0);
      for (std::size_t j = 0; j < share; ++j, ++i) {
        const std::uint32_t b = plan.blocks[i];
        plan.before.emplace_back(b, p.map.at(b));
        p.map.reset(b, Record{p.map.at(b).version + 1, to[k], false});
      }
    }
  }
  if (!persist()) {
    for (Plan& plan : plans) {
      for (const auto& [b, r] : plan.before) plan.pool->map.reset(b, r);
    }
    return make_error("hand-over failed: could not save the IPAM state; nothing was given");
  }
  v1::IpamMessage direct;
  for (Plan& plan : plans) {
    const std::vector<Run> runs = runs_of(*plan.pool, plan.blocks);
    broadcast(*plan.pool, runs, queue_);
    auto* pr = direct.mutable_state()->add_pools();
    to_proto(plan.pool->spec, *pr->mutable_spec());
    for (const Run& r : runs) encode_run(r, *pr->add_runs());
  }
  // Every recipient gets every handed-over record on the reliable channel
  // too (handled like the second half of a sync), so the leaving host can
  // wait for the answers instead of trusting gossip to run long enough.
  const std::string wire = framed(direct);
  for (const std::string& name : live) {
    if (const auto member = node_.member(name)) handoffs_.insert(node_.user_request(member->address, wire));
  }
  count(Counter::hand_overs);
  count(Counter::blocks_handed_over, total);
  return total;
}

Result<void> Allocator::check_invariants() const {
  for (const auto& [key, p] : pools_) {
    const std::string& name = key;  // a lambda may not capture a structured binding (C++20)
    auto fail = [&name](const std::string& what) { return make_error("pool {}: {}", name, what); };
    if (name != p.spec.name) return fail("stored under another name");
    if (auto v = p.spec.validate(config_.max_wire_blocks, config_.max_name_size); !v) return fail(v.error().message);
    if (p.map.size() != p.spec.num_blocks()) return fail("map size differs from the block count");
    if (auto v = p.map.check(p.spec.genesis); !v) return fail(v.error().message);
    std::map<std::uint32_t, std::uint32_t> used;
    std::size_t handles = 0;
    for (const auto& [ip, handle] : p.allocs) {
      if (!p.spec.contains(ip) || p.spec.reserved(ip)) return fail(fmt::format("allocation {} outside", ip));
      const std::uint32_t b = p.spec.block_of(ip);
      if (p.map.owner(b) != self_) return fail(fmt::format("allocation {} in block {} of {}", ip, b, p.map.owner(b)));
      if (p.settling.contains(b)) return fail(fmt::format("allocation {} in a settling block", ip));
      ++used[b];
      if (!handle.empty()) {
        ++handles;
        const auto it = p.by_handle.find(handle);
        if (it == p.by_handle.end() || it->second != ip) return fail("handle index out of date");
      }
    }
    if (used != p.used) return fail("per-block counts out of date");
    if (handles != p.by_handle.size()) return fail("handle index holds extra entries");
    for (const auto& [b, until] : p.settling) {
      if (b >= p.map.size() || p.map.owner(b) != self_) return fail(fmt::format("settling block {} not ours", b));
    }
    if (p.request != 0 && !requests_.contains(p.request)) return fail("donation in flight not tracked");
  }
  return ok();
}

void Allocator::run(std::vector<Completion>& done) {
  std::vector<Completion> batch;
  batch.swap(done);
  for (auto& [fn, result] : batch) fn(std::move(result));
}

void Allocator::serve_pending(Pool& p, std::vector<Completion>& done) {
  while (!p.pending.empty()) {
    Pending& front = p.pending.front();
    auto r = try_allocate(p, front.handle, front.want);
    if (!r) break;
    if (!*r) count(Counter::allocate_failed);
    done.emplace_back(std::move(front.done), std::move(*r));
    p.pending.pop_front();
  }
  if (p.pending.empty()) {
    p.attempts = 0;
    p.refused.clear();
    p.failures.clear();
    p.retry_at = TimePoint{};
    return;
  }
  ask_donation(p, done);
}

std::string Allocator::exhausted_message(const Pool& p) const {
  std::string why = p.failures.empty() ? "no other host owns space in it" : "";
  constexpr std::size_t kShown = 6;  // the latest answers
  const std::size_t from = p.failures.size() > kShown ? p.failures.size() - kShown : 0;
  if (from > 0) why = fmt::format("{} refusals, the latest: ", p.failures.size());
  for (std::size_t i = from; i < p.failures.size(); ++i) why += (i == from ? "" : "; ") + p.failures[i];
  return fmt::format("pool {} ({}): no free address on this host and no host gave space ({})", p.spec.name,
                     p.spec.cidr(), why);
}

void Allocator::fail_pending(Pool& p, const std::string& why, std::vector<Completion>& done) {
  for (Pending& pend : p.pending) {
    count(Counter::allocate_failed);
    done.emplace_back(std::move(pend.done), Result<Addr>(make_error("{}", why)));
  }
  p.pending.clear();
  p.attempts = 0;
  p.refused.clear();
  p.failures.clear();
  p.retry_at = TimePoint{};
}

void Allocator::ask_donation(Pool& p, std::vector<Completion>& done) {
  while (p.request == 0 && !p.pending.empty() && p.retry_at <= clock_.now()) {
    const Pending& front = p.pending.front();
    if (fenced()) {
      serve_pending(p, done);  // fails them with the fenced message
      return;
    }
    std::string target;
    if (front.want) {
      const std::uint32_t b = p.spec.block_of(*front.want);
      if (p.map.owner(b) == self_) return;  // settling: tick() retries
      target = p.map.owner(b);
      if (p.refused.contains(target) || !alive(target)) {
        count(Counter::allocate_failed);
        const std::string why = !alive(target)       ? std::string("is not reachable")
                                : p.failures.empty() ? std::string("did not give it")
                                                     : p.failures.back();
        done.emplace_back(std::move(p.pending.front().done),
                          Result<Addr>(make_error("address {} is in space owned by host {} ({})",
                                                  p.spec.format(*front.want), target, why)));
        p.pending.pop_front();
        p.refused.erase(target);
        serve_pending(p, done);  // the next ones may be served locally
        return;
      }
    } else {
      // A donor at random, weighted by the blocks it owns (Weave weighs by
      // free space; ownership is what every host knows for sure).
      std::vector<std::pair<std::string, std::uint32_t>> candidates;
      std::uint64_t total = 0;
      bool reachable = false;
      for (const auto& [owner, n] : p.map.owner_counts()) {
        if (owner == self_ || !alive(owner)) continue;
        reachable = true;
        if (p.refused.contains(owner)) continue;
        candidates.emplace_back(owner, n);
        total += n;
      }
      if (!reachable) {
        p.failures.emplace_back("no other owner of space in the pool is reachable");
        fail_pending(p, exhausted_message(p), done);
        return;
      }
      if (!p.hint.empty() && !p.refused.contains(p.hint) && alive(p.hint) && p.attempts < config_.donation_attempts) {
        candidates.assign(1, {p.hint, 1});
        total = 1;
      }
      p.hint.clear();
      if (candidates.empty() || p.attempts >= config_.donation_attempts) {
        // This round's donors said no. Space moves while donations spread by
        // gossip, so ask again a check interval later; allocate_timeout ends it.
        p.refused.clear();
        p.attempts = 0;
        p.retry_at = clock_.now() + config_.retry_interval;
        return;
      }
      std::uint64_t pick = rng_.below(total);
      for (const auto& [owner, n] : candidates) {
        if (pick < n) {
          target = owner;
          break;
        }
        pick -= n;
      }
    }
    const auto member = node_.member(target);
    if (!member) {
      p.refused.insert(target);
      p.failures.push_back(fmt::format("{}: not a member", target));
      continue;
    }
    v1::IpamMessage msg;
    auto* req = msg.mutable_donation_request();
    to_proto(p.spec, *req->mutable_spec());
    if (front.want) {
      req->set_specific(true);
      req->set_address(*front.want);
    }
    ++p.attempts;
    p.asked = target;
    p.request = node_.user_request(member->address, framed(msg));
    requests_[p.request] = p.spec.name;
    count(Counter::donations_asked);
  }
}

// --- donations: the donor ----------------------------------------------------

std::string Allocator::serve_donation(const std::string& from, const v1::DonationRequest& req) {
  v1::IpamMessage reply;
  auto* resp = reply.mutable_donation_response();
  resp->set_pool(req.spec().name());
  auto refuse = [&](std::string why) {
    count(Counter::donations_refused);
    resp->set_error(std::move(why));
    return reply.SerializeAsString();
  };
  auto decoded = from_proto(req.spec(), config_);
  if (!decoded) {
    count(Counter::malformed);
    return refuse("bad pool definition");
  }
  const PoolSpec& spec = *decoded;
  Pool* p = find_pool(spec.name);
  if (p != nullptr && !(p->spec == spec)) {
    count(Counter::pool_mismatch);
    return refuse(fmt::format("pool {} is defined differently here", spec.name));
  }
  if (p == nullptr) p = &add_pool(spec);
  if (from == self_ || !valid_name(from, 255)) return refuse("bad requester");
  if (fenced()) {
    count(Counter::fenced_refusals);
    return refuse("donor is fenced (no quorum)");
  }
  std::vector<std::uint32_t> give;
  if (req.specific()) {
    const Addr ip = req.address();
    if (!spec.contains(ip)) return refuse(fmt::format("{} is outside the pool", spec.format(ip)));
    const std::uint32_t b = spec.block_of(ip);
    if (p->map.owner(b) != self_) return refuse(fmt::format("{} is not in this host's space", spec.format(ip)));
    if (p->allocs.contains(ip)) {
      resp->set_address_in_use(true);
      return refuse(fmt::format("address {} is already in use on {}", spec.format(ip), self_));
    }
    if (p->used.contains(b) || p->settling.contains(b)) {
      return refuse(fmt::format("the block of {} holds other addresses of {}", spec.format(ip), self_));
    }
    give.push_back(b);
  } else {
    std::vector<std::uint32_t> free_blocks;
    for (const std::uint32_t b : p->map.blocks_of(self_)) {
      if (!p->used.contains(b) && !p->settling.contains(b)) free_blocks.push_back(b);
    }
    if (free_blocks.empty()) {
      // Point the requester at whoever holds most space in this host's map:
      // it knows best where its own space went.
      std::uint32_t most = 0;
      for (const auto& [owner, n] : p->map.owner_counts()) {
        if (owner != self_ && owner != from && n > most) {
          most = n;
          resp->set_hint(owner);
        }
      }
      return refuse(fmt::format("{} has no free block", self_));
    }
    auto n = static_cast<std::size_t>(std::floor(static_cast<double>(free_blocks.size()) * config_.donate_fraction));
    n = std::clamp<std::size_t>(n, 1, free_blocks.size());
    give.assign(free_blocks.end() - static_cast<std::ptrdiff_t>(n), free_blocks.end());  // the top ones
  }
  std::vector<std::pair<std::uint32_t, Record>> before;
  for (const std::uint32_t b : give) {
    before.emplace_back(b, p->map.at(b));
    p->map.reset(b, Record{p->map.at(b).version + 1, from, false});
  }
  if (!persist()) {
    for (const auto& [b, r] : before) p->map.reset(b, r);
    return refuse("donor could not save its state");
  }
  const std::vector<Run> runs = runs_of(*p, give);
  for (const Run& r : runs) encode_run(r, *resp->add_runs());
  broadcast(*p, runs, queue_);
  count(Counter::donations_given);
  count(Counter::blocks_given, give.size());
  return reply.SerializeAsString();
}

// --- donations: the requester ------------------------------------------------

void Allocator::on_donation(Pool& p, const v1::DonationResponse& resp, std::vector<Completion>& done) {
  const std::string donor = p.asked;
  if (resp.runs().empty()) {
    count(Counter::donations_refused);
    p.refused.insert(donor);
    p.failures.push_back(fmt::format("{}: {}", donor, resp.error().empty() ? "refused" : resp.error()));
    if (!resp.hint().empty() && resp.hint() != self_ && !p.refused.contains(resp.hint()) && alive(resp.hint())) {
      p.hint = resp.hint();
    }
    if (resp.address_in_use() && !p.pending.empty() && p.pending.front().want) {
      count(Counter::allocate_failed);
      done.emplace_back(std::move(p.pending.front().done),
                        Result<Addr>(make_error("address {} is already in use (on host {})",
                                                p.spec.format(*p.pending.front().want), donor)));
      p.pending.pop_front();
    }
    serve_pending(p, done);
    return;
  }
  auto runs = decode_runs(run_ptrs(resp.runs()), p.spec.num_blocks());
  if (!runs) {
    count(Counter::bad_range);
    p.refused.insert(donor);
    p.failures.push_back(fmt::format("{}: bad donation ({})", donor, runs.error().message));
    serve_pending(p, done);
    return;
  }
  // A donation gives us blocks at the version after the donor's. It is a
  // forgery (dropped whole) when our map contradicts that: we know the
  // block at that version or later under another record, or at the version
  // just before under another owner. A larger gap means the donor got the
  // block in donations we have not heard of yet: nothing to check against.
  for (const Run& r : *runs) {
    bool forged = r.record.owner != self_ || r.record.reclaimed;
    for (std::uint32_t b = r.first; !forged && b < r.first + r.count; ++b) {
      const Record& cur = p.map.at(b);
      if (cur == r.record) continue;  // gossip was faster
      forged = cur.version >= r.record.version || (cur.version + 1 == r.record.version && cur.owner != donor);
    }
    if (forged) {
      count(Counter::forged);
      p.refused.insert(donor);
      p.failures.push_back(fmt::format("{}: donation of blocks it does not own (dropped)", donor));
      serve_pending(p, done);
      return;
    }
  }
  std::uint32_t got = 0;
  for (const Run& r : *runs) {
    for (std::uint32_t b = r.first; b < r.first + r.count; ++b) {
      const Record before = p.map.at(b);
      if (p.map.merge(b, r.record)) {
        ++got;
        on_block_change(p, b, before, r.record);
      }
    }
  }
  count(Counter::donations_received);
  count(Counter::blocks_received, got);
  persist();
  p.refused.clear();
  p.failures.clear();
  p.attempts = 0;
  p.retry_at = TimePoint{};
  serve_pending(p, done);
}

// --- records from the wire ---------------------------------------------------

void Allocator::on_block_change(Pool& p, std::uint32_t block, const Record& before, const Record& after) {
  if (before.owner == self_ && after.owner != self_) {
    p.settling.erase(block);
    if (after.reclaimed) count(Counter::blocks_lost);
    // Anything we allocated there is no longer ours to keep.
    const Addr first = p.spec.block_first(block);
    for (auto it = p.allocs.lower_bound(first); it != p.allocs.end() && it->first - first < p.spec.block_size;) {
      conflicts_.push_back(Conflict{p.spec.name, it->first, it->second, after.owner});
      count(Counter::conflicts);
      if (!it->second.empty()) p.by_handle.erase(it->second);
      it = p.allocs.erase(it);
    }
    p.used.erase(block);
  } else if (after.owner == self_ && before.owner != self_ && after.reclaimed) {
    p.settling[block] = clock_.now() + config_.reclaim_settle;
  }
}

void Allocator::receive(const v1::Records& msg, bool rebroadcast) {
  // Pass 1: check the whole message; nothing changes unless all of it is sound.
  struct Checked {
    PoolSpec spec;
    std::vector<Run> runs;
  };
  std::vector<Checked> checked;
  struct Forged {
    std::size_t checked_index;  // into `checked`
    std::uint32_t block;
    std::uint64_t version;
  };
  std::vector<Forged> forged;
  for (const auto& pr : msg.pools()) {
    auto decoded = from_proto(pr.spec(), config_);
    if (!decoded) {
      count(Counter::malformed);
      return;
    }
    PoolSpec spec = std::move(*decoded);
    const Pool* known = find_pool(spec.name);
    if (known != nullptr && !(known->spec == spec)) {
      count(Counter::pool_mismatch);
      return;
    }
    auto runs = decode_runs(run_ptrs(pr.runs()), spec.num_blocks());
    if (!runs) {
      count(Counter::bad_range);
      return;
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
          forged.push_back(Forged{checked.size(), b, r.record.version});
        }
      }
    }
    checked.push_back(Checked{std::move(spec), std::move(*runs)});
  }
  if (!forged.empty()) {
    count(Counter::forged);
    // Reassert: a record of ours above the forged one wins everywhere.
    std::map<std::string, std::vector<std::uint32_t>> by_pool;
    for (const Forged& f : forged) {
      const PoolSpec& spec = checked[f.checked_index].spec;
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
    return;
  }
  // Pass 2: apply.
  bool mine = false;
  std::vector<std::string> touched;
  for (const Checked& c : checked) {
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
  std::size_t i = 0;
  while (i < runs.size()) {
    v1::IpamMessage msg;
    auto* pr = msg.mutable_update()->add_pools();
    to_proto(p.spec, *pr->mutable_spec());
    std::size_t bytes = 0;
    for (; i < runs.size() && bytes < kBroadcastChunk; ++i) {
      encode_run(runs[i], *pr->add_runs());
      bytes += 16 + runs[i].record.owner.size();
    }
    queue.queue("", framed(msg));
  }
}

void Allocator::flush_relay() {
  relay_flush_ = gossip::kNever;
  for (auto& [name, p] : pools_) {
    if (p.relay.empty()) continue;
    broadcast(p, runs_of(p, std::vector<std::uint32_t>(p.relay.begin(), p.relay.end())), relay_queue_);
    p.relay.clear();
  }
}

void Allocator::write(Pool& p, std::uint32_t block, const Record& record) {
  const Record before = p.map.at(block);
  p.map.reset(block, record);
  on_block_change(p, block, before, record);
}

// --- liveness, quorum, reclaim -----------------------------------------------

bool Allocator::alive(const std::string& name) const {
  if (name == self_) return true;
  const auto s = node_.state_of(name);
  return s && (*s == gossip::MemberState::kAlive || *s == gossip::MemberState::kSuspect);
}

std::size_t Allocator::cluster_size() const {
  const std::size_t members = node_.num_members();
  // Owners of space count even when membership does not list them (yet): a
  // host restarted from its state into isolation knows, from its maps, that
  // it is not alone, and fences like any cut-off host.
  return std::max({members > left_.size() ? members - left_.size() : std::size_t{1}, owners_, std::size_t{1}});
}

bool Allocator::has_quorum(std::size_t voters) const { return 2 * node_.num_alive() > voters; }

void Allocator::reclaim(Pool& p, const std::set<std::string>& doomed) {
  // Segments of consecutive blocks whose owners are all reclaimable go to the
  // heir: the owner of the block just before the segment (wrapping around),
  // which keeps space contiguous. When every owner is reclaimable, each
  // reclaimer is its own heir and the tie-break on equal versions picks one;
  // that, and heirs whose views of the dead differ, is why reclaimed blocks
  // settle before use.
  const std::uint32_t n = p.map.size();
  std::uint32_t start = n;
  for (std::uint32_t b = 0; b < n && start == n; ++b) {
    if (!doomed.contains(p.map.owner(b))) start = b;
  }
  std::vector<std::uint32_t> taken;
  std::string heir = self_;
  for (std::uint32_t k = 0; k < n; ++k) {
    const std::uint32_t b = start == n ? k : (start + k) % n;
    const std::string& owner = p.map.owner(b);
    if (!doomed.contains(owner)) {
      heir = owner;
      continue;
    }
    if (heir == self_) taken.push_back(b);
  }
  if (taken.empty()) return;
  for (const std::uint32_t b : taken) write(p, b, Record{p.map.at(b).version + 1, self_, true});
  count(Counter::blocks_reclaimed, taken.size());
  persist();
  broadcast(p, runs_of(p, taken), queue_);
}

void Allocator::check(TimePoint now) {
  // Forget "left" marks of members no longer listed at all.
  for (auto it = left_.begin(); it != left_.end();) {
    it = node_.state_of(*it) ? std::next(it) : left_.erase(it);
  }
  std::set<std::string> owners;
  for (const auto& [name, p] : pools_) {
    for (const auto& [owner, blocks] : p.map.owner_counts()) owners.insert(owner);
  }
  owners_ = 0;
  for (const std::string& owner : owners) owners_ += (owner == self_ || !left_.contains(owner)) ? 1 : 0;
  if (has_quorum(cluster_size())) {
    no_quorum_since_ = gossip::kNever;
  } else if (no_quorum_since_ == gossip::kNever) {
    no_quorum_since_ = now;
  }
  for (auto it = dead_.begin(); it != dead_.end();) {
    it = owners.contains(it->first) ? std::next(it) : dead_.erase(it);
  }
  for (const std::string& owner : owners) {
    if (alive(owner)) {
      dead_.erase(owner);
    } else if (!dead_.contains(owner)) {
      dead_.emplace(owner, DeadOwner{now, cluster_size()});
    }
  }
  std::set<std::string> doomed;
  if (config_.reclaim_after.count() > 0 && !fenced()) {
    for (const auto& [owner, d] : dead_) {
      if (now - d.since >= config_.reclaim_after && has_quorum(std::max(d.voters, cluster_size()))) {
        doomed.insert(owner);
      }
    }
  }
  std::vector<Completion> done;
  for (auto& [name, p] : pools_) {
    if (!doomed.empty()) reclaim(p, doomed);
    bool settled = false;
    for (auto it = p.settling.begin(); it != p.settling.end();) {
      if (it->second <= now) {
        it = p.settling.erase(it);
        settled = true;
      } else {
        ++it;
      }
    }
    while (!p.pending.empty() && p.pending.front().deadline <= now) {
      count(Counter::allocate_failed);
      done.emplace_back(std::move(p.pending.front().done),
                        Result<Addr>(make_error("pool {}: no address within {} ms ({})", p.spec.name,
                                                config_.allocate_timeout.count(), exhausted_message(p))));
      p.pending.pop_front();
    }
    if (settled || (!p.pending.empty() && p.request == 0 && p.retry_at <= now)) serve_pending(p, done);
  }
  run(done);
}

// --- gossip::Delegate --------------------------------------------------------

std::string Allocator::framed(const v1::IpamMessage& msg) const {
  std::string out = wire_prefix_;
  msg.AppendToString(&out);
  return out;
}

bool Allocator::unframe(gossip::Bytes data, v1::IpamMessage& msg) const {
  const std::string_view view(reinterpret_cast<const char*>(data.data()), data.size());
  if (!view.starts_with(wire_prefix_)) return false;
  const std::string_view body = view.substr(wire_prefix_.size());
  return msg.ParseFromArray(body.data(), static_cast<int>(body.size()));
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

void Allocator::notify_user_msg(std::string_view from_name, gossip::Bytes payload) {
  (void)from_name;
  v1::IpamMessage msg;
  if (!unframe(payload, msg) || msg.body_case() != v1::IpamMessage::kUpdate) {
    count(Counter::malformed);
    return;
  }
  receive(msg.update(), true);
}

std::string Allocator::local_state(bool join) {
  (void)join;
  v1::IpamMessage msg;
  auto* state = msg.mutable_state();
  for (const auto& [name, p] : pools_) {
    auto* pr = state->add_pools();
    to_proto(p.spec, *pr->mutable_spec());
    for (const Run& r : p.map.runs()) encode_run(r, *pr->add_runs());
  }
  return framed(msg);
}

void Allocator::merge_remote_state(gossip::Bytes state, bool join) {
  (void)join;
  if (state.empty()) return;
  v1::IpamMessage msg;
  if (!unframe(state, msg) || msg.body_case() != v1::IpamMessage::kState) {
    count(Counter::malformed);
    return;
  }
  receive(msg.state(), true);
}

std::string Allocator::handle_user_request(std::string_view from_name, gossip::Bytes request) {
  v1::IpamMessage msg;
  if (!unframe(request, msg)) {
    count(Counter::malformed);
    return {};
  }
  switch (msg.body_case()) {
    case v1::IpamMessage::kDonationRequest:
      return serve_donation(std::string(from_name), msg.donation_request());
    case v1::IpamMessage::kSyncRequest:
      return serve_sync(msg.sync_request());
    case v1::IpamMessage::kState:  // the second half of a sync
      receive(msg.state(), true);
      return {};
    default:
      count(Counter::malformed);
      return {};
  }
}

// --- anti-entropy ------------------------------------------------------------

void Allocator::start_sync() {
  if (pools_.empty()) return;
  // A peer among the owners of a random block of a random pool: always a
  // member that took part, found in O(1).
  auto it = pools_.begin();
  std::advance(it, static_cast<std::ptrdiff_t>(rng_.below(pools_.size())));
  const std::string peer = it->second.map.owner(static_cast<std::uint32_t>(rng_.below(it->second.map.size())));
  if (peer == self_ || !alive(peer)) return;
  const auto member = node_.member(peer);
  if (!member) return;
  v1::IpamMessage msg;
  for (const auto& [name, p] : pools_) {
    auto* d = msg.mutable_sync_request()->add_digests();
    d->set_pool(name);
    d->set_digest(p.map.digest());
  }
  syncs_.emplace(node_.user_request(member->address, framed(msg)), peer);
  count(Counter::syncs);
}

std::string Allocator::serve_sync(const v1::SyncRequest& req) {
  std::map<std::string, std::uint64_t> theirs;
  for (const auto& d : req.digests()) theirs.emplace(d.pool(), d.digest());
  v1::IpamMessage reply;
  auto* state = reply.mutable_state();
  for (const auto& [name, p] : pools_) {
    auto t = theirs.find(name);
    if (t != theirs.end() && t->second == p.map.digest()) continue;
    auto* pr = state->add_pools();
    to_proto(p.spec, *pr->mutable_spec());
    for (const Run& r : p.map.runs()) encode_run(r, *pr->add_runs());
  }
  return reply.SerializeAsString();
}

void Allocator::on_sync(uint64_t request_id, const Result<std::string>& response) {
  const auto it = syncs_.find(request_id);
  const std::string peer = it->second;
  syncs_.erase(it);
  if (!response || response->empty()) return;
  v1::IpamMessage msg;
  if (!msg.ParseFromString(*response) || msg.body_case() != v1::IpamMessage::kState) {
    count(Counter::malformed);
    return;
  }
  if (msg.state().pools().empty()) return;  // in sync
  receive(msg.state(), true);
  count(Counter::syncs_repaired);
  // Push back the pools where this host knew more than the peer sent.
  v1::IpamMessage push;
  for (const auto& pr : msg.state().pools()) {
    const Pool* p = find_pool(pr.spec().name());
    const auto spec = from_proto(pr.spec(), config_);
    if (p == nullptr || !spec || !(p->spec == *spec)) continue;
    BlockMap sent(p->spec.num_blocks(), p->spec.genesis);
    auto runs = decode_runs(run_ptrs(pr.runs()), p->spec.num_blocks());
    if (!runs) continue;
    for (const Run& r : *runs) sent.merge(r);
    if (sent.digest() == p->map.digest()) continue;
    auto* out = push.mutable_state()->add_pools();
    to_proto(p->spec, *out->mutable_spec());
    for (const Run& r : p->map.runs()) encode_run(r, *out->add_runs());
  }
  if (!push.has_state()) return;
  // The answer to a push is empty; its id is not tracked (ignored on arrival).
  if (const auto member = node_.member(peer)) node_.user_request(member->address, framed(push));
}

void Allocator::notify_user_response(uint64_t request_id, const Result<std::string>& response) {
  // A hand-over delivery: answered or not, the records also travel by gossip.
  if (handoffs_.erase(request_id) != 0) return;
  if (syncs_.contains(request_id)) {
    on_sync(request_id, response);
    return;
  }
  auto it = requests_.find(request_id);
  if (it == requests_.end()) return;
  Pool* p = find_pool(it->second);
  requests_.erase(it);
  if (p == nullptr || p->request != request_id) return;
  p->request = 0;
  std::vector<Completion> done;
  if (!response) {
    count(Counter::donations_failed);
    p->refused.insert(p->asked);
    p->failures.push_back(fmt::format("{}: {}", p->asked, response.error().message));
    serve_pending(*p, done);
  } else {
    v1::IpamMessage msg;
    if (!msg.ParseFromString(*response) || msg.body_case() != v1::IpamMessage::kDonationResponse ||
        msg.donation_response().pool() != p->spec.name) {
      count(Counter::malformed);
      p->refused.insert(p->asked);
      p->failures.push_back(fmt::format("{}: malformed answer", p->asked));
      serve_pending(*p, done);
    } else {
      on_donation(*p, msg.donation_response(), done);
    }
  }
  run(done);
}

void Allocator::notify_join(const gossip::MemberInfo& info) {
  left_.erase(info.name);
  dead_.erase(info.name);
}

void Allocator::notify_leave(const gossip::MemberInfo& info) {
  if (info.state == gossip::MemberState::kLeft) left_.insert(info.name);
}

TimePoint Allocator::next_deadline() const {
  TimePoint t = std::min({next_check_, relay_flush_, next_sync_});
  for (const auto& [name, p] : pools_) {
    if (!p.pending.empty() && p.request == 0 && p.retry_at > TimePoint{}) t = std::min(t, p.retry_at);
  }
  return t;
}

void Allocator::tick(TimePoint now) {
  if (now >= relay_flush_) flush_relay();
  if (now >= next_sync_) {
    // Jittered so a cluster started at once does not sync in waves.
    const auto period = std::chrono::duration_cast<gossip::Duration>(config_.sync_interval);
    next_sync_ = now + period / 2 +
                 gossip::Duration(static_cast<gossip::Duration::rep>(
                     rng_.below(static_cast<std::uint64_t>(std::max<gossip::Duration::rep>(period.count(), 1)))));
    start_sync();
  }
  if (now >= next_check_) {
    next_check_ = now + config_.check_interval;
    check(now);
    return;
  }
  // A donation round due before the next full check.
  std::vector<Completion> done;
  for (auto& [name, p] : pools_) {
    if (!p.pending.empty() && p.request == 0 && p.retry_at > TimePoint{} && p.retry_at <= now) serve_pending(p, done);
  }
  run(done);
}

}  // namespace ferry::ipam
