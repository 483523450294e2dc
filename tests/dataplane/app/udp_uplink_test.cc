// The UDP uplink over real kernel sockets on loopback (no root): frames as
// the pipeline builds them go out with UDP_SEGMENT, come back through
// UDP_GRO as one buffer and are split into the same datagrams, with their
// source; super-frames, checksums, drops and the receive-buffer lifecycle.
#include "dataplane/app/udp_uplink.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "dataplane/app/udp_wire.h"
#include "dataplane/core/segment.h"
#include "tests/dataplane/app/udp_frames.h"

namespace ferry::dataplane::app {
namespace {

using test::Bytes;
using test::InnerSpec;

rte_mempool* g_pool = nullptr;

class EalEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    std::vector<std::string> args{"udp_uplink_test",
                                  "--no-huge",
                                  "-m",
                                  "256",
                                  "--no-pci",
                                  "--no-shconf",
                                  "--no-telemetry",
                                  "--lcores=0",
                                  "--log-level=error",
                                  fmt::format("--file-prefix=ferry-udp-{}", getpid())};
    std::vector<char*> argv;
    argv.reserve(args.size());
    for (auto& a : args) argv.push_back(a.data());
    ASSERT_GE(rte_eal_init(static_cast<int>(argv.size()), argv.data()), 0);
    g_pool = rte_pktmbuf_pool_create("udp_test", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(g_pool, nullptr);
  }
  void TearDown() override { rte_eal_cleanup(); }
};
const auto* const kEal = ::testing::AddGlobalTestEnvironment(new EalEnvironment);

IpAddress loopback(bool v6) {
  IpAddress a;
  if (v6) {
    a.family = Family::kIPv6;
    a.bytes[15] = 1;
  } else {
    a.bytes = {127, 0, 0, 1};
  }
  return a;
}

// A UDP port free on loopback right now.
std::uint16_t free_port(bool v6) {
  const int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
  sockaddr_in6 a{};
  socklen_t len = v6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  a.sin6_family = static_cast<sa_family_t>(v6 ? AF_INET6 : AF_INET);
  if (v6) {
    a.sin6_addr = in6addr_loopback;
  } else {
    reinterpret_cast<sockaddr_in*>(&a)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  (void)bind(fd, reinterpret_cast<sockaddr*>(&a), len);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin6_port);
}

bool ipv6_loopback_works() {
  const int fd = socket(AF_INET6, SOCK_DGRAM, 0);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  const bool ok = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

UdpUplinkConfig config(bool v6, UdpDelivery delivery) {
  UdpUplinkConfig c;
  c.local = loopback(v6);
  c.udp_port = free_port(v6);
  c.src_port_base = 0;  // kernel-chosen source ports: tests run side by side
  c.send_sockets = 4;
  c.delivery = delivery;
  c.frame_mac = {0x02, 0, 0, 0, 0, 0x99};
  c.rcvbuf_bytes = 4u << 20;
  c.port_id = 7;
  return c;
}

rte_mbuf* mbuf_of(const Bytes& bytes) {
  rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
  EXPECT_NE(m, nullptr);
  std::memcpy(rte_pktmbuf_append(m, static_cast<std::uint16_t>(bytes.size())), bytes.data(), bytes.size());
  return m;
}

// The same bytes as a chain of segments of at most `piece` bytes.
rte_mbuf* chain_of(const Bytes& bytes, std::size_t piece) {
  rte_mbuf* head = nullptr;
  for (std::size_t at = 0; at < bytes.size(); at += piece) {
    rte_mbuf* m = mbuf_of(Bytes(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                                bytes.begin() + static_cast<std::ptrdiff_t>(std::min(bytes.size(), at + piece))));
    if (head == nullptr) {
      head = m;
    } else {
      EXPECT_EQ(rte_pktmbuf_chain(head, m), 0);
    }
  }
  return head;
}

Bytes bytes_of(const rte_mbuf* m) {
  Bytes out(rte_pktmbuf_pkt_len(m));
  const void* p = rte_pktmbuf_read(m, 0, static_cast<std::uint32_t>(out.size()), out.data());
  if (p != out.data()) std::memcpy(out.data(), p, out.size());
  return out;
}

// Receives until `want` frames arrived or 5 s passed.
std::vector<rte_mbuf*> receive(UdpUplink& up, std::size_t want) {
  std::vector<rte_mbuf*> got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  rte_mbuf* burst[kBurstSize];
  while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
    const std::uint16_t n = up.rx_burst(0, burst, kBurstSize);
    got.insert(got.end(), burst, burst + n);
  }
  return got;
}

void free_all(std::vector<rte_mbuf*>& ms) {
  for (auto* m : ms) rte_pktmbuf_free(m);
  ms.clear();
}

std::uint32_t dst4(const UdpUplinkConfig&) { return 0x7f000001; }

// A TCP frame of `payload` bytes from flow `flow`, encapsulated to `to`.
Bytes pipeline_frame(const UdpUplinkConfig& to, std::uint32_t payload, std::uint16_t flow, std::uint16_t src_port,
                     std::uint8_t seed = 0) {
  InnerSpec s;
  s.payload = payload;
  s.src_port = flow;
  s.seed = seed;
  return test::outer_frame4(test::vxlan_payload(test::inner_frame(s)), dst4(to), to.udp_port, src_port);
}

struct Pair {
  std::unique_ptr<UdpUplink> a, b;
};
Pair open_pair(UdpDelivery b_delivery, bool v6 = false) {
  auto a = UdpUplink::open(config(v6, UdpDelivery::kPayload), g_pool);
  EXPECT_TRUE(a) << (a ? "" : a.error().message);
  auto b = UdpUplink::open(config(v6, b_delivery), g_pool);
  EXPECT_TRUE(b) << (b ? "" : b.error().message);
  if (!a || !b) return {};
  return Pair{std::move(*a), std::move(*b)};
}

TEST(UdpUplink, ConfigRefusesBadValues) {
  auto bad = [](auto edit) {
    UdpUplinkConfig c = config(false, UdpDelivery::kFrame);
    edit(c);
    return !c.validate();
  };
  EXPECT_FALSE(bad([](UdpUplinkConfig&) {}));
  EXPECT_TRUE(bad([](UdpUplinkConfig& c) { c.local = IpAddress{}; }));
  EXPECT_TRUE(bad([](UdpUplinkConfig& c) { c.udp_port = 0; }));
  EXPECT_TRUE(bad([](UdpUplinkConfig& c) { c.send_sockets = 0; }));
  EXPECT_TRUE(bad([](UdpUplinkConfig& c) { c.send_sockets = 65; }));
  EXPECT_TRUE(bad([](UdpUplinkConfig& c) {
    c.src_port_base = 65530;
    c.send_sockets = 7;
  }));
  EXPECT_TRUE(bad([](UdpUplinkConfig& c) { c.queues = 0; }));
  EXPECT_TRUE(bad([](UdpUplinkConfig& c) { c.mtu = 575; }));
  EXPECT_TRUE(bad([](UdpUplinkConfig& c) { c.mtu = 9217; }));
  EXPECT_TRUE(bad([](UdpUplinkConfig& c) {
    c.local = loopback(true);
    c.mtu = 1279;
  }));
  EXPECT_TRUE(bad([](UdpUplinkConfig& c) { c.rx_batch = 17; }));
  EXPECT_TRUE(bad([](UdpUplinkConfig& c) { c.rx_buffers = 4; }));
  EXPECT_TRUE(bad([](UdpUplinkConfig& c) { c.rcvbuf_bytes = 1000; }));
}

TEST(UdpUplink, AnotherSocketOnThePortIsAnError) {
  UdpUplinkConfig c = config(false, UdpDelivery::kFrame);
  auto first = UdpUplink::open(c, g_pool);
  ASSERT_TRUE(first);
  auto second = UdpUplink::open(c, g_pool);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("bind 127.0.0.1 port"), std::string::npos) << second.error().message;
}

