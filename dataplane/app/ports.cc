#include "dataplane/app/ports.h"

#include <net/if.h>
#include <rte_bus_vdev.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <fstream>

#include "common/log.h"

namespace ferry::dataplane::app {
namespace {

constexpr std::uint16_t kRxDescriptors = 1024;
constexpr std::uint16_t kTxDescriptors = 1024;
constexpr unsigned kAfPacketFrames = 4096;  // per queue and direction, 2 KiB each

}  // namespace

bool interface_exists(const std::string& iface) { return if_nametoindex(iface.c_str()) != 0; }

Result<rte_mempool*> create_packet_pool(const Config& config) {
  rte_mempool* pool = rte_pktmbuf_pool_create("ferry_pkts", config.mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                              static_cast<int>(rte_socket_id()));
  if (pool == nullptr) {
    return make_error("cannot create the packet pool ({} mbufs): {}{}", config.mbufs, rte_strerror(rte_errno),
                      config.no_huge ? " (raise --memory-mb or lower --mbufs)" : " (reserve more hugepages)");
  }
  return pool;
}

Result<void> PortSetup::configure(PortId port, bool rss, bool promiscuous) {
  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(port, &info); rc != 0) {
    return make_sys_error(-rc, "port {}: rte_eth_dev_info_get", port);
  }
  if (info.max_rx_queues < queues_ || info.max_tx_queues < queues_) {
    return make_error("port {} ({}) has {} RX / {} TX queues, {} workers need {} each", port, info.driver_name,
                      info.max_rx_queues, info.max_tx_queues, queues_, queues_);
  }
  rte_eth_conf conf{};
  if (rss && queues_ > 1 && info.flow_type_rss_offloads != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf =
        (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP) & info.flow_type_rss_offloads;
  }
  if (int rc = rte_eth_dev_configure(port, queues_, queues_, &conf); rc != 0) {
    return make_sys_error(-rc, "port {}: rte_eth_dev_configure", port);
  }
  std::uint16_t rxd = kRxDescriptors;
  std::uint16_t txd = kTxDescriptors;
  if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd); rc != 0) {
    return make_sys_error(-rc, "port {}: rte_eth_dev_adjust_nb_rx_tx_desc", port);
  }
  const int socket = rte_eth_dev_socket_id(port);
  const unsigned socket_id = socket < 0 ? 0U : static_cast<unsigned>(socket);
  for (std::uint16_t q = 0; q < queues_; ++q) {
    if (int rc = rte_eth_rx_queue_setup(port, q, rxd, socket_id, nullptr, pool_); rc != 0) {
      return make_sys_error(-rc, "port {}: RX queue {} set-up", port, q);
    }
    if (int rc = rte_eth_tx_queue_setup(port, q, txd, socket_id, nullptr); rc != 0) {
      return make_sys_error(-rc, "port {}: TX queue {} set-up", port, q);
    }
  }
  if (int rc = rte_eth_dev_start(port); rc != 0) {
    return make_sys_error(-rc, "port {}: rte_eth_dev_start", port);
  }
  if (promiscuous) {
    rte_eth_promiscuous_enable(port);  // best effort: veth ends deliver everything anyway
  }
  return ok();
}

Result<OpenedPort> PortSetup::attach_interface(const std::string& iface, PortDriver driver, bool promiscuous) {
  if (!interface_exists(iface)) {
    return make_error("interface '{}' does not exist in this network namespace", iface);
  }
  const bool xdp = driver == PortDriver::kAfXdp;
  OpenedPort port;
  port.driver = xdp ? "af_xdp" : "af_packet";
  port.devname = fmt::format("{}{}", xdp ? "net_af_xdp" : "net_af_packet", next_vdev_++);
  // af_packet: a deeper kernel ring than the PMD's default 512 frames, so a
  // worker that was asleep or preempted for a moment does not cost frames.
  const std::string devargs =
      xdp ? fmt::format("{},iface={},queue_count={}", port.devname, iface, queues_)
          : fmt::format("{},iface={},qpairs={},framecnt={}", port.devname, iface, queues_, kAfPacketFrames);
  if (int rc = rte_dev_probe(devargs.c_str()); rc != 0) {
    return make_sys_error(-rc, "attach {} as {}", iface, devargs);
  }
  if (int rc = rte_eth_dev_get_port_by_name(port.devname.c_str(), &port.id); rc != 0) {
    rte_eal_hotplug_remove("vdev", port.devname.c_str());
    return make_sys_error(-rc, "attach {}: no ethdev named {} after probing", iface, port.devname);
  }
  if (auto configured = configure(port.id, false, promiscuous); !configured) {
    detach(port);
    return configured.error().wrap(fmt::format("attach {} ({})", iface, port.driver));
  }
  return port;
}

