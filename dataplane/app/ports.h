// DPDK ethdev ports: the packet mempool, the uplink (PCI, or a kernel
// interface via net_af_xdp with a net_af_packet fallback) and endpoint ports
// hot-plugged at run time as vdevs and removed again (stop, close,
// rte_dev_remove). Each is an EthdevPort, one Port type of the PortTable
// (port.h); ports Ferry implements on sockets live beside it (vnet_port.h).
//
// Every port gets one RX and one TX queue per worker: worker w polls RX
// queue w of every port and transmits on TX queue w, so no queue is shared.
//
// Buffer sizes follow the underlay MTU (FrameSizes): one pool feeds every
// port and af_packet cannot spread a frame over several mbufs, so one mbuf
// holds the largest frame any port can deliver; af_packet's socket rings get
// frames of that size; af_xdp is only used where its frames fit (see
// kAfXdpMaxMtu).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "dataplane/app/config.h"
#include "dataplane/app/port.h"
#include "dataplane/app/ring_drops.h"
#include "dataplane/core/types.h"

struct rte_mempool;

namespace ferry::dataplane::app {

// The largest MTU af_xdp carries here: veth's native XDP refuses to attach
// above 3506 ("Peer MTU is too large to set XDP": one 4 KiB page minus XDP
// headroom and skb_shared_info), and DPDK 22.11's af_xdp PMD receives every
// frame into a single 4 KiB UMEM chunk anyway (no multi-buffer).
inline constexpr std::uint32_t kAfXdpMaxMtu = 3506;

// Buffer geometry for an underlay MTU.
struct FrameSizes {
  std::uint32_t mtu = 1500;                 // the largest IPv4 MTU any port carries (the uplink's)
  std::uint32_t max_frame = 0;              // mtu + Ethernet header + one VLAN tag of slack
  std::uint16_t mbuf_data_room = 0;         // data room of the pool's mbufs, headroom included
  std::uint32_t mbufs = 0;                  // default pool size (about the same memory at any MTU)
  std::uint32_t af_packet_frame_size = 0;   // af_packet "framesz": ring slot, tpacket header included
  std::uint32_t af_packet_block_size = 0;   // "blocksz": whole slots and whole pages
  std::uint32_t af_packet_frame_count = 0;  // "framecnt" per queue and direction (whole blocks)
  bool af_xdp_capable = true;               // mtu <= kAfXdpMaxMtu

  [[nodiscard]] bool jumbo() const { return mtu > 1500; }
};

// The geometry for `mtu` (576..9216) with `page_size`-byte pages.
FrameSizes frame_sizes(std::uint32_t mtu, std::uint32_t page_size = 4096);

// The underlay MTU to use: --uplink-mtu, else the kernel interface's MTU, else
// 1500 (PCI). An --uplink-mtu above the interface's MTU is an error.
Result<std::uint32_t> underlay_mtu(const Config& config);

// Kernel MTU of an interface (sysfs), 0 when unknown.
std::uint32_t interface_mtu(const std::string& iface);

// An endpoint or uplink port once it is in the PortTable.
struct OpenedPort {
  PortId id = kInvalidPort;  // Ferry's PortId (PortTable), not an ethdev id
  std::string devname;       // "net_af_packet3", "vnet:veth12ab", a PCI address
  std::string driver;        // "vnet", "af_xdp", "af_packet" or the PCI PMD's name
};

class PortSetup;

// A DPDK ethdev as a Port: workers use rte_eth_rx_burst / rte_eth_tx_burst
// on its ethdev id. Destroying it stops and closes the ethdev and hot-unplugs
// a vdev.
class EthdevPort final : public Port {
 public:
  EthdevPort(PortSetup& setup, std::uint16_t ethdev, std::string driver, std::string devname)
      : Port(std::move(driver), std::move(devname)), setup_(setup), ethdev_(ethdev) {}
  // Takes `fd`, a packet socket holding a PACKET_MR_PROMISC membership on the
  // port's interface; closed after the ethdev (the interface's promiscuity
  // goes with it, whatever happens to the process).
  void hold_promiscuous(int fd) { promiscuous_fd_ = fd; }
  ~EthdevPort() override;
  EthdevPort(const EthdevPort&) = delete;
  EthdevPort& operator=(const EthdevPort&) = delete;

