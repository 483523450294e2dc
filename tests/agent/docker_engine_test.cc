// Integration (root): Ferry under a real Docker engine. Two topology hosts,
// each with ferry-dataplane, ferry-agent and a real dockerd (Debian's
// docker.io 20.10, isolated by tests/harness/dockerd.sh) whose only plugin
// is that host's Ferry socket. Everything goes through the docker CLI, as a
// user types it; containers are entered with `docker exec`.
// One test, CliLifecycleRefusalsAndRestarts, in two parts:
//  - networks, containers, addresses, refusals: IPv4 and dual-stack networks
//    on both hosts; several containers started at once on both; --ip,
//    --ip6, --mac-address; ping both ways over IPv4 and IPv6; docker
//    restart; network disconnect/connect, a second network on running
//    containers; Ferry's refusals in docker's own output (overlapping pool,
//    full pool, an address in use by --ip and --ip6); serial allocation
//    (--ipam-opt com.docker.network.ipam.serial=true, which dockerd passes
//    in RequestPool's options); rm -f and network rm;
//    then nothing is left in Ferry (endpoints, reservations, veths,
//    data-plane ports), including the IPv4 address Docker itself leaks when
//    the IPv6 request of the same container fails.
//  - restarts: dockerd stopped with SIGTERM and with
//    SIGKILL while containers run, restarted with live restore off (Docker
//    cleans up: its endpoints leave Ferry) and on (endpoints survive,
//    Ferry must not expire them); the agent and then the data plane
//    restarted while dockerd runs; the Docker host wiped without a word
//    (every container's sandbox gone, no Leave): Ferry removes the
//    endpoints itself after --docker-orphan-ms.
// Neighbour caches: when a container comes back at the same address with a
// new MAC, the pinging container's stale ARP/ND entry is flushed first; how
// peers learn a changed MAC by themselves is tested on its own.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "tests/agent/agent_fixture.h"
#include "tests/harness/dockerd.h"

namespace ferry::agenttest {
namespace {

using harness::CommandResult;
using harness::Dockerd;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kOrphanMs = 2000;

class DockerEngineTest : public AgentTest {
 protected:
  // One line per phase with the time since SetUp began (where time goes).
  void phase(const std::string& what) {
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    std::cout << fmt::format("[{:6.1f}s] {}", t, what) << std::endl;
  }

  void SetUp() override {
    t0_ = std::chrono::steady_clock::now();
    if (!std::filesystem::exists("/usr/sbin/dockerd") || !std::filesystem::exists("/usr/bin/docker")) {
      GTEST_SKIP() << "Debian's docker.io is not installed (scripts/install-deps)";
    }
    hosts_ = 2;
    plugin_ = true;
    agent_args_ = {"--docker-orphan-ms", std::to_string(kOrphanMs)};
    AgentTest::SetUp();
    if (HasFatalFailure()) return;
    for (int h = 1; h <= hosts_; ++h) start_dataplane(h);
    for (int h = 1; h <= hosts_; ++h) start_agent(h);
    ASSERT_TRUE(harness::wait_until([&] { return agent_json(1, {"members"}).size() == 2; }, seconds(20)));
    phase("data planes and agents up");
    std::map<int, Result<std::unique_ptr<Dockerd>>> started;
    std::vector<std::thread> threads;
    for (int h = 1; h <= hosts_; ++h) started.emplace(h, make_error("not started"));
    for (int h = 1; h <= hosts_; ++h) {
      threads.emplace_back([&, h] {
        started.at(h) = Dockerd::start({.name = topo_->host(h),
                                        .netns = harness::netns_path(topo_->host(h)),
                                        .dir = fmt::format("{}/docker-h{}", base_, h),
                                        .plugin_socket = plugin_socket(h)});
      });
    }
    for (auto& t : threads) t.join();
    for (auto& [h, d] : started) {
      ASSERT_TRUE(d) << d.error().message;
      docker_[h] = std::move(*d);
      phase(fmt::format("h{}: {}", h, docker_[h]->version()));
    }
  }

