#include "control/ipam/block_map.h"

#include "control/ipam/ipam.pb.h"
#include "control/ipam/pool.h"

namespace ferry::ipam {

std::strong_ordering Record::compare(const Record& o) const {
  if (version != o.version) return version < o.version ? std::strong_ordering::less : std::strong_ordering::greater;
  if (owner != o.owner) return owner < o.owner ? std::strong_ordering::less : std::strong_ordering::greater;
  if (reclaimed != o.reclaimed) return reclaimed ? std::strong_ordering::greater : std::strong_ordering::less;
  return std::strong_ordering::equal;
}

BlockMap::BlockMap(std::uint32_t num_blocks, const std::string& genesis)
    : blocks_(num_blocks, Record{0, genesis, false}) {
  auto& set = by_owner_[genesis];
  for (std::uint32_t b = 0; b < num_blocks; ++b) {
    set.insert(set.end(), b);
    digest_ ^= hash(b, blocks_[b]);
  }
}

std::uint64_t BlockMap::hash(std::uint32_t block, const Record& record) {
  // FNV-1a over the fields, then a splitmix finish: cheap and well spread.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 0x100000001b3ULL;
    }
  };
  mix(block);
  mix(record.version);
  mix(record.reclaimed ? 1 : 0);
  for (const char c : record.owner) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ULL;
  return h ^ (h >> 29);
}

void BlockMap::set(std::uint32_t block, const Record& record) {
  Record& cur = blocks_[block];
  digest_ ^= hash(block, cur) ^ hash(block, record);
  if (cur.owner != record.owner) {
    auto it = by_owner_.find(cur.owner);
    it->second.erase(block);
    if (it->second.empty()) by_owner_.erase(it);
    by_owner_[record.owner].insert(block);
  }
  cur = record;
}

bool BlockMap::merge(std::uint32_t block, const Record& record) {
  if (block >= blocks_.size() || std::is_lteq(record.compare(blocks_[block]))) return false;
  set(block, record);
  return true;
}

std::uint32_t BlockMap::merge(const Run& run) {
  std::uint32_t changed = 0;
  for (std::uint32_t i = 0; i < run.count; ++i) changed += merge(run.first + i, run.record) ? 1 : 0;
  return changed;
}

Result<void> BlockMap::check(const std::string& genesis) const {
  std::uint64_t digest = 0;
  std::size_t indexed = 0;
  for (const auto& [owner, blocks] : by_owner_) {
    if (blocks.empty()) return make_error("owner {} indexed with no block", owner);
    indexed += blocks.size();
    for (const std::uint32_t b : blocks) {
      if (b >= blocks_.size() || blocks_[b].owner != owner) return make_error("block {} indexed under {}", b, owner);
    }
  }
  if (indexed != blocks_.size()) return make_error("{} blocks indexed, {} in the map", indexed, blocks_.size());
  for (std::uint32_t b = 0; b < blocks_.size(); ++b) {
    const Record& r = blocks_[b];
    if (r.version == 0 && (r.owner != genesis || r.reclaimed)) return make_error("block {}: version 0 not genesis", b);
    if (r.owner.empty()) return make_error("block {}: no owner", b);
    digest ^= hash(b, r);
  }
  if (digest != digest_) return make_error("digest out of date");
  return ok();
}

std::vector<Run> BlockMap::runs(bool with_genesis) const {
  std::vector<Run> out;
  for (std::uint32_t b = 0; b < blocks_.size(); ++b) {
    const Record& r = blocks_[b];
    if (r.version == 0 && !with_genesis) continue;
    if (!out.empty() && out.back().first + out.back().count == b && out.back().record == r) {
      ++out.back().count;
    } else {
      out.push_back(Run{b, 1, r});
    }
  }
  return out;
}

const std::set<std::uint32_t>& BlockMap::blocks_of(const std::string& owner) const {
  static const std::set<std::uint32_t> kNone;
  auto it = by_owner_.find(owner);
  return it == by_owner_.end() ? kNone : it->second;
}

std::map<std::string, std::uint32_t> BlockMap::owner_counts() const {
  std::map<std::string, std::uint32_t> out;
  for (const auto& [owner, blocks] : by_owner_) out.emplace(owner, static_cast<std::uint32_t>(blocks.size()));
  return out;
}

std::uint32_t BlockMap::count_of(const std::string& owner) const {
  return static_cast<std::uint32_t>(blocks_of(owner).size());
}

Result<std::vector<Run>> decode_runs(const std::vector<const v1::Run*>& wire, std::uint32_t num_blocks) {
  std::vector<Run> out;
  out.reserve(wire.size());
  std::uint64_t next_free = 0;  // runs must start at or after this block
  for (const v1::Run* w : wire) {
    const std::uint64_t first = w->first();
    const std::uint64_t end = first + w->count();
    if (w->count() == 0) return make_error("empty run at block {}", first);
    if (end > num_blocks) return make_error("run {}+{} outside the pool's {} blocks", first, w->count(), num_blocks);
    if (first < next_free) return make_error("run at block {} overlaps or is out of order", first);
    if (w->version() == 0) return make_error("run at block {} has version 0", first);
    if (!valid_name(w->owner(), 255)) return make_error("run at block {} has a bad owner name", first);
    next_free = end;
    out.push_back(Run{w->first(), w->count(), Record{w->version(), w->owner(), w->reclaimed()}});
  }
  return out;
}

void encode_run(const Run& run, v1::Run& out) {
  out.set_first(run.first);
  out.set_count(run.count);
  out.set_owner(run.record.owner);
  out.set_version(run.record.version);
  out.set_reclaimed(run.record.reclaimed);
}

}  // namespace ferry::ipam
