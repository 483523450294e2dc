// Integration fixture for ferry-agent: on top of the data-plane fixture
// (topology hosts, ferry-dataplane per host), a ferry-agent per host started
// inside the host's namespace with a shared cluster key, its own admin
// socket, state directory and (when `plugin_` is set) Docker plugin socket,
// plus helpers to drive `ferryctl` against it. Agents are stopped with
// SIGTERM in TearDown, which expects each to exit cleanly; their logs are
// printed when a test failed. Files live under /tmp/ferry-agent-test-PREFIX
// and are removed when the test passed.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/dataplane/app/dp_fixture.h"

#ifndef FERRY_AGENT_BIN
#error "FERRY_AGENT_BIN must name the ferry-agent executable"
#endif

namespace ferry::agenttest {

class AgentTest : public dptest::DataplaneTest {
 public:
  harness::TopologyConfig topology_config() const override;
  void SetUp() override;
  void TearDown() override;

  [[nodiscard]] std::string admin_socket(int host) const;
  // "" (plugin socket off) unless plugin_ is set.
  [[nodiscard]] std::string plugin_socket(int host) const;
  [[nodiscard]] std::string state_dir(int host) const;

  // Starts ferry-agent on `host`, gossiping on gossip_address(host) (the
  // VTEP address with a UDP uplink), joining through the hosts in `seeds`
  // (default: every other host), and waits until agent_ready(host).
  void start_agent(int host, std::vector<int> seeds = {});
  // SIGKILL (agent gone without a word), then forgets it.
  void kill_agent(int host);
  // The agent answers: `ferryctl status` succeeds on its admin socket.
  virtual bool agent_ready(int host);

  // `ferryctl ARGS --socket <host's admin socket>`.
  harness::CommandResult agent_ctl(int host, const std::vector<std::string>& args);
  // The same with --json, parsed; null when the command fails or the output
  // is not JSON.
  nlohmann::json agent_json(int host, const std::vector<std::string>& args);

  // One column of `ferryctl COMMAND`'s table on `host` (no --json), by its
  // header (upper case, e.g. "OWNER"): first column's cell -> that cell.
  // Empty when the command fails or has no such column.
  std::map<std::string, std::string> agent_table_column(int host, const std::string& command,
                                                        const std::string& header);

  // `ferryctl networks` on `host` lists `name` as active.
  bool has_network(int host, const std::string& name);
  // Remote entries `ferryctl peers` lists on `host`.
  std::size_t peer_count(int host);

  int hosts_ = 1;
  bool plugin_ = false;
  std::string base_;
  std::string state_suffix_;             // appended to state directories (fresh state per restart round)
  std::vector<std::string> agent_args_;  // more ferry-agent flags for the next start_agent()
  std::map<int, std::unique_ptr<dptest::Background>> agents_;
};

}  // namespace ferry::agenttest
