#include "dataplane/api/request.h"

#include <fmt/format.h>

namespace ferry::dp_api {
namespace {

RequestError invalid(const Error& error) { return RequestError{v1::STATUS_INVALID_ARGUMENT, error.message}; }

Result<std::uint32_t> vni_field(std::uint32_t vni) { return check_vni(vni); }

Result<EndpointDriver> parse_driver(const std::string& name) {
  if (name.empty()) {
    return EndpointDriver::kDefault;
  }
  if (name == "af_packet") {
    return EndpointDriver::kAfPacket;
  }
  if (name == "af_xdp") {
    return EndpointDriver::kAfXdp;
  }
  if (name == "vnet") {
    return EndpointDriver::kVnet;
  }
  return make_error("bad driver '{}': use vnet, af_packet or af_xdp", name);
}

// Each parse_* returns the command or the first bad field's error; every
// such error is an invalid argument (see parse_request).
Result<Command> parse(const v1::PortAdd& m) {
  FERRY_TRY_VOID(check_iface_name(m.iface()));
  FERRY_TRY(vni, vni_field(m.vni()));
  FERRY_TRY(mac, parse_unicast_mac(m.mac()));
  std::vector<Ipv4Prefix> ips;
  std::vector<Ipv6Prefix> ips6;
  for (const auto& text : m.ips()) {
    if (text.find(':') != std::string::npos) {
      FERRY_TRY(prefix6, parse_ipv6_prefix(text, /*allow_bare=*/true));
      if (auto why = ipv6_endpoint_refusal(prefix6.addr); !why.empty()) {
        return make_error("bad IP '{}': {}", text, why);
      }
      for (const auto& seen : ips6) {
        if (seen.addr == prefix6.addr) {
          return make_error("IP '{}' given twice", text);
        }
      }
      ips6.push_back(prefix6);
      continue;
    }
    FERRY_TRY(prefix, parse_ipv4_prefix(text, /*allow_bare=*/true));
    if (prefix.addr.value == 0 || prefix.addr.value >= 0xe0000000U) {
      return make_error("bad IP '{}': not a unicast host address", text);
    }
    for (const auto& seen : ips) {
      if (seen.addr == prefix.addr) {
        return make_error("IP '{}' given twice", text);
      }
    }
    ips.push_back(prefix);
  }
  FERRY_TRY(driver, parse_driver(m.driver()));
  return Command{PortAddCmd{m.iface(), vni, mac, std::move(ips), std::move(ips6), driver}};
}

Result<Command> parse(const v1::FdbAdd& m) {
  FERRY_TRY(vni, vni_field(m.vni()));
  FERRY_TRY(mac, parse_unicast_mac(m.mac()));
  FERRY_TRY(vtep, parse_unicast_ipv4(m.vtep()));
  return Command{FdbAddCmd{vni, mac, vtep}};
}

Result<Command> parse(const v1::FdbDel& m) {
  FERRY_TRY(vni, vni_field(m.vni()));
  FERRY_TRY(mac, parse_unicast_mac(m.mac()));
  return Command{FdbDelCmd{vni, mac}};
}

Result<Command> parse(const v1::NeighAdd& m) {
  FERRY_TRY(vni, vni_field(m.vni()));
  FERRY_TRY(ip, parse_neighbour_ip(m.ip()));
  FERRY_TRY(mac, parse_unicast_mac(m.mac()));
  return Command{NeighAddCmd{vni, ip, mac}};
}

Result<Command> parse(const v1::NeighDel& m) {
  FERRY_TRY(vni, vni_field(m.vni()));
  FERRY_TRY(ip, parse_neighbour_ip(m.ip()));
  return Command{NeighDelCmd{vni, ip}};
}

template <typename Cmd, typename Msg>
Result<Command> parse_flood(const Msg& m) {
  FERRY_TRY(vni, vni_field(m.vni()));
  FERRY_TRY(vtep, parse_unicast_ipv4(m.vtep()));
  return Command{Cmd{vni, vtep}};
}

template <typename Cmd>
Result<Command> parse_vni_only(std::uint32_t raw_vni) {
  FERRY_TRY(vni, vni_field(raw_vni));
  return Command{Cmd{vni}};
}

Result<Command> parse_op(const v1::Request& request) {
  switch (request.op_case()) {
    case v1::Request::kNetworkAdd: {
      FERRY_TRY(vni, vni_field(request.network_add().vni()));
      return Command{NetworkAddCmd{vni, request.network_add().flood_unknown()}};
    }
    case v1::Request::kNetworkDel:
      return parse_vni_only<NetworkDelCmd>(request.network_del().vni());
    case v1::Request::kNetworkSetFlood: {
      FERRY_TRY(vni, vni_field(request.network_set_flood().vni()));
      return Command{NetworkSetFloodCmd{vni, request.network_set_flood().flood_unknown()}};
    }
    case v1::Request::kPortAdd:
      return parse(request.port_add());
    case v1::Request::kPortDel:
      FERRY_TRY_VOID(check_iface_name(request.port_del().iface()));
      return Command{PortDelCmd{request.port_del().iface()}};
    case v1::Request::kFdbAdd:
      return parse(request.fdb_add());
    case v1::Request::kFdbDel:
      return parse(request.fdb_del());
    case v1::Request::kNeighAdd:
      return parse(request.neigh_add());
    case v1::Request::kNeighDel:
      return parse(request.neigh_del());
    case v1::Request::kFloodAdd:
      return parse_flood<FloodAddCmd>(request.flood_add());
    case v1::Request::kFloodDel:
      return parse_flood<FloodDelCmd>(request.flood_del());
    case v1::Request::kStatsGet:
      return Command{StatsCmd{}};
    case v1::Request::kDumpGet:
      return Command{DumpCmd{}};
    case v1::Request::kHealthGet:
      return Command{HealthCmd{}};
    case v1::Request::kVersionGet:
      return Command{VersionCmd{}};
    case v1::Request::OP_NOT_SET:
      break;
  }
  return make_error("request has no operation set (or one this server does not know)");
}

}  // namespace

Result<void> check_iface_name(std::string_view name) {
  if (name.empty()) {
    return make_error("missing interface name");
  }
  if (name.size() > kMaxIfaceLength) {
    return make_error("bad interface name '{}': longer than {} bytes", name, kMaxIfaceLength);
  }
  if (name == "." || name == "..") {
    return make_error("bad interface name '{}'", name);
  }
  for (char c : name) {
    if (c == '/' || c == ',' || c == '=' || c == ':' || static_cast<unsigned char>(c) <= ' ' ||
        static_cast<unsigned char>(c) >= 0x7f) {
      return make_error("bad interface name '{}': contains a character that is not allowed", name);
    }
  }
  return ok();
}

std::variant<Command, RequestError> parse_request_bytes(std::span<const std::uint8_t> bytes) {
  v1::Request request;
  if (bytes.size() > static_cast<std::size_t>(INT32_MAX) ||
      !request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return RequestError{v1::STATUS_MALFORMED, "request is not a ferry.dataplane.v1.Request"};
  }
  return parse_request(request);
}

std::variant<Command, RequestError> parse_request(const v1::Request& request) {
  if (request.api_version() > kApiVersion) {
    return RequestError{v1::STATUS_UNSUPPORTED_VERSION, fmt::format("api_version {} is newer than this server's {}",
                                                                    request.api_version(), kApiVersion)};
  }
  auto command = parse_op(request);
  if (!command) {
    return invalid(command.error());
  }
  return std::move(command).value();
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

v1::Reply make_reply(v1::Status status, std::string message) {
  v1::Reply reply;
  reply.set_status(status);
  reply.set_message(std::move(message));
  return reply;
}

}  // namespace ferry::dp_api
