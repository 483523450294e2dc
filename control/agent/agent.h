// Agent: one host's ferry-agent. Owns the gossip node with its replicated
// tables, the distributed address allocator (control/ipam, sharing the Node
// through a DelegateMux), the EndpointService (networks, this host's
// endpoints and their durable state), the reconciler that programs
// ferry-dataplane, and the servers of its front ends: the admin API
// (admin_api.h), the Docker plugin (docker_backend.h) and the metrics. All
// of it runs on one thread, in its own EventLoop (event_loop.h) timed by an
// injected clock; the Docker plugin's thread hands its calls to that loop
// through a LoopExecutor. Every interval is a Config field.
//
// Tables (gossip): global network "" table "networks" (NetworkRecord JSON,
// key = name, owner = the last host that asserted it: its creator, or a host
// keeping it alive after the creator died); per cluster network, table
// "endpoints" (EndpointRecord, key = endpoint id, owner = the host). Every
// agent joins every active cluster network so it sees all endpoints.
#pragma once

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "control/agent/admin_server.h"
#include "control/agent/config.h"
#include "control/agent/dp_guard.h"
#include "control/agent/dp_probe.h"
#include "control/agent/dp_worker.h"
#include "control/agent/loop_executor.h"
#include "control/agent/metrics.h"
#include "control/agent/reconciler.h"
#include "control/agent/vtep_liveness.h"
#include "control/gossip/clock.h"
#include "control/gossip/endpoint_table.h"
#include "control/gossip/keyring.h"
#include "control/gossip/net_transport.h"
#include "control/gossip/node.h"
#include "control/gossip/table_db.h"
#include "control/ipam/allocator.h"
#include "control/ipam/delegate_mux.h"

namespace ferry::agent {

class AdminApi;
class CniApi;
class EventLoop;
class DockerPlugin;
class EndpointService;

class Agent {
 public:
  // Loads the state, binds the gossip and admin sockets, republishes what
  // this host owns and joins the seeds. Errors name what failed. Time comes
  // from `clock` (tests), or the steady clock when null.
  static Result<std::unique_ptr<Agent>> create(Config config, gossip::Clock* clock = nullptr);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Runs until stop() (SIGTERM/SIGINT through `signal_fd`, if >= 0), then
  // leaves the cluster gracefully. Returns the exit code.
  int run(int signal_fd);
  void stop() { stop_.store(true); }

  // One admin request -> reply (also used by tests directly). An attach that
  // waits for address space from another host answers through handle_async
  // only; handle() then says so in its error.
  nlohmann::json handle(const nlohmann::json& request);
  void handle_async(const nlohmann::json& request, const AdminServer::Respond& respond,
                    const std::shared_ptr<const PassedFds>& fds = nullptr);

  // The Prometheus text served on --metrics, without the data plane's
  // counters (scrape() adds them once the data plane answered).
  std::string render_metrics() const;
  // The data plane's counters as Prometheus text.
  static std::string dataplane_metrics(const dp_api::Stats& stats);

 private:
  Agent(Config config, gossip::Clock* clock);
  void start_timers();
  // After each loop turn: conflicts, networks to re-assert, the desired
  // state when the tables changed, data-plane replies.
  void after_turn();
  Result<void> start_plugin();
  void poll_health();
  // A metrics scrape: answered with render_metrics() plus the data plane's
  // counters when its stats call returns (non-blocking, poll_stats()), or
  // without them when it is down or does not answer in time.
  void scrape(const MetricsServer::Respond& respond);
  void poll_stats();
  // VTEP liveness: the data plane's vtep_status, read every --vtep-poll-ms.
  void poll_vteps();
  // On exit with no endpoint and no Docker reservation here: this host's
  // free address blocks go to the other hosts (--ipam-hand-over).
  void hand_over_space();
  Result<void> save_ipam(const std::string& snapshot);

  void refresh();  // tables changed: networks joined/left, desired state recomputed
  nlohmann::json list_ipam() const;
  nlohmann::json list_members() const;
  nlohmann::json list_peers() const;
  nlohmann::json status() const;
  // The latest Docker plugin calls (ferryctl plugin-calls).
  nlohmann::json list_plugin_calls(const nlohmann::json& request) const;
  void watch_admin(int listen_fd);
  void watch_metrics(int listen_fd);
  // A request to the data plane naming this agent (its owner lease).
  [[nodiscard]] dp_api::v1::Request dp_request(const dp_api::Command& command) const;

  Config config_;
  gossip::Keyring keyring_;
  gossip::SteadyClock steady_clock_;
  gossip::Clock& clock_;
  std::unique_ptr<EventLoop> loop_;
  std::vector<std::uint64_t> timers_;  // EventLoop::TimerId
  std::unique_ptr<gossip::NetTransport> transport_;
  std::unique_ptr<gossip::Node> node_;
  std::unique_ptr<gossip::TableDb> tables_;
  std::unique_ptr<gossip::EndpointTable> endpoints_;
  std::unique_ptr<ipam::Allocator> ipam_;
  std::unique_ptr<ipam::DelegateMux> mux_;
  std::unique_ptr<DataplaneWorker> reconciler_;  // data-plane calls on a thread of their own
  std::unique_ptr<EndpointService> service_;
  std::unique_ptr<AdminApi> admin_api_;
  std::unique_ptr<CniApi> cni_api_;
  std::unique_ptr<DataplaneGuard> dp_guard_;  // the restart hold and the drift audit
  std::unique_ptr<AdminServer> admin_;
  std::unique_ptr<MetricsServer> metrics_;
  std::unique_ptr<DpProbe> probe_;        // health, every --resync-ms
  std::unique_ptr<DpProbe> stats_probe_;  // stats, for the scrapes waiting in scrapes_
  std::unique_ptr<DpProbe> vtep_probe_;   // vtep_status, every --vtep-poll-ms
  std::unique_ptr<VtepLiveness> liveness_;
  struct Scrape {
    std::string body;
    MetricsServer::Respond respond;
  };
  std::vector<Scrape> scrapes_;
  std::unique_ptr<LoopExecutor> executor_;
  std::unique_ptr<DockerPlugin> docker_;
  gossip::TableStore::SubscriptionId subscription_ = 0;
  bool dirty_ = true;
  std::atomic<bool> stop_{false};
};

}  // namespace ferry::agent
