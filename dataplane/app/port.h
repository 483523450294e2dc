// Ferry's ports: one dense PortId space (0 .. kMaxPorts-1, the index of the
// pipeline's per-port arrays) over every kind of port the data plane drives:
// DPDK ethdevs (a PCI NIC, the af_packet and af_xdp PMDs) and ports Ferry
// implements itself on kernel sockets (the vnet endpoint port, a kernel-UDP
// uplink).
//
// A port type implements Port (control side: counters, link, MAC, what it
// is, closing) and hands the workers a PortIo: either an ethdev id, served by
// rte_eth_rx_burst / rte_eth_tx_burst, or two burst functions and their state.
// PortTable maps Ferry PortIds to ports; the run loop receives through
// PortTable::rx_burst and the pipeline transmits through PortTable::tx_burst
// (a TxFn): one predictable branch per burst, nothing per packet.
//
// Ferry PortIds are not ethdev ids: DPDK assigns those at probe time, and a
// socket port has none. The table hands out the lowest free id after the one
// it handed out last (ids are reused as late as possible, so a removed port's
// per-port counters are not at once inherited by the next one).
//
// Concurrency: only the control thread calls add/remove/get. Workers read a
// port's PortIo slot only after they learnt its id from something the control
// thread published after add() (the run loop's endpoint list, the tables), and
// remove() is called only after a grace period in which no worker can still
// hold the id (docs/dataplane.md, "Hot plug"). The slots are plain data.
#pragma once

#include <rte_ethdev.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "dataplane/core/port_caps.h"
#include "dataplane/core/types.h"

struct rte_mbuf;

namespace ferry::dataplane::app {

// Receives up to n frames from (or sends n frames to) queue `queue` of a
// non-ethdev port, like rte_eth_rx_burst / rte_eth_tx_burst: RX fills pkts
// and returns how many; TX takes ownership of the first k it returns and
// leaves the rest to the caller. Called only by the worker that owns
// `queue`: worker w uses queue w of every port, so no queue is shared.
using PortBurstFn = std::uint16_t (*)(void* state, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n);
// The file descriptor that becomes readable when queue `queue` of a
// non-ethdev port has frames (a kernel socket), or -1.
using PortFdFn = int (*)(void* state, std::uint16_t queue);

// What a worker needs to move frames through one port.
struct PortIo {
  static constexpr std::uint16_t kNoEthdev = 0xffff;

  std::uint16_t ethdev = kNoEthdev;  // DPDK ethdev port id, or kNoEthdev
  PortBurstFn rx = nullptr;          // the rest: a port Ferry implements itself
  PortBurstFn tx = nullptr;
  void* state = nullptr;
  // An ethdev with TX offloads on: frames go through nic_tx_prepare() first.
  bool nic_offloads = false;
  // A socket port: what an idle worker may wait on (epoll) instead of polling.
  PortFdFn rx_fd = nullptr;

  [[nodiscard]] static PortIo for_ethdev(std::uint16_t ethdev_id, bool offloads = false) {
    return PortIo{ethdev_id, nullptr, nullptr, nullptr, offloads, nullptr};
  }
  // The descriptor to wait on for queue `queue`, -1 when there is none.
  [[nodiscard]] int fd(std::uint16_t queue) const { return rx_fd != nullptr ? rx_fd(state, queue) : -1; }
  [[nodiscard]] bool valid() const { return ethdev != kNoEthdev || (rx != nullptr && tx != nullptr); }
};

// Counters of one port, read on the control thread.
struct PortCounters {
  std::uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0, rx_missed = 0, tx_errors = 0;
};

// The offload state of a port, for stats and dumps ("what does this port do
// with super-frames"). Ports that carry none leave everything false.
struct PortOffloads {
  bool vnet_header = false;      // frames carry virtio-net headers (GSO, partial checksums)
  bool rx_gso = false;           // receives GSO super-frames whole
  bool tx_gso = false;           // sends GSO super-frames whole (the kernel segments them)
  bool rx_csum_partial = false;  // receives frames whose L4 checksum is partial
  bool tx_csum_partial = false;  // may send frames whose L4 checksum is partial
};

// A port that exchanges every frame with a virtio-net header (vnet endpoint
// ports, the tap uplink): all of the above.
inline constexpr PortOffloads kVnetHeaderOffloads{true, true, true, true, true};

// The names of the offloads that are on ("vnet_hdr", "rx_gso", "tx_gso",
// "rx_csum_partial", "tx_csum_partial"), as the API lists them.
std::vector<std::string> offload_names(const PortOffloads& offloads);

// DPDK ethdevs and TX offloads (a NIC with TSO or tunnel TSO):
// The TX offloads Ferry turns on (rte_eth_conf txmode.offloads) of those a
// device offers (rte_eth_dev_info tx_offload_capa).
[[nodiscard]] std::uint64_t ethdev_tx_offloads(std::uint64_t tx_offload_capa);
// What a device with `offloads` on takes of the pipeline's frames
// (port_caps.h): TSO needs TCP_TSO, TCP and IPv4 checksums and multi-segment
// frames; tunnel TSO needs VXLAN_TNL_TSO and the outer IPv4 checksum too;
// partial checksums need TCP and UDP checksums (in a tunnel: a device that
// parses VXLAN, i.e. one with VXLAN_TNL_TSO).
[[nodiscard]] PortTxCaps ethdev_tx_caps(std::uint64_t offloads);
// Turns Ferry's offload metadata into what a NIC driver expects: IPv4
// super-frames ask for the IPv4 header checksum (inner and outer), which the
// NIC rewrites per segment. rte_eth_tx_prepare() then puts the pseudo-header
// sums in the driver's own convention.
void nic_tx_flags(rte_mbuf* m);
// nic_tx_flags() on every frame, then rte_eth_tx_prepare(): returns how many
// of the first frames may be sent.
std::uint16_t nic_tx_prepare(std::uint16_t ethdev, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n);

// A counter a port type keeps beyond PortCounters (its own drop reasons,
// super-frames in and out); stats list them beside the pipeline's.
struct NamedCounter {
  std::string_view name;
  std::string_view help;
  bool drop = false;  // a drop reason: one per frame freed
  std::uint64_t value = 0;
};

// A port of any type, as the control thread sees it. Destroying it closes it;
// that happens only once no worker can touch it.
class Port {
 public:
  virtual ~Port() = default;
  Port(const Port&) = delete;
  Port& operator=(const Port&) = delete;

