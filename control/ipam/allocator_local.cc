// Allocator: allocating from this host's own blocks, with no coordination,
// and the queue of allocations that wait for space (a donation or a
// reclaimed block that settles). Waiting allocations are served in order.
#include "control/ipam/allocator.h"

namespace ferry::ipam {

bool Allocator::usable(const Pool& p, std::uint32_t block) const {
  return p.map.owner(block) == self_ && !p.settling.contains(block);
}

std::optional<Addr> Allocator::free_from(const Pool& p, Addr from) const {
  for (const std::uint32_t b : p.map.blocks_of(self_)) {  // ascending
    if (p.settling.contains(b)) continue;
    if (p.allocs.in_use(b) && p.allocs.used_in(b) >= p.spec.usable_in(b)) continue;
    const Addr first = p.spec.block_first(b);
    const Addr last = first + (p.spec.block_size - 1);
    if (last < from) continue;
    for (Addr ip = from > first ? from : first; ip - first < p.spec.block_size; ++ip) {
      if (!p.spec.reserved(ip) && !p.allocs.contains(ip)) return ip;
    }
  }
  return std::nullopt;
}

Result<Addr> Allocator::commit(Pool& p, Addr ip, const std::string& handle, bool advance) {
  const std::uint32_t b = p.spec.block_of(ip);
  const Addr next_before = p.next;
  p.allocs.add(ip, b, handle);
  if (advance) p.next = ip + 1;
  if (!persist()) {
    p.next = next_before;
    p.allocs.remove(ip, b);
    count(Counter::allocate_failed);
    return make_error("pool {}: could not save the IPAM state; address {} not allocated", p.spec.name,
                      p.spec.format(ip));
  }
  count(Counter::allocated);
  return ip;
}

std::optional<Result<Addr>> Allocator::try_allocate(Pool& p, const std::string& handle, std::optional<Addr> want,
                                                    Order order) {
  if (!handle.empty()) {
    if (const auto held = p.allocs.find(handle)) {
      if (want && *want != *held) {
        return Result<Addr>(make_error("pool {}: {} already holds {}, not {}", p.spec.name, handle,
                                       p.spec.format(*held), p.spec.format(*want)));
      }
      return Result<Addr>(*held);
    }
  }
  if (fenced()) {
    count(Counter::fenced_refusals);
    return Result<Addr>(make_error(
        "pool {}: this host has not seen a majority of the cluster for {:.0f} s and stops allocating (fenced): "
        "its space may be reclaimed by the others; retry once it reconnects",
        p.spec.name, quorum_.seconds_without_quorum()));
  }
  if (want) return try_allocate_address(p, handle, *want);
  std::optional<Addr> ip;
  if (order == Order::kSerial) ip = free_from(p, p.next);
  if (!ip) ip = free_from(p, 0);  // first-free, or a serial cursor wrapping
  if (ip) return commit(p, *ip, handle, true);
  return std::nullopt;
}

std::optional<Result<Addr>> Allocator::try_allocate_address(Pool& p, const std::string& handle, Addr ip) {
  if (!p.spec.contains(ip)) {
    return Result<Addr>(
        make_error("address {} is outside pool {} ({})", p.spec.format(ip), p.spec.name, p.spec.window()));
  }
  if (p.spec.reserved(ip)) {
    return Result<Addr>(
        make_error("address {} is reserved in {} ({})", p.spec.format(ip), p.spec.cidr(),
                   p.spec.is_v6() ? "first, gateway or last address of the window" : "network, gateway or broadcast"));
  }
  if (p.allocs.contains(ip)) return Result<Addr>(make_error("address {} is already in use", p.spec.format(ip)));
  if (usable(p, p.spec.block_of(ip))) return commit(p, ip, handle);
  return std::nullopt;  // the block's owner must give it first (or it is settling)
}

void Allocator::allocate(const std::string& pool, const std::string& handle, std::optional<Addr> want, Done done,
                         Order order) {
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
    if (auto r = try_allocate(*p, handle, want, order)) {
      if (!*r) count(Counter::allocate_failed);
      done(std::move(*r));
      return;
    }
  }
  p->pending.push_back(Pending{handle, want, std::move(done), clock_.now() + config_.allocate_timeout, order});
  ask_donation(*p, completions);
  run(completions);
}

Result<void> Allocator::release(const std::string& pool, Addr address) {
  Pool* p = find_pool(pool);
  if (p == nullptr) return make_error("unknown pool '{}'", pool);
  const std::uint32_t b = p->spec.block_of(address);
  const auto handle = p->allocs.remove(address, b);
  if (!handle) return make_error("address {} is not allocated in pool {}", p->spec.format(address), pool);
  if (!persist()) {
    p->allocs.add(address, b, *handle);
    return make_error("pool {}: could not save the IPAM state; {} stays allocated", pool, p->spec.format(address));
  }
  count(Counter::released);
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
    auto r = try_allocate(p, front.handle, front.want, front.order);
    if (!r) break;
    if (!*r) count(Counter::allocate_failed);
    done.emplace_back(std::move(front.done), std::move(*r));
    p.pending.pop_front();
  }
  if (p.pending.empty()) {
    p.shortage.clear();
    return;
  }
  ask_donation(p, done);
}

void Allocator::fail_front(Pool& p, Error error, std::vector<Completion>& done) {
  count(Counter::allocate_failed);
  done.emplace_back(std::move(p.pending.front().done), Result<Addr>(std::move(error)));
  p.pending.pop_front();
}

void Allocator::fail_pending(Pool& p, const std::string& why, std::vector<Completion>& done) {
  for (Pending& pend : p.pending) {
    count(Counter::allocate_failed);
    done.emplace_back(std::move(pend.done), Result<Addr>(make_error("{}", why)));
  }
  p.pending.clear();
  p.shortage.clear();
}

}  // namespace ferry::ipam
