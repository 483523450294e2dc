// Integration (root): how an agent keeps its data plane honest and working.
// Two namespace hosts, each with ferry-dataplane (--no-huge, af_packet) and
// ferry-agent, one container attached per host.
//  - Drift audit: entries changed behind the agent's back with `ferryctl dp
//    --force` (a bogus neighbour, an extra FDB entry, a needed FDB entry
//    removed) are repaired within the audit period and counted per kind;
//    without --force the data plane refuses them while the agent owns it.
//  - Agent SIGKILL + restart: pings every 0.05 s between the two containers
//    through the restart lose no more than the same pings without one.
//  - Agent SIGKILL + restart, then its container detached within 1 s: the
//    other host applies the removal (the restarted agent's tombstone starts
//    from a Lamport time below the peers' copy and must be re-written past
//    it) and never shows the endpoint again.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "tests/agent/agent_fixture.h"

namespace ferry::agenttest {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

struct Attached {
  std::string ns;
  std::string ip;
  std::string mac;
};

class AgentHardeningTest : public AgentTest {
 protected:
  AgentHardeningTest() { hosts_ = 2; }

  Attached attach(int host, const std::string& name) {
    auto ns = topo_->add_container(name);
    EXPECT_TRUE(ns) << ns.error().message;
    Attached a;
    a.ns = ns ? *ns : "";
    const json r = agent_json(host, {"attach", "--net", "blue", "--netns", harness::netns_path(a.ns), "--name", name});
    EXPECT_TRUE(r.is_object() && r.contains("endpoint")) << agent_ctl(host, {"endpoints"}).output;
    if (!r.is_object() || !r.contains("endpoint")) return a;
    const std::string cidr = r["endpoint"]["ip"].get<std::string>();
    a.ip = cidr.substr(0, cidr.find('/'));
    a.mac = r["endpoint"]["mac"].get<std::string>();
    return a;
  }

  // Both hosts up, network blue, one container on each, reachable.
  std::pair<Attached, Attached> two_containers() {
    for (int h = 1; h <= 2; ++h) start_dataplane(h);
    start_agent(1, {2});
    start_agent(2, {1});
    auto created = agent_ctl(1, {"net", "create", "blue", "--subnet", "10.77.0.0/24", "--vni", "77"});
    EXPECT_TRUE(created.succeeded()) << created.output;
    for (int h = 1; h <= 2; ++h) {
      EXPECT_TRUE(harness::wait_until([&] { return has_network(h, "blue"); }, seconds(10), milliseconds(100)));
    }
    Attached a = attach(1, "c1");
    Attached b = attach(2, "c2");
    for (int h = 1; h <= 2; ++h) {
      EXPECT_TRUE(harness::wait_until([&] { return peer_count(h) == 1; }, seconds(10), milliseconds(50)))
          << agent_ctl(h, {"peers"}).output;
    }
    auto r = topo_->ping(a.ns, b.ip, seconds(5));
    EXPECT_TRUE(r) << r.error().message;
    return {a, b};
  }

  // `ferryctl status` (always JSON, no --json flag); null when it fails.
  json status_json(int host) {
    auto r = agent_ctl(host, {"status"});
    if (!r.succeeded()) return json();
    auto j = json::parse(r.output, nullptr, false);
    return j.is_discarded() ? json() : j;
  }

