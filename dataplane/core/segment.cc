#include "dataplane/core/segment.h"

#include <rte_mbuf.h>

#include <cstring>

#include "dataplane/core/checksum.h"
#include "dataplane/core/offload.h"

namespace ferry::dataplane {

namespace {

constexpr std::uint8_t kProtoUdp = 17;
constexpr std::uint8_t kTcpCwr = 0x80;
constexpr std::uint8_t kTcpPsh = 0x08;
constexpr std::uint8_t kTcpFin = 0x01;
// Header mbufs must hold at least this much: the largest header stack a
// frame without IPv6 extension headers or IP options can have.
constexpr std::uint32_t kMinHeaderRoom = 256;

// What the segments keep of the input's flags: the description of their
// headers and the requests segmentation does not fulfil (VLAN insertion).
constexpr std::uint64_t kKeepFlags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_OUTER_IPV4 |
                                     RTE_MBUF_F_TX_OUTER_IPV6 | RTE_MBUF_F_TX_TUNNEL_MASK | RTE_MBUF_F_TX_VLAN |
                                     RTE_MBUF_F_TX_QINQ;

bool writable(const rte_mbuf* m) {
  if (rte_mbuf_refcnt_read(m) != 1 || RTE_MBUF_CLONED(m)) return false;
  return !RTE_MBUF_HAS_EXTBUF(m) || rte_mbuf_ext_refcnt_read(m->shinfo) == 1;
}

using segment_detail::Template;

// The pseudo-header sum of the super-frame with its L4 length taken out, so
// that adding a segment's L4 length gives that segment's pseudo-header sum
// (the kernel's `delta` in tcp_gso_segment).
std::uint64_t l4_seed(const std::uint8_t* f, const OffloadLayout& l, std::uint32_t l4_total) {
  std::uint16_t pseudo;
  if (l.partial_csum) {
    pseudo = load16(f + l.l4 + (l.l4_proto == kProtoUdp ? 6 : 16));
  } else {
    pseudo = l.ipv6 ? pseudo_header_ipv6(f + l.l3, l.l4_proto, l4_total)
                    : pseudo_header_ipv4(f + l.l3, l.l4_proto, l4_total);
  }
  return csum_add(pseudo, ~csum_be32(l4_total) & 0xffffffffu);
}

// The per-frame fields of `t` (its layout set) from m's headers.
void fill_template(const rte_mbuf* m, bool super, Template& t) {
  const OffloadLayout& l = t.layout;
  const std::uint8_t* src = rte_pktmbuf_mtod(m, const std::uint8_t*);
  if (!l.ipv6) t.ip_id = load_be16(src + l.l3 + 4);
  if (l.tunnel && !l.outer_ipv6) t.outer_ip_id = load_be16(src + l.outer_l3 + 4);
  if (l.tunnel) {
    t.outer_udp_csum = l.outer_ipv6 || (m->ol_flags & RTE_MBUF_F_TX_OUTER_UDP_CKSUM) != 0;
    t.outer_udp_zero = super && !t.outer_udp_csum;
  }
  if (l.l4_proto != 0) {
    if (l.l4_proto != kProtoUdp) t.seq = load_be32(src + l.l4 + 4);
    t.l4_seed = l4_seed(src, l, m->pkt_len - l.l4);
  }
}

// Writes segment k's header fields (lengths, ids, sequence, flags,
// checksums) into `d`, a copy of the input's headers; `payload_sum` is the
// sum of its `len` payload bytes. Returns the bytes summed for checksums.
std::uint32_t patch_headers(std::uint8_t* d, const Template& t, std::uint16_t k, std::uint32_t len,
                            std::uint64_t payload_sum) {
  const OffloadLayout& l = t.layout;
  const std::uint32_t frame = l.headers + len;
  const std::uint32_t l4_size = frame - l.l4;
  std::uint32_t summed = 0;
  std::uint8_t* ip = d + l.l3;
  if (l.ipv6) {
    store_be16(ip + 4, static_cast<std::uint16_t>(frame - l.l3 - 40));
  } else {
    store_be16(ip + 2, static_cast<std::uint16_t>(frame - l.l3));
    store_be16(ip + 4, static_cast<std::uint16_t>(t.ip_id + k));
    store16(ip + 10, ipv4_header_checksum(ip));
  }
  if (l.l4_proto != 0) {
    std::uint8_t* l4 = d + l.l4;
    const bool udp = l.l4_proto == kProtoUdp;
    const std::uint32_t l4_header = l.headers - l.l4;
    if (udp) {
      store_be16(l4 + 4, static_cast<std::uint16_t>(l4_size));
    } else {
      store_be32(l4 + 4, t.seq + k * t.mss);
      if (k > 0) l4[13] &= static_cast<std::uint8_t>(~kTcpCwr);
      if (k + 1 < t.segments) l4[13] &= static_cast<std::uint8_t>(~(kTcpPsh | kTcpFin));
    }
    std::uint8_t* field = l4 + (udp ? 6 : 16);
    store16(field, csum_fold(csum_add(t.l4_seed, csum_be32(l4_size))));
    std::uint16_t c = static_cast<std::uint16_t>(~csum_fold(csum_add(csum_bytes_scalar(l4, l4_header), payload_sum)));
    if (udp && c == 0) c = 0xffff;
    store16(field, c);
    summed += l4_size;
  }
  if (l.tunnel) {
    std::uint8_t* oip = d + l.outer_l3;
    std::uint8_t* udp = d + l.outer_l4;
    if (l.outer_ipv6) {
      store_be16(oip + 4, static_cast<std::uint16_t>(frame - l.outer_l3 - 40));
    } else {
      store_be16(oip + 2, static_cast<std::uint16_t>(frame - l.outer_l3));
      if (t.outer_ip_id != 0) store_be16(oip + 4, static_cast<std::uint16_t>(t.outer_ip_id + k));
      store16(oip + 10, ipv4_header_checksum(oip));
    }
    const std::uint32_t udp_size = frame - l.outer_l4;
    store_be16(udp + 4, static_cast<std::uint16_t>(udp_size));
    if (t.outer_udp_zero) store16(udp + 6, 0);
    if (t.outer_udp_csum) {
      store16(udp + 6, 0);
      const std::uint32_t before_payload = l.headers - l.outer_l4;
      const std::uint16_t pseudo =
          l.outer_ipv6 ? pseudo_header_ipv6(oip, kProtoUdp, udp_size) : pseudo_header_ipv4(oip, kProtoUdp, udp_size);
      std::uint64_t sum = csum_add(pseudo, csum_bytes_scalar(udp, before_payload));
      sum = csum_add(sum, (before_payload & 1) != 0 ? csum_swap(payload_sum) : payload_sum);
      std::uint16_t c = static_cast<std::uint16_t>(~csum_fold(sum));
      store16(udp + 6, c == 0 ? 0xffff : c);
      summed += udp_size;
    }
  }
  return summed;
}

}  // namespace

Result<void> SegmentConfig::validate() const { return ok(); }

Segmenter::Segmenter(const SegmentConfig& config, rte_mempool* header_pool, rte_mempool* indirect_pool,
                     LcoreCounters* counters)
    : config_(config), header_pool_(header_pool), indirect_pool_(indirect_pool), counters_(counters) {}

Result<Segmenter> Segmenter::create(const SegmentConfig& config, rte_mempool* header_pool, rte_mempool* indirect_pool,
                                    LcoreCounters* counters) {
  if (auto r = config.validate(); !r) return r.error();
  if (header_pool == nullptr || indirect_pool == nullptr || counters == nullptr) {
    return make_error("segmenter needs a header pool, an indirect pool and counters");
  }
  const std::uint32_t room = rte_pktmbuf_data_room_size(header_pool);
  if (room < RTE_PKTMBUF_HEADROOM + kMinHeaderRoom) {
    return make_error("header pool '{}' has a data room of {} bytes; segments need at least {} (headroom {} + {})",
                      header_pool->name, room, RTE_PKTMBUF_HEADROOM + kMinHeaderRoom, RTE_PKTMBUF_HEADROOM,
                      kMinHeaderRoom);
  }
  return Segmenter(config, header_pool, indirect_pool, counters);
}

SegmentResult Segmenter::segment(rte_mbuf* m, rte_mbuf** out, std::uint16_t room) {
  if (room == 0) return {0, Counter::gso_bad_mss};
  if (!has_offload_request(m)) {
    out[0] = m;
    return {1, std::nullopt};
  }
  Template t;
  if (auto bad = prepare_offload_layout(m, t.layout)) return {0, bad};
  const OffloadLayout& l = t.layout;
  const bool super = (m->ol_flags & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_UDP_SEG)) != 0;
  if (!super && writable(m)) {  // checksums only, in a buffer of our own: finish them in place
    count(Counter::sw_csum_bytes, complete_checksums(m, l));
    out[0] = m;
    return {1, std::nullopt};
  }
  if (super && m->tso_segsz == 0) return {0, Counter::gso_bad_mss};
  t.mss = super ? m->tso_segsz : (l.payload > 0 ? l.payload : 1);
  const std::uint32_t n = l.payload == 0 ? 1 : (l.payload + t.mss - 1) / t.mss;
  if (n > room) return {0, Counter::gso_bad_mss};
  t.segments = static_cast<std::uint16_t>(n);
  const std::uint32_t header_room = rte_pktmbuf_data_room_size(header_pool_) - RTE_PKTMBUF_HEADROOM;
  if (l.headers > header_room) return {0, Counter::gso_unsupported};
  if (rte_pktmbuf_alloc_bulk(header_pool_, out, n) != 0) return {0, Counter::no_mbuf};

