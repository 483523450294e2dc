#include "dataplane/api/request.h"

#include <fmt/format.h>

namespace ferry::dp_api {
namespace {

using Parsed = std::variant<Command, RequestError>;

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
  return make_error("bad driver '{}': use af_packet or af_xdp", name);
}

// Each parse_* returns the command or the first bad field's error.
Parsed parse(const v1::PortAdd& m) {
  if (auto r = check_iface_name(m.iface()); !r) {
    return invalid(r.error());
  }
  auto vni = vni_field(m.vni());
  if (!vni) {
    return invalid(vni.error());
  }
  auto mac = parse_unicast_mac(m.mac());
  if (!mac) {
    return invalid(mac.error());
  }
  std::vector<Ipv4Prefix> ips;
  for (const auto& text : m.ips()) {
    auto prefix = parse_ipv4_prefix(text, /*allow_bare=*/true);
    if (!prefix) {
      return invalid(prefix.error());
    }
    if (prefix->addr.value == 0 || prefix->addr.value >= 0xe0000000U) {
      return RequestError{v1::STATUS_INVALID_ARGUMENT, fmt::format("bad IP '{}': not a unicast host address", text)};
    }
    for (const auto& seen : ips) {
      if (seen.addr == prefix->addr) {
        return RequestError{v1::STATUS_INVALID_ARGUMENT, fmt::format("IP '{}' given twice", text)};
      }
    }
    ips.push_back(*prefix);
  }
  auto driver = parse_driver(m.driver());
  if (!driver) {
    return invalid(driver.error());
  }
  return Command{PortAddCmd{m.iface(), *vni, *mac, std::move(ips), *driver}};
}

Parsed parse(const v1::FdbAdd& m) {
  auto vni = vni_field(m.vni());
  if (!vni) {
    return invalid(vni.error());
  }
  auto mac = parse_unicast_mac(m.mac());
  if (!mac) {
    return invalid(mac.error());
  }
  auto vtep = parse_unicast_ipv4(m.vtep());
  if (!vtep) {
    return invalid(vtep.error());
  }
  return Command{FdbAddCmd{*vni, *mac, *vtep}};
}

Parsed parse(const v1::FdbDel& m) {
  auto vni = vni_field(m.vni());
  if (!vni) {
    return invalid(vni.error());
  }
  auto mac = parse_unicast_mac(m.mac());
  if (!mac) {
    return invalid(mac.error());
  }
  return Command{FdbDelCmd{*vni, *mac}};
}

Parsed parse(const v1::NeighAdd& m) {
  auto vni = vni_field(m.vni());
  if (!vni) {
    return invalid(vni.error());
  }
  auto ip = parse_unicast_ipv4(m.ip());
  if (!ip) {
    return invalid(ip.error());
  }
  auto mac = parse_unicast_mac(m.mac());
  if (!mac) {
    return invalid(mac.error());
  }
  return Command{NeighAddCmd{*vni, *ip, *mac}};
}

Parsed parse(const v1::NeighDel& m) {
  auto vni = vni_field(m.vni());
  if (!vni) {
    return invalid(vni.error());
  }
  auto ip = parse_unicast_ipv4(m.ip());
  if (!ip) {
    return invalid(ip.error());
  }
  return Command{NeighDelCmd{*vni, *ip}};
}

template <typename Cmd, typename Msg>
Parsed parse_flood(const Msg& m) {
  auto vni = vni_field(m.vni());
  if (!vni) {
    return invalid(vni.error());
  }
  auto vtep = parse_unicast_ipv4(m.vtep());
  if (!vtep) {
    return invalid(vtep.error());
  }
  return Command{Cmd{*vni, *vtep}};
}

template <typename Cmd>
Parsed parse_vni_only(std::uint32_t raw_vni) {
  auto vni = vni_field(raw_vni);
  if (!vni) {
    return invalid(vni.error());
  }
  return Command{Cmd{*vni}};
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
  switch (request.op_case()) {
    case v1::Request::kNetworkAdd: {
      auto vni = vni_field(request.network_add().vni());
      if (!vni) {
        return invalid(vni.error());
      }
      return Command{NetworkAddCmd{*vni, request.network_add().flood_unknown()}};
    }
    case v1::Request::kNetworkDel:
      return parse_vni_only<NetworkDelCmd>(request.network_del().vni());
    case v1::Request::kNetworkSetFlood: {
      auto vni = vni_field(request.network_set_flood().vni());
      if (!vni) {
        return invalid(vni.error());
      }
      return Command{NetworkSetFloodCmd{*vni, request.network_set_flood().flood_unknown()}};
    }
    case v1::Request::kPortAdd:
      return parse(request.port_add());
    case v1::Request::kPortDel:
      if (auto r = check_iface_name(request.port_del().iface()); !r) {
        return invalid(r.error());
      }
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
  return RequestError{v1::STATUS_INVALID_ARGUMENT, "request has no operation set (or one this server does not know)"};
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
