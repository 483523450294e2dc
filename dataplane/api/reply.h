// Replies of the v1 API as values: what the data plane's Service answers,
// what ferryctl prints and what the agent acts on. encode_reply and
// parse_reply convert to and from the wire's Reply (dataplane_v1.proto);
// addresses are typed here and canonical text on the wire.
//
// A refusal carries a status (the wire's finer kinds: MALFORMED,
// UNSUPPORTED_VERSION, ...), an ErrorCode (not found, exists, invalid, busy,
// internal: what a client acts on) and a message in words. A reply from a
// server older than the code field gets its code from its status.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "common/mac_address.h"
#include "common/result.h"
#include "dataplane/api/addr.h"
#include "dataplane/api/dataplane_v1.pb.h"

namespace ferry::dp_api {

namespace v1 = ::ferry::dataplane::v1;

// ---- results ----------------------------------------------------------------

struct PortAdded {
  std::uint32_t port_id = 0;
  std::string driver;  // "vnet", "af_packet" or "af_xdp"
  friend bool operator==(const PortAdded&, const PortAdded&) = default;
};

struct PortStats {
  std::uint32_t port_id = 0;
  std::string name;       // "uplink" or the endpoint's iface
  std::uint32_t vni = 0;  // 0 for the uplink
  std::uint64_t rx_packets = 0;
  std::uint64_t rx_bytes = 0;
  std::uint64_t tx_packets = 0;
  std::uint64_t tx_bytes = 0;
  std::uint64_t rx_missed = 0;
  std::uint64_t tx_dropped = 0;
  std::string driver;  // the port type: "vnet", "af_packet", "af_xdp", a PCI PMD
  friend bool operator==(const PortStats&, const PortStats&) = default;
};

struct VniStats {
  std::uint32_t vni = 0;
  std::map<std::string, std::uint64_t> counters;
  friend bool operator==(const VniStats&, const VniStats&) = default;
};

struct DropStat {
  std::string reason;
  std::uint64_t packets = 0;
  std::string help;
  friend bool operator==(const DropStat&, const DropStat&) = default;
};

struct LcoreStats {
  std::uint32_t lcore_id = 0;
  std::uint64_t rx_packets = 0;
  std::uint64_t tx_packets = 0;
  std::uint64_t polls = 0;
  std::uint64_t busy_polls = 0;
  std::uint64_t idle_sleeps = 0;
  friend bool operator==(const LcoreStats&, const LcoreStats&) = default;
};

struct Stats {
  std::vector<PortStats> ports;
  std::vector<VniStats> vnis;
  std::vector<DropStat> drops;  // in the core's counter order
  std::vector<LcoreStats> lcores;
  std::map<std::string, std::uint64_t> counters;  // other process-wide counters
  friend bool operator==(const Stats&, const Stats&) = default;
};

struct NetworkEntry {
  std::uint32_t vni = 0;
  bool flood_unknown = false;
  std::vector<Ipv4> flood_vteps;
  friend bool operator==(const NetworkEntry&, const NetworkEntry&) = default;
};

struct PortEntry {
  std::uint32_t port_id = 0;
  std::string iface;
  std::uint32_t vni = 0;
  MacAddress mac;
  std::vector<Ipv4Prefix> ips;   // on the wire first, then
  std::vector<Ipv6Prefix> ips6;  // these, in one list
  std::string driver;
  bool link_up = false;
  // What the port carries whole ("vnet_hdr", "rx_gso", "tx_gso",
  // "rx_csum_partial", "tx_csum_partial"); empty for af_packet and af_xdp.
  std::vector<std::string> offloads;
  friend bool operator==(const PortEntry&, const PortEntry&) = default;
};

// A MAC table entry: a remote one has a VTEP, a local port's an iface.
struct FdbEntry {
  std::uint32_t vni = 0;
  MacAddress mac;
  std::optional<Ipv4> vtep;
  std::string iface;
  friend bool operator==(const FdbEntry&, const FdbEntry&) = default;
};

struct NeighEntry {
  std::uint32_t vni = 0;
  IpAddress ip;
  MacAddress mac;
  friend bool operator==(const NeighEntry&, const NeighEntry&) = default;
};

// The data plane's underlay ARP cache; an unroutable VTEP (off-link, no
// gateway) is an entry without an address.
struct UnderlayNeighbor {
  std::optional<Ipv4> ip;
  std::optional<MacAddress> mac;  // unset while unresolved
  std::string state;              // "incomplete", "reachable", "stale", "failed", or why unroutable
  std::vector<Ipv4> vteps;
  friend bool operator==(const UnderlayNeighbor&, const UnderlayNeighbor&) = default;
};

struct Dump {
  std::vector<NetworkEntry> networks;
  std::vector<PortEntry> ports;
  std::vector<FdbEntry> fdb;
  std::vector<NeighEntry> neighbors;
  std::vector<UnderlayNeighbor> underlay;
  friend bool operator==(const Dump&, const Dump&) = default;
};

struct Health {
  std::string boot_id;  // random per process start: a new value means a restart
  std::uint64_t start_time_unix_ms = 0;
  std::uint64_t uptime_ms = 0;
  std::string uplink;         // as given (iface or PCI address)
  std::string uplink_driver;  // "net_af_xdp", "net_af_packet", or the PCI PMD
  bool uplink_link_up = false;
  std::optional<Ipv4Prefix> vtep_ip;  // always set by ferry-dataplane
  std::optional<Ipv4> gateway;
  std::uint32_t workers = 0;
  std::uint32_t ports = 0;
  std::uint32_t networks = 0;
  std::uint32_t pid = 0;
  std::uint32_t underlay_mtu = 0;
  std::uint32_t endpoint_mtu = 0;
  std::string endpoint_driver;  // the port type of endpoints added without one
  friend bool operator==(const Health&, const Health&) = default;
};

struct Version {
  std::string software;
  std::uint32_t api_version = 0;
  std::string dpdk;
  friend bool operator==(const Version&, const Version&) = default;
};

// One remote VTEP as the VTEP echo sees it.
struct VtepEchoEntry {
  std::optional<Ipv4> vtep;  // always set by ferry-dataplane
  bool resolved = false;
  std::uint64_t requests_sent = 0;
  std::uint64_t replies = 0;
  std::uint64_t requests_answered = 0;
  std::optional<std::uint64_t> last_reply_ms;  // unset: never
  std::optional<std::uint64_t> last_request_ms;
  std::uint64_t rtt_us = 0;
  bool alive = false;
  friend bool operator==(const VtepEchoEntry&, const VtepEchoEntry&) = default;
};

struct VtepStatus {
  std::uint32_t interval_ms = 0;
  std::uint32_t echo_vni = 0;
  std::uint32_t alive_intervals = 0;
  std::vector<VtepEchoEntry> vteps;
  std::map<std::string, std::uint64_t> counters;
  friend bool operator==(const VtepStatus&, const VtepStatus&) = default;
};

using ReplyResult = std::variant<std::monostate, PortAdded, Stats, Dump, Health, Version, VtepStatus>;

// ---- the reply --------------------------------------------------------------

struct Reply {
  v1::Status status = v1::STATUS_OK;
  ErrorCode code = ErrorCode::kNone;  // kNone exactly when status is OK
  std::string message;
  ReplyResult result;

