#include "tests/agent/agent_fixture.h"

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace ferry::agenttest {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

harness::TopologyConfig AgentTest::topology_config() const {
  harness::TopologyConfig c = DataplaneTest::topology_config();
  c.hosts = hosts_;
  return c;
}

void AgentTest::SetUp() {
  dptest::DataplaneTest::SetUp();
  if (HasFatalFailure()) return;
  base_ = fmt::format("/tmp/ferry-agent-test-{}", topo_->prefix());
  std::filesystem::create_directories(base_);
  // A fixed test key (base64 of 32 bytes); the real thing comes from Keyring::generate.
  const std::string key = fmt::format("{}/cluster.key", base_);
  std::ofstream(key) << "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n";
  std::filesystem::permissions(key, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

void AgentTest::TearDown() {
  for (auto& [host, agent] : agents_) {
    const int rc = agent->stop();
    EXPECT_EQ(rc, 0) << "ferry-agent on host " << host << " did not exit cleanly";
    if (HasFailure()) std::cerr << "---- ferry-agent host " << host << " log ----\n" << agent->log() << "\n";
  }
  agents_.clear();
  dptest::DataplaneTest::TearDown();
  if (!HasFailure() && !base_.empty()) std::filesystem::remove_all(base_);
}

std::string AgentTest::admin_socket(int host) const { return fmt::format("{}/h{}-admin.sock", base_, host); }

std::string AgentTest::plugin_socket(int host) const {
  return plugin_ ? fmt::format("{}/h{}-plugin.sock", base_, host) : "";
}

std::string AgentTest::state_dir(int host) const { return fmt::format("{}/state-h{}{}", base_, host, state_suffix_); }

void AgentTest::start_agent(int host, std::vector<int> seeds) {
  if (seeds.empty()) {
    for (int h = 1; h <= hosts_; ++h) seeds.push_back(h);
  }
  std::string seed_list;
  for (int h : seeds) {
    if (h == host) continue;
    if (!seed_list.empty()) seed_list += ',';
    seed_list += fmt::format("{}:7946", gossip_address(h));
  }
  // With a UDP uplink the agent gossips on the VTEP address, which the
  // kernel owns whether or not a data plane runs.
  if (dataplane_mode().udp_uplink) {
    ASSERT_NO_FATAL_FAILURE(own_vtep_address(host));
  }
  std::vector<std::string> argv{"ip",
                                "netns",
                                "exec",
                                topo_->host(host),
                                FERRY_AGENT_BIN,
                                "--name",
                                fmt::format("h{}", host),
                                "--advertise",
                                vtep_ip(host),
                                "--gossip-bind",
                                fmt::format("{}:7946", gossip_address(host)),
                                "--key-file",
                                fmt::format("{}/cluster.key", base_),
                                "--dataplane-api",
                                api(host),
                                "--admin-socket",
                                admin_socket(host),
                                "--plugin-socket",
                                plugin_socket(host),
                                "--state-dir",
                                state_dir(host),
                                "--resync-ms",
                                "200",
                                "--owner-grace-ms",
                                "2000",
                                "--push-pull-ms",
                                "2000",
                                "--log-level",
                                "debug"};
  if (!seed_list.empty()) {
    argv.emplace_back("--seeds");
    argv.push_back(seed_list);
  }
  argv.insert(argv.end(), agent_args_.begin(), agent_args_.end());
  auto bg = dptest::Background::start(argv, fmt::format("{}/agent-h{}.log", base_, host));
  ASSERT_TRUE(bg) << bg.error().message;
  auto* proc = bg->get();
  agents_[host] = std::move(*bg);
  const bool up =
      harness::wait_until([&] { return !proc->running() || agent_ready(host); }, seconds(15), milliseconds(20));
  ASSERT_TRUE(up && proc->running()) << "ferry-agent on host " << host << " did not come up:\n" << proc->log();
}

void AgentTest::kill_agent(int host) {
  ::kill(-agents_[host]->pid(), SIGKILL);
  agents_[host]->stop();
  agents_.erase(host);
}

bool AgentTest::agent_ready(int host) { return agent_ctl(host, {"status"}).succeeded(); }

harness::CommandResult AgentTest::agent_ctl(int host, const std::vector<std::string>& args) {
  std::vector<std::string> argv{FERRY_CTL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--socket", admin_socket(host)});
  auto r = harness::run_command(argv, seconds(20));
  if (!r) return harness::CommandResult{-1, false, r.error().message};
  return *r;
}

json AgentTest::agent_json(int host, const std::vector<std::string>& args) {
  std::vector<std::string> a(args);
  a.emplace_back("--json");
  auto r = agent_ctl(host, a);
  if (!r.succeeded()) return json();
  auto j = json::parse(r.output, nullptr, false);
  return j.is_discarded() ? json() : j;
}

std::map<std::string, std::string> AgentTest::agent_table_column(int host, const std::string& command,
                                                                 const std::string& header) {
  std::map<std::string, std::string> out;
  const auto r = agent_ctl(host, {command});
  if (!r.succeeded()) return out;
  // Cells hold no blanks (an empty one prints as "-"): split on whitespace.
  std::istringstream lines(r.output);
  std::string line;
  std::optional<std::size_t> column;
  while (std::getline(lines, line)) {
    std::istringstream split(line);
    std::vector<std::string> cells;
    for (std::string c; split >> c;) cells.push_back(c);
    if (cells.empty()) continue;
    if (!column) {
      const auto at = std::find(cells.begin(), cells.end(), header);
      if (at == cells.end()) return out;
      column = static_cast<std::size_t>(at - cells.begin());
      continue;
    }
    if (*column < cells.size()) out[cells.front()] = cells[*column];
  }
  return out;
}

bool AgentTest::has_network(int host, const std::string& name) {
  const json nets = agent_json(host, {"networks"});
  if (!nets.is_array()) return false;
  for (const auto& n : nets) {
    if (n.value("name", "") == name && n.value("state", "") == "active") return true;
  }
  return false;
}

std::size_t AgentTest::peer_count(int host) {
  const json peers = agent_json(host, {"peers"});
  return peers.is_array() ? peers.size() : 0;
}

}  // namespace ferry::agenttest
