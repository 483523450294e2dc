// The kernel-UDP uplink (udp_uplink.h) as a Port of the PortTable: what
// `--uplink-mode udp` opens instead of a DPDK ethdev. It runs the start-up
// checks (udp_uplink_host.h), opens the sockets and hands the workers its
// burst functions; its counters are the datagrams it moved, its MAC and link
// state the kernel interface's.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "dataplane/app/config.h"
#include "dataplane/app/port.h"
#include "dataplane/app/udp_uplink.h"
#include "dataplane/app/udp_uplink_host.h"

struct rte_mempool;

namespace ferry::dataplane::app {

// The host checks for `config`'s VTEP address, port and --uplink interface.
UdpUplinkHostCheck udp_uplink_host_check(const Config& config, bool enable_gro);

class UdpUplinkPort final : public Port {
 public:
  // Checks the host, then opens the uplink for `queues` workers on the VTEP
  // address of `config` with the underlay `mtu`. Received datagrams come as
  // whole frames (UdpDelivery::kFrame) until the pipeline decapsulates VXLAN
  // payloads directly. The receive sockets take UDP_GRO batches (GRO is
  // switched on on the interface where it is off).
  static Result<std::unique_ptr<UdpUplinkPort>> open(const Config& config, rte_mempool* pool, std::uint16_t queues,
                                                     std::uint32_t mtu);

  [[nodiscard]] PortIo io() const override;
  [[nodiscard]] PortCounters counters() override;
  [[nodiscard]] bool link_up() const override;
  [[nodiscard]] MacAddr mac() const override { return mac_; }
  [[nodiscard]] PortOffloads offloads() const override;
  // VXLAN TCP super-frames go in whole: the uplink cuts them into its
  // UDP_SEGMENT sends without copying their payload (udp_uplink.h, "TX").
  [[nodiscard]] PortTxCaps tx_caps() const override { return kTxCapTunnelTso; }
  // Logs once when UDP_SEGMENT had to be given up.
  void poll() override;

  // Every UDP uplink counter, named "udp_uplink_<counter>".
  [[nodiscard]] std::vector<std::pair<std::string, std::uint64_t>> named_counters() const;
  [[nodiscard]] const UdpUplinkHost& host() const { return host_; }
  [[nodiscard]] UdpUplink& uplink() { return *uplink_; }

 private:
  UdpUplinkPort(std::unique_ptr<UdpUplink> uplink, UdpUplinkHost host, MacAddr mac);
  static std::uint16_t rx(void* state, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n);
  static std::uint16_t tx(void* state, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n);

  std::unique_ptr<UdpUplink> uplink_;
  UdpUplinkHost host_;
  MacAddr mac_;
  bool gso_loss_logged_ = false;
};

}  // namespace ferry::dataplane::app