  // Sent and received of `ping -i 0.05 -c count` from `ns` to `ip`.
  std::pair<int, int> ping_burst(const std::string& ns, const std::string& ip, int count) {
    auto r = topo_->exec(ns, {"ping", "-n", "-q", "-i", "0.05", "-W", "1", "-c", std::to_string(count), ip},
                         seconds(count / 10 + 30));
    EXPECT_TRUE(r);
    if (!r) return {0, 0};
    std::smatch m;
    static const std::regex kSummary(R"((\d+) packets transmitted, (\d+) received)");
    EXPECT_TRUE(std::regex_search(r->output, m, kSummary)) << r->output;
    if (m.size() < 3) return {0, 0};
    return {std::stoi(m[1]), std::stoi(m[2])};
  }
};

TEST_F(AgentHardeningTest, DriftAuditRepairsEntriesChangedBehindTheAgentsBackAndCountsThem) {
  agent_args_ = {"--audit-ms", "1000"};
  // Named references, not a structured binding: the lambdas below capture b.
  const std::pair<Attached, Attached> attached = two_containers();
  const Attached& a = attached.first;
  const Attached& b = attached.second;
  ASSERT_FALSE(HasFailure());
  const std::string vtep2 = vtep_ip(2);

  // The agent owns host 1's data plane: an operator's change is refused, naming the owner.
  auto refused = ctl(1, {"neigh", "add", "--vni", "77", "--ip", "10.77.0.200", "--mac", "02:00:00:00:bb:01"});
  EXPECT_NE(refused.exit_code, 0) << refused.output;
  EXPECT_NE(refused.output.find("ferry-agent"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("owns this data plane"), std::string::npos) << refused.output;

  // Forced: a bogus neighbour, an extra FDB entry, and the FDB entry c2 needs removed.
  ctl_ok(1, {"--force", "neigh", "add", "--vni", "77", "--ip", "10.77.0.200", "--mac", "02:00:00:00:bb:01"});
  ctl_ok(1, {"--force", "fdb", "add", "--vni", "77", "--mac", "02:00:00:00:bb:02", "--vtep", vtep2});
  ctl_ok(1, {"--force", "fdb", "del", "--vni", "77", "--mac", b.mac});

  // Repaired within a few audit periods, and counted per kind.
  json audit;
  EXPECT_TRUE(harness::wait_until(
      [&] {
        const json status = status_json(1);
        if (!status.is_object()) return false;
        audit = status["dataplane"]["audit"];
        const json& drift = audit["drift"];
        return drift.value("neigh_extra", 0) >= 1 && drift.value("fdb_extra", 0) >= 1 &&
               drift.value("fdb_missing", 0) >= 1;
      },
      seconds(10), milliseconds(200)))
      << agent_ctl(1, {"status"}).output;
  EXPECT_GE(audit.value("drift_total", 0), 3) << audit.dump();
  EXPECT_TRUE(harness::wait_until(
      [&] {
        auto show = ctl(1, {"show"});
        return show.succeeded() && show.output.find("10.77.0.200") == std::string::npos &&
               show.output.find("02:00:00:00:bb:02") == std::string::npos &&
               show.output.find(b.mac) != std::string::npos;
      },
      seconds(5), milliseconds(100)))
      << ctl(1, {"show"}).output;
  auto back = topo_->ping(a.ns, b.ip, seconds(5));
  EXPECT_TRUE(back) << back.error().message;
  // Logged at warning, naming what it found.
  EXPECT_NE(agents_[1]->log().find("drift audit"), std::string::npos) << agents_[1]->log();
  // A clean data plane stays clean: the next audits find nothing.
  EXPECT_TRUE(harness::wait_until(
      [&] {
        const json status = status_json(1);
        return status.is_object() && status["dataplane"]["audit"].value("last", "") == "clean";
      },
      seconds(5), milliseconds(200)))
      << agent_ctl(1, {"status"}).output;
}

TEST_F(AgentHardeningTest, AgentKillAndRestartLosesNoPingsBetweenExistingEndpoints) {
  auto [a, b] = two_containers();
  ASSERT_FALSE(HasFailure());
  constexpr int kPings = 200;  // 10 s at 0.05 s
  const auto [base_sent, base_received] = ping_burst(a.ns, b.ip, kPings);
  ASSERT_EQ(base_sent, kPings);
  const int baseline_lost = base_sent - base_received;

  std::pair<int, int> during{0, 0};
  std::thread pinger([&, ns = a.ns, ip = b.ip] { during = ping_burst(ns, ip, kPings); });
  std::this_thread::sleep_for(seconds(1));
  kill_agent(1);  // the agent whose data plane holds c2's entries
  start_agent(1, {2});
  pinger.join();
  const int lost = during.first - during.second;
  std::cout << "[ measure  ] agent SIGKILL + restart: " << lost << " of " << during.first << " pings lost (baseline "
            << baseline_lost << " of " << base_sent << ")\n";
  EXPECT_EQ(during.first, kPings);
  EXPECT_LE(lost, baseline_lost) << agents_[1]->log();
  const json status = status_json(1);
  ASSERT_TRUE(status.is_object());
  EXPECT_FALSE(status["dataplane"].value("holding_removals", true)) << status.dump();
}

TEST_F(AgentHardeningTest, RemovalWithinASecondOfAnAgentRestartReachesThePeer) {
  const auto containers = two_containers();
  const Attached& a = containers.first;
  const Attached& b = containers.second;
  ASSERT_FALSE(HasFailure());
  // A few more writes on h2 first: h1's copies then carry Lamport times past
  // where the restarted agent's clock starts.
  for (int i = 0; i < 3; ++i) {
    const std::string name = fmt::format("tmp{}", i);
    const Attached t = attach(2, name);
    ASSERT_FALSE(t.ip.empty());
    ASSERT_TRUE(agent_ctl(2, {"detach", name}).succeeded());
  }
  auto h1_has = [&](const Attached& c) {
    bool peer = false;
    for (const auto& p : agent_json(1, {"peers"})) peer = peer || p.value("mac", "") == c.mac;
    return peer || ctl(1, {"show"}).output.find(c.mac) != std::string::npos;
  };
  ASSERT_TRUE(h1_has(b));
  kill_agent(2);
  start_agent(2, {1});
  const auto restarted = std::chrono::steady_clock::now();
  auto detached = agent_ctl(2, {"detach", "c2"});
  const double after = std::chrono::duration<double>(std::chrono::steady_clock::now() - restarted).count();
  ASSERT_TRUE(detached.succeeded()) << detached.output;
  EXPECT_LT(after, 1.0) << "the detach came " << after << " s after the restart, not within 1 s";
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(harness::wait_until([&] { return !h1_has(b); }, seconds(20), milliseconds(50)))
      << "h1 still has c2 (" << b.mac << "):\n"
      << agent_ctl(1, {"peers"}).output << ctl(1, {"show"}).output << "\nh2's log:\n"
      << agents_[2]->log();
  std::cout << fmt::format("[ measure  ] removal {:.2f} s after h2's agent restarted: applied on h1 after {:.2f} s\n",
                           after, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  // It stays gone (no resurrection from either side's older copies), and c1
  // still reaches what is left.
  std::this_thread::sleep_for(seconds(5));
  EXPECT_FALSE(h1_has(b)) << agent_ctl(1, {"peers"}).output;
  const Attached c3 = attach(2, "c3");
  EXPECT_TRUE(harness::wait_until([&] { return h1_has(c3); }, seconds(10), milliseconds(50)));
  auto r = topo_->ping(a.ns, c3.ip, seconds(10));
  EXPECT_TRUE(r) << r.error().message;
}

}  // namespace
}  // namespace ferry::agenttest
