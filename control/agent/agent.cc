#include "control/agent/agent.h"

#include <sodium.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "control/agent/admin_api.h"
#include "control/agent/cni_api.h"
#include "control/agent/docker_backend.h"
#include "control/agent/endpoint_service.h"
#include "control/agent/event_loop.h"
#include "control/agent/state_file.h"
#include "control/gossip/counters.h"
#include "control/gossip/envelope.h"

namespace ferry::agent {

using nlohmann::json;

namespace {

json error_reply(const std::string& message) { return json{{"ok", false}, {"error", message}}; }

}  // namespace

Agent::Agent(Config config, gossip::Clock* clock)
    : config_(std::move(config)),
      clock_(clock != nullptr ? *clock : steady_clock_),
      loop_(std::make_unique<EventLoop>(clock_)) {}

Agent::~Agent() {
  // The plugin thread may wait on the loop: release it, then stop it, before
  // anything it calls goes away.
  if (executor_) executor_->close();
  docker_.reset();
  admin_api_.reset();
  cni_api_.reset();
  service_.reset();
  if (tables_ && subscription_ != 0) tables_->unsubscribe(subscription_);
  if (node_) node_->set_delegate(nullptr);
  endpoints_.reset();
  tables_.reset();
  node_.reset();
  mux_.reset();
  ipam_.reset();
}

Result<std::unique_ptr<Agent>> Agent::create(Config config, gossip::Clock* clock) {
  if (auto v = config.validate(); !v) return v.error();
  std::unique_ptr<Agent> a(new Agent(std::move(config), clock));
  const Config& c = a->config_;
  if (auto r = ensure_dir(c.state_dir); !r) return r.error().wrap("--state-dir");
  auto state = LocalState::load(c.state_dir);
  if (!state) return state.error().wrap("--state-dir");

  auto ring = gossip::Keyring::load(c.key_file);
  if (!ring) return ring.error().wrap("--key-file");
  a->keyring_ = std::move(*ring);
  gossip::Config gcfg = gossip::Config::lan();
  gcfg.push_pull_interval = c.push_pull;
  if (auto v = gcfg.validate(); !v) return v.error();
  gossip::TablesConfig tcfg;
  tcfg.owner_grace = c.owner_grace;
  tcfg.network_sync_interval = c.network_sync_interval;
  gossip::NetTransportConfig ncfg;
  ncfg.bind = c.bind_address;
  ncfg.stream_timeout = gcfg.stream_timeout;
  ncfg.envelope.max_frame_size =
      std::max(ncfg.envelope.max_frame_size, gcfg.max_stream_size + gossip::kEnvelopeOverhead);
  std::uint64_t seed = 0;
  randombytes_buf(&seed, sizeof seed);
  auto transport = gossip::NetTransport::open(ncfg, a->keyring_, a->clock_, seed);
  if (!transport) return transport.error().wrap("--gossip-bind");
  a->transport_ = std::move(*transport);
  a->node_ = std::make_unique<gossip::Node>(gcfg, c.node_name, a->clock_, *a->transport_, seed);
  a->tables_ = std::make_unique<gossip::TableDb>(tcfg, *a->node_, a->clock_, gossip::mix_seed(seed));
  // The IPAM shares the Node with the tables (DelegateMux): restored before
  // any traffic, persisted (ipam.state) before any answer.
  ipam::Config icfg;
  icfg.allocate_timeout = c.ipam_timeout;
  icfg.reclaim_after = c.ipam_reclaim;
  icfg.fence_after = c.ipam_fence;
  if (auto v = icfg.validate(); !v) return v.error().wrap("IPAM settings");
  a->ipam_ = std::make_unique<ipam::Allocator>(icfg, *a->node_, a->clock_, gossip::mix_seed(seed + 1));
  auto saved_ipam = read_file(c.state_dir + "/ipam.state");
  if (!saved_ipam) return saved_ipam.error().wrap("--state-dir");
  if (*saved_ipam) {
    if (auto r = a->ipam_->restore(**saved_ipam); !r) return r.error().wrap(c.state_dir + "/ipam.state");
  }
  Agent* self_ptr = a.get();
  a->tables_->set_keep_owner(
      [self_ptr](const std::string& owner) { return self_ptr->liveness_->keep(owner, self_ptr->clock_.now()); });
  a->ipam_->set_hold_reclaim([self_ptr](const std::string& owner) {
    return self_ptr->liveness_->hold_reclaim(owner, self_ptr->clock_.now());
  });
  a->ipam_->set_persist([self_ptr](const std::string& snap) { return self_ptr->save_ipam(snap); });
  a->endpoints_ = std::make_unique<gossip::EndpointTable>(*a->tables_);
  a->mux_ = std::make_unique<ipam::DelegateMux>(*a->tables_, *a->ipam_);
  a->node_->set_delegate(a->mux_.get());
  auto worker = DataplaneWorker::create(
      std::make_unique<ZmqDataplaneLink>(c.dataplane_api, c.dataplane_timeout, "ferry-agent " + c.node_name));
  if (!worker) return worker.error();
  a->reconciler_ = std::move(*worker);
  // Keep the data plane's entries until gossip has told us what is current.
  a->dp_guard_ = std::make_unique<DataplaneGuard>(*a->reconciler_, c.dataplane_hold, c.audit_interval, a->clock_.now());
  a->probe_ = std::make_unique<DpProbe>(c.dataplane_api, c.dataplane_timeout);
  a->stats_probe_ = std::make_unique<DpProbe>(c.dataplane_api, c.dataplane_timeout);
  a->vtep_probe_ = std::make_unique<DpProbe>(c.dataplane_api, c.dataplane_timeout);
  // A dead host whose data plane still answers keeps its endpoints here, and
  // its addresses (docs/reliability.md, "VTEP liveness").
  VtepLivenessConfig lcfg;
  lcfg.alive_intervals = c.vtep_alive_intervals;
  lcfg.keep_max = c.vtep_keep.count() >= 0     ? c.vtep_keep
                  : c.ipam_reclaim.count() > 0 ? c.ipam_reclaim
                                               : std::chrono::milliseconds(30 * 60 * 1000);
  a->liveness_ = std::make_unique<VtepLiveness>(lcfg);
  Agent* self = a.get();
  a->service_ =
      std::make_unique<EndpointService>(a->config_, StateStore(c.state_dir, std::move(*state)), *a->tables_,
                                        *a->endpoints_, *a->ipam_, *a->reconciler_, [self] { self->refresh(); });
  a->admin_api_ = std::make_unique<AdminApi>(*a->service_);
  a->cni_api_ = std::make_unique<CniApi>(*a->service_, *a->reconciler_);
  a->transport_->set_handler(a->node_.get());
  gossip::NetTransport* net = a->transport_.get();
  gossip::Node* node = a->node_.get();
  a->loop_->add_source({[net](std::vector<pollfd>& fds) { net->collect(fds); },
                        [net](std::span<const pollfd> fds) { net->dispatch(fds); },
                        [net] { return net->next_deadline(); }});
  a->loop_->add_source({[](std::vector<pollfd>& /*fds*/) {},
                        [node, clock = &a->clock_](std::span<const pollfd> /*fds*/) {
                          if (clock->now() >= node->next_deadline()) node->tick();
                        },
                        [node] { return node->next_deadline(); }});
  a->node_->start();
  a->subscription_ = a->tables_->subscribe(gossip::TableFilter{}, [self](const gossip::Change& ch) {
    self->dirty_ = true;
    self->service_->on_table_change(ch);
  });
  if (auto r = a->service_->restore(); !r) return r.error();

  a->admin_ = std::make_unique<AdminServer>(
      c.admin_socket,
      AdminServer::FdHandler([self](const json& req, const std::shared_ptr<const PassedFds>& fds,
                                    const AdminServer::Respond& respond) { self->handle_async(req, respond, fds); }),
      c.client_idle_timeout, c.client_reply_timeout);
  auto admin_fd = a->admin_->open();
  if (!admin_fd) return admin_fd.error().wrap("--admin-socket");
  a->watch_admin(*admin_fd);
  // What the data-plane worker finished: its status and applied entries.
  a->loop_->watch(a->reconciler_->fd(), [self] { self->reconciler_->collect(); });
  a->metrics_ = std::make_unique<MetricsServer>(
      c.metrics_bind, [self](const MetricsServer::Respond& respond) { self->scrape(respond); }, c.client_idle_timeout,
      c.client_reply_timeout);
  auto metrics_fd = a->metrics_->open();
  if (!metrics_fd) return metrics_fd.error().wrap("--metrics");
  a->watch_metrics(*metrics_fd);
  if (auto r = a->start_plugin(); !r) return r.error().wrap("--plugin-socket");

  if (!c.seed_addresses.empty()) a->node_->join(c.seed_addresses);
  a->start_timers();
  spdlog::info("agent {} up: gossip {}, VTEP {}, data plane {}, admin {}, Docker plugin {}", c.node_name, c.gossip_bind,
               c.advertise_address, c.dataplane_api, c.admin_socket,
               c.plugin_socket.empty() ? std::string("off") : c.plugin_socket);
  return a;
}

Result<void> Agent::start_plugin() {
  auto exec = LoopExecutor::create();
  if (!exec) return exec.error();
  executor_ = std::move(*exec);
  loop_->watch(executor_->fd(), [this] { executor_->run_pending(); });
  if (config_.plugin_socket.empty()) return ok();
  auto plugin = DockerPlugin::start(config_.plugin_socket, *service_, *executor_, config_.plugin_timeout);
  if (!plugin) return plugin.error();
  docker_ = std::move(*plugin);
  return ok();
}

Result<void> Agent::save_ipam(const std::string& snapshot) {
  return write_file_atomic(config_.state_dir + "/ipam.state", snapshot);
}

dp_api::v1::Request Agent::dp_request(const dp_api::Command& command) const {
  auto request = dp_api::encode_request(command);
  dp_api::set_meta(request, dp_api::RequestMeta{"ferry-agent " + config_.node_name, false});
  return request;
}

void Agent::poll_health() {
  if (!probe_->in_flight()) return;
  auto reply = probe_->poll(clock_.now());
  if (!reply) return;
  reconciler_->on_health(*reply);
  service_->publish_mtu();
}

void Agent::scrape(const MetricsServer::Respond& respond) {
  std::string body = render_metrics();
  if (!reconciler_->status().dataplane_up) return respond(body);
  scrapes_.push_back({std::move(body), respond});
  if (!stats_probe_->in_flight()) {
    stats_probe_->start(dp_request(dp_api::StatsCmd{}), clock_.now());
  }
}

void Agent::poll_stats() {
  if (!stats_probe_->in_flight()) return;
  auto reply = stats_probe_->poll(clock_.now());
  if (!reply) return;
  std::string dp;
  Result<dp_api::Reply> stats = *reply ? dp_api::parse_reply(**reply) : Result<dp_api::Reply>(reply->error());
  if (stats && stats->ok() && stats->get<dp_api::Stats>() != nullptr) {
    dp = dataplane_metrics(*stats->get<dp_api::Stats>());
  } else {
    spdlog::debug("metrics: data-plane stats: {}", stats ? stats->message : stats.error().message);
  }
  std::vector<Scrape> waiting;
  waiting.swap(scrapes_);
  for (auto& s : waiting) s.respond(s.body + dp);
}

void Agent::poll_vteps() {
  if (!vtep_probe_->in_flight()) return;
  auto reply = vtep_probe_->poll(clock_.now());
  if (!reply) return;
  Result<dp_api::Reply> status = *reply ? dp_api::parse_reply(**reply) : Result<dp_api::Reply>(reply->error());
  if (status && status->ok() && status->get<dp_api::VtepStatus>() != nullptr) {
    liveness_->on_status(*status->get<dp_api::VtepStatus>(), clock_.now());
  } else {
    spdlog::debug("VTEP liveness: data-plane vtep_status: {}", status ? status->message : status.error().message);
  }
}

void Agent::watch_admin(int listen_fd) {
  admin_->set_write_watcher([this](int fd, bool want) {
    if (want) {
      loop_->watch_writable(fd, [this, fd] { admin_->on_writable(fd); });
    } else {
      loop_->unwatch_writable(fd);
    }
  });
  loop_->watch(listen_fd, [this] {
    for (int fd : admin_->accept_all()) {
      loop_->watch(fd, [this, fd] {
        if (!admin_->on_readable(fd)) loop_->unwatch(fd);
      });
    }
  });
}

void Agent::watch_metrics(int listen_fd) {
  metrics_->set_write_watcher([this](int fd, bool want) {
    if (want) {
      loop_->watch_writable(fd, [this, fd] { metrics_->on_writable(fd); });
    } else {
      loop_->unwatch_writable(fd);
    }
  });
  loop_->watch(listen_fd, [this] {
    for (int fd : metrics_->accept_all()) {
      loop_->watch(fd, [this, fd] {
        if (!metrics_->on_readable(fd)) loop_->unwatch(fd);
      });
    }
  });
}

void Agent::refresh() {
  dirty_ = false;
  const NetworkView view = service_->network_view();
  const LocalState& state = service_->state();
  std::set<std::string> wanted;
  for (const auto& e : view.active) wanted.insert(e.record.name);
  for (const auto& [name, ep] : state.endpoints) wanted.insert(ep.network);
  for (const auto& [id, d] : state.docker_networks) wanted.insert(d.network);
  for (const auto& name : wanted) {
    if (!tables_->in_network(name)) {
      if (auto r = tables_->join_network(name); !r) spdlog::warn("join network {}: {}", name, r.error().message);
    }
  }
  for (const auto& name : tables_->networks()) {
    if (wanted.count(name) == 0) {
      if (auto r = tables_->leave_network(name); !r) spdlog::warn("leave network {}: {}", name, r.error().message);
    }
  }
  service_->ensure_pools(view);
  DesiredInputs in;
  if (auto vtep = parse_ip(config_.advertise_address); vtep) in.self_vtep = *vtep;
  for (const auto& e : view.active) in.networks[e.record.name] = e.record.vni;
  for (const auto& [name, ep] : state.endpoints) {
    if (ep.joined) {
      in.local_ports.push_back({ep.host_ifname, ep.network, ep.mac, ep.ip, ep.ip6});
    }
  }
  std::map<std::string, std::set<dp_api::Ipv4>> owner_vteps;
  for (const auto& e : view.active) {
    for (auto& rec : endpoints_->list(e.record.name)) {
      if (rec.owner == config_.node_name) continue;
      if (auto vtep = dp_api::parse_ipv4(rec.vtep_string())) owner_vteps[rec.owner].insert(*vtep);
      in.remote_endpoints.push_back(std::move(rec));
    }
  }
  liveness_->set_owner_vteps(std::move(owner_vteps));
  reconciler_->set_desired(compute_desired(in));
  reconciler_->run_known();
  dirty_ = false;  // our own writes above may have set it
}

void Agent::hand_over_space() {
  if (!config_.ipam_hand_over || service_->holds_addresses()) return;
  auto given = ipam_->hand_over();
  if (!given) {
    spdlog::info("IPAM: free address space kept (not handed over): {}", given.error().message);
    return;
  }
  if (*given == 0) return;
  // The records travel by gossip and directly to each recipient: wait (a
  // little) for the recipients to confirm before leaving.
  const gossip::TimePoint deadline = clock_.now() + config_.hand_over_timeout;
  while (ipam_->hand_over_in_flight() != 0 && clock_.now() < deadline) {
    loop_->run_once(std::min(deadline, clock_.now() + config_.dataplane_poll_interval));
  }
  spdlog::info("IPAM: {} free address blocks handed over to the other hosts ({} unconfirmed)", *given,
               ipam_->hand_over_in_flight());
}

void Agent::start_timers() {
  // The data plane's health, idle connections, unclaimed reservations,
  // Docker endpoints whose sandbox went without a Leave.
  // VTEP liveness: what the data plane's echo says about the other hosts.
  timers_.push_back(loop_->every(
      config_.vtep_poll,
      [this] {
        if (!vtep_probe_->in_flight()) vtep_probe_->start(dp_request(dp_api::VtepStatusCmd{}), clock_.now());
      },
      gossip::Duration{0}));
  timers_.push_back(loop_->every(
      config_.resync_interval,
      [this] {
        // Non-blocking: gossip keeps its timing while the data plane is down.
        if (!probe_->in_flight()) probe_->start(dp_request(dp_api::HealthCmd{}), clock_.now());
        for (int fd : admin_->expire()) loop_->unwatch(fd);
        for (int fd : metrics_->expire()) loop_->unwatch(fd);
        service_->expire_unclaimed();
        service_->reap_vanished_endpoints(clock_.now());
      },
      gossip::Duration{0}));
  // Alone with seeds configured (they were down when we started, or we were
  // partitioned off): try them again.
  timers_.push_back(loop_->every(
      config_.rejoin_interval,
      [this] {
        if (node_->num_alive() <= 1 && !config_.seed_addresses.empty()) node_->join(config_.seed_addresses);
      },
      config_.rejoin_interval));
}

void Agent::after_turn() {
  service_->check_conflicts();
  service_->reassert_networks();
  if (dirty_) refresh();
  dp_guard_->tick(clock_.now(), [this] { return gossip_view_synced(*node_, *tables_); });
  poll_health();
  poll_stats();
  poll_vteps();
}

int Agent::run(int signal_fd) {
  if (signal_fd >= 0) {
    loop_->watch(signal_fd, [this, signal_fd] {
      signalfd_siginfo info{};
      while (::read(signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        spdlog::info("signal {} received, leaving the cluster", info.ssi_signo);
        stop();
      }
    });
  }
  while (!stop_.load()) {
    // While a data-plane call is out, look for its reply every
    // --dataplane-poll-ms; otherwise sleep until the next timer or I/O.
    const bool waiting = probe_->in_flight() || stats_probe_->in_flight() || vtep_probe_->in_flight();
    loop_->run_once(waiting ? clock_.now() + config_.dataplane_poll_interval : gossip::kNever);
    after_turn();
  }
  // Docker calls fail from here on instead of waiting for a loop that is gone.
  if (executor_) executor_->close();
  if (docker_) docker_->stop();
  for (EventLoop::TimerId t : timers_) loop_->cancel(t);
  timers_.clear();
  hand_over_space();
  node_->leave();
  const gossip::TimePoint leave_deadline = clock_.now() + config_.leave_timeout;
  while (!node_->leave_drained() && clock_.now() < leave_deadline) loop_->run_once(leave_deadline);
  if (signal_fd >= 0) loop_->unwatch(signal_fd);
  spdlog::info("agent {} stopped", config_.node_name);
  return 0;
}

json Agent::handle(const json& req) {
  std::optional<json> out;
  handle_async(req, [&out](const json& reply) { out = reply; });
  if (out) return *out;
  return error_reply("the answer waits for address space from another host (use the admin socket)");
}

void Agent::handle_async(const json& req, const AdminServer::Respond& respond,
                         const std::shared_ptr<const PassedFds>& fds) {
  const std::string op = req.value("op", "");
  auto answer = [op, respond](const json& reply) {
    if (!reply.value("ok", false)) spdlog::info("admin {}: refused: {}", op, reply.value("error", std::string()));
    respond(reply);
  };
  if (AdminApi::handles(op)) return admin_api_->handle(req, answer);
  if (CniApi::handles(op)) return cni_api_->handle(req, fds, answer);
  json reply;
  if (op == "members") {
    reply = list_members();
  } else if (op == "peers") {
    reply = list_peers();
  } else if (op == "status") {
    reply = status();
  } else if (op == "ipam") {
    reply = list_ipam();
  } else if (op == "plugin-calls") {
    reply = list_plugin_calls(req);
  } else {
    reply = error_reply(fmt::format("unknown op '{}'", op));
  }
  answer(reply);
}

json Agent::list_ipam() const {
  json pools = json::array();
  for (const auto& name : ipam_->pool_names()) {
    const ipam::PoolSpec* spec = ipam_->spec(name);
    const ipam::BlockMap* map = ipam_->map(name);
    json hosts = json::array();
    for (const auto& [owner, blocks] : map->owner_counts()) {
      hosts.push_back({{"host", owner}, {"blocks", blocks}, {"addresses", std::uint64_t{blocks} * spec->block_size}});
    }
    json owned = json::array();
    for (const auto& r : ipam_->owned_ranges(name)) {
      owned.push_back(fmt::format("{}-{}", spec->format(r.first), spec->format(r.last)));
    }
    pools.push_back({{"pool", name},
                     {"network", name.substr(0, name.find('@'))},
                     {"subnet", spec->cidr()},
                     {"genesis", spec->genesis},
                     {"block_size", spec->block_size},
                     {"hosts", hosts},
                     {"owned", owned},
                     {"allocated", ipam_->allocations(name).size()},
                     {"free", ipam_->free_addresses(name)}});
  }
  json conflicts = json::array();
  for (const auto& c : ipam_->conflicts()) {
    const ipam::PoolSpec* spec = ipam_->spec(c.pool);
    conflicts.push_back({{"pool", c.pool},
                         {"network", c.pool.substr(0, c.pool.find('@'))},
                         {"address", spec != nullptr ? spec->format(c.address) : std::to_string(c.address)},
                         {"handle", c.handle},
                         {"new_owner", c.new_owner}});
  }
  return json{{"ok", true},     {"node", config_.node_name}, {"fenced", ipam_->fenced()}, {"pending", ipam_->pending()},
              {"pools", pools}, {"conflicts", conflicts}};
}

json Agent::list_members() const {
  json out = json::array();
  for (const auto& m : node_->members()) {
    out.push_back({{"name", m.name},
                   {"address", m.address.to_string()},
                   {"state", gossip::to_string(m.state)},
                   {"incarnation", m.incarnation}});
  }
  return json{{"ok", true}, {"members", out}};
}

json Agent::list_peers() const {
  json out = json::array();
  const NetworkView view = service_->network_view();
  for (const auto& e : view.active) {
    for (const auto& rec : endpoints_->list(e.record.name)) {
      if (rec.owner == config_.node_name) continue;
      out.push_back({{"network", e.record.name},
                     {"vni", e.record.vni},
                     {"endpoint", rec.endpoint_id},
                     {"host", rec.owner},
                     {"vtep", rec.vtep_string()},
                     {"mac", rec.mac_string()},
                     {"ip", rec.ipv4 ? rec.ipv4_string() : std::string()},
                     {"ip6", rec.ipv6 ? rec.ipv6_string() : std::string()}});
    }
  }
  return json{{"ok", true}, {"peers", out}};
}

// The latest Docker plugin calls, oldest first: {"plugin-calls": [{seq,
// time (ms since the epoch), method, status, micros, request, reply}],
// "total": calls since start}. "limit" (optional) keeps the latest N.
json Agent::list_plugin_calls(const json& request) const {
  json out = json::array();
  if (!docker_) return {{"ok", true}, {"plugin-calls", out}, {"total", 0}};
  const auto limit = request.value("limit", 0);
  const plugins::docker::CallLog& calls = docker_->calls();
  for (const auto& c : calls.recent(limit > 0 ? static_cast<std::size_t>(limit) : 0)) {
    out.push_back({{"seq", c.seq},
                   {"time", c.unix_ms},
                   {"method", c.method},
                   {"status", c.status},
                   {"micros", c.micros},
                   {"request", c.request},
                   {"reply", c.reply}});
  }
  return {{"ok", true}, {"plugin-calls", out}, {"total", calls.total()}};
}

json Agent::status() const {
  const ReconcilerStatus& s = reconciler_->status();
  return json{{"ok", true},
              {"node", config_.node_name},
              {"vtep", config_.advertise_address},
              {"gossip", config_.gossip_bind},
              {"members_alive", node_->num_alive()},
              // Every host's endpoint MTU as gossip says (cluster_mtu.h).
              {"endpoint_mtu", {{"local", s.endpoint_mtu}, {"hosts", service_->cluster_mtu().hosts()}}},
              {"ipam",
               {{"fenced", ipam_->fenced()},
                {"pending", ipam_->pending()},
                {"conflicts", ipam_->conflicts().size()},
                {"pools", ipam_->pool_names().size()}}},
              {"dataplane",
               {{"up", s.dataplane_up},
                {"boot_id", s.boot_id},
                {"endpoint_driver", s.endpoint_driver},
                {"resyncs", s.resyncs},
                {"ops_applied", s.ops_applied},
                {"ops_failed", s.ops_failed},
                {"pending", s.pending},
                {"holding_removals", s.holding_removals},
                {"held", s.held},
                {"last_error", s.last_error},
                {"audit",
                 {{"interval_ms", config_.audit_interval.count()},
                  {"audits", s.audits},
                  {"failed", s.audits_failed},
                  {"last", s.last_audit},
                  {"last_unix_ms", s.last_audit_unix_ms},
                  {"last_drift", s.last_drift},
                  {"drift_total", s.drift_total},
                  {"drift", s.drift}}}}}};
}

std::string Agent::render_metrics() const {
  MetricsWriter w;
  std::map<std::string, int> by_state{{"alive", 0}, {"suspect", 0}, {"dead", 0}, {"left", 0}};
  for (const auto& m : node_->members()) ++by_state[gossip::to_string(m.state)];
  w.family("ferry_gossip_members", "gauge", "gossip members by state");
  for (const auto& [state, n] : by_state) w.sample("ferry_gossip_members", {{"state", state}}, n);
  for (std::size_t i = 0; i < gossip::kCounterNames.size(); ++i) {
    const std::string name = fmt::format("ferry_gossip_{}_total", gossip::kCounterNames[i]);
    w.family(name, "counter", "gossip membership counter");
    w.sample(name, static_cast<double>(node_->counters().values[i]));
  }
  for (std::size_t i = 0; i < static_cast<std::size_t>(gossip::TablesCounter::kCount); ++i) {
    const auto c = static_cast<gossip::TablesCounter>(i);
    const std::string name = fmt::format("ferry_tables_{}_total", gossip::tables_counter_name(c));
    w.family(name, "counter", gossip::tables_counter_help(c));
    w.sample(name, static_cast<double>(tables_->counter(c)));
  }
  for (std::size_t i = 0; i < static_cast<std::size_t>(gossip::NetCounter::kCount); ++i) {
    const auto c = static_cast<gossip::NetCounter>(i);
    const std::string name = fmt::format("ferry_gossip_transport_{}_total", gossip::net_counter_name(c));
    w.family(name, "counter", "gossip transport counter");
    w.sample(name, static_cast<double>(transport_->counter(c)));
  }
  const gossip::EnvelopeStats& es = transport_->envelope_stats();
  w.family("ferry_gossip_auth_drops_total", "counter", "gossip frames dropped by the envelope (auth, replay, size)");
  for (std::size_t i = 0; i < es.drops.size(); ++i) {
    w.sample("ferry_gossip_auth_drops_total",
             {{"reason", gossip::envelope_drop_name(static_cast<gossip::EnvelopeDrop>(i))}},
             static_cast<double>(es.drops[i]));
  }
  const NetworkView view = service_->network_view();
  w.family("ferry_networks", "gauge", "cluster networks by state");
  w.sample("ferry_networks", {{"state", "active"}}, static_cast<double>(view.active.size()));
  w.sample("ferry_networks", {{"state", "conflict"}}, static_cast<double>(view.conflicting.size()));
  w.family("ferry_local_endpoints", "gauge", "endpoints on this host");
  w.sample("ferry_local_endpoints", static_cast<double>(service_->state().endpoints.size()));
  for (std::size_t i = 0; i < ipam::kNumCounters; ++i) {
    const auto c = static_cast<ipam::Counter>(i);
    const std::string name = fmt::format("ferry_ipam_{}_total", ipam::counter_name(c));
    w.family(name, "counter", ipam::counter_help(c));
    w.sample(name, static_cast<double>(ipam_->counter(c)));
  }
  w.family("ferry_ipam_fenced", "gauge", "1 while this host stops allocating (no majority of the cluster in sight)");
  w.sample("ferry_ipam_fenced", ipam_->fenced() ? 1 : 0);
  w.family("ferry_ipam_conflicts", "gauge", "allocations found in space this host no longer owns (see the log)");
  w.sample("ferry_ipam_conflicts", static_cast<double>(ipam_->conflicts().size()));
  w.family("ferry_ipam_pending", "gauge", "allocations waiting for space from another host");
  w.sample("ferry_ipam_pending", static_cast<double>(ipam_->pending()));
  struct PoolGauge {
    const char* name;
    const char* help;
    std::function<std::uint64_t(const std::string&)> value;
  };
  const PoolGauge gauges[] = {
      {"ferry_ipam_owned_addresses", "addresses of each network's pool owned by this host",
       [this](const std::string& p) {
         return std::uint64_t{ipam_->map(p)->count_of(config_.node_name)} * ipam_->spec(p)->block_size;
       }},
      {"ferry_ipam_allocated_addresses", "addresses this host allocated, by network",
       [this](const std::string& p) { return static_cast<std::uint64_t>(ipam_->allocations(p).size()); }},
      {"ferry_ipam_free_addresses", "addresses this host can allocate without asking, by network",
       [this](const std::string& p) { return std::uint64_t{ipam_->free_addresses(p)}; }},
  };
  const auto pools = ipam_->pool_names();
  for (const auto& g : gauges) {
    w.family(g.name, "gauge", g.help);
    for (const auto& pool : pools) {
      const bool v6 = pool.size() > 2 && pool.compare(pool.size() - 2, 2, "/6") == 0;
      w.sample(g.name, {{"network", pool.substr(0, pool.find('@'))}, {"family", v6 ? "ipv6" : "ipv4"}},
               static_cast<double>(g.value(pool)));
    }
  }
  const ReconcilerStatus& rs = reconciler_->status();
  w.family("ferry_reconcile_dataplane_up", "gauge", "1 when the data plane answers its health call");
  w.sample("ferry_reconcile_dataplane_up", rs.dataplane_up ? 1 : 0);
  w.family("ferry_reconcile_resyncs_total", "counter", "full re-reads of the data plane (agent start, its restarts)");
  w.sample("ferry_reconcile_resyncs_total", static_cast<double>(rs.resyncs));
  w.family("ferry_reconcile_ops_total", "counter", "data-plane operations sent, by result");
  w.sample("ferry_reconcile_ops_total", {{"result", "applied"}}, static_cast<double>(rs.ops_applied));
  w.sample("ferry_reconcile_ops_total", {{"result", "failed"}}, static_cast<double>(rs.ops_failed));
  w.family("ferry_reconcile_pending", "gauge", "operations still to do after the last pass");
  w.sample("ferry_reconcile_pending", static_cast<double>(rs.pending));
  w.family("ferry_reconcile_drift_total", "counter",
           "differences the drift audit found between the data plane and what the agent applied, by kind");
  for (const auto& [kind, n] : rs.drift) {
    w.sample("ferry_reconcile_drift_total", {{"kind", kind}}, static_cast<double>(n));
  }
  w.family("ferry_reconcile_audits_total", "counter", "drift audits completed");
  w.sample("ferry_reconcile_audits_total", static_cast<double>(rs.audits));
  w.family("ferry_reconcile_desired_entries", "gauge", "entries the data plane should hold");
  w.sample("ferry_reconcile_desired_entries", static_cast<double>(reconciler_->desired().size()));
  w.family("ferry_agent_clients_cut_total", "counter",
           "admin and metrics clients cut: a reply over the buffer bound, or not read within --client-reply-ms");
  w.sample("ferry_agent_clients_cut_total", {{"server", "admin"}}, static_cast<double>(admin_->cut()));
  w.sample("ferry_agent_clients_cut_total", {{"server", "metrics"}}, static_cast<double>(metrics_->cut()));
  return w.text();
}

std::string Agent::dataplane_metrics(const dp_api::Stats& st) {
  MetricsWriter w;
  struct PortField {
    const char* name;
    std::uint64_t dp_api::PortStats::*value;
  };
  const PortField fields[] = {
      {"rx_packets", &dp_api::PortStats::rx_packets}, {"rx_bytes", &dp_api::PortStats::rx_bytes},
      {"tx_packets", &dp_api::PortStats::tx_packets}, {"tx_bytes", &dp_api::PortStats::tx_bytes},
      {"rx_missed", &dp_api::PortStats::rx_missed},   {"tx_dropped", &dp_api::PortStats::tx_dropped}};
  for (const auto& f : fields) {
    const std::string name = fmt::format("ferry_dataplane_port_{}_total", f.name);
    w.family(name, "counter", "data-plane port counter");
    for (const auto& p : st.ports) {
      w.sample(name, {{"port", p.name}, {"vni", std::to_string(p.vni)}}, static_cast<double>(p.*f.value));
    }
  }
  w.family("ferry_dataplane_drops_total", "counter", "data-plane drops by reason");
  for (const auto& d : st.drops) {
    w.sample("ferry_dataplane_drops_total", {{"reason", d.reason}}, static_cast<double>(d.packets));
  }
  w.family("ferry_dataplane_vni_total", "counter", "data-plane per-network counters");
  for (const auto& v : st.vnis) {
    for (const auto& [counter, value] : v.counters) {
      w.sample("ferry_dataplane_vni_total", {{"vni", std::to_string(v.vni)}, {"counter", counter}},
               static_cast<double>(value));
    }
  }
  return w.text();
}

}  // namespace ferry::agent
