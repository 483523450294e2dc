// NodeRunner: one gossip node with replicated tables on real sockets, driven
// by a poll loop, with a line-oriented control channel. It is what the test
// program tests/control/gossip_node runs (built in the gossip_testing
// library; ferry-agent drives its own Node and does not link it).
//
// Control channel: one command per line in, one JSON object per line out.
//   put NET TABLE KEY VALUE        write an entry (NET "-" = global network)
//   bulk-put NET TABLE PREFIX N VALUE   N entries PREFIX0..PREFIX<N-1>
//   del NET TABLE KEY              delete an entry
//   join-net NET / leave-net NET   network membership
//   get NET TABLE KEY              {"value": ...} or {"value": null}
//   count [NET [TABLE]]            {"live": n, "stored": m}
//   dump [NET]                     {"entries": [{network, table, key, value, owner, lamport}]}
//   members                        {"members": [{name, address, state, incarnation}]}
//   stats                          counters of node, tables, transport, envelope
//   key-install B64 / key-use B64 / key-remove B64 / keys   key ring rotation
//   leave                          graceful leave, then exit
//   quit                           exit now
// Every reply has "ok": true, or "ok": false and "error": "...".
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "control/gossip/address.h"
#include "control/gossip/config.h"
#include "control/gossip/keyring.h"
#include "control/gossip/net_transport.h"
#include "control/gossip/table_db.h"

namespace ferry::gossip {

class Node;

struct RunnerOptions {
  std::string name;
  Address bind;
  std::vector<Address> seeds;
  std::string key_file;
  std::string log_level = "info";
  std::uint64_t seed = 0;             // 0: random
  std::vector<std::string> networks;  // joined at start
  Config gossip = Config::lan();
  TablesConfig tables;
  NetTransportConfig net;

  [[nodiscard]] Result<void> validate() const;
};

// Flags: --name N --bind IP:PORT [--seeds IP:PORT,...] --key-file PATH
//   [--join-net NET]... [--owner-grace-ms MS] [--network-sync-ms MS]
//   [--push-pull-ms MS] [--log-level L] [--seed S]
Result<RunnerOptions> parse_runner_args(std::span<char* const> args);
std::string runner_usage();

class NodeRunner {
 public:
  static Result<std::unique_ptr<NodeRunner>> create(RunnerOptions options);
  ~NodeRunner();

  // Runs until quit/leave, EOF on `control_fd`, or stop(). Replies go to
  // `reply_fd`. Returns the process exit code.
  int run(int control_fd, int reply_fd);
  // Async-signal-safe.
  void stop() { stop_.store(true); }

  // One control command -> one JSON line (without the newline).
  std::string execute(std::string_view line);

  [[nodiscard]] Node& node() { return *node_; }
  [[nodiscard]] TableDb& tables() { return *tables_; }

 private:
  explicit NodeRunner(RunnerOptions options);
  void step();

  RunnerOptions options_;
  Keyring keyring_;
  SteadyClock clock_;
  std::unique_ptr<NetTransport> transport_;
  std::unique_ptr<Node> node_;
  std::unique_ptr<TableDb> tables_;
  std::atomic<bool> stop_{false};
  bool leaving_ = false;
  TimePoint leave_deadline_{};
  int exit_code_ = 0;
};

}  // namespace ferry::gossip