  // The burst entry points for the workers; fixed for the port's lifetime.
  [[nodiscard]] virtual PortIo io() const = 0;
  // Counters summed over the queues (control thread).
  [[nodiscard]] virtual PortCounters counters() = 0;
  [[nodiscard]] virtual bool link_up() const = 0;
  [[nodiscard]] virtual MacAddr mac() const = 0;
  [[nodiscard]] virtual PortOffloads offloads() const { return {}; }
  // What its TX takes of the pipeline's offload requests (port_caps.h);
  // the pipeline finishes the rest in software. Fixed for its lifetime.
  [[nodiscard]] virtual PortTxCaps tx_caps() const { return 0; }
  // The port type's own counters (the same names for every port of a type).
  [[nodiscard]] virtual std::vector<NamedCounter> type_counters() const { return {}; }
  // Housekeeping on the control thread, about once a second (e.g. reading a
  // kernel drop counter that resets on read before it can wrap).
  virtual void poll() {}

  // The port type as users name it ("vnet", "af_packet", "af_xdp", a PCI PMD).
  [[nodiscard]] const std::string& driver() const { return driver_; }
  // What it is attached to, for logs ("net_af_packet3", "vnet:veth12ab", a PCI address).
  [[nodiscard]] const std::string& devname() const { return devname_; }

 protected:
  Port(std::string driver, std::string devname) : driver_(std::move(driver)), devname_(std::move(devname)) {}

 private:
  std::string driver_;
  std::string devname_;
};

// Ferry PortId -> port. Owns the ports.
class PortTable {
 public:
  PortTable() = default;
  PortTable(const PortTable&) = delete;
  PortTable& operator=(const PortTable&) = delete;

  // Takes the port, gives it a free id and fills its PortIo slot before
  // returning (publish the id to the workers only afterwards).
  Result<PortId> add(std::unique_ptr<Port> port);
  // Closes the port and frees its id. No worker may use the id any more.
  void remove(PortId id);
  // Every port, closed (shutdown; workers stopped).
  void clear();

  // The port behind an id, or nullptr.
  [[nodiscard]] Port* get(PortId id) const { return id < kMaxPorts ? ports_[id].get() : nullptr; }
  [[nodiscard]] std::size_t size() const;
  // Calls Port::poll() on every port (control thread).
  void poll_all();

  // ---- workers
  [[nodiscard]] const PortIo& io(PortId id) const { return io_[id]; }

  std::uint16_t rx_burst(PortId id, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) const {
    const PortIo& p = io_[id];
    if (p.ethdev != PortIo::kNoEthdev) return rte_eth_rx_burst(p.ethdev, queue, pkts, n);
    return p.rx(p.state, queue, pkts, n);
  }
  std::uint16_t tx(PortId id, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) const {
    const PortIo& p = io_[id];
    if (p.ethdev != PortIo::kNoEthdev) {
      if (p.nic_offloads) n = nic_tx_prepare(p.ethdev, queue, pkts, n);
      return rte_eth_tx_burst(p.ethdev, queue, pkts, n);
    }
    return p.tx(p.state, queue, pkts, n);
  }
  // The pipeline's TxFn (dataplane/core/pipeline.h) with `table` = this.
  static std::uint16_t tx_burst(void* table, PortId id, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) {
    return static_cast<const PortTable*>(table)->tx(id, queue, pkts, n);
  }

 private:
  std::array<PortIo, kMaxPorts> io_{};
  std::array<std::unique_ptr<Port>, kMaxPorts> ports_{};
  PortId last_ = kMaxPorts - 1;  // the id handed out last
};

}  // namespace ferry::dataplane::app
