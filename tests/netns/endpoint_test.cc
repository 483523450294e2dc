// The netns library in real namespaces (root). Each test gets its own
// harness topology (one host namespace plus container namespaces, unique
// names) that is removed however the test ends.
#include "netns/endpoint.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>

#include "dataplane/api/port_types.h"
#include "netns/naming.h"
#include "tests/harness/topology.h"

namespace ferry::netns {
namespace {

using harness::netns_path;

// Open descriptors of this process (the directory iterator's own one is
// counted both times, so it cancels out in comparisons).
int count_open_fds() {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

std::set<std::string> link_names(const std::string& ns_path) {
  std::set<std::string> out;
  auto rt = open_rtnl(ns_path);
  if (!rt) return {"<" + rt.error().message + ">"};
  auto links = rt->list_links();
  if (!links) return {"<" + links.error().message + ">"};
  for (const auto& l : *links) out.insert(l.name);
  return out;
}

class EndpointTest : public harness::TopologyTest {
 protected:
  harness::TopologyConfig topology_config() const override {
    harness::TopologyConfig c;
    c.hosts = 1;
    return c;
  }

  void SetUp() override {
    harness::TopologyTest::SetUp();
    if (HasFatalFailure()) return;
    host_path_ = netns_path(topo_->host(1));
    auto c = topo_->add_container("c1");
    ASSERT_TRUE(c) << c.error().message;
    ctr_ns_ = *c;
    ctr_path_ = netns_path(*c);
  }

  EndpointSpec spec(const std::string& id = "ep-1") const {
    EndpointSpec s;
    s.endpoint_id = id;
    s.host_netns_path = host_path_;
    s.netns_path = ctr_path_;
    s.mac = *parse_mac("02:aa:00:00:00:02");
    s.mtu = 1450;
    s.addresses = {*parse_interface_address("10.30.0.2/24"), *parse_interface_address("fd30::2/64")};
    s.host_addresses = {*parse_interface_address("10.30.0.1/24"), *parse_interface_address("fd30::1/64")};
    s.gateways = {*parse_ip("10.30.0.1"), *parse_ip("fd30::1")};
    s.routes = {Route{*parse_prefix("10.31.0.0/16"), *parse_ip("10.30.0.254")},
                Route{*parse_prefix("10.32.0.0/24"), std::nullopt}};
    return s;
  }

  std::string run_in(const std::string& ns, const std::vector<std::string>& argv) const {
    auto r = topo_->exec(ns, argv);
    return r ? r->output : r.error().message;
  }

  // Nothing of an endpoint remains: only the topology's own links.
  void expect_clean() const {
    EXPECT_EQ(link_names(host_path_), (std::set<std::string>{"lo", "ul0"}));
    EXPECT_EQ(link_names(ctr_path_), (std::set<std::string>{"lo"}));
  }

  std::string host_path_;
  std::string ctr_ns_;
  std::string ctr_path_;
};

TEST_F(EndpointTest, FullWiringReachesTheHostSide) {
  const EndpointSpec s = spec();
  auto ep = create_endpoint(s);
  ASSERT_TRUE(ep) << ep.error().message;
  EXPECT_TRUE(ep->created);
  EXPECT_EQ(ep->host_ifname, derive_host_ifname("ep-1"));
  EXPECT_EQ(ep->container_ifname, "eth0");
  EXPECT_EQ(ep->mac, *s.mac);
  EXPECT_EQ(ep->mtu, 1450U);

  ASSERT_TRUE(topo_->ping(ctr_ns_, "10.30.0.1"));
  ASSERT_TRUE(topo_->ping(ctr_ns_, "fd30::1"));  // NODAD: usable at once
  ASSERT_TRUE(topo_->ping(topo_->host(1), "10.30.0.2"));

  const std::string link = run_in(ctr_ns_, {"ip", "-d", "link", "show", "eth0"});
  EXPECT_NE(link.find("mtu 1450"), std::string::npos) << link;
  EXPECT_NE(link.find("02:aa:00:00:00:02"), std::string::npos) << link;
  EXPECT_NE(link.find("veth"), std::string::npos) << link;
  const std::string routes = run_in(ctr_ns_, {"ip", "route"});
  EXPECT_NE(routes.find("default via 10.30.0.1 dev eth0"), std::string::npos) << routes;
  EXPECT_NE(routes.find("10.31.0.0/16 via 10.30.0.254 dev eth0"), std::string::npos) << routes;
  EXPECT_NE(routes.find("10.32.0.0/24 dev eth0"), std::string::npos) << routes;
  const std::string routes6 = run_in(ctr_ns_, {"ip", "-6", "route"});
  EXPECT_NE(routes6.find("default via fd30::1 dev eth0"), std::string::npos) << routes6;
  const std::string features = run_in(ctr_ns_, {"ethtool", "-k", "eth0"});
  EXPECT_NE(features.find("tx-checksumming: off"), std::string::npos) << features;
  EXPECT_NE(run_in(ctr_ns_, {"ip", "link", "show", "lo"}).find("UP"), std::string::npos);
  // The host side is a data-plane port: no link-local address, so the kernel
  // sends no router solicitation or MLD report from it.
  const std::string host6 = run_in(topo_->host(1), {"ip", "-6", "addr", "show", "dev", ep->host_ifname});
  EXPECT_EQ(host6.find("fe80:"), std::string::npos) << host6;
  EXPECT_NE(host6.find("fd30::1"), std::string::npos) << host6;

  auto del = delete_endpoint(s);
  ASSERT_TRUE(del) << del.error().message;
  EXPECT_TRUE(*del);
  expect_clean();
}

TEST_F(EndpointTest, HostNamespaceDefaultsToTheCallingThreads) {
  auto host_ns = Namespace::open(host_path_);
  ASSERT_TRUE(host_ns);
  EndpointSpec s = spec();
  s.host_netns_path.clear();
  auto ep = host_ns->run([&] { return create_endpoint(s); });
  ASSERT_TRUE(ep) << ep.error().message;
  EXPECT_TRUE(link_names(host_path_).count(ep->host_ifname));
  auto del = host_ns->run([&] { return delete_endpoint(s); });
  ASSERT_TRUE(del) << del.error().message;
  expect_clean();
}

TEST_F(EndpointTest, CreatingAgainReturnsTheSameEndpoint) {
  const EndpointSpec s = spec();
  auto first = create_endpoint(s);
  ASSERT_TRUE(first) << first.error().message;
  auto again = create_endpoint(s);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->host_ifindex, first->host_ifindex);
  EXPECT_EQ(again->container_ifindex, first->container_ifindex);
  EXPECT_EQ(again->mac, first->mac);
}

TEST_F(EndpointTest, ConcurrentCreatesOfOneEndpointAllSucceedOnce) {
  for (int round = 0; round < 5; ++round) {
    const EndpointSpec s = spec("race-" + std::to_string(round));
    constexpr int kThreads = 4;
    std::vector<Result<Endpoint>> results(kThreads, Result<Endpoint>(make_error("not run")));
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) threads.emplace_back([&, t] { results[t] = create_endpoint(s); });
    for (auto& t : threads) t.join();
    int created = 0;
    for (const auto& r : results) {
      ASSERT_TRUE(r) << "round " << round << ": " << r.error().message;
      created += r->created ? 1 : 0;
      EXPECT_EQ(r->host_ifindex, results[0]->host_ifindex);
    }
    EXPECT_EQ(created, 1) << "round " << round;
    ASSERT_TRUE(topo_->ping(ctr_ns_, "10.30.0.1"));
    ASSERT_TRUE(delete_endpoint(s));
    expect_clean();
  }
}

TEST_F(EndpointTest, CreatingWithADifferentSpecFailsAndChangesNothing) {
  const EndpointSpec s = spec();
  ASSERT_TRUE(create_endpoint(s));

  EndpointSpec other_mtu = s;
  other_mtu.mtu = 1400;
  auto r = create_endpoint(other_mtu);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().sys_errno, EEXIST);
  EXPECT_NE(r.error().message.find("different spec: MTU 1450"), std::string::npos) << r.error().message;

