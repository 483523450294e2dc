#include "dataplane/core/types.h"

#include <gtest/gtest.h>

#include "dataplane/core/counters.h"

namespace ferry::dataplane {
namespace {

TEST(Types, MacParseAndFormat) {
  const auto m = parse_mac("02:00:0a:01:00:FF");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->to_string(), "02:00:0a:01:00:ff");
  EXPECT_EQ(m->to_u64(), 0x02000a0100ffull);
  EXPECT_EQ(MacAddr::from_u64(0x02000a0100ffull), *m);
  EXPECT_TRUE(parse_mac("02-00-0a-01-00-01"));
  for (const char* bad : {"", "02:00:0a:01:00", "02:00:0a:01:00:0g", "02:00:0a:01:00:001", "0200:0a:01:00:01:"}) {
    EXPECT_FALSE(parse_mac(bad)) << bad;
  }
  EXPECT_TRUE(parse_mac("ff:ff:ff:ff:ff:ff")->is_multicast());
  EXPECT_TRUE(parse_mac("33:33:00:00:00:01")->is_multicast());
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

TEST(Types, Ipv6ParseAndCanonicalText) {
  const struct {
    const char* in;
    const char* out;
  } cases[] = {
      {"fd00:4242::1", "fd00:4242::1"},
      {"FD00:4242:0000:0000:0000:0000:0000:0001", "fd00:4242::1"},
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},     // first of two equal runs
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},  // a single zero group stays
      {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},           // the longest run wins
      {"::", "::"},
      {"::1", "::1"},
      {"1::", "1::"},
      {"fe80::ff:fe0a:101", "fe80::ff:fe0a:101"},
  };
  for (const auto& c : cases) {
    const auto ip = Ipv6Addr::parse(c.in);
    ASSERT_TRUE(ip) << c.in;
    EXPECT_EQ(ip->to_string(), c.out) << c.in;
  }
  for (const char* bad : {"", "1:2:3:4:5:6:7:8:9", "fd00::1::2", "fd00::g", "fe80::1%eth0", "fd00::1/64", "10.0.0.1"}) {
    EXPECT_FALSE(Ipv6Addr::parse(bad)) << bad;
  }
  EXPECT_TRUE(Ipv6Addr::parse("fd00::1")->is_endpoint_unicast());
  EXPECT_TRUE(Ipv6Addr::parse("2001:db8::1")->is_endpoint_unicast());
  for (const char* refused : {"::", "::1", "ff02::1", "fe80::1", "febf::1", "::ffff:10.0.0.1", "::10.0.0.1"}) {
    EXPECT_FALSE(Ipv6Addr::parse(refused)->is_endpoint_unicast()) << refused;
  }
  EXPECT_TRUE(Ipv6Addr::parse("fec0::1")->is_endpoint_unicast()) << "site-local is long deprecated, but unicast";
}

TEST(Counters, NamesComeFromTheXMacro) {
  EXPECT_EQ(counter_name(Counter::rx_uplink), "rx_uplink");
  EXPECT_EQ(counter_name(Counter::tx_full), "tx_full");
  EXPECT_EQ(kCounterInfo[static_cast<std::size_t>(Counter::truncated)].kind, CounterKind::Drop);
  for (const auto& info : kCounterInfo) EXPECT_FALSE(info.help.empty()) << info.name;
}

}  // namespace
}  // namespace ferry::dataplane
