// Membership under simulation: joins, crashes, loss, partitions, leaves and
// restarts, at up to 1 000 nodes. Every test prints its seed on failure;
// FERRY_SIM_SEED=<seed> replays one.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "control/gossip/sim_cluster.h"

namespace ferry::gossip {
namespace {

using namespace std::chrono_literals;

uint64_t test_seed(uint64_t fallback) {
  if (const char* s = std::getenv("FERRY_SIM_SEED")) return std::strtoull(s, nullptr, 0);
  return fallback;
}

// Counts, per observer, the members it declared dead while they were up.
class FalseDeadCounter {
 public:
  explicit FalseDeadCounter(SimCluster& sim) : sim_(sim) {}
  void check(const MemberInfo& info) {
    if (info.state != MemberState::kDead) return;
    const size_t j = std::strtoul(info.name.c_str() + 5, nullptr, 10);  // "node-<j>"
    if (j < sim_.size() && sim_.is_up(j)) ++false_dead_;
  }
  size_t false_dead_ = 0;

 private:
  SimCluster& sim_;
};

class EventDelegate final : public Delegate {
 public:
  explicit EventDelegate(FalseDeadCounter* counter) : counter_(counter) {}
  void notify_leave(const MemberInfo& info) override { counter_->check(info); }

 private:
  FalseDeadCounter* counter_;
};

struct World {
  World(size_t n, SimNetConfig net, uint64_t seed, Config config = Config{})
      : sim(config, net, seed), counter(sim) {
    delegates.reserve(n);
    for (size_t i = 0; i < n; ++i) delegates.push_back(std::make_unique<EventDelegate>(&counter));
    sim.set_node_hook([this](size_t i, Node& node) { node.set_delegate(delegates[i].get()); });
    sim.add_nodes(n);
  }
  SimCluster sim;
  FalseDeadCounter counter;
  std::vector<std::unique_ptr<EventDelegate>> delegates;
};

TEST(SimMembership, ThousandNodesAgree) {
  const uint64_t seed = test_seed(1);
  SCOPED_TRACE("seed " + std::to_string(seed));
  World w(1000, SimNetConfig{}, seed);
  w.sim.join_all(0, 5s);
  ASSERT_TRUE(w.sim.run_until([&] { return w.sim.converged(); }, 60s, 1s))
      << "disagreements: " << w.sim.disagreements();
  EXPECT_EQ(w.counter.false_dead_, 0u);
}

}  // namespace
}  // namespace ferry::gossip