  const std::uint8_t* src = rte_pktmbuf_mtod(m, const std::uint8_t*);
  fill_template(m, super, t);

  Cursor cur{m, l.headers};
  std::uint64_t summed = 0;
  std::uint32_t left = l.payload;
  for (std::uint32_t k = 0; k < n; ++k) {
    rte_mbuf* h = out[k];
    const std::uint32_t len = left < t.mss ? left : t.mss;
    left -= len;
    std::uint8_t* d = rte_pktmbuf_mtod(h, std::uint8_t*);
    std::memcpy(d, src, l.headers);
    h->data_len = l.headers;
    h->pkt_len = l.headers + len;
    std::uint64_t payload_sum;
    if (len <= config_.copy_max && l.headers + len <= header_room) {
      copy_payload(cur, d + l.headers, len);
      h->data_len = static_cast<std::uint16_t>(l.headers + len);
      payload_sum = csum_bytes(d + l.headers, len);
    } else if (!attach_payload(cur, h, len, payload_sum)) {
      for (std::uint32_t j = 0; j < n; ++j) rte_pktmbuf_free(out[j]);
      return {0, Counter::no_mbuf};
    }
    summed += patch_headers(d, t, static_cast<std::uint16_t>(k), len, payload_sum);
    h->ol_flags = m->ol_flags & kKeepFlags;
    h->l2_len = m->l2_len;
    h->l3_len = m->l3_len;
    h->l4_len = m->l4_len;
    h->outer_l2_len = m->outer_l2_len;
    h->outer_l3_len = m->outer_l3_len;
    h->tso_segsz = 0;
    h->port = m->port;
    h->packet_type = m->packet_type;
    h->vlan_tci = m->vlan_tci;
    h->vlan_tci_outer = m->vlan_tci_outer;
    h->hash = m->hash;
  }
  if (super) {
    count(Counter::superframes_in);
    count(Counter::gso_segments, n);
  }
  count(Counter::sw_csum_bytes, summed);
  rte_pktmbuf_free(m);
  return {static_cast<std::uint16_t>(n), std::nullopt};
}

