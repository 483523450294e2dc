#include "dataplane/app/service.h"

#include <rte_version.h>
#include <unistd.h>

#include <algorithm>
#include <array>

#include "common/log.h"
#include "common/printable.h"
#include "dataplane/app/endpoint_iface.h"
#include "dataplane/app/run_loop.h"

#ifndef FERRY_VERSION
#define FERRY_VERSION "unknown"
#endif

namespace ferry::dataplane::app {
namespace {

using dp_api::error_reply;
using dp_api::ok_reply;
using dp_api::Reply;

Ipv4Addr to_core(dp_api::Ipv4 ip) { return Ipv4Addr{ip.value}; }
Ipv6Addr to_core(const dp_api::Ipv6& ip) { return Ipv6Addr{ip.bytes}; }
dp_api::Ipv4 to_api(Ipv4Addr ip) { return dp_api::Ipv4{ip.value}; }
dp_api::Ipv6 to_api(const Ipv6Addr& ip) { return dp_api::Ipv6{ip.bytes}; }
std::string text(dp_api::Ipv4 ip) { return dp_api::format_ipv4(ip); }
std::string text(const MacAddress& mac) { return mac.to_string(); }
std::string text(const dp_api::IpAddress& ip) { return dp_api::format_ip(ip); }

std::vector<dp_api::Ipv4> to_api(const std::vector<Ipv4Addr>& ips) {
  std::vector<dp_api::Ipv4> out;
  out.reserve(ips.size());
  for (const auto& ip : ips) out.push_back(to_api(ip));
  return out;
}

}  // namespace

Service::Service(const Config& config, Pipeline& pipeline, PortBackend& ports, UnderlayResolver& resolver,
                 Identity identity)
    : config_(config), pipeline_(pipeline), ports_(ports), resolver_(resolver), identity_(std::move(identity)) {}

std::string Service::handle_bytes(std::span<const std::uint8_t> bytes) {
  dp_api::RequestMeta meta;
  auto parsed = dp_api::parse_request_bytes(bytes, &meta);
  Reply out;
  const auto now = clock_();
  if (auto* error = std::get_if<dp_api::RequestError>(&parsed)) {
    out = error_reply(ErrorCode::kInvalid, error->status, error->message);
  } else if (const auto& command = std::get<dp_api::Command>(parsed); !meta.client.empty()) {
    if (meta.client != owner_) {
      spdlog::info("API: {} owns this data plane now{}", log::printable(meta.client),
                   owner_.empty() ? "" : fmt::format(" (was {})", log::printable(owner_)));
      owner_ = meta.client;
    }
    owner_seen_ = now;
    out = handle(command);
  } else if (dp_api::is_mutation(command) && !owner_.empty() && now - owner_seen_ < kOwnerLease) {
    const auto since = std::chrono::duration_cast<std::chrono::milliseconds>(now - owner_seen_).count();
    if (meta.force) {
      spdlog::info("API: a forced change while {} owns this data plane (its last call {} ms ago)",
                   log::printable(owner_), since);
      out = handle(command);
    } else {
      ++requests_not_owner_;
      out = error_reply(ErrorCode::kBusy, v1::STATUS_FAILED_PRECONDITION,
                        fmt::format("{} owns this data plane (its last call {} ms ago): make the change through "
                                    "it, or repeat this one with --force (ferryctl dp --force; its drift audit "
                                    "then undoes what it does not want)",
                                    owner_, since));
    }
  } else {
    out = handle(command);
  }
  if (!out.ok()) {
    ++requests_refused_;
    if (bytes.size() > dp_api::kMaxRequestBytes) {
      ++requests_oversize_;
    }
    out.message = log::printable(out.message, kMaxRefusalMessage);
    spdlog::info("API request refused: {}: {}", dp_api::status_name(out.status), out.message);
  }
  return dp_api::encode_reply_bytes(out);
}

Reply Service::handle(const dp_api::Command& command) {
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

Reply Service::on(const dp_api::NetworkAddCmd& cmd) {
  std::vector<NetworkInfo> nets;
  if (find_network(cmd.vni, nets) != nullptr) {
    return error_reply(ErrorCode::kExists, fmt::format("network {} already exists", cmd.vni));
  }
  if (cmd.vni == config_.vtep_echo_vni) {
    return error_reply(
        ErrorCode::kInvalid,
        fmt::format("VNI {} is the VTEP echo's management VNI (--vtep-echo-vni): no network may use it", cmd.vni));
  }
  if (auto r = pipeline_.tables().add_network(cmd.vni, cmd.flood_unknown); !r) {
    return error_reply(ErrorCode::kInternal, r.error().message);
  }
  return ok_reply(
      fmt::format("network {} added (unknown unicast {})", cmd.vni, cmd.flood_unknown ? "flooded" : "dropped"));
}

Reply Service::on(const dp_api::NetworkDelCmd& cmd) {
  std::vector<NetworkInfo> nets;
  if (find_network(cmd.vni, nets) == nullptr) {
    return error_reply(ErrorCode::kNotFound, fmt::format("network {} does not exist", cmd.vni));
  }
  std::string users;
  for (const auto& [iface, endpoint] : endpoints_) {
    if (endpoint.vni == cmd.vni) {
      users += (users.empty() ? "" : ", ") + iface;
    }
  }
  if (!users.empty()) {
    return error_reply(ErrorCode::kBusy,
                       fmt::format("network {} still has ports ({}): remove them first", cmd.vni, users));
  }
  if (auto r = pipeline_.tables().del_network(cmd.vni); !r) {
    return error_reply(ErrorCode::kBusy, r.error().message);
  }
  return ok_reply(fmt::format("network {} removed", cmd.vni));
}

Reply Service::on(const dp_api::NetworkSetFloodCmd& cmd) {
  std::vector<NetworkInfo> nets;
  if (find_network(cmd.vni, nets) == nullptr) {
    return error_reply(ErrorCode::kNotFound, fmt::format("network {} does not exist", cmd.vni));
  }
  if (auto r = pipeline_.tables().add_network(cmd.vni, cmd.flood_unknown); !r) {
    return error_reply(ErrorCode::kInternal, r.error().message);
  }
  return ok_reply(fmt::format("network {}: flooding of unknown unicast {}", cmd.vni, cmd.flood_unknown ? "on" : "off"));
}

// ---- endpoint ports ---------------------------------------------------------

Reply Service::on(const dp_api::PortAddCmd& cmd) {
  if (endpoints_.count(cmd.iface) != 0) {
    return error_reply(ErrorCode::kExists, fmt::format("port {} is already attached", cmd.iface));
  }
  if (cmd.iface == config_.uplink) {
    return error_reply(ErrorCode::kInvalid, fmt::format("{} is the uplink", cmd.iface));
  }
  if (auto fit = check_endpoint_interface(cmd.iface, config_.uplink_kind == UplinkKind::kPci ? "" : config_.uplink);
      !fit) {
    return error_reply(ErrorCode::kInvalid, v1::STATUS_FAILED_PRECONDITION, fit.error().message);
  }
  std::vector<NetworkInfo> nets;
  if (find_network(cmd.vni, nets) == nullptr) {
    return error_reply(ErrorCode::kNotFound, fmt::format("network {} does not exist (add it first)", cmd.vni));
  }
  if (cmd.ips.size() > kMaxEndpointIps) {
    return error_reply(ErrorCode::kInvalid, fmt::format("at most {} IPv4 addresses per port", kMaxEndpointIps));
  }
  if (cmd.ips6.size() > kMaxEndpointIps6) {
    return error_reply(ErrorCode::kInvalid, fmt::format("at most {} IPv6 addresses per port", kMaxEndpointIps6));
  }
  for (const auto& [iface, endpoint] : endpoints_) {
    if (endpoint.vni == cmd.vni && endpoint.mac == cmd.mac) {
      return error_reply(ErrorCode::kExists,
                         fmt::format("MAC {} is already used by port {} in network {}", text(cmd.mac), iface, cmd.vni));
    }
  }
  if (endpoints_.size() + 1 >= kMaxPorts) {
    return error_reply(ErrorCode::kBusy, fmt::format("no room for another port (at most {})", kMaxPorts - 1));
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
    return error_reply(ErrorCode::kInvalid, "af_xdp needs hugepages; this data plane runs with --no-huge");
  }
  auto opened = ports_.attach(cmd.iface, driver);
  if (!opened) {
    // The backend says what kind of failure it was: no such interface, an
    // interface or driver unfit for the MTU (a precondition on the wire, as
    // it always was), or anything else (the data plane failed).
    const Error& error = opened.error();
    switch (error.code) {
      case ErrorCode::kNotFound:
        return error_reply(ErrorCode::kNotFound, error.message);
      case ErrorCode::kInvalid:
        return error_reply(ErrorCode::kInvalid, v1::STATUS_FAILED_PRECONDITION, error.message);
      default:
        return error_reply(ErrorCode::kInternal, error.message);
    }
  }
  EndpointPort record;
  record.port = opened->id;
  record.vni = cmd.vni;
  record.mac = cmd.mac;
  for (const auto& ip : cmd.ips) {
    record.ips.push_back(to_core(ip.addr));
  }
  for (const auto& ip : cmd.ips6) {
    record.ips6.push_back(to_core(ip.addr));
  }
  std::vector<std::pair<dp_api::IpAddress, std::optional<MacAddress>>> addresses;
  for (const auto& ip : cmd.ips) addresses.emplace_back(ip.addr, neighbour_mac(cmd.vni, ip.addr));
  for (const auto& ip : cmd.ips6) addresses.emplace_back(ip.addr, neighbour_mac(cmd.vni, ip.addr));
  if (auto r = pipeline_.tables().add_port(record); !r) {
    ports_.detach(*opened);
    return error_reply(ErrorCode::kBusy, r.error().message);
  }
  endpoints_[cmd.iface] = Endpoint{*opened, cmd.vni, cmd.mac, cmd.ips, cmd.ips6};
  ports_.set_polled(polled_ports());
  for (const auto& [ip, before] : addresses) neighbour_added(cmd.vni, ip, cmd.mac, before, opened->id);
  spdlog::info("port {} attached: port {} ({}, {}), network {}, MAC {}", cmd.iface, opened->id, opened->driver,
               opened->devname, cmd.vni, text(cmd.mac));
  return ok_reply(fmt::format("port {} attached as port {} ({})", cmd.iface, opened->id, opened->driver),
                  dp_api::PortAdded{opened->id, opened->driver});
}

Reply Service::on(const dp_api::PortDelCmd& cmd) {
  auto it = endpoints_.find(cmd.iface);
  if (it == endpoints_.end()) {
    return error_reply(ErrorCode::kNotFound, fmt::format("port {} is not attached", cmd.iface));
  }
  const OpenedPort port = it->second.port;
  if (auto r = pipeline_.tables().del_port(port.id); !r) {
    return error_reply(ErrorCode::kInternal, r.error().message);
  }
  for (const auto& ip : it->second.ips) neighbour_removed(it->second.vni, ip.addr, it->second.mac);
  for (const auto& ip : it->second.ips6) neighbour_removed(it->second.vni, ip.addr, it->second.mac);
  endpoints_.erase(it);
  // Stop polling it and wait a grace period: after that no worker receives
  // from, or sends to, the port, and it can be closed.
  ports_.set_polled(polled_ports());
  pipeline_.tables().synchronize();
  ports_.detach(port);
  spdlog::info("port {} detached (port {}, {})", cmd.iface, port.id, port.devname);
  return ok_reply(fmt::format("port {} detached", cmd.iface));
}

// ---- remote MACs, neighbours, flood lists -----------------------------------

Reply Service::on(const dp_api::FdbAddCmd& cmd) {
  std::vector<NetworkInfo> nets;
  if (find_network(cmd.vni, nets) == nullptr) {
    return error_reply(ErrorCode::kNotFound, fmt::format("network {} does not exist", cmd.vni));
  }
  if (cmd.vtep == config_.vtep.addr) {
    return error_reply(ErrorCode::kInvalid, fmt::format("VTEP {} is our own address", text(cmd.vtep)));
  }
  if (auto r = pipeline_.tables().add_remote_mac(cmd.vni, cmd.mac, to_core(cmd.vtep)); !r) {
    return error_reply(ErrorCode::kBusy, r.error().message);
  }
  return ok_reply(fmt::format("network {}: MAC {} -> VTEP {}", cmd.vni, text(cmd.mac), text(cmd.vtep)));
}

Reply Service::on(const dp_api::FdbDelCmd& cmd) {
  std::vector<NetworkInfo> nets;
  if (find_network(cmd.vni, nets) == nullptr) {
    return error_reply(ErrorCode::kNotFound, fmt::format("network {} does not exist", cmd.vni));
  }
  if (auto r = pipeline_.tables().del_remote_mac(cmd.vni, cmd.mac); !r) {
    // Not there (not found), or a local port's MAC (busy: remove the port).
    const ErrorCode code = r.error().code == ErrorCode::kNone ? ErrorCode::kInternal : r.error().code;
    return error_reply(code, r.error().message);
  }
  return ok_reply(fmt::format("network {}: MAC {} removed", cmd.vni, text(cmd.mac)));
}

Reply Service::on(const dp_api::NeighAddCmd& cmd) {
  std::vector<NetworkInfo> nets;
  if (find_network(cmd.vni, nets) == nullptr) {
    return error_reply(ErrorCode::kNotFound, fmt::format("network {} does not exist", cmd.vni));
  }
  const std::optional<MacAddress> before = neighbour_mac(cmd.vni, cmd.ip);
  auto added = std::visit(
      [&](const auto& ip) { return pipeline_.tables().add_neighbour(cmd.vni, to_core(ip), cmd.mac); }, cmd.ip);
  if (auto& r = added; !r) {
    return error_reply(ErrorCode::kBusy, r.error().message);
  }
  neighbour_added(cmd.vni, cmd.ip, cmd.mac, before, kInvalidPort);
  return ok_reply(fmt::format("network {}: {} is at {}", cmd.vni, text(cmd.ip), text(cmd.mac)));
}

Reply Service::on(const dp_api::NeighDelCmd& cmd) {
  std::vector<NetworkInfo> nets;
  if (find_network(cmd.vni, nets) == nullptr) {
    return error_reply(ErrorCode::kNotFound, fmt::format("network {} does not exist", cmd.vni));
  }
  const std::optional<MacAddress> before = neighbour_mac(cmd.vni, cmd.ip);
  auto removed =
      std::visit([&](const auto& ip) { return pipeline_.tables().del_neighbour(cmd.vni, to_core(ip)); }, cmd.ip);
  if (auto& r = removed; !r) {
    return error_reply(ErrorCode::kNotFound, r.error().message);
  }
  if (before) neighbour_removed(cmd.vni, cmd.ip, *before);
  return ok_reply(fmt::format("network {}: neighbour {} removed", cmd.vni, text(cmd.ip)));
}

Reply Service::on(const dp_api::FloodAddCmd& cmd) {
  std::vector<NetworkInfo> nets;
  const NetworkInfo* net = find_network(cmd.vni, nets);
  if (net == nullptr) {
    return error_reply(ErrorCode::kNotFound, fmt::format("network {} does not exist", cmd.vni));
  }
  if (cmd.vtep == config_.vtep.addr) {
    return error_reply(ErrorCode::kInvalid, fmt::format("VTEP {} is our own address", text(cmd.vtep)));
  }
  if (std::find(net->flood.begin(), net->flood.end(), to_core(cmd.vtep)) != net->flood.end()) {
    return error_reply(ErrorCode::kExists,
                       fmt::format("VTEP {} is already in the flood list of network {}", text(cmd.vtep), cmd.vni));
  }
  if (auto r = pipeline_.tables().add_flood_vtep(cmd.vni, to_core(cmd.vtep)); !r) {
    return error_reply(ErrorCode::kBusy, r.error().message);
  }
  return ok_reply(fmt::format("network {}: VTEP {} added to the flood list", cmd.vni, text(cmd.vtep)));
}

Reply Service::on(const dp_api::FloodDelCmd& cmd) {
  std::vector<NetworkInfo> nets;
  if (find_network(cmd.vni, nets) == nullptr) {
    return error_reply(ErrorCode::kNotFound, fmt::format("network {} does not exist", cmd.vni));
  }
  if (auto r = pipeline_.tables().del_flood_vtep(cmd.vni, to_core(cmd.vtep)); !r) {
    return error_reply(ErrorCode::kNotFound, r.error().message);
  }
  return ok_reply(fmt::format("network {}: VTEP {} removed from the flood list", cmd.vni, text(cmd.vtep)));
}

// ---- stats, dumps, health, version -----------------------------------------

Reply Service::on(const dp_api::StatsCmd&) {
  dp_api::Stats stats;
  const Stats sum = pipeline_.stats();

  std::vector<std::pair<PortId, std::uint32_t>> ports{{identity_.uplink.id, 0}};
  for (const auto& [iface, endpoint] : endpoints_) {
    ports.emplace_back(endpoint.port.id, endpoint.vni);
  }
  for (const auto& [port, vni] : ports) {
    const PortCounters c = ports_.counters(port);
    stats.ports.push_back(dp_api::PortStats{port, port_name(port), vni, c.rx_packets, c.rx_bytes, c.tx_packets,
                                            c.tx_bytes, c.rx_missed,
                                            sum.port(port, PortCounter::tx_dropped) + c.tx_errors, port_driver(port)});
  }
  for (const auto& net : pipeline_.tables().networks()) {
    dp_api::VniStats v{net.vni, {}};
    for (std::size_t i = 0; i < kNetCounterCount; ++i) {
      v.counters[std::string(kNetCounterNames[i])] = sum.networks[net.stats_slot][i];
    }
    stats.vnis.push_back(std::move(v));
  }
  for (std::size_t i = 0; i < kCounterCount; ++i) {
    const auto& info = kCounterInfo[i];
    if (info.kind == CounterKind::Drop) {
      stats.drops.push_back(dp_api::DropStat{std::string(info.name), sum.counters[i], std::string(info.help)});
    } else {
      stats.counters[std::string(info.name)] = sum.counters[i];
    }
  }
  std::uint64_t drops_total = sum.total_drops();
  for (const auto& c : ports_.type_counters()) {
    if (c.drop) {
      stats.drops.push_back(dp_api::DropStat{std::string(c.name), c.value, std::string(c.help)});
      drops_total += c.value;
    } else {
      stats.counters[std::string(c.name)] = c.value;
    }
  }
  stats.counters["drops_total"] = drops_total;
  stats.counters["api_requests_refused"] = requests_refused_;
  stats.counters["api_requests_oversize"] = requests_oversize_;
  stats.counters["api_requests_not_owner"] = requests_not_owner_;
  stats.counters["api_connections_cut"] = cut_connections_ ? cut_connections_() : 0;
  stats.counters["api_messages_unframed"] = unframed_messages_ ? unframed_messages_() : 0;
  stats.counters["mac_entries"] = pipeline_.tables().mac_count();
  stats.counters["table_memory_bytes"] = pipeline_.tables().memory_bytes();

  const auto per_lcore = pipeline_.stats_per_lcore();
  const auto workers = ports_.workers();
  for (std::size_t i = 0; i < per_lcore.size(); ++i) {
    const Stats& s = per_lcore[i].second;
    dp_api::LcoreStats l;
    l.lcore_id = i < workers.size() ? workers[i].lcore_id : per_lcore[i].first;
    l.rx_packets = s[Counter::rx_uplink] + s[Counter::rx_endpoint];
    l.tx_packets = s[Counter::tx];
    if (i < workers.size()) {
      l.polls = workers[i].polls;
      l.busy_polls = workers[i].busy_polls;
      l.idle_sleeps = workers[i].idle_sleeps;
    }
    stats.lcores.push_back(l);
  }
  // The spin window's polls (no per-lcore field in v1): totals over the workers.
  std::uint64_t spin_polls = 0;
  std::uint64_t spin_yields = 0;
  for (const auto& w : workers) {
    spin_polls += w.spin_polls;
    spin_yields += w.spin_yields;
  }
  for (const auto& [name, value] : ports_.extra_counters()) {
    stats.counters[name] = value;
  }
  stats.counters["neighbour_announcements"] = announced_;
  stats.counters["neighbour_announcements_failed"] = announce_failed_;
  stats.counters["idle_spin_polls"] = spin_polls;
  stats.counters["idle_spin_yields"] = spin_yields;
  return ok_reply("", std::move(stats));
}

Reply Service::on(const dp_api::DumpCmd&) {
  dp_api::Dump dump;
  for (const auto& net : pipeline_.tables().networks()) {
    dump.networks.push_back(dp_api::NetworkEntry{net.vni, net.flood_unknown, to_api(net.flood)});
  }
  for (const auto& [iface, endpoint] : endpoints_) {
    dump.ports.push_back(dp_api::PortEntry{endpoint.port.id, iface, endpoint.vni, endpoint.mac, endpoint.ips,
                                           endpoint.ips6, endpoint.port.driver, ports_.link_up(endpoint.port.id),
                                           offload_names(ports_.offloads(endpoint.port.id))});
  }
  for (const auto& mac : pipeline_.tables().macs()) {
    dp_api::FdbEntry entry{mac.vni, mac.mac, std::nullopt, {}};
    if (mac.local) {
      entry.iface = port_name(mac.port);
    } else {
      entry.vtep = to_api(mac.vtep);
    }
    dump.fdb.push_back(std::move(entry));
  }
  for (const auto& neigh : pipeline_.tables().neighbours()) {
    dump.neighbors.push_back(dp_api::NeighEntry{neigh.vni, to_api(neigh.ip), neigh.mac});
  }
  for (const auto& neigh : pipeline_.tables().neighbours6()) {
    dump.neighbors.push_back(dp_api::NeighEntry{neigh.vni, to_api(neigh.ip), neigh.mac});
  }
  for (const auto& entry : resolver_.entries(std::chrono::steady_clock::now())) {
    dump.underlay.push_back(dp_api::UnderlayNeighbor{entry.ip, entry.mac, entry.state, entry.vteps});
  }
  for (const auto& vtep : resolver_.unroutable()) {
    dump.underlay.push_back(
        dp_api::UnderlayNeighbor{std::nullopt, std::nullopt, "no route (off-link, no --gateway)", {vtep}});
  }
  return ok_reply("", std::move(dump));
}

Reply Service::on(const dp_api::HealthCmd&) {
  dp_api::Health h;
  h.boot_id = identity_.boot_id;
  h.start_time_unix_ms = identity_.start_time_unix_ms;
  h.uptime_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - identity_.started)
          .count());
  h.uplink = config_.uplink;
  h.uplink_driver = identity_.uplink.driver;
  h.uplink_link_up = ports_.link_up(identity_.uplink.id);
  h.vtep_ip = config_.vtep;
  h.gateway = config_.gateway;
  h.workers = static_cast<std::uint32_t>(ports_.workers().size());
  h.ports = static_cast<std::uint32_t>(endpoints_.size());
  h.networks = static_cast<std::uint32_t>(pipeline_.tables().networks().size());
  h.pid = static_cast<std::uint32_t>(getpid());
  h.underlay_mtu = identity_.underlay_mtu;
  h.endpoint_mtu = identity_.underlay_mtu - static_cast<std::uint32_t>(kEncapHeaderSize);
  h.endpoint_driver = driver_name(config_.endpoint_driver);
  return ok_reply("", std::move(h));
}

