#include "dataplane/app/udp_uplink_port.h"

#include <net/if.h>

#include <cerrno>
#include <fstream>

#include "common/log.h"
#include "dataplane/app/tap_host.h"

namespace ferry::dataplane::app {
namespace {

// The kernel interface's MAC (sysfs), zero when unreadable.
MacAddr interface_mac(const std::string& iface) {
  std::ifstream in("/sys/class/net/" + iface + "/address");
  std::string text;
  in >> text;
  auto mac = parse_mac(text);
  return mac ? *mac : MacAddr{};
}

}  // namespace

UdpUplinkHostCheck udp_uplink_host_check(const Config& config, bool enable_gro) {
  UdpUplinkHostCheck check;
  check.local.family = Family::kIPv4;
  const std::uint32_t v = config.vtep.addr.value;
  check.local.bytes = {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
                       static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
  check.port = config.vxlan_port;
  check.expected_iface = config.uplink;
  check.enable_gro = enable_gro;
  return check;
}

UdpUplinkPort::UdpUplinkPort(std::unique_ptr<UdpUplink> uplink, UdpUplinkHost host, MacAddr mac)
    : Port("udp", fmt::format("udp:{}", host.iface)), uplink_(std::move(uplink)), host_(std::move(host)), mac_(mac) {}

Result<std::unique_ptr<UdpUplinkPort>> UdpUplinkPort::open(const Config& config, rte_mempool* pool,
                                                           std::uint16_t queues, std::uint32_t mtu) {
  const UdpUplinkHostCheck check = udp_uplink_host_check(config, true);
  auto host = check_udp_uplink_host(check);
  if (!host) return host.error();
  if (host->gro_enabled_by_us) {
    spdlog::info("uplink {}: GRO was off; switched it on (ethtool -K {} gro on) so UDP_GRO receives batches",
                 host->iface, host->iface);
  } else if (!host->gro) {
    spdlog::warn("uplink {}: GRO is off and could not be switched on: datagrams arrive one by one", host->iface);
  }
  if (!host->tx_checksum) {
    spdlog::warn(
        "uplink {}: TX checksum offload is off, which UDP_SEGMENT needs: one datagram per send (ethtool -K {} tx on)",
        host->iface, host->iface);
  }

  // A tap uplink's redirect a killed data plane left on the interface would
  // take VXLAN away from the sockets: gone before they listen.
  if (const unsigned ifindex = if_nametoindex(host->iface.c_str()); ifindex != 0) {
    if (auto removed = remove_stale_tap_redirect(static_cast<int>(ifindex)); !removed) {
      spdlog::warn("uplink {}: {}", host->iface, removed.error().message);
    }
  }

  UdpUplinkConfig uc;
  uc.local = check.local;
  uc.udp_port = config.vxlan_port;
  uc.send_sockets = config.udp_send_sockets;
  uc.queues = queues;
  uc.mtu = mtu;
  uc.gso = host->tx_checksum;
  uc.gro = true;
  uc.delivery = UdpDelivery::kFrame;
  const MacAddr mac = interface_mac(host->iface);
  uc.frame_mac = mac.bytes;
  auto uplink = UdpUplink::open(uc, pool);
  if (!uplink) {
    // Say who holds the port when the receive socket could not bind it.
    if (uplink.error().sys_errno == EADDRINUSE) {
      auto devices = vxlan_devices();
      return make_error(
          "{} ({})",
          port_in_use_message(check.local, config.vxlan_port, devices ? *devices : std::vector<VxlanDevice>{}),
          uplink.error().message);
    }
    return uplink.error();
  }
  const auto ports = (*uplink)->send_ports();
  spdlog::info("uplink {}: kernel UDP sockets on {}:{}, {} send sockets (source ports {}..{}), GRO {}, GSO {}",
               host->iface, check.local.to_string(), config.vxlan_port, ports.size(), ports.front(), ports.back(),
               host->gro ? "on" : "off", uc.gso ? "on" : "off");
  return std::unique_ptr<UdpUplinkPort>(new UdpUplinkPort(std::move(*uplink), std::move(*host), mac));
}

std::uint16_t UdpUplinkPort::rx(void* state, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) {
  return static_cast<UdpUplink*>(state)->rx_burst(queue, pkts, n);
}

std::uint16_t UdpUplinkPort::tx(void* state, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) {
  return static_cast<UdpUplink*>(state)->tx_burst(queue, pkts, n);
}

PortIo UdpUplinkPort::io() const {
  PortIo io{PortIo::kNoEthdev, &UdpUplinkPort::rx, &UdpUplinkPort::tx, uplink_.get()};
  io.rx_fd = [](void* state, std::uint16_t queue) { return static_cast<const UdpUplink*>(state)->rx_fd(queue); };
  return io;
}

PortCounters UdpUplinkPort::counters() {
  const UdpUplinkStats s = uplink_->stats();
  PortCounters c;
  c.rx_packets = s[UdpCounter::rx_datagrams];
  c.rx_bytes = s[UdpCounter::rx_bytes];
  c.tx_packets = s[UdpCounter::tx_datagrams];
  c.tx_bytes = s[UdpCounter::tx_bytes];
  c.rx_missed = s[UdpCounter::rx_missed];
  c.tx_errors = s.tx_drops();
  return c;
}

bool UdpUplinkPort::link_up() const {
  std::ifstream in("/sys/class/net/" + host_.iface + "/operstate");
  std::string state;
  in >> state;
  return state == "up" || state == "unknown";  // "unknown": drivers without carrier reporting (lo, some tunnels)
}

PortOffloads UdpUplinkPort::offloads() const {
  PortOffloads o;
  o.rx_gso = uplink_->config().delivery == UdpDelivery::kPayload;  // frame mode cuts super-frames
  return o;
}

void UdpUplinkPort::poll() {
  if (!gso_loss_logged_ && uplink_->config().gso && !uplink_->gso_active()) {
    gso_loss_logged_ = true;
    spdlog::warn(
        "uplink {}: UDP_SEGMENT failed (EIO: no TX checksum offload on the route's device); sending one "
        "datagram per message from now on",
        host_.iface);
  }
}

std::vector<std::pair<std::string, std::uint64_t>> UdpUplinkPort::named_counters() const {
  const UdpUplinkStats s = uplink_->stats();
  std::vector<std::pair<std::string, std::uint64_t>> out;
  out.reserve(kUdpCounterCount);
  for (std::size_t i = 0; i < kUdpCounterCount; ++i) {
    out.emplace_back(std::string("udp_uplink_").append(kUdpCounterInfo[i].name), s.counters[i]);
  }
  return out;
}

}  // namespace ferry::dataplane::app
