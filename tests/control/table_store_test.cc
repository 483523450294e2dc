#include "control/gossip/table_store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace ferry::gossip {
namespace {

using namespace std::chrono_literals;

TableKey k(const std::string& key, const std::string& network = "net1", const std::string& table = "ep") {
  return TableKey{network, table, key};
}
Version v(Lamport t, const std::string& owner, const std::string& value) { return Version{t, owner, false, value}; }
Version tomb(Lamport t, const std::string& owner) { return Version{t, owner, true, ""}; }

// The live view as a sorted list, to compare stores.
std::vector<std::pair<TableKey, Version>> live(const TableStore& s) {
  std::vector<std::pair<TableKey, Version>> out;
  s.for_each([&](const TableKey& key, const StoredEntry& e) {
    if (e.live()) out.emplace_back(key, e.version);
  });
  return out;
}
std::vector<std::pair<TableKey, Version>> all(const TableStore& s) {
  std::vector<std::pair<TableKey, Version>> out;
  s.for_each([&](const TableKey& key, const StoredEntry& e) { out.emplace_back(key, e.version); });
  return out;
}

TEST(VersionOrder, LamportThenOwnerThenTombstoneThenValue) {
  EXPECT_TRUE(v(2, "a", "x").supersedes(v(1, "z", "y")));
  EXPECT_TRUE(v(1, "b", "x").supersedes(v(1, "a", "y")));
  EXPECT_TRUE(tomb(1, "a").supersedes(v(1, "a", "zzz")));
  EXPECT_TRUE(v(1, "a", "b").supersedes(v(1, "a", "a")));
  EXPECT_FALSE(v(1, "a", "a").supersedes(v(1, "a", "a")));
  EXPECT_EQ(v(3, "n", "q"), v(3, "n", "q"));
}

TEST(TableStore, CreateUpdateDeleteEvents) {
  TableStore s;
  std::vector<Change> seen;
  s.subscribe(TableFilter::all(), [&](const Change& c) { seen.push_back(c); });
  EXPECT_EQ(s.apply(k("a"), v(1, "n1", "one"), 0s).change, ChangeKind::kCreate);
  EXPECT_EQ(s.apply(k("a"), v(2, "n1", "two"), 0s).change, ChangeKind::kUpdate);
  auto stale = s.apply(k("a"), v(1, "n9", "old"), 0s);
  EXPECT_FALSE(stale.accepted);
  EXPECT_FALSE(stale.change);
  EXPECT_EQ(s.apply(k("a"), tomb(3, "n1"), 0s).change, ChangeKind::kDelete);
  // A tombstone over a tombstone is accepted but invisible to the live view.
  auto again = s.apply(k("a"), tomb(4, "n2"), 0s);
  EXPECT_TRUE(again.accepted);
  EXPECT_FALSE(again.change);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].kind, ChangeKind::kCreate);
  EXPECT_EQ(seen[1].kind, ChangeKind::kUpdate);
  EXPECT_EQ(seen[1].version.value, "two");
  EXPECT_EQ(seen[2].kind, ChangeKind::kDelete);
  EXPECT_EQ(s.live_size(), 0u);
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(s.max_lamport(), 4u);
}

TEST(TableStore, TombstoneDropsValueAndLowerWritesCannotResurrect) {
  TableStore s;
  s.apply(k("a"), v(5, "n1", "v"), 0s);
  s.apply(k("a"), Version{6, "n1", true, "junk"}, 0s);
  EXPECT_EQ(s.find(k("a"))->version.value, "");
  EXPECT_FALSE(s.apply(k("a"), v(5, "n1", "v"), 1s).accepted);
  EXPECT_FALSE(s.apply(k("a"), v(6, "n0", "v"), 1s).accepted);
  EXPECT_FALSE(s.get(k("a")));
  EXPECT_TRUE(s.apply(k("a"), v(7, "n1", "back"), 1s).accepted);
  EXPECT_EQ(s.get(k("a")), "back");
}

