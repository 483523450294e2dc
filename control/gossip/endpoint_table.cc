#include "control/gossip/endpoint_table.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <cstring>

#include "control/gossip/tables.pb.h"

namespace ferry::gossip {

namespace {

std::string bytes_of(const std::uint8_t* p, std::size_t n) { return {reinterpret_cast<const char*>(p), n}; }

Result<std::pair<std::string, int>> split_cidr(std::string_view text, int max_prefix) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::pair<std::string, int>{std::string(text), max_prefix};
  int prefix = 0;
  const std::string_view p = text.substr(slash + 1);
  if (p.empty() || p.size() > 3) return make_error("bad prefix length in '{}'", text);
  for (char c : p) {
    if (c < '0' || c > '9') return make_error("bad prefix length in '{}'", text);
    prefix = prefix * 10 + (c - '0');
  }
  if (prefix > max_prefix) return make_error("prefix length {} > {} in '{}'", prefix, max_prefix, text);
  return std::pair<std::string, int>{std::string(text.substr(0, slash)), prefix};
}

// "02:42:0a:00:00:02": exactly six hex pairs separated by ':'.
Result<std::array<std::uint8_t, 6>> parse_mac(std::string_view text) {
  std::array<std::uint8_t, 6> mac{};
  if (text.size() != 17) return make_error("bad MAC '{}': expected six hex pairs like 02:42:0a:00:00:02", text);
  for (std::size_t i = 0; i < mac.size(); ++i) {
    const char* pair = text.data() + i * 3;
    const auto [end, ec] = std::from_chars(pair, pair + 2, mac[i], 16);
    if (ec != std::errc() || end != pair + 2 || (i < 5 && pair[2] != ':')) {
      return make_error("bad MAC '{}': expected six hex pairs like 02:42:0a:00:00:02", text);
    }
  }
  return mac;
}

}  // namespace

std::string EndpointRecord::encode() const {
  v1::Endpoint ep;
  ep.set_network(network);
  ep.set_endpoint_id(endpoint_id);
  ep.set_mac(bytes_of(mac.data(), mac.size()));
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
  std::memcpy(r.mac.data(), ep.mac().data(), 6);
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

std::string EndpointRecord::mac_string() const {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

std::string EndpointRecord::ipv4_string() const {
  if (!ipv4) return {};
  char buf[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, ipv4->data(), buf, sizeof buf);
  return fmt::format("{}/{}", buf, ipv4_prefix_len);
}

std::string EndpointRecord::ipv6_string() const {
  if (!ipv6) return {};
  char buf[INET6_ADDRSTRLEN];
  ::inet_ntop(AF_INET6, ipv6->data(), buf, sizeof buf);
  return fmt::format("{}/{}", buf, ipv6_prefix_len);
}

std::string EndpointRecord::vtep_string() const {
  char buf[INET6_ADDRSTRLEN] = "";
  if (vtep.size() == 4) ::inet_ntop(AF_INET, vtep.data(), buf, sizeof buf);
  if (vtep.size() == 16) ::inet_ntop(AF_INET6, vtep.data(), buf, sizeof buf);
  return buf;
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
    auto c = split_cidr(ipv4_cidr, 32);
    if (!c) return c.error();
    r.ipv4.emplace();
    if (::inet_pton(AF_INET, c->first.c_str(), r.ipv4->data()) != 1) return make_error("bad IPv4 '{}'", ipv4_cidr);
    r.ipv4_prefix_len = static_cast<std::uint8_t>(c->second);
  }
  if (!ipv6_cidr.empty()) {
    auto c = split_cidr(ipv6_cidr, 128);
    if (!c) return c.error();
    r.ipv6.emplace();
    if (::inet_pton(AF_INET6, c->first.c_str(), r.ipv6->data()) != 1) return make_error("bad IPv6 '{}'", ipv6_cidr);
    r.ipv6_prefix_len = static_cast<std::uint8_t>(c->second);
  }
  const std::string vtep_s(vtep);
  std::uint8_t buf[16];
  if (::inet_pton(AF_INET, vtep_s.c_str(), buf) == 1) {
    r.vtep.assign(buf, buf + 4);
  } else if (::inet_pton(AF_INET6, vtep_s.c_str(), buf) == 1) {
    r.vtep.assign(buf, buf + 16);
  } else {
    return make_error("bad VTEP address '{}'", vtep);
  }
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