  EndpointSpec other_addr = s;
  other_addr.addresses[0] = *parse_interface_address("10.30.0.3/24");
  r = create_endpoint(other_addr);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("addresses differ"), std::string::npos) << r.error().message;

  EndpointSpec other_mac = s;
  other_mac.mac = *parse_mac("02:aa:00:00:00:03");
  EXPECT_FALSE(create_endpoint(other_mac));

  // The endpoint is as it was and still works.
  EXPECT_NE(run_in(ctr_ns_, {"ip", "link", "show", "eth0"}).find("mtu 1450"), std::string::npos);
  ASSERT_TRUE(topo_->ping(ctr_ns_, "10.30.0.1"));
}

TEST_F(EndpointTest, RetryFinishesAnEndpointLeftHalfDone) {
  const EndpointSpec s = spec();
  ASSERT_TRUE(create_endpoint(s));
  // As if an earlier attempt died half-way: address, routes and link state gone.
  ASSERT_TRUE(topo_->exec(ctr_ns_, {"ip", "addr", "flush", "dev", "eth0"})->succeeded());
  ASSERT_TRUE(topo_->exec(ctr_ns_, {"ip", "link", "set", "eth0", "down"})->succeeded());
  ASSERT_TRUE(topo_->exec(ctr_ns_, {"ethtool", "-K", "eth0", "tx", "on"})->succeeded());
  auto again = create_endpoint(s);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(again->created);
  ASSERT_TRUE(topo_->ping(ctr_ns_, "10.30.0.1"));
  EXPECT_NE(run_in(ctr_ns_, {"ip", "route"}).find("default via 10.30.0.1"), std::string::npos);
  EXPECT_NE(run_in(ctr_ns_, {"ethtool", "-k", "eth0"}).find("tx-checksumming: off"), std::string::npos);
}

