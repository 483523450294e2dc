// Replicated tables under the deterministic simulator: agreement at 1 000
// nodes, partitions, crashes, restarts, deletes that must not resurrect,
// network-scoped delivery. Every run is seeded; a failure prints the seed.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <vector>

#include "control/gossip/endpoint_table.h"
#include "control/gossip/node.h"
#include "control/gossip/sim_cluster.h"
#include "control/gossip/table_db.h"

namespace ferry::gossip {
namespace {

using namespace std::chrono_literals;

using View = std::map<TableKey, Version>;

class TablesSim {
 public:
  TablesSim(std::size_t n, std::uint64_t seed, SimNetConfig net = {}, TablesConfig tables = {},
            Config config = Config::lan())
      : sim_(config, net, seed), tables_config_(tables) {
    sim_.set_node_hook([this](std::size_t i, Node& node) {
      if (dbs_.size() <= i) dbs_.resize(i + 1);
      dbs_[i] =
          std::make_unique<TableDb>(tables_config_, node, sim_.clock(), mix_seed(sim_.seed() ^ (i << 8) ^ ++made_));
    });
    sim_.add_nodes(n);
  }

  SimCluster& sim() { return sim_; }
  TableDb& db(std::size_t i) { return *dbs_[i]; }
  std::size_t size() const { return sim_.size(); }

  void crash(std::size_t i) {
    sim_.crash(i);
    dbs_[i].reset();  // after the node: TableDb never touches a dead node
  }
  void restart(std::size_t i) { sim_.restart(i); }

  // Joins everyone through node 0 and waits for membership convergence.
  void join_all() {
    sim_.join_all(0, 1s);
    ASSERT_TRUE(sim_.run_until([&] { return sim_.converged(); }, 120s)) << "seed " << sim_.seed();
  }

  // The live entries of node i in `network` (attach bookkeeping excluded).
  View live(std::size_t i, const std::string& network) {
    View out;
    db(i).store().for_each_in(network, [&](const TableKey& k, const StoredEntry& e) {
      if (e.live() && k.table != TableDb::kAttachTable) out.emplace(k, e.version);
    });
    return out;
  }

  bool all_live_equal(const std::string& network, const View& want) {
    for (std::size_t i = 0; i < size(); ++i) {
      if (sim_.is_up(i) && live(i, network) != want) return false;
    }
    return true;
  }

  void poke(std::size_t i) { sim_.reschedule(i); }