Reply Service::on(const dp_api::VersionCmd&) {
  return ok_reply("", dp_api::Version{FERRY_VERSION, dp_api::kApiVersion, rte_version()});
}

Reply Service::on(const dp_api::VtepStatusCmd&) {
  if (!vtep_status_) {
    return error_reply(ErrorCode::kInternal, "this data plane has no VTEP echo");
  }
  return ok_reply("", vtep_status_());
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

// ---- neighbour announcements -------------------------------------------------

std::optional<MacAddress> Service::neighbour_mac(std::uint32_t vni, const NeighbourMoves::Address& ip) const {
  return std::visit([&](const auto& addr) { return pipeline_.tables().neighbour_mac(vni, to_core(addr)); }, ip);
}

void Service::neighbour_removed(std::uint32_t vni, const NeighbourMoves::Address& ip, const MacAddress& mac) {
  moves_.removed(vni, ip, mac, NeighbourMoves::Clock::now());
}

// A moved address is announced on every local port of the network but the
// new owner's own (`except`), one frame each, through the worker that drains
// injected frames.
void Service::neighbour_added(std::uint32_t vni, const NeighbourMoves::Address& ip, const MacAddress& mac,
                              std::optional<MacAddress> before, PortId except) {
  if (!moves_.added(vni, ip, mac, before, NeighbourMoves::Clock::now()) || !send_frame_) return;
  std::array<std::uint8_t, kUnsolicitedNaFrameSize> buf{};
  std::span<const std::uint8_t> frame;
  if (const auto* v4 = std::get_if<dp_api::Ipv4>(&ip)) {
    build_gratuitous_arp(std::span<std::uint8_t, kGarpFrameSize>(buf.data(), kGarpFrameSize), mac, *v4);
    frame = {buf.data(), kGarpFrameSize};
  } else {
    build_unsolicited_na(std::span<std::uint8_t, kUnsolicitedNaFrameSize>(buf), mac, std::get<dp_api::Ipv6>(ip));
    frame = {buf.data(), kUnsolicitedNaFrameSize};
  }
  std::uint32_t sent = 0;
  for (const auto& [iface, endpoint] : endpoints_) {
    if (endpoint.vni != vni || endpoint.port.id == except) continue;
    if (send_frame_(frame, endpoint.port.id)) {
      ++announced_;
      ++sent;
    } else {
      ++announce_failed_;
    }
  }
  spdlog::info("network {}: {} moved to {} (was {}): announced on {} local port(s)", vni, text(ip), text(mac),
               before ? text(*before) : std::string("a removed entry"), sent);
}

}  // namespace ferry::dataplane::app
