#include "dataplane/app/ports.h"

#include <linux/if_packet.h>
#include <net/if.h>
#include <rte_bus_vdev.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "common/log.h"

namespace ferry::dataplane::app {
namespace {

constexpr std::uint16_t kRxDescriptors = 1024;
constexpr std::uint16_t kTxDescriptors = 1024;

// af_packet (TPACKET_V2) ring slots: the kernel puts an Ethernet frame at
// offset 66 of its slot (TPACKET_ALIGN(tpacket2_hdr + sockaddr_ll + 16) - 14)
// and truncates what does not fit; the PMD refuses a slot whose data part
// (slot - 32) is larger than an mbuf's data room.
constexpr std::uint32_t kTpacketFrameOffset = 66;
constexpr std::uint32_t kTpacketSlotOverhead = 32;
constexpr std::uint32_t kAfPacketStandardFrame = 2048;   // the PMD's default slot
constexpr std::uint32_t kAfPacketFrames = 4096;          // per queue and direction at 2 KiB (8 MiB)
constexpr std::uint32_t kAfPacketMinJumboFrames = 1024;  // larger slots: at least this many
constexpr std::uint32_t kStandardMbufs = 32767;
constexpr std::uint32_t kMinMbufs = 8191;
constexpr std::uint64_t kPoolBudget = 80ULL << 20;

constexpr std::uint32_t round_up(std::uint32_t value, std::uint32_t to) { return (value + to - 1) / to * to; }

}  // namespace

FrameSizes frame_sizes(std::uint32_t mtu, std::uint32_t page_size) {
  FrameSizes s;
  s.mtu = mtu;
  s.max_frame = mtu + 14 + 4;
  s.af_packet_frame_size = std::max(kAfPacketStandardFrame, round_up(kTpacketFrameOffset + s.max_frame, 1024));
  // The PMD addresses slot i at i * framesz, so a block must hold whole slots
  // with nothing left over (the kernel starts every block afresh): the
  // smallest multiple of the slot that is a multiple of the page (at most 4
  // slots, the slot being a multiple of 1 KiB).
  std::uint32_t block = s.af_packet_frame_size;
  while (block % page_size != 0) block += s.af_packet_frame_size;
  s.af_packet_block_size = block;
  const std::uint32_t per_block = block / s.af_packet_frame_size;
  const std::uint32_t want =
      s.af_packet_frame_size == kAfPacketStandardFrame
          ? kAfPacketFrames
          : std::max(kAfPacketMinJumboFrames, kAfPacketFrames * kAfPacketStandardFrame / s.af_packet_frame_size);
  s.af_packet_frame_count = round_up(want, per_block);
  const std::uint32_t data_room = std::max<std::uint32_t>(
      RTE_MBUF_DEFAULT_BUF_SIZE, RTE_PKTMBUF_HEADROOM + s.af_packet_frame_size - kTpacketSlotOverhead);
  s.mbuf_data_room = static_cast<std::uint16_t>(data_room);
  // About the memory of 32767 standard mbufs (~80 MB), as 2^n - 1 (mempool's
  // best size), but at least 8191: enough for a PCI port's RX and TX rings
  // (1024 each per worker) plus the per-lcore caches.
  std::uint32_t mbufs = kStandardMbufs;
  while (mbufs > kMinMbufs && std::uint64_t{mbufs} * data_room > kPoolBudget) {
    mbufs = (mbufs - 1) / 2;
  }
  s.mbufs = mbufs;
  s.af_xdp_capable = mtu <= kAfXdpMaxMtu;
  return s;
}

std::uint32_t interface_mtu(const std::string& iface) {
  std::ifstream in("/sys/class/net/" + iface + "/mtu");
  std::uint32_t value = 0;
  return in >> value ? value : 0;
}

Result<std::uint32_t> underlay_mtu(const Config& config) {
  if (config.uplink_kind == UplinkKind::kPci) {
    return config.uplink_mtu != 0 ? config.uplink_mtu : 1500U;
  }
  const std::uint32_t kernel = interface_mtu(config.uplink);
  if (kernel == 0) {
    return make_error("uplink {}: cannot read its MTU from /sys/class/net/{}/mtu", config.uplink, config.uplink);
  }
  if (kernel > kMaxUplinkMtu) {
    // Frames up to the interface's MTU can arrive, and buffers are sized for them.
    return make_error("uplink {}: MTU {} is above {}, the largest the data plane handles (ip link set {} mtu 9000)",
                      config.uplink, kernel, kMaxUplinkMtu, config.uplink);
  }
  if (config.uplink_mtu > kernel) {
    return make_error("--uplink-mtu {} is above uplink {}'s MTU {}: raise it first (ip link set {} mtu {})",
                      config.uplink_mtu, config.uplink, kernel, config.uplink, config.uplink_mtu);
  }
  const std::uint32_t mtu = config.uplink_mtu != 0 ? config.uplink_mtu : kernel;
  if (mtu < kMinUplinkMtu || mtu > kMaxUplinkMtu) {
    return make_error("uplink {}: MTU {} is outside {}..{} (set --uplink-mtu)", config.uplink, mtu, kMinUplinkMtu,
                      kMaxUplinkMtu);
  }
  return mtu;
}

bool interface_exists(const std::string& iface) { return if_nametoindex(iface.c_str()) != 0; }

Result<rte_mempool*> create_packet_pool(const Config& config, const FrameSizes& sizes) {
  const std::uint32_t mbufs = config.mbufs != 0 ? config.mbufs : sizes.mbufs;
  rte_mempool* pool =
      rte_pktmbuf_pool_create("ferry_pkts", mbufs, 256, 0, sizes.mbuf_data_room, static_cast<int>(rte_socket_id()));
  if (pool == nullptr) {
    return make_error("cannot create the packet pool ({} mbufs of {} bytes): {}{}", mbufs, sizes.mbuf_data_room,
                      rte_strerror(rte_errno),
                      config.no_huge ? " (raise --memory-mb or lower --mbufs)" : " (reserve more hugepages)");
  }
  return pool;
}

Result<std::uint64_t> PortSetup::configure(std::uint16_t port, bool rss, bool promiscuous, std::uint32_t mtu) {
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
  if (mtu != 0) {
    // A port whose MTU DPDK sets (PCI). The pool's mbufs hold a whole frame;
    // should the NIC still split one (receive buffers smaller than the data
    // room), the pipeline makes chains contiguous on ingress.
    if (mtu > info.max_mtu) {
      return make_error("port {} ({}): MTU {} is above its maximum {} (lower --uplink-mtu)", port, info.driver_name,
                        mtu, info.max_mtu)
          .with_code(ErrorCode::kInvalid);
    }
    conf.rxmode.mtu = mtu;
    const std::uint32_t room = sizes_.mbuf_data_room - RTE_PKTMBUF_HEADROOM;
    if (sizes_.max_frame > room && (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER) != 0) {
      conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
    }
  }
  // TX offloads: what the pipeline can hand over whole (super-frames,
  // partial checksums) when the device does them (port.h, ethdev_tx_caps).
  conf.txmode.offloads = ethdev_tx_offloads(info.tx_offload_capa);
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
    rte_eth_promiscuous_enable(port);  // a PCI uplink's own filter; kernel interfaces use a membership instead
  }
  return conf.txmode.offloads;
}

