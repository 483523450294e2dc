#include "netns/address.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ferry::netns {
namespace {

struct MacCase {
  std::string text;
  bool valid;
  std::string canonical;  // to_string() of the result when valid
};

// An interface's own MAC: common/mac_address.h's parse_unicast_mac.
TEST(ParseMac, Table) {
  const std::vector<MacCase> cases = {
      {"02:42:0a:00:00:02", true, "02:42:0a:00:00:02"},
      {"02:42:0A:FF:Ee:02", true, "02:42:0a:ff:ee:02"},
      {"00:16:3e:00:00:01", true, "00:16:3e:00:00:01"},  // globally administered unicast is fine
      {"", false, ""},
      {"02:42:0a:00:00", false, ""},                     // five octets
      {"02:42:0a:00:00:02:03", false, ""},               // seven
      {"02-42-0a-00-00-02", true, "02:42:0a:00:00:02"},  // '-' separators
      {"02-42:0a-00:00-02", false, ""},                  // mixed separators
      {"0242.0a00.0002", false, ""},                     // Cisco style
      {"02:42:0g:00:00:02", false, ""},                  // not hex
      {"2:42:0a:00:00:02x", false, ""},                  // wrong field widths
      {"00:00:00:00:00:00", false, ""},                  // zero
      {"01:00:5e:00:00:01", false, ""},                  // IPv4 multicast
      {"33:33:00:00:00:01", false, ""},                  // IPv6 multicast
      {"ff:ff:ff:ff:ff:ff", false, ""},                  // broadcast
      {"03:00:00:00:00:01", false, ""},                  // multicast bit with local bit
  };
  for (const auto& c : cases) {
    auto mac = parse_unicast_mac(c.text);
    EXPECT_EQ(mac.has_value(), c.valid) << "'" << c.text << "'";
    if (mac && c.valid) {
      EXPECT_EQ(mac->to_string(), c.canonical);
    }
    if (!mac) {
      EXPECT_NE(mac.error().message.find("MAC"), std::string::npos) << mac.error().message;
    }
  }
}

TEST(ParseMac, ErrorSaysWhy) {
  EXPECT_NE(parse_unicast_mac("01:00:5e:00:00:01").error().message.find("multicast"), std::string::npos);
  EXPECT_NE(parse_unicast_mac("00:00:00:00:00:00").error().message.find("zero"), std::string::npos);
}

struct PrefixCase {
  std::string text;
  bool valid;
  std::string canonical;
  unsigned length;
};

TEST(ParsePrefix, Table) {
  const std::vector<PrefixCase> cases = {
      {"10.0.0.2/24", true, "10.0.0.2/24", 24},
      {"0.0.0.0/0", true, "0.0.0.0/0", 0},
      {"192.168.1.1/32", true, "192.168.1.1/32", 32},
      {"fd00::2/64", true, "fd00::2/64", 64},
      {"FD00:0:0::2/128", true, "fd00::2/128", 128},
      {"::/0", true, "::/0", 0},
      {"10.0.0.2", false, "", 0},  // no length
      {"10.0.0.2/", false, "", 0},
      {"10.0.0.2/33", false, "", 0},
      {"fd00::2/129", false, "", 0},
      {"10.0.0.2/-1", false, "", 0},
      {"10.0.0.2/2a", false, "", 0},
      {"10.0.0.2/0024", false, "", 0},  // more than three digits
      {"10.0.0.256/24", false, "", 0},
      {"10.0.0/24", false, "", 0},
      {"010.0.0.1/8", false, "", 0},  // inet_pton refuses leading zeros
      {"fd00:::2/64", false, "", 0},
      {"fd00::2%eth0/64", false, "", 0},  // no zone ids
      {" 10.0.0.2/24", false, "", 0},
      {"/24", false, "", 0},
  };
  for (const auto& c : cases) {
    auto p = parse_prefix(c.text);
    EXPECT_EQ(p.has_value(), c.valid) << "'" << c.text << "'";
    if (p && c.valid) {
      EXPECT_EQ(p->to_string(), c.canonical);
      EXPECT_EQ(p->prefix_length, c.length);
    }
  }
}

TEST(ParseInterfaceAddress, Table) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"10.0.0.2/24", true},     {"172.31.0.1/32", true},       {"fd00::2/64", true},
      {"2001:db8::1/128", true}, {"fe80::1/64", true},           // link-local is a valid interface address
      {"10.0.0.2/0", false},                                     // length 0
      {"0.0.0.0/8", false},                                      // unspecified
      {"::/64", false},          {"224.0.0.1/24", false},        // multicast
      {"ff02::1/64", false},     {"127.0.0.1/8", false},         // loopback
      {"::1/128", false},        {"255.255.255.255/32", false},  // limited broadcast
      {"10.0.0.2", false},
  };
  for (const auto& [text, valid] : cases) {
    EXPECT_EQ(parse_interface_address(text).has_value(), valid) << text;
  }
}

TEST(ParseIp, Families) {
  auto v4 = parse_ip("10.1.2.3");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->family, Family::kIPv4);
  EXPECT_EQ(v4->size(), 4U);
  EXPECT_EQ(v4->to_string(), "10.1.2.3");
  auto v6 = parse_ip("fd00::1");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->family, Family::kIPv6);
  EXPECT_EQ(v6->to_string(), "fd00::1");
  EXPECT_FALSE(parse_ip(""));
  EXPECT_FALSE(parse_ip("10.1.2.3/8"));
  EXPECT_FALSE(parse_ip("example.com"));
  EXPECT_FALSE(parse_ip(std::string(100, '1')));
}

TEST(IpPrefix, NetworkAndContains) {
  auto p = *parse_prefix("10.1.2.3/23");
  EXPECT_EQ(p.network().to_string(), "10.1.2.0/23");
  EXPECT_TRUE(p.contains(*parse_ip("10.1.3.255")));
  EXPECT_FALSE(p.contains(*parse_ip("10.1.4.0")));
  EXPECT_FALSE(p.contains(*parse_ip("fd00::1")));
  auto v6 = *parse_prefix("fd00:1:2:3:4::1/66");
  EXPECT_EQ(v6.network().to_string(), "fd00:1:2:3::/66");
  EXPECT_TRUE(parse_prefix("0.0.0.0/0")->contains(*parse_ip("8.8.8.8")));
}

TEST(IpAddress, Classes) {
  EXPECT_TRUE(parse_ip("fe80::1")->is_ipv6_link_local());
  EXPECT_FALSE(parse_ip("fd00::1")->is_ipv6_link_local());
  EXPECT_TRUE(parse_ip("239.1.1.1")->is_multicast());
  EXPECT_TRUE(parse_ip("127.8.0.1")->is_loopback());
  EXPECT_TRUE(parse_ip("::")->is_unspecified());
  EXPECT_TRUE(validate_gateway(*parse_ip("10.0.0.1")));
  EXPECT_FALSE(validate_gateway(*parse_ip("0.0.0.0")));
  EXPECT_FALSE(validate_gateway(*parse_ip("ff02::1")));
}

}  // namespace
}  // namespace ferry::netns
