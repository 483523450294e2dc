// Integration (root): 3 namespace hosts, each running ferry-dataplane
// (--no-huge, af_packet) and ferry-agent; agents join through host 1's
// gossip address. Drives everything through ferryctl, as an operator would:
// a dual-stack network created on one host appears on all, a VNI conflict
// is refused, one namespace per host attached with `ferryctl attach` (an
// IPv4 and an IPv6 address each), every pair pings over both families,
// a data-plane restart is re-synced, an agent restart keeps its endpoint,
// detach removes reachability, and the network's name can be used again
// with another subnet once it is removed. Processes, namespaces and state
// directories are removed by the fixtures even when a check fails.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "tests/agent/agent_fixture.h"

namespace ferry::agenttest {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Every agent joins through host 1's gossip address, as an operator would
// with one seed.
constexpr int kSeedHost = 1;

struct Attached {
  std::string ns;
  std::string ip;   // without length
  std::string ip6;  // without length
  std::string mac;
  unsigned mtu = 0;
  int host = 0;
};

class AgentClusterTest : public AgentTest {
 protected:
  AgentClusterTest() { hosts_ = 3; }

  Attached attach(int host, const std::string& name, const std::string& net = "blue") {
    auto ns = topo_->add_container(name);
    EXPECT_TRUE(ns) << ns.error().message;
    Attached a;
    a.ns = ns ? *ns : "";
    a.host = host;
    const json r = agent_json(host, {"attach", "--net", net, "--netns", harness::netns_path(a.ns), "--name", name});
    EXPECT_TRUE(r.is_object() && r.contains("endpoint"))
        << "attach " << name << " on host " << host << ": " << agent_ctl(host, {"endpoints"}).output;
    if (!r.is_object() || !r.contains("endpoint")) return a;
    const std::string cidr = r["endpoint"]["ip"].get<std::string>();
    a.ip = cidr.substr(0, cidr.find('/'));
    a.mac = r["endpoint"]["mac"].get<std::string>();
    const std::string cidr6 = r["endpoint"].value("ip6", "");
    a.ip6 = cidr6.substr(0, cidr6.find('/'));
    a.mtu = r["endpoint"].value("mtu", 0U);
    return a;
  }