TEST_F(EndpointTest, KernelRejectingTheGatewayRollsBack) {
  EndpointSpec s = spec();
  s.gateways = {*parse_ip("10.99.0.1")};  // not on any connected prefix
  auto r = create_endpoint(s);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("rolled back"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("10.99.0.1"), std::string::npos) << r.error().message;
  expect_clean();
}

TEST_F(EndpointTest, ConflictingStaticRoutesRollBack) {
  EndpointSpec s = spec();
  s.routes.push_back(Route{*parse_prefix("10.31.0.0/16"), *parse_ip("10.30.0.253")});
  auto r = create_endpoint(s);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("a different route to 10.31.0.0/16"), std::string::npos) << r.error().message;
  expect_clean();
}

TEST_F(EndpointTest, ContainerNameClashCreatesNothing) {
  ASSERT_TRUE(topo_->exec(ctr_ns_, {"ip", "link", "add", "eth0", "type", "bridge"})->succeeded());
  auto r = create_endpoint(spec());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().sys_errno, EEXIST);
  EXPECT_NE(r.error().message.find("already has an interface named eth0"), std::string::npos) << r.error().message;
  EXPECT_EQ(link_names(host_path_), (std::set<std::string>{"lo", "ul0"}));
  EXPECT_EQ(link_names(ctr_path_), (std::set<std::string>{"lo", "eth0"}));  // theirs, untouched
  EXPECT_NE(run_in(ctr_ns_, {"ip", "-d", "link", "show", "eth0"}).find("bridge"), std::string::npos);
}