bool Segmenter::attach_payload(Cursor& cur, rte_mbuf* h, std::uint32_t len, std::uint64_t& sum) {
  rte_mbuf* tail = h;
  bool odd = false;
  sum = 0;
  while (len > 0) {
    while (cur.off == cur.seg->data_len) cur = {cur.seg->next, 0};
    const std::uint32_t avail = cur.seg->data_len - cur.off;
    const std::uint32_t take = avail < len ? avail : len;
    rte_mbuf* mi = rte_pktmbuf_alloc(indirect_pool_);
    if (mi == nullptr) return false;  // h's chain so far is whole: the caller frees it
    rte_pktmbuf_attach(mi, cur.seg);
    mi->ol_flags &= RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL;
    mi->data_off = static_cast<std::uint16_t>(cur.seg->data_off + cur.off);
    mi->data_len = static_cast<std::uint16_t>(take);
    mi->pkt_len = take;
    tail->next = mi;
    tail = mi;
    h->nb_segs = static_cast<std::uint16_t>(h->nb_segs + 1);
    const std::uint64_t s = csum_bytes(rte_pktmbuf_mtod(mi, const std::uint8_t*), take);
    sum = csum_add(sum, odd ? csum_swap(s) : s);
    odd ^= (take & 1) != 0;
    cur.off += take;
    len -= take;
  }
  return true;
}

