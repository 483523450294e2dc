#include "dataplane/app/arp.h"

#include <gtest/gtest.h>

namespace ferry::dataplane::app {
namespace {

using namespace std::chrono_literals;
using dp_api::Ipv4;

MacAddress mac(const char* text) { return *parse_mac(text); }
Ipv4 ip(const char* text) { return *dp_api::parse_ipv4(text); }

TEST(ArpFrames, RequestIsByteExact) {
  std::array<std::uint8_t, kArpFrameSize> frame{};
  build_arp_request(frame, mac("02:fe:00:00:00:01"), ip("172.31.0.101"), ip("172.31.0.102"));
  // clang-format off
  const std::array<std::uint8_t, 42> expected{
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0xfe, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,  // Ethernet
      0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,                                      // ARP request
      0x02, 0xfe, 0x00, 0x00, 0x00, 0x01, 172,  31,   0,    101,                           // sender
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 172,  31,   0,    102};                          // target
  // clang-format on
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), frame.begin()));
  for (std::size_t i = expected.size(); i < frame.size(); ++i) EXPECT_EQ(frame[i], 0) << i;  // padding
}

TEST(ArpFrames, ReplyAnswersTheRequester) {
  std::array<std::uint8_t, kArpFrameSize> request{};
  build_arp_request(request, mac("02:00:00:00:00:02"), ip("10.0.0.2"), ip("10.0.0.1"));
  auto parsed = parse_arp(request);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->op, kArpRequest);
  EXPECT_EQ(parsed->sender_ip, ip("10.0.0.2"));
  EXPECT_EQ(parsed->target_ip, ip("10.0.0.1"));

  std::array<std::uint8_t, kArpFrameSize> reply{};
  build_arp_reply(reply, mac("02:00:00:00:00:01"), ip("10.0.0.1"), *parsed);
  auto answer = parse_arp(reply);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->op, kArpReply);
  EXPECT_EQ(answer->sender_mac, mac("02:00:00:00:00:01"));
  EXPECT_EQ(answer->sender_ip, ip("10.0.0.1"));
  EXPECT_EQ(answer->target_mac, mac("02:00:00:00:00:02"));
  EXPECT_EQ(answer->target_ip, ip("10.0.0.2"));
  EXPECT_TRUE(std::equal(reply.begin(), reply.begin() + 6, mac("02:00:00:00:00:02").bytes.begin()));
}

TEST(ArpFrames, EverythingElseIsNotArp) {
  std::array<std::uint8_t, kArpFrameSize> frame{};
  build_arp_request(frame, mac("02:00:00:00:00:02"), ip("10.0.0.2"), ip("10.0.0.1"));
  for (std::size_t n = 0; n < 42; ++n) {
    EXPECT_FALSE(parse_arp(std::span<const std::uint8_t>(frame.data(), n))) << "length " << n;
  }
  auto not_arp = frame;
  not_arp[13] = 0x00;  // EtherType 0x0800
  EXPECT_FALSE(parse_arp(not_arp));
  auto bad_op = frame;
  bad_op[21] = 3;
  EXPECT_FALSE(parse_arp(bad_op));
  auto bad_hlen = frame;
  bad_hlen[18] = 8;
  EXPECT_FALSE(parse_arp(bad_hlen));
}

class Resolver : public ::testing::Test {
 protected:
  UnderlayResolver::Params params() {
    UnderlayResolver::Params p;
    p.local = *dp_api::parse_ipv4_prefix("172.31.0.101/24");
    p.gateway = ip("172.31.0.254");
    p.reachable = 60s;
    p.probe_interval = 1s;
    p.fast_probes = 3;
    p.slow_probe_interval = 5s;
    return p;
  }
  UnderlayResolver::TimePoint t0{std::chrono::seconds(1000)};
};

TEST_F(Resolver, OnLinkVtepResolvesItselfOffLinkUsesGateway) {
  UnderlayResolver r(params());
  EXPECT_EQ(r.next_hop_for(ip("172.31.0.7")), ip("172.31.0.7"));
  EXPECT_EQ(r.next_hop_for(ip("10.9.9.9")), ip("172.31.0.254"));
  auto p = params();
  p.gateway.reset();
  UnderlayResolver no_gw(p);
  EXPECT_FALSE(no_gw.next_hop_for(ip("10.9.9.9")));
  no_gw.set_vteps({ip("10.9.9.9")});
  ASSERT_EQ(no_gw.unroutable().size(), 1U);
  EXPECT_TRUE(no_gw.due_probes(t0).empty());
}

