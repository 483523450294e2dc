#include "dataplane/core/offload.h"

#include <rte_mbuf.h>

#include <cstring>

#include "dataplane/core/checksum.h"

namespace ferry::dataplane {

namespace {

constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kProtoUdp = 17;
// IPv6 extension headers GSO steps over, as the kernel's
// ipv6_gso_pull_exthdrs does: hop-by-hop, routing, destination options.
constexpr std::uint8_t kHopByHop = 0;
constexpr std::uint8_t kRouting = 43;
constexpr std::uint8_t kDestOpts = 60;

constexpr std::uint64_t kSegFlags = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_UDP_SEG;
constexpr std::uint64_t kCsumFlags =
    RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_OUTER_IP_CKSUM | RTE_MBUF_F_TX_OUTER_UDP_CKSUM;

bool writable(const rte_mbuf* m) {
  if (rte_mbuf_refcnt_read(m) != 1) return false;
  if (RTE_MBUF_CLONED(m)) return false;
  if (RTE_MBUF_HAS_EXTBUF(m)) return rte_mbuf_ext_refcnt_read(m->shinfo) == 1;
  return true;
}

// The outer IPv4/IPv6 + UDP of a VXLAN frame. Lengths are checked when the
// frame is small enough for them to hold its size (a super-frame's outer
// lengths cannot, and are rewritten per segment anyway).
std::optional<Counter> check_outer(const std::uint8_t* f, std::uint32_t pkt_len, const OffloadLayout& l) {
  const std::uint8_t* ip = f + l.outer_l3;
  const std::uint32_t ip_bytes = pkt_len - l.outer_l3;
  const std::uint32_t udp_bytes = pkt_len - l.outer_l4;
  if (l.outer_ipv6) {
    if ((ip[0] >> 4) != 6 || l.outer_l4 - l.outer_l3 != 40 || ip[6] != kProtoUdp) return Counter::gso_bad_header;
    if (ip_bytes - 40 <= 0xffff && load_be16(ip + 4) != ip_bytes - 40) return Counter::gso_bad_header;
  } else {
    if ((ip[0] >> 4) != 4 || (ip[0] & 0x0f) * 4u != static_cast<unsigned>(l.outer_l4 - l.outer_l3) ||
        (ip[0] & 0x0f) < 5 || ip[9] != kProtoUdp) {
      return Counter::gso_bad_header;
    }
    if (ip_bytes <= 0xffff && load_be16(ip + 2) != ip_bytes) return Counter::gso_bad_header;
  }
  if (udp_bytes <= 0xffff && load_be16(f + l.outer_l4 + 4) != udp_bytes) return Counter::gso_bad_header;
  return std::nullopt;
}

// The (inner) IP header at l.l3 of l3_len bytes; sets l.l4_proto to what it
// carries. `l4_offload`: segmentation or an L4 checksum is asked, which a
// fragment cannot have.
std::optional<Counter> check_ip(const std::uint8_t* f, std::uint32_t pkt_len, std::uint32_t l3_len, bool l4_offload,
                                OffloadLayout& l) {
  const std::uint8_t* ip = f + l.l3;
  const std::uint32_t ip_bytes = pkt_len - l.l3;
  if (!l.ipv6) {
    if ((ip[0] >> 4) != 4 || (ip[0] & 0x0f) < 5 || (ip[0] & 0x0f) * 4u != l3_len) return Counter::gso_bad_header;
    if (ip_bytes > 0xffff) return Counter::gso_too_big;
    if (load_be16(ip + 2) != ip_bytes) return Counter::gso_bad_header;
    // A fragment cannot be segmented (nor its L4 checksum made from one piece).
    if ((load_be16(ip + 6) & 0x3fff) != 0 && l4_offload) return Counter::gso_bad_header;
    l.l4_proto = ip[9];
    return std::nullopt;
  }
  if ((ip[0] >> 4) != 6 || l3_len < 40) return Counter::gso_bad_header;
  if (ip_bytes - 40 > 0xffff) return Counter::gso_too_big;
  if (load_be16(ip + 4) != ip_bytes - 40) return Counter::gso_bad_header;
  std::uint8_t next = ip[6];
  std::uint32_t off = 40;
  while (next == kHopByHop || next == kRouting || next == kDestOpts) {
    if (off + 8 > l3_len) return Counter::gso_bad_header;
    next = ip[off];
    off += (static_cast<std::uint32_t>(ip[off + 1]) + 1) * 8;
  }
  if (off != l3_len) return off > l3_len ? Counter::gso_bad_header : Counter::gso_unsupported;
  l.l4_proto = next;
  return std::nullopt;
}

}  // namespace

std::uint64_t offload_request_flags() { return kSegFlags | kCsumFlags; }

bool has_offload_request(const rte_mbuf* m) { return (m->ol_flags & (kSegFlags | kCsumFlags)) != 0; }

std::uint32_t claimed_header_size(const rte_mbuf* m) {
  std::uint32_t size = static_cast<std::uint32_t>(m->l2_len) + m->l3_len + m->l4_len;
  if ((m->ol_flags & RTE_MBUF_F_TX_TUNNEL_MASK) != 0) size += m->outer_l2_len + m->outer_l3_len;
  return size;
}

std::optional<Counter> parse_offload_layout(const rte_mbuf* m, OffloadLayout& l) {
  l = OffloadLayout{};
  const std::uint64_t flags = m->ol_flags;
  const bool tso = (flags & RTE_MBUF_F_TX_TCP_SEG) != 0;
  const bool uso = (flags & RTE_MBUF_F_TX_UDP_SEG) != 0;
  const std::uint64_t l4_flag = flags & RTE_MBUF_F_TX_L4_MASK;
  if (tso && uso) return Counter::gso_bad_header;
  if (l4_flag == RTE_MBUF_F_TX_SCTP_CKSUM) return Counter::gso_unsupported;
  if ((tso && l4_flag == RTE_MBUF_F_TX_UDP_CKSUM) || (uso && l4_flag == RTE_MBUF_F_TX_TCP_CKSUM)) {
    return Counter::gso_bad_header;
  }
  std::uint8_t want = 0;
  if (tso || l4_flag == RTE_MBUF_F_TX_TCP_CKSUM) want = kProtoTcp;
  if (uso || l4_flag == RTE_MBUF_F_TX_UDP_CKSUM) want = kProtoUdp;
  l.partial_csum = l4_flag != 0;

  const bool v4 = (flags & RTE_MBUF_F_TX_IPV4) != 0;
  const bool v6 = (flags & RTE_MBUF_F_TX_IPV6) != 0;
  if (v4 == v6) return Counter::gso_bad_header;  // exactly one inner IP version
  if (v6 && (flags & RTE_MBUF_F_TX_IP_CKSUM) != 0) return Counter::gso_bad_header;
  l.ipv6 = v6;

  const std::uint64_t tunnel = flags & RTE_MBUF_F_TX_TUNNEL_MASK;
  const bool outer4 = (flags & RTE_MBUF_F_TX_OUTER_IPV4) != 0;
  const bool outer6 = (flags & RTE_MBUF_F_TX_OUTER_IPV6) != 0;
  std::uint32_t offset = 0;
  if (tunnel != 0) {
    if (tunnel != RTE_MBUF_F_TX_TUNNEL_VXLAN) return Counter::gso_unsupported;
    if (outer4 == outer6) return Counter::gso_bad_header;
    if (outer6 && (flags & RTE_MBUF_F_TX_OUTER_IP_CKSUM) != 0) return Counter::gso_bad_header;
    // l2_len: outer UDP 8 + VXLAN 8 + inner Ethernet >= 14.
    if (m->outer_l2_len < 14 || m->outer_l3_len < 20 || m->l2_len < 30) return Counter::gso_bad_header;
    l.tunnel = true;
    l.outer_ipv6 = outer6;
    l.outer_l3 = m->outer_l2_len;
    l.outer_l4 = static_cast<std::uint16_t>(m->outer_l2_len + m->outer_l3_len);
    offset = l.outer_l4;
  } else if (outer4 || outer6 || (flags & (RTE_MBUF_F_TX_OUTER_IP_CKSUM | RTE_MBUF_F_TX_OUTER_UDP_CKSUM)) != 0) {
    return Counter::gso_bad_header;
  }
  l.l3 = static_cast<std::uint16_t>(offset + m->l2_len);
  if (m->l3_len < (l.ipv6 ? 40 : 20)) return Counter::gso_bad_header;
  l.l4 = static_cast<std::uint16_t>(l.l3 + m->l3_len);

  const std::uint32_t pkt_len = m->pkt_len;
  const std::uint8_t* f = rte_pktmbuf_mtod(m, const std::uint8_t*);
  // The fixed part of the L4 header must be there to read doff.
  const std::uint32_t l4_min = want == kProtoTcp ? 20 : want == kProtoUdp ? 8 : 0;
  if (static_cast<std::uint32_t>(l.l4) + l4_min > pkt_len) return Counter::gso_bad_header;
  if (static_cast<std::uint32_t>(l.l4) + l4_min > m->data_len) {
    l.headers = static_cast<std::uint16_t>(l.l4 + l4_min);  // what prepare_offload_layout gathers
    return Counter::gso_headers_split;
  }
  if (l.tunnel) {
    if (auto bad = check_outer(f, pkt_len, l)) return bad;
  }
  if (auto bad = check_ip(f, pkt_len, m->l3_len, want != 0, l)) return bad;
  if (want == 0) {
    // Only an IPv4 header checksum (or nothing) is asked: no L4 to check.
    l.l4_proto = 0;
    l.headers = l.l4;
    l.payload = pkt_len - l.l4;
    return std::nullopt;
  }
  if (l.l4_proto != want) return Counter::gso_bad_header;
  std::uint32_t l4_size = 8;
  if (want == kProtoTcp) {
    l4_size = (f[l.l4 + 12] >> 4) * 4u;
    if (l4_size < 20) return Counter::gso_bad_header;
    // TSO needs l4_len; a checksum request may leave it 0.
    if ((tso || m->l4_len != 0) && m->l4_len != l4_size) return Counter::gso_bad_header;
  } else {
    if (m->l4_len != 0 && m->l4_len != 8) return Counter::gso_bad_header;
    if (load_be16(f + l.l4 + 4) != pkt_len - l.l4) return Counter::gso_bad_header;
  }
  if (l.l4 + l4_size > pkt_len) return Counter::gso_bad_header;
  l.headers = static_cast<std::uint16_t>(l.l4 + l4_size);
  if (l.headers > m->data_len) return Counter::gso_headers_split;
  l.payload = pkt_len - l.headers;
  return std::nullopt;
}

std::optional<Counter> prepare_offload_layout(rte_mbuf* m, OffloadLayout& l) {
  std::uint32_t size = claimed_header_size(m);
  if (m->l4_len == 0) size += 20;  // at least what is read to find the L4 header's size
  if (size > m->pkt_len) size = m->pkt_len;
  if (!pull_headers(m, size)) return Counter::gso_headers_split;
  auto bad = parse_offload_layout(m, l);
  if (bad == Counter::gso_headers_split) {
    if (!pull_headers(m, l.headers)) return bad;
    bad = parse_offload_layout(m, l);
  }
  return bad;
}

bool pull_headers(rte_mbuf* m, std::uint32_t size) {
  if (m->data_len >= size) return true;
  if (size > m->pkt_len || !writable(m)) return false;
  const std::uint32_t need = size - m->data_len;
  if (rte_pktmbuf_tailroom(m) < need) {
    // Room at the front: move the data down (headroom is what encapsulation
    // later needs, so only what is missing is taken from it).
    if (static_cast<std::uint32_t>(rte_pktmbuf_headroom(m)) + rte_pktmbuf_tailroom(m) < need) return false;
    const std::uint16_t shift = static_cast<std::uint16_t>(need - rte_pktmbuf_tailroom(m));
    std::uint8_t* data = rte_pktmbuf_mtod(m, std::uint8_t*);
    std::memmove(data - shift, data, m->data_len);
    m->data_off = static_cast<std::uint16_t>(m->data_off - shift);
  }
  std::uint32_t missing = need;
  while (missing > 0) {
    rte_mbuf* next = m->next;
    const std::uint32_t take = next->data_len < missing ? next->data_len : missing;
    std::memcpy(rte_pktmbuf_mtod_offset(m, std::uint8_t*, m->data_len), rte_pktmbuf_mtod(next, const std::uint8_t*),
                take);
    m->data_len = static_cast<std::uint16_t>(m->data_len + take);
    next->data_off = static_cast<std::uint16_t>(next->data_off + take);
    next->data_len = static_cast<std::uint16_t>(next->data_len - take);
    next->pkt_len -= take;  // only the head's pkt_len matters; kept tidy
    missing -= take;
    if (next->data_len == 0) {
      m->next = next->next;
      m->nb_segs = static_cast<std::uint16_t>(m->nb_segs - 1);
      next->next = nullptr;
      next->nb_segs = 1;
      rte_pktmbuf_free_seg(next);
    }
  }
  return true;
}

std::uint32_t complete_checksums(rte_mbuf* m, const OffloadLayout& l) {
  std::uint8_t* f = rte_pktmbuf_mtod(m, std::uint8_t*);
  const std::uint64_t flags = m->ol_flags;
  std::uint32_t summed = 0;
  if (l.l4_proto != 0) {
    const bool udp = l.l4_proto == kProtoUdp;
    if (!l.partial_csum) {
      const std::uint32_t l4_size = m->pkt_len - l.l4;
      const std::uint8_t* ip = f + l.l3;
      store16(f + l.l4 + (udp ? 6 : 16),
              l.ipv6 ? pseudo_header_ipv6(ip, l.l4_proto, l4_size) : pseudo_header_ipv4(ip, l.l4_proto, l4_size));
    }
    summed += csum_complete(m, l.l4, udp ? 6 : 16, udp);
  }
  if ((flags & RTE_MBUF_F_TX_IP_CKSUM) != 0) store16(f + l.l3 + 10, ipv4_header_checksum(f + l.l3));
  if (l.tunnel) {
    if ((flags & RTE_MBUF_F_TX_OUTER_IP_CKSUM) != 0) {
      store16(f + l.outer_l3 + 10, ipv4_header_checksum(f + l.outer_l3));
    }
    if ((flags & RTE_MBUF_F_TX_OUTER_UDP_CKSUM) != 0) {
      // Made from the outer addresses: DPDK drivers differ in what they expect
      // in the field, so it is not trusted.
      const std::uint32_t udp_size = m->pkt_len - l.outer_l4;
      const std::uint8_t* oip = f + l.outer_l3;
      store16(f + l.outer_l4 + 6, l.outer_ipv6 ? pseudo_header_ipv6(oip, kProtoUdp, udp_size)
                                               : pseudo_header_ipv4(oip, kProtoUdp, udp_size));
      summed += csum_complete(m, l.outer_l4, 6, true);
    }
  }
  m->ol_flags &= ~(kSegFlags | kCsumFlags);
  return summed;
}

}  // namespace ferry::dataplane