  [[nodiscard]] bool ok() const { return status == v1::STATUS_OK; }
  // The result if it is a T, else nullptr.
  template <typename T>
  [[nodiscard]] const T* get() const {
    return std::get_if<T>(&result);
  }
  friend bool operator==(const Reply&, const Reply&) = default;
};

// An OK reply.
Reply ok_reply(std::string message, ReplyResult result = {});
// A refusal of kind `code` (not kNone), with the status that goes with it
// (status_for_code) or a finer one.
Reply error_reply(ErrorCode code, std::string message);
Reply error_reply(ErrorCode code, v1::Status status, std::string message);

// NOT_FOUND, ALREADY_EXISTS, INVALID_ARGUMENT, FAILED_PRECONDITION, INTERNAL.
v1::Status status_for_code(ErrorCode code);
// The other way, for replies without a code: MALFORMED and
// UNSUPPORTED_VERSION are invalid requests; an unknown status is internal.
ErrorCode code_for_status(v1::Status status);

// "not found", "exists", "invalid", "busy", "internal" ("none").
const char* error_code_name(ErrorCode code);
// "invalid argument", "not found", ... (what ferryctl prints before a refusal).
const char* status_name(v1::Status status);

// Typed -> wire. Canonical text for every address.
v1::Reply encode_reply(const Reply& reply);
std::string encode_reply_bytes(const Reply& reply);

// Longest message parse_reply keeps (what a client logs or prints of a
// reply's words); longer ones are cut, unprintable bytes escaped.
inline constexpr std::size_t kMaxReplyMessage = 1024;

// Largest reply a Client takes (ZMQ_MAXMSGSIZE): a dump of full tables fits
// many times over; a wedged or hostile server cannot make a client buffer more.
inline constexpr std::int64_t kMaxReplyBytes = std::int64_t{64} << 20;

// Wire -> typed. Errors name the entry and field that is not what the API
// says it is (an address that does not parse); never throws. The message
// is bounded (kMaxReplyMessage) and printable (log::printable).
Result<Reply> parse_reply(const v1::Reply& reply);
Result<Reply> parse_reply_bytes(std::span<const std::uint8_t> bytes);

}  // namespace ferry::dp_api
