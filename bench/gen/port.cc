#include "bench/gen/port.h"

#include "bench/gen/config.h"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <charconv>
#include <cstdio>
#include <cstring>

namespace ferry::bench::gen {

namespace {

std::string known_ports() {
  std::string list;
  std::uint16_t id = 0;
  RTE_ETH_FOREACH_DEV(id) { list += fmt::format("{}{} ({})", list.empty() ? "" : ", ", port_name(id), id); }
  return list.empty() ? "none" : list;
}

std::uint16_t data_room(std::uint32_t frame_size) {
  return static_cast<std::uint16_t>(RTE_PKTMBUF_HEADROOM + frame_buffer_size(frame_size));
}

Error pool_error(const std::string& name) {
  if (rte_errno == ENOMEM) {
    return make_error(
        "cannot create mbuf pool {}: out of memory; reserve hugepages (scripts/setup-hugepages), raise -m, or "
        "run without hugepages: -- --no-huge -m 512",
        name);
  }
  return make_error("cannot create mbuf pool {}: {}", name, rte_strerror(rte_errno));
}

void fill_with_frame(rte_mempool* /*pool*/, void* arg, void* object, unsigned /*index*/) {
  const auto* frame = static_cast<const FrameTemplate*>(arg);
  auto* mbuf = static_cast<rte_mbuf*>(object);
  // rte_pktmbuf_alloc() resets data_off to the headroom: put the frame there.
  auto* data = static_cast<std::uint8_t*>(mbuf->buf_addr) + RTE_MIN(RTE_PKTMBUF_HEADROOM, mbuf->buf_len);
  std::memcpy(data, frame->bytes().data(), frame->size());
}

}  // namespace

std::string port_name(std::uint16_t port) {
  char name[RTE_ETH_NAME_MAX_LEN] = {};
  if (rte_eth_dev_get_name_by_port(port, name) != 0) return fmt::format("port{}", port);
  return name;
}

std::uint16_t port_count() { return rte_eth_dev_count_avail(); }

MacAddress port_mac(std::uint16_t port) {
  rte_ether_addr address{};
  MacAddress mac;
  if (rte_eth_macaddr_get(port, &address) == 0) std::memcpy(mac.bytes.data(), address.addr_bytes, 6);
  return mac;
}

int port_socket(std::uint16_t port) {
  const int socket = rte_eth_dev_socket_id(port);
  return socket < 0 ? static_cast<int>(SOCKET_ID_ANY) : socket;
}

Result<std::uint16_t> find_port(const std::string& name_or_id) {
  unsigned id = 0;
  const char* end = name_or_id.data() + name_or_id.size();
  if (auto [ptr, ec] = std::from_chars(name_or_id.data(), end, id); ec == std::errc() && ptr == end) {
    if (id <= RTE_MAX_ETHPORTS && rte_eth_dev_is_valid_port(static_cast<std::uint16_t>(id))) {
      return static_cast<std::uint16_t>(id);
    }
  } else {
    std::uint16_t port = 0;
    if (rte_eth_dev_get_port_by_name(name_or_id.c_str(), &port) == 0) return port;
  }
  return make_error(
      "port '{}' not found; ports EAL knows: {}. Add one after --: -a PCI_ADDRESS (a NIC bound to vfio-pci) or "
      "--vdev net_af_xdp0,iface=IFACE, or use --pmd af_packet|af_xdp --tx-iface/--rx-iface",
      name_or_id, known_ports());
}

Result<rte_mempool*> create_tx_pool(const std::string& name, std::uint32_t size, const FrameTemplate& frame,
                                    int socket) {
  rte_mempool* pool = rte_pktmbuf_pool_create(name.c_str(), size, 256, 0, data_room(frame.size()), socket);
  if (pool == nullptr) return pool_error(name);
  rte_mempool_obj_iter(pool, fill_with_frame, const_cast<FrameTemplate*>(&frame));
  return pool;
}

Result<rte_mempool*> create_rx_pool(const std::string& name, std::uint32_t size, std::uint32_t frame_size, int socket) {
  rte_mempool* pool = rte_pktmbuf_pool_create(name.c_str(), size, 256, 0, data_room(frame_size), socket);
  if (pool == nullptr) return pool_error(name);
  return pool;
}

Result<void> start_port(const PortSetup& s) {
  const std::string name = port_name(s.port);
  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(s.port, &info); rc != 0) {
    return make_error("port {}: cannot read device info: {}", name, rte_strerror(-rc));
  }
  rte_eth_conf conf{};
  const std::uint32_t l2_size = s.frame_size - kFcsSize;
  if (l2_size > RTE_ETHER_MAX_LEN - RTE_ETHER_CRC_LEN) {
    const std::uint32_t mtu = l2_size - RTE_ETHER_HDR_LEN;
    if (mtu <= info.max_mtu && s.frame_size <= info.max_rx_pktlen) {
      conf.rxmode.mtu = mtu;
    } else {
      // net_af_packet reports 1500 yet carries whatever its ring slots and
      // the kernel interface's MTU allow: warn, do not refuse.
      std::fprintf(stderr,
                   "ferry-bench gen: warning: port %s takes frames of at most %u bytes, not %u (for a kernel "
                   "interface: ip link set IFACE mtu %u on both ends)\n",
                   name.c_str(), static_cast<unsigned>(info.max_rx_pktlen), s.frame_size, mtu);
    }
  }
  if (int rc = rte_eth_dev_configure(s.port, 1, 1, &conf); rc != 0) {
    return make_error("port {}: configure failed: {}", name, rte_strerror(-rc));
  }
  std::uint16_t rx_desc = s.rx_desc;
  std::uint16_t tx_desc = s.tx_desc;
  if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(s.port, &rx_desc, &tx_desc); rc != 0) {
    return make_error("port {}: ring sizes {}/{} refused: {}", name, s.rx_desc, s.tx_desc, rte_strerror(-rc));
  }
  const int socket = port_socket(s.port);
  if (int rc = rte_eth_rx_queue_setup(s.port, 0, rx_desc, static_cast<unsigned>(socket), nullptr, s.rx_pool); rc != 0) {
    return make_error("port {}: RX queue set-up failed: {}", name, rte_strerror(-rc));
  }
  if (int rc = rte_eth_tx_queue_setup(s.port, 0, tx_desc, static_cast<unsigned>(socket), nullptr); rc != 0) {
    return make_error("port {}: TX queue set-up failed: {}", name, rte_strerror(-rc));
  }
  if (int rc = rte_eth_dev_start(s.port); rc != 0) {
    return make_error("port {}: start failed: {}", name, rte_strerror(-rc));
  }
  // Frames to a MAC other than the port's must still reach the receiver.
  (void)rte_eth_promiscuous_enable(s.port);

  const std::uint64_t deadline = rte_get_tsc_cycles() + 5 * rte_get_tsc_hz();
  rte_eth_link link{};
  while (rte_eth_link_get_nowait(s.port, &link) == 0 && link.link_status == RTE_ETH_LINK_DOWN &&
         rte_get_tsc_cycles() < deadline) {
    rte_delay_ms(50);
  }
  if (link.link_status == RTE_ETH_LINK_DOWN) {
    std::fprintf(stderr, "ferry-bench gen: warning: port %s link is down (cable, or the interface is not up)\n",
                 name.c_str());
  }
  return ok();
}

void stop_port(std::uint16_t port) {
  (void)rte_eth_dev_stop(port);
  (void)rte_eth_dev_close(port);
}

}  // namespace ferry::bench::gen