// Every node must reach the same table whatever the order, duplication or
// partial loss of deliveries, as long as each version reaches it once.
TEST(TableStore, MergeConvergesUnderPermutationDuplicationAndLoss) {
  std::vector<std::pair<TableKey, Version>> ops;
  std::mt19937_64 rng(42);
  const std::vector<std::string> owners = {"a", "b", "c"};
  for (int i = 0; i < 300; ++i) {
    const auto key = k(fmt::format("k{}", rng() % 20), rng() % 2 ? "n1" : "n2");
    const Lamport t = 1 + rng() % 40;
    const auto& owner = owners[rng() % owners.size()];
    ops.emplace_back(key, rng() % 4 == 0 ? tomb(t, owner) : v(t, owner, fmt::format("v{}", rng() % 5)));
  }
  TableStore reference;
  for (const auto& [key, ver] : ops) reference.apply(key, ver, 0s);

  for (int trial = 0; trial < 50; ++trial) {
    auto shuffled = ops;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    TableStore s;
    // First pass loses ~30% and duplicates ~20%; the anti-entropy pass then
    // delivers everything again (in another order).
    for (const auto& [key, ver] : shuffled) {
      if (rng() % 10 < 3) continue;
      s.apply(key, ver, 0s);
      if (rng() % 5 == 0) s.apply(key, ver, 0s);
    }
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    for (const auto& [key, ver] : shuffled) s.apply(key, ver, 0s);
    ASSERT_EQ(all(s), all(reference)) << "trial " << trial;
    ASSERT_EQ(live(s), live(reference));
    for (const auto& net : {"n1", "n2"}) ASSERT_EQ(s.network_digest(net), reference.network_digest(net));
  }
}

TEST(TableStore, DigestIsOrderIndependentAndTracksChanges) {
  TableStore a, b;
  a.apply(k("x"), v(1, "n", "1"), 0s);
  a.apply(k("y"), v(2, "n", "2"), 0s);
  b.apply(k("y"), v(2, "n", "2"), 0s);
  EXPECT_NE(a.network_digest("net1"), b.network_digest("net1"));
  b.apply(k("x"), v(1, "n", "1"), 0s);
  EXPECT_EQ(a.network_digest("net1"), b.network_digest("net1"));
  a.apply(k("x"), tomb(3, "n"), 0s);
  EXPECT_NE(a.network_digest("net1"), b.network_digest("net1"));
  EXPECT_EQ(a.network_digest("other"), 0u);
  EXPECT_EQ(a.networks(), std::vector<std::string>{"net1"});
}

TEST(TableStore, TombstonesAreReapedAfterTtlOnly) {
  TableStore s;
  s.apply(k("a"), v(1, "n", "x"), 0s);
  s.apply(k("a"), tomb(2, "n"), 10s);
  s.apply(k("b"), tomb(3, "n"), 20s);
  s.apply(k("c"), v(4, "n", "live"), 20s);
  EXPECT_EQ(s.reap(39s, 30s), 0u);
  EXPECT_EQ(s.reap(40s, 30s), 1u);  // a
  EXPECT_EQ(s.size(), 2u);
  // b is written live again before its reap time: the old queue item is stale.
  s.apply(k("b"), v(5, "n", "again"), 45s);
  EXPECT_EQ(s.reap(100s, 30s), 0u);
  EXPECT_EQ(s.get(k("b")), "again");
  EXPECT_EQ(s.size(), 2u);
  // After reaping, an old version can come back: that is why the TTL must
  // exceed the longest time a stale copy can survive elsewhere.
  EXPECT_TRUE(s.apply(k("a"), v(1, "n", "x"), 101s).accepted);
}

