#include "dataplane/core/coalesce.h"

#include <rte_mbuf.h>

#include <cstring>

#include "dataplane/core/checksum.h"
#include "dataplane/core/offload.h"

namespace ferry::dataplane {

namespace {

constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kFin = 0x01;
constexpr std::uint8_t kSyn = 0x02;
constexpr std::uint8_t kRst = 0x04;
constexpr std::uint8_t kPsh = 0x08;
constexpr std::uint8_t kUrg = 0x20;
constexpr std::uint8_t kCwr = 0x80;
constexpr std::uint32_t kEthSize = 14;
// Enough to find the TCP ports behind IPv4 options or a few IPv6 extension
// headers; gathered into the first mbuf when a chain splits them.
constexpr std::uint32_t kIdentifyBytes = 128;

bool own(const rte_mbuf* m) { return rte_mbuf_refcnt_read(m) == 1; }

bool writable(const rte_mbuf* m) {
  if (!own(m) || RTE_MBUF_CLONED(m)) return false;
  return !RTE_MBUF_HAS_EXTBUF(m) || rte_mbuf_ext_refcnt_read(m->shinfo) == 1;
}

std::uint32_t load32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

struct Coalescer::Packet {
  rte_mbuf* m = nullptr;
  std::uint32_t key = 0;
  std::uint32_t hash = 0;
  std::uint32_t ports = 0;
  const std::uint8_t* addr = nullptr;  // source + destination in the frame
  std::uint8_t* ip = nullptr;
  std::uint8_t* th = nullptr;
  std::uint32_t payload = 0;
  std::uint8_t header_size = 0;
  std::uint8_t flags = 0;
  bool ipv6 = false;
  bool identified = false;  // a TCP frame whose flow is known
  bool mergeable = false;   // shaped for merging and its checksums are right
};

std::uint16_t Coalescer::coalesce(rte_mbuf* const* in, const std::uint32_t* keys, std::uint16_t n, rte_mbuf** out,
                                  std::uint32_t* out_keys) {
  std::uint16_t produced = 0;
  for (std::uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = in[i];
    Packet p;
    p.m = m;
    p.key = keys[i];
    if (out_keys != nullptr) out_keys[produced] = keys[i];
    identify(p);
    if (!p.identified) {
      out[produced++] = m;
      continue;
    }
    if (Flow* f = find(p)) {
      if (p.mergeable && try_merge(*f, p)) continue;
      close(f);
    }
    const bool starts = p.mergeable && p.payload > 0 && (p.flags & (kUrg | kPsh | kRst | kSyn | kFin)) == 0 &&
                        open_ < kCoalesceFlows && writable(m);
    if (starts) start(p);
    out[produced++] = m;
  }
  while (open_ > 0) close(&flows_[open_ - 1]);
  return produced;
}

void Coalescer::identify(Packet& p) {
  rte_mbuf* m = p.m;
  if (m->data_len < kIdentifyBytes && m->nb_segs > 1) {
    (void)pull_headers(m, m->pkt_len < kIdentifyBytes ? m->pkt_len : kIdentifyBytes);
  }
  const std::uint32_t have = m->data_len;
  const std::uint32_t size = m->pkt_len;
  std::uint8_t* f = rte_pktmbuf_mtod(m, std::uint8_t*);
  if (have < kEthSize + 20) return;
  const std::uint16_t type = load_be16(f + 12);
  std::uint8_t* ip = f + kEthSize;
  std::uint32_t l3_size;
  bool plain;  // no IP options / extension headers, not a fragment, length exact
  if (type == 0x0800) {
    if ((ip[0] >> 4) != 4 || ip[9] != kProtoTcp) return;
    l3_size = (ip[0] & 0x0f) * 4u;
    const std::uint16_t frag = load_be16(ip + 6);
    if (l3_size < 20 || (frag & 0x1fff) != 0) return;  // a later fragment has no ports
    plain = l3_size == 20 && (frag & 0x2000) == 0 && load_be16(ip + 2) == size - kEthSize;
    p.addr = ip + 12;
  } else if (type == 0x86dd) {
    if (have < kEthSize + 40 || (ip[0] >> 4) != 6) return;
    std::uint8_t next = ip[6];
    l3_size = 40;
    for (int hops = 0; hops < 4 && (next == 0 || next == 43 || next == 60); ++hops) {
      if (kEthSize + l3_size + 8 > have) return;
      next = ip[l3_size];
      l3_size += (ip[l3_size + 1] + 1u) * 8;
    }
    if (next != kProtoTcp) return;
    plain = l3_size == 40 && load_be16(ip + 4) == size - kEthSize - 40;
    p.addr = ip + 8;
    p.ipv6 = true;
  } else {
    return;
  }
  if (kEthSize + l3_size + 20 > have) return;
  std::uint8_t* th = ip + l3_size;
  p.ip = ip;
  p.th = th;
  p.ports = load32(th);
  p.identified = true;
  std::uint32_t h = p.key * 0x9e3779b1u ^ p.ports;
  for (int i = 0; i < (p.ipv6 ? 8 : 2); ++i) h = (h ^ load32(p.addr + 4 * i)) * 0x85ebca6bu;
  p.hash = h;
  // A super-frame or a partial checksum: nothing to verify or merge into, but
  // it closes its flow's merge (the frames of a flow keep their order).
  if ((m->ol_flags & offload_request_flags()) != 0) return;

  const std::uint32_t tcp_size = (th[12] >> 4) * 4u;
  const std::uint32_t header_size = kEthSize + l3_size + tcp_size;
  if (!plain || tcp_size < 20 || header_size > have || header_size > size) return;
  p.header_size = static_cast<std::uint8_t>(header_size);
  p.payload = size - header_size;
  p.flags = th[13];
  // Checksums (Linux's GRO verifies them before merging, too).
  if (!p.ipv6 && (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) != RTE_MBUF_F_RX_IP_CKSUM_GOOD &&
      !ipv4_header_checksum_ok(ip)) {
    count(Counter::gro_bad_checksum);
    return;
  }
  if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) != RTE_MBUF_F_RX_L4_CKSUM_GOOD) {
    const std::uint32_t l4_size = size - kEthSize - l3_size;
    const std::uint16_t pseudo =
        p.ipv6 ? pseudo_header_ipv6(ip, kProtoTcp, l4_size) : pseudo_header_ipv4(ip, kProtoTcp, l4_size);
    count(Counter::sw_csum_bytes, l4_size);
    m->ol_flags &= ~RTE_MBUF_F_RX_L4_CKSUM_MASK;
    if (!csum_verify(m, kEthSize + l3_size, pseudo)) {
      m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_BAD;
      count(Counter::gro_bad_checksum);
      return;
    }
    m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
  }
  p.mergeable = true;
}