TEST(UdpUplink, SourcePortsFromTheBaseSkippingTakenOnes) {
  UdpUplinkConfig c = config(false, UdpDelivery::kFrame);
  const std::uint16_t base = free_port(false);
  // Hold base + 1 with another socket.
  const int holder = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(base + 1));
  const bool held = bind(holder, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  c.src_port_base = base;
  c.send_sockets = 3;
  auto up = UdpUplink::open(c, g_pool);
  close(holder);
  if (!up) GTEST_SKIP() << "a port near " << base << " was taken meanwhile: " << up.error().message;
  const auto ports = (*up)->send_ports();
  ASSERT_EQ(ports.size(), 3U);
  EXPECT_EQ(ports[0], base);
  if (held) {
    EXPECT_EQ(ports[1], base + 2);
    EXPECT_EQ(ports[2], base + 3);
  }
}

TEST(UdpUplink, SameSizeDatagramsLeaveInUdpSegmentSendsAndSplitBackInOrder) {
  auto [a, b] = open_pair(UdpDelivery::kPayload);
  ASSERT_TRUE(a && b);
  // 47 full-size datagrams of one flow (one source socket): two sends
  // (44 + 3), received as two GRO buffers and split into 47 again.
  constexpr std::uint32_t kFull = 1472 - 8 - 14 - 20 - 32;
  std::vector<Bytes> sent;
  std::vector<rte_mbuf*> frames;
  for (std::uint32_t i = 0; i < 47; ++i) {
    sent.push_back(pipeline_frame(b->config(), kFull, 40000, 50001, static_cast<std::uint8_t>(i)));
    frames.push_back(mbuf_of(sent.back()));
  }
  ASSERT_EQ(a->tx_burst(0, frames.data(), static_cast<std::uint16_t>(frames.size())), 47);
  const auto tx = a->stats();
  EXPECT_EQ(tx[UdpCounter::tx_datagrams], 47U);
  EXPECT_EQ(tx[UdpCounter::tx_messages], 2U);
  EXPECT_EQ(tx[UdpCounter::tx_gso_messages], 2U);
  EXPECT_EQ(tx[UdpCounter::tx_syscalls], 1U);
  EXPECT_EQ(tx.tx_drops(), 0U);

  auto got = receive(*b, 47);
  ASSERT_EQ(got.size(), 47U);
  const auto rx = b->stats();
  EXPECT_EQ(rx[UdpCounter::rx_datagrams], 47U);
  EXPECT_EQ(rx[UdpCounter::rx_gro_batches], 2U);  // loopback keeps a UDP_SEGMENT send whole
  const std::uint16_t sport = a->send_ports()[50001 % 4];
  for (std::size_t i = 0; i < got.size(); ++i) {
    const Bytes payload(sent[i].begin() + 42, sent[i].end());
    EXPECT_EQ(bytes_of(got[i]), payload) << "datagram " << i;
    const OuterSource& src = outer_source(got[i]);
    EXPECT_EQ(src.family, Family::kIPv4);
    EXPECT_EQ(src.addr[0], 127);
    EXPECT_EQ(src.port, sport);
    EXPECT_EQ(got[i]->port, 7);
    EXPECT_EQ(rte_pktmbuf_headroom(got[i]), 0);  // nothing may be written in front of a datagram
    EXPECT_EQ(got[i]->ol_flags & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_L4_MASK), 0U);
  }
  free_all(got);
}

