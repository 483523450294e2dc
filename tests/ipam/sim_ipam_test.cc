// The distributed IPAM under the deterministic simulator: concurrent
// allocation on 3 and 100 hosts never yields a duplicate, partitioned hosts
// keep allocating from their own space and fail clearly when it runs out, a
// dead host's space is reclaimed after reclaim_after and not before, a
// restarted host gets its blocks and addresses back from its saved state, a
// cut-off host fences itself before the majority takes its space. Every run
// is seeded (FERRY_SIM_SEED replays one); failures print the seed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "control/gossip/node.h"
#include "control/gossip/sim_cluster.h"
#include "control/ipam/allocator.h"

namespace ferry::ipam {
namespace {

using namespace std::chrono_literals;
using gossip::SimCluster;

constexpr Addr kSubnet24 = 0x0a000000;  // 10.0.0.0

std::uint64_t seed_or(std::uint64_t fallback) {
  const char* s = std::getenv("FERRY_SIM_SEED");  // NOLINT(concurrency-mt-unsafe): single-threaded test
  return s != nullptr ? std::strtoull(s, nullptr, 10) : fallback;
}

// One allocation's outcome, as the caller saw it.
struct Outcome {
  std::size_t node = 0;
  std::optional<Result<Addr>> result;
};

class IpamSim {
 public:
  IpamSim(std::size_t n, std::uint64_t seed, Config config = {}, gossip::SimNetConfig net = {})
      : sim_(gossip::Config::lan(), net, seed), config_(config) {
    sim_.set_node_hook([this](std::size_t i, gossip::Node& node) {
      if (allocs_.size() <= i) allocs_.resize(i + 1);
      allocs_[i] = std::make_unique<Allocator>(config_, node, sim_.clock(), gossip::mix_seed(sim_.seed() ^ (i << 8)));
      if (auto it = disk_.find(i); it != disk_.end()) {
        auto r = allocs_[i]->restore(it->second);
        EXPECT_TRUE(r) << r.error().message;
      }
      allocs_[i]->set_persist([this, i](const std::string& snap) -> Result<void> {
        if (fail_persist_) return make_error("disk full");
        disk_[i] = snap;
        return ok();
      });
      node.set_delegate(allocs_[i].get());
    });
    sim_.add_nodes(n);
  }

  SimCluster& sim() { return sim_; }
  Allocator& at(std::size_t i) { return *allocs_[i]; }
  std::size_t size() const { return allocs_.size(); }

  void join_all() {
    sim_.join_all(0, 1s);
    ASSERT_TRUE(sim_.run_until([&] { return sim_.converged(); }, 60s)) << "seed " << sim_.seed();
  }

  void ensure_everywhere(const std::string& pool, Addr subnet, std::uint32_t len) {
    for (std::size_t i = 0; i < size(); ++i) {
      if (!sim_.is_up(i)) continue;
      ASSERT_TRUE(at(i).ensure_pool(pool, subnet, len, SimCluster::name_of(0)));
    }
  }
  void ensure_everywhere(const std::string& pool, std::string_view cidr) {
    for (std::size_t i = 0; i < size(); ++i) {
      if (!sim_.is_up(i)) continue;
      auto r = at(i).ensure_pool(pool, cidr, SimCluster::name_of(0));
      ASSERT_TRUE(r) << r.error().message;
    }
  }
  // Makes the next persist calls fail (a full disk).
  void fail_persist(bool on) { fail_persist_ = on; }

  // Starts an allocation on node i; its outcome lands in outcomes().
  void allocate(std::size_t i, const std::string& pool, const std::string& handle,
                std::optional<Addr> want = std::nullopt) {
    const std::size_t slot = outcomes_.size();
    outcomes_.push_back(Outcome{i, std::nullopt});
    at(i).allocate(pool, handle, want, [this, slot](Result<Addr> r) { outcomes_[slot].result = std::move(r); });
    sim_.reschedule(i);
  }

  bool all_done() const {
    for (const Outcome& o : outcomes_) {
      if (!o.result) return false;
    }
    return true;
  }
  std::vector<Outcome>& outcomes() { return outcomes_; }

