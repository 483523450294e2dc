// Requests of the v1 API checked and turned into typed commands. The server
// parses first and acts second, so a request with any bad field changes
// nothing; ferryctl and the agent can run the same check before sending.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "common/result.h"
#include "dataplane/api/addr.h"
#include "dataplane/api/dataplane_v1.pb.h"

namespace ferry::dp_api {

namespace v1 = ::ferry::dataplane::v1;

// The API version this build speaks (Request.api_version).
inline constexpr std::uint32_t kApiVersion = 1;

// Longest interface name Linux accepts (IFNAMSIZ - 1).
inline constexpr std::size_t kMaxIfaceLength = 15;

enum class EndpointDriver { kDefault, kAfPacket, kAfXdp, kVnet };

struct NetworkAddCmd {
  std::uint32_t vni;
  bool flood_unknown;
};
struct NetworkDelCmd {
  std::uint32_t vni;
};
struct NetworkSetFloodCmd {
  std::uint32_t vni;
  bool flood_unknown;
};
struct PortAddCmd {
  std::string iface;
  std::uint32_t vni;
  MacAddr mac;
  std::vector<Ipv4Prefix> ips;   // PortAdd.ips without ':'
  std::vector<Ipv6Prefix> ips6;  // PortAdd.ips with ':' (global or unique-local unicast)
  EndpointDriver driver;
};
struct PortDelCmd {
  std::string iface;
};
struct FdbAddCmd {
  std::uint32_t vni;
  MacAddr mac;
  Ipv4 vtep;
};
struct FdbDelCmd {
  std::uint32_t vni;
  MacAddr mac;
};
struct NeighAddCmd {
  std::uint32_t vni;
  IpAddress ip;  // IPv4 (ARP proxy) or IPv6 (ND proxy)
  MacAddr mac;
};
struct NeighDelCmd {
  std::uint32_t vni;
  IpAddress ip;
};
struct FloodAddCmd {
  std::uint32_t vni;
  Ipv4 vtep;
};
struct FloodDelCmd {
  std::uint32_t vni;
  Ipv4 vtep;
};
struct StatsCmd {};
struct DumpCmd {};
struct HealthCmd {};
struct VersionCmd {};

using Command =
    std::variant<NetworkAddCmd, NetworkDelCmd, NetworkSetFloodCmd, PortAddCmd, PortDelCmd, FdbAddCmd, FdbDelCmd,
                 NeighAddCmd, NeighDelCmd, FloodAddCmd, FloodDelCmd, StatsCmd, DumpCmd, HealthCmd, VersionCmd>;

// A parse failure carries the status the reply should have.
struct RequestError {
  v1::Status status;
  std::string message;
};

// Bytes -> Request -> Command. Never throws; any failure is a RequestError.
std::variant<Command, RequestError> parse_request_bytes(std::span<const std::uint8_t> bytes);
std::variant<Command, RequestError> parse_request(const v1::Request& request);

// Checks an interface name the way the kernel would (1..15 bytes, no '/',
// no whitespace, not "." or "..") and that it has no ',' or '=' (they would
// break a DPDK devargs string).
Result<void> check_iface_name(std::string_view name);

const char* status_name(v1::Status status);

v1::Reply make_reply(v1::Status status, std::string message);

}  // namespace ferry::dp_api