// A burst ends at a receive buffer's last datagram when one lies within it:
// two GRO buffers of 40 datagrams come out as 40 and 40 from bursts of 64,
// so each batch reaches the pipeline whole. The outer TOS of every datagram
// (IP_RECVTOS) travels with it, for RFC 6040 decapsulation.
TEST(UdpUplink, BurstsEndAtBatchBoundariesAndCarryTheOuterTos) {
  auto [a, b] = open_pair(UdpDelivery::kPayload);
  ASSERT_TRUE(a && b);
  constexpr std::uint32_t kFull = 1472 - 8 - 14 - 20 - 32;
  for (const std::uint8_t tos : {std::uint8_t{0x02}, std::uint8_t{0xb9}}) {
    std::vector<rte_mbuf*> frames;
    for (std::uint32_t i = 0; i < 40; ++i) {
      InnerSpec spec;
      spec.payload = kFull;
      spec.src_port = 40000;
      frames.push_back(mbuf_of(test::outer_frame4(test::vxlan_payload(test::inner_frame(spec)), dst4(b->config()),
                                                  b->config().udp_port, 50001, tos)));
    }
    ASSERT_EQ(a->tx_burst(0, frames.data(), 40), 40);
  }
  EXPECT_EQ(a->stats()[UdpCounter::tx_gso_messages], 2U);
  std::vector<rte_mbuf*> got;
  std::vector<std::uint16_t> bursts;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  rte_mbuf* burst[64];
  while (got.size() < 80 && std::chrono::steady_clock::now() < deadline) {
    const std::uint16_t n = b->rx_burst(0, burst, 64);
    if (n == 0) continue;
    bursts.push_back(n);
    got.insert(got.end(), burst, burst + n);
  }
  ASSERT_EQ(got.size(), 80U);
  EXPECT_EQ(bursts, (std::vector<std::uint16_t>{40, 40}));
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(outer_source(got[i]).tos, i < 40 ? 0x02 : 0xb9) << i;
  free_all(got);
}