  void crash(std::size_t i) {
    sim_.crash(i);
    allocs_[i].reset();
  }
  void restart(std::size_t i) { sim_.restart(i); }

  // Every address held by a live host's allocator: a duplicate fails.
  void expect_no_duplicates(const std::string& pool) {
    std::map<Addr, std::size_t> holder;
    for (std::size_t i = 0; i < size(); ++i) {
      if (!sim_.is_up(i)) continue;
      for (const auto& [ip, handle] : at(i).allocations(pool)) {
        auto [it, fresh] = holder.emplace(ip, i);
        EXPECT_TRUE(fresh) << at(i).spec(pool)->format(ip) << " held by node " << it->second << " and node " << i
                           << ", seed " << sim_.seed();
      }
    }
  }

  // Live hosts agree on the whole ownership map.
  bool maps_agree(const std::string& pool) {
    const BlockMap* first = nullptr;
    for (std::size_t i = 0; i < size(); ++i) {
      if (!sim_.is_up(i)) continue;
      const BlockMap* m = at(i).map(pool);
      if (m == nullptr) return false;
      if (first == nullptr) {
        first = m;
      } else if (!(*m == *first)) {
        return false;
      }
    }
    return true;
  }

  // Every allocation lies in a block its host owns in every live host's map.
  void expect_allocations_owned(const std::string& pool) {
    for (std::size_t i = 0; i < size(); ++i) {
      if (!sim_.is_up(i)) continue;
      const std::string name = SimCluster::name_of(i);
      for (const auto& [ip, handle] : at(i).allocations(pool)) {
        for (std::size_t j = 0; j < size(); ++j) {
          if (!sim_.is_up(j)) continue;
          const BlockMap* m = at(j).map(pool);
          const PoolSpec* s = at(j).spec(pool);
          ASSERT_NE(m, nullptr);
          EXPECT_EQ(m->owner(s->block_of(ip)), name)
              << s->format(ip) << " of node " << i << " seen owned elsewhere by node " << j << ", seed " << sim_.seed();
        }
      }
    }
  }

