#include "dataplane/app/vnet_hdr.h"

#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstring>

namespace ferry::dataplane::app {
namespace {

constexpr std::uint8_t kTcp = 6;
constexpr std::uint8_t kUdp = 17;
constexpr std::uint16_t kTcpCsumOffset = 16;
constexpr std::uint16_t kUdpCsumOffset = 6;
constexpr std::uint32_t kTcpMinHeader = 20;
constexpr std::uint32_t kUdpHeader = 8;
constexpr std::uint64_t kTxL4Flags = RTE_MBUF_F_TX_L4_MASK;
constexpr std::uint64_t kTxSegFlags = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_UDP_SEG;

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }

std::uint64_t sum_bytes(const std::uint8_t* p, std::size_t n) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i + 1 < n; i += 2) {
    std::uint16_t word;
    std::memcpy(&word, p + i, 2);
    sum += word;
  }
  return sum;
}

std::uint16_t fold(std::uint64_t sum) {
  while ((sum >> 16) != 0) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<std::uint16_t>(sum);
}

// A number in network order as it sums in memory order.
std::uint64_t be_value(std::uint32_t value) {
  const std::uint32_t be = rte_cpu_to_be_32(value);
  return (be & 0xffff) + (be >> 16);
}

}  // namespace

std::uint16_t pseudo_header_sum(const std::uint8_t* ip, bool ipv6, std::uint8_t proto, std::uint32_t l4_size) {
  const std::uint64_t addresses = ipv6 ? sum_bytes(ip + 8, 32) : sum_bytes(ip + 12, 8);
  return fold(addresses + be_value(proto) + be_value(l4_size));
}

bool parse_frame_layout(const std::uint8_t* frame, std::uint32_t size, std::uint32_t frame_size, FrameLayout& out) {
  out = FrameLayout{};
  if (size > frame_size || size < 14) return false;
  std::uint32_t off = 14;
  std::uint16_t type = be16(frame + 12);
  for (int tags = 0; tags < 2 && (type == 0x8100 || type == 0x88a8); ++tags) {
    if (off + 4 > size) return false;
    type = be16(frame + off + 2);
    off += 4;
  }
  out.l3 = static_cast<std::uint16_t>(off);
  std::uint8_t proto = 0;
  if (type == 0x0800) {
    if (off + 20 > size || (frame[off] >> 4) != 4) return false;
    const std::uint32_t ihl = (frame[off] & 0xfu) * 4;
    const std::uint32_t total = be16(frame + off + 2);
    if (ihl < 20 || off + ihl > size || total < ihl || off + total > frame_size) return false;
    if ((be16(frame + off + 6) & 0x3fff) != 0) return false;  // a fragment: no L4 header of its own
    proto = frame[off + 9];
    out.ip_end = off + total;
    off += ihl;
  } else if (type == 0x86dd) {
    if (off + 40 > size || (frame[off] >> 4) != 6) return false;
    const std::uint32_t payload = be16(frame + off + 4);
    if (payload == 0 || off + 40 + payload > frame_size) return false;  // no jumbograms
    out.ipv6 = true;
    out.ip_end = off + 40 + payload;
    proto = frame[off + 6];
    off += 40;
    // Hop-by-hop, routing and destination options may come before L4.
    for (int headers = 0; headers < 8 && (proto == 0 || proto == 43 || proto == 60); ++headers) {
      if (off + 8 > size) return false;
      out.ipv6_routing = out.ipv6_routing || proto == 43;
      proto = frame[off];
      off += (frame[off + 1] + 1U) * 8;
    }
    if (off > size) return false;
  } else {
    return false;
  }
  out.proto = proto;
  out.l4 = static_cast<std::uint16_t>(off);
  if (proto == kTcp) {
    if (off + kTcpMinHeader > size) return false;
    out.l4_len = static_cast<std::uint16_t>((frame[off + 12] >> 4) * 4);
    if (out.l4_len < kTcpMinHeader || off + out.l4_len > size) return false;
  } else if (proto == kUdp) {
    if (off + kUdpHeader > size) return false;
    out.l4_len = kUdpHeader;
  } else {
    return false;
  }
  return out.l4 + out.l4_len <= out.ip_end;
}