Coalescer::Flow* Coalescer::find(const Packet& p) {
  for (std::uint16_t i = 0; i < open_; ++i) {
    Flow& f = flows_[i];
    if (f.hash != p.hash || f.key != p.key || f.ports != p.ports || f.ipv6 != p.ipv6) continue;
    if (std::memcmp(f.addr, p.addr, p.ipv6 ? 32 : 8) != 0) continue;
    return &f;
  }
  return nullptr;
}

void Coalescer::start(const Packet& p) {
  Flow& f = flows_[open_++];
  f.key = p.key;
  f.hash = p.hash;
  f.ports = p.ports;
  std::memcpy(f.addr, p.addr, p.ipv6 ? 32 : 8);
  f.ipv6 = p.ipv6;
  f.fixed_id = false;
  f.header_size = p.header_size;
  f.mss = static_cast<std::uint16_t>(p.payload);
  f.segments = 1;
  f.ip_id = p.ipv6 ? 0 : load_be16(p.ip + 4);
  f.next_seq = load_be32(p.th + 4) + p.payload;
  f.ip_size = p.m->pkt_len - kEthSize;
  f.head = p.m;
  f.tail = rte_pktmbuf_lastseg(p.m);
}

bool Coalescer::try_merge(Flow& f, const Packet& p) {
  const std::uint8_t* fip = rte_pktmbuf_mtod_offset(f.head, const std::uint8_t*, kEthSize);
  const std::uint8_t* fth = fip + (f.ipv6 ? 40 : 20);
  const std::uint8_t* ip = p.ip;
  const std::uint8_t* th = p.th;
  if (p.payload == 0 || p.payload > f.mss || (p.flags & kCwr) != 0) return false;
  // Mbufs whose fields change must be ours alone: the segment's first (data
  // offset) and the merged chain's last (next pointer).
  if (p.header_size != f.header_size || !own(p.m) || !own(f.tail)) return false;
  if (f.head->nb_segs + p.m->nb_segs - (p.m->data_len == p.header_size ? 1 : 0) > max_chain_) return false;
  // Data offset, reserved bits, flags but CWR/PSH/FIN, window.
  const std::uint32_t word_mask = rte_cpu_to_be_32(~(static_cast<std::uint32_t>(kCwr | kPsh | kFin) << 16));
  if (((load32(th + 12) ^ load32(fth + 12)) & word_mask) != 0) return false;
  if (load32(th + 8) != load32(fth + 8)) return false;  // ACK number
  const std::uint32_t options = f.header_size - kEthSize - (f.ipv6 ? 40u : 20u) - 20u;
  if (std::memcmp(th + 20, fth + 20, options) != 0) return false;
  if (load_be32(th + 4) != f.next_seq) return false;
  if (f.ip_size + p.payload > 0xffff) return false;
  if (f.ipv6) {
    // Version, traffic class, flow label; hop limit.
    if (load32(ip) != load32(fip) || ip[7] != fip[7]) return false;
  } else {
    if (ip[1] != fip[1] || ip[8] != fip[8] || ((ip[6] ^ fip[6]) & 0x40) != 0) return false;  // TOS, TTL, DF
    const std::uint16_t id = load_be16(ip + 4);
    const bool df = (ip[6] & 0x40) != 0;
    if (f.segments == 1 && df && id == f.ip_id) f.fixed_id = true;
    const std::uint16_t want = f.fixed_id ? f.ip_id : static_cast<std::uint16_t>(f.ip_id + f.segments);
    if (id != want) return false;
  }

  // Append the payload: strip the headers off the segment and chain it.
  rte_mbuf* seg = p.m;
  const std::uint16_t hs = p.header_size;
  seg->data_off = static_cast<std::uint16_t>(seg->data_off + hs);
  seg->data_len = static_cast<std::uint16_t>(seg->data_len - hs);
  seg->pkt_len -= hs;
  if (seg->data_len == 0) {  // headers only in the first mbuf: drop it
    rte_mbuf* next = seg->next;
    next->pkt_len = seg->pkt_len;
    next->nb_segs = static_cast<std::uint16_t>(seg->nb_segs - 1);
    seg->next = nullptr;
    seg->nb_segs = 1;
    rte_pktmbuf_free_seg(seg);
    seg = next;
  }
  f.tail->next = seg;
  f.tail = rte_pktmbuf_lastseg(seg);
  f.head->nb_segs = static_cast<std::uint16_t>(f.head->nb_segs + seg->nb_segs);
  f.head->pkt_len += seg->pkt_len;
  f.ip_size += p.payload;
  f.next_seq += p.payload;
  f.segments = static_cast<std::uint16_t>(f.segments + 1);
  if (p.payload < f.mss || (p.flags & (kPsh | kFin)) != 0) {
    std::uint8_t* head_th = rte_pktmbuf_mtod_offset(f.head, std::uint8_t*, kEthSize + (f.ipv6 ? 40 : 20));
    head_th[13] |= p.flags & (kPsh | kFin);
    close(&f);
  }
  return true;
}

