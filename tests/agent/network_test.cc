#include "control/agent/network.h"

#include <gtest/gtest.h>

namespace ferry::agent {
namespace {

NetworkEntry entry(std::string name, std::uint32_t vni, gossip::Lamport t, std::string owner) {
  return NetworkEntry{NetworkRecord{std::move(name), vni, "10.1.0.0/24", {}}, t, std::move(owner)};
}

TEST(NetworkRecord, EncodeDecodeRoundTrip) {
  NetworkRecord r{"blue", 42, "10.10.0.0/16", {{"mtu", "1450"}}};
  auto d = NetworkRecord::decode(r.encode());
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(*d, r);
}

TEST(NetworkRecord, ValidateRefusesBadFields) {
  EXPECT_FALSE((NetworkRecord{"", 1, "10.0.0.0/24", {}}.validate()));
  EXPECT_FALSE((NetworkRecord{"a b", 1, "10.0.0.0/24", {}}.validate()));
  EXPECT_FALSE((NetworkRecord{"a", 0, "10.0.0.0/24", {}}.validate()));
  EXPECT_FALSE((NetworkRecord{"a", 1 << 24, "10.0.0.0/24", {}}.validate()));
  EXPECT_FALSE((NetworkRecord{"a", 1, "10.0.0.1/24", {}}.validate()));
  EXPECT_FALSE((NetworkRecord{"a", 1, "10.0.0.0/31", {}}.validate()));
  EXPECT_FALSE(NetworkRecord::decode("{\"name\": 3}"));
  EXPECT_FALSE(NetworkRecord::decode("not json"));
  auto c = canonical_subnet("10.0.0.5/24");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("10.0.0.0/24"), std::string::npos);
}

TEST(NetworkRecord, OptionalIpv6SubnetRoundTripsAndIsPartOfTheDefinition) {
  NetworkRecord r{"blue", 42, "10.10.0.0/16", {}};
  r.subnet6 = "fd00:10::/64";
  auto d = NetworkRecord::decode(r.encode());
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(*d, r);
  NetworkRecord v4only{"blue", 42, "10.10.0.0/16", {}};
  EXPECT_EQ(v4only.encode().find("subnet6"), std::string::npos);  // old readers see the same record
  EXPECT_FALSE(v4only.same_definition(r));
  const NetworkView view = resolve_networks({NetworkEntry{r, 1, "h1"}});
  auto refused = check_create(view, v4only);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("fd00:10::/64"), std::string::npos) << refused.error().message;
}

TEST(NetworkRecord, Ipv6SubnetIsCheckedAndCanonical) {
  auto c = canonical_subnet6("FD00:10:0:0::/64");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(*c, "fd00:10::/64");
  EXPECT_TRUE(canonical_subnet6("2001:db8:1::/48"));
  EXPECT_TRUE(canonical_subnet6("fd00::/126"));
  for (const char* bad : {"fd00::/47", "fd00::/127", "fd00::/128", "10.0.0.0/24", "fd00::", "fe80::/64", "ff02::/64",
                          "::ffff:10.0.0.0/120", "::/64", "fd00::zz/64"}) {
    EXPECT_FALSE(canonical_subnet6(bad)) << bad;
  }
  auto host_bits = canonical_subnet6("fd00::5/64");
  ASSERT_FALSE(host_bits);
  EXPECT_NE(host_bits.error().message.find("fd00::/64"), std::string::npos) << host_bits.error().message;
  NetworkRecord r{"blue", 42, "10.10.0.0/16", {}};
  r.subnet6 = "FD00::/64";  // not canonical
  EXPECT_FALSE(r.validate());
  r.subnet6 = "fd00::1/64";
  EXPECT_FALSE(r.validate());
}

TEST(ResolveNetworks, EarliestDefinitionOfAVniWinsEverywhere) {
  // Same entries in two orders: same outcome.
  std::vector<NetworkEntry> a{entry("red", 7, 5, "h2"), entry("blue", 7, 5, "h1"), entry("green", 8, 9, "h3")};
  std::vector<NetworkEntry> b{a[2], a[0], a[1]};
  const NetworkView va = resolve_networks(a), vb = resolve_networks(b);
  ASSERT_EQ(va.active.size(), 2U);
  EXPECT_EQ(va.active[0].record.name, "blue");  // lamport tie: owner h1 < h2
  EXPECT_EQ(va.active[1].record.name, "green");
  ASSERT_EQ(va.conflicting.size(), 1U);
  EXPECT_EQ(va.conflicting[0].entry.record.name, "red");
  EXPECT_NE(va.conflicting[0].reason.find("blue"), std::string::npos);
  ASSERT_EQ(vb.active.size(), 2U);
  EXPECT_EQ(vb.active[0].record.name, "blue");
  EXPECT_EQ(vb.conflicting[0].entry.record.name, "red");
}

TEST(CheckCreate, RefusesVniReuseAndRedefinitionButNotRepeat) {
  const NetworkView view = resolve_networks({entry("blue", 7, 1, "h1")});
  EXPECT_TRUE(check_create(view, NetworkRecord{"blue", 7, "10.1.0.0/24", {}}));
  auto other_vni = check_create(view, NetworkRecord{"red", 7, "10.2.0.0/24", {}});
  ASSERT_FALSE(other_vni);
  EXPECT_NE(other_vni.error().message.find("VNI 7 is already used by network blue"), std::string::npos);
  auto redefined = check_create(view, NetworkRecord{"blue", 9, "10.1.0.0/24", {}});
  ASSERT_FALSE(redefined);
  EXPECT_NE(redefined.error().message.find("already exists"), std::string::npos);
  EXPECT_TRUE(check_create(view, NetworkRecord{"red", 8, "10.2.0.0/24", {}}));
}

TEST(PickVni, StableAndSkipsUsed) {
  const NetworkView empty;
  const std::uint32_t v = pick_vni(empty, "blue");
  EXPECT_GE(v, 4096U);
  EXPECT_EQ(v, pick_vni(empty, "blue"));
  const NetworkView taken = resolve_networks({entry("x", v, 1, "h1")});
  EXPECT_EQ(pick_vni(taken, "blue"), v + 1);
}

}  // namespace
}  // namespace ferry::agent