 private:
  SimCluster sim_;
  TablesConfig tables_config_;
  std::vector<std::unique_ptr<TableDb>> dbs_;
  std::uint64_t made_ = 0;
};

TablesConfig fast_tables() {
  TablesConfig t;
  t.owner_grace = 5s;
  t.network_sync_interval = 10s;
  return t;
}

std::string dump(const View& v) {
  std::string out;
  for (const auto& [k, ver] : v) {
    out += fmt::format("  {}/{}/{} = {} @{} {}\n", k.network, k.table, k.key, ver.value, ver.lamport, ver.owner);
  }
  return out;
}

// 1 000 nodes agree on one update, global network and a network all joined.
TEST(SimTables, ThousandNodesAgreeOnAnUpdate) {
  TablesSim t(1000, 1001);
  t.sim().bootstrap_converged();
  ASSERT_TRUE(t.db(17).put("", "config", "mtu", "1450"));
  t.poke(17);
  const TimePoint start = t.sim().now();
  ASSERT_TRUE(t.sim().run_until(
      [&] {
        for (std::size_t i = 0; i < t.size(); ++i) {
          if (t.db(i).get("", "config", "mtu") != "1450") return false;
        }
        return true;
      },
      30s, 50ms))
      << "seed " << t.sim().seed();
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(t.sim().now() - start);
  RecordProperty("global_update_all_ms", static_cast<int>(took.count()));
  std::printf("1000 nodes: global update everywhere after %lld ms (sim)\n", static_cast<long long>(took.count()));
  // The stream frame limit is set from this, not guessed (docs/gossip.md).
  RecordProperty("largest_stream_bytes", static_cast<int>(t.sim().largest_stream()));
  std::printf("1000 nodes: largest stream message %zu bytes (sim)\n", t.sim().largest_stream());
  EXPECT_LE(took, 5s);

  // An update overrides it everywhere, and a later delete removes it.
  ASSERT_TRUE(t.db(900).put("", "config", "mtu", "9000"));
  t.poke(900);
  ASSERT_TRUE(t.sim().run_until(
      [&] {
        for (std::size_t i = 0; i < t.size(); ++i) {
          if (t.db(i).get("", "config", "mtu") != "9000") return false;
        }
        return true;
      },
      30s, 50ms));
  ASSERT_TRUE(t.db(3).remove("", "config", "mtu"));
  t.poke(3);
  ASSERT_TRUE(t.sim().run_until(
      [&] {
        for (std::size_t i = 0; i < t.size(); ++i) {
          if (t.db(i).get("", "config", "mtu")) return false;
        }
        return true;
      },
      30s, 50ms));
}

// 1 000 nodes, 300 of them in one network: an endpoint record reaches all
// 300 members and none of the 700 others.
TEST(SimTables, ThousandNodesOneNetworkEndpointUpdate) {
  constexpr std::size_t kMembers = 300;
  TablesSim t(1000, 1002);
  t.sim().bootstrap_converged();
  auto member = [](std::size_t i) { return i % 10 < 3; };  // 300 of 1000, spread out
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (!member(i)) continue;
    ASSERT_TRUE(t.db(i).join_network("net1"));
    t.poke(i);
  }
  // Members learn each other's attachment (global table) first.
  ASSERT_TRUE(t.sim().run_until(
      [&] {
        for (std::size_t i = 0; i < t.size(); i += 97) {
          if (t.db(i).network_members("net1").size() != kMembers) return false;
        }
        return true;
      },
      60s, 100ms))
      << "seed " << t.sim().seed();
  EndpointTable ep(t.db(5 * 10 + 1));
  auto rec = EndpointRecord::from_strings("net1", "ep-1", "02:42:0a:00:00:02", "10.0.0.2/24", "", "192.168.1.5", "");
  ASSERT_TRUE(rec);
  ASSERT_TRUE(ep.put(*rec));
  t.poke(51);
  const TimePoint start = t.sim().now();
  ASSERT_TRUE(t.sim().run_until(
      [&] {
        for (std::size_t i = 0; i < t.size(); ++i) {
          if (member(i) && !t.db(i).get("net1", kEndpointTable, "ep-1")) return false;
        }
        return true;
      },
      30s, 50ms))
      << "seed " << t.sim().seed();
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(t.sim().now() - start);
  std::printf("1000 nodes, 300 in the network: update at every member after %lld ms (sim)\n",
              static_cast<long long>(took.count()));
  EXPECT_LE(took, 5s);
  t.sim().run_for(5s);
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (member(i)) continue;
    ASSERT_FALSE(t.db(i).get("net1", kEndpointTable, "ep-1")) << i;
    ASSERT_EQ(t.db(i).counter(TablesCounter::events_foreign_network), 0u) << i;
  }
  auto back = EndpointTable(t.db(999 - 7)).get("net1", "ep-1");  // node 992 is a member
  ASSERT_TRUE(back);
  EXPECT_EQ(back->owner, t.db(51).self());
  EXPECT_EQ(back->ipv4_string(), "10.0.0.2/24");
  EXPECT_EQ(back->vtep_string(), "192.168.1.5");
}

// Events of a network reach only its members; a node that joins later learns
// the network's entries by sync.
TEST(SimTables, NetworkScopedDelivery) {
  TablesSim t(30, 2002, SimNetConfig{}, fast_tables());
  t.join_all();
  for (std::size_t i = 0; i < 10; ++i) ASSERT_TRUE(t.db(i).join_network("netA"));
  for (std::size_t i = 10; i < 20; ++i) ASSERT_TRUE(t.db(i).join_network("netB"));
  t.sim().run_for(3s);
  for (std::size_t i = 0; i < 10; ++i) {
    ASSERT_TRUE(t.db(i).put("netA", "ep", fmt::format("a{}", i), "x"));
    ASSERT_TRUE(t.db(i + 10).put("netB", "ep", fmt::format("b{}", i), "y"));
  }
  EXPECT_FALSE(t.db(25).put("netA", "ep", "intruder", "z"));  // not a member
  t.sim().run_for(5s);
  for (std::size_t i = 0; i < t.size(); ++i) {
    EXPECT_EQ(t.live(i, "netA").size(), i < 10 ? 10u : 0u) << i;
    EXPECT_EQ(t.live(i, "netB").size(), i >= 10 && i < 20 ? 10u : 0u) << i;
    // Nobody even received an event of a network it is not in.
    EXPECT_EQ(t.db(i).counter(TablesCounter::events_foreign_network), 0u) << i;
  }
  ASSERT_TRUE(t.db(25).join_network("netA"));
  t.poke(25);
  ASSERT_TRUE(t.sim().run_until([&] { return t.live(25, "netA").size() == 10; }, 10s)) << "seed " << t.sim().seed();
  EXPECT_EQ(t.live(25, "netA"), t.live(0, "netA"));
  // Leaving drops the network locally and tombstones the leaver's entries.
  ASSERT_TRUE(t.db(3).leave_network("netA"));
  ASSERT_TRUE(t.sim().run_until(
      [&] {
        for (std::size_t i : {0, 1, 2, 4, 25}) {
          if (t.live(i, "netA").size() != 9) return false;
        }
        return t.live(3, "netA").empty();
      },
      10s))
      << "seed " << t.sim().seed();
}

