#include "control/agent/dp_state.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/ip_address.h"
#include "common/mac_address.h"
#include "dataplane/api/addr.h"

namespace ferry::agent {

namespace v1 = dp_api::v1;

namespace {

std::string canon_mac(const std::string& text) {
  auto m = parse_mac(text);
  return m ? m->to_string() : text;
}

// "ADDR/LEN" of either family, a bare address as a host route (/32, /128),
// IPv6 in RFC 5952 form: how the agent and the data plane's dump compare.
std::string canon_cidr(const std::string& text) {
  if (auto p = parse_prefix(text)) return p->to_string();
  if (auto a = parse_ip(text)) {
    return IpPrefix{*a, a->family == Family::kIPv4 ? 32U : 128U}.to_string();
  }
  return text;
}

std::string canon_ip(const std::string& text) {
  auto a = parse_ip(text);
  return a ? a->to_string() : text;
}

}  // namespace

DpState compute_desired(const DesiredInputs& in) {
  DpState s;
  for (const auto& [name, vni] : in.networks) s.networks.insert(vni);
  for (const LocalPort& p : in.local_ports) {
    auto net = in.networks.find(p.network);
    if (net == in.networks.end()) continue;
    PortSpec spec{net->second, canon_mac(p.mac), {}};
    if (!p.ip_cidr.empty()) spec.ips.push_back(canon_cidr(p.ip_cidr));
    if (!p.ip6_cidr.empty()) spec.ips.push_back(canon_cidr(p.ip6_cidr));
    std::sort(spec.ips.begin(), spec.ips.end());
    s.ports[p.iface] = std::move(spec);
  }
  for (const gossip::EndpointRecord& r : in.remote_endpoints) {
    auto net = in.networks.find(r.network);
    if (net == in.networks.end()) continue;
    const std::string vtep = r.vtep_string();
    if (r.vtep.size() != 4 || vtep == in.self_vtep) continue;  // IPv4 underlay only for now
    const std::uint32_t vni = net->second;
    const std::string mac = canon_mac(r.mac_string());
    s.fdb[{vni, mac}] = vtep;
    for (const std::string& cidr :
         {r.ipv4 ? r.ipv4_string() : std::string(), r.ipv6 ? r.ipv6_string() : std::string()}) {
      if (!cidr.empty()) s.neigh[{vni, canon_ip(cidr.substr(0, cidr.find('/')))}] = mac;
    }
    s.flood.insert({vni, vtep});
  }
  return s;
}

DpState from_dump(const v1::Dump& dump) {
  DpState s;
  for (const auto& n : dump.networks()) {
    s.networks.insert(n.vni());
    for (const auto& v : n.flood_vteps()) s.flood.insert({n.vni(), v});
  }
  std::set<VniKey> port_macs;
  for (const auto& p : dump.ports()) {
    PortSpec spec{p.vni(), canon_mac(p.mac()), {}};
    for (const auto& ip : p.ips()) spec.ips.push_back(canon_cidr(ip));
    std::sort(spec.ips.begin(), spec.ips.end());
    port_macs.insert({p.vni(), spec.mac});
    s.ports[p.iface()] = std::move(spec);
  }
  for (const auto& f : dump.fdb()) {
    if (f.vtep().empty()) continue;  // a local port's MAC
    s.fdb[{f.vni(), canon_mac(f.mac())}] = f.vtep();
  }
  for (const auto& n : dump.neighbors()) {
    const std::string mac = canon_mac(n.mac());
    if (port_macs.count({n.vni(), mac}) != 0) continue;
    s.neigh[{n.vni(), canon_ip(n.ip())}] = mac;
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

v1::Request to_request(const Op& op) {
  v1::Request r;
  r.set_api_version(dp_api::kApiVersion);
  switch (op.kind) {
    case OpKind::kPortDel:
      r.mutable_port_del()->set_iface(op.key);
      break;
    case OpKind::kFdbDel:
      r.mutable_fdb_del()->set_vni(op.vni);
      r.mutable_fdb_del()->set_mac(op.key);
      break;
    case OpKind::kNeighDel:
      r.mutable_neigh_del()->set_vni(op.vni);
      r.mutable_neigh_del()->set_ip(op.key);
      break;
    case OpKind::kFloodDel:
      r.mutable_flood_del()->set_vni(op.vni);
      r.mutable_flood_del()->set_vtep(op.key);
      break;
    case OpKind::kNetworkDel:
      r.mutable_network_del()->set_vni(op.vni);
      break;
    case OpKind::kNetworkAdd:
      r.mutable_network_add()->set_vni(op.vni);
      r.mutable_network_add()->set_flood_unknown(false);
      break;
    case OpKind::kPortAdd: {
      auto* p = r.mutable_port_add();
      p->set_iface(op.key);
      p->set_vni(op.port.vni);
      p->set_mac(op.port.mac);
      for (const auto& ip : op.port.ips) p->add_ips(ip);
      break;
    }
    case OpKind::kFdbAdd:
      r.mutable_fdb_add()->set_vni(op.vni);
      r.mutable_fdb_add()->set_mac(op.key);
      r.mutable_fdb_add()->set_vtep(op.value);
      break;
    case OpKind::kNeighAdd:
      r.mutable_neigh_add()->set_vni(op.vni);
      r.mutable_neigh_add()->set_ip(op.key);
      r.mutable_neigh_add()->set_mac(op.value);
      break;
    case OpKind::kFloodAdd:
      r.mutable_flood_add()->set_vni(op.vni);
      r.mutable_flood_add()->set_vtep(op.key);
      break;
  }
  return r;
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
