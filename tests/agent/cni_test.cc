// Integration (root): the CNI plugin `ferry` driven directly as libcni runs
// it (CNI_* variables, the network configuration on stdin, run in the host's
// network namespace) against real agents and data planes on two namespace
// hosts (the fixture's default uplink mode and endpoint port type; nothing
// here depends on which). One test, EveryCommandAndErrorPath:
//  - VERSION; STATUS before the network exists (50) and with "subnet";
//  - ADD on both hosts in the versions 0.4.0, 1.0.0 and 1.1.0 (result
//    shapes), the address really on eth0, ping across hosts; six ADDs at
//    once on one host (all distinct addresses);
//  - CHECK: fine after ADD, then a changed MAC and a missing interface are
//    reported, an unknown container is code 3;
//  - refusals: bad variables (4), stdin not JSON (6), old version (1),
//    "ipam" (2), no such network (7), CNI_NETNS missing (3) or not a
//    namespace (4);
//  - DEL: twice (idempotent), after the namespace is gone, and with the
//    agent down: 11 and the endpoint kept (no leak) until the agent is back;
//    a container gone while the agent was down is dropped when it restarts;
//  - GC under one configuration name removes only its stale attachments,
//    never another configuration's, `ferryctl attach`'s;
//  - STATUS with the data plane down: 51.
// Afterwards nothing made by the plugin is left: endpoints, veths.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "tests/agent/agent_fixture.h"

#ifndef FERRY_CNI_BIN
#error "FERRY_CNI_BIN must name the CNI plugin executable"
#endif

namespace ferry::agenttest {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

struct CniRun {
  int rc = -1;
  json out;  // null when stdout was not JSON (DEL, GC and CHECK print nothing)
  std::string raw;
};

// The error code of a failed run (0 when it printed no error).
int code_of(const CniRun& r) { return r.out.is_object() ? r.out.value("code", 0) : 0; }

class CniPluginTest : public AgentTest {
 protected:
  CniPluginTest() { hosts_ = 2; }

  // The plugin run as a runtime runs it: in `host`'s network namespace, the
  // variables in `env`, `conf` on stdin.
  CniRun cni(int host, const std::map<std::string, std::string>& env, const std::string& conf) {
    const std::string file = fmt::format("{}/cni-stdin-{}.json", base_, counter_++);
    {
      std::ofstream out(file);
      out << conf;
    }
    std::string script = fmt::format("exec nsenter --net={} env -i", harness::netns_path(topo_->host(host)));
    for (const auto& [k, v] : env) script += fmt::format(" '{}={}'", k, v);
    script += fmt::format(" {} < {}", FERRY_CNI_BIN, file);
    auto r = harness::run_command({"sh", "-c", script}, seconds(60));
    CniRun out;
    if (!r) {
      ADD_FAILURE() << r.error().message;
      return out;
    }
    out.rc = r->exit_code;
    out.raw = r->output;
    out.out = json::parse(r->output, nullptr, false);
    if (out.out.is_discarded()) out.out = json();
    std::filesystem::remove(file);
    return out;
  }

  json conf(const std::string& version, const std::string& name = "podnet", const json& extra = json::object()) {
    json c{{"cniVersion", version}, {"name", name}, {"type", "ferry"}, {"network", "blue"}};
    c.update(extra);
    return c;
  }
  json conf_on(int host, const std::string& version, const std::string& name = "podnet",
               const json& extra = json::object()) {
    json c = conf(version, name, extra);
    c["socket"] = admin_socket(host);
    return c;
  }

  std::map<std::string, std::string> env(const std::string& command, const std::string& id,
                                         const std::string& netns = "") {
    std::map<std::string, std::string> e{
        {"CNI_COMMAND", command}, {"CNI_CONTAINERID", id}, {"CNI_IFNAME", "eth0"}, {"CNI_PATH", "/usr/lib/cni"}};
    if (!netns.empty()) e["CNI_NETNS"] = netns;
    return e;
  }

