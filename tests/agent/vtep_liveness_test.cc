// VtepLiveness: an owner is kept while one of its VTEPs answered the echo
// recently, for at most keep_max; IPAM's hold follows the VTEP alone; no
// reply from our own data plane means nobody is alive.
#include "control/agent/vtep_liveness.h"

#include <gtest/gtest.h>

namespace ferry::agent {
namespace {

using namespace std::chrono_literals;

dp_api::Ipv4 ip(const char* text) { return dp_api::parse_ipv4(text).value(); }

dp_api::VtepStatus status(std::uint32_t interval_ms,
                          const std::vector<std::pair<const char*, std::optional<std::uint64_t>>>& v) {
  dp_api::VtepStatus s;
  s.interval_ms = interval_ms;
  for (const auto& [addr, last] : v) {
    dp_api::VtepEchoEntry e;
    e.vtep = ip(addr);
    e.last_reply_ms = last;
    s.vteps.push_back(e);
  }
  return s;
}

struct Fixture {
  gossip::TimePoint t0{std::chrono::hours(1)};
  VtepLiveness live{VtepLivenessConfig{3, 60s}};
  Fixture() { live.set_owner_vteps({{"h2", {ip("172.31.0.2")}}, {"h3", {ip("172.31.0.3")}}}); }
};

TEST(VtepLiveness, AnOwnerAnswersWhileItsVtepRepliedWithinTheWindow) {
  Fixture f;
  EXPECT_FALSE(f.live.owner_answers("h2", f.t0));  // no reply from our data plane yet
  f.live.on_status(status(1000, {{"172.31.0.2", 200}, {"172.31.0.3", std::nullopt}}), f.t0);
  EXPECT_TRUE(f.live.owner_answers("h2", f.t0));
  EXPECT_FALSE(f.live.owner_answers("h3", f.t0));          // never answered
  EXPECT_FALSE(f.live.owner_answers("h9", f.t0));          // no VTEP known
  EXPECT_TRUE(f.live.owner_answers("h2", f.t0 + 2800ms));  // 3 s after its reply
  EXPECT_FALSE(f.live.owner_answers("h2", f.t0 + 2801ms));
  // Our own data plane stops answering: the last reply ages out.
  EXPECT_FALSE(f.live.hold_reclaim("h2", f.t0 + 10s));
  // A fresher reply moves it on; an older report does not move it back.
  f.live.on_status(status(1000, {{"172.31.0.2", 0}}), f.t0 + 10s);
  f.live.on_status(status(1000, {{"172.31.0.2", 5000}}), f.t0 + 10s);
  EXPECT_EQ(f.live.last_heard(ip("172.31.0.2")), f.t0 + 10s);
  EXPECT_TRUE(f.live.hold_reclaim("h2", f.t0 + 12s));
}

TEST(VtepLiveness, NoEchoMeansNoOwnerIsKept) {
  Fixture f;
  f.live.on_status(status(0, {{"172.31.0.2", 0}}), f.t0);  // --vtep-echo-ms 0
  EXPECT_FALSE(f.live.keep("h2", f.t0));
}

TEST(VtepLiveness, KeepIsBoundedAndEndsWhenTheVtepFallsSilent) {
  Fixture f;
  auto t = f.t0;
  for (; t < f.t0 + 59s; t += 1s) {
    f.live.on_status(status(1000, {{"172.31.0.2", 0}}), t);
    ASSERT_TRUE(f.live.keep("h2", t));
  }
  // keep_max (60 s) after the first keep: no more, though it answers.
  t += 1s;
  f.live.on_status(status(1000, {{"172.31.0.2", 0}}), t);
  EXPECT_FALSE(f.live.keep("h2", t));
  EXPECT_TRUE(f.live.hold_reclaim("h2", t));  // IPAM still waits on the VTEP
  // A new death later (not asked for a while): a new bound.
  t += 30s;
  f.live.on_status(status(1000, {{"172.31.0.2", 0}}), t);
  EXPECT_TRUE(f.live.keep("h2", t));
  // Silent: kept no more as soon as the window has passed.
  EXPECT_TRUE(f.live.keep("h2", t + 3s));
  EXPECT_FALSE(f.live.keep("h2", t + 3001ms));
  EXPECT_FALSE(f.live.hold_reclaim("h2", t + 3001ms));
}

TEST(VtepLiveness, KeepMaxZeroNeverKeeps) {
  VtepLiveness live{VtepLivenessConfig{3, 0ms}};
  live.set_owner_vteps({{"h2", {ip("172.31.0.2")}}});
  const gossip::TimePoint t{std::chrono::hours(1)};
  live.on_status(status(1000, {{"172.31.0.2", 0}}), t);
  EXPECT_FALSE(live.keep("h2", t));
  EXPECT_TRUE(live.hold_reclaim("h2", t));
}

}  // namespace
}  // namespace ferry::agent
