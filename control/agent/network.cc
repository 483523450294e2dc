#include "control/agent/network.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <tuple>

#include "common/ip_address.h"

namespace ferry::agent {

Result<std::string> canonical_subnet(std::string_view text) {
  auto p = parse_prefix(text);
  if (!p || p->family() != Family::kIPv4) {
    auto v4 = dp_api::parse_ipv4_prefix(text);  // its message names what is wrong
    if (!v4) return v4.error();
    return make_error("subnet {}: not an IPv4 subnet", text);
  }
  auto checked = check_subnet(*p);
  if (!checked) return checked.error();
  return checked->to_string();
}

Result<IpPrefix> check_subnet(const IpPrefix& subnet) {
  const IpPrefix& p = subnet;
  const std::string text = p.to_string();
  if (p.family() != Family::kIPv4) return make_error("subnet {}: not an IPv4 subnet", text);
  if (p.prefix_length < 8 || p.prefix_length > 30) return make_error("subnet {}: prefix length must be 8..30", text);
  const IpPrefix net = p.network();
  if (net.address != p.address) {
    return make_error("subnet {}: host bits are set (did you mean {}?)", text, net.to_string());
  }
  return net;
}

Result<std::string> canonical_subnet6(std::string_view text) {
  auto p = parse_prefix(text);
  if (!p) return make_error("subnet {}: {}", text, p.error().message);
  if (p->address.family != Family::kIPv6) return make_error("subnet {}: not an IPv6 subnet", text);
  auto checked = check_subnet6(*p);
  if (!checked) return checked.error();
  return checked->to_string();
}

Result<IpPrefix> check_subnet6(const IpPrefix& subnet) {
  const IpPrefix& p = subnet;
  const std::string text = p.to_string();
  if (p.address.family != Family::kIPv6) return make_error("subnet {}: not an IPv6 subnet", text);
  if (p.prefix_length < 48 || p.prefix_length > 126) {
    return make_error("subnet {}: IPv6 prefix length must be 48..126", text);
  }
  const IpPrefix net = p.network();
  if (net.address != p.address) {
    return make_error("subnet {}: host bits are set (did you mean {}?)", text, net.to_string());
  }
  const auto& b = net.address.bytes;
  const bool mapped =
      std::all_of(b.begin(), b.begin() + 10, [](std::uint8_t x) { return x == 0; }) && b[10] == 0xff && b[11] == 0xff;
  if (net.address.is_multicast() || net.address.is_ipv6_link_local() || mapped || b[0] == 0) {
    return make_error("subnet {}: not a unicast global or unique-local IPv6 subnet", text);
  }
  return net;
}

Result<void> NetworkRecord::validate() const {
  if (name.empty() || name.size() > 64) return make_error("network name must be 1..64 bytes");
  for (char c : name) {
    const bool good =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!good) return make_error("network name '{}': only letters, digits, '-', '_' and '.'", name);
  }
  if (auto v = dp_api::check_vni(vni); !v) return make_error("network {}: {}", name, v.error().message);
  auto s = canonical_subnet(subnet);
  if (!s) return make_error("network {}: {}", name, s.error().message);
  if (*s != subnet) return make_error("network {}: subnet '{}' is not canonical ('{}')", name, subnet, *s);
  if (!subnet6.empty()) {
    auto s6 = canonical_subnet6(subnet6);
    if (!s6) return make_error("network {}: {}", name, s6.error().message);
    if (*s6 != subnet6) return make_error("network {}: subnet6 '{}' is not canonical ('{}')", name, subnet6, *s6);
  }
  return ok();
}

dp_api::Ipv4Prefix NetworkRecord::prefix() const {
  auto p = dp_api::parse_ipv4_prefix(subnet);
  return p ? *p : dp_api::Ipv4Prefix{};
}

std::optional<IpPrefix> NetworkRecord::subnet_prefix(bool v6) const {
  const std::string& text = subnet_of(v6);
  if (text.empty()) return std::nullopt;
  auto p = parse_prefix(text);
  if (!p) return std::nullopt;
  return *p;
}