TEST(UdpUplink, OneBatchCanMixFlowsAndTheSourcePortPicksTheSocket) {
  auto [a, b] = open_pair(UdpDelivery::kPayload);
  ASSERT_TRUE(a && b);
  // Three flows, same datagram size, outer source ports 0 and 4 (mod 4 = 0:
  // one socket, one send) and 5 (socket 1).
  std::vector<Bytes> sent = {
      pipeline_frame(b->config(), 800, 1, 49152, 1), pipeline_frame(b->config(), 800, 2, 49156, 2),
      pipeline_frame(b->config(), 800, 3, 49157, 3), pipeline_frame(b->config(), 800, 1, 49152, 4)};
  std::vector<rte_mbuf*> frames;
  frames.reserve(sent.size());
  for (const auto& s : sent) frames.push_back(mbuf_of(s));
  a->tx_burst(0, frames.data(), 4);
  EXPECT_EQ(a->stats()[UdpCounter::tx_messages], 2U);
  auto got = receive(*b, 4);
  ASSERT_EQ(got.size(), 4U);
  const auto ports = a->send_ports();
  // Socket 0's batch first (in order), then socket 1's datagram.
  const std::size_t expect_order[4] = {0, 1, 3, 2};
  for (std::size_t i = 0; i < 4; ++i) {
    const Bytes& s = sent[expect_order[i]];
    EXPECT_EQ(bytes_of(got[i]), Bytes(s.begin() + 42, s.end())) << i;
    EXPECT_EQ(outer_source(got[i]).port, ports[expect_order[i] == 2 ? 1 : 0]) << i;
  }
  EXPECT_EQ(b->stats()[UdpCounter::rx_gro_batches], 1U);
  free_all(got);
}

TEST(UdpUplink, ChainsAreGatheredWithoutCopyAndPartialChecksumsCompleted) {
  auto [a, b] = open_pair(UdpDelivery::kPayload);
  ASSERT_TRUE(a && b);
  InnerSpec s;
  s.partial = true;
  s.payload = 1200;
  const Bytes inner = test::inner_frame(s);
  const Bytes frame = test::outer_frame4(test::vxlan_payload(inner), 0x7f000001, b->config().udp_port, 50000);
  rte_mbuf* m = chain_of(frame, 128);  // headers through inner L4 (116 bytes) in the first segment
  m->ol_flags |= RTE_MBUF_F_TX_TUNNEL_VXLAN | RTE_MBUF_F_TX_OUTER_IPV4 | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
  m->outer_l2_len = 14;
  m->outer_l3_len = 20;
  m->l2_len = 8 + 8 + 14;
  m->l3_len = 20;
  m->l4_len = 32;
  ASSERT_GT(m->nb_segs, 10);
  a->tx_burst(0, &m, 1);
  EXPECT_EQ(a->stats()[UdpCounter::tx_sw_csum], 1U);
  auto got = receive(*b, 1);
  ASSERT_EQ(got.size(), 1U);
  const Bytes payload = bytes_of(got[0]);
  ASSERT_EQ(payload.size(), 8 + inner.size());
  EXPECT_TRUE(test::l4_checksum_ok(payload.data() + 8, 14));
  s.partial = false;
  EXPECT_EQ(Bytes(payload.begin() + 8, payload.end()), test::inner_frame(s));
  free_all(got);
}

