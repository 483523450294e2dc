// The VTEP echo (vtep_echo.h): frames of the management VNI go from the
// uplink to the slow path, never to a port; the control side answers a
// request from a known VTEP, records a reply to its own request, and drops
// (counting) what comes from an unknown VTEP or is malformed. Host A of the
// harness talks with host B.
#include "dataplane/core/vtep_echo.h"

#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstring>

#include "tests/dataplane/core/harness.h"

namespace ferry::dataplane::test {
namespace {

using namespace std::chrono_literals;

constexpr Ipv4Addr kVtepC{0xac1f0703};  // 172.31.7.3: referenced by no table
const EchoIdentity kA{kVtepA, kUplinkMac, 4789};
const EchoIdentity kB{kVtepB, kRemoteHostMac, 4789};

Bytes bytes_of(const EchoFrame& f) { return Bytes(f.begin(), f.end()); }

// What the pipeline handed to the slow path, as bytes.
std::vector<Bytes> slow_path(Harness& h) {
  std::vector<Bytes> out;
  rte_mbuf* got[16];
  const unsigned n = rte_ring_dequeue_burst(h.pipeline().slow_path_rx(), reinterpret_cast<void**>(got), 16, nullptr);
  for (unsigned i = 0; i < n; ++i) {
    const auto* d = rte_pktmbuf_mtod(got[i], const std::uint8_t*);
    out.emplace_back(d, d + rte_pktmbuf_data_len(got[i]));
    rte_pktmbuf_free(got[i]);
  }
  return out;
}

class VtepEchoTest : public ::testing::Test {
 protected:
  void SetUp() override { h.program_host_a(); }
  void TearDown() override { EXPECT_EQ(h.mbufs_in_use(), 0u) << "mbuf leak"; }
  Harness h;
  VtepEcho::TimePoint t0{std::chrono::hours(1)};
};

TEST_F(VtepEchoTest, RequestFromAKnownVtepIsAnsweredAndNeverDelivered) {
  // B probes A: the frame goes to the slow path, nothing leaves a port.
  VtepEcho b(VtepEchoConfig{}, kB);
  b.set_targets({{kVtepA, kUplinkMac}});
  auto requests = b.due(t0);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_TRUE(h.from_uplink(bytes_of(requests[0])).empty());
  const auto st = h.stats();
  EXPECT_EQ(st[Counter::vtep_echo], 1u);
  EXPECT_EQ(st[Counter::slow_path], 1u);
  EXPECT_EQ(st[Counter::decap], 0u);
  EXPECT_EQ(st.total_drops(), 0u);
  const auto frames = slow_path(h);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], bytes_of(requests[0]));

  // A knows B (its tables reference it): it answers, to B's next hop.
  VtepEcho a(VtepEchoConfig{}, kA);
  a.set_targets({{kVtepB, kRemoteHostMac}});
  const auto reply = a.on_frame(frames[0], t0 + 1ms);
  ASSERT_TRUE(reply);
  EXPECT_EQ(a.counter(EchoCounter::requests_answered), 1u);
  const auto parsed = parse_echo_frame(*reply, VtepEchoConfig{}.vni);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->outer_src, kVtepA);
  EXPECT_EQ(parsed->msg.type, EchoMessage::kReply);
  EXPECT_EQ(parsed->msg.target, kVtepB);
  EXPECT_EQ(0, std::memcmp(reply->data(), kRemoteHostMac.bytes.data(), 6));  // outer destination: B's MAC
  EXPECT_EQ(a.status(t0 + 1ms)[0].last_request_ms, 0u);

  // B records the reply: B's A is alive, for alive_intervals intervals.
  EXPECT_FALSE(b.on_frame(*reply, t0 + 2ms));
  EXPECT_EQ(b.counter(EchoCounter::replies_received), 1u);
  auto s = b.status(t0 + 3s + 2ms);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(s[0].alive);
  EXPECT_EQ(s[0].replies, 1u);
  EXPECT_EQ(s[0].rtt_us, 2000u);
  EXPECT_EQ(s[0].last_reply_ms, 3000u);
  EXPECT_FALSE(b.status(t0 + 3s + 3ms)[0].alive);
  // A reply to a request never sent does not count.
  auto forged = *parsed;
  EchoFrame bogus{};
  forged.msg.seq = 77;
  build_echo_frame(bogus, kA, kVtepB, kRemoteHostMac, VtepEchoConfig{}.vni, 50000, forged.msg);
  EXPECT_FALSE(b.on_frame(bogus, t0 + 4s));
  EXPECT_EQ(b.counter(EchoCounter::unexpected_reply), 1u);
  EXPECT_EQ(b.status(t0 + 4s)[0].replies, 1u);
}