  void expect_all_pairs_ping(const std::vector<Attached>& eps, milliseconds timeout) {
    for (const auto& from : eps) {
      for (const auto& to : eps) {
        if (from.ns == to.ns) continue;
        for (const std::string& ip : {to.ip, to.ip6}) {
          if (ip.empty()) continue;
          auto r = topo_->ping(from.ns, ip, timeout);
          EXPECT_TRUE(r) << from.ns << " -> " << ip << ": " << r.error().message;
        }
      }
    }
  }
};

TEST_F(AgentClusterTest, NetworksEndpointsReconciliationAndRestarts) {
  for (int h = 1; h <= 3; ++h) ASSERT_NO_FATAL_FAILURE(start_dataplane(h));
  for (int h = 1; h <= 3; ++h) ASSERT_NO_FATAL_FAILURE(start_agent(h, {kSeedHost}));

  // Membership through the seed.
  ASSERT_TRUE(harness::wait_until(
      [&] {
        const json m = agent_json(3, {"members"});
        if (!m.is_array()) return false;
        int alive = 0;
        for (const auto& e : m) alive += e.value("state", "") == "alive" ? 1 : 0;
        return alive == 3;
      },
      seconds(10), milliseconds(100)))
      << agent_ctl(3, {"members"}).output;

  // A network created on host 1 shows on every host.
  auto created =
      agent_ctl(1, {"net", "create", "blue", "--subnet", "10.77.0.0/24", "--subnet6", "fd00:77::/64", "--vni", "77"});
  ASSERT_TRUE(created.succeeded()) << created.output;
  for (int h = 1; h <= 3; ++h) {
    EXPECT_TRUE(harness::wait_until([&] { return has_network(h, "blue"); }, seconds(10), milliseconds(100)))
        << "host " << h << ": " << agent_ctl(h, {"networks"}).output;
  }
  // Conflicts are refused with the reason, on any host.
  auto conflict = agent_ctl(2, {"net", "create", "red", "--subnet", "10.78.0.0/24", "--vni", "77"});
  EXPECT_EQ(conflict.exit_code, 1) << conflict.output;
  EXPECT_NE(conflict.output.find("VNI 77 is already used by network blue"), std::string::npos) << conflict.output;
  auto redefine = agent_ctl(3, {"net", "create", "blue", "--subnet", "10.79.0.0/24"});
  EXPECT_EQ(redefine.exit_code, 1) << redefine.output;
  auto without_v6 = agent_ctl(1, {"net", "create", "blue", "--subnet", "10.77.0.0/24", "--vni", "77"});
  EXPECT_EQ(without_v6.exit_code, 1) << without_v6.output;
  EXPECT_EQ(
      agent_ctl(1, {"net", "create", "blue", "--subnet", "10.77.0.0/24", "--subnet6", "fd00:77::/64", "--vni", "77"})
          .exit_code,
      0);

  // One namespace per host; every pair pings.
  std::vector<Attached> eps;
  for (int h = 1; h <= 3; ++h) eps.push_back(attach(h, fmt::format("c{}", h)));
  ASSERT_FALSE(HasFailure());
  EXPECT_NE(eps[0].ip, eps[1].ip);
  EXPECT_NE(eps[1].ip, eps[2].ip);
  EXPECT_NE(eps[0].ip, eps[2].ip);
  // The veths get the data plane's endpoint MTU (its uplink's - 50).
  const json health = health_json(1);
  for (const auto& e : eps) {
    EXPECT_EQ(e.ip6.rfind("fd00:77::", 0), 0U) << e.ip6;
    EXPECT_EQ(e.mtu, health.value("endpoint_mtu", 0U)) << health.dump();
  }
  EXPECT_NE(eps[0].ip6, eps[1].ip6);
  EXPECT_NE(eps[1].ip6, eps[2].ip6);
  // Every host publishes its endpoint MTU in gossip and every agent sees
  // all three (a host with another MTU would lower what new endpoints get).
  for (int h = 1; h <= 3; ++h) {
    json hosts;
    EXPECT_TRUE(harness::wait_until(
        [&] {
          const json s = json::parse(agent_ctl(h, {"status"}).output, nullptr, false);
          if (!s.is_object() || !s.contains("endpoint_mtu")) return false;
          hosts = s["endpoint_mtu"]["hosts"];
          return hosts.is_object() && hosts.size() == 3;
        },
        seconds(10), milliseconds(100)))
        << "host " << h << ": " << agent_ctl(h, {"status"}).output;
    for (const auto& [node, mtu] : hosts.items()) EXPECT_EQ(mtu, health.value("endpoint_mtu", 0U)) << node;
  }
  for (int h = 1; h <= 3; ++h) {
    EXPECT_TRUE(harness::wait_until([&] { return peer_count(h) == 2; }, seconds(10), milliseconds(50)))
        << agent_ctl(h, {"peers"}).output;
  }
  expect_all_pairs_ping(eps, seconds(5));
  ASSERT_FALSE(HasFailure()) << dptest::DataplaneTest::ctl(1, {"show"}).output;

  // Metrics on the host's loopback: gossip, reconciliation, data-plane counters with labels.
  auto scrape =
      topo_->exec(topo_->host(1), {"bash", "-c",
                                   "exec 3<>/dev/tcp/127.0.0.1/9475; printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3; "
                                   "cat <&3"});
  ASSERT_TRUE(scrape);
  for (const char* want :
       {"HTTP/1.1 200 OK", "ferry_gossip_members{state=\"alive\"} 3", "ferry_reconcile_dataplane_up 1",
        "ferry_networks{state=\"active\"} 1", "ferry_dataplane_port_rx_packets_total{port=\"uplink\"",
        "ferry_dataplane_drops_total{reason="}) {
    EXPECT_NE(scrape->output.find(want), std::string::npos) << want << " not in:\n" << scrape->output;
  }

  // Removing a network with endpoints is refused.
  auto busy = agent_ctl(1, {"net", "rm", "blue"});
  EXPECT_EQ(busy.exit_code, 1) << busy.output;

  // Data plane restart on host 2: the agent re-syncs it from scratch.
  EXPECT_EQ(stop_dataplane(2), 0);
  ASSERT_NO_FATAL_FAILURE(start_dataplane(2));
  const auto restarted = std::chrono::steady_clock::now();
  auto back = topo_->ping(eps[0].ns, eps[1].ip, seconds(5));
  EXPECT_TRUE(back) << back.error().message << "\n" << agent_ctl(2, {"status"}).output;
  std::cout << "data plane restart -> ping again: "
            << std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - restarted).count()
            << " ms\n";
  expect_all_pairs_ping(eps, seconds(5));

