#include "dataplane/app/service.h"

#include <rte_version.h>
#include <unistd.h>

#include <algorithm>

#include "common/log.h"
#include "dataplane/app/run_loop.h"

#ifndef FERRY_VERSION
#define FERRY_VERSION "unknown"
#endif

namespace ferry::dataplane::app {
namespace {

MacAddr to_core(const dp_api::MacAddr& mac) { return MacAddr{mac.bytes}; }
Ipv4Addr to_core(dp_api::Ipv4 ip) { return Ipv4Addr{ip.value}; }
Ipv6Addr to_core(const dp_api::Ipv6& ip) { return Ipv6Addr{ip.bytes}; }
dp_api::MacAddr from_core(const MacAddr& mac) { return dp_api::MacAddr{mac.bytes}; }
std::string text(const MacAddr& mac) { return dp_api::format_mac(from_core(mac)); }
std::string text(Ipv4Addr ip) { return dp_api::format_ipv4(dp_api::Ipv4{ip.value}); }
std::string text(dp_api::Ipv4 ip) { return dp_api::format_ipv4(ip); }
std::string text(const dp_api::MacAddr& mac) { return dp_api::format_mac(mac); }
std::string text(const Ipv6Addr& ip) { return dp_api::format_ipv6(dp_api::Ipv6{ip.bytes}); }
std::string text(const dp_api::IpAddress& ip) { return dp_api::format_ip(ip); }

v1::Reply reply_ok(std::string message) { return dp_api::make_reply(v1::STATUS_OK, std::move(message)); }
v1::Reply reply(v1::Status status, std::string message) { return dp_api::make_reply(status, std::move(message)); }

}  // namespace

Service::Service(const Config& config, Pipeline& pipeline, PortBackend& ports, UnderlayResolver& resolver,
                 Identity identity)
    : config_(config), pipeline_(pipeline), ports_(ports), resolver_(resolver), identity_(std::move(identity)) {}

std::string Service::handle_bytes(std::span<const std::uint8_t> bytes) {
  auto parsed = dp_api::parse_request_bytes(bytes);
  v1::Reply out;
  if (auto* error = std::get_if<dp_api::RequestError>(&parsed)) {
    out = reply(error->status, error->message);
  } else {
    out = handle(std::get<dp_api::Command>(parsed));
  }
  if (out.status() != v1::STATUS_OK) {
    spdlog::info("API request refused: {}: {}", dp_api::status_name(out.status()), out.message());
  }
  std::string bytes_out;
  out.SerializeToString(&bytes_out);
  return bytes_out;
}

v1::Reply Service::handle(const dp_api::Command& command) {
  return std::visit([this](const auto& cmd) { return on(cmd); }, command);
}

const NetworkInfo* Service::find_network(std::uint32_t vni, std::vector<NetworkInfo>& scratch) const {
  scratch = pipeline_.tables().networks();
  auto it = std::find_if(scratch.begin(), scratch.end(), [vni](const NetworkInfo& n) { return n.vni == vni; });
  return it == scratch.end() ? nullptr : &*it;
}

std::vector<PortId> Service::polled_ports() const {
  std::vector<PortId> out;
  for (const auto& [iface, endpoint] : endpoints_) {
    out.push_back(endpoint.port.id);
  }
  return out;
}

std::string Service::port_driver(PortId port) const {
  if (port == identity_.uplink.id) {
    return identity_.uplink.driver;
  }
  for (const auto& [iface, endpoint] : endpoints_) {
    if (endpoint.port.id == port) {
      return endpoint.port.driver;
    }
  }
  return "";
}

std::string Service::port_name(PortId port) const {
  if (port == identity_.uplink.id) {
    return "uplink";
  }
  for (const auto& [iface, endpoint] : endpoints_) {
    if (endpoint.port.id == port) {
      return iface;
    }
  }
  return fmt::format("port{}", port);
}

// ---- networks ---------------------------------------------------------------

v1::Reply Service::on(const dp_api::NetworkAddCmd& cmd) {
  std::vector<NetworkInfo> nets;
  if (find_network(cmd.vni, nets) != nullptr) {
    return reply(v1::STATUS_ALREADY_EXISTS, fmt::format("network {} already exists", cmd.vni));
  }
  if (auto r = pipeline_.tables().add_network(cmd.vni, cmd.flood_unknown); !r) {
    return reply(v1::STATUS_INTERNAL, r.error().message);
  }
  return reply_ok(
      fmt::format("network {} added (unknown unicast {})", cmd.vni, cmd.flood_unknown ? "flooded" : "dropped"));
}

v1::Reply Service::on(const dp_api::NetworkDelCmd& cmd) {
  std::vector<NetworkInfo> nets;
  if (find_network(cmd.vni, nets) == nullptr) {
    return reply(v1::STATUS_NOT_FOUND, fmt::format("network {} does not exist", cmd.vni));
  }
  std::string users;
  for (const auto& [iface, endpoint] : endpoints_) {
    if (endpoint.vni == cmd.vni) {
      users += (users.empty() ? "" : ", ") + iface;
    }
  }
  if (!users.empty()) {
    return reply(v1::STATUS_FAILED_PRECONDITION,
                 fmt::format("network {} still has ports ({}): remove them first", cmd.vni, users));
  }
  if (auto r = pipeline_.tables().del_network(cmd.vni); !r) {
    return reply(v1::STATUS_FAILED_PRECONDITION, r.error().message);
  }
  return reply_ok(fmt::format("network {} removed", cmd.vni));
}

v1::Reply Service::on(const dp_api::NetworkSetFloodCmd& cmd) {
  std::vector<NetworkInfo> nets;
  if (find_network(cmd.vni, nets) == nullptr) {
    return reply(v1::STATUS_NOT_FOUND, fmt::format("network {} does not exist", cmd.vni));
  }
  if (auto r = pipeline_.tables().add_network(cmd.vni, cmd.flood_unknown); !r) {
    return reply(v1::STATUS_INTERNAL, r.error().message);
  }
  return reply_ok(fmt::format("network {}: flooding of unknown unicast {}", cmd.vni, cmd.flood_unknown ? "on" : "off"));
}

// ---- endpoint ports ---------------------------------------------------------

v1::Reply Service::on(const dp_api::PortAddCmd& cmd) {
  if (endpoints_.count(cmd.iface) != 0) {
    return reply(v1::STATUS_ALREADY_EXISTS, fmt::format("port {} is already attached", cmd.iface));
  }
  if (cmd.iface == config_.uplink) {
    return reply(v1::STATUS_INVALID_ARGUMENT, fmt::format("{} is the uplink", cmd.iface));
  }
  std::vector<NetworkInfo> nets;
  if (find_network(cmd.vni, nets) == nullptr) {
    return reply(v1::STATUS_NOT_FOUND, fmt::format("network {} does not exist (add it first)", cmd.vni));
  }
  if (cmd.ips.size() > kMaxEndpointIps) {
    return reply(v1::STATUS_INVALID_ARGUMENT, fmt::format("at most {} IPv4 addresses per port", kMaxEndpointIps));
  }
  if (cmd.ips6.size() > kMaxEndpointIps6) {
    return reply(v1::STATUS_INVALID_ARGUMENT, fmt::format("at most {} IPv6 addresses per port", kMaxEndpointIps6));
  }
  for (const auto& [iface, endpoint] : endpoints_) {
    if (endpoint.vni == cmd.vni && endpoint.mac == cmd.mac) {
      return reply(v1::STATUS_ALREADY_EXISTS,
                   fmt::format("MAC {} is already used by port {} in network {}", text(cmd.mac), iface, cmd.vni));
    }
  }
  if (endpoints_.size() + 1 >= kMaxPorts) {
    return reply(v1::STATUS_FAILED_PRECONDITION, fmt::format("no room for another port (at most {})", kMaxPorts - 1));
  }
  PortDriver driver = config_.endpoint_driver;
  if (cmd.driver == dp_api::EndpointDriver::kAfPacket) {
    driver = PortDriver::kAfPacket;
  } else if (cmd.driver == dp_api::EndpointDriver::kAfXdp) {
    driver = PortDriver::kAfXdp;
  } else if (cmd.driver == dp_api::EndpointDriver::kVnet) {
    driver = PortDriver::kVnet;
  }
  if (driver == PortDriver::kAfXdp && config_.no_huge) {
    return reply(v1::STATUS_INVALID_ARGUMENT, "af_xdp needs hugepages; this data plane runs with --no-huge");
  }
  auto opened = ports_.attach(cmd.iface, driver);
  if (!opened) {
    const auto& message = opened.error().message;
    if (message.find("does not exist") != std::string::npos) {
      return reply(v1::STATUS_NOT_FOUND, message);
    }
    const bool unfit = message.find("MTU") != std::string::npos;  // interface or driver unfit for the MTU
    return reply(unfit ? v1::STATUS_FAILED_PRECONDITION : v1::STATUS_INTERNAL, message);
  }
  EndpointPort record;
  record.port = opened->id;
  record.vni = cmd.vni;
  record.mac = to_core(cmd.mac);
  for (const auto& ip : cmd.ips) {
    record.ips.push_back(to_core(ip.addr));
  }
  for (const auto& ip : cmd.ips6) {
    record.ips6.push_back(to_core(ip.addr));
  }
  if (auto r = pipeline_.tables().add_port(record); !r) {
    ports_.detach(*opened);
    return reply(v1::STATUS_FAILED_PRECONDITION, r.error().message);
  }
  endpoints_[cmd.iface] = Endpoint{*opened, cmd.vni, cmd.mac, cmd.ips, cmd.ips6};
  ports_.set_polled(polled_ports());
  spdlog::info("port {} attached: port {} ({}, {}), network {}, MAC {}", cmd.iface, opened->id, opened->driver,
               opened->devname, cmd.vni, text(cmd.mac));
  v1::Reply out = reply_ok(fmt::format("port {} attached as port {} ({})", cmd.iface, opened->id, opened->driver));
  out.mutable_port_added()->set_port_id(opened->id);
  out.mutable_port_added()->set_driver(opened->driver);
  return out;
}

v1::Reply Service::on(const dp_api::PortDelCmd& cmd) {
  auto it = endpoints_.find(cmd.iface);
  if (it == endpoints_.end()) {
    return reply(v1::STATUS_NOT_FOUND, fmt::format("port {} is not attached", cmd.iface));
  }
  const OpenedPort port = it->second.port;
  if (auto r = pipeline_.tables().del_port(port.id); !r) {
    return reply(v1::STATUS_INTERNAL, r.error().message);
  }
  endpoints_.erase(it);
  // Stop polling it and wait a grace period: after that no worker receives
  // from, or sends to, the port, and it can be closed.
  ports_.set_polled(polled_ports());
  pipeline_.tables().synchronize();
  ports_.detach(port);
  spdlog::info("port {} detached (port {}, {})", cmd.iface, port.id, port.devname);
  return reply_ok(fmt::format("port {} detached", cmd.iface));
}

// ---- remote MACs, neighbours, flood lists -----------------------------------

v1::Reply Service::on(const dp_api::FdbAddCmd& cmd) {
  std::vector<NetworkInfo> nets;
  if (find_network(cmd.vni, nets) == nullptr) {
    return reply(v1::STATUS_NOT_FOUND, fmt::format("network {} does not exist", cmd.vni));
  }
  if (cmd.vtep == config_.vtep.addr) {
    return reply(v1::STATUS_INVALID_ARGUMENT, fmt::format("VTEP {} is our own address", text(cmd.vtep)));
  }
  if (auto r = pipeline_.tables().add_remote_mac(cmd.vni, to_core(cmd.mac), to_core(cmd.vtep)); !r) {
    return reply(v1::STATUS_FAILED_PRECONDITION, r.error().message);
  }
  return reply_ok(fmt::format("network {}: MAC {} -> VTEP {}", cmd.vni, text(cmd.mac), text(cmd.vtep)));
}

v1::Reply Service::on(const dp_api::FdbDelCmd& cmd) {
  std::vector<NetworkInfo> nets;
  if (find_network(cmd.vni, nets) == nullptr) {
    return reply(v1::STATUS_NOT_FOUND, fmt::format("network {} does not exist", cmd.vni));
  }
  if (auto r = pipeline_.tables().del_remote_mac(cmd.vni, to_core(cmd.mac)); !r) {
    const bool local = r.error().message.find("local port") != std::string::npos;
    return reply(local ? v1::STATUS_FAILED_PRECONDITION : v1::STATUS_NOT_FOUND, r.error().message);
  }
  return reply_ok(fmt::format("network {}: MAC {} removed", cmd.vni, text(cmd.mac)));
}

v1::Reply Service::on(const dp_api::NeighAddCmd& cmd) {
  std::vector<NetworkInfo> nets;
  if (find_network(cmd.vni, nets) == nullptr) {
    return reply(v1::STATUS_NOT_FOUND, fmt::format("network {} does not exist", cmd.vni));
  }
  auto added = std::visit(
      [&](const auto& ip) { return pipeline_.tables().add_neighbour(cmd.vni, to_core(ip), to_core(cmd.mac)); }, cmd.ip);
  if (auto& r = added; !r) {
    return reply(v1::STATUS_FAILED_PRECONDITION, r.error().message);
  }
  return reply_ok(fmt::format("network {}: {} is at {}", cmd.vni, text(cmd.ip), text(cmd.mac)));
}

v1::Reply Service::on(const dp_api::NeighDelCmd& cmd) {
  std::vector<NetworkInfo> nets;
  if (find_network(cmd.vni, nets) == nullptr) {
    return reply(v1::STATUS_NOT_FOUND, fmt::format("network {} does not exist", cmd.vni));
  }
  auto removed =
      std::visit([&](const auto& ip) { return pipeline_.tables().del_neighbour(cmd.vni, to_core(ip)); }, cmd.ip);
  if (auto& r = removed; !r) {
    return reply(v1::STATUS_NOT_FOUND, r.error().message);
  }
  return reply_ok(fmt::format("network {}: neighbour {} removed", cmd.vni, text(cmd.ip)));
}

v1::Reply Service::on(const dp_api::FloodAddCmd& cmd) {
  std::vector<NetworkInfo> nets;
  const NetworkInfo* net = find_network(cmd.vni, nets);
  if (net == nullptr) {
    return reply(v1::STATUS_NOT_FOUND, fmt::format("network {} does not exist", cmd.vni));
  }
  if (cmd.vtep == config_.vtep.addr) {
    return reply(v1::STATUS_INVALID_ARGUMENT, fmt::format("VTEP {} is our own address", text(cmd.vtep)));
  }
  if (std::find(net->flood.begin(), net->flood.end(), to_core(cmd.vtep)) != net->flood.end()) {
    return reply(v1::STATUS_ALREADY_EXISTS,
                 fmt::format("VTEP {} is already in the flood list of network {}", text(cmd.vtep), cmd.vni));
  }
  if (auto r = pipeline_.tables().add_flood_vtep(cmd.vni, to_core(cmd.vtep)); !r) {
    return reply(v1::STATUS_FAILED_PRECONDITION, r.error().message);
  }
  return reply_ok(fmt::format("network {}: VTEP {} added to the flood list", cmd.vni, text(cmd.vtep)));
}

v1::Reply Service::on(const dp_api::FloodDelCmd& cmd) {
  std::vector<NetworkInfo> nets;
  if (find_network(cmd.vni, nets) == nullptr) {
    return reply(v1::STATUS_NOT_FOUND, fmt::format("network {} does not exist", cmd.vni));
  }
  if (auto r = pipeline_.tables().del_flood_vtep(cmd.vni, to_core(cmd.vtep)); !r) {
    return reply(v1::STATUS_NOT_FOUND, r.error().message);
  }
  return reply_ok(fmt::format("network {}: VTEP {} removed from the flood list", cmd.vni, text(cmd.vtep)));
}

// ---- stats, dumps, health, version -----------------------------------------

v1::Reply Service::on(const dp_api::StatsCmd&) {
  v1::Reply out = reply_ok("");
  auto* stats = out.mutable_stats();
  const Stats sum = pipeline_.stats();

  std::vector<std::pair<PortId, std::uint32_t>> ports{{identity_.uplink.id, 0}};
  for (const auto& [iface, endpoint] : endpoints_) {
    ports.emplace_back(endpoint.port.id, endpoint.vni);
  }
  for (const auto& [port, vni] : ports) {
    const PortCounters c = ports_.counters(port);
    auto* p = stats->add_ports();
    p->set_port_id(port);
    p->set_name(port_name(port));
    p->set_vni(vni);
    p->set_rx_packets(c.rx_packets);
    p->set_rx_bytes(c.rx_bytes);
    p->set_tx_packets(c.tx_packets);
    p->set_tx_bytes(c.tx_bytes);
    p->set_rx_missed(c.rx_missed);
    p->set_tx_dropped(sum.port(port, PortCounter::tx_dropped) + c.tx_errors);
    p->set_driver(port_driver(port));
  }
  for (const auto& net : pipeline_.tables().networks()) {
    auto* v = stats->add_vnis();
    v->set_vni(net.vni);
    for (std::size_t i = 0; i < kNetCounterCount; ++i) {
      (*v->mutable_counters())[std::string(kNetCounterNames[i])] = sum.networks[net.stats_slot][i];
    }
  }
  for (std::size_t i = 0; i < kCounterCount; ++i) {
    const auto& info = kCounterInfo[i];
    if (info.kind == CounterKind::Drop) {
      auto* d = stats->add_drops();
      d->set_reason(std::string(info.name));
      d->set_packets(sum.counters[i]);
      d->set_help(std::string(info.help));
    } else {
      (*stats->mutable_counters())[std::string(info.name)] = sum.counters[i];
    }
  }
  std::uint64_t drops_total = sum.total_drops();
  for (const auto& c : ports_.type_counters()) {
    if (c.drop) {
      auto* d = stats->add_drops();
      d->set_reason(std::string(c.name));
      d->set_packets(c.value);
      d->set_help(std::string(c.help));
      drops_total += c.value;
    } else {
      (*stats->mutable_counters())[std::string(c.name)] = c.value;
    }
  }
  (*stats->mutable_counters())["drops_total"] = drops_total;
  (*stats->mutable_counters())["mac_entries"] = pipeline_.tables().mac_count();
  (*stats->mutable_counters())["table_memory_bytes"] = pipeline_.tables().memory_bytes();

  const auto per_lcore = pipeline_.stats_per_lcore();
  const auto workers = ports_.workers();
  for (std::size_t i = 0; i < per_lcore.size(); ++i) {
    const Stats& s = per_lcore[i].second;
    auto* l = stats->add_lcores();
    l->set_lcore_id(i < workers.size() ? workers[i].lcore_id : per_lcore[i].first);
    l->set_rx_packets(s[Counter::rx_uplink] + s[Counter::rx_endpoint]);
    l->set_tx_packets(s[Counter::tx]);
    if (i < workers.size()) {
      l->set_polls(workers[i].polls);
      l->set_busy_polls(workers[i].busy_polls);
      l->set_idle_sleeps(workers[i].idle_sleeps);
    }
  }
  // The spin window's polls (no per-lcore field in v1): totals over the workers.
  std::uint64_t spin_polls = 0;
  std::uint64_t spin_yields = 0;
  for (const auto& w : workers) {
    spin_polls += w.spin_polls;
    spin_yields += w.spin_yields;
  }
  (*stats->mutable_counters())["idle_spin_polls"] = spin_polls;
  (*stats->mutable_counters())["idle_spin_yields"] = spin_yields;
  return out;
}

v1::Reply Service::on(const dp_api::DumpCmd&) {
  v1::Reply out = reply_ok("");
  auto* dump = out.mutable_dump();
  for (const auto& net : pipeline_.tables().networks()) {
    auto* n = dump->add_networks();
    n->set_vni(net.vni);
    n->set_flood_unknown(net.flood_unknown);
    for (const auto& vtep : net.flood) {
      n->add_flood_vteps(text(vtep));
    }
  }
  for (const auto& [iface, endpoint] : endpoints_) {
    auto* p = dump->add_ports();
    p->set_port_id(endpoint.port.id);
    p->set_iface(iface);
    p->set_vni(endpoint.vni);
    p->set_mac(text(endpoint.mac));
    for (const auto& ip : endpoint.ips) {
      p->add_ips(dp_api::format_ipv4_prefix(ip));
    }
    for (const auto& ip : endpoint.ips6) {
      p->add_ips(dp_api::format_ipv6_prefix(ip));
    }
    p->set_driver(endpoint.port.driver);
    p->set_link_up(ports_.link_up(endpoint.port.id));
    for (auto& name : offload_names(ports_.offloads(endpoint.port.id))) {
      p->add_offloads(std::move(name));
    }
  }
  for (const auto& mac : pipeline_.tables().macs()) {
    auto* f = dump->add_fdb();
    f->set_vni(mac.vni);
    f->set_mac(text(mac.mac));
    if (mac.local) {
      f->set_iface(port_name(mac.port));
    } else {
      f->set_vtep(text(mac.vtep));
    }
  }
  for (const auto& neigh : pipeline_.tables().neighbours()) {
    auto* n = dump->add_neighbors();
    n->set_vni(neigh.vni);
    n->set_ip(text(neigh.ip));
    n->set_mac(text(neigh.mac));
  }
  for (const auto& neigh : pipeline_.tables().neighbours6()) {
    auto* n = dump->add_neighbors();
    n->set_vni(neigh.vni);
    n->set_ip(text(neigh.ip));
    n->set_mac(text(neigh.mac));
  }
  for (const auto& entry : resolver_.entries(std::chrono::steady_clock::now())) {
    auto* u = dump->add_underlay();
    u->set_ip(text(entry.ip));
    if (entry.mac) {
      u->set_mac(text(*entry.mac));
    }
    u->set_state(entry.state);
    for (const auto& vtep : entry.vteps) {
      u->add_vteps(text(vtep));
    }
  }
  for (const auto& vtep : resolver_.unroutable()) {
    auto* u = dump->add_underlay();
    u->set_state("no route (off-link, no --gateway)");
    u->add_vteps(text(vtep));
  }
  return out;
}

v1::Reply Service::on(const dp_api::HealthCmd&) {
  v1::Reply out = reply_ok("");
  auto* h = out.mutable_health();
  h->set_boot_id(identity_.boot_id);
  h->set_start_time_unix_ms(identity_.start_time_unix_ms);
  h->set_uptime_ms(static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - identity_.started)
          .count()));
  h->set_uplink(config_.uplink);
  h->set_uplink_driver(identity_.uplink.driver);
  h->set_uplink_link_up(ports_.link_up(identity_.uplink.id));
  h->set_vtep_ip(dp_api::format_ipv4_prefix(config_.vtep));
  if (config_.gateway) {
    h->set_gateway(text(*config_.gateway));
  }
  h->set_workers(static_cast<std::uint32_t>(ports_.workers().size()));
  h->set_ports(static_cast<std::uint32_t>(endpoints_.size()));
  h->set_networks(static_cast<std::uint32_t>(pipeline_.tables().networks().size()));
  h->set_pid(static_cast<std::uint32_t>(getpid()));
  h->set_underlay_mtu(identity_.underlay_mtu);
  h->set_endpoint_mtu(identity_.underlay_mtu - static_cast<std::uint32_t>(kEncapHeaderSize));
  h->set_endpoint_driver(driver_name(config_.endpoint_driver));
  return out;
}

v1::Reply Service::on(const dp_api::VersionCmd&) {
  v1::Reply out = reply_ok("");
  out.mutable_version()->set_software(FERRY_VERSION);
  out.mutable_version()->set_api_version(dp_api::kApiVersion);
  out.mutable_version()->set_dpdk(rte_version());
  return out;
}

void Service::detach_all() {
  if (endpoints_.empty()) {
    return;
  }
  std::vector<OpenedPort> closing;
  for (const auto& [iface, endpoint] : endpoints_) {
    (void)pipeline_.tables().del_port(endpoint.port.id);
    closing.push_back(endpoint.port);
  }
  endpoints_.clear();
  ports_.set_polled({});
  pipeline_.tables().synchronize();
  for (const auto& port : closing) {
    ports_.detach(port);
  }
}

}  // namespace ferry::dataplane::app
