#include "tests/dataplane/core/harness.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>

namespace ferry::dataplane::test {

void ensure_eal() {
  static std::once_flag once;
  std::call_once(once, [] {
    const std::string prefix = "--file-prefix=ferry-ut-" + std::to_string(::getpid());
    const char* args[] = {"ferry-test",
                          "--no-huge",
                          "-m",
                          "512",
                          "--no-pci",
                          "--no-shconf",
                          "--no-telemetry",
                          prefix.c_str(),
                          "--log-level=lib.eal:error",
                          "--log-level=*:warning",
                          "-l",
                          "0"};
    std::vector<char*> argv;
    for (const char* a : args) argv.push_back(const_cast<char*>(a));
    if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
      std::fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
      std::abort();
    }
  });
}

std::string unique_name(const char* what) {
  static std::atomic<unsigned> counter{0};
  return std::string(what) + std::to_string(counter.fetch_add(1));
}

PipelineConfig Harness::default_config() {
  PipelineConfig c;
  c.underlay.vtep_ip = kVtepA;
  c.underlay.uplink_mac = kUplinkMac;
  c.uplink_port = kUplink;
  c.underlay_mtu = 1500;
  c.tables.mac_capacity = 4096;
  c.tables.neighbour_capacity = 1024;
  c.tables.vtep_capacity = 256;
  c.tables.max_workers = 4;
  return c;
}

Harness::Harness(PipelineConfig config, std::uint32_t pool_size) {
  ensure_eal();
  config.tables.name = unique_name("t");
  pool_ = rte_pktmbuf_pool_create(unique_name("pool").c_str(), pool_size, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE + 8192,
                                  SOCKET_ID_ANY);
  if (pool_ == nullptr) {
    std::fprintf(stderr, "mempool: %s\n", rte_strerror(rte_errno));
    std::abort();
  }
  auto p = Pipeline::create(config);
  if (!p) {
    std::fprintf(stderr, "Pipeline::create: %s\n", p.error().message.c_str());
    std::abort();
  }
  pipeline_ = std::move(*p);
  auto ctx = pipeline_->make_lcore(0, 0, pool_);
  if (!ctx) {
    std::fprintf(stderr, "make_lcore: %s\n", ctx.error().message.c_str());
    std::abort();
  }
  ctx_ = std::move(*ctx);
  ctx_->set_tx(&Harness::capture, this);
}

Harness::~Harness() {
  pipeline_->release_lcore(*ctx_);
  ctx_.reset();
  pipeline_.reset();
  rte_mempool_free(pool_);
}

void Harness::program_host_a() {
  auto check = [](const Result<void>& r) {
    if (!r) {
      std::fprintf(stderr, "program_host_a: %s\n", r.error().message.c_str());
      std::abort();
    }
  };
  check(tables().add_network(kVni, false));
  check(tables().add_port(EndpointPort{kLocalPort, kVni, kLocalMac, {kLocalIp}, {kLocalIp6}}));
  check(tables().add_remote_mac(kVni, kRemoteMac, kVtepB));
  check(tables().add_neighbour(kVni, kRemoteIp, kRemoteMac));
  check(tables().add_neighbour(kVni, kRemoteIp6, kRemoteMac));
  check(tables().add_flood_vtep(kVni, kVtepB));
  check(tables().set_vtep_next_hop(kVtepB, kRemoteHostMac));
}

rte_mbuf* Harness::mbuf(const Bytes& frame) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) std::abort();
  if (!frame.empty()) {
    char* d = rte_pktmbuf_append(m, static_cast<std::uint16_t>(frame.size()));
    if (d == nullptr) std::abort();
    std::memcpy(d, frame.data(), frame.size());
  }
  return m;
}

rte_mbuf* Harness::chain(const Bytes& frame, std::size_t segment, bool packed) {
  rte_mbuf* head = nullptr;
  for (std::size_t at = 0; at < frame.size(); at += segment) {
    const std::size_t size = std::min(segment, frame.size() - at);
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr) std::abort();
    if (packed) m->data_off = static_cast<std::uint16_t>(m->buf_len - size);
    char* d = rte_pktmbuf_append(m, static_cast<std::uint16_t>(size));
    if (d == nullptr) std::abort();
    std::memcpy(d, frame.data() + at, size);
    if (head == nullptr) {
      head = m;
    } else if (rte_pktmbuf_chain(head, m) != 0) {
      std::abort();
    }
  }
  return head;
}

std::uint16_t Harness::capture(void* arg, PortId port, std::uint16_t /*queue*/, rte_mbuf** pkts, std::uint16_t n) {
  auto* h = static_cast<Harness*>(arg);
  ++h->tx_calls;
  const std::uint16_t accept = std::min(n, h->tx_accept);
  for (std::uint16_t i = 0; i < accept; ++i) {
    rte_mbuf* m = pkts[i];
    Bytes b(rte_pktmbuf_pkt_len(m));
    const void* data = rte_pktmbuf_read(m, 0, static_cast<std::uint32_t>(b.size()), b.data());
    if (data != b.data() && !b.empty()) std::memcpy(b.data(), data, b.size());
    h->sent.push_back(Sent{port, std::move(b), m->nb_segs, m->ol_flags, static_cast<std::uint16_t>(m->tso_segsz),
                           static_cast<std::uint16_t>(m->l2_len), static_cast<std::uint16_t>(m->l3_len),
                           static_cast<std::uint16_t>(m->l4_len), static_cast<std::uint16_t>(m->outer_l2_len),
                           static_cast<std::uint16_t>(m->outer_l3_len)});
    rte_pktmbuf_free(m);
  }
  return accept;
}

