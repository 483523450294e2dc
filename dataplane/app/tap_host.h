// The kernel side of the tap uplink (tap_uplink_port.h), control thread
// only: the tap device with the 24-byte tunnel virtio-net header, the tc
// redirects between it and the uplink interface, and next-hop lookups in the
// kernel's routing and neighbour tables. Everything through netlink and
// ioctls (no `tc`, no `ip`).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace ferry::dataplane::app {

// tc filter priority Ferry's redirects use on the uplink's ingress (and on
// the tap's): a stale one (a killed data plane's) is found and replaced by it.
inline constexpr std::uint16_t kTapFilterPrio = 0xfe11;

// The tap's name for an uplink interface index: "ftap<ifindex>" (not "fy...":
// that prefix is the container veths', which tools and tests count).
std::string tap_name(int uplink_ifindex);

// A tap device with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR (| IFF_MULTI_QUEUE
// for several queues), vnet header size 24 and the tunnel offloads; one
// non-blocking descriptor per queue. The device is not persistent: it goes
// away with its last descriptor (at close, or when the process dies).
class TapDevice {
 public:
  // Probes the kernel first (a scratch tap): unsupported tunnel GSO is an
  // error whose `sys_errno` is EOPNOTSUPP. An existing device of this name
  // (a persistent leftover) is deleted first.
  static Result<TapDevice> open(const std::string& name, std::uint16_t queues, std::uint32_t mtu);
  TapDevice() = default;
  ~TapDevice();
  TapDevice(TapDevice&& other) noexcept;
  TapDevice& operator=(TapDevice&& other) noexcept;
  TapDevice(const TapDevice&) = delete;
  TapDevice& operator=(const TapDevice&) = delete;

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] int ifindex() const { return ifindex_; }
  [[nodiscard]] int fd(std::uint16_t queue) const { return fds_[queue]; }
  [[nodiscard]] std::uint16_t queues() const { return static_cast<std::uint16_t>(fds_.size()); }
  // The device's tx_dropped (frames the kernel could not queue to us).
  [[nodiscard]] std::uint64_t tx_dropped() const;

 private:
  std::string name_;
  int ifindex_ = 0;
  std::vector<int> fds_;
};

// Whether this kernel takes tunnel GSO on a tap (TUNSETOFFLOAD with
// TUN_F_UDP_TUNNEL_GSO on a scratch tap). An error only when no tap can be
// made at all.
Result<bool> tap_tunnel_gso_supported();

// The tc redirects of the tap uplink:
//   uplink ingress: IPv4, no options, not a fragment, UDP to `vtep`:`port`,
//                   inner TCP over IPv4 or IPv6 -> mirred egress redirect
//                   to the tap (two filters);
//   tap ingress:    everything -> mirred egress redirect to the uplink.
// Both on a clsact qdisc (created when missing), priority kTapFilterPrio.
// install() first removes a filter of that priority (a stale one).
class TapRedirect {
 public:
  static Result<TapRedirect> install(int uplink_ifindex, int tap_ifindex, std::array<std::uint8_t, 4> vtep,
                                     std::uint16_t port);
  TapRedirect() = default;
  ~TapRedirect();  // removes the uplink's filter (the tap's goes with the tap)
  TapRedirect(TapRedirect&& other) noexcept;
  TapRedirect& operator=(TapRedirect&& other) noexcept;
  TapRedirect(const TapRedirect&) = delete;
  TapRedirect& operator=(const TapRedirect&) = delete;

 private:
  int uplink_ = 0;
  bool qdisc_ours_ = false;  // we created the uplink's clsact: deleted again with the filter
};

// Removes a tap redirect filter from `uplink_ifindex`'s ingress (one a
// killed data plane left behind). Ok when there is none.
Result<void> remove_stale_tap_redirect(int uplink_ifindex);
// Whether `ifindex`'s ingress has the tap redirect filter (tests).
Result<bool> tap_redirect_present(int ifindex);

// The next hop toward `dst` (IPv4, wire order) as the kernel routes it: its
// MAC when the route leaves through `ifindex` and the neighbour entry is
// valid (reachable, stale, delay, probe, permanent). `stale` tells the
// caller to let the kernel confirm it (send through the kernel once).
struct NextHop {
  std::array<std::uint8_t, 6> mac{};
  bool stale = false;
};
Result<std::optional<NextHop>> lookup_next_hop(std::array<std::uint8_t, 4> dst, int ifindex);

}  // namespace ferry::dataplane::app
