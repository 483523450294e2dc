#include "tests/dataplane/core/offload_support.h"

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

#include "tests/dataplane/core/harness.h"

namespace ferry::dataplane::test {

std::uint16_t get16(const Bytes& b, std::size_t at) { return static_cast<std::uint16_t>(b.at(at) << 8 | b.at(at + 1)); }
std::uint32_t get32(const Bytes& b, std::size_t at) {
  return static_cast<std::uint32_t>(get16(b, at)) << 16 | get16(b, at + 2);
}
void set16(Bytes& b, std::size_t at, std::uint16_t v) {
  b.at(at) = static_cast<std::uint8_t>(v >> 8);
  b.at(at + 1) = static_cast<std::uint8_t>(v);
}
void set32(Bytes& b, std::size_t at, std::uint32_t v) {
  set16(b, at, static_cast<std::uint16_t>(v >> 16));
  set16(b, at + 2, static_cast<std::uint16_t>(v));
}

std::uint16_t naive_sum(const std::uint8_t* p, std::size_t n, std::uint32_t initial) {
  std::uint64_t sum = initial;
  for (std::size_t i = 0; i + 1 < n; i += 2) sum += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
  if (n % 2 != 0) sum += static_cast<std::uint32_t>(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

namespace {

// Pseudo-header sum (big-endian words) of an IP header for `l4_size` bytes.
std::uint32_t pseudo(const Bytes& f, std::size_t l3, bool ipv6, std::uint8_t proto, std::size_t l4_size) {
  std::uint32_t sum = ipv6 ? naive_sum(f.data() + l3 + 8, 32) : naive_sum(f.data() + l3 + 12, 8);
  sum += proto;
  sum += static_cast<std::uint32_t>(l4_size >> 16) + static_cast<std::uint32_t>(l4_size & 0xffff);
  return sum;
}

const MacAddr kDst{{0x02, 0x00, 0x0a, 0x01, 0x00, 0x02}};
const MacAddr kSrc{{0x02, 0x00, 0x0a, 0x01, 0x00, 0x01}};

}  // namespace

bool l4_checksum_ok(const Bytes& f, std::size_t l3, std::size_t l4, bool ipv6, std::uint8_t proto) {
  if (proto == 17 && !ipv6 && get16(f, l4 + 6) == 0) return true;
  const std::size_t size = f.size() - l4;
  return naive_sum(f.data() + l4, size, pseudo(f, l3, ipv6, proto, size)) == 0xffff;
}

bool ipv4_checksum_ok(const Bytes& f, std::size_t l3) {
  return naive_sum(f.data() + l3, static_cast<std::size_t>(f[l3] & 0x0f) * 4) == 0xffff;
}

Bytes make_payload(const FrameSpec& s) {
  if (s.data) return *s.data;
  Bytes p(s.payload);
  if (s.random_payload) {
    std::mt19937 rng(s.payload_seed);
    for (auto& b : p) b = static_cast<std::uint8_t>(rng());
  } else {
    for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>(s.payload_seed + i * 7);
  }
  return p;
}

Bytes make_frame(const FrameSpec& s) {
  Bytes f(14);
  std::memcpy(f.data(), kDst.bytes.data(), 6);
  std::memcpy(f.data() + 6, kSrc.bytes.data(), 6);
  f[12] = s.ipv6 ? 0x86 : 0x08;
  f[13] = s.ipv6 ? 0xdd : 0x00;
  const std::size_t l3 = f.size();
  const std::uint8_t proto = s.udp ? 17 : 6;
  const std::size_t l4_header = s.udp ? 8 : 20 + s.options.size();
  const Bytes payload = make_payload(s);
  const std::size_t l4_size = l4_header + payload.size();
  if (s.ipv6) {
    Bytes ip(40, 0);
    const std::uint32_t word = 6u << 28 | static_cast<std::uint32_t>(s.tos) << 20 | (s.flow_label & 0xfffff);
    set32(ip, 0, word);
    set16(ip, 4, static_cast<std::uint16_t>(s.ip_options.size() + l4_size));
    ip[6] = s.ip_options.empty() ? proto : s.first_ext;
    ip[7] = s.ttl;
    const std::uint8_t src[16] = {0xfd, 0, 0x42, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    const std::uint8_t dst[16] = {0xfd, 0, 0x42, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    std::memcpy(ip.data() + 8, src, 16);
    std::memcpy(ip.data() + 24, dst, 16);
    ip.insert(ip.end(), s.ip_options.begin(), s.ip_options.end());
    f.insert(f.end(), ip.begin(), ip.end());
  } else {
    Bytes ip(20, 0);
    ip[0] = static_cast<std::uint8_t>(0x40 | (20 + s.ip_options.size()) / 4);
    ip[1] = s.tos;
    set16(ip, 2, static_cast<std::uint16_t>(20 + s.ip_options.size() + l4_size));
    set16(ip, 4, s.ip_id);
    ip[6] = s.df ? 0x40 : 0;
    ip[8] = s.ttl;
    ip[9] = proto;
    set32(ip, 12, 0x0a010001);
    set32(ip, 16, 0x0a010002);
    ip.insert(ip.end(), s.ip_options.begin(), s.ip_options.end());
    set16(ip, 10, static_cast<std::uint16_t>(~naive_sum(ip.data(), ip.size())));
    f.insert(f.end(), ip.begin(), ip.end());
  }
  const std::size_t l4 = f.size();
  Bytes th(l4_header, 0);
  set16(th, 0, s.sport);
  set16(th, 2, s.dport);
  if (s.udp) {
    set16(th, 4, static_cast<std::uint16_t>(l4_size));
  } else {
    set32(th, 4, s.seq);
    set32(th, 8, s.ack);
    th[12] = static_cast<std::uint8_t>((l4_header / 4) << 4);
    th[13] = s.flags;
    set16(th, 14, s.window);
    for (std::size_t i = 0; i < s.options.size(); ++i) th[20 + i] = s.options[i];
  }
  f.insert(f.end(), th.begin(), th.end());
  f.insert(f.end(), payload.begin(), payload.end());
  const std::size_t check = l4 + (s.udp ? 6 : 16);
  const std::uint32_t ps = pseudo(f, l3, s.ipv6, proto, l4_size);
  if (s.csum == Csum::Partial) {
    std::uint32_t sum = ps;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    set16(f, check, static_cast<std::uint16_t>(sum));
  } else if (s.csum == Csum::Full) {
    std::uint16_t c = static_cast<std::uint16_t>(~naive_sum(f.data() + l4, l4_size, ps));
    if (s.udp && c == 0) c = 0xffff;
    set16(f, check, c);
  }
  return f;
}

Bytes vxlan_wrap(const Bytes& inner, bool outer_ipv6, std::uint16_t outer_id, bool outer_df) {
  Bytes f = {0x92, 0xdb, 0x2b, 0x1e, 0xa6, 0xbb, 0x7a, 0x2b, 0x57, 0x56, 0x58, 0xa0, 0x08, 0x00};
  if (outer_ipv6) set16(f, 12, 0x86dd);
  const std::size_t udp_size = 16 + inner.size();
  if (outer_ipv6) {
    Bytes ip(40, 0);
    ip[0] = 0x60;
    if (udp_size <= 0xffff) set16(ip, 4, static_cast<std::uint16_t>(udp_size));
    ip[6] = 17;
    ip[7] = 64;
    ip[8] = 0xfd;
    ip[23] = 1;
    ip[24] = 0xfd;
    ip[39] = 2;
    f.insert(f.end(), ip.begin(), ip.end());
  } else {
    Bytes ip(20, 0);
    ip[0] = 0x45;
    if (20 + udp_size <= 0xffff) set16(ip, 2, static_cast<std::uint16_t>(20 + udp_size));
    set16(ip, 4, outer_id);
    ip[6] = outer_df ? 0x40 : 0;
    ip[8] = 64;
    ip[9] = 17;
    set32(ip, 12, 0xac1f0701);
    set32(ip, 16, 0xac1f0702);
    set16(ip, 10, static_cast<std::uint16_t>(~naive_sum(ip.data(), 20)));
    f.insert(f.end(), ip.begin(), ip.end());
  }
  Bytes udp(16, 0);
  set16(udp, 0, 50123);
  set16(udp, 2, 4789);
  if (udp_size <= 0xffff) set16(udp, 4, static_cast<std::uint16_t>(udp_size));
  udp[8] = 0x08;
  set32(udp, 12, 4242u << 8);
  f.insert(f.end(), udp.begin(), udp.end());
  f.insert(f.end(), inner.begin(), inner.end());
  return f;
}

Pools::Pools(unsigned direct, unsigned header, unsigned indirect) {
  ensure_eal();
  direct_ = rte_pktmbuf_pool_create(unique_name("odirect").c_str(), direct, 0, 0,
                                    static_cast<std::uint16_t>(RTE_PKTMBUF_HEADROOM + 65535 - 128), SOCKET_ID_ANY);
  header_ =
      rte_pktmbuf_pool_create(unique_name("oheader").c_str(), header, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  indirect_ = rte_pktmbuf_pool_create(unique_name("oindirect").c_str(), indirect, 0, 0, 0, SOCKET_ID_ANY);
  if (direct_ == nullptr || header_ == nullptr || indirect_ == nullptr) {
    std::fprintf(stderr, "offload test pools: %s\n", rte_strerror(rte_errno));
    std::abort();
  }
}

Pools::~Pools() {
  rte_mempool_free(direct_);
  rte_mempool_free(header_);
  rte_mempool_free(indirect_);
}

rte_mbuf* Pools::chain(const Bytes& frame, std::size_t segment) const {
  if (segment == 0) segment = frame.empty() ? 1 : frame.size();
  rte_mbuf* head = nullptr;
  std::size_t at = 0;
  // Small pieces come from the header pool (2 KB buffers, many of them).
  rte_mempool* pool = segment <= RTE_MBUF_DEFAULT_DATAROOM ? header_ : direct_;
  do {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) {
      std::fprintf(stderr, "Pools::chain: pool %s empty\n", pool->name);
      std::abort();
    }
    const std::size_t take = std::min(segment, frame.size() - at);
    if (take > 0) std::memcpy(rte_pktmbuf_append(m, static_cast<std::uint16_t>(take)), frame.data() + at, take);
    at += take;
    if (head == nullptr) {
      head = m;
    } else if (rte_pktmbuf_chain(head, m) != 0) {
      std::abort();
    }
  } while (at < frame.size());
  return head;
}

unsigned Pools::in_use() const {
  return rte_mempool_in_use_count(direct_) + rte_mempool_in_use_count(header_) + rte_mempool_in_use_count(indirect_);
}

Bytes flatten(const rte_mbuf* m) {
  Bytes b;
  for (; m != nullptr; m = m->next) {
    const auto* p = rte_pktmbuf_mtod(m, const std::uint8_t*);
    b.insert(b.end(), p, p + m->data_len);
  }
  return b;
}

void set_offload(rte_mbuf* m, const FrameSpec& s, std::uint16_t mss) {
  m->ol_flags = s.ipv6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4;
  if (s.csum == Csum::Partial) m->ol_flags |= s.udp ? RTE_MBUF_F_TX_UDP_CKSUM : RTE_MBUF_F_TX_TCP_CKSUM;
  if (mss != 0) m->ol_flags |= s.udp ? RTE_MBUF_F_TX_UDP_SEG : RTE_MBUF_F_TX_TCP_SEG;
  m->tso_segsz = mss;
  m->l2_len = 14;
  m->l3_len = static_cast<std::uint16_t>((s.ipv6 ? 40 : 20) + s.ip_options.size());
  m->l4_len = static_cast<std::uint8_t>(s.udp ? 8 : 20 + s.options.size());
}

void set_tunnel_offload(rte_mbuf* m, const FrameSpec& s, bool outer_ipv6, std::uint16_t mss) {
  set_offload(m, s, mss);
  m->ol_flags |= RTE_MBUF_F_TX_TUNNEL_VXLAN | (outer_ipv6 ? RTE_MBUF_F_TX_OUTER_IPV6 : RTE_MBUF_F_TX_OUTER_IPV4);
  m->outer_l2_len = 14;
  m->outer_l3_len = outer_ipv6 ? 40 : 20;
  m->l2_len = 8 + 8 + 14;
}

std::uint64_t counter(const LcoreCounters& c, Counter which) { return c.counters[static_cast<std::size_t>(which)]; }

}  // namespace ferry::dataplane::test