TEST_F(EndpointTest, BadInputGetsAClearErrorAndCreatesNothing) {
  struct Case {
    std::string name;
    std::function<void(EndpointSpec&)> edit;
    std::string error_contains;
  };
  const std::vector<Case> cases = {
      {"name too long", [](EndpointSpec& s) { s.container_ifname = "container-eth0-x"; }, "at most 15"},
      {"missing namespace", [](EndpointSpec& s) { s.netns_path = "/var/run/netns/fy-no-such-ns"; }, "does not exist"},
      {"not a namespace file", [](EndpointSpec& s) { s.netns_path = "/etc/hostname"; }, "not a namespace file"},
      {"uts namespace", [](EndpointSpec& s) { s.netns_path = "/proc/self/ns/uts"; }, "not a network namespace"},
      {"host namespace as container", [this](EndpointSpec& s) { s.netns_path = host_path_; }, "is the host namespace"},
      {"multicast MAC",
       [](EndpointSpec& s) {
         s.mac = MacAddress{{0x01, 0x00, 0x5e, 0, 0, 1}};
       },
       "unicast"},
      {"MTU too large", [](EndpointSpec& s) { s.mtu = 70000; }, "MTU"},
      {"IPv6 with small MTU", [](EndpointSpec& s) { s.mtu = 1000; }, "IPv6"},
      {"missing host namespace", [](EndpointSpec& s) { s.host_netns_path = "/proc/999999999/ns/net"; },
       "does not exist"},
  };
  for (const auto& c : cases) {
    EndpointSpec s = spec();
    c.edit(s);
    auto r = create_endpoint(s);
    ASSERT_FALSE(r) << c.name;
    EXPECT_NE(r.error().message.find(c.error_contains), std::string::npos) << c.name << ": " << r.error().message;
    expect_clean();
  }
}

TEST_F(EndpointTest, DeleteIsIdempotentAndOnlyDeletesVeths) {
  const EndpointSpec s = spec();
  ASSERT_TRUE(create_endpoint(s));
  auto first = delete_endpoint(s);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(*first);
  auto second = delete_endpoint(s);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_FALSE(*second);
  expect_clean();

  EndpointSpec bridge = s;
  bridge.host_ifname = "notaveth";
  ASSERT_TRUE(topo_->exec(topo_->host(1), {"ip", "link", "add", "notaveth", "type", "bridge"})->succeeded());
  auto refused = delete_endpoint(bridge);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("not a veth"), std::string::npos) << refused.error().message;
  EXPECT_TRUE(link_names(host_path_).count("notaveth"));
}

// The container side's offloads follow the endpoint port type
// (dp_api::container_keeps_offloads): the kernel's defaults for vnet ports,
// TX checksum (and with it TSO) off for af_packet and af_xdp ports; a
// re-created endpoint is brought to whichever the spec says.
TEST_F(EndpointTest, ContainerOffloadsFollowThePortType) {
  for (const char* driver : {"af_packet", "vnet", "af_xdp"}) {
    SCOPED_TRACE(driver);
    EndpointSpec s = spec();
    s.container_tx_checksum = dp_api::container_keeps_offloads(driver);
    auto ep = create_endpoint(s);
    ASSERT_TRUE(ep) << ep.error().message;
    const std::string on = s.container_tx_checksum ? "on" : "off";
    const std::string features = run_in(ctr_ns_, {"ethtool", "-k", "eth0"});
    EXPECT_NE(features.find("tx-checksumming: " + on), std::string::npos) << features;
    EXPECT_NE(features.find("tx-tcp-segmentation: " + on), std::string::npos) << features;
    // Docker mode: the peer is prepared the same way before Docker moves it.
    DockerVethSpec d;
    d.endpoint_id = std::string(64, 'd');
    d.host_netns_path = host_path_;
    d.mtu = 1450;
    d.container_tx_checksum = s.container_tx_checksum;
    auto docker = create_docker_veth(d);
    ASSERT_TRUE(docker) << docker.error().message;
    EXPECT_NE(run_in(topo_->host(1), {"ethtool", "-k", d.resolved_peer_ifname()}).find("tx-checksumming: " + on),
              std::string::npos);
    ASSERT_TRUE(delete_endpoint(d));
    ASSERT_TRUE(delete_endpoint(s));
  }
  // An endpoint made for af_packet and wired again for vnet gets its offloads back.
  EndpointSpec s = spec();
  ASSERT_TRUE(create_endpoint(s));
  s.container_tx_checksum = true;
  auto again = create_endpoint(s);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(again->created);
  EXPECT_NE(run_in(ctr_ns_, {"ethtool", "-k", "eth0"}).find("tx-checksumming: on"), std::string::npos);
}

