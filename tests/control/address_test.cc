#include "control/gossip/address.h"

#include <gtest/gtest.h>

#include "control/gossip/config.h"

namespace ferry::gossip {
namespace {

TEST(Address, RoundTrip) {
  auto a = Address::parse("10.0.3.7:7946");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->ip, 0x0a000307u);
  EXPECT_EQ(a->port, 7946);
  EXPECT_EQ(a->to_string(), "10.0.3.7:7946");
}

TEST(Address, RejectsGarbage) {
  for (const char* bad : {"", "10.0.0.1", "10.0.0.1:", "10.0.0:1", "10.0.0.256:1", "10.0.0.1:0", "10.0.0.1:65536",
                          "a.b.c.d:1", "10.0.0.1:12x", "10..0.1:5", "10.0.0.1.2:5"}) {
    EXPECT_FALSE(Address::parse(bad)) << bad;
  }
}

TEST(Config, LanDefaultsValidate) {
  EXPECT_TRUE(Config{}.validate());
  Config c;
  c.probe_timeout = c.probe_interval;
  EXPECT_FALSE(c.validate());
  c = Config{};
  c.max_packet_size = 100;
  EXPECT_FALSE(c.validate());
  c = Config{};
  c.gossip_nodes = 0;
  EXPECT_FALSE(c.validate());
}

}  // namespace
}  // namespace ferry::gossip