void Segmenter::copy_payload(Cursor& cur, std::uint8_t* to, std::uint32_t len) {
  while (len > 0) {
    while (cur.off == cur.seg->data_len) cur = {cur.seg->next, 0};
    const std::uint32_t avail = cur.seg->data_len - cur.off;
    const std::uint32_t take = avail < len ? avail : len;
    std::memcpy(to, rte_pktmbuf_mtod_offset(cur.seg, const std::uint8_t*, cur.off), take);
    to += take;
    cur.off += take;
    len -= take;
  }
}

std::optional<Counter> SegmentGather::start(rte_mbuf* m) {
  if ((m->ol_flags & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_UDP_SEG)) == 0) return Counter::gso_unsupported;
  t_ = Template{};
  if (auto bad = prepare_offload_layout(m, t_.layout)) return bad;
  if (m->tso_segsz == 0) return Counter::gso_bad_mss;
  const OffloadLayout& l = t_.layout;
  t_.mss = m->tso_segsz;
  const std::uint32_t n = l.payload == 0 ? 1 : (l.payload + t_.mss - 1) / t_.mss;
  if (n > kMaxSegments) return Counter::gso_bad_mss;
  t_.segments = static_cast<std::uint16_t>(n);
  fill_template(m, true, t_);
  src_ = rte_pktmbuf_mtod(m, const std::uint8_t*);
  seg_ = m;
  off_ = l.headers;
  left_ = l.payload;
  k_ = 0;
  chain_ = m->nb_segs;
  summed_ = 0;
  return std::nullopt;
}

SegmentGather::Piece SegmentGather::next(std::uint8_t* headers, iovec* slices) {
  const OffloadLayout& l = t_.layout;
  const std::uint32_t len = left_ < t_.mss ? left_ : t_.mss;
  left_ -= len;
  std::memcpy(headers, src_, l.headers);
  Piece piece{len, 0};
  std::uint64_t sum = 0;
  bool odd = false;
  for (std::uint32_t want = len; want > 0;) {
    while (off_ == seg_->data_len) {
      seg_ = seg_->next;
      off_ = 0;
    }
    const std::uint32_t avail = seg_->data_len - off_;
    const std::uint32_t take = avail < want ? avail : want;
    const auto* data = rte_pktmbuf_mtod_offset(seg_, const std::uint8_t*, off_);
    slices[piece.slices++] = iovec{const_cast<std::uint8_t*>(data), take};
    const std::uint64_t s = csum_bytes(data, take);
    sum = csum_add(sum, odd ? csum_swap(s) : s);
    odd ^= (take & 1) != 0;
    off_ += take;
    want -= take;
  }
  summed_ += patch_headers(headers, t_, k_, len, sum);
  ++k_;
  return piece;
}

}  // namespace ferry::dataplane
