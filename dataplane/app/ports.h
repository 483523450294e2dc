// DPDK ports: the packet mempool, the uplink (PCI, or a kernel interface via
// net_af_xdp with a net_af_packet fallback) and endpoint ports hot-plugged at
// run time as vdevs and removed again (stop, close, rte_dev_remove).
//
// Every port gets one RX and one TX queue per worker: worker w polls RX
// queue w of every port and transmits on TX queue w, so no queue is shared.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "dataplane/app/config.h"
#include "dataplane/core/types.h"

struct rte_mempool;

namespace ferry::dataplane::app {

struct OpenedPort {
  PortId id = kInvalidPort;
  std::string devname;  // vdev name ("net_af_packet3") or PCI address
  std::string driver;   // "af_xdp", "af_packet" or the PCI PMD's name
};

struct PortCounters {
  std::uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0, rx_missed = 0, tx_errors = 0;
};

class PortSetup {
 public:
  PortSetup(rte_mempool* pool, std::uint16_t queues) : pool_(pool), queues_(queues) {}

  // The uplink as configured: PCI port, or af_xdp (falling back to af_packet
  // when af_xdp cannot start and the driver is kAuto).
  Result<OpenedPort> open_uplink(const Config& config);

  // Hot-plugs `iface` as a vdev of `driver`, configures and starts it.
  Result<OpenedPort> attach_interface(const std::string& iface, PortDriver driver, bool promiscuous);

  // Stops, closes and removes a port. No worker may touch it any more.
  void detach(const OpenedPort& port);

  [[nodiscard]] static PortCounters counters(PortId port);
  [[nodiscard]] static bool link_up(PortId port);
  [[nodiscard]] static MacAddr mac(PortId port);
  // Kernel MTU of `iface` (sysfs), or of the ethdev for a PCI port.
  [[nodiscard]] static std::uint32_t mtu(const OpenedPort& port, const Config& config);

  [[nodiscard]] std::uint16_t queues() const { return queues_; }

 private:
  Result<void> configure(PortId port, bool rss, bool promiscuous);

  rte_mempool* pool_;
  std::uint16_t queues_;
  std::uint32_t next_vdev_ = 0;  // vdev names must be unique while attached
};

// Creates the mbuf pool every port receives into (also used for flood
// copies and control-thread frames).
Result<rte_mempool*> create_packet_pool(const Config& config);

// True when `iface` exists in this network namespace.
bool interface_exists(const std::string& iface);

}  // namespace ferry::dataplane::app