// 10% of the nodes crash: every survivor drops their entries (after the
// grace period) and keeps everyone else's.
TEST(SimTables, CrashedOwnersEntriesAreRemoved) {
  TablesSim t(100, 3003, SimNetConfig{}, fast_tables());
  t.join_all();
  for (std::size_t i = 0; i < t.size(); ++i) ASSERT_TRUE(t.db(i).join_network("net1"));
  t.sim().run_for(2s);
  for (std::size_t i = 0; i < t.size(); ++i) {
    for (int k = 0; k < 5; ++k) ASSERT_TRUE(t.db(i).put("net1", "ep", fmt::format("n{}-{}", i, k), "v"));
    ASSERT_TRUE(t.db(i).put("", "hosts", fmt::format("n{}", i), "up"));
  }
  ASSERT_TRUE(t.sim().run_until(
      [&] {
        for (std::size_t i = 0; i < t.size(); ++i) {
          if (t.live(i, "net1").size() != 500 || t.live(i, "").size() != 100) return false;
        }
        return true;
      },
      60s))
      << "seed " << t.sim().seed();
  std::set<std::string> crashed;
  for (std::size_t i = 5; i < t.size(); i += 10) {
    crashed.insert(t.db(i).self());
    t.crash(i);
  }
  const TimePoint start = t.sim().now();
  ASSERT_TRUE(t.sim().run_until(
      [&] {
        for (std::size_t i = 0; i < t.size(); ++i) {
          if (!t.sim().is_up(i)) continue;
          if (t.live(i, "net1").size() != 450 || t.live(i, "").size() != 90) return false;
        }
        return true;
      },
      90s))
      << "seed " << t.sim().seed();
  std::printf(
      "100 nodes, 10 crashed: entries gone everywhere after %lld ms (sim, grace 5 s)\n",
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(t.sim().now() - start).count()));
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (!t.sim().is_up(i)) continue;
    for (const auto& [k, v] : t.live(i, "net1")) ASSERT_FALSE(crashed.contains(v.owner)) << k.key;
    EXPECT_EQ(t.db(i).network_members("net1").size(), 90u);
  }
}

// A node briefly unreachable (shorter than suspicion + grace) causes no churn.
TEST(SimTables, FlappingNodeCausesNoChurn) {
  TablesConfig tc = fast_tables();
  tc.owner_grace = 20s;
  TablesSim t(20, 4004, SimNetConfig{}, tc);
  t.join_all();
  for (std::size_t i = 0; i < t.size(); ++i) ASSERT_TRUE(t.db(i).join_network("net1"));
  t.sim().run_for(2s);
  for (int k = 0; k < 10; ++k) ASSERT_TRUE(t.db(7).put("net1", "ep", fmt::format("k{}", k), "v"));
  t.sim().run_for(5s);
  std::size_t deletes = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    ASSERT_EQ(t.live(i, "net1").size(), 10u);
    t.db(i).subscribe(TableFilter::of("net1", "ep"),
                      [&](const Change& c) { deletes += c.kind == ChangeKind::kDelete; });
  }
  std::vector<std::uint32_t> groups(t.size(), 0);
  groups[7] = 1;
  t.sim().partition(groups);
  t.sim().run_for(10s);  // long enough to be declared dead, shorter than the grace
  t.sim().heal();
  t.sim().run_for(30s);
  EXPECT_EQ(deletes, 0u) << "seed " << t.sim().seed();
  for (std::size_t i = 0; i < t.size(); ++i) EXPECT_EQ(t.live(i, "net1").size(), 10u);
}