  void TearDown() override {
    if (HasFailure()) {
      for (auto& [h, d] : docker_) {
        std::ifstream log(d->config().dir + "/dockerd.log");
        std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
        if (text.size() > 6000) text = text.substr(text.size() - 6000);
        std::cerr << "---- dockerd h" << h << " (end of its log) ----\n" << text << '\n';
      }
    }
    // Containers go while the agents still answer Docker's calls.
    for (auto& [h, d] : docker_) {
      EXPECT_TRUE(d->down()) << "dockerd h" << h;
      phase(fmt::format("h{}: dockerd down", h));
    }
    docker_.clear();
    AgentTest::TearDown();
    phase("agents, data planes and topology down");
  }

  CommandResult docker(int host, const std::vector<std::string>& args) { return docker_.at(host)->docker(args); }
  void docker_ok(int host, const std::vector<std::string>& args) {
    const CommandResult r = docker(host, args);
    ASSERT_TRUE(r.succeeded()) << "h" << host << ": docker " << harness::join_argv(args) << ":\n" << r.output;
  }
  // `docker ARGS` must fail, saying `why` (Ferry's reason, through Docker).
  void docker_refused(int host, const std::vector<std::string>& args, const std::string& why) {
    const CommandResult r = docker(host, args);
    EXPECT_FALSE(r.succeeded()) << "h" << host << ": docker " << harness::join_argv(args) << " succeeded";
    EXPECT_NE(r.output.find(why), std::string::npos)
        << "h" << host << ": docker " << harness::join_argv(args) << " does not say '" << why << "':\n"
        << r.output;
  }

  void create_network(int host, const std::string& name, const std::string& subnet, const std::string& subnet6 = "") {
    std::vector<std::string> args{"network", "create", "-d", "ferry", "--ipam-driver", "ferry", "--subnet", subnet};
    if (!subnet6.empty()) args.insert(args.end(), {"--ipv6", "--subnet", subnet6});
    args.insert(args.end(), {"-o", "ferry.network=" + name, name});
    docker_ok(host, args);
  }

  // docker run -d --init ... on several hosts at once: {host, args}.
  void run_all(const std::vector<std::pair<int, std::vector<std::string>>>& runs) {
    std::vector<CommandResult> results(runs.size());
    std::vector<std::thread> threads;
    threads.reserve(runs.size());
    for (std::size_t i = 0; i < runs.size(); ++i) {
      threads.emplace_back([&, i] { results[i] = docker_.at(runs[i].first)->run_container(runs[i].second); });
    }
    for (auto& t : threads) t.join();
    for (std::size_t i = 0; i < runs.size(); ++i) {
      EXPECT_TRUE(results[i].succeeded())
          << "h" << runs[i].first << ": docker run " << harness::join_argv(runs[i].second) << ":\n"
          << results[i].output;
    }
  }
  void run(int host, const std::vector<std::string>& args) { run_all({{host, args}}); }

  // A container's address on a network (v6: its global IPv6 address).
  std::string address(int host, const std::string& c, const std::string& net, bool v6 = false) {
    const CommandResult r = docker(host, {"inspect", "-f",
                                          fmt::format("{{{{(index .NetworkSettings.Networks \"{}\").{}}}}}", net,
                                                      v6 ? "GlobalIPv6Address" : "IPAddress"),
                                          c});
    std::string out = r.output;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    EXPECT_TRUE(r.succeeded() && !out.empty()) << c << " on " << net << ": " << r.output;
    return out;
  }

  bool ping_once(int host, const std::string& c, const std::string& addr) {
    return docker(host, {"exec", c, "ping", "-c", "1", "-W", "1", addr}).succeeded();
  }
  // From container `c` on `host`, `addr` answers (within 20 s). The
  // pinger's neighbour entries are flushed first (a container back at the
  // same address has a new MAC; see the top of the file).
  void expect_reach(int host, const std::string& c, const std::string& addr) {
    ASSERT_FALSE(addr.empty());
    (void)docker(host, {"exec", c, "sh", "-c", "ip neigh flush all; ip -6 neigh flush all"});
    EXPECT_TRUE(harness::wait_until([&] { return ping_once(host, c, addr); }, seconds(20), milliseconds(200)))
        << "h" << host << ": " << c << " cannot reach " << addr << "\npeers on h1: " << agent_ctl(1, {"peers"}).output
        << "\npeers on h2: " << agent_ctl(2, {"peers"}).output;
  }