Result<std::unique_ptr<EthdevPort>> PortSetup::attach_interface(const std::string& iface, PortDriver driver,
                                                                bool promiscuous) {
  if (!interface_exists(iface)) {
    return make_error("interface '{}' does not exist in this network namespace", iface).with_code(ErrorCode::kNotFound);
  }
  const bool xdp = driver == PortDriver::kAfXdp;
  if (xdp && !sizes_.af_xdp_capable) {
    return make_error("af_xdp cannot carry MTU {} frames (at most {}: one 4 KiB XDP frame); use af_packet", sizes_.mtu,
                      kAfXdpMaxMtu)
        .with_code(ErrorCode::kInvalid);
  }
  // A kernel interface with a larger MTU than the buffers could hand us
  // truncated frames (af_packet cuts what does not fit its slot).
  if (const std::uint32_t mtu = interface_mtu(iface); mtu > sizes_.mtu) {
    return make_error("interface {} has MTU {}, above the underlay MTU {} the data plane's buffers are sized for",
                      iface, mtu, sizes_.mtu)
        .with_code(ErrorCode::kInvalid);
  }
  if (driver != PortDriver::kAfXdp && driver != PortDriver::kAfPacket) {
    return make_error("attach {}: {} is not a DPDK port type", iface, driver_name(driver));
  }
  const std::string devname = fmt::format("{}{}", xdp ? "net_af_xdp" : "net_af_packet", next_vdev_++);
  // af_packet: slots sized for the MTU, and a deeper ring than the PMD's
  // default 512 frames, so a worker that was asleep or preempted for a
  // moment does not cost frames. Each queue is a socket of one fanout group.
  const auto fds_before = socket_fds();  // the PMD's ring sockets are the new ones
  const std::string devargs =
      xdp ? fmt::format("{},iface={},queue_count={}", devname, iface, queues_)
          : fmt::format("{},iface={},qpairs={},framesz={},blocksz={},framecnt={}", devname, iface, queues_,
                        sizes_.af_packet_frame_size, sizes_.af_packet_block_size, sizes_.af_packet_frame_count);
  if (int rc = rte_dev_probe(devargs.c_str()); rc != 0) {
    return make_sys_error(-rc, "attach {} as {}", iface, devargs);
  }
  std::uint16_t ethdev = 0;
  if (int rc = rte_eth_dev_get_port_by_name(devname.c_str(), &ethdev); rc != 0) {
    rte_eal_hotplug_remove("vdev", devname.c_str());
    return make_sys_error(-rc, "attach {}: no ethdev named {} after probing", iface, devname);
  }
  auto port = std::make_unique<EthdevPort>(*this, ethdev, driver_name(driver), devname);
  auto configured = configure(ethdev, false, false, 0);
  if (!configured) {
    return configured.error().wrap(fmt::format("attach {} ({})", iface, port->driver()));  // port closes it
  }
  port->set_tx_offloads(*configured);
  if (promiscuous) {
    auto membership = open_promiscuous_membership(if_nametoindex(iface.c_str()));
    if (!membership) {
      return membership.error().wrap(fmt::format("attach {}", iface));  // port closes it
    }
    port->hold_promiscuous(*membership);
  }
  const RingKind kind = xdp ? RingKind::kAfXdp : RingKind::kAfPacket;
  const auto sockets = ring_sockets(kind, if_nametoindex(iface.c_str()), new_sockets(fds_before, socket_fds()));
  if (sockets.size() != queues_) {
    spdlog::warn("{} ({}): found {} of its {} ring sockets: rx_missed misses the kernel's ring drops of the others",
                 iface, devname, sockets.size(), queues_);
  }
  ring_drops_.add(ethdev, kind, sockets);
  return port;
}

