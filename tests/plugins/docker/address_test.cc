#include "plugins/docker/address.h"

#include <gtest/gtest.h>

namespace ferry::plugins::docker {
namespace {

TEST(ParseIpTest, Table) {
  const struct {
    const char* text;
    bool valid;
    IpFamily family;
    const char* canonical;
  } cases[] = {
      {"10.10.0.1", true, IpFamily::kV4, "10.10.0.1"},
      {"0.0.0.0", true, IpFamily::kV4, "0.0.0.0"},
      {"255.255.255.255", true, IpFamily::kV4, "255.255.255.255"},
      {"fd00::1", true, IpFamily::kV6, "fd00::1"},
      {"FD00:0:0:0:0:0:0:1", true, IpFamily::kV6, "fd00::1"},
      {"::ffff:10.0.0.1", true, IpFamily::kV6, "::ffff:10.0.0.1"},
      {"::", true, IpFamily::kV6, "::"},
      {"", false, IpFamily::kV4, ""},
      {"10.10.0", false, IpFamily::kV4, ""},
      {"10.10.0.256", false, IpFamily::kV4, ""},
      {"10.10.0.1/24", false, IpFamily::kV4, ""},
      {" 10.10.0.1", false, IpFamily::kV4, ""},
      {"10.10.0.1 ", false, IpFamily::kV4, ""},
      {"fd00::1%eth0", false, IpFamily::kV6, ""},
      {"fd00:::1", false, IpFamily::kV6, ""},
      {"1:2:3:4:5:6:7:8:9", false, IpFamily::kV6, ""},
      {"localhost", false, IpFamily::kV4, ""},
      {"0123456789012345678901234567890123456789012345678901234567890", false, IpFamily::kV4, ""},
  };
  for (const auto& c : cases) {
    const auto ip = parse_ip(c.text);
    ASSERT_EQ(ip.has_value(), c.valid) << c.text;
    if (!c.valid) {
      EXPECT_EQ(ip.error().message, fmt::format("invalid IP address \"{}\"", c.text));
      continue;
    }
    EXPECT_EQ(ip->family, c.family) << c.text;
    EXPECT_EQ(ip->to_string(), c.canonical) << c.text;
  }
}

TEST(ParseIpTest, ValueAndOrdering) {
  EXPECT_EQ(parse_ip("10.10.0.1")->v4_value(), 0x0a0a0001u);
  EXPECT_EQ(IpAddress::v4(0x0a0a0001u), parse_ip("10.10.0.1").value());
  EXPECT_LT(parse_ip("10.10.0.1").value(), parse_ip("10.10.0.2").value());
  EXPECT_LT(parse_ip("10.10.0.255").value(), parse_ip("10.10.1.0").value());
}

TEST(ParseCidrTest, Table) {
  const struct {
    const char* text;
    const char* error;  // nullptr when valid
    const char* network;
  } cases[] = {
      {"10.10.0.0/24", nullptr, "10.10.0.0/24"},
      {"10.10.0.5/24", nullptr, "10.10.0.0/24"},
      {"10.10.0.5/32", nullptr, "10.10.0.5/32"},
      {"10.10.0.5/0", nullptr, "0.0.0.0/0"},
      {"10.10.200.5/17", nullptr, "10.10.128.0/17"},
      {"fd00::9/64", nullptr, "fd00::/64"},
      {"fd00:1:2:3:4:5:6:7/127", nullptr, "fd00:1:2:3:4:5:6:6/127"},
      {"fd00::1/128", nullptr, "fd00::1/128"},
      {"10.10.0.0", "invalid CIDR \"10.10.0.0\": no prefix length", nullptr},
      {"10.10.0.0/33", "invalid CIDR \"10.10.0.0/33\": bad prefix length", nullptr},
      {"10.10.0.0/", "invalid CIDR \"10.10.0.0/\": bad prefix length", nullptr},
      {"10.10.0.0/-1", "invalid CIDR \"10.10.0.0/-1\": bad prefix length", nullptr},
      {"10.10.0.0/2a", "invalid CIDR \"10.10.0.0/2a\": bad prefix length", nullptr},
      {"10.10.0.0/0024", "invalid CIDR \"10.10.0.0/0024\": bad prefix length", nullptr},
      {"fd00::/129", "invalid CIDR \"fd00::/129\": bad prefix length", nullptr},
      {"10.10.0/24", "invalid CIDR \"10.10.0/24\": bad address", nullptr},
      {"/24", "invalid CIDR \"/24\": bad address", nullptr},
  };
  for (const auto& c : cases) {
    const auto prefix = parse_cidr(c.text);
    if (c.error != nullptr) {
      ASSERT_FALSE(prefix) << c.text;
      EXPECT_EQ(prefix.error().message, c.error);
      continue;
    }
    ASSERT_TRUE(prefix) << c.text << ": " << prefix.error().message;
    EXPECT_EQ(prefix->to_string(), c.text);  // host bits are kept
    EXPECT_EQ(prefix->network().to_string(), c.network);
  }
}

TEST(IpPrefixTest, Contains) {
  const IpPrefix net = parse_cidr("10.10.0.0/24").value();
  EXPECT_TRUE(net.contains(parse_ip("10.10.0.0").value()));
  EXPECT_TRUE(net.contains(parse_ip("10.10.0.255").value()));
  EXPECT_FALSE(net.contains(parse_ip("10.10.1.0").value()));
  EXPECT_FALSE(net.contains(parse_ip("::a0a:1").value()));
  EXPECT_TRUE(parse_cidr("0.0.0.0/0")->contains(parse_ip("192.0.2.1").value()));
  EXPECT_TRUE(parse_cidr("fd00::/64")->contains(parse_ip("fd00::ffff:1").value()));
  EXPECT_FALSE(parse_cidr("fd00::/64")->contains(parse_ip("fd00:0:0:1::1").value()));
}

}  // namespace
}  // namespace ferry::plugins::docker