 private:
  SimCluster sim_;
  Config config_;
  std::vector<std::unique_ptr<Allocator>> allocs_;
  std::map<std::size_t, std::string> disk_;  // what each host persisted
  std::vector<Outcome> outcomes_;
  bool fail_persist_ = false;
};

void run_concurrent(std::size_t nodes, std::size_t per_node, std::string_view cidr, std::uint64_t seed) {
  IpamSim s(nodes, seed_or(seed), Config{}, gossip::SimNetConfig{.loss = 0.01});
  SCOPED_TRACE(testing::Message() << cidr << ", seed " << s.sim().seed());
  s.join_all();
  s.ensure_everywhere("net", cidr);
  // Every host asks at the same simulated instant, before any gossip.
  for (std::size_t k = 0; k < per_node; ++k) {
    for (std::size_t i = 0; i < nodes; ++i) s.allocate(i, "net", "ep-" + std::to_string(i) + "-" + std::to_string(k));
  }
  ASSERT_TRUE(s.sim().run_until([&] { return s.all_done(); }, 60s));
  std::set<Addr> seen;
  std::size_t failed = 0;
  for (const Outcome& o : s.outcomes()) {
    if (!*o.result) {
      ++failed;
      ADD_FAILURE() << "node " << o.node << ": " << o.result->error().message;
      continue;
    }
    EXPECT_TRUE(seen.insert(**o.result).second) << "duplicate " << s.at(0).spec("net")->format(**o.result);
  }
  EXPECT_EQ(failed, 0U);
  EXPECT_EQ(seen.size(), nodes * per_node);
  s.expect_no_duplicates("net");
  // Gossip alone (no push-pull needed) brings every map to agreement quickly.
  ASSERT_TRUE(s.sim().run_until([&] { return s.maps_agree("net"); }, 10s)) << "maps did not converge by gossip";
  s.expect_allocations_owned("net");
}

TEST(IpamSim, ConcurrentAllocationOnThreeHostsNeverDuplicates) {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) run_concurrent(3, 60, "10.0.0.0/24", seed);  // 180 of 253
}

TEST(IpamSim, ConcurrentAllocationOnHundredHostsNeverDuplicates) {
  run_concurrent(100, 5, "10.1.0.0/16", 2);  // 16-address blocks, donations spread across the cluster
}

TEST(IpamSim, ConcurrentAllocationOnIpv6PoolsNeverDuplicates) {
  // A /120: 256 one-address blocks, as tight as the IPv4 /24 case.
  for (std::uint64_t seed = 1; seed <= 5; ++seed) run_concurrent(3, 60, "fd00:1::100/120", seed);
  // A /64: a 2^24 window in 4096-address blocks, on more hosts.
  run_concurrent(20, 10, "fd00:2::/64", 3);
}

TEST(IpamSim, SpecificIpv6AddressComesFromItsOwnerByDonation) {
  IpamSim s(3, seed_or(12));
  SCOPED_TRACE(testing::Message() << "seed " << s.sim().seed());
  s.join_all();
  s.ensure_everywhere("v6", "fd00:7::/120");
  const PoolSpec& spec = *s.at(0).spec("v6");
  const Addr want = *spec.parse("fd00:7::c8");  // in node 0's (genesis) space
  s.allocate(1, "v6", "mine", want);
  s.allocate(2, "v6", "also-mine", want);
  for (int k = 0; k < 10; ++k) s.allocate(1 + k % 2, "v6", "any-" + std::to_string(k));
  ASSERT_TRUE(s.sim().run_until([&] { return s.all_done(); }, 30s));
  const auto& r1 = *s.outcomes()[0].result;
  const auto& r2 = *s.outcomes()[1].result;
  ASSERT_NE(static_cast<bool>(r1), static_cast<bool>(r2));
  EXPECT_EQ(spec.format(r1 ? *r1 : *r2), "fd00:7::c8");
  const auto& loser = r1 ? r2 : r1;
  EXPECT_NE(loser.error().message.find("fd00:7::c8"), std::string::npos) << loser.error().message;
  for (std::size_t k = 2; k < s.outcomes().size(); ++k) EXPECT_TRUE(*s.outcomes()[k].result);
  EXPECT_GT(s.at(1).counter(Counter::blocks_received) + s.at(2).counter(Counter::blocks_received), 0U);
  ASSERT_TRUE(s.sim().run_until([&] { return s.maps_agree("v6"); }, 10s));
  s.expect_no_duplicates("v6");
  s.expect_allocations_owned("v6");
}

TEST(IpamSim, PartitionedHostAllocatesFromItsOwnSpaceThenFailsClearly) {
  IpamSim s(3, seed_or(3));
  SCOPED_TRACE(testing::Message() << "seed " << s.sim().seed());
  s.join_all();
  s.ensure_everywhere("net", kSubnet24, 24);
  s.allocate(2, "net", "first");  // node 2 obtains space by donation
  s.allocate(1, "net", "first");
  ASSERT_TRUE(s.sim().run_until([&] { return s.all_done(); }, 30s));
  ASSERT_TRUE(*s.outcomes()[0].result);
  s.sim().run_for(5s);
  const std::uint32_t own = s.at(2).free_addresses("net");
  ASSERT_GT(own, 0U);

  s.sim().partition({0, 0, 1});
  s.sim().run_for(10s);  // both sides declare the other dead
  // Node 2 allocates everything it owns, with the others out of reach.
  const std::size_t start = s.outcomes().size();
  for (std::uint32_t k = 0; k < own; ++k) s.allocate(2, "net", "p-" + std::to_string(k));
  ASSERT_TRUE(s.sim().run_until([&] { return s.all_done(); }, 5s));
  for (std::size_t k = start; k < s.outcomes().size(); ++k) {
    ASSERT_TRUE(*s.outcomes()[k].result) << s.outcomes()[k].result->error().message;
  }
  // The majority side keeps allocating too.
  for (int k = 0; k < 20; ++k) s.allocate(0, "net", "m-" + std::to_string(k));
  // One more on node 2: it owns nothing free and no donor is reachable.
  const std::size_t last = s.outcomes().size();
  s.allocate(2, "net", "one-too-many");
  ASSERT_TRUE(s.sim().run_until([&] { return s.all_done(); }, 30s));
  const auto& r = *s.outcomes()[last].result;
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no free address on this host and no host reachable to donate space"),
            std::string::npos)
      << r.error().message;
  for (std::size_t k = last + 1; k < s.outcomes().size(); ++k) EXPECT_TRUE(*s.outcomes()[k].result);