TEST(UdpUplink, WhatCannotBeSentIsCountedNotSent) {
  auto [a, b] = open_pair(UdpDelivery::kPayload);
  ASSERT_TRUE(a && b);
  std::vector<rte_mbuf*> frames;
  frames.push_back(mbuf_of(pipeline_frame(b->config(), 1472 - 8 - 14 - 20 - 32 + 1, 1, 50000)));  // 1473 bytes
  Bytes arp(60, 0);
  arp[12] = 0x08;
  arp[13] = 0x06;
  frames.push_back(mbuf_of(arp));
  rte_mbuf* tso = mbuf_of(pipeline_frame(b->config(), 100, 1, 50000));
  tso->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
  frames.push_back(tso);
  frames.push_back(mbuf_of(pipeline_frame(b->config(), 1472 - 8 - 14 - 20 - 32, 1, 50000)));  // 1472: fits
  EXPECT_EQ(a->tx_burst(0, frames.data(), 4), 4);
  const auto st = a->stats();
  EXPECT_EQ(st[UdpCounter::tx_too_big], 1U);
  EXPECT_EQ(st[UdpCounter::tx_not_vxlan], 1U);
  EXPECT_EQ(st[UdpCounter::tx_gso_unsupported], 1U);
  EXPECT_EQ(st[UdpCounter::tx_datagrams], 1U);
  EXPECT_EQ(st.tx_drops(), 3U);
  auto got = receive(*b, 1);
  EXPECT_EQ(got.size(), 1U);
  free_all(got);
}

// Sends raw VXLAN payloads to `up` from a plain socket (a peer that is not us).
void send_raw(const UdpUplink& up, const std::vector<Bytes>& datagrams) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(up.config().udp_port);
  for (const auto& d : datagrams) {
    EXPECT_EQ(sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
              static_cast<ssize_t>(d.size()));
  }
  close(fd);
}

InnerSpec superframe_spec() {
  InnerSpec s;
  s.partial = true;
  s.payload = 1398 * 9 + 700;  // 10 segments at MSS 1398
  s.tcp_flags = 0x18;          // ACK PSH
  return s;
}

TEST(UdpUplink, APeersTcpSuperFrameIsDeliveredWholeWithTsoMetadata) {
  auto up = UdpUplink::open(config(false, UdpDelivery::kPayload), g_pool);
  ASSERT_TRUE(up);
  const Bytes d = test::vxlan_payload(test::inner_frame(superframe_spec()));
  send_raw(**up, {d});
  auto got = receive(**up, 1);
  ASSERT_EQ(got.size(), 1U);
  rte_mbuf* m = got[0];
  EXPECT_EQ(bytes_of(m), d);
  EXPECT_EQ(m->nb_segs, 1);
  EXPECT_EQ(m->ol_flags & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_IPV4),
            RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV4);
  EXPECT_EQ(m->tso_segsz, 1398);
  EXPECT_EQ(m->l2_len, 14);
  EXPECT_EQ(m->l3_len, 20);
  EXPECT_EQ(m->l4_len, 32);
  const auto st = (*up)->stats();
  EXPECT_EQ(st[UdpCounter::rx_superframes], 1U);
  EXPECT_EQ(st[UdpCounter::rx_partial_csum], 1U);
  free_all(got);
}

// A VXLAN TCP super-frame as the pipeline hands it to a port that takes
// them (tunnel metadata, partial inner checksum), `piece`-byte chain pieces.
rte_mbuf* pipeline_superframe(const UdpUplinkConfig& to, const InnerSpec& s, std::uint16_t mss, std::size_t piece) {
  rte_mbuf* m =
      chain_of(test::outer_frame4(test::vxlan_payload(test::inner_frame(s)), dst4(to), to.udp_port, 50001), piece);
  m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TUNNEL_VXLAN |
                 RTE_MBUF_F_TX_OUTER_IPV4;
  m->outer_l2_len = 14;
  m->outer_l3_len = 20;
  m->l2_len = 8 + 8 + 14;
  m->l3_len = 20;
  m->l4_len = 32;
  m->tso_segsz = mss;
  return m;
}

