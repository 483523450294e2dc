// Integration (root): Ferry under real Podman (Debian's podman 4.3 with its
// CNI backend; its libcni speaks spec <= 1.0.0, so the conflist says 1.0.0).
// Two namespace hosts, each with ferry-dataplane, ferry-agent and a Podman
// of its own: storage, run root, temp dir and network configuration in the
// test's directory (removed afterwards), the plugin directory the build's
// (the CNI plugin `ferry`), run in the host's network namespace. The
// conflist names the Ferry network and its subnet, so the first ADD creates
// it. Containers on both hosts ping each other across hosts; `podman rm`
// leaves nothing in Ferry: endpoints, allocations, veths, data-plane ports.
// Skips without podman.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "tests/agent/agent_fixture.h"

#ifndef FERRY_CNI_BIN
#error "FERRY_CNI_BIN must name the CNI plugin executable"
#endif
#ifndef FERRY_DOCKERD_SH
#error "FERRY_DOCKERD_SH must name tests/harness/dockerd.sh (it makes the busybox image)"
#endif

namespace ferry::agenttest {
namespace {

using harness::CommandResult;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kPodman = "/usr/bin/podman";
constexpr const char* kNet = "ferrynet";

class PodmanTest : public AgentTest {
 protected:
  PodmanTest() { hosts_ = 2; }

  void SetUp() override {
    if (!std::filesystem::exists(kPodman)) GTEST_SKIP() << "podman is not installed (apt-get install podman)";
    AgentTest::SetUp();
    if (HasFatalFailure()) return;
    for (int h = 1; h <= hosts_; ++h) ASSERT_NO_FATAL_FAILURE(start_dataplane(h));
    for (int h = 1; h <= hosts_; ++h) ASSERT_NO_FATAL_FAILURE(start_agent(h));
    ASSERT_TRUE(harness::wait_until([&] { return agent_json(1, {"members"}).size() == 2; }, seconds(20)));
    auto image = harness::run_command({FERRY_DOCKERD_SH, "image"}, seconds(60));
    ASSERT_TRUE(image && image->succeeded()) << (image ? image->output : image.error().message);
    const std::string tar = image->output.substr(0, image->output.find('\n'));
    for (int h = 1; h <= hosts_; ++h) {
      const std::string dir = podman_dir(h);
      for (const char* sub : {"root", "runroot", "tmp", "net"}) std::filesystem::create_directories(dir + "/" + sub);
      std::ofstream(dir + "/containers.conf") << fmt::format(
          "[engine]\nevents_logger = \"file\"\ncgroup_manager = \"cgroupfs\"\n"
          "[network]\nnetwork_backend = \"cni\"\ncni_plugin_dirs = [\"{}\"]\n",
          std::filesystem::path(FERRY_CNI_BIN).parent_path().string());
      const json conflist{
          {"cniVersion", "1.0.0"},
          {"name", kNet},
          {"plugins",
           {{{"type", "ferry"}, {"network", "pods"}, {"subnet", "10.33.0.0/24"}, {"socket", admin_socket(h)}}}}};
      std::ofstream(dir + "/net/" + kNet + ".conflist") << conflist.dump(2);
      const CommandResult r = podman(h, {"import", tar, "bb:local"});
      ASSERT_TRUE(r.succeeded()) << r.output;
    }
  }

  void TearDown() override {
    // Containers go while the agents still answer (DEL), then storage.
    for (int h = 1; h <= hosts_ && std::filesystem::exists(podman_dir(h)); ++h) {
      podman(h, {"rm", "-a", "-f", "-t", "0"});
      podman(h, {"system", "reset", "-f"});
      std::filesystem::remove_all(podman_dir(h));
    }
    AgentTest::TearDown();
  }

  std::string podman_dir(int h) const { return fmt::format("{}/podman-h{}", base_, h); }

