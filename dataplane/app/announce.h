// Neighbour announcements: when an address a container may have cached moves
// to another MAC (a container re-created with a new MAC, an endpoint moved to
// another host), the data plane tells the network's local ports at once,
// on behalf of the address's new owner, instead of waiting for their caches
// to go stale:
//   - IPv4: a gratuitous ARP request (sender and target IP the address,
//     sender MAC the new one, to broadcast). Linux updates an existing entry
//     from it (it creates none unless arp_accept is set).
//   - IPv6: an unsolicited Neighbor Advertisement (RFC 4861 §7.2.6) to
//     ff02::1 with the Override flag and the new MAC as target link-layer
//     address, which replaces the MAC of an existing entry.
// NeighbourMoves decides when: it remembers the MAC of every address recently
// removed (bounded), so "removed, then added back with another MAC" counts as
// a move like a direct change does.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <utility>
#include <variant>

#include "common/mac_address.h"
#include "dataplane/api/addr.h"

namespace ferry::dataplane::app {

inline constexpr std::size_t kGarpFrameSize = 60;           // 14 + 28, padded to the Ethernet minimum
inline constexpr std::size_t kUnsolicitedNaFrameSize = 86;  // 14 + 40 + 24 + 8 (target link-layer option)

// A broadcast gratuitous ARP request: `ip` is at `mac`.
void build_gratuitous_arp(std::span<std::uint8_t, kGarpFrameSize> out, const MacAddress& mac, dp_api::Ipv4 ip);

// An unsolicited Neighbor Advertisement to all nodes (ff02::1) from `ip`
// with Override set: `ip` is at `mac`. Hop limit 255, checksum filled in.
void build_unsolicited_na(std::span<std::uint8_t, kUnsolicitedNaFrameSize> out, const MacAddress& mac,
                          const dp_api::Ipv6& ip);

// Remembers the last MAC of addresses removed from a network, for `window`,
// at most `capacity` of them (the oldest forgotten first).
class NeighbourMoves {
 public:
  using Clock = std::chrono::steady_clock;
  using Address = dp_api::IpAddress;

  struct Config {
    // How long a removed address's MAC is remembered. A peer's cache entry
    // lives about this long without traffic (Linux: base_reachable_time 30 s
    // plus gc_stale_time 60 s, more while in use), so 5 minutes covers it.
    Clock::duration window = std::chrono::minutes(5);
    std::size_t capacity = 4096;  // removed addresses remembered at most
  };

  NeighbourMoves() : NeighbourMoves(Config{}) {}
  explicit NeighbourMoves(Config config) : config_(config) {}

  // `address` in network `vni` was removed; it pointed at `mac`.
  void removed(std::uint32_t vni, const Address& address, const MacAddress& mac, Clock::time_point now);

  // `address` in `vni` now points at `mac`; `before` is the MAC it pointed at
  // until now, if any. True when that is a move: `before` differs, or there
  // was none and the address was removed within the window pointing at
  // another MAC. Forgets the removed address either way.
  bool added(std::uint32_t vni, const Address& address, const MacAddress& mac, std::optional<MacAddress> before,
             Clock::time_point now);

  [[nodiscard]] std::size_t remembered() const { return removed_.size(); }

 private:
  struct Removed {
    MacAddress mac;
    Clock::time_point at;
  };
  using Key = std::pair<std::uint32_t, Address>;

  void expire(Clock::time_point now);

  Config config_;
  std::map<Key, Removed> removed_;
};

}  // namespace ferry::dataplane::app
