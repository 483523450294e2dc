#include "dataplane/core/types.h"

#include <gtest/gtest.h>

#include "dataplane/core/counters.h"

namespace ferry::dataplane {
namespace {

TEST(Types, MacParseAndFormat) {
  const auto m = MacAddr::parse("02:00:0a:01:00:FF");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->to_string(), "02:00:0a:01:00:ff");
  EXPECT_EQ(m->to_u64(), 0x02000a0100ffull);
  EXPECT_EQ(MacAddr::from_u64(0x02000a0100ffull), *m);
  EXPECT_TRUE(MacAddr::parse("02-00-0a-01-00-01"));
  for (const char* bad : {"", "02:00:0a:01:00", "02:00:0a:01:00:0g", "02:00:0a:01:00:001", "0200:0a:01:00:01:"}) {
    EXPECT_FALSE(MacAddr::parse(bad)) << bad;
  }
  EXPECT_TRUE(MacAddr::parse("ff:ff:ff:ff:ff:ff")->is_multicast());
  EXPECT_TRUE(MacAddr::parse("33:33:00:00:00:01")->is_multicast());
  EXPECT_FALSE(m->is_multicast());
}

TEST(Types, Ipv4ParseAndFormat) {
  const auto ip = Ipv4Addr::parse("172.31.7.1");
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->value, 0xac1f0701u);
  EXPECT_EQ(ip->to_string(), "172.31.7.1");
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.x", "1..2.3", "1.2.3.4 ", "01234.1.1.1"}) {
    EXPECT_FALSE(Ipv4Addr::parse(bad)) << bad;
  }
}

TEST(Counters, NamesComeFromTheXMacro) {
  EXPECT_EQ(counter_name(Counter::rx_uplink), "rx_uplink");
  EXPECT_EQ(counter_name(Counter::tx_full), "tx_full");
  EXPECT_EQ(kCounterInfo[static_cast<std::size_t>(Counter::truncated)].kind, CounterKind::Drop);
  for (const auto& info : kCounterInfo) EXPECT_FALSE(info.help.empty()) << info.name;
}

}  // namespace
}  // namespace ferry::dataplane
