#include "control/agent/agent.h"

#include <sodium.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/mac_address.h"
#include "control/agent/docker_backend.h"
#include "control/agent/state_file.h"
#include "control/gossip/counters.h"
#include "control/gossip/envelope.h"
#include "dataplane/api/port_types.h"
#include "netns/endpoint.h"
#include "netns/naming.h"
#include "plugins/docker/plugin_server.h"

namespace ferry::agent {

using nlohmann::json;

namespace {

json error_reply(const std::string& message) { return json{{"ok", false}, {"error", message}}; }
json ok_reply() { return json{{"ok", true}}; }

std::string random_id() {
  unsigned char bytes[16];
  randombytes_buf(bytes, sizeof bytes);
  std::string out;
  for (unsigned char b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

json endpoint_json(const LocalEndpoint& ep) {
  return json{{"name", ep.name},
              {"id", ep.id},
              {"ip", ep.ip_cidr},
              {"ip6", ep.ip6_cidr},
              {"mac", ep.mac},
              {"mtu", ep.mtu},
              {"container_offloads", ep.container_offloads},
              {"host_ifname", ep.host_ifname}};
}

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

Result<netns::EndpointSpec> endpoint_spec(const LocalEndpoint& ep) {
  netns::EndpointSpec spec;
  spec.container_tx_checksum = ep.container_offloads;
  spec.endpoint_id = ep.id;
  spec.host_ifname = ep.host_ifname;
  spec.netns_path = ep.netns_path;
  spec.container_ifname = ep.container_ifname;
  spec.mtu = ep.mtu;
  auto mac = parse_unicast_mac(ep.mac);
  if (!mac) return mac.error();
  spec.mac = *mac;
  // Each address with the network's gateway (its first host address, which
  // the allocator keeps free) as default route, as Docker containers get it.
  for (const std::string* cidr : {&ep.ip_cidr, &ep.ip6_cidr}) {
    if (cidr->empty()) continue;
    auto addr = netns::parse_interface_address(*cidr);
    if (!addr) return addr.error();
    spec.addresses.push_back(*addr);
    auto gw = netns::parse_ip(first_host(addr->network().to_string()));
    if (gw && *gw != addr->address) spec.gateways.push_back(*gw);
  }
  if (auto v = spec.validate(); !v) return v.error();
  return spec;
}

}  // namespace

Agent::Agent(Config config) : config_(std::move(config)) {}

Agent::~Agent() {
  // The plugin thread may wait on the loop: release it, then stop it, before
  // anything it calls goes away.
  if (executor_) executor_->close();
  if (plugin_server_) plugin_server_->stop();
  plugin_server_.reset();
  docker_.reset();
  if (tables_ && subscription_ != 0) tables_->unsubscribe(subscription_);
  if (node_) node_->set_delegate(nullptr);
  endpoints_.reset();
  tables_.reset();
  node_.reset();
  mux_.reset();
  ipam_.reset();
}

Result<std::unique_ptr<Agent>> Agent::create(Config config) {
  if (auto v = config.validate(); !v) return v.error();
  std::unique_ptr<Agent> a(new Agent(std::move(config)));
  const Config& c = a->config_;
  if (auto r = ensure_dir(c.state_dir); !r) return r.error().wrap("--state-dir");
  auto state = LocalState::load(c.state_dir);
  if (!state) return state.error().wrap("--state-dir");
  a->state_ = std::move(*state);

  auto ring = gossip::Keyring::load(c.key_file);
  if (!ring) return ring.error().wrap("--key-file");
  a->keyring_ = std::move(*ring);
  gossip::Config gcfg = gossip::Config::lan();
  gcfg.push_pull_interval = c.push_pull;
  if (auto v = gcfg.validate(); !v) return v.error();
  gossip::TablesConfig tcfg;
  tcfg.owner_grace = c.owner_grace;
  tcfg.network_sync_interval = std::chrono::milliseconds(5000);
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
  a->endpoints_ = std::make_unique<gossip::EndpointTable>(*a->tables_);
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
  a->ipam_->set_persist([self_ptr](const std::string& snap) { return self_ptr->save_ipam(snap); });
  a->mux_ = std::make_unique<ipam::DelegateMux>(*a->tables_, *a->ipam_);
  a->node_->set_delegate(a->mux_.get());
  a->release_orphans();
  a->transport_->set_handler(a->node_.get());
  a->node_->start();
  Agent* self = a.get();
  a->subscription_ =
      a->tables_->subscribe(gossip::TableFilter{}, [self](const gossip::Change& ch) { self->on_table_change(ch); });

  a->link_ = std::make_unique<ZmqDataplaneLink>(c.dataplane_api, c.dataplane_timeout, "ferry-agent " + c.node_name);
  a->reconciler_ = std::make_unique<Reconciler>(*a->link_);
  // Keep the data plane's entries until gossip has told us what is current.
  a->dp_guard_ = std::make_unique<DataplaneGuard>(*a->reconciler_, c.dataplane_hold, c.audit_interval, a->clock_.now());
  a->probe_ = std::make_unique<DpProbe>(c.dataplane_api, c.dataplane_timeout);
  a->stats_probe_ = std::make_unique<DpProbe>(c.dataplane_api, c.dataplane_timeout);

  // Republish what this host owns (TableDb reasserts it past any stale copy).
  for (const auto& [name, net] : a->state_.networks) {
    if (auto r = a->tables_->put("", kNetworkTable, name, net.encode()); !r) return r.error().wrap("restore network");
  }
  std::vector<std::string> gone;
  for (const auto& [name, ep] : a->state_.endpoints) {
    if (ep.docker) {
      // Docker owns these containers' lives (it sends Leave/DeleteEndpoint);
      // the veth outlives the agent, so a joined endpoint is only republished.
      if (ep.joined) {
        if (auto r = a->publish_endpoint(ep); !r) return r.error().wrap("restore endpoint " + name);
      }
      continue;
    }
    if (!path_exists(ep.netns_path)) {
      spdlog::warn("endpoint {} ({}): namespace {} is gone, dropping it", name, ep.id, ep.netns_path);
      gone.push_back(name);
      continue;
    }
    auto spec = endpoint_spec(ep);
    if (!spec) return spec.error().wrap("restore endpoint " + name);
    if (auto made = netns::create_endpoint(*spec); !made) {
      spdlog::warn("endpoint {} ({}): re-creating its veth failed: {}", name, ep.id, made.error().message);
    }
    if (auto r = a->publish_endpoint(ep); !r) return r.error().wrap("restore endpoint " + name);
  }
  if (!gone.empty()) {
    for (const auto& name : gone) a->state_.endpoints.erase(name);
    if (auto r = a->save_state(); !r) return r.error();
  }
  spdlog::info("restored {} networks and {} endpoints from {}", a->state_.networks.size(), a->state_.endpoints.size(),
               c.state_dir);

  a->admin_ = std::make_unique<AdminServer>(
      c.admin_socket, AdminServer::AsyncHandler([self](const json& req, const AdminServer::Respond& respond) {
        self->handle_async(req, respond);
      }));
  auto admin_fd = a->admin_->open();
  if (!admin_fd) return admin_fd.error().wrap("--admin-socket");
  a->watch_admin(*admin_fd);
  a->metrics_ = std::make_unique<MetricsServer>(
      c.metrics_bind, [self](const MetricsServer::Respond& respond) { self->scrape(respond); });
  auto metrics_fd = a->metrics_->open();
  if (!metrics_fd) return metrics_fd.error().wrap("--metrics");
  a->watch_metrics(*metrics_fd);
  if (auto r = a->start_plugin(); !r) return r.error().wrap("--plugin-socket");

  if (!c.seed_addresses.empty()) a->node_->join(c.seed_addresses);
  a->next_resync_ = a->clock_.now();
  a->next_rejoin_ = a->clock_.now() + std::chrono::seconds(5);
  spdlog::info("agent {} up: gossip {}, VTEP {}, data plane {}, admin {}, Docker plugin {}", c.node_name, c.gossip_bind,
               c.advertise_address, c.dataplane_api, c.admin_socket,
               c.plugin_socket.empty() ? std::string("off") : c.plugin_socket);
  return a;
}

Result<void> Agent::start_plugin() {
  auto exec = LoopExecutor::create();
  if (!exec) return exec.error();
  executor_ = std::move(*exec);
  transport_->watch(executor_->fd(), [this] { executor_->run_pending(); });
  if (config_.plugin_socket.empty()) return ok();
  docker_ = std::make_unique<DockerBackend>(*this, *executor_, config_.plugin_timeout);
  plugins::UnixHttpServerConfig hc;
  hc.socket_path = config_.plugin_socket;
  hc.socket_mode = 0660;
  auto server = plugins::docker::start_plugin_server(hc, docker_.get(), docker_.get(), &plugin_calls_);
  if (!server) return server.error();
  plugin_server_ = std::move(*server);
  return ok();
}

void Agent::on_table_change(const gossip::Change& change) {
  dirty_ = true;
  if (!change.key.network.empty() || change.key.table != kNetworkTable || change.kind != gossip::ChangeKind::kDelete) {
    return;
  }
  // A purge (the version's owner died) of a network this host keeps alive:
  // written again by this host. A tombstone (net rm): forgotten here too.
  // Both in reassert_networks(), before the next refresh.
  if (state_.networks.count(change.key.key) != 0) reassert_.insert(change.key.key);
}

void Agent::reassert_networks() {
  std::set<std::string> names;
  names.swap(reassert_);
  for (const auto& name : names) {
    auto it = state_.networks.find(name);
    if (it == state_.networks.end() || tables_->get("", kNetworkTable, name)) continue;
    const gossip::StoredEntry* e = tables_->store().find("", kNetworkTable, name);
    if (e == nullptr) continue;
    if (e->version.deleted) {
      // Removed (ferryctl net rm, which refuses while endpoints exist): stop
      // keeping it unless something here still uses it.
      bool used = false;
      for (const auto& [id, d] : state_.docker_networks) used = used || d.network == name;
      for (const auto& [n, ep] : state_.endpoints) used = used || ep.network == name;
      if (used) continue;
      const LocalState saved = state_;
      state_.networks.erase(name);
      if (auto r = save_state(); !r) {
        state_ = saved;
        spdlog::warn("network {}: forgetting it: {}", name, r.error().message);
      }
      continue;
    }
    spdlog::info("network {}: its record left with host {}; this host keeps it alive", name, e->version.owner);
    if (auto r = tables_->put("", kNetworkTable, name, it->second.encode()); !r) {
      spdlog::warn("network {}: re-asserting: {}", name, r.error().message);
    }
  }
}

dp_api::v1::Request Agent::dp_request(const dp_api::Command& command) const {
  auto request = dp_api::encode_request(command);
  dp_api::set_meta(request, dp_api::RequestMeta{"ferry-agent " + config_.node_name, false});
  return request;
}

void Agent::poll_health() {
  if (!probe_->in_flight()) return;
  auto reply = probe_->poll(std::chrono::steady_clock::now());
  if (!reply) return;
  reconciler_->on_health(*reply);
}

void Agent::scrape(const MetricsServer::Respond& respond) {
  std::string body = render_metrics();
  if (!reconciler_->status().dataplane_up) return respond(body);
  scrapes_.push_back({std::move(body), respond});
  if (!stats_probe_->in_flight()) {
    stats_probe_->start(dp_request(dp_api::StatsCmd{}), std::chrono::steady_clock::now());
  }
}

void Agent::poll_stats() {
  if (!stats_probe_->in_flight()) return;
  auto reply = stats_probe_->poll(std::chrono::steady_clock::now());
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

void Agent::watch_admin(int listen_fd) {
  transport_->watch(listen_fd, [this] {
    for (int fd : admin_->accept_all()) {
      transport_->watch(fd, [this, fd] {
        if (!admin_->on_readable(fd)) transport_->unwatch(fd);
      });
    }
  });
}

void Agent::watch_metrics(int listen_fd) {
  transport_->watch(listen_fd, [this] {
    for (int fd : metrics_->accept_all()) {
      transport_->watch(fd, [this, fd] {
        if (!metrics_->on_readable(fd)) transport_->unwatch(fd);
      });
    }
  });
}

Result<void> Agent::save_state() { return state_.save(config_.state_dir); }

Result<void> Agent::publish_endpoint(const LocalEndpoint& ep) {
  if (!tables_->in_network(ep.network)) {
    if (auto r = tables_->join_network(ep.network); !r) return r;
  }
  auto rec = gossip::EndpointRecord::from_strings(ep.network, ep.id, ep.mac, ep.ip_cidr, ep.ip6_cidr,
                                                  config_.advertise_address, config_.node_name);
  if (!rec) return rec.error();
  return endpoints_->put(*rec);
}

NetworkView Agent::network_view() const {
  std::vector<NetworkEntry> entries;
  tables_->store().for_each_in("", [&](const gossip::TableKey& k, const gossip::StoredEntry& e) {
    if (k.table != kNetworkTable || !e.live()) return;
    auto rec = NetworkRecord::decode(e.version.value);
    if (!rec || rec->name != k.key) return;
    // Conflicts are decided by the first creation, whoever re-asserted since.
    const bool has_origin = !rec->origin_host.empty();
    entries.push_back(
        {*rec, has_origin ? rec->origin_lamport : e.version.lamport, has_origin ? rec->origin_host : e.version.owner});
  });
  return resolve_networks(std::move(entries));
}

void Agent::refresh() {
  dirty_ = false;
  const NetworkView view = network_view();
  std::set<std::string> wanted;
  for (const auto& e : view.active) wanted.insert(e.record.name);
  for (const auto& [name, ep] : state_.endpoints) wanted.insert(ep.network);
  for (const auto& [id, d] : state_.docker_networks) wanted.insert(d.network);
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
  ensure_pools(view);
  DesiredInputs in;
  in.self_vtep = config_.advertise_address;
  for (const auto& e : view.active) in.networks[e.record.name] = e.record.vni;
  for (const auto& [name, ep] : state_.endpoints) {
    if (ep.joined) in.local_ports.push_back({ep.host_ifname, ep.network, ep.mac, ep.ip_cidr, ep.ip6_cidr});
  }
  for (const auto& e : view.active) {
    for (auto& rec : endpoints_->list(e.record.name)) {
      if (rec.owner != config_.node_name) in.remote_endpoints.push_back(std::move(rec));
    }
  }
  reconciler_->set_desired(compute_desired(in));
  reconciler_->run_known();
  dirty_ = false;  // our own writes above may have set it
}

void Agent::hand_over_space() {
  if (!config_.ipam_hand_over || !state_.endpoints.empty()) return;
  for (const auto& [id, pool] : state_.pools) {
    if (!pool.addresses.empty()) return;  // Docker still holds addresses here
  }
  auto given = ipam_->hand_over();
  if (!given) {
    spdlog::info("IPAM: free address space kept (not handed over): {}", given.error().message);
    return;
  }
  if (*given == 0) return;
  // The records travel by gossip and directly to each recipient: wait (a
  // little) for the recipients to confirm before leaving.
  const gossip::TimePoint deadline = clock_.now() + std::chrono::seconds(2);
  while (ipam_->hand_over_in_flight() != 0 && clock_.now() < deadline) {
    transport_->poll_once(std::min(node_->next_deadline(), clock_.now() + std::chrono::milliseconds(10)));
    if (clock_.now() >= node_->next_deadline()) node_->tick();
  }
  spdlog::info("IPAM: {} free address blocks handed over to the other hosts ({} unconfirmed)", *given,
               ipam_->hand_over_in_flight());
}

int Agent::run(int signal_fd) {
  if (signal_fd >= 0) {
    transport_->watch(signal_fd, [this, signal_fd] {
      signalfd_siginfo info{};
      while (::read(signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        spdlog::info("signal {} received, leaving the cluster", info.ssi_signo);
        stop();
      }
    });
  }
  while (!stop_.load()) {
    const gossip::TimePoint now = clock_.now();
    // While a data-plane call is out, look for its reply every 10 ms.
    const bool waiting = probe_->in_flight() || stats_probe_->in_flight();
    const gossip::TimePoint probe_check =
        waiting ? now + std::chrono::milliseconds(10) : now + std::chrono::milliseconds(500);
    const gossip::TimePoint deadline = std::min({node_->next_deadline(), next_resync_, probe_check});
    transport_->poll_once(deadline);
    if (clock_.now() >= node_->next_deadline()) node_->tick();
    check_conflicts();
    if (!reassert_.empty()) reassert_networks();
    if (dirty_) refresh();
    dp_guard_->tick(clock_.now(), [this] { return gossip_view_synced(*node_, *tables_); });
    poll_health();
    poll_stats();
    if (clock_.now() >= next_resync_) {
      next_resync_ = clock_.now() + config_.resync_interval;
      // Non-blocking: gossip keeps its timing while the data plane is down.
      if (!probe_->in_flight()) {
        probe_->start(dp_request(dp_api::HealthCmd{}), std::chrono::steady_clock::now());
      }
      for (int fd : admin_->expire()) transport_->unwatch(fd);
      for (int fd : metrics_->expire()) transport_->unwatch(fd);
      expire_unclaimed();
      reap_vanished_endpoints();
    }
    // Alone with seeds configured (they were down when we started, or we
    // were partitioned off): try them again every 5 s.
    if (clock_.now() >= next_rejoin_) {
      next_rejoin_ = clock_.now() + std::chrono::seconds(5);
      if (node_->num_alive() <= 1 && !config_.seed_addresses.empty()) node_->join(config_.seed_addresses);
    }
  }
  // Docker calls fail from here on instead of waiting for a loop that is gone.
  if (executor_) executor_->close();
  if (plugin_server_) plugin_server_->stop();
  hand_over_space();
  node_->leave();
  const gossip::TimePoint leave_deadline = clock_.now() + std::chrono::seconds(3);
  while (!node_->leave_drained() && clock_.now() < leave_deadline) {
    transport_->poll_once(std::min(node_->next_deadline(), leave_deadline));
    if (clock_.now() >= node_->next_deadline()) node_->tick();
  }
  if (signal_fd >= 0) transport_->unwatch(signal_fd);
  spdlog::info("agent {} stopped", config_.node_name);
  return 0;
}

json Agent::handle(const json& req) {
  std::optional<json> out;
  handle_async(req, [&out](const json& reply) { out = reply; });
  if (out) return *out;
  return error_reply("the answer waits for address space from another host (use the admin socket)");
}

void Agent::handle_async(const json& req, const AdminServer::Respond& respond) {
  const std::string op = req.value("op", "");
  auto answer = [op, respond](const json& reply) {
    if (!reply.value("ok", false)) spdlog::info("admin {}: refused: {}", op, reply.value("error", std::string()));
    respond(reply);
  };
  if (op == "attach") {
    attach(req, answer);
    return;
  }
  json reply;
  if (op == "members") {
    reply = list_members();
  } else if (op == "networks") {
    reply = list_networks();
  } else if (op == "endpoints") {
    reply = list_endpoints();
  } else if (op == "peers") {
    reply = list_peers();
  } else if (op == "status") {
    reply = status();
  } else if (op == "ipam") {
    reply = list_ipam();
  } else if (op == "plugin-calls") {
    reply = list_plugin_calls(req);
  } else if (op == "net-create") {
    reply = net_create(req);
  } else if (op == "net-rm") {
    reply = net_rm(req);
  } else if (op == "detach") {
    reply = detach(req);
  } else {
    reply = error_reply(fmt::format("unknown op '{}'", op));
  }
  answer(reply);
}

json Agent::net_create(const json& req) {
  NetworkRecord rec;
  rec.name = req.at("name").get<std::string>();
  auto subnet = canonical_subnet(req.at("subnet").get<std::string>());
  if (!subnet) return error_reply(subnet.error().message);
  rec.subnet = *subnet;
  if (const std::string s6 = req.value("subnet6", ""); !s6.empty()) {
    auto subnet6 = canonical_subnet6(s6);
    if (!subnet6) return error_reply(subnet6.error().message);
    rec.subnet6 = *subnet6;
  }
  if (req.contains("options")) rec.options = req.at("options").get<std::map<std::string, std::string>>();
  const NetworkView view = network_view();
  const std::uint32_t requested_vni = req.value("vni", 0U);
  if (requested_vni != 0) {
    rec.vni = requested_vni;
  } else if (const NetworkEntry* same = view.find(rec.name)) {
    rec.vni = same->record.vni;  // repeated create without --vni: idempotent
  } else {
    rec.vni = pick_vni(view, rec.name);
  }
  if (auto r = check_create(view, rec); !r) return error_reply(r.error().message);
  if (view.find(rec.name) != nullptr) {
    return json{{"ok", true}, {"network", json::parse(rec.encode())}, {"created", false}};
  }
  rec.origin_host = config_.node_name;
  rec.origin_lamport = tables_->lamport() + 1;  // the put below
  state_.networks[rec.name] = rec;
  if (auto r = save_state(); !r) {
    state_.networks.erase(rec.name);
    return error_reply(r.error().message);
  }
  if (auto r = tables_->put("", kNetworkTable, rec.name, rec.encode()); !r) {
    state_.networks.erase(rec.name);
    (void)save_state();
    return error_reply(r.error().message);
  }
  spdlog::info("network {} created: VNI {}, subnet {} {}", rec.name, rec.vni, rec.subnet, rec.subnet6);
  refresh();
  return json{{"ok", true}, {"network", json::parse(rec.encode())}, {"created", true}};
}

json Agent::net_rm(const json& req) {
  const std::string name = req.at("name").get<std::string>();
  const NetworkView view = network_view();
  const NetworkEntry* entry = view.find(name);
  if (entry == nullptr) return error_reply(fmt::format("no network {}", name));
  const auto eps = endpoints_->list(name);
  if (!eps.empty()) {
    return error_reply(fmt::format("network {} still has {} endpoints (first: {} on {})", name, eps.size(),
                                   eps.front().endpoint_id, eps.front().owner));
  }
  for (const auto& [n, ep] : state_.endpoints) {
    if (ep.network == name) return error_reply(fmt::format("network {} still has local endpoint {}", name, n));
  }
  for (const auto& [id, d] : state_.docker_networks) {
    if (d.network == name) return error_reply(fmt::format("network {} is bound to Docker network {}", name, id));
  }
  const LocalState saved = state_;
  state_.networks.erase(name);
  if (auto r = save_state(); !r) {
    state_ = saved;
    return error_reply(r.error().message);
  }
  if (auto r = tables_->remove("", kNetworkTable, name); !r) return error_reply(r.error().message);
  spdlog::info("network {} removed", name);
  refresh();
  return ok_reply();
}

void Agent::attach(const json& req, const AdminServer::Respond& respond) {
  const std::string net_name = req.at("net").get<std::string>();
  const std::string netns_path = req.at("netns").get<std::string>();
  std::string name = req.value("name", "");
  if (name.empty()) name = netns_path.substr(netns_path.rfind('/') + 1);
  if (name.empty() || name.size() > 64) return respond(error_reply("endpoint name must be 1..64 bytes"));
  if (!path_exists(netns_path)) return respond(error_reply(fmt::format("namespace {} does not exist", netns_path)));
  const NetworkView view = network_view();
  if (view.find(net_name) == nullptr) return respond(error_reply(fmt::format("no network {}", net_name)));
  if (auto it = state_.endpoints.find(name); it != state_.endpoints.end()) {
    if (it->second.network == net_name && it->second.netns_path == netns_path) {
      return respond(json{{"ok", true}, {"created", false}, {"endpoint", endpoint_json(it->second)}});
    }
    return respond(error_reply(fmt::format("endpoint {} already exists (network {}, namespace {})", name,
                                           it->second.network, it->second.netns_path)));
  }
  auto requested = [&req](const char* key) -> std::optional<std::string> {
    if (!req.contains(key) || req.at(key).get<std::string>().empty()) return std::nullopt;
    return req.at(key).get<std::string>();
  };
  const bool v6 = !view.find(net_name)->record.subnet6.empty();
  if (!v6 && requested("ip6")) return respond(error_reply(fmt::format("network {} has no IPv6 subnet", net_name)));
  const std::string id = random_id();
  // The endpoint id is the allocations' handle. The IPv4 address first, then
  // the IPv6 one if the network has a subnet6; either answer may wait for a
  // donation (another host's space), then the checks are made again.
  allocate_address(
      net_name, false, id, requested("ip"),
      [this, req, id, respond, v6, net_name, ip6 = requested("ip6")](Result<std::string> ip) {
        if (!ip) return respond(error_reply(fmt::format("network {}: {}", net_name, ip.error().message)));
        if (!v6) return respond(attach_with(req, id, *ip, ""));
        allocate_address(
            net_name, true, id, ip6, [this, req, id, respond, net_name, ip4 = *ip](Result<std::string> ip6_addr) {
              if (!ip6_addr) {
                release_address(net_name, ip4);
                return respond(error_reply(fmt::format("network {}: {}", net_name, ip6_addr.error().message)));
              }
              respond(attach_with(req, id, ip4, *ip6_addr));
            });
      });
}

bool Agent::container_offloads() const {
  return dp_api::container_keeps_offloads(reconciler_->status().endpoint_driver);
}

unsigned Agent::endpoint_mtu() const {
  if (config_.endpoint_mtu != 0) return config_.endpoint_mtu;
  const unsigned dp = reconciler_->status().endpoint_mtu;
  return dp >= 1280 ? dp : 1450;
}

json Agent::attach_with(const json& req, const std::string& id, const std::string& ip, const std::string& ip6) {
  const std::string net_name = req.at("net").get<std::string>();
  const std::string netns_path = req.at("netns").get<std::string>();
  std::string name = req.value("name", "");
  if (name.empty()) name = netns_path.substr(netns_path.rfind('/') + 1);
  auto fail = [&](const std::string& message) {
    release_address(net_name, ip);
    if (!ip6.empty()) release_address(net_name, ip6);
    return error_reply(message);
  };
  const NetworkView view = network_view();
  const NetworkEntry* net = view.find(net_name);
  if (net == nullptr) return fail(fmt::format("no network {}", net_name));
  if (state_.endpoints.count(name) != 0) return fail(fmt::format("endpoint {} already exists", name));

  LocalEndpoint ep;
  ep.id = id;
  ep.name = name;
  ep.network = net_name;
  auto address = parse_ip(ip);
  if (!address) return fail(address.error().message);
  const MacAddress mac = netns::derive_mac(net_name, *address);
  if (auto owner = mac_owner(net_name, mac)) {
    return fail(fmt::format("MAC address {} (derived from {}) is already used in network {} by endpoint {}",
                            mac.to_string(), ip, net_name, *owner));
  }
  ep.mac = mac.to_string();
  ep.ip_cidr = fmt::format("{}/{}", ip, net->record.prefix().length);
  if (!ip6.empty()) {
    const std::string& s6 = net->record.subnet6;
    ep.ip6_cidr = fmt::format("{}/{}", ip6, s6.substr(s6.find('/') + 1));
  }
  ep.host_ifname = netns::derive_host_ifname(ep.id);
  ep.netns_path = netns_path;
  ep.mtu = endpoint_mtu();
  ep.container_offloads = container_offloads();
  auto spec = endpoint_spec(ep);
  if (!spec) return fail(spec.error().message);
  // Durable first: a crash after this point finds the record and re-creates
  // (idempotently) or drops the endpoint on restart.
  const LocalState saved = state_;
  state_.endpoints[name] = ep;
  hold_network(net_name);
  if (auto r = save_state(); !r) {
    state_ = saved;
    return fail(r.error().message);
  }
  auto made = netns::create_endpoint(*spec);
  if (!made) {
    state_ = saved;
    (void)save_state();
    return fail(fmt::format("wiring {}: {}", netns_path, made.error().message));
  }
  if (auto r = publish_endpoint(ep); !r) {
    (void)netns::delete_endpoint(*spec);
    state_ = saved;
    (void)save_state();
    return fail(r.error().message);
  }
  spdlog::info("endpoint {} ({}) attached: network {}, {}{}{} {}, MTU {}, host side {}", name, ep.id, net_name,
               ep.ip_cidr, ep.ip6_cidr.empty() ? "" : " ", ep.ip6_cidr, ep.mac, ep.mtu, ep.host_ifname);
  refresh();
  return json{{"ok", true}, {"created", true}, {"endpoint", endpoint_json(ep)}};
}

json Agent::detach(const json& req) {
  const std::string name = req.at("name").get<std::string>();
  auto it = state_.endpoints.find(name);
  if (it == state_.endpoints.end()) return error_reply(fmt::format("no local endpoint {}", name));
  if (it->second.docker) {
    return error_reply(fmt::format("endpoint {} belongs to Docker (network {}): remove its container instead", name,
                                   it->second.docker_network));
  }
  const LocalEndpoint ep = it->second;
  if (auto r = endpoints_->remove(ep.network, ep.id); !r) {
    spdlog::warn("endpoint {}: withdrawing the record: {}", name, r.error().message);
  }
  netns::VethSpec veth;
  veth.endpoint_id = ep.id;
  veth.host_ifname = ep.host_ifname;
  state_.endpoints.erase(it);
  if (auto r = save_state(); !r) {
    state_.endpoints[name] = ep;
    return error_reply(r.error().message);
  }
  refresh();  // the port leaves the data plane before its veth goes away
  if (auto r = netns::delete_endpoint(veth); !r) {
    spdlog::warn("endpoint {}: deleting veth {}: {}", name, ep.host_ifname, r.error().message);
  }
  for (const std::string* cidr : {&ep.ip_cidr, &ep.ip6_cidr}) {
    if (!cidr->empty()) release_address(ep.network, cidr->substr(0, cidr->find('/')));
  }
  spdlog::info("endpoint {} ({}) detached from network {}", name, ep.id, ep.network);
  return ok_reply();
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

json Agent::list_networks() const {
  const NetworkView view = network_view();
  json out = json::array();
  for (const auto& e : view.active) {
    out.push_back({{"name", e.record.name},
                   {"vni", e.record.vni},
                   {"subnet", e.record.subnet},
                   {"subnet6", e.record.subnet6},
                   {"owner", e.owner},
                   {"state", "active"},
                   {"endpoints", endpoints_->list(e.record.name).size()}});
  }
  for (const auto& c : view.conflicting) {
    out.push_back({{"name", c.entry.record.name},
                   {"vni", c.entry.record.vni},
                   {"subnet", c.entry.record.subnet},
                   {"subnet6", c.entry.record.subnet6},
                   {"owner", c.entry.owner},
                   {"state", "conflict: " + c.reason},
                   {"endpoints", 0}});
  }
  return json{{"ok", true}, {"networks", out}};
}

json Agent::list_endpoints() const {
  json out = json::array();
  for (const auto& [name, ep] : state_.endpoints) {
    out.push_back({{"name", name},
                   {"id", ep.id},
                   {"network", ep.network},
                   {"ip", ep.ip_cidr},
                   {"ip6", ep.ip6_cidr},
                   {"mac", ep.mac},
                   {"mtu", ep.mtu},
                   {"container_offloads", ep.container_offloads},
                   {"host_ifname", ep.host_ifname},
                   {"netns", ep.netns_path},
                   {"docker", ep.docker},
                   {"port", !ep.joined                                                ? "not joined"
                            : reconciler_->applied().ports.count(ep.host_ifname) != 0 ? "programmed"
                                                                                      : "pending"}});
  }
  return json{{"ok", true}, {"endpoints", out}};
}

json Agent::list_peers() const {
  json out = json::array();
  const NetworkView view = network_view();
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
json Agent::list_plugin_calls(const json& req) const {
  const auto limit = req.value("limit", 0);
  json out = json::array();
  for (const auto& c : plugin_calls_.recent(limit > 0 ? static_cast<std::size_t>(limit) : 0)) {
    out.push_back({{"seq", c.seq},
                   {"time", c.unix_ms},
                   {"method", c.method},
                   {"status", c.status},
                   {"micros", c.micros},
                   {"request", c.request},
                   {"reply", c.reply}});
  }
  return {{"ok", true}, {"plugin-calls", out}, {"total", plugin_calls_.total()}};
}

json Agent::status() const {
  const ReconcilerStatus& s = reconciler_->status();
  return json{{"ok", true},
              {"node", config_.node_name},
              {"vtep", config_.advertise_address},
              {"gossip", config_.gossip_bind},
              {"members_alive", node_->num_alive()},
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
  const NetworkView view = network_view();
  w.family("ferry_networks", "gauge", "cluster networks by state");
  w.sample("ferry_networks", {{"state", "active"}}, static_cast<double>(view.active.size()));
  w.sample("ferry_networks", {{"state", "conflict"}}, static_cast<double>(view.conflicting.size()));
  w.family("ferry_local_endpoints", "gauge", "endpoints on this host");
  w.sample("ferry_local_endpoints", static_cast<double>(state_.endpoints.size()));
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
