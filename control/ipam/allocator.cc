// Allocator: construction, pools, what callers read, and the invariants.
// The protocol's concerns live beside it: allocator_local.cc (allocating
// from this host's own blocks, waiting allocations), allocator_donation.cc
// (asking for and giving space), allocator_records.cc (ownership records
// received, written and broadcast), allocator_reclaim.cc (liveness,
// fencing, reclaim), allocator_handover.cc (graceful hand-over),
// allocator_sync.cc (anti-entropy), allocator_state.cc (persistence) and
// allocator_delegate.cc (the gossip::Delegate entry points and timers).
#include "control/ipam/allocator.h"

#include "control/gossip/node.h"

namespace ferry::ipam {

Allocator::Allocator(Config config, gossip::Node& node, gossip::Clock& clock, std::uint64_t seed)
    : config_(config),
      node_(node),
      clock_(clock),
      rng_(seed),
      self_(node.name()),
      quorum_(config_, node, clock),
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

// --- reading -----------------------------------------------------------------

const PoolSpec* Allocator::spec(const std::string& pool) const {
  const Pool* p = find_pool(pool);
  return p ? &p->spec : nullptr;
}

const BlockMap* Allocator::map(const std::string& pool) const {
  const Pool* p = find_pool(pool);
  return p ? &p->map : nullptr;
}

std::uint32_t Allocator::free_addresses(const std::string& pool) const {
  const Pool* p = find_pool(pool);
  if (!p) return 0;
  std::uint32_t n = 0;
  for (const std::uint32_t b : p->map.blocks_of(self_)) {
    if (p->settling.contains(b)) continue;
    n += p->spec.usable_in(b) - p->allocs.used_in(b);
  }
  return n;
}

Addr Allocator::serial_cursor(const std::string& pool) const {
  const Pool* p = find_pool(pool);
  return p != nullptr ? p->next : 0;
}

std::optional<Addr> Allocator::lookup(const std::string& pool, const std::string& handle) const {
  const Pool* p = find_pool(pool);
  if (!p) return std::nullopt;
  return p->allocs.find(handle);
}

std::map<Addr, std::string> Allocator::allocations(const std::string& pool) const {
  const Pool* p = find_pool(pool);
  return p ? p->allocs.by_address() : std::map<Addr, std::string>{};
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

bool Allocator::fenced() const { return quorum_.fenced(); }

Result<void> Allocator::check_invariants() const {
  for (const auto& [key, p] : pools_) {
    const std::string& name = key;  // a lambda may not capture a structured binding (C++20)
    auto fail = [&name](const std::string& what) { return make_error("pool {}: {}", name, what); };
    if (name != p.spec.name) return fail("stored under another name");
    if (auto v = p.spec.validate(config_.max_wire_blocks, config_.max_name_size); !v) return fail(v.error().message);
    if (p.map.size() != p.spec.num_blocks()) return fail("map size differs from the block count");
    if (auto v = p.map.check(p.spec.genesis); !v) return fail(v.error().message);
    for (const auto& [ip, handle] : p.allocs.by_address()) {
      if (!p.spec.contains(ip) || p.spec.reserved(ip)) return fail(fmt::format("allocation {} outside", ip));
      const std::uint32_t b = p.spec.block_of(ip);
      if (p.map.owner(b) != self_) return fail(fmt::format("allocation {} in block {} of {}", ip, b, p.map.owner(b)));
      if (p.settling.contains(b)) return fail(fmt::format("allocation {} in a settling block", ip));
    }
    if (auto v = p.allocs.check(p.spec); !v) return fail(v.error().message);
    for (const auto& [b, until] : p.settling) {
      if (b >= p.map.size() || p.map.owner(b) != self_) return fail(fmt::format("settling block {} not ours", b));
    }
    if (p.shortage.request != 0 && !requests_.contains(p.shortage.request)) {
      return fail("donation in flight not tracked");
    }
  }
  return ok();
}

}  // namespace ferry::ipam