// A long partition: each side purges the other's entries; both sides keep
// writing and deleting; after healing, all nodes hold the same table: every
// live entry of every owner, none of the deleted ones.
TEST(SimTables, PartitionHealsAndBothSidesConverge) {
  TablesSim t(40, 5005, SimNetConfig{.loss = 0.02}, fast_tables());
  t.join_all();
  for (std::size_t i = 0; i < t.size(); ++i) ASSERT_TRUE(t.db(i).join_network("net1"));
  t.sim().run_for(2s);
  for (std::size_t i = 0; i < t.size(); ++i) {
    ASSERT_TRUE(t.db(i).put("net1", "ep", fmt::format("n{}-a", i), "1"));
    ASSERT_TRUE(t.db(i).put("net1", "ep", fmt::format("n{}-b", i), "1"));
  }
  ASSERT_TRUE(t.sim().run_until(
      [&] { return t.all_live_equal("net1", t.live(0, "net1")) && t.live(0, "net1").size() == 80; }, 30s));

  std::vector<std::uint32_t> groups(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) groups[i] = i % 2;
  t.sim().partition(groups);
  t.sim().run_for(30s);  // dead on both sides, past the grace: purged
  EXPECT_LT(t.live(0, "net1").size(), 80u);
  // Writes on both sides during the partition.
  for (std::size_t i = 0; i < t.size(); i += 4) {
    ASSERT_TRUE(t.db(i).remove("net1", "ep", fmt::format("n{}-a", i)));
    ASSERT_TRUE(t.db(i).put("net1", "ep", fmt::format("n{}-b", i), "2"));
    ASSERT_TRUE(t.db(i).put("net1", "ep", fmt::format("n{}-c", i), "new"));
  }
  t.sim().run_for(10s);
  t.sim().heal();
  const TimePoint start = t.sim().now();
  auto expected_ok = [&](const View& v) {
    if (v.size() != 80) return false;  // 40 b + 30 a + 10 c
    for (std::size_t i = 0; i < t.size(); ++i) {
      const bool changed = i % 4 == 0;
      const auto a = v.find(TableKey{"net1", "ep", fmt::format("n{}-a", i)});
      const auto b = v.find(TableKey{"net1", "ep", fmt::format("n{}-b", i)});
      if (changed == (a != v.end())) return false;
      if (b == v.end() || b->second.value != (changed ? "2" : "1")) return false;
      if (changed != v.contains(TableKey{"net1", "ep", fmt::format("n{}-c", i)})) return false;
    }
    return true;
  };
  ASSERT_TRUE(t.sim().run_until(
      [&] {
        return t.sim().converged() && expected_ok(t.live(0, "net1")) && t.all_live_equal("net1", t.live(0, "net1"));
      },
      180s, 500ms))
      << "seed " << t.sim().seed() << "\nnode0:\n"
      << dump(t.live(0, "net1")) << "node1:\n"
      << dump(t.live(1, "net1"));
  std::printf(
      "40 nodes, partition healed: identical tables after %lld ms (sim)\n",
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(t.sim().now() - start).count()));
}