  // Agent restart on host 3 (SIGTERM, graceful leave): its endpoint comes back from the state directory.
  EXPECT_EQ(agents_[3]->stop(), 0);
  agents_.erase(3);
  ASSERT_NO_FATAL_FAILURE(start_agent(3, {kSeedHost}));
  const json after = agent_json(3, {"endpoints"});
  ASSERT_TRUE(after.is_array() && after.size() == 1) << agent_ctl(3, {"endpoints"}).output;
  EXPECT_EQ(after[0]["ip"].get<std::string>(), fmt::format("{}/24", eps[2].ip));
  EXPECT_EQ(after[0]["ip6"].get<std::string>(), fmt::format("{}/64", eps[2].ip6));
  EXPECT_TRUE(harness::wait_until([&] { return peer_count(1) == 2; }, seconds(10), milliseconds(50)))
      << agent_ctl(1, {"peers"}).output;
  expect_all_pairs_ping(eps, seconds(5));

  // SIGKILL of host 2's agent: nothing is lost, nothing duplicated; same address after restart.
  kill_agent(2);
  ASSERT_NO_FATAL_FAILURE(start_agent(2, {kSeedHost}));
  const json killed = agent_json(2, {"endpoints"});
  ASSERT_TRUE(killed.is_array() && killed.size() == 1) << agent_ctl(2, {"endpoints"}).output;
  EXPECT_EQ(killed[0]["ip"].get<std::string>(), fmt::format("{}/24", eps[1].ip));
  EXPECT_TRUE(
      harness::wait_until([&] { return peer_count(1) == 2 && peer_count(2) == 2; }, seconds(10), milliseconds(50)))
      << agent_ctl(1, {"peers"}).output;
  expect_all_pairs_ping(eps, seconds(5));

  // Detach host 3's endpoint: gone from the other hosts' peers and data planes, and unreachable.
  auto detached = agent_ctl(3, {"detach", "c3"});
  ASSERT_TRUE(detached.succeeded()) << detached.output;
  for (int h = 1; h <= 2; ++h) {
    EXPECT_TRUE(harness::wait_until(
        [&] {
          auto show = dptest::DataplaneTest::ctl(h, {"show", "--json"});
          return peer_count(h) == 1 && show.succeeded() && show.output.find(eps[2].mac) == std::string::npos;
        },
        seconds(10), milliseconds(50)))
        << dptest::DataplaneTest::ctl(h, {"show"}).output;
  }
  auto gone = topo_->exec(eps[0].ns, {"ping", "-n", "-c", "2", "-W", "1", eps[2].ip});
  ASSERT_TRUE(gone);
  EXPECT_NE(gone->exit_code, 0) << gone->output;
  auto gone6 = topo_->exec(eps[0].ns, {"ping", "-n", "-c", "2", "-W", "1", eps[2].ip6});
  ASSERT_TRUE(gone6);
  EXPECT_NE(gone6->exit_code, 0) << gone6->output;
  auto still = topo_->ping(eps[0].ns, eps[1].ip, seconds(5));
  EXPECT_TRUE(still) << still.error().message;

  // Clean removal: detach the rest, remove the network on its creator.
  EXPECT_TRUE(agent_ctl(1, {"detach", "c1"}).succeeded());
  EXPECT_TRUE(agent_ctl(2, {"detach", "c2"}).succeeded());
  EXPECT_TRUE(harness::wait_until(
      [&] {
        return agent_ctl(1, {"net", "rm", "blue"}).succeeded();
      },
      seconds(10), milliseconds(100)));
  for (int h = 1; h <= 3; ++h) {
    EXPECT_TRUE(harness::wait_until([&] { return !has_network(h, "blue"); }, seconds(10), milliseconds(100)))
        << "host " << h;
  }

  // The name again, with other subnets: fresh address pools, not the old ones.
  auto again =
      agent_ctl(2, {"net", "create", "blue", "--subnet", "10.90.0.0/24", "--subnet6", "fd00:90::/120", "--vni", "90"});
  ASSERT_TRUE(again.succeeded()) << again.output;
  for (int h = 1; h <= 3; ++h) {
    EXPECT_TRUE(harness::wait_until([&] { return has_network(h, "blue"); }, seconds(10), milliseconds(100)))
        << "host " << h;
  }
  std::vector<Attached> fresh{attach(1, "d1"), attach(3, "d3")};
  ASSERT_FALSE(HasFailure());
  for (const auto& e : fresh) {
    EXPECT_EQ(e.ip.rfind("10.90.0.", 0), 0U) << e.ip;
    EXPECT_EQ(e.ip6.rfind("fd00:90::", 0), 0U) << e.ip6;
  }
  expect_all_pairs_ping(fresh, seconds(5));
  EXPECT_TRUE(agent_ctl(1, {"detach", "d1"}).succeeded());
  EXPECT_TRUE(agent_ctl(3, {"detach", "d3"}).succeeded());
}

// Two networks may use the same subnet: each is its own address space. An
// address one of them uses is free in the other, by request as by
// allocation; within one network it is refused.
class AgentOneHostTest : public AgentClusterTest {
 protected:
  AgentOneHostTest() { hosts_ = 1; }
};