std::vector<Sent> Harness::take() {
  std::vector<Sent> out;
  out.swap(sent);
  ctx_->quiescent();
  return out;
}

std::vector<Sent> Harness::from_uplink(const std::vector<Bytes>& frames) {
  std::vector<rte_mbuf*> pkts;
  pkts.reserve(frames.size());
  for (const Bytes& f : frames) pkts.push_back(mbuf(f));
  pipeline_->process_uplink(*ctx_, pkts.data(), static_cast<std::uint16_t>(pkts.size()));
  return take();
}

std::vector<Sent> Harness::from_endpoint(PortId port, const std::vector<Bytes>& frames) {
  std::vector<rte_mbuf*> pkts;
  pkts.reserve(frames.size());
  for (const Bytes& f : frames) pkts.push_back(mbuf(f));
  pipeline_->process_endpoint(*ctx_, port, pkts.data(), static_cast<std::uint16_t>(pkts.size()));
  return take();
}

std::vector<Sent> Harness::from_uplink(const Bytes& frame) { return from_uplink(std::vector<Bytes>{frame}); }
std::vector<Sent> Harness::from_endpoint(PortId port, const Bytes& frame) {
  return from_endpoint(port, std::vector<Bytes>{frame});
}

unsigned Harness::mbufs_in_use() const { return rte_mempool_in_use_count(pool_); }

// ---------------------------------------------------------------------------
// Builders

std::uint16_t be16(const Bytes& b, std::size_t at) { return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]); }
void put_be16(Bytes& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}
Bytes mac_bytes(const MacAddr& m) { return Bytes(m.bytes.begin(), m.bytes.end()); }

