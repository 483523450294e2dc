// The fuzz target's property in `make test`: a few hundred random and
// damaged messages per seed through every Delegate entry point of one
// Allocator; after each, World::feed's checks hold (ipam_fuzz_world.h). The
// counters prove the generator reaches every kind of drop and the paths
// that apply records, give and receive space.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>

#include "control/gossip/rng.h"
#include "tests/ipam/ipam_fuzz_world.h"

namespace ferry::ipam::fuzz {
namespace {

TEST(IpamWireReplay, RandomAndDamagedMessagesNeverBreakTheAllocator) {
  Counters total{};
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    gossip::Rng rng(seed);
    const Draw draw = [&rng](std::uint32_t bound) -> std::uint32_t {
      return bound == 0 ? 0 : static_cast<std::uint32_t>(rng.below(bound));
    };
    auto world = std::make_unique<World>();
    auto add = [&total](const Allocator& a) {
      for (std::size_t c = 0; c < kNumCounters; ++c) total[c] += a.counter(static_cast<Counter>(c));
    };
    for (int i = 0; i < 400; ++i) {
      const std::uint32_t entry = draw(5);
      std::string body;
      bool raw = false;
      if (draw(4) == 0) {
        // Raw bytes, with or without the IPAM prefix.
        body.resize(draw(64));
        for (char& c : body) c = static_cast<char>(draw(256));
        raw = draw(2) == 0;
      } else {
        body = world->structured(draw, entry);
      }
      auto r = world->feed(entry, body, raw);
      ASSERT_TRUE(r) << "input " << i << " (entry " << entry << "): " << r.error().message;
      if (world->bloated()) {
        add(world->alloc());
        world = std::make_unique<World>();
      }
    }
    add(world->alloc());
  }
  auto n = [&total](Counter c) { return total[static_cast<std::size_t>(c)]; };
  EXPECT_GT(n(Counter::malformed), 0U);
  EXPECT_GT(n(Counter::bad_range), 0U);
  EXPECT_GT(n(Counter::pool_mismatch), 0U);
  EXPECT_GT(n(Counter::forged), 0U);
  EXPECT_GT(n(Counter::records_applied), 0U);
  EXPECT_GT(n(Counter::donations_given), 0U);
  EXPECT_GT(n(Counter::donations_refused), 0U);
  EXPECT_GT(n(Counter::donations_received), 0U);
  EXPECT_GT(n(Counter::donations_failed), 0U);
  EXPECT_GT(n(Counter::blocks_lost), 0U);  // reclaimed records: allocations there become conflicts
  EXPECT_GT(n(Counter::hand_overs), 0U);
}

}  // namespace
}  // namespace ferry::ipam::fuzz