TEST_F(Resolver, ProbesUntilAnsweredThenBacksOff) {
  UnderlayResolver r(params());
  r.set_vteps({ip("172.31.0.2"), ip("10.9.9.9"), ip("10.9.9.10")});  // two share the gateway
  auto due = r.due_probes(t0);
  ASSERT_EQ(due.size(), 2U);  // 172.31.0.2 and the gateway, once each
  EXPECT_TRUE(r.due_probes(t0 + 500ms).empty());
  EXPECT_EQ(r.due_probes(t0 + 1s).size(), 2U);
  EXPECT_EQ(r.due_probes(t0 + 2s).size(), 2U);
  // After fast_probes, every slow_probe_interval ("failed").
  EXPECT_TRUE(r.due_probes(t0 + 3s).empty());
  EXPECT_TRUE(r.due_probes(t0 + 6s).empty());
  EXPECT_EQ(r.due_probes(t0 + 7s).size(), 2U);
  EXPECT_EQ(r.entries(t0 + 7s)[0].state, "failed");
  EXPECT_FALSE(r.resolved_mac(ip("10.9.9.9"), t0 + 7s));

  EXPECT_TRUE(r.on_arp(ip("172.31.0.254"), mac("02:00:00:00:00:fe"), t0 + 8s));
  EXPECT_EQ(r.resolved_mac(ip("10.9.9.9"), t0 + 8s), mac("02:00:00:00:00:fe"));
  EXPECT_EQ(r.resolved_mac(ip("10.9.9.10"), t0 + 8s), mac("02:00:00:00:00:fe"));
  EXPECT_FALSE(r.resolved_mac(ip("172.31.0.2"), t0 + 8s));
  // Unrelated senders are ignored.
  EXPECT_FALSE(r.on_arp(ip("172.31.0.77"), mac("02:00:00:00:00:77"), t0 + 8s));
}

TEST_F(Resolver, RefreshesBeforeExpiryAndExpiresWithoutAnswer) {
  UnderlayResolver r(params());
  r.set_vteps({ip("172.31.0.2")});
  r.due_probes(t0);
  ASSERT_TRUE(r.on_arp(ip("172.31.0.2"), mac("02:00:00:00:00:02"), t0));
  EXPECT_TRUE(r.due_probes(t0 + 30s).empty());  // fresh: no probes
  EXPECT_EQ(r.entries(t0 + 30s)[0].state, "reachable");
  EXPECT_EQ(r.due_probes(t0 + 46s).size(), 1U);  // within the last quarter: refresh
  EXPECT_EQ(r.entries(t0 + 46s)[0].state, "stale");
  EXPECT_TRUE(r.resolved_mac(ip("172.31.0.2"), t0 + 59s));   // still usable while refreshing
  EXPECT_FALSE(r.resolved_mac(ip("172.31.0.2"), t0 + 60s));  // expired
  r.due_probes(t0 + 60s);
  EXPECT_EQ(r.entries(t0 + 60s)[0].state, "incomplete");
  // A late answer brings it back; a changed MAC is taken.
  ASSERT_TRUE(r.on_arp(ip("172.31.0.2"), mac("02:00:00:00:00:22"), t0 + 61s));
  EXPECT_EQ(r.resolved_mac(ip("172.31.0.2"), t0 + 61s), mac("02:00:00:00:00:22"));
}

TEST_F(Resolver, ForgetsNextHopsNoVtepNeeds) {
  UnderlayResolver r(params());
  r.set_vteps({ip("172.31.0.2"), ip("172.31.0.3")});
  EXPECT_EQ(r.entries(t0).size(), 2U);
  r.set_vteps({ip("172.31.0.3")});
  ASSERT_EQ(r.entries(t0).size(), 1U);
  EXPECT_EQ(r.entries(t0)[0].ip, ip("172.31.0.3"));
  EXPECT_FALSE(r.on_arp(ip("172.31.0.2"), mac("02:00:00:00:00:02"), t0));
  EXPECT_FALSE(r.on_arp(ip("172.31.0.3"), mac("ff:ff:ff:ff:ff:ff"), t0));  // broadcast is never a next hop
}

}  // namespace
}  // namespace ferry::dataplane::app
