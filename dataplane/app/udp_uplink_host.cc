#include "dataplane/app/udp_uplink_host.h"

#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vxlan.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "dataplane/app/ports.h"

namespace ferry::dataplane::app {
namespace {

// One ethtool value ioctl (ETHTOOL_G*/S* with a 32-bit value).
Result<std::uint32_t> ethtool_value_ioctl(const std::string& iface, std::uint32_t cmd, std::uint32_t data) {
  if (iface.size() >= IFNAMSIZ) return make_error("interface name '{}' is too long", iface);
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_sys_error(errno, "ethtool socket");
  ethtool_value value{};
  value.cmd = cmd;
  value.data = data;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, iface.c_str(), iface.size());
  ifr.ifr_data = reinterpret_cast<char*>(&value);
  const int rc = ioctl(fd, SIOCETHTOOL, &ifr);
  const int err = errno;
  close(fd);
  if (rc != 0) return make_sys_error(err, "ethtool on {}", iface);
  return value.data;
}

}  // namespace

Result<std::optional<std::string>> interface_with_address(const IpAddress& addr) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return make_sys_error(errno, "getifaddrs");
  std::optional<std::string> found;
  for (const ifaddrs* ifa = list; ifa != nullptr && !found; ifa = ifa->ifa_next) {
    if (ifa->ifa_addr == nullptr || ifa->ifa_addr->sa_family != addr.af()) continue;
    const void* bytes =
        addr.family == Family::kIPv4
            ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(ifa->ifa_addr)->sin_addr)
            : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(ifa->ifa_addr)->sin6_addr);
    if (std::memcmp(bytes, addr.bytes.data(), addr.size()) == 0) found = ifa->ifa_name;
  }
  freeifaddrs(list);
  return found;
}

Result<std::vector<VxlanDevice>> vxlan_devices() {
  std::unique_ptr<nl_sock, void (*)(nl_sock*)> sock(nl_socket_alloc(), nl_socket_free);
  if (!sock) return make_error("netlink: cannot allocate a socket");
  if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0) {
    return make_error("netlink: connect: {}", nl_geterror(err));
  }
  nl_cache* raw = nullptr;
  if (int err = rtnl_link_alloc_cache(sock.get(), AF_UNSPEC, &raw); err < 0) {
    return make_error("netlink: list links: {}", nl_geterror(err));
  }
  std::unique_ptr<nl_cache, void (*)(nl_cache*)> cache(raw, nl_cache_free);
  std::vector<VxlanDevice> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o != nullptr; o = nl_cache_get_next(o)) {
    auto* link = reinterpret_cast<rtnl_link*>(o);
    if (rtnl_link_is_vxlan(link) == 0) continue;
    VxlanDevice d;
    d.name = rtnl_link_get_name(link);
    std::uint32_t port = 0;
    if (rtnl_link_vxlan_get_port(link, &port) == 0) d.port = static_cast<std::uint16_t>(port);
    d.up = (rtnl_link_get_flags(link) & IFF_UP) != 0;
    out.push_back(d);
  }
  return out;
}

std::string port_in_use_message(const IpAddress& local, std::uint16_t port, const std::vector<VxlanDevice>& devices) {
  std::string holders;
  for (const auto& d : devices) {
    if (d.port == port && d.up) holders += (holders.empty() ? "" : ", ") + d.name;
  }
  if (!holders.empty()) {
    return fmt::format(
        "UDP port {} is held by the kernel vxlan device {} in this network namespace: delete it (ip link del {}) "
        "or use another --vxlan-port",
        port, holders, holders.substr(0, holders.find(',')));
  }
  return fmt::format("UDP port {} on {} is in use by another socket (ss -ulpn 'sport = :{}')", port, local.to_string(),
                     port);
}

Result<bool> gro_enabled(const std::string& iface) {
  auto v = ethtool_value_ioctl(iface, ETHTOOL_GGRO, 0);
  if (!v) return v.error();
  return *v != 0;
}

Result<void> set_gro(const std::string& iface, bool on) {
  auto v = ethtool_value_ioctl(iface, ETHTOOL_SGRO, on ? 1 : 0);
  if (!v) return v.error();
  return ok();
}

Result<bool> tx_checksum_enabled(const std::string& iface) {
  auto v = ethtool_value_ioctl(iface, ETHTOOL_GTXCSUM, 0);
  if (!v) return v.error();
  return *v != 0;
}

Result<UdpUplinkHost> check_udp_uplink_host(const UdpUplinkHostCheck& check) {
  auto iface = interface_with_address(check.local);
  if (!iface) return iface.error();
  if (!*iface) {
    return make_error(
        "the VTEP address {} is not configured on any interface in this network namespace; with --uplink-mode "
        "auto, udp or tap the kernel owns it (ip addr add {}/LEN dev IF); a DPDK uplink that owns it: --uplink-mode "
        "dpdk",
        check.local.to_string(), check.local.to_string());
  }
  if (!check.expected_iface.empty() && **iface != check.expected_iface) {
    return make_error("the VTEP address {} is on {}, not on --uplink {}", check.local.to_string(), **iface,
                      check.expected_iface);
  }
  auto devices = vxlan_devices();
  if (!devices) return devices.error().wrap("looking for kernel vxlan devices");
  for (const auto& d : *devices) {
    if (d.port == check.port && d.up) return make_error("{}", port_in_use_message(check.local, check.port, *devices));
  }
  UdpUplinkHost host;
  host.iface = **iface;
  host.mtu = interface_mtu(host.iface);
  if (host.mtu == 0) return make_error("cannot read the MTU of {}", host.iface);
  auto gro = gro_enabled(host.iface);
  host.gro = gro && *gro;
  if (gro && !*gro && check.enable_gro) {
    if (auto set = set_gro(host.iface, true); set) {
      host.gro = true;
      host.gro_enabled_by_us = true;
    }
  }
  auto csum = tx_checksum_enabled(host.iface);
  host.tx_checksum = csum && *csum;
  return host;
}

}  // namespace ferry::dataplane::app
