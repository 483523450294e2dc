// The harness itself: hosts reach each other over the underlay, a container
// wired by the netns library reaches its host, and nothing outlives a run.
#include "tests/harness/topology.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "dataplane/api/port_types.h"
#include "netns/endpoint.h"

namespace ferry::harness {
namespace {

bool netns_exists(const std::string& name) {
  auto r = run_command({"ip", "netns", "list"});
  if (!r) return false;
  // Lines are "NAME" or "NAME (id: N)".
  const std::string& out = r->output;
  for (std::size_t at = out.find(name); at != std::string::npos; at = out.find(name, at + 1)) {
    const bool starts_line = at == 0 || out[at - 1] == '\n';
    const std::size_t end = at + name.size();
    const bool ends_name = end == out.size() || out[end] == '\n' || out[end] == ' ';
    if (starts_line && ends_name) return true;
  }
  return false;
}

TEST_F(TopologyTest, HostsPingEachOtherOverTheUnderlay) {
  ASSERT_EQ(topo_->hosts(), 2);
  ASSERT_TRUE(topo_->ping(topo_->host(1), topo_->underlay_address(2)));
  ASSERT_TRUE(topo_->ping(topo_->host(2), topo_->underlay_address(1)));
  // Underlay ul0 carries its address and has TX checksum offload off.
  auto addr = topo_->exec(topo_->host(2), {"ip", "-br", "addr", "show", "dev", "ul0"});
  ASSERT_TRUE(addr);
  EXPECT_NE(addr->output.find(topo_->underlay_cidr(2)), std::string::npos) << addr->output;
  auto features = topo_->exec(topo_->host(1), {"ethtool", "-k", "ul0"});
  ASSERT_TRUE(features);
  EXPECT_NE(features->output.find("tx-checksumming: off"), std::string::npos) << features->output;
}

// The container side's offloads follow the endpoint port type
// (dp_api::container_keeps_offloads): TX checksum off for af_packet and
// af_xdp ports, the kernel's defaults for vnet ports.
void wire_container(Topology& topo, bool keeps_offloads) {
  auto c1 = topo.add_container("c1");
  ASSERT_TRUE(c1) << c1.error().message;

  netns::EndpointSpec spec;
  spec.endpoint_id = "harness-" + topo.prefix() + "-c1";
  spec.host_netns_path = netns_path(topo.host(1));
  spec.netns_path = netns_path(*c1);
  spec.mac = netns::derive_mac(spec.endpoint_id);
  spec.mtu = 1450;
  spec.addresses = {*netns::parse_interface_address("10.20.0.2/24")};
  spec.host_addresses = {*netns::parse_interface_address("10.20.0.1/24")};
  spec.gateways = {*netns::parse_ip("10.20.0.1")};
  spec.container_tx_checksum = keeps_offloads;
  auto ep = netns::create_endpoint(spec);
  ASSERT_TRUE(ep) << ep.error().message;

  ASSERT_TRUE(topo.ping(*c1, "10.20.0.1"));
  auto features = topo.exec(*c1, {"ethtool", "-k", "eth0"});
  ASSERT_TRUE(features);
  const std::string& f = features->output;
  if (keeps_offloads) {
    EXPECT_NE(f.find("tx-checksumming: on"), std::string::npos) << f;
    EXPECT_NE(f.find("tx-tcp-segmentation: on"), std::string::npos) << f;
  } else {
    EXPECT_NE(f.find("tx-checksumming: off"), std::string::npos) << f;
    EXPECT_NE(f.find("tx-tcp-segmentation: off"), std::string::npos) << f;
  }
  auto route = topo.exec(*c1, {"ip", "route", "show", "default"});
  ASSERT_TRUE(route);
  EXPECT_NE(route->output.find("via 10.20.0.1 dev eth0"), std::string::npos) << route->output;
  // The container cannot reach host 2's underlay: it has no route there
  // except through its gateway, which does not forward.
  auto del = netns::delete_endpoint(spec);
  ASSERT_TRUE(del) << del.error().message;
  EXPECT_TRUE(*del);
}

TEST_F(TopologyTest, ContainerWiredByTheNetnsLibraryReachesItsHost) {
  for (const char* driver : {"af_packet", "af_xdp", "vnet"}) {
    SCOPED_TRACE(driver);
    wire_container(*topo_, dp_api::container_keeps_offloads(driver));
  }
}

class JumboTopologyTest : public TopologyTest {
 protected:
  TopologyConfig topology_config() const override {
    TopologyConfig c;
    c.hosts = 3;
    c.underlay_mtu = 9000;
    c.subnet = "172.31.7";
    return c;
  }
};

TEST_F(JumboTopologyTest, UnderlayMtuAndSubnetAreConfigurable) {
  ASSERT_TRUE(topo_->ping(topo_->host(3), "172.31.7.1"));
  // 8972 bytes of ICMP payload + 28 of headers = 9000, don't fragment.
  auto big = topo_->exec(topo_->host(3), {"ping", "-n", "-c", "1", "-W", "2", "-M", "do", "-s", "8972", "172.31.7.2"});
  ASSERT_TRUE(big);
  EXPECT_TRUE(big->succeeded()) << big->output;
  auto too_big =
      topo_->exec(topo_->host(3), {"ping", "-n", "-c", "1", "-W", "1", "-M", "do", "-s", "8973", "172.31.7.2"});
  ASSERT_TRUE(too_big);
  EXPECT_FALSE(too_big->succeeded()) << too_big->output;
}

TEST(TopologyLifetime, DestructorRemovesEverythingAndGcReapsDeadOwners) {
  std::string prefix;
  {
    TopologyConfig two;
    two.hosts = 2;
    auto topo = Topology::create(two);
    ASSERT_TRUE(topo) << topo.error().message;
    prefix = (*topo)->prefix();
    ASSERT_TRUE((*topo)->add_container("x"));
    auto names = (*topo)->namespaces();
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{prefix + "-fab", prefix + "-h1", prefix + "-h2", prefix + "-x"}));
    // Something running inside must not keep a namespace alive.
    auto bg = run_command({"/bin/bash", "-c", "ip netns exec " + prefix + "-h1 sleep 60 >/dev/null 2>&1 &"});
    ASSERT_TRUE(bg && bg->succeeded());
  }
  EXPECT_FALSE(netns_exists(prefix + "-fab"));
  EXPECT_FALSE(netns_exists(prefix + "-h1"));
  EXPECT_FALSE(netns_exists(prefix + "-x"));

  // A run whose owner died (its pid is in the prefix) is reaped by the next
  // create(); a live owner's run is not.
  const pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  waitpid(child, nullptr, 0);
  const std::string dead = "fy" + std::to_string(child) + "zz";
  ASSERT_TRUE(run_command({"/bin/bash", Topology::script(), "up", dead, "1"})->succeeded());
  ASSERT_TRUE(netns_exists(dead + "-h1"));
  TopologyConfig one;
  one.hosts = 1;
  auto live = Topology::create(one);
  ASSERT_TRUE(live) << live.error().message;
  EXPECT_FALSE(netns_exists(dead + "-h1"));
  EXPECT_TRUE(netns_exists((*live)->host(1)));
}

}  // namespace
}  // namespace ferry::harness
