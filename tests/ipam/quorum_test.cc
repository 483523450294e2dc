// The IPAM's view of liveness (control/ipam/quorum.h), over a real gossip
// Node in the simulator: an owner dead past reclaim_after is doomed only
// with a majority alive, a cut-off host fences after fence_after, left
// members leave the vote, and owners the maps know count even when
// membership does not list them.
#include "control/ipam/quorum.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "control/gossip/node.h"
#include "control/gossip/sim_cluster.h"

namespace ferry::ipam {
namespace {

using namespace std::chrono_literals;
using gossip::SimCluster;

Config quick() {
  Config c;
  c.fence_after = 20s;
  c.reclaim_after = 40s;
  return c;
}

std::set<std::string> names(std::initializer_list<size_t> nodes) {
  std::set<std::string> out;
  for (const size_t i : nodes) out.insert(SimCluster::name_of(i));
  return out;
}

class QuorumTest : public testing::Test {
 protected:
  QuorumTest() : sim_(gossip::Config::lan(), {}, 5), config_(quick()) {
    sim_.add_nodes(5);
    sim_.bootstrap_converged();
    q_ = std::make_unique<Quorum>(config_, sim_.node(0), sim_.clock());
  }
  // The allocator's periodic check, every second for `d`.
  std::set<std::string> check_for(gossip::Duration d, const std::set<std::string>& owners) {
    std::set<std::string> doomed;
    const gossip::TimePoint end = sim_.now() + d;
    while (sim_.now() < end) {
      sim_.run_for(1s);
      doomed = q_->update(sim_.now(), owners);
    }
    return doomed;
  }

  SimCluster sim_;
  Config config_;
  std::unique_ptr<Quorum> q_;
};

TEST_F(QuorumTest, HealthyClusterDoomsNobody) {
  const auto owners = names({0, 1, 2, 3, 4});
  EXPECT_TRUE(check_for(60s, owners).empty());
  EXPECT_EQ(q_->cluster_size(), 5u);
  EXPECT_TRUE(q_->has_quorum(5));
  EXPECT_FALSE(q_->fenced());
  for (const auto& n : owners) EXPECT_TRUE(q_->alive(n)) << n;
  EXPECT_FALSE(q_->alive("stranger"));
}

TEST_F(QuorumTest, DeadOwnerIsDoomedAfterReclaimAfter) {
  const auto owners = names({0, 1, 2, 3, 4});
  sim_.crash(4);
  for (int i = 0; i < 60 && q_->alive(SimCluster::name_of(4)); ++i) check_for(1s, owners);  // failure detection
  ASSERT_FALSE(q_->alive(SimCluster::name_of(4)));
  // The check that just ran saw it dead first.
  EXPECT_TRUE(check_for(config_.reclaim_after - 2s, owners).empty());  // not yet
  EXPECT_EQ(check_for(4s, owners), names({4}));
  // Space the maps no longer show is nobody's to reclaim.
  EXPECT_TRUE(q_->update(sim_.now(), names({0, 1, 2, 3})).empty());
}

TEST_F(QuorumTest, MinoritySideFencesAndReclaimsNothing) {
  const auto owners = names({0, 1, 2, 3, 4});
  sim_.partition({0, 0, 1, 1, 1});  // node 0 sees only node 1
  check_for(15s, owners);
  EXPECT_FALSE(q_->has_quorum(q_->cluster_size()));
  EXPECT_FALSE(q_->fenced());  // not for fence_after yet
  EXPECT_TRUE(check_for(config_.fence_after, owners).empty());
  EXPECT_TRUE(q_->fenced());
  EXPECT_GE(q_->seconds_without_quorum(), 20.0);
  EXPECT_TRUE(check_for(60s, owners).empty());  // past reclaim_after: still nothing while fenced
  sim_.heal();
  check_for(40s, owners);
  EXPECT_FALSE(q_->fenced());
}

TEST_F(QuorumTest, LeftMembersLeaveTheVote) {
  for (size_t i = 2; i < 5; ++i) {
    auto info = sim_.node(0).member(SimCluster::name_of(i));
    ASSERT_TRUE(info);
    info->state = gossip::MemberState::kLeft;
    q_->on_leave(*info);
    EXPECT_TRUE(q_->has_left(SimCluster::name_of(i)));
    sim_.crash(i);
  }
  check_for(30s, names({0, 1}));
  EXPECT_EQ(q_->cluster_size(), 2u);  // 5 members listed, 3 of them left
  EXPECT_FALSE(q_->fenced());         // 2 of 2 alive
  q_->on_join(SimCluster::name_of(2));
  EXPECT_FALSE(q_->has_left(SimCluster::name_of(2)));
}

TEST(Quorum, OwnersCountWhenMembershipIsEmpty) {
  // A host restarted from its state into isolation: alone in membership,
  // but its maps name four other owners.
  SimCluster sim(gossip::Config::lan(), {}, 6);
  sim.add_nodes(1);
  const Config config = quick();
  Quorum q(config, sim.node(0), sim.clock());
  const std::set<std::string> owners = {SimCluster::name_of(0), "b", "c", "d", "e"};
  for (int i = 0; i < 25; ++i) {
    sim.run_for(1s);
    q.update(sim.now(), owners);
  }
  EXPECT_EQ(q.cluster_size(), 5u);
  EXPECT_TRUE(q.fenced());
}

}  // namespace
}  // namespace ferry::ipam
