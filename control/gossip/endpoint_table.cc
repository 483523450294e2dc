#include "control/gossip/endpoint_table.h"

#include <algorithm>
#include <cstring>

#include "common/ip_address.h"
#include "control/gossip/tables.pb.h"

namespace ferry::gossip {

namespace {

std::string bytes_of(const std::uint8_t* p, std::size_t n) { return {reinterpret_cast<const char*>(p), n}; }

// "ADDR/LEN" or a bare address (the family's full length) of `family`,
// through common/ip_address.h.
Result<IpPrefix> parse_cidr(std::string_view text, Family family) {
  const unsigned full_length = family == Family::kIPv4 ? 32 : 128;
  auto prefix = text.find('/') == std::string_view::npos ? parse_prefix(fmt::format("{}/{}", text, full_length))
                                                         : parse_prefix(text);
  if (!prefix || prefix->address.family != family) {
    return make_error("bad {} '{}'", family == Family::kIPv4 ? "IPv4" : "IPv6", text);
  }
  return prefix;
}

std::string prefix_string(Family family, const std::uint8_t* bytes, unsigned length) {
  IpAddress ip;
  ip.family = family;
  std::memcpy(ip.bytes.data(), bytes, ip.size());
  return IpPrefix{ip, length}.to_string();
}

}  // namespace

std::string EndpointRecord::encode() const {
  v1::Endpoint ep;
  ep.set_network(network);
  ep.set_endpoint_id(endpoint_id);
  ep.set_mac(bytes_of(mac.bytes.data(), mac.bytes.size()));
  if (ipv4) {
    ep.set_ipv4(bytes_of(ipv4->data(), ipv4->size()));
    ep.set_ipv4_prefix_len(ipv4_prefix_len);
  }
  if (ipv6) {
    ep.set_ipv6(bytes_of(ipv6->data(), ipv6->size()));
    ep.set_ipv6_prefix_len(ipv6_prefix_len);
  }
  ep.set_vtep(bytes_of(vtep.data(), vtep.size()));
  ep.set_owner(owner);
  return ep.SerializeAsString();
}

Result<EndpointRecord> EndpointRecord::decode(std::string_view bytes) {
  v1::Endpoint ep;
  if (!ep.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return make_error("endpoint: not a protobuf");
  EndpointRecord r;
  r.network = ep.network();
  r.endpoint_id = ep.endpoint_id();
  if (r.endpoint_id.empty()) return make_error("endpoint: empty endpoint id");
  if (ep.mac().size() != 6) return make_error("endpoint {}: MAC of {} bytes", r.endpoint_id, ep.mac().size());
  std::memcpy(r.mac.bytes.data(), ep.mac().data(), 6);
  if (!ep.ipv4().empty()) {
    if (ep.ipv4().size() != 4 || ep.ipv4_prefix_len() > 32) return make_error("endpoint {}: bad IPv4", r.endpoint_id);
    r.ipv4.emplace();
    std::memcpy(r.ipv4->data(), ep.ipv4().data(), 4);
    r.ipv4_prefix_len = static_cast<std::uint8_t>(ep.ipv4_prefix_len());
  }
  if (!ep.ipv6().empty()) {
    if (ep.ipv6().size() != 16 || ep.ipv6_prefix_len() > 128) return make_error("endpoint {}: bad IPv6", r.endpoint_id);
    r.ipv6.emplace();
    std::memcpy(r.ipv6->data(), ep.ipv6().data(), 16);
    r.ipv6_prefix_len = static_cast<std::uint8_t>(ep.ipv6_prefix_len());
  }
  if (ep.vtep().size() != 4 && ep.vtep().size() != 16) return make_error("endpoint {}: bad VTEP", r.endpoint_id);
  r.vtep.assign(ep.vtep().begin(), ep.vtep().end());
  r.owner = ep.owner();
  return r;
}

std::string EndpointRecord::mac_string() const { return mac.to_string(); }

std::string EndpointRecord::ipv4_string() const {
  return ipv4 ? prefix_string(Family::kIPv4, ipv4->data(), ipv4_prefix_len) : std::string();
}

std::string EndpointRecord::ipv6_string() const {
  return ipv6 ? prefix_string(Family::kIPv6, ipv6->data(), ipv6_prefix_len) : std::string();
}

std::string EndpointRecord::vtep_string() const {
  if (vtep.size() != 4 && vtep.size() != 16) return {};
  IpAddress ip;
  ip.family = vtep.size() == 4 ? Family::kIPv4 : Family::kIPv6;
  std::copy(vtep.begin(), vtep.end(), ip.bytes.begin());
  return ip.to_string();
}

Result<EndpointRecord> EndpointRecord::from_strings(std::string network, std::string endpoint_id, std::string_view mac,
                                                    std::string_view ipv4_cidr, std::string_view ipv6_cidr,
                                                    std::string_view vtep, std::string owner) {
  EndpointRecord r;
  r.network = std::move(network);
  r.endpoint_id = std::move(endpoint_id);
  r.owner = std::move(owner);
  auto parsed_mac = parse_mac(mac);
  if (!parsed_mac) return parsed_mac.error();
  r.mac = *parsed_mac;
  if (!ipv4_cidr.empty()) {
    auto c = parse_cidr(ipv4_cidr, Family::kIPv4);
    if (!c) return c.error();
    r.ipv4.emplace();
    std::memcpy(r.ipv4->data(), c->address.bytes.data(), 4);
    r.ipv4_prefix_len = static_cast<std::uint8_t>(c->prefix_length);
  }
  if (!ipv6_cidr.empty()) {
    auto c = parse_cidr(ipv6_cidr, Family::kIPv6);
    if (!c) return c.error();
    r.ipv6.emplace();
    std::memcpy(r.ipv6->data(), c->address.bytes.data(), 16);
    r.ipv6_prefix_len = static_cast<std::uint8_t>(c->prefix_length);
  }
  auto vtep_ip = parse_ip(vtep);
  if (!vtep_ip) return make_error("bad VTEP address '{}'", vtep);
  r.vtep.assign(vtep_ip->bytes.begin(), vtep_ip->bytes.begin() + static_cast<long>(vtep_ip->size()));
  return r;
}

std::optional<IpPrefix> EndpointRecord::ipv4_prefix() const {
  if (!ipv4) return std::nullopt;
  IpPrefix p{{Family::kIPv4, {}}, ipv4_prefix_len};
  std::memcpy(p.address.bytes.data(), ipv4->data(), 4);
  return p;
}

std::optional<IpPrefix> EndpointRecord::ipv6_prefix() const {
  if (!ipv6) return std::nullopt;
  return IpPrefix{{Family::kIPv6, *ipv6}, ipv6_prefix_len};
}

EndpointRecord EndpointRecord::make(std::string network, std::string endpoint_id, const MacAddress& mac,
                                    const std::optional<IpPrefix>& ipv4, const std::optional<IpPrefix>& ipv6,
                                    const IpAddress& vtep, std::string owner) {
  EndpointRecord r;
  r.network = std::move(network);
  r.endpoint_id = std::move(endpoint_id);
  r.owner = std::move(owner);
  r.mac = mac;
  if (ipv4) {
    r.ipv4.emplace();
    std::memcpy(r.ipv4->data(), ipv4->address.bytes.data(), 4);
    r.ipv4_prefix_len = static_cast<std::uint8_t>(ipv4->prefix_length);
  }
  if (ipv6) {
    r.ipv6.emplace();
    std::memcpy(r.ipv6->data(), ipv6->address.bytes.data(), 16);
    r.ipv6_prefix_len = static_cast<std::uint8_t>(ipv6->prefix_length);
  }
  r.vtep.assign(vtep.bytes.begin(), vtep.bytes.begin() + static_cast<long>(vtep.size()));
  return r;
}

Result<void> EndpointTable::put(EndpointRecord record) {
  record.owner = db_.self();
  return db_.put(record.network, kEndpointTable, record.endpoint_id, record.encode());
}

Result<void> EndpointTable::remove(const std::string& network, const std::string& endpoint_id) {
  return db_.remove(network, kEndpointTable, endpoint_id);
}

std::optional<EndpointRecord> EndpointTable::get(const std::string& network, const std::string& endpoint_id) const {
  auto value = db_.get(network, kEndpointTable, endpoint_id);
  if (!value) return std::nullopt;
  auto rec = EndpointRecord::decode(*value);
  if (!rec) return std::nullopt;
  return std::move(*rec);
}

std::vector<EndpointRecord> EndpointTable::list(const std::string& network) const {
  std::vector<EndpointRecord> out;
  db_.store().for_each_in(network, [&](const TableKey& key, const StoredEntry& e) {
    if (key.table != kEndpointTable || !e.live()) return;
    if (auto rec = EndpointRecord::decode(e.version.value)) out.push_back(std::move(*rec));
  });
  return out;
}

TableStore::SubscriptionId EndpointTable::subscribe(const std::string& network, Callback callback) {
  return db_.subscribe(TableFilter::of(network, kEndpointTable), [cb = std::move(callback)](const Change& c) {
    if (c.kind == ChangeKind::kDelete) {
      EndpointRecord gone;
      gone.network = c.key.network;
      gone.endpoint_id = c.key.key;
      cb(c.kind, gone);
      return;
    }
    if (auto rec = EndpointRecord::decode(c.version.value)) cb(c.kind, *rec);
  });
}

}  // namespace ferry::gossip