  json endpoints(int host) { return agent_json(host, {"endpoints"}); }
  bool peers_have(int host, const std::string& ip) {
    for (const auto& p : agent_json(host, {"peers"})) {
      if (p.value("ip", "").starts_with(ip + "/")) return true;
    }
    return false;
  }
  json state(int host) {
    std::ifstream in(state_dir(host) + "/state.json");
    return json::parse(in, nullptr, false);
  }
  // Addresses reserved for Docker on `host` (state.json), all pools.
  std::vector<std::string> reservations(int host) {
    std::vector<std::string> out;
    const json s = state(host);
    if (!s.is_object()) return {"state.json unreadable"};
    for (const auto& p : s.value("pools", json::array())) {
      for (const auto& a : p.value("addresses", json::array())) out.push_back(a.get<std::string>());
    }
    return out;
  }
  // Endpoint veths (fy…, fc…) in the host's namespace.
  std::vector<std::string> veths(int host) {
    std::vector<std::string> out;
    auto r = topo_->exec(topo_->host(host), {"ip", "-o", "link", "show"});
    if (!r || !r->succeeded()) return {"ip link failed"};
    std::istringstream lines(r->output);
    std::string line;
    while (std::getline(lines, line)) {
      const auto colon = line.find(": ");
      if (colon == std::string::npos) continue;
      const std::string name = line.substr(colon + 2, line.find_first_of("@:", colon + 2) - colon - 2);
      if (name.starts_with("fy") || name.starts_with("fc")) out.push_back(name);
    }
    return out;
  }
  std::size_t endpoint_ports(int host) {
    std::size_t n = 0;
    for (const auto& p : ctl_json(host, {"show"}).value("ports", json::array())) {
      n += p.value("iface", "").starts_with("fy") ? 1 : 0;
    }
    return n;
  }
  // This host allocated nothing in any pool (ferryctl ipam).
  bool allocates_nothing(int host) {
    const json ipam = agent_json(host, {"ipam"});
    if (!ipam.is_object()) return false;
    for (const auto& p : ipam.value("pools", json::array())) {
      if (p.value("allocated", 0) != 0) return false;
    }
    return true;
  }
  // Nothing of Docker's is left in Ferry on `host`: endpoints, reservations,
  // allocations, veths, data-plane ports.
  void expect_nothing_left(int host) {
    EXPECT_TRUE(harness::wait_until([&] { return endpoints(host).empty(); }, seconds(10)))
        << "h" << host << ": " << agent_ctl(host, {"endpoints"}).output;
    EXPECT_EQ(reservations(host), std::vector<std::string>{}) << "h" << host;
    EXPECT_TRUE(harness::wait_until([&] { return allocates_nothing(host); }, seconds(10)))
        << "h" << host << ": " << agent_ctl(host, {"ipam"}).output;
    EXPECT_TRUE(harness::wait_until([&] { return veths(host).empty(); }, seconds(10)))
        << "h" << host << ": veths left: " << harness::join_argv(veths(host));
    EXPECT_TRUE(harness::wait_until([&] { return endpoint_ports(host) == 0; }, seconds(10)))
        << "h" << host << ": " << ctl(host, {"show"}).output;
  }

  void networks_containers_addresses_and_refusals();
  void daemon_agent_and_data_plane_restarts();