// Super-frames go in whole (UdpUplinkPort::tx_caps) and leave as the
// datagrams the pipeline's Segmenter would make of them, byte for byte
// (headers written per segment, payload gathered from the chain), one
// UDP_SEGMENT send for the lot; what cannot be cut is counted.
TEST(UdpUplink, SuperFramesLeaveAsTheSegmentersDatagramsGathered) {
  auto [a, b] = open_pair(UdpDelivery::kPayload);
  ASSERT_TRUE(a && b);
  const InnerSpec s = superframe_spec();
  LcoreCounters counters;
  auto segmenter = Segmenter::create(SegmentConfig{}, g_pool, g_pool, &counters);
  ASSERT_TRUE(segmenter);
  rte_mbuf* ref[kMaxSegments];
  const SegmentResult r = segmenter->segment(pipeline_superframe(b->config(), s, 1398, 2000), ref, kMaxSegments);
  ASSERT_FALSE(r.drop);
  ASSERT_EQ(r.count, 10);
  std::vector<Bytes> want;
  for (std::uint16_t i = 0; i < r.count; ++i) {
    const Bytes f = bytes_of(ref[i]);
    want.emplace_back(f.begin() + 42, f.end());
  }
  rte_pktmbuf_free_bulk(ref, r.count);

  rte_mbuf* frames[4] = {
      pipeline_superframe(b->config(), s, 1398, 1000),  // pieces: slices cross mbuf boundaries
      pipeline_superframe(b->config(), s, 0, 1000),     // no MSS
      pipeline_superframe(b->config(), s, 1450, 1000),  // segments larger than the MTU allows
      pipeline_superframe(b->config(), s, 1398, 2000),
  };
  frames[3]->ol_flags &= ~RTE_MBUF_F_TX_TUNNEL_MASK;  // TCP segmentation without VXLAN: not ours
  ASSERT_EQ(a->tx_burst(0, frames, 4), 4);
  const auto tx = a->stats();
  EXPECT_EQ(tx[UdpCounter::tx_superframes], 1U);
  EXPECT_EQ(tx[UdpCounter::tx_segments], 10U);
  EXPECT_EQ(tx[UdpCounter::tx_datagrams], 10U);
  EXPECT_EQ(tx[UdpCounter::tx_messages], 1U);
  EXPECT_EQ(tx[UdpCounter::tx_gso_messages], 1U);
  EXPECT_GE(tx[UdpCounter::tx_sw_csum_bytes], s.payload);
  EXPECT_EQ(tx[UdpCounter::tx_bad_superframe], 1U);
  EXPECT_EQ(tx[UdpCounter::tx_too_big], 1U);
  EXPECT_EQ(tx[UdpCounter::tx_gso_unsupported], 1U);
  EXPECT_EQ(tx.tx_drops(), 3U);

  auto got = receive(*b, 10);
  ASSERT_EQ(got.size(), 10U);
  for (std::size_t i = 0; i < got.size(); ++i) {
    const Bytes d = bytes_of(got[i]);
    EXPECT_EQ(d, want[i]) << "datagram " << i;
    EXPECT_TRUE(test::l4_checksum_ok(d.data() + 8, 14)) << "datagram " << i;
  }
  free_all(got);
}

TEST(UdpUplink, FrameModeSegmentsSuperFramesAndCompletesChecksums) {
  auto up = UdpUplink::open(config(false, UdpDelivery::kFrame), g_pool);
  ASSERT_TRUE(up);
  InnerSpec small;
  small.partial = true;
  small.payload = 300;
  const InnerSpec big = superframe_spec();
  send_raw(**up, {test::vxlan_payload(test::inner_frame(big)), test::vxlan_payload(test::inner_frame(small))});
  auto got = receive(**up, 11);
  ASSERT_EQ(got.size(), 11U);
  std::uint32_t payload = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const Bytes f = bytes_of(got[i]);
    ASSERT_GE(f.size(), 42U + 8 + 66);
    // What today's decapsulation expects: to our MAC and address, port; IPv4 header valid.
    EXPECT_EQ(f[5], 0x99);
    EXPECT_TRUE(test::ipv4_header_ok(f.data() + 14));
    EXPECT_EQ(test::get32(f.data() + 30), 0x7f000001U);
    EXPECT_EQ(test::get16(f.data() + 36), (*up)->config().udp_port);
    EXPECT_EQ(test::get16(f.data() + 38), f.size() - 34);
    EXPECT_TRUE(test::l4_checksum_ok(f.data() + 50, 14)) << "frame " << i;
    EXPECT_EQ(f[50], 0x02);  // the inner frame follows the VXLAN header
    if (i < 10) {
      EXPECT_LE(f.size() - 50 - 14, 1450U) << "segment " << i << " fits the endpoint MTU";
      payload += static_cast<std::uint32_t>(f.size() - 50 - 66);
    }
  }
  EXPECT_EQ(payload, big.payload);
  const auto st = (*up)->stats();
  EXPECT_EQ(st[UdpCounter::rx_superframes], 1U);
  EXPECT_EQ(st[UdpCounter::rx_segments], 10U);
  EXPECT_EQ(st[UdpCounter::rx_csum_completed], 1U);
  free_all(got);
}

