// One pool's allocations on one host (control/ipam/allocations.h): the
// address, handle and per-block indexes change together, and a lost block
// gives back exactly its allocations.
#include "control/ipam/allocations.h"

#include <gtest/gtest.h>

namespace ferry::ipam {
namespace {

PoolSpec pool16() {
  auto spec = PoolSpec::make("pool", "10.0.0.0/16", "host-a", 4096);  // 16 addresses per block
  EXPECT_TRUE(spec);
  return *spec;
}

TEST(Allocations, AddFindRemove) {
  const PoolSpec spec = pool16();
  Allocations a;
  const Addr ip = 0x0a000020;  // block 2
  ASSERT_TRUE(a.add(ip, spec.block_of(ip), "ep1"));
  EXPECT_FALSE(a.add(ip, spec.block_of(ip), "ep2"));  // held: nothing changes
  EXPECT_EQ(a.find("ep1"), ip);
  EXPECT_FALSE(a.find("ep2"));
  EXPECT_TRUE(a.contains(ip));
  EXPECT_TRUE(a.in_use(2));
  EXPECT_EQ(a.used_in(2), 1u);
  EXPECT_TRUE(a.add(ip + 1, 2, ""));  // anonymous: no handle entry
  EXPECT_EQ(a.used_in(2), 2u);
  EXPECT_TRUE(a.check(spec));

  EXPECT_EQ(a.remove(ip, 2), "ep1");
  EXPECT_FALSE(a.remove(ip, 2));
  EXPECT_FALSE(a.find("ep1"));
  EXPECT_EQ(a.used_in(2), 1u);
  EXPECT_EQ(a.remove(ip + 1, 2), "");
  EXPECT_FALSE(a.in_use(2));
  EXPECT_EQ(a.size(), 0u);
  EXPECT_TRUE(a.check(spec));
}

TEST(Allocations, TakeBlockReturnsExactlyItsAllocations) {
  const PoolSpec spec = pool16();
  Allocations a;
  for (const Addr ip : {0x0a00001fU, 0x0a000020U, 0x0a000025U, 0x0a00002fU, 0x0a000030U}) {
    std::string handle = "h";  // (g++ 12 warns falsely on "h" + std::to_string(...))
    handle += std::to_string(ip & 0xff);
    ASSERT_TRUE(a.add(ip, spec.block_of(ip), handle));
  }
  const auto taken = a.take_block(2, spec.block_first(2), spec.block_size);
  ASSERT_EQ(taken.size(), 3u);
  EXPECT_EQ(taken[0], (std::pair<Addr, std::string>{0x0a000020, "h32"}));
  EXPECT_EQ(taken[2], (std::pair<Addr, std::string>{0x0a00002f, "h47"}));
  EXPECT_FALSE(a.in_use(2));
  EXPECT_FALSE(a.find("h37"));
  EXPECT_EQ(a.size(), 2u);  // blocks 1 and 3 keep theirs
  EXPECT_TRUE(a.in_use(1));
  EXPECT_TRUE(a.in_use(3));
  EXPECT_TRUE(a.check(spec));
  EXPECT_TRUE(a.take_block(5, spec.block_first(5), spec.block_size).empty());
}

TEST(Allocations, CheckFindsIndexesOutOfStep) {
  const PoolSpec spec = pool16();
  Allocations a;
  ASSERT_TRUE(a.add(0x0a000020, 3, "ep"));  // recorded under the wrong block
  EXPECT_FALSE(a.check(spec));
}

}  // namespace
}  // namespace ferry::ipam