  std::map<int, std::unique_ptr<Dockerd>> docker_;
  std::chrono::steady_clock::time_point t0_;
};

// The docker CLI end to end (see the top of the file), then restarts; one
// test so the two share one set-up of hosts, agents and engines.
void DockerEngineTest::networks_containers_addresses_and_refusals() {
  // Networks: dual stack and IPv4 only, the same cluster networks on both
  // hosts (h1 first: it owns all their space until it gives some away).
  for (int h : {1, 2}) create_network(h, "blue", "10.30.0.0/24", "fd00:30::/64");
  for (int h : {1, 2}) create_network(h, "red", "10.31.0.0/24");
  docker_refused(1,
                 {"network", "create", "-d", "ferry", "--ipam-driver", "ferry", "--subnet", "10.30.0.0/16", "-o",
                  "ferry.network=wide", "wide"},
                 "Pool overlaps with other one on this address space");
  create_network(1, "tiny", "10.32.0.0/30");  // one usable address: .2

  phase("networks created, overlap refused");
  // Five containers at once on two hosts; static addresses and a MAC.
  const std::vector<std::string> cap{"--cap-add", "NET_ADMIN", "--network", "blue"};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), cap.begin(), cap.end());
    return args;
  };
  run_all({{1, with({"--name", "a1"})},
           {1, with({"--name", "a2"})},
           {1, with({"--name", "a3", "--ip", "10.30.0.50", "--ip6", "fd00:30::50"})},
           {2, with({"--name", "b1", "--mac-address", "02:00:00:aa:bb:01"})},
           {2, with({"--name", "b2", "--ip", "10.30.0.60"})}});
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(address(1, "a3", "blue"), "10.30.0.50");
  EXPECT_EQ(address(1, "a3", "blue", true), "fd00:30::50");
  EXPECT_EQ(address(2, "b2", "blue"), "10.30.0.60");
  const CommandResult mac = docker(2, {"exec", "b1", "cat", "/sys/class/net/eth0/address"});
  EXPECT_EQ(mac.output, "02:00:00:aa:bb:01\n");
  const std::string b1 = address(2, "b1", "blue");
  const std::string b1_6 = address(2, "b1", "blue", true);
  EXPECT_TRUE(harness::wait_until(
      [&] {
        for (const auto& p : agent_json(1, {"peers"})) {
          if (p.value("mac", "") == "02:00:00:aa:bb:01" && p.value("ip", "") == b1 + "/24") return true;
        }
        return false;
      },
      seconds(10)))
      << agent_ctl(1, {"peers"}).output;
  EXPECT_EQ(endpoints(1).size(), 3u);
  EXPECT_EQ(endpoints(2).size(), 2u);

  phase("five containers running");
  // Ferry's refusals, in docker's output.
  docker_refused(2,
                 {"run", "-d", "--init", "--name", "x1", "--network", "blue", "--ip", "10.30.0.50", Dockerd::kImage,
                  "sleep", "60"},
                 "10.30.0.50 is already in use");
  // Docker reserves the IPv4 address first and does not release it when the
  // IPv6 request fails; Ferry gets it back when the pool goes (below).
  docker_refused(1,
                 {"run", "-d", "--init", "--name", "x2", "--network", "blue", "--ip6", "fd00:30::50", Dockerd::kImage,
                  "sleep", "60"},
                 "fd00:30::50 is already in use");
  docker_ok(1, {"network", "connect", "tiny", "a1"});
  EXPECT_EQ(address(1, "a1", "tiny"), "10.32.0.2");
  docker_refused(1, {"network", "connect", "tiny", "a2"}, "no free address in 10.32.0.0/30");

  phase("refusals seen in docker's output");
  // Both ways, IPv4 and IPv6.
  expect_reach(1, "a1", b1);
  expect_reach(1, "a1", b1_6);
  expect_reach(1, "a2", "10.30.0.60");
  expect_reach(2, "b1", "10.30.0.50");
  expect_reach(2, "b1", "fd00:30::50");
  expect_reach(2, "b2", address(1, "a2", "blue", true));

  phase("pings both ways");
  // docker restart: a new endpoint at the same (static) address.
  const std::string b2_before = endpoints(2).dump();
  docker_ok(2, {"restart", "b2"});
  EXPECT_EQ(address(2, "b2", "blue"), "10.30.0.60");
  EXPECT_EQ(endpoints(2).size(), 2u);
  EXPECT_NE(endpoints(2).dump(), b2_before);
  expect_reach(1, "a1", "10.30.0.60");
  expect_reach(2, "b2", address(1, "a1", "blue"));

  phase("docker restart");
  // Disconnect: gone from the other host; connect again; a second network
  // (IPv4 only) on running containers.
  const std::string a2 = address(1, "a2", "blue");
  docker_ok(1, {"network", "disconnect", "blue", "a2"});
  EXPECT_TRUE(harness::wait_until([&] { return !peers_have(2, a2); }, seconds(10))) << agent_ctl(2, {"peers"}).output;
  EXPECT_FALSE(ping_once(2, "b1", a2));
  docker_ok(1, {"network", "connect", "blue", "a2"});
  expect_reach(2, "b1", address(1, "a2", "blue"));
  docker_ok(1, {"network", "connect", "red", "a2"});
  docker_ok(2, {"network", "connect", "red", "b1"});
  expect_reach(1, "a2", address(2, "b1", "red"));
  expect_reach(2, "b1", address(1, "a2", "red"));

  phase("disconnect, connect");
  // Serial allocation: dockerd passes --ipam-opt in RequestPool's options,
  // and a released address is not handed out again until the pool wraps
  // (first-free would give s3 the address s1 had).
  docker_ok(1, {"network", "create", "-d", "ferry", "--ipam-driver", "ferry", "--subnet", "10.33.0.0/24", "--ipam-opt",
                "com.docker.network.ipam.serial=true", "-o", "ferry.network=serial", "serial"});
  bool pool_option_seen = false;
  for (const auto& c : agent_json(1, {"plugin-calls"})) {
    if (c.value("method", "") == "IpamDriver.RequestPool" &&
        c.value("request", "").find(R"("com.docker.network.ipam.serial":"true")") != std::string::npos) {
      pool_option_seen = true;
    }
  }
  EXPECT_TRUE(pool_option_seen) << agent_ctl(1, {"plugin-calls", "--full"}).output;
  run(1, {"--name", "s1", "--network", "serial"});
  run(1, {"--name", "s2", "--network", "serial"});
  EXPECT_EQ(address(1, "s1", "serial"), "10.33.0.2");
  EXPECT_EQ(address(1, "s2", "serial"), "10.33.0.3");
  docker_ok(1, {"rm", "-f", "s1"});
  run(1, {"--name", "s3", "--network", "serial"});
  EXPECT_EQ(address(1, "s3", "serial"), "10.33.0.4");
  docker_ok(1, {"rm", "-f", "s2", "s3"});
  docker_ok(1, {"network", "rm", "serial"});

  phase("serial allocation");
  // rm -f and network rm: nothing of Docker's is left in Ferry.
  docker_ok(1, {"rm", "-f", "a1", "a2", "a3", "x2"});
  docker_ok(2, {"rm", "-f", "b1", "b2", "x1"});
  docker_ok(1, {"network", "rm", "blue", "red", "tiny"});
  docker_ok(2, {"network", "rm", "blue", "red"});
  for (int h : {1, 2}) {
    SCOPED_TRACE(fmt::format("h{}", h));
    expect_nothing_left(h);
    const json s = state(h);
    EXPECT_TRUE(s.value("docker_networks", json::array()).empty()) << s.dump();
    EXPECT_TRUE(s.value("pools", json::array()).empty()) << s.dump();
  }
  EXPECT_TRUE(harness::wait_until([&] { return peer_count(1) == 0 && peer_count(2) == 0; }, seconds(10)));
  phase("rm -f, network rm: nothing left");
}