static void put_ip(Bytes& b, std::size_t at, Ipv4Addr ip) {
  for (int i = 0; i < 4; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(ip.value >> (24 - 8 * i));
}

std::uint16_t ip_checksum_fold(const std::uint8_t* h, std::size_t size) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < size; i += 2) sum += static_cast<std::uint32_t>(h[i] << 8 | h[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

Bytes ether(const MacAddr& dst, const MacAddr& src, std::uint16_t type, const Bytes& payload) {
  Bytes b = mac_bytes(dst);
  const Bytes s = mac_bytes(src);
  b.insert(b.end(), s.begin(), s.end());
  b.push_back(static_cast<std::uint8_t>(type >> 8));
  b.push_back(static_cast<std::uint8_t>(type));
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

Bytes ipv4(Ipv4Addr src, Ipv4Addr dst, std::uint8_t proto, const Bytes& payload, std::uint16_t id, bool df,
           std::uint8_t ttl) {
  Bytes b(20, 0);
  b[0] = 0x45;
  put_be16(b, 2, static_cast<std::uint16_t>(20 + payload.size()));
  put_be16(b, 4, id);
  b[6] = df ? 0x40 : 0;
  b[8] = ttl;
  b[9] = proto;
  put_ip(b, 12, src);
  put_ip(b, 16, dst);
  put_be16(b, 10, static_cast<std::uint16_t>(~ip_checksum_fold(b.data(), 20)));
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

Bytes udp(std::uint16_t sport, std::uint16_t dport, const Bytes& payload) {
  Bytes b(8, 0);
  put_be16(b, 0, sport);
  put_be16(b, 2, dport);
  put_be16(b, 4, static_cast<std::uint16_t>(8 + payload.size()));
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

Bytes tcp_syn(std::uint16_t sport, std::uint16_t dport) {
  Bytes b(20, 0);
  put_be16(b, 0, sport);
  put_be16(b, 2, dport);
  b[12] = 0x50;
  b[13] = 0x02;
  put_be16(b, 14, 65535);
  return b;
}

Bytes arp(std::uint16_t op, const MacAddr& sha, Ipv4Addr spa, const MacAddr& tha, Ipv4Addr tpa) {
  Bytes b(28, 0);
  put_be16(b, 0, 1);
  put_be16(b, 2, 0x0800);
  b[4] = 6;
  b[5] = 4;
  put_be16(b, 6, op);
  std::copy(sha.bytes.begin(), sha.bytes.end(), b.begin() + 8);
  put_ip(b, 14, spa);
  std::copy(tha.bytes.begin(), tha.bytes.end(), b.begin() + 18);
  put_ip(b, 24, tpa);
  return b;
}

Bytes inner_udp(const MacAddr& dst_mac, const MacAddr& src_mac, Ipv4Addr src, Ipv4Addr dst, std::uint16_t sport,
                std::uint16_t dport, std::size_t payload_size) {
  Bytes payload(payload_size);
  for (std::size_t i = 0; i < payload_size; ++i) payload[i] = static_cast<std::uint8_t>(i);
  return ether(dst_mac, src_mac, 0x0800, ipv4(src, dst, 17, udp(sport, dport, payload)));
}

Bytes ipv6(const Ipv6Addr& src, const Ipv6Addr& dst, std::uint8_t next_header, const Bytes& payload,
           std::uint8_t hop_limit) {
  Bytes b(40, 0);
  b[0] = 0x60;
  put_be16(b, 4, static_cast<std::uint16_t>(payload.size()));
  b[6] = next_header;
  b[7] = hop_limit;
  std::copy(src.bytes.begin(), src.bytes.end(), b.begin() + 8);
  std::copy(dst.bytes.begin(), dst.bytes.end(), b.begin() + 24);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

std::uint16_t icmpv6_checksum_fold(const std::uint8_t* ip6, std::size_t size) {
  const std::size_t len = size - 40;
  std::uint64_t sum = len + 58;
  for (std::size_t i = 8; i < 40; i += 2) sum += static_cast<std::uint32_t>(ip6[i] << 8 | ip6[i + 1]);
  for (std::size_t i = 0; i < len; i += 2) {
    const std::uint32_t lo = i + 1 < len ? ip6[40 + i + 1] : 0;
    sum += static_cast<std::uint32_t>(ip6[40 + i] << 8) | lo;
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

void fix_icmpv6_checksum(std::uint8_t* ip6, std::size_t size) {
  ip6[42] = ip6[43] = 0;
  const std::uint16_t c = static_cast<std::uint16_t>(~icmpv6_checksum_fold(ip6, size));
  ip6[42] = static_cast<std::uint8_t>(c >> 8);
  ip6[43] = static_cast<std::uint8_t>(c);
}

Bytes icmpv6(const Ipv6Addr& src, const Ipv6Addr& dst, std::uint8_t type, std::uint8_t code, const Bytes& body,
             std::uint8_t hop_limit) {
  // Sized up front (GCC 12 warns falsely about inserting behind a brace-initialised vector).
  Bytes msg(4 + body.size(), 0);
  msg[0] = type;
  msg[1] = code;
  std::copy(body.begin(), body.end(), msg.begin() + 4);
  Bytes b = ipv6(src, dst, 58, msg, hop_limit);
  fix_icmpv6_checksum(b.data(), b.size());
  return b;
}

Bytes nd_ll_option(std::uint8_t type, const MacAddr& mac) {
  Bytes b(8, 0);
  b[0] = type;
  b[1] = 1;
  std::copy(mac.bytes.begin(), mac.bytes.end(), b.begin() + 2);
  return b;
}

Bytes nd_body(std::uint8_t flags, const Ipv6Addr& target, const Bytes& options) {
  Bytes b(20 + options.size(), 0);
  b[0] = flags;
  std::copy(target.bytes.begin(), target.bytes.end(), b.begin() + 4);
  std::copy(options.begin(), options.end(), b.begin() + 20);
  return b;
}

Ipv6Addr solicited_node(const Ipv6Addr& ip) {
  Ipv6Addr g{{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0}};
  g.bytes[13] = ip.bytes[13];
  g.bytes[14] = ip.bytes[14];
  g.bytes[15] = ip.bytes[15];
  return g;
}

MacAddr ipv6_multicast_mac(const Ipv6Addr& group) {
  return MacAddr{{0x33, 0x33, group.bytes[12], group.bytes[13], group.bytes[14], group.bytes[15]}};
}

Ipv6Addr ipv6_addr(const char* text) {
  const std::optional<Ipv6Addr> a = Ipv6Addr::parse(text);
  if (!a) {
    std::fprintf(stderr, "bad IPv6 literal in a test: %s\n", text);
    std::abort();
  }
  return *a;
}

Bytes neighbor_solicitation(const MacAddr& src_mac, const Ipv6Addr& src, const Ipv6Addr& target) {
  const Ipv6Addr group = solicited_node(target);
  const Bytes options = src.is_unspecified() ? Bytes{} : nd_ll_option(1, src_mac);
  return ether(ipv6_multicast_mac(group), src_mac, 0x86dd, icmpv6(src, group, 135, 0, nd_body(0, target, options)));
}

Bytes vxlan(const Bytes& inner, Vni vni, Ipv4Addr from, Ipv4Addr to, std::uint16_t sport, std::uint16_t dport,
            std::uint8_t flags) {
  Bytes vx(8 + inner.size(), 0);
  vx[0] = flags;
  vx[4] = static_cast<std::uint8_t>(vni >> 16);
  vx[5] = static_cast<std::uint8_t>(vni >> 8);
  vx[6] = static_cast<std::uint8_t>(vni);
  std::copy(inner.begin(), inner.end(), vx.begin() + 8);
  return ether(kUplinkMac, kRemoteHostMac, 0x0800, ipv4(from, to, 17, udp(sport, dport, vx)));
}

}  // namespace ferry::dataplane::test