  s.sim().heal();
  ASSERT_TRUE(s.sim().run_until([&] { return s.sim().converged() && s.maps_agree("net"); }, 120s));
  s.expect_no_duplicates("net");
  s.expect_allocations_owned("net");
  for (std::size_t i = 0; i < 3; ++i) EXPECT_TRUE(s.at(i).conflicts().empty());
}

// A full pool is reported as full: at once on the host that owns all of it,
// and at the end of the search on a host whose donors all have no free block.
TEST(IpamSim, FullPoolIsReportedAsFull) {
  IpamSim s(2, seed_or(5));
  SCOPED_TRACE(testing::Message() << "seed " << s.sim().seed());
  s.join_all();
  s.ensure_everywhere("net", "10.1.0.0/29");  // 5 usable addresses, all node-0's
  for (int k = 0; k < 5; ++k) s.allocate(0, "net", "ep-" + std::to_string(k));
  ASSERT_TRUE(s.sim().run_until([&] { return s.all_done(); }, 5s));
  for (const auto& o : s.outcomes()) ASSERT_TRUE(*o.result) << o.result->error().message;
  s.sim().run_for(2s);
  std::size_t first = s.outcomes().size();
  s.allocate(0, "net", "one-too-many");
  ASSERT_TRUE(s.outcomes()[first].result.has_value()) << "a full pool of one owner must fail at once";
  ASSERT_FALSE(*s.outcomes()[first].result);
  EXPECT_EQ(s.outcomes()[first].result->error().message, "no free address in 10.1.0.0/29");
  first = s.outcomes().size();
  s.allocate(1, "net", "elsewhere");
  ASSERT_TRUE(s.sim().run_until([&] { return s.all_done(); }, 30s));
  ASSERT_FALSE(*s.outcomes()[first].result);
  EXPECT_EQ(s.outcomes()[first].result->error().message,
            "no free address in 10.1.0.0/29 (the other hosts with space in it have none free: node-0)");
}

Config fast_reclaim() {
  Config c;
  c.reclaim_after = 20s;
  c.fence_after = 10s;
  c.reclaim_settle = 3s;
  return c;
}

TEST(IpamSim, DeadHostSpaceIsReclaimedAfterReclaimAfterAndNotBefore) {
  IpamSim s(3, seed_or(4), fast_reclaim());
  SCOPED_TRACE(testing::Message() << "seed " << s.sim().seed());
  s.join_all();
  s.ensure_everywhere("net", kSubnet24, 24);
  for (std::size_t i = 0; i < 3; ++i) s.allocate(i, "net", "a");
  ASSERT_TRUE(s.sim().run_until([&] { return s.all_done(); }, 30s));
  ASSERT_TRUE(s.sim().run_until([&] { return s.maps_agree("net"); }, 60s));
  const std::string dead = SimCluster::name_of(2);
  const std::uint32_t blocks = s.at(0).map("net")->count_of(dead);
  ASSERT_GT(blocks, 0U);

  const gossip::TimePoint crashed = s.sim().now();
  s.crash(2);
  // Failure detection takes a few seconds; reclaim waits 20 s more.
  s.sim().run_until(crashed + 20s);
  EXPECT_EQ(s.at(0).map("net")->count_of(dead), blocks);
  EXPECT_EQ(s.at(1).map("net")->count_of(dead), blocks);
  ASSERT_TRUE(s.sim().run_until(
      [&] { return s.at(0).map("net")->count_of(dead) == 0 && s.at(1).map("net")->count_of(dead) == 0; }, 30s));
  EXPECT_GE(s.sim().now() - crashed, 20s);
  EXPECT_EQ(s.at(0).counter(Counter::blocks_reclaimed) + s.at(1).counter(Counter::blocks_reclaimed), blocks);
  ASSERT_TRUE(s.sim().run_until([&] { return s.maps_agree("net"); }, 30s));

  // The survivors use the whole pool again, without duplicates.
  s.sim().run_for(5s);  // past reclaim_settle
  const std::size_t start = s.outcomes().size();
  for (int k = 0; k < 120; ++k) s.allocate(k % 2, "net", "b-" + std::to_string(k));
  ASSERT_TRUE(s.sim().run_until([&] { return s.all_done(); }, 60s));
  for (std::size_t k = start; k < s.outcomes().size(); ++k) {
    EXPECT_TRUE(*s.outcomes()[k].result) << s.outcomes()[k].result->error().message;
  }
  s.expect_no_duplicates("net");
  s.expect_allocations_owned("net");
}