void DockerEngineTest::daemon_agent_and_data_plane_restarts() {
  for (int h : {1, 2}) create_network(h, "green", "10.40.0.0/24", "fd00:40::/64");
  const std::vector<std::string> net{"--cap-add", "NET_ADMIN", "--network", "green"};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), net.begin(), net.end());
    return args;
  };
  run_all({{1, with({"--name", "a1"})}, {2, with({"--name", "b1"})}});
  ASSERT_FALSE(HasFailure());
  const std::string a1 = address(1, "a1", "green");
  expect_reach(1, "a1", address(2, "b1", "green"));
  Dockerd& d2 = *docker_.at(2);

  phase("containers running");
  // SIGTERM, live restore off: dockerd stops b1, and its endpoint leaves.
  ASSERT_TRUE(d2.stop(SIGTERM));
  EXPECT_TRUE(harness::wait_until([&] { return endpoints(2).empty() && peer_count(1) == 0; }, seconds(20)))
      << agent_ctl(2, {"endpoints"}).output;
  EXPECT_EQ(reservations(2), std::vector<std::string>{});
  ASSERT_TRUE(d2.restart(false));
  docker_ok(2, {"start", "b1"});
  expect_reach(1, "a1", address(2, "b1", "green"));

  phase("SIGTERM, live restore off");
  // SIGKILL, live restore off: b1 keeps running and stays reachable while
  // dockerd is gone; the restarted dockerd stops it and cleans up.
  const std::string b1_was = address(2, "b1", "green");
  ASSERT_TRUE(d2.stop(SIGKILL));
  expect_reach(1, "a1", b1_was);
  ASSERT_TRUE(d2.restart(false));
  EXPECT_TRUE(harness::wait_until([&] { return endpoints(2).empty() && peer_count(1) == 0; }, seconds(30)))
      << agent_ctl(2, {"endpoints"}).output;
  EXPECT_EQ(reservations(2), std::vector<std::string>{});
  docker_ok(2, {"start", "b1"});
  expect_reach(1, "a1", address(2, "b1", "green"));
  expect_reach(2, "b1", a1);

  phase("SIGKILL, live restore off");
  // Live restore on: SIGKILL and SIGTERM leave b1 running; its endpoint
  // stays, also past --docker-orphan-ms (the container never left it), and
  // the restarted dockerd goes on with it.
  ASSERT_TRUE(d2.stop(SIGTERM));  // live restore off: b1 stops
  ASSERT_TRUE(d2.restart(true));
  docker_ok(2, {"start", "b1"});
  const std::string b1 = address(2, "b1", "green");
  const std::string b1_6 = address(2, "b1", "green", true);
  expect_reach(1, "a1", b1);
  ASSERT_EQ(endpoints(2).size(), 1u);
  const std::string endpoint = endpoints(2)[0].value("name", "");
  for (const int sig : {SIGKILL, SIGTERM}) {
    SCOPED_TRACE(sig == SIGKILL ? "SIGKILL" : "SIGTERM");
    ASSERT_TRUE(d2.stop(sig));
    // Give the agent's orphan check every chance to (wrongly) remove it.
    std::this_thread::sleep_for(milliseconds(kOrphanMs + 1000));
    ASSERT_EQ(endpoints(2).size(), 1u) << agent_ctl(2, {"endpoints"}).output;
    EXPECT_EQ(endpoints(2)[0].value("name", ""), endpoint);
    EXPECT_TRUE(ping_once(1, "a1", b1));
    ASSERT_TRUE(d2.restart(true));
    EXPECT_EQ(docker(2, {"inspect", "-f", "{{.State.Running}}", "b1"}).output, "true\n");
    EXPECT_EQ(endpoints(2).size(), 1u);
    expect_reach(2, "b1", a1);
    expect_reach(1, "a1", b1_6);
    phase(sig == SIGKILL ? "SIGKILL, live restore on" : "SIGTERM, live restore on");
  }

  // The agent restarted while dockerd runs: endpoints back from its state,
  // and Docker's next container goes through the new agent.
  EXPECT_EQ(agents_[2]->stop(), 0);
  agents_.erase(2);
  start_agent(2);
  ASSERT_EQ(endpoints(2).size(), 1u);
  EXPECT_EQ(endpoints(2)[0].value("name", ""), endpoint);
  expect_reach(1, "a1", b1);
  run(2, with({"--name", "b2"}));
  expect_reach(1, "a1", address(2, "b2", "green"));

  phase("agent restarted");
  // The data plane restarted while dockerd runs: the agent programs it again.
  EXPECT_EQ(stop_dataplane(2), 0);
  start_dataplane(2);
  expect_reach(1, "a1", b1);
  expect_reach(2, "b2", a1);

  phase("data plane restarted");
  // The Docker host wiped without a word (dockerd killed, then every
  // process of it: each container's sandbox goes, no Leave ever comes).
  ASSERT_TRUE(d2.stop(SIGKILL));
  ASSERT_TRUE(d2.down());
  EXPECT_TRUE(harness::wait_until([&] { return endpoints(2).empty(); }, seconds(kOrphanMs / 1000 + 15)))
      << agent_ctl(2, {"endpoints"}).output;
  EXPECT_TRUE(harness::wait_until([&] { return peer_count(1) == 0; }, seconds(10))) << agent_ctl(1, {"peers"}).output;
  EXPECT_EQ(reservations(2), std::vector<std::string>{});
  expect_nothing_left(2);
  docker_.erase(2);
  phase("Docker host wiped: endpoints removed by Ferry");

  docker_ok(1, {"rm", "-f", "a1"});
  docker_ok(1, {"network", "rm", "green"});
  expect_nothing_left(1);
  phase("h1 cleaned up");
}

TEST_F(DockerEngineTest, CliLifecycleRefusalsAndRestarts) {
  {
    SCOPED_TRACE("docker CLI: networks, containers, addresses, refusals");
    networks_containers_addresses_and_refusals();
  }
  if (HasFatalFailure()) return;
  SCOPED_TRACE("dockerd, agent and data-plane restarts");
  daemon_agent_and_data_plane_restarts();
}

}  // namespace
}  // namespace ferry::agenttest
