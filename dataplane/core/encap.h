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

// Prepends the VTEP's outer headers and patches the per-packet fields.
// Returns false (m dropped and counted) when the frame cannot be encapsulated.
inline bool Pipeline::Burst::encap(rte_mbuf* m, const VtepRecord* v, Vni vni, std::uint16_t sport) {
  using namespace wire;
  if (v == nullptr || !v->resolved) {
    drop(m, Counter::vtep_unresolved);
    return false;
  }
  const std::uint32_t inner = rte_pktmbuf_pkt_len(m);
  if (inner + kVxlanOverhead > p.config_.underlay_mtu) {
    drop(m, Counter::mtu_exceeded);
    return false;
  }
  auto* h = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_prepend(m, kEncapHeaderSize));
  if (h == nullptr) {
    drop(m, Counter::no_headroom);
    return false;
  }
  std::memcpy(h, v->header, kEncapHeaderSize);
  std::uint8_t* ip = h + kEthSize;
  const std::uint16_t total = static_cast<std::uint16_t>(inner + kVxlanOverhead);
  store_be16(ip + 2, total);
  std::uint32_t sum = v->ip_sum_base + total;
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
  store_be16(udp + 4, static_cast<std::uint16_t>(inner + 16));
  const std::uint32_t vni_word = rte_cpu_to_be_32(vni << 8);
  std::memcpy(udp + 12, &vni_word, 4);
  m->l2_len = kEthSize;
  m->l3_len = 20;
  return true;
}

}  // namespace ferry::dataplane
