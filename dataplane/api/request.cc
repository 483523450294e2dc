#include "dataplane/api/request.h"

#include <fmt/format.h>

#include <type_traits>

#include "common/printable.h"
#include "dataplane/api/typed.h"

namespace ferry::dp_api {
namespace {

RequestError invalid(const Error& error) { return RequestError{v1::STATUS_INVALID_ARGUMENT, error.message}; }

// A text field of a request: bounded before it is parsed (and echoed in an
// error), so a hostile request costs a few checks and a short reply.
Result<std::string_view> field(std::string_view name, std::string_view text) {
  if (text.size() > kMaxTextFieldSize) {
    return make_error("field {} is {} bytes long, at most {}", name, text.size(), kMaxTextFieldSize);
  }
  return text;
}

Result<EndpointDriver> parse_driver(std::string_view name) {
  FERRY_TRY(text, field("driver", name));
  if (text.empty()) return EndpointDriver::kDefault;
  if (text == "af_packet") return EndpointDriver::kAfPacket;
  if (text == "af_xdp") return EndpointDriver::kAfXdp;
  if (text == "vnet") return EndpointDriver::kVnet;
  return make_error("bad driver '{}': use vnet, af_packet or af_xdp", text);
}

const char* driver_name(EndpointDriver driver) {
  switch (driver) {
    case EndpointDriver::kAfPacket:
      return "af_packet";
    case EndpointDriver::kAfXdp:
      return "af_xdp";
    case EndpointDriver::kVnet:
      return "vnet";
    case EndpointDriver::kDefault:
      break;
  }
  return "";
}

Result<MacAddress> unicast_mac(std::string_view text) {
  FERRY_TRY(checked, field("mac", text));
  return parse_unicast_mac(checked);
}

Result<Ipv4> vtep_field(std::string_view text) {
  FERRY_TRY(checked, field("vtep", text));
  return parse_unicast_ipv4(checked);
}

Result<IpAddress> neighbour_field(std::string_view text) {
  FERRY_TRY(checked, field("ip", text));
  return parse_neighbour_ip(checked);
}

// One address of a PortAdd, added to `ips` or `ips6`; refuses repeats.
Result<void> add_port_address(std::string_view text, std::vector<Ipv4Prefix>& ips, std::vector<Ipv6Prefix>& ips6) {
  FERRY_TRY(checked, field("ips", text));
  if (checked.find(':') != std::string_view::npos) {
    FERRY_TRY(prefix6, parse_ipv6_prefix(checked, /*allow_bare=*/true));
    if (auto why = ipv6_endpoint_refusal(prefix6.addr); !why.empty()) {
      return make_error("bad IP '{}': {}", checked, why);
    }
    for (const auto& seen : ips6) {
      if (seen.addr == prefix6.addr) return make_error("IP '{}' given twice", checked);
    }
    ips6.push_back(prefix6);
    return ok();
  }
  FERRY_TRY(prefix, parse_ipv4_prefix(checked, /*allow_bare=*/true));
  if (prefix.addr.value == 0 || prefix.addr.value >= 0xe0000000U) {
    return make_error("bad IP '{}': not a unicast host address", checked);
  }
  for (const auto& seen : ips) {
    if (seen.addr == prefix.addr) return make_error("IP '{}' given twice", checked);
  }
  ips.push_back(prefix);
  return ok();
}

template <typename Cmd>
Result<Command> as_command(Result<Cmd> cmd) {
  if (!cmd) return std::move(cmd).error();
  return Command{std::move(cmd).value()};
}

Result<Command> parse_op(const v1::Request& request) {
  switch (request.op_case()) {
    case v1::Request::kNetworkAdd:
      return as_command(make_network_add(request.network_add().vni(), request.network_add().flood_unknown()));
    case v1::Request::kNetworkDel:
      return as_command(make_network_del(request.network_del().vni()));
    case v1::Request::kNetworkSetFlood:
      return as_command(
          make_network_set_flood(request.network_set_flood().vni(), request.network_set_flood().flood_unknown()));
    case v1::Request::kPortAdd: {
      const auto& m = request.port_add();
      if (static_cast<std::size_t>(m.ips_size()) > kMaxPortAddresses) {
        return make_error("{} addresses for one port, at most {}", m.ips_size(), kMaxPortAddresses);
      }
      const std::vector<std::string> ips(m.ips().begin(), m.ips().end());
      return as_command(make_port_add(m.iface(), m.vni(), m.mac(), ips, m.driver()));
    }
    case v1::Request::kPortDel:
      return as_command(make_port_del(request.port_del().iface()));
    case v1::Request::kFdbAdd:
      return as_command(make_fdb_add(request.fdb_add().vni(), request.fdb_add().mac(), request.fdb_add().vtep()));
    case v1::Request::kFdbDel:
      return as_command(make_fdb_del(request.fdb_del().vni(), request.fdb_del().mac()));
    case v1::Request::kNeighAdd:
      return as_command(make_neigh_add(request.neigh_add().vni(), request.neigh_add().ip(), request.neigh_add().mac()));
    case v1::Request::kNeighDel:
      return as_command(make_neigh_del(request.neigh_del().vni(), request.neigh_del().ip()));
    case v1::Request::kFloodAdd:
      return as_command(make_flood_add(request.flood_add().vni(), request.flood_add().vtep()));
    case v1::Request::kFloodDel:
      return as_command(make_flood_del(request.flood_del().vni(), request.flood_del().vtep()));
    case v1::Request::kStatsGet:
      return Command{StatsCmd{}};
    case v1::Request::kDumpGet:
      return Command{DumpCmd{}};
    case v1::Request::kHealthGet:
      return Command{HealthCmd{}};
    case v1::Request::kVersionGet:
      return Command{VersionCmd{}};
    case v1::Request::kVtepStatusGet:
      return Command{VtepStatusCmd{}};
    case v1::Request::OP_NOT_SET:
      break;
  }
  return make_error("request has no operation set (or one this server does not know)");
}

// ---- command -> wire ---------------------------------------------------------

void encode(const NetworkAddCmd& c, v1::Request& r) {
  r.mutable_network_add()->set_vni(c.vni);
  r.mutable_network_add()->set_flood_unknown(c.flood_unknown);
}
void encode(const NetworkDelCmd& c, v1::Request& r) { r.mutable_network_del()->set_vni(c.vni); }
void encode(const NetworkSetFloodCmd& c, v1::Request& r) {
  r.mutable_network_set_flood()->set_vni(c.vni);
  r.mutable_network_set_flood()->set_flood_unknown(c.flood_unknown);
}
void encode(const PortAddCmd& c, v1::Request& r) {
  auto* m = r.mutable_port_add();
  m->set_iface(c.iface);
  m->set_vni(c.vni);
  m->set_mac(c.mac.to_string());
  for (const auto& ip : c.ips) m->add_ips(format_ipv4_prefix(ip));
  for (const auto& ip : c.ips6) m->add_ips(format_ipv6_prefix(ip));
  m->set_driver(driver_name(c.driver));
}
void encode(const PortDelCmd& c, v1::Request& r) { r.mutable_port_del()->set_iface(c.iface); }
void encode(const FdbAddCmd& c, v1::Request& r) {
  r.mutable_fdb_add()->set_vni(c.vni);
  r.mutable_fdb_add()->set_mac(c.mac.to_string());
  r.mutable_fdb_add()->set_vtep(format_ipv4(c.vtep));
}
void encode(const FdbDelCmd& c, v1::Request& r) {
  r.mutable_fdb_del()->set_vni(c.vni);
  r.mutable_fdb_del()->set_mac(c.mac.to_string());
}
void encode(const NeighAddCmd& c, v1::Request& r) {
  r.mutable_neigh_add()->set_vni(c.vni);
  r.mutable_neigh_add()->set_ip(format_ip(c.ip));
  r.mutable_neigh_add()->set_mac(c.mac.to_string());
}
void encode(const NeighDelCmd& c, v1::Request& r) {
  r.mutable_neigh_del()->set_vni(c.vni);
  r.mutable_neigh_del()->set_ip(format_ip(c.ip));
}
void encode(const FloodAddCmd& c, v1::Request& r) {
  r.mutable_flood_add()->set_vni(c.vni);
  r.mutable_flood_add()->set_vtep(format_ipv4(c.vtep));
}
void encode(const FloodDelCmd& c, v1::Request& r) {
  r.mutable_flood_del()->set_vni(c.vni);
  r.mutable_flood_del()->set_vtep(format_ipv4(c.vtep));
}
void encode(const StatsCmd&, v1::Request& r) { r.mutable_stats_get(); }
void encode(const DumpCmd&, v1::Request& r) { r.mutable_dump_get(); }
void encode(const HealthCmd&, v1::Request& r) { r.mutable_health_get(); }
void encode(const VersionCmd&, v1::Request& r) { r.mutable_version_get(); }
void encode(const VtepStatusCmd&, v1::Request& r) { r.mutable_vtep_status_get(); }

}  // namespace

// ---- commands from text ------------------------------------------------------

Result<NetworkAddCmd> make_network_add(std::uint32_t vni, bool flood_unknown) {
  FERRY_TRY(checked, check_vni(vni));
  return NetworkAddCmd{checked, flood_unknown};
}

Result<NetworkDelCmd> make_network_del(std::uint32_t vni) {
  FERRY_TRY(checked, check_vni(vni));
  return NetworkDelCmd{checked};
}

Result<NetworkSetFloodCmd> make_network_set_flood(std::uint32_t vni, bool flood_unknown) {
  FERRY_TRY(checked, check_vni(vni));
  return NetworkSetFloodCmd{checked, flood_unknown};
}

Result<PortAddCmd> make_port_add(std::string_view iface, std::uint32_t vni, std::string_view mac,
                                 std::span<const std::string> ips, std::string_view driver) {
  FERRY_TRY_VOID(check_iface_name(iface));
  FERRY_TRY(checked_vni, check_vni(vni));
  FERRY_TRY(checked_mac, unicast_mac(mac));
  if (ips.size() > kMaxPortAddresses) {
    return make_error("{} addresses for one port, at most {}", ips.size(), kMaxPortAddresses);
  }
  PortAddCmd cmd{std::string(iface), checked_vni, checked_mac, {}, {}, EndpointDriver::kDefault};
  for (const auto& text : ips) FERRY_TRY_VOID(add_port_address(text, cmd.ips, cmd.ips6));
  FERRY_TRY(checked_driver, parse_driver(driver));
  cmd.driver = checked_driver;
  return cmd;
}

Result<PortDelCmd> make_port_del(std::string_view iface) {
  FERRY_TRY_VOID(check_iface_name(iface));
  return PortDelCmd{std::string(iface)};
}

Result<FdbAddCmd> make_fdb_add(std::uint32_t vni, std::string_view mac, std::string_view vtep) {
  FERRY_TRY(checked_vni, check_vni(vni));
  FERRY_TRY(checked_mac, unicast_mac(mac));
  FERRY_TRY(checked_vtep, vtep_field(vtep));
  return FdbAddCmd{checked_vni, checked_mac, checked_vtep};
}

Result<FdbDelCmd> make_fdb_del(std::uint32_t vni, std::string_view mac) {
  FERRY_TRY(checked_vni, check_vni(vni));
  FERRY_TRY(checked_mac, unicast_mac(mac));
  return FdbDelCmd{checked_vni, checked_mac};
}

Result<NeighAddCmd> make_neigh_add(std::uint32_t vni, std::string_view ip, std::string_view mac) {
  FERRY_TRY(checked_vni, check_vni(vni));
  FERRY_TRY(checked_ip, neighbour_field(ip));
  FERRY_TRY(checked_mac, unicast_mac(mac));
  return NeighAddCmd{checked_vni, checked_ip, checked_mac};
}

Result<NeighDelCmd> make_neigh_del(std::uint32_t vni, std::string_view ip) {
  FERRY_TRY(checked_vni, check_vni(vni));
  FERRY_TRY(checked_ip, neighbour_field(ip));
  return NeighDelCmd{checked_vni, checked_ip};
}

Result<FloodAddCmd> make_flood_add(std::uint32_t vni, std::string_view vtep) {
  FERRY_TRY(checked_vni, check_vni(vni));
  FERRY_TRY(checked_vtep, vtep_field(vtep));
  return FloodAddCmd{checked_vni, checked_vtep};
}

Result<FloodDelCmd> make_flood_del(std::uint32_t vni, std::string_view vtep) {
  FERRY_TRY(checked_vni, check_vni(vni));
  FERRY_TRY(checked_vtep, vtep_field(vtep));
  return FloodDelCmd{checked_vni, checked_vtep};
}

// ---- commands from typed values ----------------------------------------------

namespace {

Result<MacAddress> unicast_mac(const MacAddress& mac) {
  if (mac.is_multicast()) {
    return make_error("invalid MAC address '{}': multicast/broadcast (the low bit of the first octet is set)",
                      mac.to_string());
  }
  if (mac.is_zero()) return make_error("invalid MAC address '{}': all zero", mac.to_string());
  return mac;
}

// One typed address of a PortAdd, by add_port_address's rules.
Result<void> add_port_address(const ferry::IpPrefix& prefix, std::vector<Ipv4Prefix>& ips,
                              std::vector<Ipv6Prefix>& ips6) {
  FERRY_TRY(ip, neighbour_ip(prefix.address));
  if (const auto* v6 = std::get_if<Ipv6>(&ip)) {
    if (prefix.prefix_length > 128) return make_error("bad prefix '{}': length above 128", prefix.to_string());
    for (const auto& seen : ips6) {
      if (seen.addr == *v6) return make_error("IP '{}' given twice", prefix.to_string());
    }
    ips6.push_back(Ipv6Prefix{*v6, static_cast<std::uint8_t>(prefix.prefix_length)});
    return ok();
  }
  const Ipv4 v4 = std::get<Ipv4>(ip);
  if (prefix.prefix_length > 32) return make_error("bad prefix '{}': length above 32", prefix.to_string());
  for (const auto& seen : ips) {
    if (seen.addr == v4) return make_error("IP '{}' given twice", prefix.to_string());
  }
  ips.push_back(Ipv4Prefix{v4, static_cast<std::uint8_t>(prefix.prefix_length)});
  return ok();
}

}  // namespace

Result<PortAddCmd> make_port_add(std::string_view iface, std::uint32_t vni, const MacAddress& mac,
                                 std::span<const ferry::IpPrefix> ips, EndpointDriver driver) {
  FERRY_TRY_VOID(check_iface_name(iface));
  FERRY_TRY(checked_vni, check_vni(vni));
  FERRY_TRY(checked_mac, unicast_mac(mac));
  if (ips.size() > kMaxPortAddresses) {
    return make_error("{} addresses for one port, at most {}", ips.size(), kMaxPortAddresses);
  }
  PortAddCmd cmd{std::string(iface), checked_vni, checked_mac, {}, {}, driver};
  for (const auto& prefix : ips) FERRY_TRY_VOID(add_port_address(prefix, cmd.ips, cmd.ips6));
  return cmd;
}

Result<FdbAddCmd> make_fdb_add(std::uint32_t vni, const MacAddress& mac, const ferry::IpAddress& vtep) {
  FERRY_TRY(checked_vni, check_vni(vni));
  FERRY_TRY(checked_mac, unicast_mac(mac));
  FERRY_TRY(checked_vtep, unicast_ipv4(vtep));
  return FdbAddCmd{checked_vni, checked_mac, checked_vtep};
}

Result<FdbDelCmd> make_fdb_del(std::uint32_t vni, const MacAddress& mac) {
  FERRY_TRY(checked_vni, check_vni(vni));
  FERRY_TRY(checked_mac, unicast_mac(mac));
  return FdbDelCmd{checked_vni, checked_mac};
}

Result<NeighAddCmd> make_neigh_add(std::uint32_t vni, const ferry::IpAddress& ip, const MacAddress& mac) {
  FERRY_TRY(checked_vni, check_vni(vni));
  FERRY_TRY(checked_ip, neighbour_ip(ip));
  FERRY_TRY(checked_mac, unicast_mac(mac));
  return NeighAddCmd{checked_vni, checked_ip, checked_mac};
}

Result<NeighDelCmd> make_neigh_del(std::uint32_t vni, const ferry::IpAddress& ip) {
  FERRY_TRY(checked_vni, check_vni(vni));
  FERRY_TRY(checked_ip, neighbour_ip(ip));
  return NeighDelCmd{checked_vni, checked_ip};
}

Result<FloodAddCmd> make_flood_add(std::uint32_t vni, const ferry::IpAddress& vtep) {
  FERRY_TRY(checked_vni, check_vni(vni));
  FERRY_TRY(checked_vtep, unicast_ipv4(vtep));
  return FloodAddCmd{checked_vni, checked_vtep};
}

Result<FloodDelCmd> make_flood_del(std::uint32_t vni, const ferry::IpAddress& vtep) {
  FERRY_TRY(checked_vni, check_vni(vni));
  FERRY_TRY(checked_vtep, unicast_ipv4(vtep));
  return FloodDelCmd{checked_vni, checked_vtep};
}

// ---- checks ------------------------------------------------------------------

Result<void> check_iface_name(std::string_view name) {
  if (name.empty()) {
    return make_error("missing interface name");
  }
  if (name.size() > kMaxIfaceLength) {
    FERRY_TRY(shown, field("iface", name));
    return make_error("bad interface name '{}': longer than {} bytes", shown, kMaxIfaceLength);
  }
  if (name == "." || name == "..") {
    return make_error("bad interface name '{}'", name);
  }
  for (char c : name) {
    if (c == '/' || c == ',' || c == '=' || c == ':' || static_cast<unsigned char>(c) <= ' ' ||
        static_cast<unsigned char>(c) >= 0x7f) {
      return make_error("bad interface name '{}': contains a character that is not allowed", log::printable(name));
    }
  }
  return ok();
}

// ---- wire <-> command --------------------------------------------------------

std::variant<Command, RequestError> parse_request_bytes(std::span<const std::uint8_t> bytes, RequestMeta* meta) {
  if (bytes.size() > kMaxRequestBytes) {
    return RequestError{v1::STATUS_MALFORMED,
                        fmt::format("request is {} bytes, at most {}", bytes.size(), kMaxRequestBytes)};
  }
  v1::Request request;
  if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return RequestError{v1::STATUS_MALFORMED, "request is not a ferry.dataplane.v1.Request"};
  }
  return parse_request(request, meta);
}