TEST_F(EndpointTest, DockerModeLeavesAPreparedPeerForDockerToMove) {
  DockerVethSpec s;
  s.endpoint_id = "3f2a9b1c0d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff";
  s.host_netns_path = host_path_;
  s.mac = derive_mac(s.endpoint_id);
  s.mtu = 1450;
  auto ep = create_docker_veth(s);
  ASSERT_TRUE(ep) << ep.error().message;
  EXPECT_TRUE(ep->created);
  const std::string peer = s.resolved_peer_ifname();
  EXPECT_EQ(ep->container_ifname, peer);
  const std::string host_ns = topo_->host(1);
  const std::string peer_link = run_in(host_ns, {"ip", "link", "show", peer});
  EXPECT_NE(peer_link.find("mtu 1450"), std::string::npos) << peer_link;
  EXPECT_NE(peer_link.find(s.mac->to_string()), std::string::npos) << peer_link;
  EXPECT_NE(peer_link.find("state DOWN"), std::string::npos) << peer_link;
  EXPECT_NE(run_in(host_ns, {"ethtool", "-k", peer}).find("tx-checksumming: off"), std::string::npos);
  EXPECT_NE(run_in(host_ns, {"ip", "link", "show", ep->host_ifname}).find(",UP"), std::string::npos);
  EXPECT_EQ(run_in(host_ns, {"ip", "-6", "addr", "show", "dev", ep->host_ifname}).find("fe80:"), std::string::npos);

  auto again = create_docker_veth(s);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(again->created);
  DockerVethSpec other = s;
  other.mtu = 1500;
  EXPECT_FALSE(create_docker_veth(other));

  // What Docker does on Join: move SrcName into the sandbox and rename it.
  ASSERT_TRUE(topo_->exec(host_ns, {"ip", "link", "set", peer, "netns", ctr_path_})->succeeded());
  ASSERT_TRUE(topo_->exec(ctr_ns_, {"ip", "link", "set", peer, "name", "eth0"})->succeeded());
  EXPECT_NE(run_in(ctr_ns_, {"ethtool", "-k", "eth0"}).find("tx-checksumming: off"), std::string::npos);
  auto after_join = create_docker_veth(s);
  ASSERT_TRUE(after_join) << after_join.error().message;
  EXPECT_FALSE(after_join->created);

  auto del = delete_endpoint(s);
  ASSERT_TRUE(del) << del.error().message;
  EXPECT_TRUE(*del);
  expect_clean();
}

TEST_F(EndpointTest, ThousandCreateDeleteCyclesLeaveNothingBehind) {
  EndpointSpec s = spec();
  s.addresses.resize(1);
  s.host_addresses.resize(1);
  s.gateways.resize(1);
  s.routes.clear();
  // Warm up once: libnl and libc allocate some process-wide state lazily.
  ASSERT_TRUE(create_endpoint(s));
  ASSERT_TRUE(delete_endpoint(s));
  const int fds_before = count_open_fds();
  constexpr int kCycles = 1000;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kCycles; ++i) {
    s.endpoint_id = "cycle-" + std::to_string(i % 7);  // reuse names, as restarts do
    auto ep = create_endpoint(s);
    ASSERT_TRUE(ep) << "cycle " << i << ": " << ep.error().message;
    ASSERT_TRUE(ep->created) << "cycle " << i;
    auto del = delete_endpoint(s);
    ASSERT_TRUE(del) << "cycle " << i << ": " << del.error().message;
    ASSERT_TRUE(*del) << "cycle " << i;
  }
  const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%d create/delete cycles: %.2f s (%.2f ms per cycle)\n", kCycles, elapsed, 1000.0 * elapsed / kCycles);
  RecordProperty("cycle_ms", std::to_string(1000.0 * elapsed / kCycles));
  EXPECT_EQ(count_open_fds(), fds_before);
  expect_clean();
  // Only the topology's namespaces exist under its prefix.
  EXPECT_EQ(topo_->namespaces().size(), 3U);
}

}  // namespace
}  // namespace ferry::netns
