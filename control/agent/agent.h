// Agent: one host's ferry-agent. Owns the gossip node with its replicated
// tables, this host's durable state (networks it created, its endpoints),
// the reconciler that programs ferry-dataplane, the distributed address
// allocator (control/ipam, sharing the Node through a DelegateMux:
// agent_ipam.cc) and the admin API. All of it runs on one thread, in run()'s
// poll loop.
//
// Tables (gossip): global network "" table "networks" (NetworkRecord JSON,
// key = name, owner = the last host that asserted it: its creator, or a host
// keeping it alive after the creator died); per cluster network, table
// "endpoints" (EndpointRecord, key = endpoint id, owner = the host). Every
// agent joins every active cluster network so it sees all endpoints.
//
// The Docker plugin server (plugins/docker) runs on its own thread; its
// calls reach the docker_* / ipam_* members below through a LoopExecutor,
// so they too run on the loop thread (agent_docker.cc).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "control/agent/admin_server.h"
#include "control/agent/config.h"
#include "control/agent/dp_guard.h"
#include "control/agent/dp_probe.h"
#include "control/agent/local_state.h"
#include "control/agent/loop_executor.h"
#include "control/agent/metrics.h"
#include "control/agent/network.h"
#include "control/agent/reconciler.h"
#include "control/gossip/clock.h"
#include "control/gossip/endpoint_table.h"
#include "control/gossip/keyring.h"
#include "control/gossip/net_transport.h"
#include "control/gossip/node.h"
#include "control/gossip/table_db.h"
#include "control/ipam/allocator.h"
#include "control/ipam/delegate_mux.h"
#include "plugins/docker/call_log.h"
#include "plugins/docker/messages.h"
#include "plugins/http/unix_http_server.h"

namespace ferry::agent {

class DockerBackend;

// The IPAM pool of one family of a network: "NAME@DIGEST" (IPv4) or
// "NAME@DIGEST/6", the digest over the network's origin and subnet.
std::string pool_name(const NetworkEntry& entry, bool v6);
// The first host address of a subnet ("10.10.0.1", "fd00::1"): the gateway.
std::string first_host(std::string_view subnet);

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

  // One admin request -> reply (also used by tests directly). An attach that
  // waits for address space from another host answers through handle_async
  // only; handle() then says so in its error.
  nlohmann::json handle(const nlohmann::json& request);
  void handle_async(const nlohmann::json& request, const AdminServer::Respond& respond);

  // The Prometheus text served on --metrics, without the data plane's
  // counters (scrape() adds them once the data plane answered).
  std::string render_metrics() const;
  // The data plane's counters as Prometheus text.
  static std::string dataplane_metrics(const dp_api::Stats& stats);

 private:
  friend class DockerBackend;
  explicit Agent(Config config);
  Result<void> start_plugin();
  void on_table_change(const gossip::Change& change);
  void reassert_networks();
  void poll_health();
  // A metrics scrape: answered with render_metrics() plus the data plane's
  // counters when its stats call returns (non-blocking, poll_stats()), or
  // without them when it is down or does not answer in time.
  void scrape(const MetricsServer::Respond& respond);
  void poll_stats();
  // On exit with no endpoint and no Docker reservation here: this host's
  // free address blocks go to the other hosts (--ipam-hand-over).
  void hand_over_space();
  // Keeps `name` in this host's durable set of networks (state_.networks)
  // from the current view; false when it is not an active network.
  bool hold_network(const std::string& name);
  // Addresses (control/ipam, agent_ipam.cc): every active network's subnet
  // (and subnet6) is a pool (pool_name), its creator the genesis owner.
  // Addresses are canonical text. `done` runs on the loop thread, now or
  // after a donation from another host.
  using AddressDone = std::function<void(Result<std::string>)>;
  void allocate_address(const std::string& network, bool v6, const std::string& handle,
                        std::optional<std::string> requested, AddressDone done);
  void release_address(const std::string& network, const std::string& address);
  // The pool of `network` that holds the allocation `address` ("" if none).
  std::string pool_of(const std::string& network, const std::string& address) const;
  void ensure_pools(const NetworkView& view);
  // After a restore: frees allocations no endpoint or Docker reservation uses
  // (a crash between the allocator's write and the state's).
  void release_orphans();
  void check_conflicts();
  Result<void> save_ipam(const std::string& snapshot);
  // Addresses (canonical text) inside `subnet` that endpoints of `network`
  // show, local or gossiped. Another network with the same subnet is another
  // address space: its endpoints do not count.
  std::set<std::string> used_addresses(const std::string& network, const std::string& subnet) const;
  // The endpoint in `network` (this host's or one gossip knows) that uses
  // `mac`, as "endpoint ID (host)"; nullopt when the MAC is free there.
  std::optional<std::string> mac_owner(const std::string& network, const MacAddress& mac) const;
  // A local-space Docker pool in use on this host whose subnet overlaps
  // `subnet` without being it ("" when none).
  std::string overlapping_pool(const std::string& subnet) const;
  LocalEndpoint* find_endpoint(const std::string& docker_network, const std::string& endpoint_id);
  Result<void> unwire(LocalEndpoint& ep);  // withdraw, leave the data plane, delete the veth