std::variant<Command, RequestError> parse_request(const v1::Request& request, RequestMeta* meta) {
  if (request.api_version() > kApiVersion) {
    return RequestError{v1::STATUS_UNSUPPORTED_VERSION, fmt::format("api_version {} is newer than this server's {}",
                                                                    request.api_version(), kApiVersion)};
  }
  auto client = field("client", request.client());
  if (!client) {
    return invalid(client.error());
  }
  if (meta != nullptr) {
    *meta = RequestMeta{std::string(*client), request.force()};
  }
  auto command = parse_op(request);
  if (!command) {
    return invalid(command.error());
  }
  return std::move(command).value();
}

v1::Request encode_request(const Command& command) {
  v1::Request request;
  request.set_api_version(kApiVersion);
  std::visit([&request](const auto& cmd) { encode(cmd, request); }, command);
  return request;
}

void set_meta(v1::Request& request, const RequestMeta& meta) {
  request.set_client(meta.client);
  request.set_force(meta.force);
}

bool is_mutation(const Command& command) {
  return !std::holds_alternative<StatsCmd>(command) && !std::holds_alternative<DumpCmd>(command) &&
         !std::holds_alternative<HealthCmd>(command) && !std::holds_alternative<VersionCmd>(command) &&
         !std::holds_alternative<VtepStatusCmd>(command);
}

std::string encode_request_bytes(const Command& command) { return encode_request(command).SerializeAsString(); }

}  // namespace ferry::dp_api
