#include "dataplane/api/reply.h"

#include <fmt/format.h>

#include <climits>
#include <type_traits>

#include "common/printable.h"

namespace ferry::dp_api {
namespace {

// ---- typed -> wire ------------------------------------------------------------

void encode(const PortAdded& in, v1::PortAdded& out) {
  out.set_port_id(in.port_id);
  out.set_driver(in.driver);
}

void encode(const Stats& in, v1::Stats& out) {
  for (const auto& p : in.ports) {
    auto* o = out.add_ports();
    o->set_port_id(p.port_id);
    o->set_name(p.name);
    o->set_vni(p.vni);
    o->set_rx_packets(p.rx_packets);
    o->set_rx_bytes(p.rx_bytes);
    o->set_tx_packets(p.tx_packets);
    o->set_tx_bytes(p.tx_bytes);
    o->set_rx_missed(p.rx_missed);
    o->set_tx_dropped(p.tx_dropped);
    o->set_driver(p.driver);
  }
  for (const auto& v : in.vnis) {
    auto* o = out.add_vnis();
    o->set_vni(v.vni);
    for (const auto& [name, value] : v.counters) (*o->mutable_counters())[name] = value;
  }
  for (const auto& d : in.drops) {
    auto* o = out.add_drops();
    o->set_reason(d.reason);
    o->set_packets(d.packets);
    o->set_help(d.help);
  }
  for (const auto& l : in.lcores) {
    auto* o = out.add_lcores();
    o->set_lcore_id(l.lcore_id);
    o->set_rx_packets(l.rx_packets);
    o->set_tx_packets(l.tx_packets);
    o->set_polls(l.polls);
    o->set_busy_polls(l.busy_polls);
    o->set_idle_sleeps(l.idle_sleeps);
  }
  for (const auto& [name, value] : in.counters) (*out.mutable_counters())[name] = value;
}

void encode(const Dump& in, v1::Dump& out) {
  for (const auto& n : in.networks) {
    auto* o = out.add_networks();
    o->set_vni(n.vni);
    o->set_flood_unknown(n.flood_unknown);
    for (const auto& vtep : n.flood_vteps) o->add_flood_vteps(format_ipv4(vtep));
  }
  for (const auto& p : in.ports) {
    auto* o = out.add_ports();
    o->set_port_id(p.port_id);
    o->set_iface(p.iface);
    o->set_vni(p.vni);
    o->set_mac(p.mac.to_string());
    for (const auto& ip : p.ips) o->add_ips(format_ipv4_prefix(ip));
    for (const auto& ip : p.ips6) o->add_ips(format_ipv6_prefix(ip));
    o->set_driver(p.driver);
    o->set_link_up(p.link_up);
    for (const auto& name : p.offloads) o->add_offloads(name);
  }
  for (const auto& f : in.fdb) {
    auto* o = out.add_fdb();
    o->set_vni(f.vni);
    o->set_mac(f.mac.to_string());
    if (f.vtep) o->set_vtep(format_ipv4(*f.vtep));
    o->set_iface(f.iface);
  }
  for (const auto& n : in.neighbors) {
    auto* o = out.add_neighbors();
    o->set_vni(n.vni);
    o->set_ip(format_ip(n.ip));
    o->set_mac(n.mac.to_string());
  }
  for (const auto& u : in.underlay) {
    auto* o = out.add_underlay();
    if (u.ip) o->set_ip(format_ipv4(*u.ip));
    if (u.mac) o->set_mac(u.mac->to_string());
    o->set_state(u.state);
    for (const auto& vtep : u.vteps) o->add_vteps(format_ipv4(vtep));
  }
}

void encode(const Health& in, v1::Health& out) {
  out.set_boot_id(in.boot_id);
  out.set_start_time_unix_ms(in.start_time_unix_ms);
  out.set_uptime_ms(in.uptime_ms);
  out.set_uplink(in.uplink);
  out.set_uplink_driver(in.uplink_driver);
  out.set_uplink_link_up(in.uplink_link_up);
  if (in.vtep_ip) out.set_vtep_ip(format_ipv4_prefix(*in.vtep_ip));
  if (in.gateway) out.set_gateway(format_ipv4(*in.gateway));
  out.set_workers(in.workers);
  out.set_ports(in.ports);
  out.set_networks(in.networks);
  out.set_pid(in.pid);
  out.set_underlay_mtu(in.underlay_mtu);
  out.set_endpoint_mtu(in.endpoint_mtu);
  out.set_endpoint_driver(in.endpoint_driver);
}

void encode(const VtepStatus& in, v1::VtepStatus& out) {
  out.set_interval_ms(in.interval_ms);
  out.set_echo_vni(in.echo_vni);
  out.set_alive_intervals(in.alive_intervals);
  for (const auto& v : in.vteps) {
    auto* o = out.add_vteps();
    if (v.vtep) o->set_vtep(format_ipv4(*v.vtep));
    o->set_resolved(v.resolved);
    o->set_requests_sent(v.requests_sent);
    o->set_replies(v.replies);
    o->set_requests_answered(v.requests_answered);
    if (v.last_reply_ms) o->set_last_reply_ms(*v.last_reply_ms);
    if (v.last_request_ms) o->set_last_request_ms(*v.last_request_ms);
    o->set_rtt_us(v.rtt_us);
    o->set_alive(v.alive);
  }
  for (const auto& [name, value] : in.counters) (*out.mutable_counters())[name] = value;
}

void encode(const Version& in, v1::Version& out) {
  out.set_software(in.software);
  out.set_api_version(in.api_version);
  out.set_dpdk(in.dpdk);
}

v1::ErrorCode wire_code(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNone:
      return v1::ERROR_CODE_NONE;
    case ErrorCode::kNotFound:
      return v1::ERROR_CODE_NOT_FOUND;
    case ErrorCode::kExists:
      return v1::ERROR_CODE_EXISTS;
    case ErrorCode::kInvalid:
      return v1::ERROR_CODE_INVALID;
    case ErrorCode::kBusy:
      return v1::ERROR_CODE_BUSY;
    case ErrorCode::kInternal:
      return v1::ERROR_CODE_INTERNAL;
  }
  return v1::ERROR_CODE_INTERNAL;
}

// ---- wire -> typed ------------------------------------------------------------

// An address field of a reply, named in the error when it does not parse.
// Its text is echoed only when short: a reply is not trusted to be sane.
template <typename Parse>
auto address(std::string_view what, const std::string& text, Parse parse) -> decltype(parse(text)) {
  if (text.size() > kMaxTextFieldSize) {
    return make_error("{}: {} bytes where an address belongs", what, text.size());
  }
  auto parsed = parse(text);
  if (!parsed) return parsed.error().wrap(what);
  return parsed;
}

// Any IPv4 or IPv6 address (no endpoint rules: a dump shows what is there).
Result<IpAddress> any_ip(std::string_view text) {
  if (text.find(':') == std::string_view::npos) {
    FERRY_TRY(v4, parse_ipv4(text));
    return IpAddress{v4};
  }
  FERRY_TRY(v6, parse_ipv6(text));
  return IpAddress{v6};
}

Result<std::vector<Ipv4>> ipv4_list(std::string_view what, const google::protobuf::RepeatedPtrField<std::string>& in) {
  std::vector<Ipv4> out;
  out.reserve(static_cast<std::size_t>(in.size()));
  for (const auto& text : in) {
    FERRY_TRY(ip, address(what, text, parse_ipv4));
    out.push_back(ip);
  }
  return out;
}

PortAdded parse(const v1::PortAdded& in) { return PortAdded{in.port_id(), in.driver()}; }

Stats parse(const v1::Stats& in) {
  Stats out;
  for (const auto& p : in.ports()) {
    out.ports.push_back(PortStats{p.port_id(), p.name(), p.vni(), p.rx_packets(), p.rx_bytes(), p.tx_packets(),
                                  p.tx_bytes(), p.rx_missed(), p.tx_dropped(), p.driver()});
  }
  for (const auto& v : in.vnis()) {
    out.vnis.push_back(VniStats{v.vni(), {v.counters().begin(), v.counters().end()}});
  }
  for (const auto& d : in.drops()) out.drops.push_back(DropStat{d.reason(), d.packets(), d.help()});
  for (const auto& l : in.lcores()) {
    out.lcores.push_back(
        LcoreStats{l.lcore_id(), l.rx_packets(), l.tx_packets(), l.polls(), l.busy_polls(), l.idle_sleeps()});
  }
  out.counters = {in.counters().begin(), in.counters().end()};
  return out;
}

Result<PortEntry> parse(const v1::PortEntry& in) {
  PortEntry out{in.port_id(), in.iface(), in.vni(), {}, {}, {}, in.driver(), in.link_up(), {}};
  out.offloads.assign(in.offloads().begin(), in.offloads().end());
  const std::string what = fmt::format("dump: port {}", in.port_id());
  FERRY_TRY(mac, address(what + " mac", in.mac(), parse_mac));
  out.mac = mac;
  for (const auto& text : in.ips()) {
    if (text.find(':') == std::string::npos) {
      FERRY_TRY(v4, address(what + " ips", text, [](std::string_view t) { return parse_ipv4_prefix(t); }));
      out.ips.push_back(v4);
    } else {
      FERRY_TRY(v6, address(what + " ips", text, [](std::string_view t) { return parse_ipv6_prefix(t); }));
      out.ips6.push_back(v6);
    }
  }
  return out;
}

Result<Dump> parse(const v1::Dump& in) {
  Dump out;
  for (const auto& n : in.networks()) {
    FERRY_TRY(vteps, ipv4_list(fmt::format("dump: network {} flood_vteps", n.vni()), n.flood_vteps()));
    out.networks.push_back(NetworkEntry{n.vni(), n.flood_unknown(), std::move(vteps)});
  }
  for (const auto& p : in.ports()) {
    FERRY_TRY(port, parse(p));
    out.ports.push_back(std::move(port));
  }
  for (const auto& f : in.fdb()) {
    const std::string what = fmt::format("dump: fdb entry of network {}", f.vni());
    FERRY_TRY(mac, address(what + " mac", f.mac(), parse_mac));
    FdbEntry entry{f.vni(), mac, std::nullopt, f.iface()};
    if (!f.vtep().empty()) {
      FERRY_TRY(vtep, address(what + " vtep", f.vtep(), parse_ipv4));
      entry.vtep = vtep;
    }
    out.fdb.push_back(std::move(entry));
  }
  for (const auto& n : in.neighbors()) {
    const std::string what = fmt::format("dump: neighbour of network {}", n.vni());
    FERRY_TRY(ip, address(what + " ip", n.ip(), any_ip));
    FERRY_TRY(mac, address(what + " mac", n.mac(), parse_mac));
    out.neighbors.push_back(NeighEntry{n.vni(), ip, mac});
  }
  for (const auto& u : in.underlay()) {
    UnderlayNeighbor entry{std::nullopt, std::nullopt, u.state(), {}};
    if (!u.ip().empty()) {
      FERRY_TRY(ip, address("dump: underlay ip", u.ip(), parse_ipv4));
      entry.ip = ip;
    }
    if (!u.mac().empty()) {
      FERRY_TRY(mac, address("dump: underlay mac", u.mac(), parse_mac));
      entry.mac = mac;
    }
    FERRY_TRY(vteps, ipv4_list("dump: underlay vteps", u.vteps()));
    entry.vteps = std::move(vteps);
    out.underlay.push_back(std::move(entry));
  }
  return out;
}

Result<Health> parse(const v1::Health& in) {
  Health out;
  out.boot_id = in.boot_id();
  out.start_time_unix_ms = in.start_time_unix_ms();
  out.uptime_ms = in.uptime_ms();
  out.uplink = in.uplink();
  out.uplink_driver = in.uplink_driver();
  out.uplink_link_up = in.uplink_link_up();
  if (!in.vtep_ip().empty()) {
    FERRY_TRY(vtep, address("health: vtep_ip", in.vtep_ip(), [](std::string_view t) { return parse_ipv4_prefix(t); }));
    out.vtep_ip = vtep;
  }
  if (!in.gateway().empty()) {
    FERRY_TRY(gateway, address("health: gateway", in.gateway(), parse_ipv4));
    out.gateway = gateway;
  }
  out.workers = in.workers();
  out.ports = in.ports();
  out.networks = in.networks();
  out.pid = in.pid();
  out.underlay_mtu = in.underlay_mtu();
  out.endpoint_mtu = in.endpoint_mtu();
  out.endpoint_driver = in.endpoint_driver();
  return out;
}

Version parse(const v1::Version& in) { return Version{in.software(), in.api_version(), in.dpdk()}; }

Result<VtepStatus> parse(const v1::VtepStatus& in) {
  VtepStatus out;
  out.interval_ms = in.interval_ms();
  out.echo_vni = in.echo_vni();
  out.alive_intervals = in.alive_intervals();
  for (const auto& v : in.vteps()) {
    VtepEchoEntry e;
    if (!v.vtep().empty()) {
      FERRY_TRY(ip, address("vtep_status: vtep", v.vtep(), parse_ipv4));
      e.vtep = ip;
    }
    e.resolved = v.resolved();
    e.requests_sent = v.requests_sent();
    e.replies = v.replies();
    e.requests_answered = v.requests_answered();
    if (v.has_last_reply_ms()) e.last_reply_ms = v.last_reply_ms();
    if (v.has_last_request_ms()) e.last_request_ms = v.last_request_ms();
    e.rtt_us = v.rtt_us();
    e.alive = v.alive();
    out.vteps.push_back(e);
  }
  for (const auto& [name, value] : in.counters()) out.counters[name] = value;
  return out;
}

Result<ReplyResult> parse_result(const v1::Reply& in) {
  switch (in.result_case()) {
    case v1::Reply::kPortAdded:
      return ReplyResult{parse(in.port_added())};
    case v1::Reply::kStats:
      return ReplyResult{parse(in.stats())};
    case v1::Reply::kDump: {
      FERRY_TRY(dump, parse(in.dump()));
      return ReplyResult{std::move(dump)};
    }
    case v1::Reply::kHealth: {
      FERRY_TRY(health, parse(in.health()));
      return ReplyResult{std::move(health)};
    }
    case v1::Reply::kVersion:
      return ReplyResult{parse(in.version())};
    case v1::Reply::kVtepStatus: {
      FERRY_TRY(status, parse(in.vtep_status()));
      return ReplyResult{std::move(status)};
    }
    case v1::Reply::RESULT_NOT_SET:
      break;
  }
  return ReplyResult{};
}

ErrorCode typed_code(v1::ErrorCode code) {
  switch (code) {
    case v1::ERROR_CODE_NOT_FOUND:
      return ErrorCode::kNotFound;
    case v1::ERROR_CODE_EXISTS:
      return ErrorCode::kExists;
    case v1::ERROR_CODE_INVALID:
      return ErrorCode::kInvalid;
    case v1::ERROR_CODE_BUSY:
      return ErrorCode::kBusy;
    case v1::ERROR_CODE_INTERNAL:
      return ErrorCode::kInternal;
    default:
      return ErrorCode::kNone;  // none, or a kind newer than this build
  }
}

}  // namespace