// Deletes never resurrect: not through a node that missed the delete, not
// through loss and duplication, not through the owner's restart.
TEST(SimTables, DeletesNeverResurrect) {
  TablesSim t(30, 6006, SimNetConfig{.loss = 0.05, .duplicate = 0.05}, fast_tables());
  t.join_all();
  for (std::size_t i = 0; i < t.size(); ++i) ASSERT_TRUE(t.db(i).join_network("net1"));
  t.sim().run_for(2s);
  ASSERT_TRUE(t.db(4).put("net1", "ep", "doomed", "v1"));
  ASSERT_TRUE(t.db(4).put("net1", "ep", "kept", "v1"));
  ASSERT_TRUE(t.sim().run_until([&] { return t.all_live_equal("net1", t.live(4, "net1")); }, 30s));
  ASSERT_EQ(t.live(0, "net1").size(), 2u);

  // Node 9 misses the delete (partitioned, briefly: it keeps its copy).
  std::vector<std::uint32_t> groups(t.size(), 0);
  groups[9] = 1;
  t.sim().partition(groups);
  ASSERT_TRUE(t.db(4).remove("net1", "ep", "doomed"));
  // From here on, any node that has seen the delete must never show it again.
  std::vector<bool> saw_delete(t.size(), false);
  bool resurrected = false;
  auto watch = [&](std::size_t i) {
    t.db(i).subscribe(TableFilter::of("net1", "ep"), [&, i](const Change& c) {
      if (c.key.key != "doomed") return;
      if (c.kind == ChangeKind::kDelete) saw_delete[i] = true;
      if (c.kind != ChangeKind::kDelete && saw_delete[i]) resurrected = true;
    });
    if (!t.db(i).get("net1", "ep", "doomed")) saw_delete[i] = true;
  };
  for (std::size_t i = 0; i < t.size(); ++i) watch(i);
  t.sim().run_for(3s);
  t.sim().heal();
  ASSERT_TRUE(t.sim().run_until(
      [&] {
        for (std::size_t i = 0; i < t.size(); ++i) {
          if (t.db(i).get("net1", "ep", "doomed")) return false;
        }
        return true;
      },
      60s))
      << "seed " << t.sim().seed();
  EXPECT_FALSE(resurrected);

  // The owner restarts with empty state: its old live entry ("kept") is
  // stale and must go, and "doomed" stays deleted.
  t.restart(4);
  watch(4);
  t.sim().join(4, {0});
  ASSERT_TRUE(t.db(4).join_network("net1"));
  t.poke(4);
  ASSERT_TRUE(t.sim().run_until(
      [&] {
        for (std::size_t i = 0; i < t.size(); ++i) {
          if (!t.live(i, "net1").empty()) return false;
        }
        return true;
      },
      60s))
      << "seed " << t.sim().seed() << "\n"
      << dump(t.live(0, "net1"));
  EXPECT_FALSE(resurrected);
  EXPECT_GT(t.db(4).counter(TablesCounter::stale_own_deleted), 0u);
  // Its Lamport clock jumped past the cluster's: a new write wins everywhere.
  ASSERT_TRUE(t.db(4).put("net1", "ep", "kept", "v2"));
  ASSERT_TRUE(t.sim().run_until(
      [&] {
        for (std::size_t i = 0; i < t.size(); ++i) {
          if (t.db(i).get("net1", "ep", "kept") != "v2") return false;
        }
        return true;
      },
      30s));
  t.sim().run_for(20s);
  EXPECT_FALSE(resurrected);
  for (std::size_t i = 0; i < t.size(); ++i) EXPECT_FALSE(t.db(i).get("net1", "ep", "doomed"));
}

// A node restarting with empty state relearns everything through push-pull
// and sync, and the entries it re-puts win over its previous life's.
TEST(SimTables, RestartedNodeRelearnsEverything) {
  TablesSim t(50, 7007, SimNetConfig{}, fast_tables());
  t.join_all();
  for (std::size_t i = 0; i < t.size(); ++i) ASSERT_TRUE(t.db(i).join_network("net1"));
  t.sim().run_for(2s);
  for (std::size_t i = 0; i < t.size(); ++i) {
    for (int k = 0; k < 4; ++k) ASSERT_TRUE(t.db(i).put("net1", "ep", fmt::format("n{}-{}", i, k), "v"));
    ASSERT_TRUE(t.db(i).put("", "hosts", fmt::format("n{}", i), "up"));
  }
  ASSERT_TRUE(t.sim().run_until(
      [&] { return t.live(0, "net1").size() == 200 && t.all_live_equal("net1", t.live(0, "net1")); }, 30s));

  t.restart(7);
  ASSERT_TRUE(t.live(7, "net1").empty());
  t.sim().join(7, {0});
  ASSERT_TRUE(t.db(7).join_network("net1"));
  // The application re-publishes two of its four entries, with new values.
  ASSERT_TRUE(t.db(7).put("net1", "ep", "n7-0", "again"));
  ASSERT_TRUE(t.db(7).put("net1", "ep", "n7-1", "again"));
  ASSERT_TRUE(t.db(7).put("", "hosts", "n7", "up"));
  t.poke(7);
  ASSERT_TRUE(t.sim().run_until(
      [&] {
        const View v = t.live(7, "net1");
        return v.size() == 198 && t.live(7, "").size() == 50 && t.all_live_equal("net1", v) &&
               t.db(0).get("net1", "ep", "n7-0") == "again";
      },
      60s))
      << "seed " << t.sim().seed() << "\n"
      << dump(t.live(7, "net1")).substr(0, 2000);
  EXPECT_FALSE(t.db(0).get("net1", "ep", "n7-2"));
  EXPECT_FALSE(t.db(0).get("net1", "ep", "n7-3"));
}

