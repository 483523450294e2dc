#include "dataplane/app/port.h"

#include <rte_mbuf.h>

#include <algorithm>

namespace ferry::dataplane::app {

std::uint64_t ethdev_tx_offloads(std::uint64_t capa) {
  constexpr std::uint64_t kWanted = RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |
                                    RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM |
                                    RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_UDP_TSO |
                                    RTE_ETH_TX_OFFLOAD_VXLAN_TNL_TSO | RTE_ETH_TX_OFFLOAD_OUTER_IPV4_CKSUM;
  return capa & kWanted;
}

PortTxCaps ethdev_tx_caps(std::uint64_t offloads) {
  auto has = [offloads](std::uint64_t all) { return (offloads & all) == all; };
  constexpr std::uint64_t kSegBase =
      RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
  constexpr std::uint64_t kTunnel = RTE_ETH_TX_OFFLOAD_VXLAN_TNL_TSO | RTE_ETH_TX_OFFLOAD_OUTER_IPV4_CKSUM;
  constexpr std::uint64_t kCsum = RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
  PortTxCaps caps = 0;
  if (has(kSegBase | RTE_ETH_TX_OFFLOAD_TCP_TSO)) caps |= kTxCapTso;
  if (has(kSegBase | RTE_ETH_TX_OFFLOAD_UDP_TSO | RTE_ETH_TX_OFFLOAD_UDP_CKSUM)) caps |= kTxCapUso;
  if (has(kCsum)) caps |= kTxCapL4Csum;
  if (has(kSegBase | kTunnel)) caps |= kTxCapTunnelTso;
  if (has(kCsum | kTunnel)) caps |= kTxCapTunnelL4Csum;
  return caps;
}

void nic_tx_flags(rte_mbuf* m) {
  const std::uint64_t flags = m->ol_flags;
  if ((flags & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_UDP_SEG)) == 0) return;
  if ((flags & RTE_MBUF_F_TX_IPV4) != 0) m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
  if ((flags & RTE_MBUF_F_TX_OUTER_IPV4) != 0) m->ol_flags |= RTE_MBUF_F_TX_OUTER_IP_CKSUM;
}

std::uint16_t nic_tx_prepare(std::uint16_t ethdev, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) {
  for (std::uint16_t i = 0; i < n; ++i) nic_tx_flags(pkts[i]);
  return rte_eth_tx_prepare(ethdev, queue, pkts, n);
}

std::vector<std::string> offload_names(const PortOffloads& offloads) {
  std::vector<std::string> names;
  for (const auto& [on, name] :
       {std::pair{offloads.vnet_header, "vnet_hdr"}, std::pair{offloads.rx_gso, "rx_gso"},
        std::pair{offloads.tx_gso, "tx_gso"}, std::pair{offloads.rx_csum_partial, "rx_csum_partial"},
        std::pair{offloads.tx_csum_partial, "tx_csum_partial"}}) {
    if (on) {
      names.emplace_back(name);
    }
  }
  return names;
}

Result<PortId> PortTable::add(std::unique_ptr<Port> port) {
  if (port == nullptr) {
    return make_error("no port to add");
  }
  const PortIo io = port->io();
  if (!io.valid()) {
    return make_error("port {} ({}) has neither an ethdev nor burst functions", port->devname(), port->driver());
  }
  for (std::size_t step = 1; step <= kMaxPorts; ++step) {
    const auto id = static_cast<PortId>((last_ + step) % kMaxPorts);
    if (ports_[id] == nullptr) {
      io_[id] = io;
      ports_[id] = std::move(port);
      last_ = id;
      return id;
    }
  }
  return make_error("no room for another port (at most {})", kMaxPorts);
}

void PortTable::remove(PortId id) {
  if (id >= kMaxPorts) {
    return;
  }
  io_[id] = PortIo{};
  ports_[id].reset();
}

void PortTable::clear() {
  for (std::size_t id = 0; id < kMaxPorts; ++id) {
    remove(static_cast<PortId>(id));
  }
}

std::size_t PortTable::size() const {
  return static_cast<std::size_t>(
      std::count_if(ports_.begin(), ports_.end(), [](const auto& p) { return p != nullptr; }));
}

void PortTable::poll_all() {
  for (auto& port : ports_) {
    if (port != nullptr) {
      port->poll();
    }
  }
}

}  // namespace ferry::dataplane::app
