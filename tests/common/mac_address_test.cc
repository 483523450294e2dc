#include "common/mac_address.h"

#include <gtest/gtest.h>

#include <random>
#include <unordered_set>

namespace ferry {
namespace {

TEST(MacAddress, ParsesBothSeparatorsAndEitherCase) {
  const struct {
    const char* text;
    const char* canonical;
  } cases[] = {
      {"02:42:0a:00:00:02", "02:42:0a:00:00:02"}, {"02:42:AC:11:00:FF", "02:42:ac:11:00:ff"},
      {"02-42-ac-11-00-02", "02:42:ac:11:00:02"}, {"ff:ff:ff:ff:ff:ff", "ff:ff:ff:ff:ff:ff"},
      {"00:00:00:00:00:00", "00:00:00:00:00:00"},
  };
  for (const auto& c : cases) {
    auto mac = parse_mac(c.text);
    ASSERT_TRUE(mac) << c.text << ": " << mac.error().message;
    EXPECT_EQ(mac->to_string(), c.canonical);
    EXPECT_EQ(parse_mac(mac->to_string()).value(), *mac) << "text round trip";
  }
}

TEST(MacAddress, RefusesEverythingElseNamingTheText) {
  for (const char* bad :
       {"", "02:42:0a:00:00", "02:42:0a:00:00:02:03", "02:42-0a:00:00:02", "02-42:0a:00:00:02", "02:42:0g:00:00:02",
        "2:42:0a:00:00:02x", "0242.0a00.0002", " 02:42:0a:00:00:2", "02:42:0a:00:00:2 ", "02.42.0a.00.00.02",
        "02:42:0a:00:00:+2", "02::42:0a:00:00:0", "0x:42:0a:00:00:02"}) {
    auto mac = parse_mac(bad);
    ASSERT_FALSE(mac) << "'" << bad << "'";
    EXPECT_NE(mac.error().message.find("MAC"), std::string::npos) << mac.error().message;
    EXPECT_NE(mac.error().message.find(std::string("'") + bad + "'"), std::string::npos) << mac.error().message;
  }
}

TEST(MacAddress, UnicastRefusesGroupAndZeroAddressesSayingWhy) {
  EXPECT_TRUE(parse_unicast_mac("02:42:0a:00:00:02"));
  EXPECT_TRUE(parse_unicast_mac("00:1b:21:00:00:01")) << "a vendor address is unicast too";
  for (const char* group : {"01:00:5e:00:00:01", "33:33:00:00:00:01", "ff:ff:ff:ff:ff:ff", "03:00:00:00:00:01"}) {
    auto mac = parse_unicast_mac(group);
    ASSERT_FALSE(mac) << group;
    EXPECT_NE(mac.error().message.find("multicast"), std::string::npos) << mac.error().message;
  }
  auto zero = parse_unicast_mac("00:00:00:00:00:00");
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().message.find("zero"), std::string::npos) << zero.error().message;
  EXPECT_FALSE(parse_unicast_mac("02:42")) << "still a parse error first";
}

TEST(MacAddress, FlagsReadTheRightBits) {
  const MacAddress local = parse_mac("02:42:0a:00:00:02").value();
  EXPECT_TRUE(local.is_locally_administered());
  EXPECT_FALSE(local.is_multicast());
  EXPECT_FALSE(local.is_zero());
  EXPECT_FALSE(local.is_broadcast());
  const MacAddress vendor = parse_mac("00:1b:21:3c:4d:5e").value();
  EXPECT_FALSE(vendor.is_locally_administered());
  EXPECT_TRUE(parse_mac("01:00:5e:00:00:01")->is_multicast());
  EXPECT_FALSE(parse_mac("01:00:5e:00:00:01")->is_broadcast());
  EXPECT_TRUE(parse_mac("ff:ff:ff:ff:ff:ff")->is_broadcast());
  EXPECT_TRUE(parse_mac("ff:ff:ff:ff:ff:ff")->is_multicast());
  EXPECT_TRUE(MacAddress{}.is_zero());
}

TEST(MacAddress, IntegerFormRoundTripsAndOrdersLikeTheBytes) {
  EXPECT_EQ(parse_mac("02:00:0a:01:00:ff")->to_u64(), 0x02000a0100ffULL);
  EXPECT_EQ(MacAddress::from_u64(0x02000a0100ffULL), parse_mac("02:00:0a:01:00:ff").value());
  EXPECT_EQ(MacAddress::from_u64(0xabcd02000a0100ffULL).to_u64(), 0x02000a0100ffULL) << "bits above 48 ignored";
  std::mt19937_64 rng(7);
  for (int i = 0; i < 10000; ++i) {
    const std::uint64_t a = rng() & 0xffffffffffffULL;
    const std::uint64_t b = rng() & 0xffffffffffffULL;
    const MacAddress ma = MacAddress::from_u64(a);
    const MacAddress mb = MacAddress::from_u64(b);
    ASSERT_EQ(ma.to_u64(), a);
    ASSERT_EQ(parse_mac(ma.to_string()).value(), ma);
    ASSERT_EQ(ma < mb, a < b);
    ASSERT_EQ(ma == mb, a == b);
  }
}

TEST(MacAddress, HashesEqualAddressesEqually) {
  std::unordered_set<MacAddress> seen;
  for (std::uint64_t i = 0; i < 1000; ++i) seen.insert(MacAddress::from_u64(0x020000000000ULL + i));
  EXPECT_EQ(seen.size(), 1000U);
  EXPECT_EQ(seen.count(parse_mac("02:00:00:00:03:e7").value()), 1U);  // 0x3e7 == 999
  EXPECT_EQ(seen.count(parse_mac("02:00:00:00:03:e8").value()), 0U);
  EXPECT_EQ(std::hash<MacAddress>{}(MacAddress::from_u64(5)), std::hash<MacAddress>{}(MacAddress::from_u64(5)));
}

}  // namespace
}  // namespace ferry