TEST(IpamSim, RestartedHostGetsItsBlocksAndAddressesBack) {
  IpamSim s(3, seed_or(5));
  SCOPED_TRACE(testing::Message() << "seed " << s.sim().seed());
  s.join_all();
  s.ensure_everywhere("net", kSubnet24, 24);
  for (int k = 0; k < 10; ++k) s.allocate(1, "net", "ep-" + std::to_string(k));
  for (int k = 0; k < 10; ++k) s.allocate(2, "net", "x-" + std::to_string(k));
  ASSERT_TRUE(s.sim().run_until([&] { return s.all_done(); }, 30s));
  ASSERT_TRUE(s.sim().run_until([&] { return s.maps_agree("net"); }, 60s));
  const auto before = s.at(1).allocations("net");
  const auto ranges = s.at(1).owned_ranges("net");
  ASSERT_EQ(before.size(), 10U);

  s.crash(1);
  s.sim().run_for(2s);
  s.restart(1);  // same name, empty memory: the hook restores what it saved
  EXPECT_EQ(s.at(1).allocations("net"), before);
  EXPECT_EQ(s.at(1).owned_ranges("net"), ranges);
  for (const auto& [ip, handle] : before) EXPECT_EQ(s.at(1).lookup("net", handle), ip);
  s.sim().join(1, {0});
  ASSERT_TRUE(s.sim().run_until([&] { return s.sim().converged() && s.maps_agree("net"); }, 60s));
  EXPECT_EQ(s.at(1).allocations("net"), before);
  EXPECT_TRUE(s.at(1).conflicts().empty());
  // Same handle, same address; new ones never collide.
  const std::size_t start = s.outcomes().size();
  s.allocate(1, "net", "ep-3");
  for (int k = 0; k < 20; ++k) s.allocate(1, "net", "new-" + std::to_string(k));
  ASSERT_TRUE(s.sim().run_until([&] { return s.all_done(); }, 30s));
  ASSERT_TRUE(*s.outcomes()[start].result);
  EXPECT_EQ(**s.outcomes()[start].result, s.at(1).lookup("net", "ep-3").value());
  EXPECT_EQ(before.count(**s.outcomes()[start].result), 1U);
  s.expect_no_duplicates("net");
  s.expect_allocations_owned("net");
}

