// DPDK port and mempool set-up for the generator (control path: every call
// checked, errors name the port and say what to do).
#pragma once

#include <cstdint>
#include <string>

#include "bench/gen/frame.h"
#include "common/result.h"

struct rte_mempool;

namespace ferry::bench::gen {

// A port by id ("0") or by device name ("0000:03:00.0", "net_af_xdp0");
// the error lists the ports EAL found and how to add one.
Result<std::uint16_t> find_port(const std::string& name_or_id);
std::string port_name(std::uint16_t port);
std::uint16_t port_count();
MacAddress port_mac(std::uint16_t port);

// A pool whose every mbuf already holds `frame` at its data offset, so TX
// only allocates, sets the length and patches (pktgen's trick: mbuf data
// survives free/alloc).
Result<rte_mempool*> create_tx_pool(const std::string& name, std::uint32_t size, const FrameTemplate& frame,
                                    int socket);
Result<rte_mempool*> create_rx_pool(const std::string& name, std::uint32_t size, std::uint32_t frame_size, int socket);

struct PortSetup {
  std::uint16_t port = 0;
  std::uint16_t rx_desc = 1024;
  std::uint16_t tx_desc = 1024;
  rte_mempool* rx_pool = nullptr;
  std::uint32_t frame_size = 64;  // largest frame with FCS: sets the MTU when above 1518
};

// Configures one RX and one TX queue, enables promiscuous mode, starts the
// port and waits (up to 5 s) for link up.
Result<void> start_port(const PortSetup& setup);
void stop_port(std::uint16_t port);
int port_socket(std::uint16_t port);

}  // namespace ferry::bench::gen