Reply ok_reply(std::string message, ReplyResult result) {
  return Reply{v1::STATUS_OK, ErrorCode::kNone, std::move(message), std::move(result)};
}

Reply error_reply(ErrorCode code, std::string message) {
  return error_reply(code, status_for_code(code), std::move(message));
}

Reply error_reply(ErrorCode code, v1::Status status, std::string message) {
  if (code == ErrorCode::kNone) code = code_for_status(status);
  return Reply{status, code, std::move(message), {}};
}

v1::Status status_for_code(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNone:
      return v1::STATUS_OK;
    case ErrorCode::kNotFound:
      return v1::STATUS_NOT_FOUND;
    case ErrorCode::kExists:
      return v1::STATUS_ALREADY_EXISTS;
    case ErrorCode::kInvalid:
      return v1::STATUS_INVALID_ARGUMENT;
    case ErrorCode::kBusy:
      return v1::STATUS_FAILED_PRECONDITION;
    case ErrorCode::kInternal:
      return v1::STATUS_INTERNAL;
  }
  return v1::STATUS_INTERNAL;
}

ErrorCode code_for_status(v1::Status status) {
  switch (status) {
    case v1::STATUS_OK:
      return ErrorCode::kNone;
    case v1::STATUS_NOT_FOUND:
      return ErrorCode::kNotFound;
    case v1::STATUS_ALREADY_EXISTS:
      return ErrorCode::kExists;
    case v1::STATUS_INVALID_ARGUMENT:
    case v1::STATUS_MALFORMED:
    case v1::STATUS_UNSUPPORTED_VERSION:
      return ErrorCode::kInvalid;
    case v1::STATUS_FAILED_PRECONDITION:
      return ErrorCode::kBusy;
    default:
      return ErrorCode::kInternal;  // INTERNAL, UNSPECIFIED, or a status newer than this build
  }
}

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNone:
      return "none";
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kExists:
      return "exists";
    case ErrorCode::kInvalid:
      return "invalid";
    case ErrorCode::kBusy:
      return "busy";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "?";
}