// Frame mode receives into slots: full-size datagrams (a GRO batch of them,
// or one) each land in a slot of their own and become mbufs attached to it,
// the outer header written in front, no copy; each is the only user of its
// slot (writable, as coalescing needs). Small datagrams sharing a slot are
// copied out, as before. The buffers come back when their frames are freed.
TEST(UdpUplink, FrameModeReceivesFullSizeDatagramsInPlace) {
  UdpUplinkConfig bc = config(false, UdpDelivery::kFrame);
  bc.rx_buffers = 8;
  bc.rx_batch = 4;
  auto a = UdpUplink::open(config(false, UdpDelivery::kPayload), g_pool);
  auto b = UdpUplink::open(bc, g_pool);
  ASSERT_TRUE(a && b);
  constexpr std::uint32_t kFull = 1472 - 8 - 14 - 20 - 32;
  for (int round = 0; round < 12; ++round) {
    SCOPED_TRACE(round);
    std::vector<Bytes> sent;
    std::vector<rte_mbuf*> frames;
    for (std::uint32_t i = 0; i < 47; ++i) {  // two GRO batches: 44 + 3
      sent.push_back(pipeline_frame((*b)->config(), kFull, 40000, 50001, static_cast<std::uint8_t>(i + round)));
      frames.push_back(mbuf_of(sent.back()));
    }
    for (std::uint32_t i = 0; i < 5; ++i) {  // one GRO batch of small datagrams
      sent.push_back(pipeline_frame((*b)->config(), 100, 40001, 50002, static_cast<std::uint8_t>(i)));
      frames.push_back(mbuf_of(sent.back()));
    }
    ASSERT_EQ((*a)->tx_burst(0, frames.data(), static_cast<std::uint16_t>(frames.size())), frames.size());
    auto got = receive(**b, sent.size());
    ASSERT_EQ(got.size(), sent.size());
    // Datagrams of the two flows left from two sockets: match by flow.
    std::size_t full = 0, small = 0;
    for (rte_mbuf* m : got) {
      const Bytes f = bytes_of(m);
      ASSERT_GE(f.size(), 42U + 8 + 66);
      const bool is_full = f.size() == 42 + 1472;
      const Bytes& want = sent[is_full ? full++ : 47 + small++];
      EXPECT_EQ(Bytes(f.begin() + 42, f.end()), Bytes(want.begin() + 42, want.end()));
      EXPECT_EQ(f[5], 0x99);
      EXPECT_TRUE(test::ipv4_header_ok(f.data() + 14));
      EXPECT_EQ(test::get16(f.data() + 38), f.size() - 34);
      EXPECT_EQ(RTE_MBUF_HAS_EXTBUF(m) != 0, is_full);
      if (is_full) {
        EXPECT_EQ(rte_mbuf_ext_refcnt_read(m->shinfo), 1);
      }
    }
    EXPECT_EQ(full, 47U);
    EXPECT_EQ(small, 5U);
    free_all(got);
  }
  const auto st = (*b)->stats();
  EXPECT_EQ(st[UdpCounter::rx_datagrams], 12U * 52);
  EXPECT_EQ(st[UdpCounter::rx_gro_batches], 12U * 3);
  EXPECT_EQ(st[UdpCounter::rx_no_mbuf], 0U);
}

