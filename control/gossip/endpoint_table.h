// The overlay's endpoint record, one entry per container endpoint in the
// replicated table "endpoints" of the endpoint's network, keyed by endpoint
// id (tables.proto Endpoint). Typed helpers over TableDb so callers never
// handle the encoded bytes.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/mac_address.h"
#include "common/result.h"
#include "control/gossip/table_db.h"

namespace ferry::gossip {

inline constexpr const char* kEndpointTable = "endpoints";

struct EndpointRecord {
  std::string network;
  std::string endpoint_id;
  MacAddress mac;
  std::optional<std::array<std::uint8_t, 4>> ipv4;
  std::uint8_t ipv4_prefix_len = 0;
  std::optional<std::array<std::uint8_t, 16>> ipv6;
  std::uint8_t ipv6_prefix_len = 0;
  std::vector<std::uint8_t> vtep;  // 4 (IPv4) or 16 (IPv6) bytes
  std::string owner;               // host node name

  [[nodiscard]] std::string encode() const;
  static Result<EndpointRecord> decode(std::string_view bytes);
  // Text forms: "02:42:0a:00:00:02", "10.0.0.2/24", "fd00::2/64", VTEP address.
  [[nodiscard]] std::string mac_string() const;
  [[nodiscard]] std::string ipv4_string() const;
  [[nodiscard]] std::string ipv6_string() const;
  [[nodiscard]] std::string vtep_string() const;
  // Parses the text forms (empty ipv4/ipv6 = absent).
  static Result<EndpointRecord> from_strings(std::string network, std::string endpoint_id, std::string_view mac,
                                             std::string_view ipv4_cidr, std::string_view ipv6_cidr,
                                             std::string_view vtep, std::string owner);
  // Typed forms: the addresses with their lengths (absent when the record
  // has none), and a record from typed values.
  [[nodiscard]] std::optional<IpPrefix> ipv4_prefix() const;
  [[nodiscard]] std::optional<IpPrefix> ipv6_prefix() const;
  static EndpointRecord make(std::string network, std::string endpoint_id, const MacAddress& mac,
                             const std::optional<IpPrefix>& ipv4, const std::optional<IpPrefix>& ipv6,
                             const IpAddress& vtep, std::string owner);
  bool operator==(const EndpointRecord&) const = default;
};

// Typed access to the endpoint table of one TableDb.
class EndpointTable {
 public:
  explicit EndpointTable(TableDb& db) : db_(db) {}

  // Publishes `record` as owned by this node (record.owner is set to it).
  Result<void> put(EndpointRecord record);
  Result<void> remove(const std::string& network, const std::string& endpoint_id);
  [[nodiscard]] std::optional<EndpointRecord> get(const std::string& network, const std::string& endpoint_id) const;
  [[nodiscard]] std::vector<EndpointRecord> list(const std::string& network) const;

  // Snapshot then changes of one network's endpoints; on delete only the
  // network and endpoint id of the record are set. Undecodable values are
  // skipped.
  using Callback = std::function<void(ChangeKind, const EndpointRecord&)>;
  TableStore::SubscriptionId subscribe(const std::string& network, Callback callback);

 private:
  TableDb& db_;
};

}  // namespace ferry::gossip
