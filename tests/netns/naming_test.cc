#include "netns/naming.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace ferry::netns {
namespace {

TEST(ValidateIfname, Table) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"eth0", true},
      {"fy0123456789ab", true},
      {"a23456789012345", true},    // 15: the limit
      {"a234567890123456", false},  // 16
      {"", false},
      {".", false},
      {"..", false},
      {"eth/0", false},
      {"eth:0", false},
      {"eth 0", false},
      {"eth\t0", false},
      {std::string("et\0h", 4), false},
      {"ünï", false},
      {"-dash_ok.", true},
  };
  for (const auto& [name, valid] : cases) EXPECT_EQ(validate_ifname(name).has_value(), valid) << "'" << name << "'";
  EXPECT_NE(validate_ifname("a234567890123456").error().message.find("at most 15"), std::string::npos);
}

TEST(DeriveNames, ShapeAndLimit) {
  const std::string docker_id = "3f2a9b1c0d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff";
  const std::string host = derive_host_ifname(docker_id);
  const std::string peer = derive_peer_ifname(docker_id);
  EXPECT_EQ(host.size(), 14U);
  EXPECT_EQ(host.substr(0, 2), "fy");
  EXPECT_EQ(peer.substr(0, 2), "fc");
  EXPECT_EQ(host.substr(2), peer.substr(2));
  EXPECT_TRUE(validate_ifname(host));
  EXPECT_TRUE(validate_ifname(peer));
  EXPECT_EQ(host.find_first_not_of("fy0123456789abcdef"), std::string::npos);
}

TEST(DeriveNames, DeterministicAndStableAcrossBuilds) {
  EXPECT_EQ(derive_host_ifname("ep1"), derive_host_ifname("ep1"));
  // Pinned values: a change here renames every existing endpoint's interface
  // (a restarted agent would no longer find them). Do not update casually.
  EXPECT_EQ(endpoint_hash(""), 0xf52a15e9a9b5e89bULL);
  EXPECT_EQ(derive_host_ifname("ep1"), "fy4c8166d79981");
  EXPECT_EQ(derive_peer_ifname("ep1"), "fc4c8166d79981");
}

TEST(DeriveNames, UniqueOverManySimilarIds) {
  std::set<std::string> seen;
  for (int i = 0; i < 100000; ++i) {
    EXPECT_TRUE(seen.insert(derive_host_ifname("endpoint-" + std::to_string(i))).second) << i;
  }
}

TEST(DeriveMac, LocallyAdministeredUnicastAndDeterministic) {
  for (const char* id : {"a", "b", "endpoint-1", "3f2a9b1c0d4e"}) {
    const MacAddress mac = derive_mac(id);
    EXPECT_FALSE(mac.is_multicast()) << id;
    EXPECT_TRUE(mac.is_locally_administered()) << id;
    EXPECT_FALSE(mac.is_zero()) << id;
    EXPECT_EQ(mac, derive_mac(id));
    EXPECT_TRUE(parse_mac(mac.to_string())) << mac.to_string();
  }
  EXPECT_NE(derive_mac("a"), derive_mac("b"));
}

TEST(ValidateEndpointId, Table) {
  EXPECT_TRUE(validate_endpoint_id("3f2a9b1c"));
  EXPECT_TRUE(validate_endpoint_id("net1/ep-2_x"));
  EXPECT_FALSE(validate_endpoint_id(""));
  EXPECT_FALSE(validate_endpoint_id("has space"));
  EXPECT_FALSE(validate_endpoint_id(std::string(257, 'a')));
  EXPECT_TRUE(validate_endpoint_id(std::string(256, 'a')));
}

// The MAC of an address in a network: the same for a re-created container,
// distinct across addresses of one network, locally administered unicast.
TEST(DeriveMac, FromNetworkAndAddressIsStablePerAddress) {
  const IpAddress a = *parse_ip("10.10.0.2");
  const IpAddress b = *parse_ip("10.10.0.3");
  EXPECT_EQ(derive_mac("blue", a), derive_mac("blue", a));
  EXPECT_NE(derive_mac("blue", a), derive_mac("blue", b));
  const MacAddress m = derive_mac("blue", a);
  EXPECT_EQ(m.bytes[0], 0x02);
  EXPECT_EQ(m.bytes[2], 10);
  EXPECT_EQ(m.bytes[5], 2);
  EXPECT_EQ(derive_mac("blue", *parse_ip("fd00::a0a:2")).bytes[2], 0x0a);
  EXPECT_EQ(derive_mac("blue", *parse_ip("fd00::a0a:2")).bytes[5], 0x02);
}

}  // namespace
}  // namespace ferry::netns