TEST(UdpUplink, RunsOverIpv6) {
  if (!ipv6_loopback_works()) GTEST_SKIP() << "no IPv6 loopback here";
  auto [a, b] = open_pair(UdpDelivery::kPayload, true);
  ASSERT_TRUE(a && b);
  InnerSpec s;
  s.payload = 1452 - 8 - 14 - 20 - 32;  // the largest datagram over IPv6 at 1500
  const Bytes payload = test::vxlan_payload(test::inner_frame(s));
  std::uint8_t dst[16] = {};
  dst[15] = 1;
  const Bytes f = test::outer_frame6(payload, dst, b->config().udp_port, 50000);
  std::vector<rte_mbuf*> frames = {mbuf_of(f), mbuf_of(f), mbuf_of(f)};
  Bytes too_big = payload;
  too_big.push_back(0);
  frames.push_back(mbuf_of(test::outer_frame6(too_big, dst, b->config().udp_port, 50000)));
  a->tx_burst(0, frames.data(), 4);
  EXPECT_EQ(a->stats()[UdpCounter::tx_gso_messages], 1U);
  EXPECT_EQ(a->stats()[UdpCounter::tx_too_big], 1U);
  auto got = receive(*b, 3);
  ASSERT_EQ(got.size(), 3U);
  for (auto* m : got) {
    EXPECT_EQ(bytes_of(m), payload);
    EXPECT_EQ(outer_source(m).family, Family::kIPv6);
    EXPECT_EQ(outer_source(m).addr[15], 1);
  }
  free_all(got);
}

TEST(UdpUplink, ReceiveBuffersComeBackWhenTheirDatagramsAreFreed) {
  UdpUplinkConfig c = config(false, UdpDelivery::kPayload);
  c.rx_buffers = 8;
  c.rx_batch = 4;
  auto up = UdpUplink::open(c, g_pool);
  ASSERT_TRUE(up);
  const Bytes d = test::vxlan_payload(test::inner_frame(InnerSpec{}));
  // 30 rounds of 8 datagrams: 240 buffers' worth through 8 buffers.
  for (int round = 0; round < 30; ++round) {
    send_raw(**up, std::vector<Bytes>(8, d));
    auto got = receive(**up, 8);
    ASSERT_EQ(got.size(), 8U) << "round " << round;
    free_all(got);
  }
  // Held datagrams hold their buffers: with all 8 held nothing more is read.
  send_raw(**up, std::vector<Bytes>(8, d));
  auto held = receive(**up, 8);
  ASSERT_EQ(held.size(), 8U);
  send_raw(**up, {d});
  rte_mbuf* burst[kBurstSize];
  EXPECT_EQ((*up)->rx_burst(0, burst, kBurstSize), 0);
  free_all(held);
  auto last = receive(**up, 1);
  EXPECT_EQ(last.size(), 1U);
  free_all(last);
  EXPECT_EQ((*up)->stats()[UdpCounter::rx_datagrams], 30U * 8 + 9);
}

TEST(UdpUplink, KernelDropsOnAFullSocketAreCountedInRxMissed) {
  UdpUplinkConfig c = config(false, UdpDelivery::kPayload);
  c.rcvbuf_bytes = 65536;
  auto up = UdpUplink::open(c, g_pool);
  ASSERT_TRUE(up);
  const Bytes d = test::vxlan_payload(test::inner_frame(InnerSpec{.payload = 1300}));
  constexpr std::size_t kSent = 2000;
  send_raw(**up, std::vector<Bytes>(kSent, d));  // nobody reads meanwhile
  const std::uint64_t missed = (*up)->stats()[UdpCounter::rx_missed];
  EXPECT_GT(missed, 0U);
  // Read what the socket kept, freeing as we go (each datagram holds a
  // receive buffer until freed).
  std::size_t received = 0;
  rte_mbuf* burst[kBurstSize];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (received + missed < kSent && std::chrono::steady_clock::now() < deadline) {
    const std::uint16_t n = (*up)->rx_burst(0, burst, kBurstSize);
    rte_pktmbuf_free_bulk(burst, n);
    received += n;
  }
  EXPECT_EQ(received + missed, kSent);
  EXPECT_EQ((*up)->stats()[UdpCounter::rx_missed], missed);
}

}  // namespace
}  // namespace ferry::dataplane::app