void PortSetup::detach(std::uint16_t ethdev, const std::string& devname) {
  ring_drops_.remove(ethdev);  // stopping closes the sockets
  if (int rc = rte_eth_dev_stop(ethdev); rc != 0) {
    spdlog::warn("ethdev {} ({}): stop failed: {}", ethdev, devname, rte_strerror(-rc));
  }
  if (int rc = rte_eth_dev_close(ethdev); rc != 0) {
    spdlog::warn("ethdev {} ({}): close failed: {}", ethdev, devname, rte_strerror(-rc));
  }
  if (devname.rfind("net_", 0) == 0) {
    if (int rc = rte_eal_hotplug_remove("vdev", devname.c_str()); rc != 0) {
      spdlog::warn("ethdev {} ({}): hot-unplug failed: {}", ethdev, devname, rte_strerror(-rc));
    }
  }
}

EthdevPort::~EthdevPort() {
  setup_.detach(ethdev_, devname());
  if (promiscuous_fd_ >= 0) {
    close(promiscuous_fd_);
  }
}

Result<int> open_promiscuous_membership(unsigned ifindex) {
  if (ifindex == 0) {
    return make_error("promiscuous membership: no such interface");
  }
  const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return make_sys_error(errno, "socket(AF_PACKET) for a promiscuous membership");
  }
  packet_mreq mreq{};
  mreq.mr_ifindex = static_cast<int>(ifindex);
  mreq.mr_type = PACKET_MR_PROMISC;
  if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0) {
    const int err = errno;
    close(fd);
    return make_sys_error(err, "PACKET_MR_PROMISC membership");
  }
  return fd;
}