TEST(IpamSim, CutOffMinorityFencesBeforeTheMajorityReclaimsItsSpace) {
  IpamSim s(5, seed_or(6), fast_reclaim());
  SCOPED_TRACE(testing::Message() << "seed " << s.sim().seed());
  s.join_all();
  s.ensure_everywhere("net", kSubnet24, 24);
  for (std::size_t i = 0; i < 5; ++i) s.allocate(i, "net", "a");
  ASSERT_TRUE(s.sim().run_until([&] { return s.all_done(); }, 30s));
  ASSERT_TRUE(s.sim().run_until([&] { return s.maps_agree("net"); }, 60s));
  for (std::size_t i = 0; i < 5; ++i) ASSERT_TRUE(*s.outcomes()[i].result);

  const gossip::TimePoint cut = s.sim().now();
  s.sim().partition({0, 0, 0, 1, 1});
  s.sim().run_until(cut + 5s);
  // Short partition: the minority still allocates from its own space.
  std::size_t k0 = s.outcomes().size();
  s.allocate(3, "net", "during");
  ASSERT_TRUE(s.sim().run_until([&] { return s.all_done(); }, 5s));
  EXPECT_TRUE(*s.outcomes()[k0].result);
  // Past fence_after the minority refuses, clearly.
  s.sim().run_until(cut + 18s);
  EXPECT_TRUE(s.at(3).fenced());
  EXPECT_FALSE(s.at(0).fenced());
  k0 = s.outcomes().size();
  s.allocate(3, "net", "late");
  ASSERT_TRUE(s.sim().run_until([&] { return s.all_done(); }, 5s));
  ASSERT_FALSE(*s.outcomes()[k0].result);
  EXPECT_NE(s.outcomes()[k0].result->error().message.find("fenced"), std::string::npos);
  // The majority reclaims the minority's space; the minority never does.
  const std::string n3 = SimCluster::name_of(3);
  const std::string n4 = SimCluster::name_of(4);
  ASSERT_TRUE(s.sim().run_until(
      [&] { return s.at(0).map("net")->count_of(n3) == 0 && s.at(0).map("net")->count_of(n4) == 0; }, 60s));
  EXPECT_EQ(s.at(3).counter(Counter::blocks_reclaimed) + s.at(4).counter(Counter::blocks_reclaimed), 0U);
  s.sim().run_for(5s);
  for (int k = 0; k < 30; ++k) s.allocate(k % 3, "net", "maj-" + std::to_string(k));
  ASSERT_TRUE(s.sim().run_until([&] { return s.all_done(); }, 30s));

  // Heal: the minority yields its blocks and reports what it held there.
  s.sim().heal();
  ASSERT_TRUE(s.sim().run_until([&] { return s.sim().converged() && s.maps_agree("net"); }, 120s));
  EXPECT_FALSE(s.at(3).conflicts().empty());
  EXPECT_FALSE(s.at(3).fenced());
  s.expect_no_duplicates("net");
  s.expect_allocations_owned("net");
}

TEST(IpamSim, SpecificAddressIsObtainedFromItsOwnerOnceOnly) {
  IpamSim s(3, seed_or(8));
  SCOPED_TRACE(testing::Message() << "seed " << s.sim().seed());
  s.join_all();
  s.ensure_everywhere("net", kSubnet24, 24);
  const Addr want = kSubnet24 + 200;  // in node 0's (genesis) space
  s.allocate(1, "net", "mine", want);
  s.allocate(2, "net", "also-mine", want);  // concurrently, from another host
  ASSERT_TRUE(s.sim().run_until([&] { return s.all_done(); }, 30s));
  const auto& r1 = *s.outcomes()[0].result;
  const auto& r2 = *s.outcomes()[1].result;
  // Exactly one of them gets it; the other is told why.
  ASSERT_NE(static_cast<bool>(r1), static_cast<bool>(r2));
  const auto& loser = r1 ? r2 : r1;
  EXPECT_EQ(r1 ? *r1 : *r2, want);
  EXPECT_NE(loser.error().message.find(format_ipv4(want)), std::string::npos) << loser.error().message;  // IPv4 pool
  ASSERT_TRUE(s.sim().run_until([&] { return s.maps_agree("net"); }, 10s));
  s.expect_no_duplicates("net");
  s.expect_allocations_owned("net");
}

TEST(IpamSim, HostRestartedIntoIsolationFencesItself) {
  IpamSim s(3, seed_or(9), fast_reclaim());
  SCOPED_TRACE(testing::Message() << "seed " << s.sim().seed());
  s.join_all();
  s.ensure_everywhere("net", kSubnet24, 24);
  for (std::size_t i = 0; i < 3; ++i) s.allocate(i, "net", "a");
  ASSERT_TRUE(s.sim().run_until([&] { return s.all_done(); }, 30s));
  ASSERT_TRUE(s.sim().run_until([&] { return s.maps_agree("net"); }, 10s));
  s.crash(2);
  s.sim().partition({0, 0, 1});
  s.restart(2);  // comes back from its state, alone: membership lists only itself
  s.sim().join(2, {0});
  s.sim().run_for(5s);
  EXPECT_FALSE(s.at(2).fenced());  // a short outage: it keeps allocating
  s.sim().run_for(10s);            // past fence_after: its maps say 3 owners, it sees 1
  EXPECT_TRUE(s.at(2).fenced());
  s.sim().heal();
  ASSERT_TRUE(s.sim().run_until([&] { return s.sim().converged() && !s.at(2).fenced(); }, 60s));
  s.expect_no_duplicates("net");
}

