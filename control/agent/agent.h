// Agent: one host's ferry-agent. Owns the gossip node with its replicated
// tables, this host's durable state (networks it created, its endpoints),
// the reconciler that programs ferry-dataplane, and the admin API. All of it
// runs on one thread, in run()'s poll loop.
//
// Tables (gossip): global network "" table "networks" (NetworkRecord JSON,
// key = name, owner = the creating host); per cluster network, table
// "endpoints" (EndpointRecord, key = endpoint id, owner = the host). Every
// agent joins every active cluster network so it sees all endpoints.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "control/agent/admin_server.h"
#include "control/agent/config.h"
#include "control/agent/local_state.h"
#include "control/agent/metrics.h"
#include "control/agent/network.h"
#include "control/agent/reconciler.h"
#include "control/gossip/clock.h"
#include "control/gossip/endpoint_table.h"
#include "control/gossip/keyring.h"
#include "control/gossip/net_transport.h"
#include "control/gossip/node.h"
#include "control/gossip/table_db.h"

namespace ferry::agent {

class Agent {
 public:
  // Loads the state, binds the gossip and admin sockets, republishes what
  // this host owns and joins the seeds. Errors name what failed.
  static Result<std::unique_ptr<Agent>> create(Config config);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Runs until stop() (SIGTERM/SIGINT through `signal_fd`, if >= 0), then
  // leaves the cluster gracefully. Returns the exit code.
  int run(int signal_fd);
  void stop() { stop_.store(true); }

  // One admin request -> reply (also used by tests directly).
  nlohmann::json handle(const nlohmann::json& request);

  // The Prometheus text served on --metrics.
  std::string render_metrics() const;

 private:
  explicit Agent(Config config);
  void refresh();  // tables changed: networks joined/left, desired state recomputed
  NetworkView network_view() const;
  nlohmann::json net_create(const nlohmann::json& req);
  nlohmann::json net_rm(const nlohmann::json& req);
  nlohmann::json attach(const nlohmann::json& req);
  nlohmann::json detach(const nlohmann::json& req);
  nlohmann::json list_members() const;
  nlohmann::json list_networks() const;
  nlohmann::json list_endpoints() const;
  nlohmann::json list_peers() const;
  nlohmann::json status() const;
  Result<void> save_state();
  Result<void> publish_endpoint(const LocalEndpoint& ep);
  void watch_admin(int listen_fd);
  void watch_metrics(int listen_fd);

  Config config_;
  LocalState state_;
  gossip::Keyring keyring_;
  gossip::SteadyClock clock_;
  std::unique_ptr<gossip::NetTransport> transport_;
  std::unique_ptr<gossip::Node> node_;
  std::unique_ptr<gossip::TableDb> tables_;
  std::unique_ptr<gossip::EndpointTable> endpoints_;
  std::unique_ptr<ZmqDataplaneLink> link_;
  std::unique_ptr<Reconciler> reconciler_;
  std::unique_ptr<AdminServer> admin_;
  std::unique_ptr<MetricsServer> metrics_;
  gossip::TableStore::SubscriptionId subscription_ = 0;
  bool dirty_ = true;
  std::atomic<bool> stop_{false};
  gossip::TimePoint next_resync_{};
  gossip::TimePoint next_rejoin_{};
};

}  // namespace ferry::agent
