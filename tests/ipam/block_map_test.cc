// BlockMap: merge order, runs, wire checks, and convergence of replicas that
// receive the same records in different orders, duplicated.
#include "control/ipam/block_map.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "control/ipam/ipam.pb.h"
#include "control/ipam/pool.h"

namespace ferry::ipam {
namespace {

TEST(Record, OrderIsVersionThenOwnerThenReclaimed) {
  EXPECT_TRUE(std::is_gt(Record({2, "a", false}).compare(Record{1, "z", true})));
  EXPECT_TRUE(std::is_gt(Record({2, "b", false}).compare(Record{2, "a", true})));
  EXPECT_TRUE(std::is_gt(Record({2, "a", true}).compare(Record{2, "a", false})));
  EXPECT_TRUE(std::is_eq(Record({2, "a", true}).compare(Record{2, "a", true})));
}

TEST(BlockMap, GenesisOwnsEverythingAndIsNotSent) {
  BlockMap m(8, "g");
  EXPECT_EQ(m.count_of("g"), 8U);
  EXPECT_TRUE(m.runs().empty());
  ASSERT_EQ(m.runs(true).size(), 1U);
  EXPECT_EQ(m.runs(true)[0], (ipam::Run{0, 8, Record{0, "g", false}}));
}

TEST(BlockMap, MergeKeepsTheGreaterRecordAndIndexesOwners) {
  BlockMap m(8, "g");
  EXPECT_TRUE(m.merge(3, Record{1, "a", false}));
  EXPECT_FALSE(m.merge(3, Record{1, "a", false}));   // duplicate
  EXPECT_FALSE(m.merge(3, Record{0, "z", false}));   // older
  EXPECT_TRUE(m.merge(3, Record{1, "b", false}));    // tie: greater owner
  EXPECT_FALSE(m.merge(99, Record{5, "b", false}));  // outside: ignored
  EXPECT_EQ(m.owner(3), "b");
  EXPECT_EQ(m.count_of("a"), 0U);
  EXPECT_EQ(m.count_of("b"), 1U);
  EXPECT_EQ(m.count_of("g"), 7U);
  EXPECT_EQ(m.merge(ipam::Run{4, 4, Record{2, "b", false}}), 4U);
  const auto runs = m.runs();
  ASSERT_EQ(runs.size(), 2U);
  EXPECT_EQ(runs[0], (ipam::Run{3, 1, Record{1, "b", false}}));
  EXPECT_EQ(runs[1], (ipam::Run{4, 4, Record{2, "b", false}}));
  EXPECT_EQ(m.owner_counts(), (std::map<std::string, std::uint32_t>{{"b", 5}, {"g", 3}}));
}

std::vector<v1::Run> wire(
    std::initializer_list<std::tuple<std::uint32_t, std::uint32_t, std::string, std::uint64_t>> l) {
  std::vector<v1::Run> out;
  out.reserve(l.size());
  for (const auto& [first, count, owner, version] : l) {
    v1::Run r;
    r.set_first(first);
    r.set_count(count);
    r.set_owner(owner);
    r.set_version(version);
    out.push_back(r);
  }
  return out;
}

Result<std::vector<Run>> decode(const std::vector<v1::Run>& runs, std::uint32_t n) {
  std::vector<const v1::Run*> ptrs;
  ptrs.reserve(runs.size());
  for (const auto& r : runs) ptrs.push_back(&r);
  return decode_runs(ptrs, n);
}

TEST(DecodeRuns, AcceptsSortedDisjointRunsInsideThePool) {
  auto r = decode(wire({{0, 2, "a", 1}, {2, 1, "b", 3}, {7, 1, "a", 9}}), 8);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->size(), 3U);
}

TEST(DecodeRuns, RejectsBadRuns) {
  EXPECT_FALSE(decode(wire({{7, 2, "a", 1}}), 8));                    // past the end
  EXPECT_FALSE(decode(wire({{0xffffffff, 2, "a", 1}}), 8));           // overflow
  EXPECT_FALSE(decode(wire({{0, 0, "a", 1}}), 8));                    // empty
  EXPECT_FALSE(decode(wire({{0, 3, "a", 1}, {2, 1, "b", 1}}), 8));    // overlap
  EXPECT_FALSE(decode(wire({{4, 1, "a", 1}, {2, 1, "b", 1}}), 8));    // unsorted
  EXPECT_FALSE(decode(wire({{0, 1, "a", 0}}), 8));                    // version 0
  EXPECT_FALSE(decode(wire({{0, 1, "", 1}}), 8));                     // no owner
  EXPECT_FALSE(decode(wire({{0, 1, "a b", 1}}), 8));                  // bad owner
  EXPECT_FALSE(decode(wire({{0, 1, std::string(300, 'x'), 1}}), 8));  // long owner
}

// Replays a random valid history (owners hand blocks on, a few concurrent
// reclaims write equal versions) and delivers its records to replicas in
// different orders, duplicated: all replicas end equal, and the owner index
// partitions the blocks.
TEST(BlockMap, ReplicasConvergeWhateverTheDeliveryOrder) {
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    std::mt19937_64 rng(seed);
    constexpr std::uint32_t kBlocks = 64;
    const std::vector<std::string> hosts = {"h0", "h1", "h2", "h3", "h4"};
    BlockMap truth(kBlocks, "h0");
    std::vector<std::pair<std::uint32_t, Record>> history;
    for (int step = 0; step < 400; ++step) {
      const std::uint32_t b = rng() % kBlocks;
      const Record& cur = truth.at(b);
      Record next{cur.version + 1, hosts[rng() % hosts.size()], rng() % 10 == 0};
      history.emplace_back(b, next);
      if (next.reclaimed && rng() % 2 == 0) {
        history.emplace_back(b, Record{next.version, hosts[rng() % hosts.size()], true});  // a rival heir
      }
      truth.merge(b, history.back().second);
      truth.merge(b, next);
    }
    std::vector<BlockMap> replicas;
    for (int r = 0; r < 4; ++r) {
      auto order = history;
      for (std::size_t k = 0; k < history.size() / 5; ++k) order.push_back(history[rng() % history.size()]);
      std::shuffle(order.begin(), order.end(), rng);
      BlockMap m(kBlocks, "h0");
      for (const auto& [b, rec] : order) m.merge(b, rec);
      replicas.push_back(std::move(m));
    }
    for (const BlockMap& m : replicas) {
      EXPECT_TRUE(m == replicas[0]) << "seed " << seed;
      EXPECT_TRUE(m == truth) << "seed " << seed;
      std::uint32_t total = 0;
      std::set<std::uint32_t> seen;
      for (const std::string& h : hosts) {
        for (const std::uint32_t b : m.blocks_of(h)) {
          EXPECT_TRUE(seen.insert(b).second) << "block " << b << " owned twice, seed " << seed;
          EXPECT_EQ(m.owner(b), h);
        }
        total += m.count_of(h);
      }
      EXPECT_EQ(total, kBlocks);
      // Runs re-encode the same map.
      BlockMap again(kBlocks, "h0");
      for (const ipam::Run& run : m.runs()) again.merge(run);
      EXPECT_TRUE(again == m);
    }
  }
}

TEST(PoolSpec, BlockSizeAndReservedAddresses) {
  auto s = PoolSpec::make("net", 0x0a010000, 16, "g", 4096);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->block_size, 16U);
  EXPECT_EQ(s->num_blocks(), 4096U);
  EXPECT_EQ(s->usable_in(0), 14U);     // network and gateway
  EXPECT_EQ(s->usable_in(4095), 15U);  // broadcast
  EXPECT_EQ(s->usable_in(7), 16U);
  auto small = PoolSpec::make("net", 0x0a000000, 24, "g", 4096);
  ASSERT_TRUE(small);
  EXPECT_EQ(small->block_size, 1U);
  EXPECT_FALSE(PoolSpec::make("net", 0x0a000001, 24, "g", 4096));  // host bits
  EXPECT_FALSE(PoolSpec::make("net", 0x0a000000, 31, "g", 4096));
  EXPECT_FALSE(PoolSpec::make("bad name", 0x0a000000, 24, "g", 4096));
  EXPECT_EQ(format_ipv4(0x0a000102), "10.0.1.2");
}

}  // namespace
}  // namespace ferry::ipam
