#include "control/agent/dp_state.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/ip_address.h"
#include "common/mac_address.h"
#include "dataplane/api/addr.h"

namespace ferry::agent {

DpState compute_desired(const DesiredInputs& in) {
  DpState s;
  for (const auto& [name, vni] : in.networks) s.networks.insert(vni);
  for (const LocalPort& p : in.local_ports) {
    auto net = in.networks.find(p.network);
    if (net == in.networks.end()) continue;
    PortSpec spec{net->second, p.mac.to_string(), {}};
    if (p.ip) spec.ips.push_back(p.ip->to_string());
    if (p.ip6) spec.ips.push_back(p.ip6->to_string());
    std::sort(spec.ips.begin(), spec.ips.end());
    s.ports[p.iface] = std::move(spec);
  }
  for (const gossip::EndpointRecord& r : in.remote_endpoints) {
    auto net = in.networks.find(r.network);
    if (net == in.networks.end()) continue;
    const std::string vtep = r.vtep_string();
    if (r.vtep.size() != 4 || vtep == in.self_vtep) continue;  // the underlay is IPv4
    const std::uint32_t vni = net->second;
    const std::string mac = r.mac.to_string();
    s.fdb[{vni, mac}] = vtep;
    for (const std::optional<IpPrefix>& prefix : {r.ipv4_prefix(), r.ipv6_prefix()}) {
      if (prefix) s.neigh[{vni, prefix->address.to_string()}] = mac;
    }
    s.flood.insert({vni, vtep});
  }
  return s;
}

DpState from_dump(const dp_api::Dump& dump) {
  DpState s;
  for (const auto& n : dump.networks) {
    s.networks.insert(n.vni);
    for (const auto& v : n.flood_vteps) s.flood.insert({n.vni, dp_api::format_ipv4(v)});
  }
  std::set<VniKey> port_macs;
  for (const auto& p : dump.ports) {
    PortSpec spec{p.vni, p.mac.to_string(), {}};
    for (const auto& ip : p.ips) spec.ips.push_back(dp_api::format_ipv4_prefix(ip));
    for (const auto& ip : p.ips6) spec.ips.push_back(dp_api::format_ipv6_prefix(ip));
    std::sort(spec.ips.begin(), spec.ips.end());
    port_macs.insert({p.vni, spec.mac});
    s.ports[p.iface] = std::move(spec);
  }
  for (const auto& f : dump.fdb) {
    if (!f.vtep) continue;  // a local port's MAC
    s.fdb[{f.vni, f.mac.to_string()}] = dp_api::format_ipv4(*f.vtep);
  }
  for (const auto& n : dump.neighbors) {
    const std::string mac = n.mac.to_string();
    if (port_macs.count({n.vni, mac}) != 0) continue;
    s.neigh[{n.vni, dp_api::format_ip(n.ip)}] = mac;
  }
  return s;
}

std::vector<Op> diff(const DpState& desired, const DpState& actual) {
  std::vector<Op> out;
  // Removals.
  for (const auto& [iface, port] : actual.ports) {
    auto it = desired.ports.find(iface);
    if (it == desired.ports.end() || !(it->second == port)) out.push_back({OpKind::kPortDel, port.vni, iface, {}, {}});
  }
  for (const auto& [k, vtep] : actual.fdb) {
    auto it = desired.fdb.find(k);
    if (it == desired.fdb.end() || it->second != vtep) out.push_back({OpKind::kFdbDel, k.first, k.second, {}, {}});
  }
  for (const auto& [k, mac] : actual.neigh) {
    auto it = desired.neigh.find(k);
    if (it == desired.neigh.end() || it->second != mac) out.push_back({OpKind::kNeighDel, k.first, k.second, {}, {}});
  }
  for (const auto& k : actual.flood) {
    if (desired.flood.count(k) == 0) out.push_back({OpKind::kFloodDel, k.first, k.second, {}, {}});
  }
  for (std::uint32_t vni : actual.networks) {
    if (desired.networks.count(vni) == 0) out.push_back({OpKind::kNetworkDel, vni, {}, {}, {}});
  }
  // Additions.
  for (std::uint32_t vni : desired.networks) {
    if (actual.networks.count(vni) == 0) out.push_back({OpKind::kNetworkAdd, vni, {}, {}, {}});
  }
  for (const auto& [iface, port] : desired.ports) {
    auto it = actual.ports.find(iface);
    if (it == actual.ports.end() || !(it->second == port)) out.push_back({OpKind::kPortAdd, port.vni, iface, {}, port});
  }
  for (const auto& [k, vtep] : desired.fdb) {
    auto it = actual.fdb.find(k);
    if (it == actual.fdb.end() || it->second != vtep) out.push_back({OpKind::kFdbAdd, k.first, k.second, vtep, {}});
  }
  for (const auto& [k, mac] : desired.neigh) {
    auto it = actual.neigh.find(k);
    if (it == actual.neigh.end() || it->second != mac) out.push_back({OpKind::kNeighAdd, k.first, k.second, mac, {}});
  }
  for (const auto& k : desired.flood) {
    if (actual.flood.count(k) == 0) out.push_back({OpKind::kFloodAdd, k.first, k.second, {}, {}});
  }
  return out;
}

namespace {

std::string key_text(std::uint32_t vni, const std::string& key) { return fmt::format("vni {} {}", vni, key); }
std::string key_text(const VniKey& key) { return key_text(key.first, key.second); }
std::string key_text(std::uint32_t vni) { return fmt::format("vni {}", vni); }
std::string key_text(const std::string& iface) { return iface; }

struct DriftCounter {
  std::map<std::string, std::uint64_t>& counts;
  std::vector<std::string>* examples;
  std::size_t max_examples;
  void add(const char* table, const char* how, const std::string& what) {
    ++counts[fmt::format("{}_{}", table, how)];
    if (examples != nullptr && examples->size() < max_examples) {
      examples->push_back(fmt::format("{} {} {}", table, how, what));
    }
  }
};

// Keys of a set or map, compared on both sides.
template <typename Container, typename Same>
void compare(DriftCounter& out, const char* table, const Container& believed, const Container& actual, Same same) {
  for (const auto& entry : actual) {
    const auto& key = [&]() -> const auto& {
      if constexpr (requires { typename Container::mapped_type; }) {
        return entry.first;
      } else {
        return entry;
      }
    }
    ();
    auto it = believed.find(key);
    if (it == believed.end()) {
      out.add(table, "extra", key_text(key));
    } else if (!same(*it, entry)) {
      out.add(table, "changed", key_text(key));
    }
  }
  for (const auto& entry : believed) {
    const auto& key = [&]() -> const auto& {
      if constexpr (requires { typename Container::mapped_type; }) {
        return entry.first;
      } else {
        return entry;
      }
    }
    ();
    if (actual.find(key) == actual.end()) out.add(table, "missing", key_text(key));
  }
}

}  // namespace

std::map<std::string, std::uint64_t> drift(const DpState& believed, const DpState& actual,
                                           std::vector<std::string>* examples, std::size_t max_examples) {
  std::map<std::string, std::uint64_t> counts;
  DriftCounter out{counts, examples, max_examples};
  const auto equal = [](const auto& a, const auto& b) { return a == b; };
  compare(out, "network", believed.networks, actual.networks, equal);
  compare(out, "port", believed.ports, actual.ports, equal);
  compare(out, "fdb", believed.fdb, actual.fdb, equal);
  compare(out, "neigh", believed.neigh, actual.neigh, equal);
  compare(out, "flood", believed.flood, actual.flood, equal);
  return counts;
}

void apply_op(DpState& s, const Op& op) {
  switch (op.kind) {
    case OpKind::kPortDel:
      s.ports.erase(op.key);
      break;
    case OpKind::kFdbDel:
      s.fdb.erase({op.vni, op.key});
      break;
    case OpKind::kNeighDel:
      s.neigh.erase({op.vni, op.key});
      break;
    case OpKind::kFloodDel:
      s.flood.erase({op.vni, op.key});
      break;
    case OpKind::kNetworkDel:
      s.networks.erase(op.vni);
      break;
    case OpKind::kNetworkAdd:
      s.networks.insert(op.vni);
      break;
    case OpKind::kPortAdd:
      s.ports[op.key] = op.port;
      break;
    case OpKind::kFdbAdd:
      s.fdb[{op.vni, op.key}] = op.value;
      break;
    case OpKind::kNeighAdd:
      s.neigh[{op.vni, op.key}] = op.value;
      break;
    case OpKind::kFloodAdd:
      s.flood.insert({op.vni, op.key});
      break;
  }
}

Result<dp_api::Command> to_command(const Op& op) {
  const auto command = [](auto built) -> Result<dp_api::Command> {
    if (!built) return std::move(built).error();
    return dp_api::Command{std::move(built).value()};
  };
  switch (op.kind) {
    case OpKind::kPortDel:
      return command(dp_api::make_port_del(op.key));
    case OpKind::kFdbDel:
      return command(dp_api::make_fdb_del(op.vni, op.key));
    case OpKind::kNeighDel:
      return command(dp_api::make_neigh_del(op.vni, op.key));
    case OpKind::kFloodDel:
      return command(dp_api::make_flood_del(op.vni, op.key));
    case OpKind::kNetworkDel:
      return command(dp_api::make_network_del(op.vni));
    case OpKind::kNetworkAdd:
      return command(dp_api::make_network_add(op.vni, /*flood_unknown=*/false));
    case OpKind::kPortAdd:
      return command(dp_api::make_port_add(op.key, op.port.vni, op.port.mac, op.port.ips, /*driver=*/""));
    case OpKind::kFdbAdd:
      return command(dp_api::make_fdb_add(op.vni, op.key, op.value));
    case OpKind::kNeighAdd:
      return command(dp_api::make_neigh_add(op.vni, op.key, op.value));
    case OpKind::kFloodAdd:
      return command(dp_api::make_flood_add(op.vni, op.key));
  }
  return make_error("unknown operation {}", static_cast<int>(op.kind));
}

const char* op_kind_name(OpKind kind) {
  switch (kind) {
    case OpKind::kPortDel:
      return "port-del";
    case OpKind::kFdbDel:
      return "fdb-del";
    case OpKind::kNeighDel:
      return "neigh-del";
    case OpKind::kFloodDel:
      return "flood-del";
    case OpKind::kNetworkDel:
      return "network-del";
    case OpKind::kNetworkAdd:
      return "network-add";
    case OpKind::kPortAdd:
      return "port-add";
    case OpKind::kFdbAdd:
      return "fdb-add";
    case OpKind::kNeighAdd:
      return "neigh-add";
    case OpKind::kFloodAdd:
      return "flood-add";
  }
  return "?";
}

std::string describe(const Op& op) {
  std::string out = fmt::format("{} vni {}", op_kind_name(op.kind), op.vni);
  if (!op.key.empty()) out += " " + op.key;
  if (!op.value.empty()) out += " -> " + op.value;
  if (op.kind == OpKind::kPortAdd) {
    out += " mac " + op.port.mac + " ips";
    for (const auto& ip : op.port.ips) out += " " + ip;
  }
  return out;
}

}  // namespace ferry::agent