  [[nodiscard]] PortIo io() const override { return PortIo::for_ethdev(ethdev_, tx_caps() != 0); }
  [[nodiscard]] PortTxCaps tx_caps() const override { return ethdev_tx_caps(tx_offloads_); }
  // The TX offloads configured on it (ethdev_tx_offloads of its capabilities).
  void set_tx_offloads(std::uint64_t offloads) { tx_offloads_ = offloads; }
  [[nodiscard]] PortCounters counters() override;
  [[nodiscard]] bool link_up() const override;
  [[nodiscard]] MacAddr mac() const override;
  void poll() override;
  [[nodiscard]] std::uint16_t ethdev() const { return ethdev_; }

 private:
  PortSetup& setup_;
  std::uint16_t ethdev_;
  std::uint64_t tx_offloads_ = 0;
  int promiscuous_fd_ = -1;
};

// A packet socket holding a PACKET_MR_PROMISC membership on `ifindex`: the
// interface is promiscuous while the socket is open and not after, also
// when the process dies (unlike IFF_PROMISC, which outlives whoever set it).
// It receives nothing itself (protocol 0).
Result<int> open_promiscuous_membership(unsigned ifindex);

class PortSetup {
 public:
  PortSetup(rte_mempool* pool, std::uint16_t queues, const FrameSizes& sizes)
      : pool_(pool), queues_(queues), sizes_(sizes) {}

  // The uplink as configured: PCI port, or af_xdp (falling back to af_packet
  // when af_xdp cannot start and the driver is kAuto).
  Result<std::unique_ptr<EthdevPort>> open_uplink(const Config& config);

  // Hot-plugs `iface` as a vdev of `driver` (af_packet or af_xdp),
  // configures and starts it. `promiscuous`: through a PACKET_MR_PROMISC
  // membership the port holds, never rte_eth_promiscuous_enable (the PMDs
  // set IFF_PROMISC, which stays on the interface after the port is gone).
  Result<std::unique_ptr<EthdevPort>> attach_interface(const std::string& iface, PortDriver driver, bool promiscuous);

  // Stops, closes and (a vdev) removes an ethdev. No worker may touch it any more.
  void detach(std::uint16_t ethdev, const std::string& devname);

  // The PMD's counters; rx_missed also holds the frames the kernel dropped
  // in the port's socket rings (RingDrops), read now.
  [[nodiscard]] PortCounters counters(std::uint16_t port);
  // Reads one port's ring drop counters (control thread, periodically).
  void poll_ring_drops(std::uint16_t ethdev) { ring_drops_.poll(ethdev); }
  [[nodiscard]] static bool link_up(std::uint16_t port);
  [[nodiscard]] static MacAddr mac(std::uint16_t port);
  [[nodiscard]] std::uint16_t queues() const { return queues_; }
  [[nodiscard]] const FrameSizes& sizes() const { return sizes_; }

 private:
  // `mtu`: set on the port (PCI); 0 leaves a kernel interface's MTU alone.
  // Returns the TX offloads it turned on.
  Result<std::uint64_t> configure(std::uint16_t port, bool rss, bool promiscuous, std::uint32_t mtu);

  rte_mempool* pool_;
  std::uint16_t queues_;
  FrameSizes sizes_;
  std::uint32_t next_vdev_ = 0;  // vdev names must be unique while attached
  RingDrops ring_drops_;
};

// Creates the mbuf pool every port receives into (also used for flood
// copies and control-thread frames): --mbufs (or sizes.mbufs) mbufs of
// sizes.mbuf_data_room bytes.
Result<rte_mempool*> create_packet_pool(const Config& config, const FrameSizes& sizes);

// True when `iface` exists in this network namespace.
bool interface_exists(const std::string& iface);

}  // namespace ferry::dataplane::app
