#include "control/agent/ipam.h"

namespace ferry::agent {

namespace {

std::uint32_t host_mask(const dp_api::Ipv4Prefix& subnet) { return 0xffffffffU >> subnet.length; }

// Addresses no endpoint gets: network, gateway (first host), broadcast.
bool reserved(const dp_api::Ipv4Prefix& subnet, std::uint32_t ip) {
  const std::uint32_t base = subnet.addr.value & ~host_mask(subnet);
  const std::uint32_t last = base | host_mask(subnet);
  return ip == base || ip == base + 1 || ip == last;
}

}  // namespace

Result<std::pair<dp_api::Ipv4, dp_api::Ipv4>> slot_range(const dp_api::Ipv4Prefix& subnet, IpamSlot slot) {
  if (subnet.length > 30) return make_error("subnet /{} is too small", subnet.length);
  if (slot.slots == 0 || (slot.slots & (slot.slots - 1)) != 0 || slot.slot >= slot.slots) {
    return make_error("bad IPAM slot {}/{}", slot.slot, slot.slots);
  }
  const std::uint64_t size = std::uint64_t{1} << (32 - subnet.length);
  const std::uint64_t part = size / slot.slots;
  if (part < 4) {
    return make_error("subnet /{} is too small for {} IPAM slots (each needs at least 4 addresses)", subnet.length,
                      slot.slots);
  }
  const std::uint32_t base = subnet.addr.value & ~host_mask(subnet);
  const auto first = static_cast<std::uint32_t>(base + part * slot.slot);
  const auto last = static_cast<std::uint32_t>(first + part - 1);
  return std::pair{dp_api::Ipv4{first}, dp_api::Ipv4{last}};
}

Result<dp_api::Ipv4> allocate_ip(const dp_api::Ipv4Prefix& subnet, IpamSlot slot, const std::set<std::uint32_t>& used,
                                 std::optional<dp_api::Ipv4> requested) {
  if (requested) {
    if (!subnet.contains(*requested)) {
      return make_error("address {} is outside the subnet {}", dp_api::format_ipv4(*requested),
                        dp_api::format_ipv4_prefix(subnet));
    }
    if (reserved(subnet, requested->value)) {
      return make_error("address {} is reserved (network, gateway or broadcast)", dp_api::format_ipv4(*requested));
    }
    if (used.count(requested->value) != 0) {
      return make_error("address {} is already in use", dp_api::format_ipv4(*requested));
    }
    return *requested;
  }
  auto range = slot_range(subnet, slot);
  if (!range) return range.error();
  for (std::uint64_t ip = range->first.value; ip <= range->second.value; ++ip) {
    const auto v = static_cast<std::uint32_t>(ip);
    if (!reserved(subnet, v) && used.count(v) == 0) return dp_api::Ipv4{v};
  }
  return make_error("no free address left in this host's part {}-{} of {}", dp_api::format_ipv4(range->first),
                    dp_api::format_ipv4(range->second), dp_api::format_ipv4_prefix(subnet));
}

}  // namespace ferry::agent