  CommandResult podman(int h, const std::vector<std::string>& args, seconds timeout = seconds(60)) {
    const std::string dir = podman_dir(h);
    std::vector<std::string> argv{"env",
                                  "CONTAINERS_CONF=" + dir + "/containers.conf",
                                  "nsenter",
                                  "--net=" + harness::netns_path(topo_->host(h)),
                                  kPodman,
                                  "--root",
                                  dir + "/root",
                                  "--runroot",
                                  dir + "/runroot",
                                  "--tmpdir",
                                  dir + "/tmp",
                                  "--storage-driver",
                                  "vfs",
                                  "--network-backend",
                                  "cni",
                                  "--network-config-dir",
                                  dir + "/net",
                                  "--cni-config-dir",
                                  dir + "/net",
                                  "--cgroup-manager",
                                  "cgroupfs",
                                  "--events-backend",
                                  "file"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = harness::run_command(argv, timeout);
    if (!r) return CommandResult{-1, false, r.error().message};
    return *r;
  }

  void run_container(int h, const std::string& name) {
    const CommandResult r = podman(h, {"run", "-d", "--name", name, "--ulimit", "nofile=1024:1024", "--ulimit",
                                       "nproc=1024:1024", "--network", kNet, "bb:local", "sleep", "600"});
    ASSERT_TRUE(r.succeeded()) << "h" << h << ": podman run " << name << ":\n" << r.output;
  }

  std::string address(int h, const std::string& name) {
    const CommandResult r =
        podman(h, {"inspect", "-f", fmt::format("{{{{.NetworkSettings.Networks.{}.IPAddress}}}}", kNet), name});
    std::string out = r.output;
    out.erase(out.find_last_not_of(" \n") + 1);
    return out;
  }

  std::size_t endpoint_count(int h) { return agent_json(h, {"endpoints"}).size(); }
  std::size_t veth_count(int h) {
    auto r = topo_->exec(topo_->host(h), {"ip", "-o", "link", "show"});
    std::size_t n = 0;
    for (std::size_t p = r->output.find(": fy"); p != std::string::npos; p = r->output.find(": fy", p + 1)) ++n;
    return n;
  }
  std::size_t endpoint_ports(int h) {
    std::size_t n = 0;
    for (const auto& p : ctl_json(h, {"show"}).value("ports", json::array())) {
      n += p.value("iface", "").starts_with("fy") ? 1 : 0;
    }
    return n;
  }
  bool allocates_nothing(int h) {
    const json ipam = agent_json(h, {"ipam"});
    if (!ipam.is_object()) return false;
    for (const auto& p : ipam.value("pools", json::array())) {
      if (p.value("allocated", 0) != 0) return false;
    }
    return true;
  }
};

TEST_F(PodmanTest, ContainersOnTwoHostsPingAndRmLeavesNothing) {
  // h1 first: its ADD creates the network; h2 learns it by gossip.
  ASSERT_NO_FATAL_FAILURE(run_container(1, "pa"));
  ASSERT_TRUE(harness::wait_until([&] { return has_network(2, "pods"); }, seconds(10)));
  std::vector<std::thread> runs;
  runs.emplace_back([&] { run_container(1, "pb"); });
  runs.emplace_back([&] { run_container(2, "qa"); });
  for (auto& t : runs) t.join();
  ASSERT_FALSE(HasFailure());
  const std::map<std::string, int> where{{"pa", 1}, {"pb", 1}, {"qa", 2}};
  std::map<std::string, std::string> ips;
  for (const auto& [name, h] : where) {
    ips[name] = address(h, name);
    EXPECT_EQ(ips[name].rfind("10.33.0.", 0), 0U) << name << ": " << ips[name];
  }
  EXPECT_EQ(endpoint_count(1), 2U) << agent_ctl(1, {"endpoints"}).output;
  EXPECT_EQ(endpoint_count(2), 1U) << agent_ctl(2, {"endpoints"}).output;
  // Across hosts both ways, and on one host.
  for (const auto& [from, to] :
       std::vector<std::pair<std::string, std::string>>{{"pa", "qa"}, {"qa", "pb"}, {"pb", "pa"}}) {
    const CommandResult r = podman(where.at(from), {"exec", from, "ping", "-c", "1", "-W", "5", ips.at(to)});
    EXPECT_TRUE(r.succeeded()) << from << " -> " << to << " (" << ips.at(to) << "):\n" << r.output;
  }
  // podman rm: DEL for each; nothing of them is left in Ferry.
  for (const auto& [name, h] : where) {
    const CommandResult r = podman(h, {"rm", "-f", "-t", "0", name});
    EXPECT_TRUE(r.succeeded()) << r.output;
  }
  for (int h = 1; h <= hosts_; ++h) {
    EXPECT_EQ(endpoint_count(h), 0U) << agent_ctl(h, {"endpoints"}).output;
    EXPECT_TRUE(harness::wait_until([&] { return allocates_nothing(h); }, seconds(10)))
        << agent_ctl(h, {"ipam"}).output;
    EXPECT_EQ(veth_count(h), 0U) << "h" << h;
    EXPECT_TRUE(harness::wait_until([&] { return endpoint_ports(h) == 0; }, seconds(10)))
        << "h" << h << ": " << ctl(h, {"show"}).output;
  }
}

}  // namespace
}  // namespace ferry::agenttest
