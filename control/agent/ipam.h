// Per-host address allocation, first increment: a network's subnet is split
// into `slots` equal parts and a host allocates only from its own part (its
// slot), so hosts with distinct slots never hand out the same address, with
// no coordination. The subnet's network address, its first host address (kept
// for a gateway) and its broadcast address are never allocated. An explicit
// address (--ip) may lie anywhere in the subnet; it is refused if any known
// endpoint, local or gossiped, uses it. The Weave-style protocol (gossiped
// ownership ranges handed between hosts) replaces this later; see
// docs/operations.md.
#pragma once

#include <cstdint>
#include <optional>
#include <set>

#include "common/result.h"
#include "dataplane/api/addr.h"

namespace ferry::agent {

struct IpamSlot {
  std::uint32_t slots = 16;  // power of two
  std::uint32_t slot = 0;    // 0..slots-1
};

// First and last address (inclusive) this host may allocate in `subnet`.
Result<std::pair<dp_api::Ipv4, dp_api::Ipv4>> slot_range(const dp_api::Ipv4Prefix& subnet, IpamSlot slot);

// An address for a new endpoint: `requested` if given and free, else the
// lowest free address of this host's slot. `used`: addresses of every known
// endpoint of the network.
Result<dp_api::Ipv4> allocate_ip(const dp_api::Ipv4Prefix& subnet, IpamSlot slot, const std::set<std::uint32_t>& used,
                                 std::optional<dp_api::Ipv4> requested);

}  // namespace ferry::agent
