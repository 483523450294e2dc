// Start-up checks of the kernel-UDP uplink against the host it runs on (this
// network namespace): the VTEP address must be one of the kernel's, no
// kernel vxlan device may hold the VXLAN port, and the interface's offloads
// must let UDP_SEGMENT / UDP_GRO work (GRO on a veth is off by default).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"

namespace ferry::dataplane::app {

// The interface that holds `addr` in this namespace, nullopt when none does.
Result<std::optional<std::string>> interface_with_address(const IpAddress& addr);

struct VxlanDevice {
  std::string name;
  std::uint16_t port = 0;  // its UDP destination port
  bool up = false;         // only a device that is up holds its socket
};

// The kernel vxlan devices of this namespace.
Result<std::vector<VxlanDevice>> vxlan_devices();

// The message for a VXLAN port already taken: names the vxlan device(s) on
// it when there are any, else points at another process.
std::string port_in_use_message(const IpAddress& local, std::uint16_t port, const std::vector<VxlanDevice>& devices);

// Interface offloads (ethtool -k/-K) through SIOCETHTOOL.
Result<bool> gro_enabled(const std::string& iface);
Result<void> set_gro(const std::string& iface, bool on);
Result<bool> tx_checksum_enabled(const std::string& iface);

// What the checks found.
struct UdpUplinkHost {
  std::string iface;      // the interface holding the VTEP address
  std::uint32_t mtu = 0;  // its MTU
  bool gro = false;       // GRO on (after enabling it, when asked to)
  bool gro_enabled_by_us = false;
  bool tx_checksum = false;  // UDP_SEGMENT needs it
};

struct UdpUplinkHostCheck {
  IpAddress local;
  std::uint16_t port = 4789;
  std::string expected_iface;  // when set, the address must be on this interface
  bool enable_gro = true;      // switch GRO on when it is off
};

// Runs every check; the error says what is wrong and how to fix it.
Result<UdpUplinkHost> check_udp_uplink_host(const UdpUplinkHostCheck& check);

}  // namespace ferry::dataplane::app