PortCounters EthdevPort::counters() { return setup_.counters(ethdev_); }
bool EthdevPort::link_up() const { return PortSetup::link_up(ethdev_); }
MacAddr EthdevPort::mac() const { return PortSetup::mac(ethdev_); }
void EthdevPort::poll() { setup_.poll_ring_drops(ethdev_); }

Result<std::unique_ptr<EthdevPort>> PortSetup::open_uplink(const Config& config) {
  if (config.uplink_kind == UplinkKind::kPci) {
    std::uint16_t ethdev = 0;
    if (rte_eth_dev_get_port_by_name(config.uplink.c_str(), &ethdev) != 0) {
      return make_error("uplink {}: no DPDK port for this PCI address (is it bound to vfio-pci? see docs/dataplane.md)",
                        config.uplink);
    }
    rte_eth_dev_info info{};
    rte_eth_dev_info_get(ethdev, &info);
    auto port = std::make_unique<EthdevPort>(*this, ethdev, info.driver_name != nullptr ? info.driver_name : "pci",
                                             config.uplink);
    auto configured = configure(ethdev, true, false, sizes_.mtu);
    if (!configured) {
      return configured.error().wrap("uplink " + config.uplink);
    }
    port->set_tx_offloads(*configured);
    return port;
  }
  if (!interface_exists(config.uplink)) {
    return make_error("uplink interface '{}' does not exist in this network namespace", config.uplink);
  }
  if (config.uplink_driver == PortDriver::kAuto && !sizes_.af_xdp_capable) {
    spdlog::info("uplink {}: MTU {} is above af_xdp's {} (one 4 KiB XDP frame per packet): using af_packet",
                 config.uplink, sizes_.mtu, kAfXdpMaxMtu);
  } else if (config.uplink_driver != PortDriver::kAfPacket) {
    auto xdp = attach_interface(config.uplink, PortDriver::kAfXdp, false);
    if (xdp || config.uplink_driver == PortDriver::kAfXdp) {
      return xdp;
    }
    spdlog::warn("uplink {}: af_xdp failed ({}); falling back to af_packet", config.uplink, xdp.error().message);
  }
  return attach_interface(config.uplink, PortDriver::kAfPacket, false);
}

PortCounters PortSetup::counters(std::uint16_t port) {
  rte_eth_stats stats{};
  PortCounters out;
  if (rte_eth_stats_get(port, &stats) == 0) {
    out = PortCounters{stats.ipackets, stats.ibytes, stats.opackets, stats.obytes, stats.imissed, stats.oerrors};
  }
  ring_drops_.poll(port);
  out.rx_missed += ring_drops_.dropped(port);
  return out;
}

bool PortSetup::link_up(std::uint16_t port) {
  rte_eth_link link{};
  return rte_eth_link_get_nowait(port, &link) == 0 && link.link_status == RTE_ETH_LINK_UP;
}

MacAddr PortSetup::mac(std::uint16_t port) {
  rte_ether_addr addr{};
  rte_eth_macaddr_get(port, &addr);
  MacAddr mac;
  std::copy(std::begin(addr.addr_bytes), std::end(addr.addr_bytes), mac.bytes.begin());
  return mac;
}

}  // namespace ferry::dataplane::app