TEST(TableStore, PurgeOwnerHidesEntriesAndBlocksSameVersion) {
  TableStore s;
  std::vector<Change> seen;
  s.apply(k("a"), v(1, "dead", "x"), 0s);
  s.apply(k("b"), v(2, "dead", "y"), 0s);
  s.apply(k("c"), v(3, "alive", "z"), 0s);
  s.apply(k("d"), tomb(4, "dead"), 0s);
  s.subscribe(TableFilter::all(), [&](const Change& c) { seen.push_back(c); });
  seen.clear();
  EXPECT_EQ(s.set_owner_purged("dead", true, 5s), 2u);
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_EQ(s.live_size(), 1u);
  // A lagging peer's copy of the same version does not bring it back...
  EXPECT_FALSE(s.apply(k("a"), v(1, "dead", "x"), 6s).accepted);
  // ...and a newer version from a purged owner is stored purged.
  EXPECT_TRUE(s.apply(k("a"), v(7, "dead", "x2"), 6s).accepted);
  EXPECT_FALSE(s.get(k("a")));
  // The owner comes back: entries stay hidden until it writes newer versions.
  s.set_owner_purged("dead", false, 7s);
  EXPECT_FALSE(s.get(k("b")));
  EXPECT_EQ(s.apply(k("b"), v(8, "dead", "y"), 8s).change, ChangeKind::kCreate);
  EXPECT_EQ(s.get(k("b")), "y");
  // Purged entries are reaped like tombstones.
  EXPECT_EQ(s.reap(35s, 30s), 1u);  // d (tombstone since 0s); a died again at 6s
  EXPECT_EQ(s.reap(36s, 30s), 1u);  // a
  EXPECT_EQ(s.size(), 2u);          // b and c
}

TEST(TableStore, SubscriberGetsSnapshotThenOrderedStreamFiltered) {
  TableStore s;
  s.apply(k("b", "net1"), v(1, "n", "b1"), 0s);
  s.apply(k("a", "net1"), v(2, "n", "a1"), 0s);
  s.apply(k("z", "net2"), v(3, "n", "z1"), 0s);
  s.apply(k("gone", "net1"), tomb(4, "n"), 0s);
  std::vector<std::string> log;
  auto id = s.subscribe(TableFilter::of("net1", "ep"), [&](const Change& c) {
    log.push_back(fmt::format("{}:{}={}", change_kind_name(c.kind), c.key.key, c.version.value));
  });
  s.apply(k("c", "net1"), v(5, "n", "c1"), 0s);
  s.apply(k("y", "net2"), v(6, "n", "y1"), 0s);  // filtered out
  s.apply(k("a", "net1"), v(7, "n", "a2"), 0s);
  s.apply(k("b", "net1"), tomb(8, "n"), 0s);
  s.apply(k("b", "net1"), v(9, "m", "b2"), 0s);
  s.unsubscribe(id);
  s.apply(k("c", "net1"), v(10, "n", "c2"), 0s);
  const std::vector<std::string> want = {"create:a=a1", "create:b=b1", "create:c=c1",
                                         "update:a=a2", "delete:b=",   "create:b=b2"};
  EXPECT_EQ(log, want);
}

TEST(TableStore, DropNetworkForgetsOnlyThatNetwork) {
  TableStore s;
  int deletes = 0;
  s.apply(k("a", "n1"), v(1, "x", "1"), 0s);
  s.apply(k("b", "n1"), tomb(2, "x"), 0s);
  s.apply(k("c", "n2"), v(3, "x", "3"), 0s);
  s.subscribe(TableFilter::all(), [&](const Change& c) { deletes += c.kind == ChangeKind::kDelete; });
  EXPECT_EQ(s.drop_network("n1"), 2u);
  EXPECT_EQ(deletes, 1);
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(s.network_digest("n1"), 0u);
  EXPECT_EQ(s.keys_owned_by("x").size(), 1u);
}

TEST(TableStore, OwnerIndexFollowsOverwrites) {
  TableStore s;
  s.apply(k("a"), v(1, "x", "1"), 0s);
  s.apply(k("a"), v(2, "y", "2"), 0s);
  EXPECT_TRUE(s.keys_owned_by("x").empty());
  EXPECT_EQ(s.keys_owned_by("y").size(), 1u);
  EXPECT_EQ(s.set_owner_purged("x", true, 0s), 0u);
  EXPECT_EQ(s.get(k("a")), "2");
}

TEST(LamportClock, TickAndWitness) {
  LamportClock c;
  EXPECT_EQ(c.tick(), 1u);
  c.witness(10);
  EXPECT_EQ(c.tick(), 11u);
  c.witness(3);
  EXPECT_EQ(c.tick(), 12u);
}

}  // namespace
}  // namespace ferry::gossip