void PortSetup::detach(const OpenedPort& port) {
  if (port.id == kInvalidPort) {
    return;
  }
  if (int rc = rte_eth_dev_stop(port.id); rc != 0) {
    spdlog::warn("port {} ({}): stop failed: {}", port.id, port.devname, rte_strerror(-rc));
  }
  if (int rc = rte_eth_dev_close(port.id); rc != 0) {
    spdlog::warn("port {} ({}): close failed: {}", port.id, port.devname, rte_strerror(-rc));
  }
  if (port.devname.rfind("net_", 0) == 0) {
    if (int rc = rte_eal_hotplug_remove("vdev", port.devname.c_str()); rc != 0) {
      spdlog::warn("port {} ({}): hot-unplug failed: {}", port.id, port.devname, rte_strerror(-rc));
    }
  }
}

Result<OpenedPort> PortSetup::open_uplink(const Config& config) {
  if (config.uplink_kind == UplinkKind::kPci) {
    OpenedPort port;
    port.devname = config.uplink;
    if (rte_eth_dev_get_port_by_name(config.uplink.c_str(), &port.id) != 0) {
      return make_error("uplink {}: no DPDK port for this PCI address (is it bound to vfio-pci? see docs/dataplane.md)",
                        config.uplink);
    }
    rte_eth_dev_info info{};
    rte_eth_dev_info_get(port.id, &info);
    port.driver = info.driver_name != nullptr ? info.driver_name : "pci";
    if (auto configured = configure(port.id, true, false); !configured) {
      return configured.error().wrap("uplink " + config.uplink);
    }
    return port;
  }
  if (!interface_exists(config.uplink)) {
    return make_error("uplink interface '{}' does not exist in this network namespace", config.uplink);
  }
  if (config.uplink_driver != PortDriver::kAfPacket) {
    auto xdp = attach_interface(config.uplink, PortDriver::kAfXdp, false);
    if (xdp || config.uplink_driver == PortDriver::kAfXdp) {
      return xdp;
    }
    spdlog::warn("uplink {}: af_xdp failed ({}); falling back to af_packet", config.uplink, xdp.error().message);
  }
  return attach_interface(config.uplink, PortDriver::kAfPacket, false);
}

PortCounters PortSetup::counters(PortId port) {
  rte_eth_stats stats{};
  PortCounters out;
  if (rte_eth_stats_get(port, &stats) == 0) {
    out = PortCounters{stats.ipackets, stats.ibytes, stats.opackets, stats.obytes, stats.imissed, stats.oerrors};
  }
  return out;
}

bool PortSetup::link_up(PortId port) {
  rte_eth_link link{};
  return rte_eth_link_get_nowait(port, &link) == 0 && link.link_status == RTE_ETH_LINK_UP;
}

MacAddr PortSetup::mac(PortId port) {
  rte_ether_addr addr{};
  rte_eth_macaddr_get(port, &addr);
  MacAddr mac;
  std::copy(std::begin(addr.addr_bytes), std::end(addr.addr_bytes), mac.bytes.begin());
  return mac;
}

std::uint32_t PortSetup::mtu(const OpenedPort& port, const Config& config) {
  if (config.uplink_kind == UplinkKind::kInterface) {
    std::ifstream in("/sys/class/net/" + config.uplink + "/mtu");
    std::uint32_t value = 0;
    if (in >> value && value >= 576) {
      return value;
    }
  }
  std::uint16_t value = 0;
  return rte_eth_dev_get_mtu(port.id, &value) == 0 && value >= 576 ? value : 1500;
}

}  // namespace ferry::dataplane::app
