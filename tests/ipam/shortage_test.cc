// One pool's search for a donor (control/ipam/shortage.h): who may be
// asked, the weighting by blocks owned, the hint, the end of a round, and
// the error that names the latest refusals.
#include "control/ipam/shortage.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

namespace ferry::ipam {
namespace {

using Choice = Shortage::Choice;

const std::map<std::string, std::uint32_t> kOwners = {{"a", 10}, {"b", 30}, {"me", 50}, {"z", 60}};

bool all_alive(const std::string& /*name*/) { return true; }

TEST(Shortage, AsksOnlyReachableHostsNotRefusedAndNeverItself) {
  Shortage s;
  gossip::Rng rng(1);
  s.refused.insert("b");
  auto z_down = [](const std::string& name) { return name != "z"; };
  for (int i = 0; i < 50; ++i) {
    std::string donor;
    ASSERT_EQ(s.choose_donor(kOwners, "me", z_down, 4, rng, donor), Choice::kAsk);
    EXPECT_EQ(donor, "a");  // the only candidate
  }
}

TEST(Shortage, WeighsDonorsByBlocksOwned) {
  Shortage s;
  gossip::Rng rng(7);
  std::map<std::string, int> picks;
  for (int i = 0; i < 10000; ++i) {
    std::string donor;
    ASSERT_EQ(s.choose_donor(kOwners, "me", all_alive, 4, rng, donor), Choice::kAsk);
    ++picks[donor];
  }
  EXPECT_FALSE(picks.contains("me"));
  // Expected shares 10 : 30 : 60 of 10 000, within a generous margin.
  EXPECT_NEAR(picks["a"], 1000, 200);
  EXPECT_NEAR(picks["b"], 3000, 300);
  EXPECT_NEAR(picks["z"], 6000, 300);
}

TEST(Shortage, TheHintGoesFirstOnce) {
  Shortage s;
  gossip::Rng rng(3);
  s.hint = "a";
  std::string donor;
  ASSERT_EQ(s.choose_donor(kOwners, "me", all_alive, 4, rng, donor), Choice::kAsk);
  EXPECT_EQ(donor, "a");
  EXPECT_TRUE(s.hint.empty());
  s.hint = "b";
  s.refused.insert("b");  // a refused hint is ignored (and dropped)
  ASSERT_EQ(s.choose_donor(kOwners, "me", all_alive, 4, rng, donor), Choice::kAsk);
  EXPECT_NE(donor, "b");
  EXPECT_TRUE(s.hint.empty());
}

TEST(Shortage, RoundEndsWhenAllRefusedOrAttemptsUsedUp) {
  Shortage s;
  gossip::Rng rng(1);
  std::string donor;
  s.refused = {"a", "b", "z"};
  EXPECT_EQ(s.choose_donor(kOwners, "me", all_alive, 4, rng, donor), Choice::kRoundOver);
  s.refused.clear();
  s.attempts = 4;
  s.hint = "a";
  EXPECT_EQ(s.choose_donor(kOwners, "me", all_alive, 4, rng, donor), Choice::kRoundOver);
  const gossip::TimePoint at = gossip::TimePoint{} + std::chrono::seconds(3);
  s.refused.insert("a");
  s.end_round(at);
  EXPECT_EQ(s.attempts, 0u);
  EXPECT_TRUE(s.refused.empty());
  EXPECT_EQ(s.retry_at, at);
}

TEST(Shortage, NobodyReachable) {
  Shortage s;
  gossip::Rng rng(1);
  std::string donor;
  auto only_me = [](const std::string& name) { return name == "me"; };
  EXPECT_EQ(s.choose_donor(kOwners, "me", only_me, 4, rng, donor), Choice::kUnreachable);
  ASSERT_EQ(s.failures.size(), 1u);
  auto spec = PoolSpec::make("net", "10.0.0.0/24", "a", 4096);
  ASSERT_TRUE(spec);
  EXPECT_EQ(s.exhausted_message(*spec),
            "pool net (10.0.0.0/24): no free address on this host and no host reachable to donate space (no other "
            "owner of space in the pool is reachable)");
}

TEST(Shortage, APoolAllOfItsOwnIsFull) {
  Shortage s;
  gossip::Rng rng(1);
  std::string donor;
  EXPECT_EQ(s.choose_donor({{"me", 256}}, "me", all_alive, 4, rng, donor), Choice::kFull);
  EXPECT_TRUE(s.failures.empty());
  auto spec = PoolSpec::make("net", "10.1.0.0/29", "me", 4096);
  ASSERT_TRUE(spec);
  EXPECT_EQ(s.full_message(*spec), "no free address in 10.1.0.0/29");
}

TEST(Shortage, LooksFullWhenEveryOwnerAndEveryHostTheyNamedHasNoFreeBlock) {
  Shortage s;
  s.refuse("a", "a has no free block", true);
  s.refuse("b", "timeout");                         // a transient failure says nothing about space
  s.refuse("z", "z has no free block", true, "q");  // z knows of q, which this host's map does not
  EXPECT_FALSE(s.looks_full(kOwners, "me"));
  s.no_free_block.insert("b");
  EXPECT_FALSE(s.looks_full(kOwners, "me"));  // q has not answered
  s.refuse("q", "q has no free block", true, "me");
  EXPECT_TRUE(s.looks_full(kOwners, "me"));
  // Not a proof (maps may be behind): the search still runs to its end.
  gossip::Rng rng(1);
  std::string donor;
  s.end_round(gossip::TimePoint{});
  EXPECT_EQ(s.choose_donor(kOwners, "me", all_alive, 4, rng, donor), Choice::kAsk);
  auto spec = PoolSpec::make("net", "10.0.0.0/24", "a", 4096);
  ASSERT_TRUE(spec);
  EXPECT_EQ(s.full_message(*spec),
            "no free address in 10.0.0.0/24 (the other hosts with space in it have none free: a, b, q, z)");
  auto big = PoolSpec::make("net", "10.0.0.0/16", "a", 4096);
  ASSERT_TRUE(big);
  EXPECT_EQ(s.full_message(*big),
            "no free address in 10.0.0.0/16 for this host (the other hosts with space in it have no free block: a, b, "
            "q, z)");
  s.clear();
  EXPECT_TRUE(s.no_free_block.empty());
  EXPECT_TRUE(s.hinted.empty());
  EXPECT_FALSE(s.looks_full(kOwners, "me"));
}

TEST(Shortage, SameSeedSameDonors) {
  auto run = [](std::uint64_t seed) {
    Shortage s;
    gossip::Rng rng(seed);
    std::string out;
    for (int i = 0; i < 20; ++i) {
      std::string donor;
      s.choose_donor(kOwners, "me", all_alive, 4, rng, donor);
      out += donor;
    }
    return out;
  };
  EXPECT_EQ(run(5), run(5));
}

TEST(Shortage, ExhaustedMessageNamesTheLatestRefusals) {
  auto spec = PoolSpec::make("net", "10.0.0.0/24", "a", 4096);
  ASSERT_TRUE(spec);
  Shortage s;
  EXPECT_EQ(s.exhausted_message(*spec),
            "pool net (10.0.0.0/24): no free address on this host and no host gave space (no other host owns space "
            "in it)");
  s.refuse("a", "no free block");
  s.refuse("b", "timeout");
  EXPECT_EQ(s.exhausted_message(*spec),
            "pool net (10.0.0.0/24): no free address on this host and no host gave space (a: no free block; b: "
            "timeout)");
  EXPECT_EQ(s.refused, (std::set<std::string>{"a", "b"}));
  for (int i = 0; i < 6; ++i) s.refuse("h" + std::to_string(i), "no");
  const std::string msg = s.exhausted_message(*spec);
  EXPECT_NE(msg.find("8 refusals, the latest: h0: no; h1: no"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("a: no free block"), std::string::npos) << msg;
  s.clear();
  EXPECT_TRUE(s.failures.empty());
  EXPECT_TRUE(s.refused.empty());
  EXPECT_EQ(s.attempts, 0u);
}

}  // namespace
}  // namespace ferry::ipam