// A host leaving for good hands its free space over first: nothing is left
// for reclaim to wait for, and the others carry on at once.
TEST(IpamSim, HandedOverSpaceIsUsedWithoutAnyReclaim) {
  IpamSim s(3, seed_or(13), fast_reclaim());
  SCOPED_TRACE(testing::Message() << "seed " << s.sim().seed());
  s.join_all();
  s.ensure_everywhere("net", kSubnet24, 24);
  s.ensure_everywhere("v6", "fd00:3::/64");
  for (std::size_t i = 0; i < 3; ++i) {
    s.allocate(i, "net", "a");
    s.allocate(i, "v6", "a");
  }
  ASSERT_TRUE(s.sim().run_until([&] { return s.all_done(); }, 30s));
  ASSERT_TRUE(s.sim().run_until([&] { return s.maps_agree("net") && s.maps_agree("v6"); }, 30s));
  // Node 0 (the genesis, most of the space) ends its last endpoints, then
  // hands over. Blocks still holding an allocation stay its own.
  const std::string leaver = SimCluster::name_of(0);
  ASSERT_TRUE(s.at(0).release("v6", s.at(0).lookup("v6", "a").value()));
  const Addr kept = s.at(0).lookup("net", "a").value();
  const std::uint32_t owned = s.at(0).map("net")->count_of(leaver) + s.at(0).map("v6")->count_of(leaver);
  auto handed = s.at(0).hand_over();
  ASSERT_TRUE(handed) << handed.error().message;
  EXPECT_EQ(*handed, owned - 1);
  EXPECT_EQ(s.at(0).map("net")->blocks_of(leaver), std::set<std::uint32_t>{s.at(0).spec("net")->block_of(kept)});
  EXPECT_EQ(s.at(0).map("v6")->count_of(leaver), 0U);
  EXPECT_EQ(s.at(0).counter(Counter::blocks_handed_over), owned - 1);
  EXPECT_TRUE(s.at(0).check_invariants());
  // Nothing left to give: a second call is a no-op.
  EXPECT_EQ(s.at(0).hand_over().value(), 0U);
  // The direct deliveries are answered; then it releases its last address,
  // hands that block over too, and leaves.
  ASSERT_TRUE(s.sim().run_until([&] { return s.at(0).hand_over_in_flight() == 0; }, 5s));
  ASSERT_TRUE(s.at(0).release("net", kept));
  EXPECT_EQ(s.at(0).hand_over().value(), 1U);
  ASSERT_TRUE(s.sim().run_until([&] { return s.at(0).hand_over_in_flight() == 0; }, 5s));
  for (const std::size_t i : {1, 2}) {
    EXPECT_EQ(s.at(i).map("net")->count_of(leaver), 0U) << "node " << i;
    EXPECT_EQ(s.at(i).map("v6")->count_of(leaver), 0U) << "node " << i;
  }
  s.sim().run_for(1s);
  s.sim().leave(0);
  s.sim().run_for(2s);
  s.crash(0);
  // Both survivors got a share of each pool; they agree on it.
  for (const std::size_t i : {1, 2}) {
    EXPECT_GT(s.at(1).map("net")->count_of(SimCluster::name_of(i)), 20U);
    EXPECT_GT(s.at(1).map("v6")->count_of(SimCluster::name_of(i)), 1000U);
  }
  ASSERT_TRUE(s.sim().run_until([&] { return s.maps_agree("net") && s.maps_agree("v6"); }, 10s));
  // Long past reclaim_after: nothing was reclaimed (there was nothing to
  // reclaim), and the whole pool is usable.
  s.sim().run_for(30s);
  const std::size_t start = s.outcomes().size();
  for (int k = 0; k < 200; ++k) s.allocate(1 + k % 2, "net", "b-" + std::to_string(k));
  for (int k = 0; k < 200; ++k) s.allocate(1 + k % 2, "v6", "b-" + std::to_string(k));
  ASSERT_TRUE(s.sim().run_until([&] { return s.all_done(); }, 60s));
  for (std::size_t k = start; k < s.outcomes().size(); ++k) {
    EXPECT_TRUE(*s.outcomes()[k].result) << s.outcomes()[k].result->error().message;
  }
  for (const std::size_t i : {1, 2}) {
    EXPECT_EQ(s.at(i).counter(Counter::blocks_reclaimed), 0U);
    EXPECT_TRUE(s.at(i).conflicts().empty());
    EXPECT_TRUE(s.at(i).check_invariants());
  }
  s.expect_no_duplicates("net");
  s.expect_no_duplicates("v6");
  s.expect_allocations_owned("net");
  s.expect_allocations_owned("v6");
}