TEST_F(VtepEchoTest, UnknownSourcesAndMalformedFramesAreDroppedUnanswered) {
  // C is no peer of any network here: the pipeline still hands its echo to
  // the slow path (before any lookup), and the control side drops it.
  VtepEcho c(VtepEchoConfig{}, EchoIdentity{kVtepC, kRemoteHostMac, 4789});
  c.set_targets({{kVtepA, kUplinkMac}});
  const auto req = c.due(t0);
  ASSERT_EQ(req.size(), 1u);
  EXPECT_TRUE(h.from_uplink(bytes_of(req[0])).empty());
  const auto frames = slow_path(h);
  ASSERT_EQ(frames.size(), 1u);
  VtepEcho a(VtepEchoConfig{}, kA);
  a.set_targets({{kVtepB, kRemoteHostMac}});
  EXPECT_FALSE(a.on_frame(frames[0], t0));
  EXPECT_EQ(a.counter(EchoCounter::unknown_source), 1u);
  EXPECT_EQ(a.counter(EchoCounter::requests_answered), 0u);
  EXPECT_EQ(h.stats()[Counter::unknown_src_vtep], 0u);

  // A management-VNI frame carrying a tenant's frame: to the slow path,
  // malformed there, never delivered to the local port.
  const Bytes tenant = inner_udp(kLocalMac, kRemoteMac, kRemoteIp, kLocalIp, 1000, 2000, 64);
  EXPECT_TRUE(h.from_uplink(vxlan(tenant, VtepEchoConfig{}.vni)).empty());
  const auto more = slow_path(h);
  ASSERT_EQ(more.size(), 1u);
  EXPECT_FALSE(a.on_frame(more[0], t0));
  EXPECT_EQ(a.counter(EchoCounter::malformed), 1u);
  // The sender must be the outer source: a B frame naming C is refused.
  EchoMessage m{EchoMessage::kRequest, 1, kVtepC, kVtepA, 0};
  EchoFrame spoofed{};
  build_echo_frame(spoofed, kB, kVtepA, kUplinkMac, VtepEchoConfig{}.vni, 50000, m);
  EXPECT_FALSE(a.on_frame(spoofed, t0));
  EXPECT_EQ(a.counter(EchoCounter::wrong_target), 1u);
  EXPECT_EQ(h.stats()[Counter::vtep_echo], 2u);
  EXPECT_EQ(h.stats()[Counter::decap], 0u);
}

TEST_F(VtepEchoTest, TheEchoVniIsOnlyTheEchosWhenConfigured) {
  // With echo_vni 0 a frame of that VNI is an ordinary unknown VNI.
  PipelineConfig cfg = Harness::default_config();
  cfg.echo_vni = 0;
  Harness plain(cfg);
  plain.program_host_a();
  VtepEcho b(VtepEchoConfig{}, kB);
  b.set_targets({{kVtepA, kUplinkMac}});
  EXPECT_TRUE(plain.from_uplink(bytes_of(b.due(t0)[0])).empty());
  EXPECT_EQ(plain.stats()[Counter::vtep_echo], 0u);
  EXPECT_EQ(plain.stats()[Counter::unknown_vni], 1u);
}

TEST(VtepEcho, ProbesEveryResolvedTargetOncePerInterval) {
  VtepEcho a(VtepEchoConfig{}, kA);
  const VtepEcho::TimePoint t0{std::chrono::hours(1)};
  a.set_targets({{kVtepB, kRemoteHostMac}, {kVtepC, std::nullopt}, {kVtepA, kUplinkMac}});  // self ignored
  EXPECT_EQ(a.due(t0).size(), 1u);
  EXPECT_EQ(a.counter(EchoCounter::not_sent_unresolved), 1u);
  EXPECT_TRUE(a.due(t0 + 999ms).empty());
  EXPECT_EQ(a.due(t0 + 1s).size(), 1u);
  // A target the tables dropped is forgotten.
  a.set_targets({});
  EXPECT_TRUE(a.status(t0).empty());
  VtepEchoConfig off;
  off.interval = 0ms;
  VtepEcho quiet(off, kA);
  quiet.set_targets({{kVtepB, kRemoteHostMac}});
  EXPECT_TRUE(quiet.due(t0).empty());
  EXPECT_TRUE(off.validate());
  off.vni = 0;
  EXPECT_FALSE(off.validate());
}

}  // namespace
}  // namespace ferry::dataplane::test
