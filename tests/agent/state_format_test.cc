// The state file's format across versions: a state.json written by an
// earlier ferry-agent (tests/agent/data/state-v3.json: two networks, an
// endpoint made by `ferryctl attach`, a Docker network with its pool, a
// joined Docker endpoint and an unclaimed reservation) still loads, with
// every field, and saves back to a file that loads to the same state.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "control/agent/local_state.h"
#include "control/agent/state_file.h"

#ifndef FERRY_AGENT_TEST_DATA
#error "FERRY_AGENT_TEST_DATA must name tests/agent/data"
#endif

namespace ferry::agent {
namespace {

std::string read_data(const std::string& name) {
  std::ifstream in(std::string(FERRY_AGENT_TEST_DATA) + "/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(StateFormat, VersionThreeFileLoadsWithEveryField) {
  const std::string text = read_data("state-v3.json");
  ASSERT_FALSE(text.empty());
  auto s = LocalState::decode(text);
  ASSERT_TRUE(s) << s.error().message;

  ASSERT_EQ(s->networks.size(), 2U);
  const NetworkRecord& blue = s->networks.at("blue");
  EXPECT_EQ(blue.vni, 42U);
  EXPECT_EQ(blue.subnet, "10.10.0.0/24");
  EXPECT_EQ(blue.subnet6, "fd00:10::/64");
  EXPECT_EQ(blue.origin_host, "fixture");
  EXPECT_EQ(s->networks.at("red").subnet6, "");

  ASSERT_EQ(s->endpoints.size(), 2U);
  const LocalEndpoint& c1 = s->endpoints.at("c1");
  EXPECT_EQ(c1.network, "blue");
  EXPECT_EQ(c1.mac.to_string(), "02:47:be:8e:64:a7");
  EXPECT_EQ(c1.ip.to_string(), "10.10.0.2/24");
  ASSERT_TRUE(c1.ip6);
  EXPECT_EQ(c1.ip6->to_string(), "fd00:10::2/64");
  EXPECT_EQ(c1.host_ifname, "fycc9fe2a7648e");
  EXPECT_EQ(c1.container_ifname, "eth0");
  EXPECT_EQ(c1.netns_path, "/var/run/netns/epsvcfix-c1");
  EXPECT_EQ(c1.mtu, 1450U);
  EXPECT_FALSE(c1.docker);
  EXPECT_TRUE(c1.joined);

  const LocalEndpoint& dk = s->endpoints.at("dk-e9d000000000");
  EXPECT_TRUE(dk.docker);
  EXPECT_TRUE(dk.joined);
  EXPECT_EQ(dk.network, "red");
  EXPECT_EQ(dk.ip.to_string(), "10.20.0.2/24");
  EXPECT_FALSE(dk.ip6);
  EXPECT_EQ(dk.docker_network, "d0c4e70000000000000000000000000000000000000000000000000000000001");
  EXPECT_EQ(dk.container_ifname, "fcc39279b9a586");

  ASSERT_EQ(s->docker_networks.size(), 1U);
  const DockerNetwork& d = s->docker_networks.begin()->second;
  EXPECT_EQ(d.network, "red");
  EXPECT_EQ(d.pool_id, "FerryLocal/10.20.0.0/24");
  EXPECT_EQ(d.pool6_id, "");

  ASSERT_EQ(s->pools.size(), 1U);
  const IpamPool& pool = s->pools.at("FerryLocal/10.20.0.0/24");
  EXPECT_EQ(pool.subnet.to_string(), "10.20.0.0/24");
  EXPECT_FALSE(pool.v6());
  EXPECT_EQ(pool.refs, 1U);
  ASSERT_EQ(pool.addresses.size(), 2U);
  EXPECT_EQ(pool.addresses.begin()->to_string(), "10.20.0.2");
  ASSERT_EQ(pool.unclaimed.size(), 1U);
  EXPECT_EQ(pool.unclaimed.begin()->first.to_string(), "10.20.0.3");
  EXPECT_EQ(pool.unclaimed.begin()->second, 1796655889415);
  EXPECT_FALSE(pool.serial);  // version 3 had no allocation order: first-free

  // Saved again (in today's version) it loads to the same state.
  auto again = LocalState::decode(s->encode());
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, *s);
}

TEST(StateFormat, NewerVersionIsRefusedNamingIt) {
  auto s = LocalState::decode(R"({"version":999,"networks":[],"endpoints":[]})");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("999"), std::string::npos) << s.error().message;
}

}  // namespace
}  // namespace ferry::agent
