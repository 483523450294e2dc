// PRIVATE to dataplane/core: VXLAN encapsulation, the step every frame to a
// remote VTEP takes (from endpoint switching and from flooding). Inline: it
// runs once per frame on the encapsulation path. The outer headers are
// prebuilt per VTEP at control time (VtepRecord::header); this copies them in
// front of the frame and patches the per-frame fields.
#pragma once

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>

#include "dataplane/core/burst.h"
#include "dataplane/core/packet_util.h"

namespace ferry::dataplane {

// RFC 7348 §5: the outer UDP source port comes from a hash of the inner
// frame's flow (L3/L4 5-tuple when there is one, else the L2 header).
// encap.cc.
std::uint32_t inner_flow_hash(const std::uint8_t* f, std::uint32_t len);

// The outer UDP source port for a frame: its flow hash mapped into
// [src_port_min, src_port_max] by a multiply-shift.
inline std::uint16_t Pipeline::Burst::src_port(const std::uint8_t* frame, std::uint32_t len) const {
  const std::uint32_t h = inner_flow_hash(frame, len);
  return static_cast<std::uint16_t>(p.config_.src_port_min +
                                    ((static_cast<std::uint64_t>(h) * p.src_port_span_) >> 32));
}

// ECN codepoints (RFC 3168) in the low two bits of the IPv4 TOS / IPv6
// traffic class.
inline constexpr std::uint8_t kEcnMask = 3;
inline constexpr std::uint8_t kEcnNotEct = 0;
inline constexpr std::uint8_t kEcnEct1 = 1;
inline constexpr std::uint8_t kEcnEct0 = 2;
inline constexpr std::uint8_t kEcnCe = 3;

// The ECN field of an Ethernet frame's IPv4 or IPv6 header (Not-ECT for
// anything else). `len`: bytes readable at f.
[[gnu::always_inline]] inline std::uint8_t inner_ecn(const std::uint8_t* f, std::uint32_t len) {
  using namespace wire;
  if (len < kEthSize + 2) return kEcnNotEct;
  const std::uint16_t type = load_be16(f + 12);
  if (type == kEtherIpv4) return f[kEthSize + 1] & kEcnMask;
  if (type == kEtherIpv6) return (f[kEthSize + 1] >> 4) & kEcnMask;
  return kEcnNotEct;
}

// RFC 6040 encapsulation, as Linux's INET_ECN_encapsulate (the kernel's
// vxlan): the outer header copies the inner ECN field, but CE becomes ECT(0)
// (a congestion mark is not propagated to the outer header).
[[nodiscard]] constexpr std::uint8_t ecn_encapsulate(std::uint8_t inner) {
  inner &= kEcnMask;
  return inner == kEcnCe ? kEcnEct0 : inner;
}

// True when m fits the underlay once encapsulated: its whole frame, or for a
// super-frame (TX_TCP_SEG / TX_UDP_SEG) each segment it will be cut into
// (its headers + tso_segsz).
inline bool Pipeline::Burst::fits_underlay(const rte_mbuf* m) const {
  std::uint32_t on_wire = rte_pktmbuf_pkt_len(m);  // the largest inner frame one outer datagram carries
  if ((m->ol_flags & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_UDP_SEG)) != 0) [[unlikely]] {
    const auto seg = static_cast<std::uint32_t>(m->l2_len + m->l3_len + m->l4_len + m->tso_segsz);
    if (seg < on_wire) on_wire = seg;
  }
  return on_wire + wire::kVxlanOverhead <= p.config_.underlay_mtu;
}

// Prepends the VTEP's outer headers and patches the per-packet fields.
// Returns false (m dropped and counted) when the frame cannot be encapsulated.
// The caller has checked fits_underlay() (it answers or drops what does not
// fit, each path in its own way), so the MTU is not checked again here.
// A super-frame's (TX_TCP_SEG / TX_UDP_SEG, up to 64 KB in a chain) outer
// headers go into its first mbuf's headroom, and it carries DPDK's tunnel metadata
// (docs/dataplane-offload.md) so a port that cannot take it whole segments
// it as a VXLAN frame. So does a frame with a partial checksum.
inline bool Pipeline::Burst::encap(rte_mbuf* m, const VtepRecord* v, Vni vni, std::uint16_t sport) {
  using namespace wire;
  if (v == nullptr || !v->resolved) {
    drop(m, Counter::vtep_unresolved);
    return false;
  }
  const std::uint32_t inner = rte_pktmbuf_pkt_len(m);
  const std::uint64_t flags = m->ol_flags;
  auto* h = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_prepend(m, kEncapHeaderSize));
  if (h == nullptr) {
    drop(m, Counter::no_headroom);
    return false;
  }
  std::memcpy(h, v->header, kEncapHeaderSize);
  std::uint8_t* ip = h + kEthSize;
  const std::uint8_t ecn = ecn_encapsulate(inner_ecn(h + kEncapHeaderSize, rte_pktmbuf_data_len(m) - kEncapHeaderSize));
  ip[1] = static_cast<std::uint8_t>(ip[1] | ecn);
  // A super-frame's outer lengths may not fit 16 bits: 0 then, as Linux
  // writes for BIG TCP (segmentation rewrites them per segment anyway).
  const std::uint32_t total = inner + kVxlanOverhead;
  const std::uint16_t total16 = total <= 0xffff ? static_cast<std::uint16_t>(total) : 0;
  store_be16(ip + 2, total16);
  std::uint32_t sum = v->ip_sum_base + total16 + ecn;
  if (!p.config_.underlay.dont_fragment) {
    // Fragmentable datagrams need distinct ids (RFC 6864); with DF set
    // (the default) the template's id 0 is fine.
    const std::uint16_t id = ctx.ip_id_++;
    store_be16(ip + 4, id);
    sum += id;
  }
  store_be16(ip + 10, static_cast<std::uint16_t>(~fold_checksum(sum)));
  std::uint8_t* udp = ip + 20;
  store_be16(udp, sport);
  store_be16(udp + 4, total - 20 <= 0xffff ? static_cast<std::uint16_t>(total - 20) : 0);
  const std::uint32_t vni_word = rte_cpu_to_be_32(vni << 8);
  std::memcpy(udp + 12, &vni_word, 4);
  if ((flags & kTxRequestFlags) != 0) [[unlikely]] {
    // DPDK's tunnel convention: outer lengths apart, l2_len = outer UDP +
    // VXLAN + inner Ethernet; the inner flags and lengths stay.
    m->ol_flags = flags | RTE_MBUF_F_TX_TUNNEL_VXLAN | RTE_MBUF_F_TX_OUTER_IPV4;
    m->outer_l2_len = kEthSize;
    m->outer_l3_len = 20;
    m->l2_len = static_cast<std::uint8_t>(m->l2_len + 16);
    return true;
  }
  m->l2_len = kEthSize;
  m->l3_len = 20;
  return true;
}

}  // namespace ferry::dataplane