const char* status_name(v1::Status status) {
  switch (status) {
    case v1::STATUS_OK:
      return "ok";
    case v1::STATUS_INVALID_ARGUMENT:
      return "invalid argument";
    case v1::STATUS_NOT_FOUND:
      return "not found";
    case v1::STATUS_ALREADY_EXISTS:
      return "already exists";
    case v1::STATUS_FAILED_PRECONDITION:
      return "failed precondition";
    case v1::STATUS_MALFORMED:
      return "malformed request";
    case v1::STATUS_UNSUPPORTED_VERSION:
      return "unsupported version";
    case v1::STATUS_INTERNAL:
      return "internal error";
    default:
      return "unspecified";
  }
}

v1::Reply encode_reply(const Reply& reply) {
  v1::Reply out;
  out.set_status(reply.status);
  out.set_message(reply.message);
  if (!reply.ok()) out.set_code(wire_code(reply.code == ErrorCode::kNone ? code_for_status(reply.status) : reply.code));
  std::visit(
      [&out](const auto& result) {
        using T = std::decay_t<decltype(result)>;
        if constexpr (std::is_same_v<T, PortAdded>) {
          encode(result, *out.mutable_port_added());
        } else if constexpr (std::is_same_v<T, Stats>) {
          encode(result, *out.mutable_stats());
        } else if constexpr (std::is_same_v<T, Dump>) {
          encode(result, *out.mutable_dump());
        } else if constexpr (std::is_same_v<T, Health>) {
          encode(result, *out.mutable_health());
        } else if constexpr (std::is_same_v<T, Version>) {
          encode(result, *out.mutable_version());
        } else if constexpr (std::is_same_v<T, VtepStatus>) {
          encode(result, *out.mutable_vtep_status());
        }
      },
      reply.result);
  return out;
}

std::string encode_reply_bytes(const Reply& reply) { return encode_reply(reply).SerializeAsString(); }

Result<Reply> parse_reply(const v1::Reply& reply) {
  Reply out;
  out.status = reply.status();
  // A reply is not trusted to be sane: its words reach logs and terminals
  // printable and bounded.
  out.message = log::printable(reply.message(), kMaxReplyMessage);
  if (!out.ok()) {
    out.code = typed_code(reply.code());
    if (out.code == ErrorCode::kNone) out.code = code_for_status(out.status);
  }
  FERRY_TRY(result, parse_result(reply));
  out.result = std::move(result);
  return out;
}

Result<Reply> parse_reply_bytes(std::span<const std::uint8_t> bytes) {
  v1::Reply reply;
  if (bytes.size() > static_cast<std::size_t>(INT_MAX) ||
      !reply.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return make_error("the reply is not a ferry.dataplane.v1.Reply ({} bytes)", bytes.size());
  }
  return parse_reply(reply);
}

}  // namespace ferry::dp_api