std::string NetworkRecord::encode() const {
  nlohmann::json j{{"name", name}, {"vni", vni}, {"subnet", subnet}, {"options", options}};
  if (!subnet6.empty()) j["subnet6"] = subnet6;
  if (!origin_host.empty()) j["origin"] = {{"host", origin_host}, {"lamport", origin_lamport}};
  return j.dump();
}

Result<NetworkRecord> NetworkRecord::decode(std::string_view bytes) {
  auto j = nlohmann::json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error("network record is not a JSON object");
  NetworkRecord r;
  try {
    r.name = j.at("name").get<std::string>();
    r.vni = j.at("vni").get<std::uint32_t>();
    r.subnet = j.at("subnet").get<std::string>();
    if (j.contains("subnet6")) r.subnet6 = j.at("subnet6").get<std::string>();
    if (j.contains("options")) r.options = j.at("options").get<std::map<std::string, std::string>>();
    if (j.contains("origin")) {
      r.origin_host = j.at("origin").at("host").get<std::string>();
      r.origin_lamport = j.at("origin").at("lamport").get<std::uint64_t>();
    }
  } catch (const nlohmann::json::exception& e) {
    return make_error("network record: {}", e.what());
  }
  if (auto v = r.validate(); !v) return v.error();
  return r;
}

const NetworkEntry* NetworkView::find(const std::string& name) const {
  for (const auto& e : active) {
    if (e.record.name == name) return &e;
  }
  return nullptr;
}

const NetworkEntry* NetworkView::find_vni(std::uint32_t vni) const {
  for (const auto& e : active) {
    if (e.record.vni == vni) return &e;
  }
  return nullptr;
}

NetworkView resolve_networks(std::vector<NetworkEntry> entries) {
  // Earliest first: the same order on every host that holds the same entries.
  std::sort(entries.begin(), entries.end(), [](const NetworkEntry& a, const NetworkEntry& b) {
    return std::tie(a.lamport, a.owner, a.record.name) < std::tie(b.lamport, b.owner, b.record.name);
  });
  NetworkView view;
  std::map<std::uint32_t, std::string> vni_owner;
  for (auto& e : entries) {
    auto it = vni_owner.find(e.record.vni);
    if (it != vni_owner.end()) {
      std::string reason = "VNI " + std::to_string(e.record.vni) + " already belongs to network " + it->second;
      view.conflicting.push_back({std::move(e), std::move(reason)});
      continue;
    }
    vni_owner[e.record.vni] = e.record.name;
    view.active.push_back(std::move(e));
  }
  std::sort(view.active.begin(), view.active.end(),
            [](const NetworkEntry& a, const NetworkEntry& b) { return a.record.name < b.record.name; });
  return view;
}

Result<void> check_create(const NetworkView& view, const NetworkRecord& wanted) {
  if (auto v = wanted.validate(); !v) return v;
  if (const NetworkEntry* same = view.find(wanted.name)) {
    if (same->record.same_definition(wanted)) return ok();
    return make_error("network {} already exists with VNI {} and subnet {}{}", wanted.name, same->record.vni,
                      same->record.subnet, same->record.subnet6.empty() ? "" : " " + same->record.subnet6);
  }
  for (const auto& c : view.conflicting) {
    if (c.entry.record.name == wanted.name) {
      return make_error("network {} exists but is in conflict ({})", wanted.name, c.reason);
    }
  }
  if (const NetworkEntry* other = view.find_vni(wanted.vni)) {
    return make_error("VNI {} is already used by network {}", wanted.vni, other->record.name);
  }
  return ok();
}

std::uint32_t pick_vni(const NetworkView& view, const std::string& name) {
  constexpr std::uint32_t kFirst = 4096, kCount = dp_api::kMaxVni - kFirst + 1;
  std::uint32_t h = 2166136261U;  // FNV-1a
  for (unsigned char c : name) h = (h ^ c) * 16777619U;
  std::uint32_t vni = kFirst + h % kCount;
  while (view.find_vni(vni) != nullptr) vni = vni == dp_api::kMaxVni ? kFirst : vni + 1;
  return vni;
}

}  // namespace ferry::agent
