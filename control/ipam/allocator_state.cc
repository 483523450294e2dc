// Allocator: persistence. Every change of what this host owns or allocated
// is saved (the persist hook, with snapshot()) before it is visible
// outside; restore() brings a restarted host back with its blocks and
// allocations, checking the whole snapshot before changing anything.
#include "control/ipam/allocator.h"

#include <utility>

#include "control/ipam/ipam.pb.h"

namespace ferry::ipam {

std::string Allocator::snapshot() const {
  v1::Snapshot snap;
  snap.set_host(self_);
  for (const auto& [name, p] : pools_) {
    auto* ps = snap.add_pools();
    to_proto(p.spec, *ps->mutable_spec());
    for (const Run& r : p.map.runs()) encode_run(r, *ps->add_runs());
    for (const auto& [ip, handle] : p.allocs.by_address()) {
      auto* a = ps->add_allocations();
      a->set_address(ip);
      a->set_handle(handle);
    }
    ps->set_next(p.next);
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
    auto runs = decode_runs(ps.runs(), spec.num_blocks());
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
    p.next = snap.pools(static_cast<int>(i)).next();
    for (const auto& a : snap.pools(static_cast<int>(i)).allocations()) {
      const std::uint32_t b = p.spec.block_of(a.address());
      if (p.map.owner(b) != self_) {
        conflicts_.push_back(Conflict{p.spec.name, a.address(), a.handle(), p.map.owner(b)});
        count(Counter::conflicts);
        continue;
      }
      p.allocs.add(a.address(), b, a.handle());
    }
  }
  return ok();
}

}  // namespace ferry::ipam