  // ADD of container namespace `ns` (made here) as container id `id`.
  CniRun add(int host, const std::string& id, const std::string& version, std::string* ns_path = nullptr,
             const std::string& name = "podnet") {
    auto ns = topo_->add_container(id);
    EXPECT_TRUE(ns) << ns.error().message;
    const std::string path = harness::netns_path(ns ? *ns : "");
    if (ns_path != nullptr) *ns_path = path;
    return cni(host, env("ADD", id, path), conf_on(host, version, name).dump());
  }

  std::string ip_of(const CniRun& r) {
    const std::string cidr = r.out["ips"][0].value("address", "");
    return cidr.substr(0, cidr.find('/'));
  }

  // Local endpoint names on `host`, with their owners.
  std::map<std::string, std::string> endpoints(int host) {
    std::map<std::string, std::string> out;
    for (const auto& e : agent_json(host, {"endpoints"})) out[e.value("name", "")] = e.value("owner", "");
    return out;
  }

  bool host_link_exists(int host, const std::string& ifname) {
    return exec(topo_->host(host), {"ip", "link", "show", ifname}).exit_code == 0;
  }

  int counter_ = 0;
};

TEST_F(CniPluginTest, EveryCommandAndErrorPath) {
  for (int h = 1; h <= hosts_; ++h) ASSERT_NO_FATAL_FAILURE(start_dataplane(h));
  for (int h = 1; h <= hosts_; ++h) ASSERT_NO_FATAL_FAILURE(start_agent(h));
  ASSERT_TRUE(harness::wait_until([&] { return agent_json(1, {"members"}).size() == 2; }, seconds(20)));

  // VERSION.
  CniRun r = cni(1, {{"CNI_COMMAND", "VERSION"}}, R"({"cniVersion":"1.0.0"})");
  EXPECT_EQ(r.rc, 0) << r.raw;
  EXPECT_EQ(r.out["supportedVersions"], json({"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"})) << r.raw;

  // STATUS: no network "blue" yet, and no subnet to make it: 50.
  r = cni(1, {{"CNI_COMMAND", "STATUS"}}, conf_on(1, "1.1.0").dump());
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(code_of(r), 50) << r.raw;
  EXPECT_NE(r.raw.find("no network blue"), std::string::npos) << r.raw;
  // ADD without a subnet for a network that does not exist: 7, saying how.
  std::string ns_path;
  r = add(1, "nonet", "1.0.0", &ns_path);
  EXPECT_EQ(code_of(r), 7) << r.raw;
  EXPECT_NE(r.raw.find("ferryctl net create blue"), std::string::npos) << r.raw;

  // The network made by the configuration's "subnet" and "vni".
  const json make{{"subnet", "10.31.0.0/24"}, {"vni", 3100}};
  r = cni(1, {{"CNI_COMMAND", "STATUS"}}, conf_on(1, "1.1.0", "podnet", make).dump());
  EXPECT_EQ(r.rc, 0) << r.raw;
  auto c1_made = topo_->add_container("c1");
  ASSERT_TRUE(c1_made);
  ns_path = harness::netns_path(*c1_made);
  r = cni(1, env("ADD", "c1", ns_path), conf_on(1, "1.0.0", "podnet", make).dump());
  ASSERT_EQ(r.rc, 0) << r.raw;
  const CniRun c1 = r;
  const std::string c1_ns = ns_path;
  ASSERT_EQ(c1.out["interfaces"].size(), 2U) << c1.raw;
  EXPECT_EQ(c1.out["interfaces"][1]["name"], "eth0");
  EXPECT_EQ(c1.out["interfaces"][1]["sandbox"], c1_ns);
  EXPECT_FALSE(c1.out["interfaces"][1].contains("mtu")) << "mtu is 1.1.0's";
  EXPECT_FALSE(c1.out["interfaces"][0].contains("sandbox"));
  EXPECT_EQ(c1.out["ips"][0]["interface"], 1);
  EXPECT_EQ(c1.out["ips"][0]["gateway"], "10.31.0.1");
  EXPECT_FALSE(c1.out["ips"][0].contains("version"));
  EXPECT_EQ(c1.out["routes"][0], (json{{"dst", "0.0.0.0/0"}, {"gw", "10.31.0.1"}}));
  const std::string c1_host_if = c1.out["interfaces"][0].value("name", "");
  EXPECT_TRUE(host_link_exists(1, c1_host_if));
  // The address is on the container's eth0, where the result says.
  const auto addr = exec(topo_->container("c1"), {"ip", "-o", "addr", "show", "dev", "eth0"});
  EXPECT_NE(addr.output.find(c1.out["ips"][0].value("address", "?")), std::string::npos) << addr.output;

  // Host 2 knows the network by gossip: a 0.4.0 configuration without "subnet".
  ASSERT_TRUE(harness::wait_until([&] { return has_network(2, "blue"); }, seconds(10)));
  std::string c2_ns;
  const CniRun c2 = add(2, "c2", "0.4.0", &c2_ns);
  ASSERT_EQ(c2.rc, 0) << c2.raw;
  EXPECT_EQ(c2.out["cniVersion"], "0.4.0");
  EXPECT_EQ(c2.out["ips"][0]["version"], "4") << c2.raw;
  // 1.1.0 carries the MTU.
  std::string c3_ns;
  const CniRun c3 = add(1, "c3", "1.1.0", &c3_ns);
  ASSERT_EQ(c3.rc, 0) << c3.raw;
  EXPECT_GE(c3.out["interfaces"][1].value("mtu", 0U), 1280U) << c3.raw;

  // Across hosts, both ways.
  auto ping = topo_->ping(topo_->container("c1"), ip_of(c2), seconds(10));
  EXPECT_TRUE(ping) << ping.error().message;
  ping = topo_->ping(topo_->container("c2"), ip_of(c3), seconds(10));
  EXPECT_TRUE(ping) << ping.error().message;

  // Six ADDs at once on host 1: the agent serialises them; distinct addresses.
  {
    std::vector<CniRun> runs(6);
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      ids.push_back(fmt::format("p{}", i));
      ASSERT_TRUE(topo_->add_container(ids.back()));
    }
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      threads.emplace_back([&, i] {
        runs[i] = cni(1, env("ADD", ids[i], harness::netns_path(topo_->container(ids[i]))), conf_on(1, "1.0.0").dump());
      });
    }
    for (auto& t : threads) t.join();
    std::set<std::string> ips;
    for (const auto& run : runs) {
      EXPECT_EQ(run.rc, 0) << run.raw;
      if (run.rc == 0) ips.insert(ip_of(run));
    }
    EXPECT_EQ(ips.size(), runs.size());
  }

  // CHECK: fine right after ADD (prevResult = the ADD's result).
  json check_conf = conf_on(1, "1.0.0");
  check_conf["prevResult"] = c1.out;
  r = cni(1, env("CHECK", "c1", c1_ns), check_conf.dump());
  EXPECT_EQ(r.rc, 0) << r.raw;
  // CHECK of a 0.3.1 configuration: CHECK came with 0.4.0.
  r = cni(1, env("CHECK", "c1", c1_ns), conf_on(1, "0.3.1").dump());
  EXPECT_EQ(code_of(r), 1) << r.raw;
  // A container never added: 3.
  r = cni(1, env("CHECK", "ghost", c1_ns), check_conf.dump());
  EXPECT_EQ(code_of(r), 3) << r.raw;
  // A changed MAC, then a missing interface.
  ASSERT_EQ(exec(topo_->container("p0"), {"ip", "link", "set", "eth0", "address", "02:00:00:00:00:99"}).exit_code, 0);
  json p0_conf = conf_on(1, "1.0.0");
  p0_conf["prevResult"] = json{{"interfaces", json::array()}};
  r = cni(1, env("CHECK", "p0", harness::netns_path(topo_->container("p0"))), p0_conf.dump());
  EXPECT_EQ(code_of(r), 101) << r.raw;
  EXPECT_NE(r.raw.find("MAC 02:00:00:00:00:99"), std::string::npos) << r.raw;
  ASSERT_EQ(exec(topo_->container("p1"), {"ip", "link", "del", "eth0"}).exit_code, 0);
  r = cni(1, env("CHECK", "p1", harness::netns_path(topo_->container("p1"))), p0_conf.dump());
  EXPECT_EQ(code_of(r), 101) << r.raw;
  EXPECT_NE(r.raw.find("interface eth0 is missing"), std::string::npos) << r.raw;

  // Refusals, each with the spec's code and the thing to fix.
  r = cni(1, {{"CNI_COMMAND", "ADD"}}, conf_on(1, "1.0.0").dump());
  EXPECT_EQ(code_of(r), 4) << r.raw;
  EXPECT_NE(r.raw.find("CNI_CONTAINERID"), std::string::npos) << r.raw;
  r = cni(1, env("ADD", "x1", c1_ns), "{not json");
  EXPECT_EQ(code_of(r), 6) << r.raw;
  r = cni(1, env("ADD", "x1", c1_ns), conf_on(1, "0.2.0").dump());
  EXPECT_EQ(code_of(r), 1) << r.raw;
  r = cni(1, env("ADD", "x1", c1_ns), conf_on(1, "1.0.0", "podnet", {{"ipam", {{"type", "host-local"}}}}).dump());
  EXPECT_EQ(code_of(r), 2) << r.raw;
  EXPECT_NE(r.raw.find("host-local"), std::string::npos) << r.raw;
  r = cni(1, env("ADD", "x1", "/run/netns/ferry-cni-test-gone"), conf_on(1, "1.0.0").dump());
  EXPECT_EQ(code_of(r), 3) << r.raw;
  r = cni(1, env("ADD", "x1", "/etc/hostname"), conf_on(1, "1.0.0").dump());
  EXPECT_EQ(code_of(r), 4) << r.raw;
  EXPECT_NE(r.raw.find("CNI_NETNS"), std::string::npos) << r.raw;
  EXPECT_EQ(endpoints(1).count("cni-x1-eth0"), 0U);

  // DEL: twice; the second finds nothing and is fine.
  r = cni(1, env("DEL", "c1", c1_ns), conf_on(1, "1.0.0").dump());
  EXPECT_EQ(r.rc, 0) << r.raw;
  r = cni(1, env("DEL", "c1", c1_ns), conf_on(1, "1.0.0").dump());
  EXPECT_EQ(r.rc, 0) << r.raw;
  EXPECT_EQ(endpoints(1).count("cni-c1-eth0"), 0U);
  EXPECT_FALSE(host_link_exists(1, c1_host_if));
  // DEL after the namespace is gone (no CNI_NETNS, as a runtime may send it).
  ASSERT_EQ(harness::run_command({"ip", "netns", "del", topo_->container("p2")})->exit_code, 0);
  r = cni(1, env("DEL", "p2"), conf_on(1, "1.0.0").dump());
  EXPECT_EQ(r.rc, 0) << r.raw;
  EXPECT_EQ(endpoints(1).count("cni-p2-eth0"), 0U);

  // The agent down: DEL says "try again later" and nothing is forgotten.
  kill_agent(2);
  r = cni(2, env("DEL", "c2", c2_ns), conf_on(2, "0.4.0").dump());
  EXPECT_EQ(code_of(r), 11) << r.raw;
  ASSERT_NO_FATAL_FAILURE(start_agent(2));
  EXPECT_EQ(endpoints(2).count("cni-c2-eth0"), 1U) << "the endpoint outlives the agent";
  r = cni(2, env("DEL", "c2", c2_ns), conf_on(2, "0.4.0").dump());
  EXPECT_EQ(r.rc, 0) << r.raw;
  EXPECT_TRUE(endpoints(2).empty());
  // The same, and the container goes while the agent is down (the runtime
  // does not retry DEL): the restarted agent finds its veth gone and drops
  // the endpoint, its address released.
  std::string c4_ns;
  r = add(2, "c4", "1.0.0", &c4_ns);
  ASSERT_EQ(r.rc, 0) << r.raw;
  kill_agent(2);
  EXPECT_EQ(code_of(cni(2, env("DEL", "c4", c4_ns), conf_on(2, "1.0.0").dump())), 11);
  ASSERT_EQ(harness::run_command({"ip", "netns", "del", topo_->container("c4")})->exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(start_agent(2));
  EXPECT_TRUE(endpoints(2).empty()) << agent_ctl(2, {"endpoints"}).output;
  const json ipam = agent_json(2, {"ipam"});
  for (const auto& p : ipam.value("pools", json::array())) EXPECT_EQ(p.value("allocated", 0), 0) << ipam.dump();

  // GC under "podnet": only its attachments missing from the list go. An
  // endpoint of another configuration and one of `ferryctl attach` stay.
  std::string other_ns;
  r = add(1, "o1", "1.1.0", &other_ns, "othernet");
  ASSERT_EQ(r.rc, 0) << r.raw;
  auto manual = topo_->add_container("manual");
  ASSERT_TRUE(manual);
  ASSERT_TRUE(agent_ctl(1, {"attach", "--net", "blue", "--netns", harness::netns_path(*manual), "--name", "manual"})
                  .succeeded());
  json gc = conf_on(1, "1.1.0");
  gc["cni.dev/valid-attachments"] = json::array({{{"containerID", "c3"}, {"ifname", "eth0"}}});
  r = cni(1, {{"CNI_COMMAND", "GC"}, {"CNI_PATH", "/usr/lib/cni"}}, gc.dump());
  EXPECT_EQ(r.rc, 0) << r.raw;
  const auto left = endpoints(1);
  EXPECT_EQ(left, (std::map<std::string, std::string>{
                      {"cni-c3-eth0", "cni:podnet"}, {"cni-o1-eth0", "cni:othernet"}, {"manual", "ferryctl"}}))
      << agent_ctl(1, {"endpoints"}).output;
  // The table says the same in its OWNER column.
  EXPECT_EQ(agent_table_column(1, "endpoints", "OWNER"), left) << agent_ctl(1, {"endpoints"}).output;

  // STATUS with the data plane gone: 51 (containers here lose connectivity).
  EXPECT_EQ(stop_dataplane(1), 0);
  EXPECT_TRUE(harness::wait_until(
      [&] {
        return code_of(cni(1, {{"CNI_COMMAND", "STATUS"}}, conf_on(1, "1.1.0").dump())) == 51;
      },
      seconds(15), milliseconds(300)));
  ASSERT_NO_FATAL_FAILURE(start_dataplane(1));

  // Everything the plugin made goes with DEL and GC.
  for (const char* id : {"c3"}) {
    EXPECT_EQ(cni(1, env("DEL", id), conf_on(1, "1.1.0").dump()).rc, 0);
  }
  gc = conf_on(1, "1.1.0", "othernet");
  gc["cni.dev/valid-attachments"] = json::array();
  EXPECT_EQ(cni(1, {{"CNI_COMMAND", "GC"}}, gc.dump()).rc, 0);
  EXPECT_EQ(endpoints(1), (std::map<std::string, std::string>{{"manual", "ferryctl"}}));
  const auto links = exec(topo_->host(1), {"ip", "-o", "link", "show"});
  std::size_t fy = 0;
  for (std::size_t p = links.output.find(": fy"); p != std::string::npos; p = links.output.find(": fy", p + 1)) ++fy;
  EXPECT_EQ(fy, 1U) << "only ferryctl attach's veth is left:\n" << links.output;
}

}  // namespace
}  // namespace ferry::agenttest
