// Requests of the v1 API as typed commands, both ways: parse_request checks
// a wire Request and turns it into a Command (the server parses first and
// acts second, so a request with any bad field changes nothing);
// encode_request turns a Command into the wire Request (ferryctl, the
// agent). The make_* builders check text fields (ferryctl's flags, the
// agent's records) by exactly the rules the server applies to the wire's
// strings, so a command a client builds is one the server accepts.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/mac_address.h"
#include "common/result.h"
#include "dataplane/api/addr.h"
#include "dataplane/api/dataplane_v1.pb.h"

namespace ferry::dp_api {

namespace v1 = ::ferry::dataplane::v1;

// The API version this build speaks (Request.api_version).
inline constexpr std::uint32_t kApiVersion = 1;

// Largest request the data plane reads: the largest legitimate one (a
// PortAdd with kMaxPortAddresses addresses) is about 5 KiB. Bigger ones are
// refused (MALFORMED) before they are parsed.
inline constexpr std::size_t kMaxRequestBytes = 64 * 1024;

// Largest message the API socket takes at all (ZMQ_MAXMSGSIZE): ZeroMQ cuts
// the connection of a client that announces more, before buffering it, so a
// hostile client costs at most this much memory per connection.
inline constexpr std::int64_t kMaxApiMessageBytes = 1 << 20;

// Longest interface name Linux accepts (IFNAMSIZ - 1).
inline constexpr std::size_t kMaxIfaceLength = 15;

// Most addresses one PortAdd may list, both families together. The data
// plane takes at most 4 of each (it says so); this bound only keeps a
// hostile request from costing more than a few checks.
inline constexpr std::size_t kMaxPortAddresses = 64;

enum class EndpointDriver { kDefault, kAfPacket, kAfXdp, kVnet };

struct NetworkAddCmd {
  std::uint32_t vni;
  bool flood_unknown;
  friend bool operator==(const NetworkAddCmd&, const NetworkAddCmd&) = default;
};
struct NetworkDelCmd {
  std::uint32_t vni;
  friend bool operator==(const NetworkDelCmd&, const NetworkDelCmd&) = default;
};
struct NetworkSetFloodCmd {
  std::uint32_t vni;
  bool flood_unknown;
  friend bool operator==(const NetworkSetFloodCmd&, const NetworkSetFloodCmd&) = default;
};
struct PortAddCmd {
  std::string iface;
  std::uint32_t vni;
  MacAddress mac;
  std::vector<Ipv4Prefix> ips;   // PortAdd.ips without ':'
  std::vector<Ipv6Prefix> ips6;  // PortAdd.ips with ':' (global or unique-local unicast)
  EndpointDriver driver;
  friend bool operator==(const PortAddCmd&, const PortAddCmd&) = default;
};
struct PortDelCmd {
  std::string iface;
  friend bool operator==(const PortDelCmd&, const PortDelCmd&) = default;
};
struct FdbAddCmd {
  std::uint32_t vni;
  MacAddress mac;
  Ipv4 vtep;
  friend bool operator==(const FdbAddCmd&, const FdbAddCmd&) = default;
};
struct FdbDelCmd {
  std::uint32_t vni;
  MacAddress mac;
  friend bool operator==(const FdbDelCmd&, const FdbDelCmd&) = default;
};
struct NeighAddCmd {
  std::uint32_t vni;
  IpAddress ip;  // IPv4 (ARP proxy) or IPv6 (ND proxy)
  MacAddress mac;
  friend bool operator==(const NeighAddCmd&, const NeighAddCmd&) = default;
};
struct NeighDelCmd {
  std::uint32_t vni;
  IpAddress ip;
  friend bool operator==(const NeighDelCmd&, const NeighDelCmd&) = default;
};
struct FloodAddCmd {
  std::uint32_t vni;
  Ipv4 vtep;
  friend bool operator==(const FloodAddCmd&, const FloodAddCmd&) = default;
};
struct FloodDelCmd {
  std::uint32_t vni;
  Ipv4 vtep;
  friend bool operator==(const FloodDelCmd&, const FloodDelCmd&) = default;
};
struct StatsCmd {
  friend bool operator==(const StatsCmd&, const StatsCmd&) = default;
};
struct DumpCmd {
  friend bool operator==(const DumpCmd&, const DumpCmd&) = default;
};
struct HealthCmd {
  friend bool operator==(const HealthCmd&, const HealthCmd&) = default;
};
struct VersionCmd {
  friend bool operator==(const VersionCmd&, const VersionCmd&) = default;
};

// The VTEP echo's view of every remote VTEP (VTEP liveness).
struct VtepStatusCmd {
  friend bool operator==(const VtepStatusCmd&, const VtepStatusCmd&) = default;
};

using Command = std::variant<NetworkAddCmd, NetworkDelCmd, NetworkSetFloodCmd, PortAddCmd, PortDelCmd, FdbAddCmd,
                             FdbDelCmd, NeighAddCmd, NeighDelCmd, FloodAddCmd, FloodDelCmd, StatsCmd, DumpCmd,
                             HealthCmd, VersionCmd, VtepStatusCmd>;

// ---- commands from text ------------------------------------------------------
// Each returns the first bad field's error. `ips`: CIDR or bare (a host
// route), IPv4 or IPv6, told apart by a ':'. `driver`: "", "af_packet" or
// "af_xdp".

Result<NetworkAddCmd> make_network_add(std::uint32_t vni, bool flood_unknown);
Result<NetworkDelCmd> make_network_del(std::uint32_t vni);
Result<NetworkSetFloodCmd> make_network_set_flood(std::uint32_t vni, bool flood_unknown);
Result<PortAddCmd> make_port_add(std::string_view iface, std::uint32_t vni, std::string_view mac,
                                 std::span<const std::string> ips, std::string_view driver);
Result<PortDelCmd> make_port_del(std::string_view iface);
Result<FdbAddCmd> make_fdb_add(std::uint32_t vni, std::string_view mac, std::string_view vtep);
Result<FdbDelCmd> make_fdb_del(std::uint32_t vni, std::string_view mac);
Result<NeighAddCmd> make_neigh_add(std::uint32_t vni, std::string_view ip, std::string_view mac);
Result<NeighDelCmd> make_neigh_del(std::uint32_t vni, std::string_view ip);
Result<FloodAddCmd> make_flood_add(std::uint32_t vni, std::string_view vtep);
Result<FloodDelCmd> make_flood_del(std::uint32_t vni, std::string_view vtep);

// ---- wire -> command ---------------------------------------------------------

// A parse failure carries the status the reply should have (MALFORMED,
// UNSUPPORTED_VERSION or INVALID_ARGUMENT; its error code is "invalid").
struct RequestError {
  v1::Status status;
  std::string message;
};

// The sender of a request beside its operation (Request.client and .force):
// what the data plane's ownership lease needs.
struct RequestMeta {
  std::string client;  // "" = an operator; at most kMaxTextFieldSize bytes
  bool force = false;
  friend bool operator==(const RequestMeta&, const RequestMeta&) = default;
};

// True for the commands that change the data plane's tables or ports.
bool is_mutation(const Command& command);

// Bytes -> Request -> Command. Never throws; any failure is a RequestError,
// whose message quotes no more than kMaxTextFieldSize bytes of any field.
// More than kMaxRequestBytes is MALFORMED, unparsed.
// `meta`, when given, receives the request's client and force fields.
std::variant<Command, RequestError> parse_request_bytes(std::span<const std::uint8_t> bytes,
                                                        RequestMeta* meta = nullptr);
std::variant<Command, RequestError> parse_request(const v1::Request& request, RequestMeta* meta = nullptr);

// ---- command -> wire ---------------------------------------------------------

// The wire Request for `command`, api_version = kApiVersion, addresses in
// canonical text. parse_request(encode_request(c)) == c for every command
// the make_* builders or parse_request produce.
v1::Request encode_request(const Command& command);
// Sets the request's client and force fields.
void set_meta(v1::Request& request, const RequestMeta& meta);
std::string encode_request_bytes(const Command& command);

// Checks an interface name the way the kernel would (1..15 bytes, no '/',
// no whitespace, not "." or "..") and that it has no ',' or '=' (they would
// break a DPDK devargs string).
Result<void> check_iface_name(std::string_view name);

}  // namespace ferry::dp_api