TEST(IpamSim, HandOverIsRefusedWithNobodyToGiveToOrWhenFencedOrUnsaved) {
  IpamSim s(3, seed_or(14), fast_reclaim());
  SCOPED_TRACE(testing::Message() << "seed " << s.sim().seed());
  s.join_all();
  s.ensure_everywhere("net", kSubnet24, 24);
  for (std::size_t i = 0; i < 3; ++i) s.allocate(i, "net", "a");
  ASSERT_TRUE(s.sim().run_until([&] { return s.all_done(); }, 30s));
  ASSERT_TRUE(s.sim().run_until([&] { return s.maps_agree("net"); }, 30s));

  // A full disk: nothing given, nothing changed.
  const std::string before = s.at(2).snapshot();
  s.fail_persist(true);
  auto unsaved = s.at(2).hand_over();
  s.fail_persist(false);
  ASSERT_FALSE(unsaved);
  EXPECT_NE(unsaved.error().message.find("save"), std::string::npos) << unsaved.error().message;
  EXPECT_EQ(s.at(2).snapshot(), before);

  // Cut off from everyone: nobody to give to.
  s.sim().partition({0, 0, 1});
  ASSERT_TRUE(s.sim().run_until([&] { return s.sim().node(2).num_alive() == 1; }, 15s));
  EXPECT_FALSE(s.at(2).fenced());
  auto alone = s.at(2).hand_over();
  ASSERT_FALSE(alone);
  EXPECT_NE(alone.error().message.find("no other live host"), std::string::npos) << alone.error().message;
  EXPECT_EQ(s.at(2).snapshot(), before);
  // Past fence_after: refused as fenced (the majority may take its space).
  ASSERT_TRUE(s.sim().run_until([&] { return s.at(2).fenced(); }, 20s));
  auto fenced = s.at(2).hand_over();
  ASSERT_FALSE(fenced);
  EXPECT_NE(fenced.error().message.find("fenced"), std::string::npos) << fenced.error().message;

  // Healed before reclaim: the hand-over goes through.
  s.sim().heal();
  ASSERT_TRUE(s.sim().run_until([&] { return s.sim().converged() && !s.at(2).fenced(); }, 60s));
  auto done = s.at(2).hand_over();
  ASSERT_TRUE(done) << done.error().message;
  ASSERT_TRUE(s.sim().run_until([&] { return s.maps_agree("net"); }, 10s));
  EXPECT_EQ(s.at(0).map("net")->count_of(SimCluster::name_of(2)), 1U);  // the block of its address
  s.expect_no_duplicates("net");
  s.expect_allocations_owned("net");
}

TEST(IpamSim, SameSeedSameRun) {
  auto run = [](std::uint64_t seed) {
    IpamSim s(10, seed);
    s.join_all();
    s.ensure_everywhere("net", kSubnet24, 24);
    for (std::size_t i = 0; i < 10; ++i) s.allocate(i, "net", "e");
    EXPECT_TRUE(s.sim().run_until([&] { return s.all_done(); }, 30s));
    std::vector<Addr> out;
    for (const Outcome& o : s.outcomes()) out.push_back(*o.result ? **o.result : 0);
    return out;
  };
  EXPECT_EQ(run(7), run(7));
}

}  // namespace
}  // namespace ferry::ipam