VnetDrop vnet_hdr_to_mbuf(const VnetHdr& hdr, rte_mbuf* m) {
  const std::uint8_t gso = hdr.gso_type & static_cast<std::uint8_t>(~kVnetGsoEcn);
  if (hdr.gso_type != kVnetGsoNone) {
    if (gso != kVnetGsoTcpV4 && gso != kVnetGsoTcpV6 && gso != kVnetGsoUdpL4) return VnetDrop::vnet_bad_gso_type;
    if (gso == kVnetGsoUdpL4 && (hdr.gso_type & kVnetGsoEcn) != 0) return VnetDrop::vnet_bad_gso_type;
    if (hdr.gso_size == 0) return VnetDrop::vnet_bad_gso_size;
  }
  const bool needs_csum = (hdr.flags & kVnetNeedsCsum) != 0;
  if (!needs_csum && hdr.gso_type == kVnetGsoNone) {
    if ((hdr.flags & kVnetDataValid) != 0) {
      m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
    }
    return VnetDrop::kNone;
  }
  FrameLayout f;
  if (!parse_frame_layout(rte_pktmbuf_mtod(m, const std::uint8_t*), rte_pktmbuf_data_len(m), rte_pktmbuf_pkt_len(m),
                          f)) {
    return VnetDrop::vnet_bad_headers;
  }
  const bool tcp = f.proto == kTcp;
  if (needs_csum) {
    if (hdr.csum_start != f.l4) return VnetDrop::vnet_bad_csum_start;
    if (hdr.csum_offset != (tcp ? kTcpCsumOffset : kUdpCsumOffset)) return VnetDrop::vnet_bad_csum_offset;
  }
  bool super_frame = false;
  if (gso != kVnetGsoNone) {
    const bool matches = gso == kVnetGsoUdpL4 ? !tcp && needs_csum : tcp && f.ipv6 == (gso == kVnetGsoTcpV6);
    if (!matches) return VnetDrop::vnet_gso_mismatch;
    const std::uint32_t min_l4 = tcp ? kTcpMinHeader : kUdpHeader;
    if (gso == kVnetGsoUdpL4 && f.ip_end - f.l4 - kUdpHeader > std::uint32_t{hdr.gso_size} * kUdpMaxSegments) {
      return VnetDrop::vnet_bad_gso_size;
    }
    if (!needs_csum) {
      // The kernel's tcp_gso_segment makes the checksum partial itself.
      auto* ip = rte_pktmbuf_mtod_offset(m, std::uint8_t*, f.l3);
      const std::uint16_t sum = pseudo_header_sum(ip, f.ipv6, f.proto, f.ip_end - f.l4);
      std::memcpy(rte_pktmbuf_mtod_offset(m, std::uint8_t*, f.l4 + kTcpCsumOffset), &sum, 2);
    }
    // What does not exceed one segment is not a super-frame (virtio_net_hdr_to_skb).
    super_frame = rte_pktmbuf_pkt_len(m) - (f.l4 + min_l4) > hdr.gso_size;
  }
  m->l2_len = f.l3;
  m->l3_len = f.l4 - f.l3;
  m->l4_len = f.l4_len;
  m->ol_flags |=
      (f.ipv6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4) | (tcp ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM);
  if (super_frame) {
    m->ol_flags |= tcp ? RTE_MBUF_F_TX_TCP_SEG : RTE_MBUF_F_TX_UDP_SEG;
    m->tso_segsz = hdr.gso_size;
  }
  return VnetDrop::kNone;
}

VnetDrop mbuf_to_vnet_hdr(rte_mbuf* m, VnetHdr& hdr) {
  hdr = VnetHdr{};
  const std::uint64_t l4_flags = m->ol_flags & kTxL4Flags;
  const std::uint64_t seg_flags = m->ol_flags & kTxSegFlags;
  if (l4_flags == 0 && seg_flags == 0) {
    return VnetDrop::kNone;  // a complete checksum: nothing to ask (DATA_VALID is not honoured on send)
  }
  FrameLayout f;
  if (!parse_frame_layout(rte_pktmbuf_mtod(m, const std::uint8_t*), rte_pktmbuf_data_len(m), rte_pktmbuf_pkt_len(m),
                          f)) {
    return VnetDrop::vnet_tx_bad_offload;
  }
  const bool tcp = f.proto == kTcp;
  const bool wants_tcp = l4_flags == RTE_MBUF_F_TX_TCP_CKSUM || seg_flags == RTE_MBUF_F_TX_TCP_SEG;
  const bool wants_udp = l4_flags == RTE_MBUF_F_TX_UDP_CKSUM || seg_flags == RTE_MBUF_F_TX_UDP_SEG;
  // The flags must name the frame's own protocol, and only one.
  if (wants_tcp == wants_udp || wants_tcp != tcp) return VnetDrop::vnet_tx_bad_offload;
  if (seg_flags != 0) {
    if (m->tso_segsz == 0) return VnetDrop::vnet_tx_bad_offload;
    // The IP length fields must cover the whole frame (what a producer that
    // merged segments could overflow).
    const std::uint32_t ip_size = rte_pktmbuf_pkt_len(m) - f.l3;
    if (f.ip_end != rte_pktmbuf_pkt_len(m) || (!f.ipv6 && ip_size > 65535) || (f.ipv6 && ip_size - 40 > 65535)) {
      return VnetDrop::vnet_tx_too_big;
    }
    const std::uint32_t payload = f.ip_end - f.l4 - f.l4_len;
    if (!tcp && payload > static_cast<std::uint32_t>(m->tso_segsz) * kUdpMaxSegments) return VnetDrop::vnet_tx_too_big;
    if (payload > static_cast<std::uint32_t>(m->tso_segsz)) {
      if (tcp) {
        const bool cwr = (*rte_pktmbuf_mtod_offset(m, const std::uint8_t*, f.l4 + 13) & 0x80) != 0;
        hdr.gso_type = static_cast<std::uint8_t>((f.ipv6 ? kVnetGsoTcpV6 : kVnetGsoTcpV4) | (cwr ? kVnetGsoEcn : 0));
      } else {
        hdr.gso_type = kVnetGsoUdpL4;
      }
      hdr.gso_size = static_cast<std::uint16_t>(m->tso_segsz);
      hdr.hdr_len = static_cast<std::uint16_t>(f.l4 + f.l4_len);
    }
  }
  hdr.flags = kVnetNeedsCsum;
  hdr.csum_start = f.l4;
  hdr.csum_offset = tcp ? kTcpCsumOffset : kUdpCsumOffset;
  if (!f.ipv6_routing) {
    auto* ip = rte_pktmbuf_mtod_offset(m, std::uint8_t*, f.l3);
    const std::uint16_t sum = pseudo_header_sum(ip, f.ipv6, f.proto, f.ip_end - f.l4);
    std::memcpy(rte_pktmbuf_mtod_offset(m, std::uint8_t*, f.l4 + hdr.csum_offset), &sum, 2);
  }
  return VnetDrop::kNone;
}

}  // namespace ferry::dataplane::app