void Coalescer::close(Flow* f) {
  rte_mbuf* m = f->head;
  if (f->segments >= 2) {
    std::uint8_t* ip = rte_pktmbuf_mtod_offset(m, std::uint8_t*, kEthSize);
    const std::uint8_t l3 = f->ipv6 ? 40 : 20;
    std::uint8_t* th = ip + l3;
    const std::uint32_t l4_size = f->ip_size - l3;
    if (f->ipv6) {
      store_be16(ip + 4, static_cast<std::uint16_t>(l4_size));
      store16(th + 16, pseudo_header_ipv6(ip, kProtoTcp, l4_size));
    } else {
      store_be16(ip + 2, static_cast<std::uint16_t>(f->ip_size));
      store16(ip + 10, ipv4_header_checksum(ip));
      store16(th + 16, pseudo_header_ipv4(ip, kProtoTcp, l4_size));
    }
    m->ol_flags &= ~(RTE_MBUF_F_RX_L4_CKSUM_MASK | offload_request_flags());
    m->ol_flags |=
        (f->ipv6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4) | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG;
    m->l2_len = kEthSize;
    m->l3_len = l3;
    m->l4_len = static_cast<std::uint8_t>(f->header_size - kEthSize - l3);
    m->tso_segsz = f->mss;
    count(Counter::superframes_out);
    count(Counter::coalesced, f->segments);
  }
  *f = flows_[--open_];
}

}  // namespace ferry::dataplane