  // Docker NetworkDriver / IpamDriver (agent_docker.cc), loop thread only.
  Result<void> docker_create_network(const plugins::docker::CreateNetworkRequest& req);
  Result<void> docker_delete_network(const plugins::docker::NetworkRef& req);
  Result<plugins::docker::EndpointInterface> docker_create_endpoint(const plugins::docker::CreateEndpointRequest& req);
  Result<void> docker_delete_endpoint(const plugins::docker::EndpointRef& req);
  Result<plugins::docker::EndpointOperInfoReply> docker_oper_info(const plugins::docker::EndpointRef& req);
  Result<plugins::docker::JoinReply> docker_join(const plugins::docker::JoinRequest& req);
  Result<void> docker_leave(const plugins::docker::EndpointRef& req);
  Result<plugins::docker::RequestPoolReply> ipam_request_pool(const plugins::docker::RequestPoolRequest& req);
  Result<void> ipam_release_pool(const plugins::docker::PoolRef& req);
  void ipam_request_address(const plugins::docker::RequestAddressRequest& req,
                            const std::function<void(Result<plugins::docker::RequestAddressReply>)>& done);
  Result<void> ipam_release_address(const plugins::docker::ReleaseAddressRequest& req);
  // Docker reservations (IpamPool::unclaimed): `address` is used now (an
  // endpoint, an aux address); expire_unclaimed() releases those unused for
  // --docker-claim-ms.
  void claim(const std::string& address);
  void expire_unclaimed();
  // `address` (canonical, no length) back to the allocator of the pool for
  // `subnet`, if it holds it.
  void free_in_allocator(const std::string& subnet, const std::string& address);
  // Docker endpoints out of any container for --docker-orphan-ms (no Leave
  // came): withdrawn, forgotten, addresses released (agent_docker.cc).
  void reap_vanished_endpoints();
  static std::int64_t wall_ms();

  void refresh();  // tables changed: networks joined/left, desired state recomputed
  NetworkView network_view() const;
  nlohmann::json net_create(const nlohmann::json& req);
  nlohmann::json net_rm(const nlohmann::json& req);
  void attach(const nlohmann::json& req, const AdminServer::Respond& respond);
  nlohmann::json attach_with(const nlohmann::json& req, const std::string& id, const std::string& ip,
                             const std::string& ip6);
  nlohmann::json list_ipam() const;
  // MTU for a new endpoint: --endpoint-mtu, else the data plane's.
  unsigned endpoint_mtu() const;
  // Whether the veths made now keep the kernel's default offloads: the data
  // plane's endpoint port type decides (dp_api::container_keeps_offloads);
  // off while it has never answered.
  bool container_offloads() const;
  nlohmann::json detach(const nlohmann::json& req);
  nlohmann::json list_members() const;
  nlohmann::json list_networks() const;
  nlohmann::json list_endpoints() const;
  nlohmann::json list_peers() const;
  nlohmann::json status() const;
  nlohmann::json list_plugin_calls(const nlohmann::json& req) const;
  Result<void> save_state();
  Result<void> publish_endpoint(const LocalEndpoint& ep);
  void watch_admin(int listen_fd);
  void watch_metrics(int listen_fd);
  // A request to the data plane naming this agent (its owner lease).
  [[nodiscard]] dp_api::v1::Request dp_request(const dp_api::Command& command) const;

  Config config_;
  LocalState state_;
  gossip::Keyring keyring_;
  gossip::SteadyClock clock_;
  std::unique_ptr<gossip::NetTransport> transport_;
  std::unique_ptr<gossip::Node> node_;
  std::unique_ptr<gossip::TableDb> tables_;
  std::unique_ptr<gossip::EndpointTable> endpoints_;
  std::unique_ptr<ipam::Allocator> ipam_;
  std::unique_ptr<ipam::DelegateMux> mux_;
  std::size_t conflicts_seen_ = 0;
  std::unique_ptr<ZmqDataplaneLink> link_;
  std::unique_ptr<Reconciler> reconciler_;
  std::unique_ptr<DataplaneGuard> dp_guard_;  // the restart hold and the drift audit
  std::unique_ptr<AdminServer> admin_;
  std::unique_ptr<MetricsServer> metrics_;
  std::unique_ptr<DpProbe> probe_;        // health, every --resync-ms
  std::unique_ptr<DpProbe> stats_probe_;  // stats, for the scrapes waiting in scrapes_
  struct Scrape {
    std::string body;
    MetricsServer::Respond respond;
  };
  std::vector<Scrape> scrapes_;
  std::unique_ptr<LoopExecutor> executor_;
  std::unique_ptr<DockerBackend> docker_;
  // Joined Docker endpoints seen out of any container, since when; and those
  // seen in their container since this agent started.
  std::map<std::string, std::chrono::steady_clock::time_point> orphans_;
  std::set<std::string> seen_in_container_;
  plugins::docker::CallLog plugin_calls_;  // the latest Docker calls (ferryctl plugin-calls)
  std::unique_ptr<plugins::UnixHttpServer> plugin_server_;
  std::set<std::string> reassert_;  // held networks whose record was purged (dead host) or removed
  gossip::TableStore::SubscriptionId subscription_ = 0;
  bool dirty_ = true;
  std::atomic<bool> stop_{false};
  gossip::TimePoint next_resync_{};
  gossip::TimePoint next_rejoin_{};
};

}  // namespace ferry::agent
