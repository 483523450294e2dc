// Membership under simulation: joins, crashes, loss, partitions, leaves and
// restarts, at up to 1 000 nodes. Every test prints its seed on failure;
// FERRY_SIM_SEED=<seed> replays one.
#include <gtest/gtest.h>

#include <cstdio>

#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "control/gossip/rng.h"
#include "control/gossip/sim_cluster.h"
#include "tests/common/log_capture.h"

namespace ferry::gossip {
namespace {

using namespace std::chrono_literals;

std::string fmt_seed(size_t nodes, uint64_t seed) {
  return std::to_string(nodes) + " nodes, seed " + std::to_string(seed) + " (FERRY_SIM_SEED replays from it)";
}

uint64_t test_seed(uint64_t fallback) {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): tests read the environment before any thread exists
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
  World(size_t n, SimNetConfig net, uint64_t seed, Config config = Config{}) : sim(config, net, seed), counter(sim) {
    delegates.reserve(n);
    for (size_t i = 0; i < n; ++i) delegates.push_back(std::make_unique<EventDelegate>(&counter));
    sim.set_node_hook([this](size_t i, Node& node) { node.set_delegate(delegates[i].get()); });
    sim.add_nodes(n);
  }
  SimCluster sim;
  FalseDeadCounter counter;
  std::vector<std::unique_ptr<EventDelegate>> delegates;
};

TEST(SimMembership, ThousandNodesJoinAndAgree) {
  const uint64_t seed = test_seed(1);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (FERRY_SIM_SEED replays)");
  World w(1000, SimNetConfig{}, seed);
  w.sim.join_all(0, 5s);
  ASSERT_TRUE(w.sim.run_until([&] { return w.sim.converged(); }, 60s, 1s))
      << "disagreements: " << w.sim.disagreements();
  EXPECT_EQ(w.counter.false_dead_, 0u);
  // Joins and push-pulls carry the whole member list: the largest legitimate
  // stream message, against which the transport's frame limit is set.
  RecordProperty("largest_stream_bytes", static_cast<int>(w.sim.largest_stream()));
  std::printf("1000 nodes: largest stream message %zu bytes (sim)\n", w.sim.largest_stream());
}

// Everyone (live) sees `i` as dead or left, or has forgotten it.
bool all_see_down(SimCluster& sim, size_t i) {
  const std::string name = SimCluster::name_of(i);
  for (size_t j = 0; j < sim.size(); ++j) {
    if (j == i || !sim.is_up(j)) continue;
    const auto st = sim.node(j).state_of(name);
    if (st && (*st == MemberState::kAlive || *st == MemberState::kSuspect)) return false;
  }
  return true;
}

TEST(SimMembership, TenPercentCrashAllDeclaredDead) {
  const uint64_t seed = test_seed(2);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (FERRY_SIM_SEED replays)");
  World w(1000, SimNetConfig{}, seed);
  w.sim.bootstrap_converged();
  w.sim.run_for(5s);
  Rng pick(seed);
  std::vector<size_t> crashed;
  while (crashed.size() < 100) {
    const size_t v = pick.below(1000);
    if (w.sim.is_up(v)) {
      w.sim.crash(v);
      crashed.push_back(v);
    }
  }
  const bool detected = w.sim.run_until(
      [&] {
        for (size_t v : crashed) {
          if (!all_see_down(w.sim, v)) return false;
        }
        return true;
      },
      60s, 500ms);
  EXPECT_TRUE(detected);
  // Dead, not merely forgotten, and by failure detection (not a leave).
  for (size_t j = 0; j < 1000; ++j) {
    if (!w.sim.is_up(j)) continue;
    for (size_t v : crashed) ASSERT_EQ(w.sim.node(j).state_of(SimCluster::name_of(v)), MemberState::kDead);
  }
  EXPECT_TRUE(w.sim.converged());
  EXPECT_EQ(w.counter.false_dead_, 0u);
}

TEST(SimMembership, FivePercentLossNoFalseDeathsOverTenMinutes) {
  const uint64_t seed = test_seed(3);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (FERRY_SIM_SEED replays)");
  SimNetConfig net;
  net.loss = 0.05;
  net.duplicate = 0.01;
  net.max_delay = std::chrono::milliseconds(10);  // wide spread: datagrams reorder
  World w(100, net, seed);
  w.sim.join_all(0, 2s);
  ASSERT_TRUE(w.sim.run_until([&] { return w.sim.converged(); }, 60s, 500ms));
  w.sim.run_for(std::chrono::minutes(10));
  EXPECT_EQ(w.counter.false_dead_, 0u);
  // Suspicions come and go under loss; nobody is dead or missing.
  EXPECT_TRUE(w.sim.converged(/*allow_suspect=*/true)) << w.sim.disagreements(true);
  uint64_t suspicions = 0;
  for (size_t i = 0; i < 100; ++i) suspicions += w.sim.node(i).counters()[Counter::suspect_raised];
  RecordProperty("suspicions_refuted", std::to_string(suspicions));
}

TEST(SimMembership, PartitionHealsAndConverges) {
  const uint64_t seed = test_seed(4);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (FERRY_SIM_SEED replays)");
  World w(100, SimNetConfig{}, seed);
  w.sim.join_all(0, 2s);
  ASSERT_TRUE(w.sim.run_until([&] { return w.sim.converged(); }, 60s, 500ms));
  std::vector<uint32_t> groups(100);
  for (size_t i = 0; i < 100; ++i) groups[i] = i < 40 ? 1 : 2;
  w.sim.partition(groups);
  // Each side declares the other dead.
  auto split_seen = [&] {
    for (size_t j = 0; j < 100; ++j) {
      if (w.sim.node(j).num_alive() != (j < 40 ? 40u : 60u)) return false;
    }
    return true;
  };
  ASSERT_TRUE(w.sim.run_until(split_seen, 60s, 500ms));
  EXPECT_EQ(w.sim.node(0).state_of("node-99"), MemberState::kDead);
  EXPECT_EQ(w.sim.node(99).state_of("node-0"), MemberState::kDead);
  w.sim.run_for(30s);
  w.sim.heal();
  EXPECT_TRUE(w.sim.run_until([&] { return w.sim.converged(); }, 120s, 500ms))
      << "disagreements: " << w.sim.disagreements();
}

TEST(SimMembership, GracefulLeaveIsSeenAsLeftNotDead) {
  const uint64_t seed = test_seed(5);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (FERRY_SIM_SEED replays)");
  World w(100, SimNetConfig{}, seed);
  w.sim.join_all(0, 2s);
  ASSERT_TRUE(w.sim.run_until([&] { return w.sim.converged(); }, 60s, 500ms));
  w.sim.leave(42);
  ASSERT_TRUE(w.sim.run_until([&] { return w.sim.node(42).leave_drained(); }, 10s, 10ms));
  w.sim.crash(42);  // the process exits after announcing
  ASSERT_TRUE(w.sim.run_until([&] { return all_see_down(w.sim, 42); }, 10s, 100ms));
  for (size_t j = 0; j < 100; ++j) {
    if (j != 42) {
      EXPECT_EQ(w.sim.node(j).state_of("node-42"), MemberState::kLeft) << j;
    }
  }
  EXPECT_EQ(w.counter.false_dead_, 0u);
  // Probing stops: nobody suspects or declares a left node dead later.
  w.sim.run_for(30s);
  for (size_t j = 0; j < 100; ++j) {
    if (j != 42) {
      EXPECT_EQ(w.sim.node(j).state_of("node-42"), MemberState::kLeft) << j;
    }
  }
}

TEST(SimMembership, CrashedNodeRestartsAndRejoins) {
  const uint64_t seed = test_seed(6);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (FERRY_SIM_SEED replays)");
  World w(100, SimNetConfig{}, seed);
  w.sim.join_all(0, 2s);
  ASSERT_TRUE(w.sim.run_until([&] { return w.sim.converged(); }, 60s, 500ms));
  const uint64_t old_boot = w.sim.node(7).boot_id();
  w.sim.crash(7);
  ASSERT_TRUE(w.sim.run_until([&] { return all_see_down(w.sim, 7); }, 30s, 100ms));
  const uint32_t dead_inc = w.sim.node(0).member("node-7")->incarnation;
  w.sim.restart(7);  // empty state, same name and address, incarnation 1
  w.sim.join(7, {3});
  ASSERT_TRUE(w.sim.run_until([&] { return w.sim.converged(); }, 30s, 100ms)) << w.sim.disagreements();
  EXPECT_GT(w.sim.node(7).incarnation(), dead_inc);  // jumped above what the others believed
  const auto seen = w.sim.node(50).member("node-7");
  ASSERT_TRUE(seen);
  EXPECT_NE(seen->boot_id, old_boot);
  EXPECT_EQ(w.sim.node(7).num_alive(), 100u);
}

TEST(SimMembership, FastRestartWithEmptyStateRelearnsThroughPushPull) {
  const uint64_t seed = test_seed(7);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (FERRY_SIM_SEED replays)");
  World w(200, SimNetConfig{}, seed);
  w.sim.join_all(0, 2s);
  ASSERT_TRUE(w.sim.run_until([&] { return w.sim.converged(); }, 60s, 500ms));
  w.sim.run_for(20s);  // let the join gossip drain: only push-pull can teach now
  w.sim.crash(9);
  w.sim.run_for(100ms);  // back before anyone could notice
  w.sim.restart(9);
  EXPECT_EQ(w.sim.node(9).num_members(), 1u);
  w.sim.join(9, {150});
  w.sim.run_for(50ms);                         // one stream round trip, no gossip round
  EXPECT_EQ(w.sim.node(9).num_alive(), 200u);  // the whole view in one exchange
  EXPECT_TRUE(w.sim.node(9).joined());
  ASSERT_TRUE(w.sim.run_until([&] { return w.sim.converged(); }, 30s, 100ms));
  EXPECT_EQ(w.counter.false_dead_, 0u);
}

// What an operator reads on the other hosts when one dies: each logs the
// suspicion, then the death, at info; nobody logs a partition.
TEST(SimMembership, DeadNodeIsLoggedSuspectThenDeadOnEveryOtherNode) {
  const uint64_t seed = test_seed(8);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (FERRY_SIM_SEED replays)");
  testing::LogCapture log;
  World w(5, SimNetConfig{}, seed);
  w.sim.set_log_sink(log.sink());
  w.sim.join_all(0, 1s);
  ASSERT_TRUE(w.sim.run_until([&] { return w.sim.converged(); }, 30s, 100ms));
  log.clear();
  w.sim.crash(3);
  ASSERT_TRUE(w.sim.run_until([&] { return all_see_down(w.sim, 3); }, 30s, 100ms));
  const auto lines = log.lines();
  for (size_t j = 0; j < 5; ++j) {
    if (j == 3) continue;
    const std::string who = SimCluster::name_of(j);
    std::optional<size_t> suspected, dead;
    for (size_t k = 0; k < lines.size(); ++k) {
      const auto& l = lines[k];
      if (l.logger != who || l.text.find("member node-3 (10.0.0.4:7946) ") == std::string::npos) continue;
      EXPECT_EQ(l.level, spdlog::level::info) << l.text;
      if (!suspected && l.text.find("suspected by") != std::string::npos) suspected = k;
      if (!dead && (l.text.find("confirmed dead") != std::string::npos ||
                    l.text.find("declared dead by") != std::string::npos)) {
        dead = k;
      }
    }
    ASSERT_TRUE(suspected) << who << '\n' << log.dump();
    ASSERT_TRUE(dead) << who << '\n' << log.dump();
    EXPECT_LT(*suspected, *dead) << who;
  }
  EXPECT_TRUE(log.find(spdlog::level::warn, {}).empty()) << log.dump();
  EXPECT_EQ(w.counter.false_dead_, 0u);
}

// Lines after `from` in which a node suspects, or declares dead, a member of
// its own side of a partition (`group_of`), as "observer -> subject: text".
std::vector<std::string> same_side_accusations(const std::vector<testing::LogLine>& lines, size_t from,
                                               const std::vector<uint32_t>& group_of) {
  std::vector<std::string> out;
  for (size_t k = from; k < lines.size(); ++k) {
    const auto& l = lines[k];
    const bool accusation = l.text.find(" suspected") != std::string::npos || l.text.find(" dead") != std::string::npos;
    const auto at = l.text.find("member node-");
    if (!accusation || at == std::string::npos) continue;
    const size_t observer = std::strtoul(l.logger.c_str() + 5, nullptr, 10);
    const size_t subject = std::strtoul(l.text.c_str() + at + 12, nullptr, 10);
    if (group_of[observer] == group_of[subject]) out.push_back(l.logger + ": " + l.text);
  }
  return out;
}

// At a heal, the side that was cut off still holds the members of the other
// side dead, and its push-pulls carry that view across. A member of the other
// side that answered all along must not be suspected on that word: this
// used to happen at every heal (each healthy member briefly suspect, then
// refuting). Several seeds and two shapes; each must converge, with no
// member accused by its own side after the heal.
TEST(SimMembership, HealDoesNotSuspectHealthyMembers) {
  struct Shape {
    size_t nodes;
    size_t cut;  // nodes [0, cut) on one side
    int seeds;
  };
  const uint64_t base = test_seed(100);
  for (const Shape& shape : {Shape{3, 1, 20}, Shape{10, 3, 5}}) {
    for (uint64_t seed = base; seed < base + static_cast<uint64_t>(shape.seeds); ++seed) {
      SCOPED_TRACE(fmt_seed(shape.nodes, seed));
      testing::LogCapture log;
      SimCluster sim(Config{}, SimNetConfig{}, seed);
      sim.set_log_sink(log.sink());
      sim.add_nodes(shape.nodes);
      sim.join_all(0, 1s);
      ASSERT_TRUE(sim.run_until([&] { return sim.converged(); }, 120s, 100ms));
      std::vector<uint32_t> groups(shape.nodes);
      for (size_t i = 0; i < shape.nodes; ++i) groups[i] = i < shape.cut ? 1 : 2;
      sim.partition(groups);
      auto split_seen = [&] {
        for (size_t j = 0; j < shape.nodes; ++j) {
          if (sim.node(j).num_alive() != (j < shape.cut ? shape.cut : shape.nodes - shape.cut)) return false;
        }
        return true;
      };
      ASSERT_TRUE(sim.run_until(split_seen, 60s, 100ms));
      sim.run_for(20s);
      const size_t healed_at = log.lines().size();
      std::vector<uint64_t> refutes_before(shape.nodes);
      for (size_t j = 0; j < shape.nodes; ++j) refutes_before[j] = sim.node(j).counters()[Counter::refutes];
      sim.heal();
      ASSERT_TRUE(sim.run_until([&] { return sim.converged(); }, 120s, 100ms)) << sim.disagreements();
      sim.run_for(5s);
      const auto accused = same_side_accusations(log.lines(), healed_at, groups);
      EXPECT_TRUE(accused.empty()) << accused.size() << " same-side accusations, first: " << accused.front();
      // Each member refuted its death on the other side once, no more.
      for (size_t j = 0; j < shape.nodes; ++j) {
        EXPECT_EQ(sim.node(j).counters()[Counter::refutes] - refutes_before[j], 1u) << SimCluster::name_of(j);
      }
    }
  }
}

TEST(SimMembership, SameSeedSameRun) {
  auto run = [](uint64_t seed) {
    SimNetConfig net;
    net.loss = 0.05;
    net.duplicate = 0.02;
    SimCluster sim(Config{}, net, seed);
    sim.add_nodes(50);
    sim.join_all(0, 1s);
    sim.run_for(5s);
    sim.crash(10);
    sim.run_for(10s);
    std::ostringstream fingerprint;
    fingerprint << sim.events_processed();
    for (size_t i = 0; i < 50; ++i) {
      if (!sim.is_up(i)) continue;
      fingerprint << ',' << sim.node(i).incarnation() << ':' << sim.node(i).num_alive() << ':' << sim.bytes_sent(i);
    }
    return fingerprint.str();
  };
  EXPECT_EQ(run(11), run(11));
  EXPECT_NE(run(11), run(12));
}

}  // namespace
}  // namespace ferry::gossip
