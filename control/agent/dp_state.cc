#include "control/agent/dp_state.h"

#include <algorithm>
#include <iterator>

#include <fmt/format.h>

#include "common/ip_address.h"
#include "common/mac_address.h"
#include "dataplane/api/addr.h"

namespace ferry::agent {

namespace {

Op make_op(OpKind kind, std::uint32_t vni) {
  Op op{};
  op.kind = kind;
  op.vni = vni;
  return op;
}

// A record's VTEP as an address (the record holds its bytes); none unless IPv4.
std::optional<IpAddress> ipv4_vtep(const gossip::EndpointRecord& r) {
  if (r.vtep.size() != 4) return std::nullopt;  // the underlay is IPv4
  IpAddress vtep;
  std::copy(r.vtep.begin(), r.vtep.end(), vtep.bytes.begin());
  return vtep;
}

}  // namespace

DpState compute_desired(const DesiredInputs& in) {
  DpState s;
  for (const auto& [name, vni] : in.networks) s.networks.insert(vni);
  for (const LocalPort& p : in.local_ports) {
    auto net = in.networks.find(p.network);
    if (net == in.networks.end()) continue;
    PortSpec spec{net->second, p.mac, {}};
    if (p.ip) spec.ips.push_back(*p.ip);
    if (p.ip6) spec.ips.push_back(*p.ip6);
    std::sort(spec.ips.begin(), spec.ips.end());
    s.ports[p.iface] = std::move(spec);
  }
  for (const gossip::EndpointRecord& r : in.remote_endpoints) {
    auto net = in.networks.find(r.network);
    if (net == in.networks.end()) continue;
    const std::optional<IpAddress> vtep = ipv4_vtep(r);
    if (!vtep || vtep == in.self_vtep) continue;
    const std::uint32_t vni = net->second;
    s.fdb[{vni, r.mac}] = *vtep;
    for (const std::optional<IpPrefix>& prefix : {r.ipv4_prefix(), r.ipv6_prefix()}) {
      if (prefix) s.neigh[{vni, prefix->address}] = r.mac;
    }
    s.flood.insert({vni, *vtep});
  }
  return s;
}

DpState from_dump(const dp_api::Dump& dump) {
  DpState s;
  for (const auto& n : dump.networks) {
    s.networks.insert(n.vni);
    for (const auto& v : n.flood_vteps) s.flood.insert({n.vni, dp_api::to_ip(v)});
  }
  std::set<MacKey> port_macs;
  for (const auto& p : dump.ports) {
    PortSpec spec{p.vni, p.mac, {}};
    for (const auto& ip : p.ips) spec.ips.push_back(dp_api::to_prefix(ip));
    for (const auto& ip : p.ips6) spec.ips.push_back(dp_api::to_prefix(ip));
    std::sort(spec.ips.begin(), spec.ips.end());
    port_macs.insert({p.vni, p.mac});
    s.ports[p.iface] = std::move(spec);
  }
  for (const auto& f : dump.fdb) {
    if (!f.vtep) continue;  // a local port's MAC
    s.fdb[{f.vni, f.mac}] = dp_api::to_ip(*f.vtep);
  }
  for (const auto& n : dump.neighbors) {
    if (port_macs.count({n.vni, n.mac}) != 0) continue;
    s.neigh[{n.vni, dp_api::to_ip(n.ip)}] = n.mac;
  }
  return s;
}

std::vector<Op> diff(const DpState& desired, const DpState& actual) {
  std::vector<Op> out;
  const auto port_op = [](OpKind kind, const std::string& iface, const PortSpec& port) {
    Op op = make_op(kind, port.vni);
    op.iface = iface;
    if (kind == OpKind::kPortAdd) op.port = port;
    return op;
  };
  const auto fdb_op = [](OpKind kind, const MacKey& key, const IpAddress& vtep) {
    Op op = make_op(kind, key.first);
    op.mac = key.second;
    if (kind == OpKind::kFdbAdd) op.vtep = vtep;
    return op;
  };
  const auto neigh_op = [](OpKind kind, const IpKey& key, const MacAddress& mac) {
    Op op = make_op(kind, key.first);
    op.ip = key.second;
    if (kind == OpKind::kNeighAdd) op.mac = mac;
    return op;
  };
  const auto flood_op = [](OpKind kind, const IpKey& key) {
    Op op = make_op(kind, key.first);
    op.vtep = key.second;
    return op;
  };
  // Removals.
  for (const auto& [iface, port] : actual.ports) {
    auto it = desired.ports.find(iface);
    if (it == desired.ports.end() || !(it->second == port)) out.push_back(port_op(OpKind::kPortDel, iface, port));
  }
  for (const auto& [k, vtep] : actual.fdb) {
    auto it = desired.fdb.find(k);
    if (it == desired.fdb.end() || it->second != vtep) out.push_back(fdb_op(OpKind::kFdbDel, k, vtep));
  }
  for (const auto& [k, mac] : actual.neigh) {
    auto it = desired.neigh.find(k);
    if (it == desired.neigh.end() || it->second != mac) out.push_back(neigh_op(OpKind::kNeighDel, k, mac));
  }
  for (const auto& k : actual.flood) {
    if (desired.flood.count(k) == 0) out.push_back(flood_op(OpKind::kFloodDel, k));
  }
  for (std::uint32_t vni : actual.networks) {
    if (desired.networks.count(vni) == 0) out.push_back(make_op(OpKind::kNetworkDel, vni));
  }
  // Additions.
  for (std::uint32_t vni : desired.networks) {
    if (actual.networks.count(vni) == 0) out.push_back(make_op(OpKind::kNetworkAdd, vni));
  }
  for (const auto& [iface, port] : desired.ports) {
    auto it = actual.ports.find(iface);
    if (it == actual.ports.end() || !(it->second == port)) out.push_back(port_op(OpKind::kPortAdd, iface, port));
  }
  for (const auto& [k, vtep] : desired.fdb) {
    auto it = actual.fdb.find(k);
    if (it == actual.fdb.end() || it->second != vtep) out.push_back(fdb_op(OpKind::kFdbAdd, k, vtep));
  }
  for (const auto& [k, mac] : desired.neigh) {
    auto it = actual.neigh.find(k);
    if (it == actual.neigh.end() || it->second != mac) out.push_back(neigh_op(OpKind::kNeighAdd, k, mac));
  }
  for (const auto& k : desired.flood) {
    if (actual.flood.count(k) == 0) out.push_back(flood_op(OpKind::kFloodAdd, k));
  }
  return out;
}

Op entry_of(const Op& op) {
  Op entry = make_op(op.kind, op.vni);
  switch (op.kind) {
    case OpKind::kPortDel:
    case OpKind::kPortAdd:
      entry.vni = 0;
      entry.iface = op.iface;
      break;
    case OpKind::kFdbDel:
    case OpKind::kFdbAdd:
      entry.mac = op.mac;
      break;
    case OpKind::kNeighDel:
    case OpKind::kNeighAdd:
      entry.ip = op.ip;
      break;
    case OpKind::kFloodDel:
    case OpKind::kFloodAdd:
      entry.vtep = op.vtep;
      break;
    case OpKind::kNetworkDel:
    case OpKind::kNetworkAdd:
      break;
  }
  return entry;
}

namespace {

std::string key_text(const MacKey& key) { return fmt::format("vni {} {}", key.first, key.second.to_string()); }
std::string key_text(const IpKey& key) { return fmt::format("vni {} {}", key.first, key.second.to_string()); }
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
      s.ports.erase(op.iface);
      break;
    case OpKind::kFdbDel:
      s.fdb.erase({op.vni, op.mac});
      break;
    case OpKind::kNeighDel:
      s.neigh.erase({op.vni, op.ip});
      break;
    case OpKind::kFloodDel:
      s.flood.erase({op.vni, op.vtep});
      break;
    case OpKind::kNetworkDel:
      s.networks.erase(op.vni);
      break;
    case OpKind::kNetworkAdd:
      s.networks.insert(op.vni);
      break;
    case OpKind::kPortAdd:
      s.ports[op.iface] = op.port;
      break;
    case OpKind::kFdbAdd:
      s.fdb[{op.vni, op.mac}] = op.vtep;
      break;
    case OpKind::kNeighAdd:
      s.neigh[{op.vni, op.ip}] = op.mac;
      break;
    case OpKind::kFloodAdd:
      s.flood.insert({op.vni, op.vtep});
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
      return command(dp_api::make_port_del(op.iface));
    case OpKind::kFdbDel:
      return command(dp_api::make_fdb_del(op.vni, op.mac));
    case OpKind::kNeighDel:
      return command(dp_api::make_neigh_del(op.vni, op.ip));
    case OpKind::kFloodDel:
      return command(dp_api::make_flood_del(op.vni, op.vtep));
    case OpKind::kNetworkDel:
      return command(dp_api::make_network_del(op.vni));
    case OpKind::kNetworkAdd:
      return command(dp_api::make_network_add(op.vni, /*flood_unknown=*/false));
    case OpKind::kPortAdd:
      return command(
          dp_api::make_port_add(op.iface, op.port.vni, op.port.mac, op.port.ips, dp_api::EndpointDriver::kDefault));
    case OpKind::kFdbAdd:
      return command(dp_api::make_fdb_add(op.vni, op.mac, op.vtep));
    case OpKind::kNeighAdd:
      return command(dp_api::make_neigh_add(op.vni, op.ip, op.mac));
    case OpKind::kFloodAdd:
      return command(dp_api::make_flood_add(op.vni, op.vtep));
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
  std::string head = fmt::format("{} vni {}", op_kind_name(op.kind), op.vni);
  switch (op.kind) {
    case OpKind::kPortDel:
      return fmt::format("{} {}", head, op.iface);
    case OpKind::kPortAdd: {
      std::string out = fmt::format("{} {} mac {} ips", head, op.iface, op.port.mac.to_string());
      for (const auto& ip : op.port.ips) fmt::format_to(std::back_inserter(out), " {}", ip.to_string());
      return out;
    }
    case OpKind::kFdbDel:
      return fmt::format("{} {}", head, op.mac.to_string());
    case OpKind::kFdbAdd:
      return fmt::format("{} {} -> {}", head, op.mac.to_string(), op.vtep.to_string());
    case OpKind::kNeighDel:
      return fmt::format("{} {}", head, op.ip.to_string());
    case OpKind::kNeighAdd:
      return fmt::format("{} {} -> {}", head, op.ip.to_string(), op.mac.to_string());
    case OpKind::kFloodDel:
    case OpKind::kFloodAdd:
      return fmt::format("{} {}", head, op.vtep.to_string());
    case OpKind::kNetworkDel:
    case OpKind::kNetworkAdd:
      break;
  }
  return head;
}

}  // namespace ferry::agent
