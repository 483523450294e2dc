// Uplink ingress: frames from the underlay. Per frame the outer header checks
// (Ethernet, IPv4, UDP, VXLAN) and the hand-off of ARP for our VTEP IP to the
// slow path (slow_path.cc), as are frames of the VTEP echo's management VNI
// (vtep_echo.h); then one bulk peer lookup, (VNI, outer source
// IP) -> network, for the burst; decapsulation and delivery follow in decap.cc.
#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "dataplane/core/burst.h"
#include "dataplane/core/packet_util.h"

namespace ferry::dataplane {

using namespace wire;

namespace {

// Who we are on the underlay, as the outer header checks compare it.
struct OuterIdentity {
  std::uint64_t mac;       // uplink MAC, 48 bits
  std::uint32_t ip_be;     // VTEP IP, network order
  std::uint16_t udp_port;  // VXLAN UDP port
  Vni echo_vni;            // management VNI of the VTEP echo (0: none)
};

// What the outer header checks decided for one frame.
enum class Outer : std::uint8_t {
  kVxlan,     // VXLAN for us: `vni` and `peer_key` set
  kSlowPath,  // ARP for our VTEP IP: the control thread's
  kEcho,      // the management VNI (VTEP echo, vtep_echo.h): the control thread's
  kDrop,      // reason in `why`
};

// Per frame, in order, each failure a drop reason (see
// docs/dataplane-pipeline.md, "From the uplink"). No table access.
[[gnu::always_inline]] inline Outer check_outer(const rte_mbuf* m, const OuterIdentity& us, Counter& why, Vni& vni,
                                                std::uint64_t& peer_key) {
  const std::uint32_t len = rte_pktmbuf_data_len(m);
  const std::uint8_t* f = rte_pktmbuf_mtod(m, const std::uint8_t*);
  auto fail = [&](Counter c) {
    why = c;
    return Outer::kDrop;
  };
  if (len < kEthSize) return fail(Counter::truncated);
  const std::uint16_t type = load_be16(f + 12);
  if (type == kEtherArp) {
    if (len < kEthSize + kArpSize) return fail(Counter::truncated);
    if (load_u32(f + kEthSize + 24) != us.ip_be) return fail(Counter::arp_not_for_us);
    return Outer::kSlowPath;
  }
  if (type != kEtherIpv4) return fail(Counter::not_vxlan);
  const std::uint64_t dst_mac = load_mac(f);
  if (dst_mac != us.mac && !is_group_mac(dst_mac)) return fail(Counter::not_for_us);
  if (len < kEthSize + 20) return fail(Counter::truncated);
  const std::uint8_t* ip = f + kEthSize;
  const std::uint32_t ihl = (ip[0] & 0x0fu) * 4;
  if ((ip[0] >> 4) != 4 || ihl < 20) return fail(Counter::bad_ip_header);
  const std::uint32_t total = load_be16(ip + 2);
  if (len < kEthSize + ihl) return fail(Counter::truncated);
  if (total < ihl) return fail(Counter::bad_ip_header);
  if (kEthSize + total > rte_pktmbuf_pkt_len(m)) return fail(Counter::truncated);
  if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) != RTE_MBUF_F_RX_IP_CKSUM_GOOD && !ipv4_checksum_ok(ip, ihl)) {
    return fail(Counter::bad_ip_checksum);
  }
  if (load_u32(ip + 16) != us.ip_be) return fail(Counter::not_for_us);
  if ((load_be16(ip + 6) & 0x3fff) != 0) return fail(Counter::ip_fragment);  // MF or fragment offset
  if (ip[9] != 17) return fail(Counter::not_vxlan);
  if (total < ihl + 8 || len < kEthSize + ihl + 8) return fail(Counter::truncated);
  const std::uint8_t* udp = ip + ihl;
  if (load_be16(udp + 2) != us.udp_port) return fail(Counter::not_vxlan);
  // The UDP checksum is deliberately not verified (FACTS.md: kernel peers
  // over veth leave it partial; RFC 7348 makes it optional).
  const std::uint32_t udp_len = load_be16(udp + 4);
  if (udp_len < 8 + 8 + kEthSize || udp_len > total - ihl || len < kEthSize + ihl + 16 + kEthSize) {
    return fail(Counter::truncated);
  }
  const std::uint8_t* vx = udp + 8;
  if ((vx[0] & 0x08) == 0) return fail(Counter::bad_vxlan_flags);
  vni = load_be32(vx + 4) >> 8;
  if (vni == us.echo_vni) return Outer::kEcho;  // before any table lookup: never a network's frame
  peer_key = (std::uint64_t{vni} << 32) | load_be32(ip + 12);
  return Outer::kVxlan;
}

}  // namespace

void Pipeline::Burst::uplink(rte_mbuf** pkts, std::uint16_t n) {
  count(Counter::rx_uplink, n);
  const PortId uplink_port = p.config_.uplink_port;
  count_port(uplink_port, PortCounter::rx_packets, n);
  std::uint64_t rx_bytes = 0;
  n = prepare(pkts, n, rx_bytes);
  count_port(uplink_port, PortCounter::rx_bytes, rx_bytes);

  const OuterIdentity us{p.config_.underlay.uplink_mac.to_u64(), rte_cpu_to_be_32(p.config_.underlay.vtep_ip.value),
                         p.config_.underlay.udp_port, p.config_.echo_vni};
  UplinkBurst u;
  rte_mbuf* slow[kBurstSize];
  std::uint32_t n_slow = 0;

  for (std::uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    Counter why = Counter::truncated;
    Vni vni = 0;
    std::uint64_t peer_key = 0;
    switch (check_outer(m, us, why, vni, peer_key)) {
      case Outer::kDrop:
        u.next[i] = kNextDrop;
        u.reason[i] = static_cast<std::uint16_t>(why);
        break;
      case Outer::kEcho:
        count(Counter::vtep_echo);
        [[fallthrough]];
      case Outer::kSlowPath:
        slow[n_slow++] = m;
        u.next[i] = kNextDone;
        break;
      case Outer::kVxlan:
        u.vnis[i] = vni;
        u.keys[u.n_keys] = peer_key;
        u.key_of[i] = static_cast<std::uint8_t>(u.n_keys++);
        u.next[i] = kNextRemote;
        break;
    }
  }

  if (n_slow != 0) to_slow_path(slow, n_slow);

  // Peer lookup: (VNI, outer source IP) -> network slot.
  if (u.n_keys != 0) lookup_bulk(t.peer_hash(), u.keys, u.key_ptrs, u.n_keys, &u.hits, u.data);
  decap(pkts, n, u);
  flush_all();
}

}  // namespace ferry::dataplane