// An owner restarts (its Lamport clock starts again from 0), re-publishes
// its entries as the agent does from its state file, and removes one of them
// within a second, before or after it has heard the cluster's copies: its
// tombstone is written at a Lamport time the peers' copies beat, so only
// own_conflict() re-tombstoning it past them gets the removal applied.
// Every peer must drop the entry and never show it again.
TEST(SimTables, RemovalRightAfterTheOwnersRestartReachesEveryPeer) {
  for (const auto delay : {0ms, 100ms, 300ms, 600ms, 1000ms}) {
    const std::uint64_t seed = 8008 + static_cast<std::uint64_t>(delay.count());
    SCOPED_TRACE(fmt::format("removed {} ms after the restart, seed {}", delay.count(), seed));
    TablesSim t(6, seed, SimNetConfig{}, fast_tables());
    t.join_all();
    for (std::size_t i = 0; i < t.size(); ++i) ASSERT_TRUE(t.db(i).join_network("net1"));
    t.sim().run_for(2s);
    // Many writes before the restart: the peers' copies carry Lamport times
    // well past what the restarted owner starts from.
    for (int round = 0; round < 20; ++round) {
      for (const char* key : {"doomed", "kept"}) {
        ASSERT_TRUE(t.db(2).put("net1", "ep", key, fmt::format("v{}", round)));
      }
    }
    ASSERT_TRUE(t.sim().run_until(
        [&] { return t.live(0, "net1").size() == 2 && t.all_live_equal("net1", t.live(2, "net1")); }, 30s));

    t.restart(2);
    t.sim().join(2, {0});
    ASSERT_TRUE(t.db(2).join_network("net1"));
    ASSERT_TRUE(t.db(2).put("net1", "ep", "doomed", "again"));
    ASSERT_TRUE(t.db(2).put("net1", "ep", "kept", "again"));
    t.poke(2);
    t.sim().run_for(delay);
    ASSERT_TRUE(t.db(2).remove("net1", "ep", "doomed"));
    bool resurrected = false;
    std::vector<bool> gone(t.size(), false);
    for (std::size_t i = 0; i < t.size(); ++i) {
      t.db(i).subscribe(TableFilter::of("net1", "ep"), [&, i](const Change& c) {
        if (c.key.key != "doomed") return;
        if (c.kind == ChangeKind::kDelete) gone[i] = true;
        if (c.kind != ChangeKind::kDelete && gone[i]) resurrected = true;
      });
      if (!t.db(i).get("net1", "ep", "doomed")) gone[i] = true;
    }
    ASSERT_TRUE(t.sim().run_until(
        [&] {
          for (std::size_t i = 0; i < t.size(); ++i) {
            if (t.db(i).get("net1", "ep", "doomed") || t.db(i).get("net1", "ep", "kept") != "again") return false;
          }
          return true;
        },
        30s))
        << "seed " << seed << "\n"
        << dump(t.live(0, "net1"));
    t.sim().run_for(20s);
    EXPECT_FALSE(resurrected);
    for (std::size_t i = 0; i < t.size(); ++i) EXPECT_FALSE(t.db(i).get("net1", "ep", "doomed")) << "node " << i;
  }
}

// Same seed, same run: the table layer adds no nondeterminism.
TEST(SimTables, SameSeedSameResult) {
  auto run = [](std::uint64_t seed) {
    TablesSim t(20, seed, SimNetConfig{.loss = 0.1}, fast_tables());
    t.join_all();
    for (std::size_t i = 0; i < t.size(); ++i) EXPECT_TRUE(t.db(i).join_network("n"));
    t.sim().run_for(1s);
    for (std::size_t i = 0; i < t.size(); ++i) {
      EXPECT_TRUE(t.db(i).put("n", "t", fmt::format("k{}", i % 7), fmt::format("{}", i)));
    }
    t.sim().run_for(5s);
    std::vector<std::uint64_t> out;
    for (std::size_t i = 0; i < t.size(); ++i) {
      out.push_back(t.db(i).store().network_digest("n"));
      out.push_back(t.db(i).counter(TablesCounter::events_rx));
    }
    out.push_back(t.sim().events_processed());
    return out;
  };
  EXPECT_EQ(run(8008), run(8008));
}

}  // namespace
}  // namespace ferry::gossip