TEST_F(AgentOneHostTest, NetworksSharingASubnetAreSeparateAddressSpaces) {
  ASSERT_NO_FATAL_FAILURE(start_dataplane(1));
  ASSERT_NO_FATAL_FAILURE(start_agent(1, {}));
  ASSERT_TRUE(agent_ctl(1, {"net", "create", "blue", "--subnet", "10.78.0.0/24"}).succeeded());
  ASSERT_TRUE(agent_ctl(1, {"net", "create", "red", "--subnet", "10.78.0.0/24"}).succeeded());
  const Attached b = attach(1, "b1", "blue");
  ASSERT_FALSE(b.ip.empty());
  auto ns = topo_->add_container("r1");
  ASSERT_TRUE(ns) << ns.error().message;
  const json r =
      agent_json(1, {"attach", "--net", "red", "--netns", harness::netns_path(*ns), "--name", "r1", "--ip", b.ip});
  ASSERT_TRUE(r.is_object() && r.contains("endpoint")) << r.dump();
  EXPECT_EQ(r["endpoint"]["ip"].get<std::string>().substr(0, b.ip.size() + 1), b.ip + "/");
  auto ns2 = topo_->add_container("r2");
  ASSERT_TRUE(ns2) << ns2.error().message;
  const auto again =
      agent_ctl(1, {"attach", "--net", "red", "--netns", harness::netns_path(*ns2), "--name", "r2", "--ip", b.ip});
  EXPECT_FALSE(again.succeeded());
  EXPECT_NE(again.output.find("already in use"), std::string::npos) << again.output;
}

// `ferryctl attach` wires containers for the data plane's endpoint port
// type: on vnet ports they keep the kernel's default offloads, and TCP
// between two of them on one host runs as super-frames.
class AgentVnetTest : public AgentClusterTest {
 protected:
  AgentVnetTest() { hosts_ = 1; }
};

TEST_F(AgentVnetTest, AttachKeepsTheContainersOffloadsOnVnetPorts) {
  ASSERT_NO_FATAL_FAILURE(start_dataplane(1, {"--endpoint-driver", "vnet"}));
  ASSERT_NO_FATAL_FAILURE(start_agent(1, {}));
  // The agent learns the port type from the data plane's health.
  ASSERT_TRUE(harness::wait_until(
      [&] {
        const json s = json::parse(agent_ctl(1, {"status"}).output, nullptr, false);  // JSON without --json
        return s.is_object() && s["dataplane"].value("endpoint_driver", "") == "vnet";
      },
      seconds(10), milliseconds(100)))
      << agent_ctl(1, {"status"}).output;
  ASSERT_TRUE(agent_ctl(1, {"net", "create", "blue", "--subnet", "10.77.0.0/24", "--vni", "77"}).succeeded());
  ASSERT_TRUE(harness::wait_until([&] { return has_network(1, "blue"); }, seconds(10), milliseconds(100)));
  std::vector<Attached> eps{attach(1, "c1"), attach(1, "c2")};
  ASSERT_FALSE(HasFailure());
  const json listed = agent_json(1, {"endpoints"});
  ASSERT_TRUE(listed.is_array()) << agent_ctl(1, {"endpoints"}).output;
  for (const auto& e : listed) EXPECT_EQ(e.value("container_offloads", false), true) << e.dump();
  for (const auto& e : eps) {
    const auto features = topo_->exec(e.ns, {"ethtool", "-k", "eth0"});
    ASSERT_TRUE(features);
    EXPECT_NE(features->output.find("tx-checksumming: on"), std::string::npos) << features->output;
  }
  ASSERT_TRUE(harness::wait_until(
      [&] {
        return dptest::DataplaneTest::ctl(1, {"show", "--json"}).output.find("\"vnet\"") != std::string::npos;
      },
      seconds(10), milliseconds(100)))
      << dptest::DataplaneTest::ctl(1, {"show"}).output;
  expect_all_pairs_ping(eps, seconds(5));
  const double bps = iperf(dptest::Container{eps[0].ns, "", eps[0].mac, eps[0].ip, 1},
                           dptest::Container{eps[1].ns, "", eps[1].mac, eps[1].ip, 1}, 2, false);
  dptest::report_throughput("agent_vnet_local_tcp", bps);
  EXPECT_GT(bps, 0);
  EXPECT_GT(dptest::stat_value(stats_json(1), "counters", "vnet_rx_super_frames"), 0U);
  EXPECT_TRUE(agent_ctl(1, {"detach", "c1"}).succeeded());
  EXPECT_TRUE(agent_ctl(1, {"detach", "c2"}).succeeded());
}

}  // namespace
}  // namespace ferry::agenttest
