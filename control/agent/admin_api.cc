#include "control/agent/admin_api.h"

#include <fmt/format.h>

namespace ferry::agent {

using nlohmann::json;

namespace {

json error_reply(const std::string& message) { return json{{"ok", false}, {"error", message}}; }

std::string ip6_text(const LocalEndpoint& ep) { return ep.ip6 ? ep.ip6->to_string() : std::string(); }

json endpoint_json(const LocalEndpoint& ep) {
  return json{{"name", ep.name},
              {"id", ep.id},
              {"ip", ep.ip.to_string()},
              {"ip6", ip6_text(ep)},
              {"mac", ep.mac.to_string()},
              {"mtu", ep.mtu},
              {"container_offloads", ep.container_offloads},
              {"host_ifname", ep.host_ifname}};
}

// Who made an endpoint (and alone may remove it): "cni:CONFIG" (the CNI
// plugin, under that network configuration's name), "docker:NETWORK"
// (Docker, with the short form of its network ID), "ferryctl" (ferryctl attach).
std::string owner_label(const LocalEndpoint& ep) {
  if (!ep.owner.empty()) return ep.owner;
  if (ep.docker) return "docker:" + ep.docker_network.substr(0, 12);
  return "ferryctl";
}

// A subnet given as text: the canonical form's rules, then the typed value.
Result<IpPrefix> subnet_field(const std::string& text, bool v6) {
  auto canonical = v6 ? canonical_subnet6(text) : canonical_subnet(text);
  if (!canonical) return canonical.error();
  return parse_prefix(*canonical);
}

}  // namespace

bool AdminApi::handles(const std::string& op) {
  return op == "net-create" || op == "net-rm" || op == "networks" || op == "attach" || op == "detach" ||
         op == "endpoints";
}

void AdminApi::handle(const json& request, const AdminServer::Respond& respond) {
  const std::string op = request.value("op", "");
  if (op == "attach") return attach(request, respond);
  if (op == "net-create") return respond(net_create(request));
  if (op == "net-rm") return respond(net_rm(request));
  if (op == "networks") return respond(networks());
  if (op == "detach") return respond(detach(request));
  if (op == "endpoints") return respond(endpoints());
  respond(error_reply(fmt::format("unknown op '{}'", op)));
}

json AdminApi::net_create(const json& req) {
  NetworkRequest n;
  n.name = req.at("name").get<std::string>();
  auto subnet = subnet_field(req.at("subnet").get<std::string>(), false);
  if (!subnet) return error_reply(subnet.error().message);
  n.subnet = *subnet;
  if (const std::string s6 = req.value("subnet6", ""); !s6.empty()) {
    auto subnet6 = subnet_field(s6, true);
    if (!subnet6) return error_reply(subnet6.error().message);
    n.subnet6 = *subnet6;
  }
  if (req.contains("options")) n.options = req.at("options").get<std::map<std::string, std::string>>();
  if (const std::uint32_t vni = req.value("vni", 0U); vni != 0) n.vni = vni;
  auto r = service_.create_network(n);
  if (!r) return error_reply(r.error().message);
  return json{{"ok", true}, {"network", json::parse(r->record.encode())}, {"created", r->created}};
}

json AdminApi::net_rm(const json& req) {
  if (auto r = service_.remove_network(req.at("name").get<std::string>()); !r) return error_reply(r.error().message);
  return json{{"ok", true}};
}

json AdminApi::networks() const {
  const NetworkView view = service_.network_view();
  json out = json::array();
  for (const auto& e : view.active) {
    out.push_back({{"name", e.record.name},
                   {"vni", e.record.vni},
                   {"subnet", e.record.subnet},
                   {"subnet6", e.record.subnet6},
                   {"owner", e.owner},
                   {"state", "active"},
                   {"endpoints", service_.cluster_endpoints(e.record.name)}});
  }
  for (const auto& c : view.conflicting) {
    out.push_back({{"name", c.entry.record.name},
                   {"vni", c.entry.record.vni},
                   {"subnet", c.entry.record.subnet},
                   {"subnet6", c.entry.record.subnet6},
                   {"owner", c.entry.owner},
                   {"state", "conflict: " + c.reason},
                   {"endpoints", 0}});
  }
  return json{{"ok", true}, {"networks", out}};
}

void AdminApi::attach(const json& req, const AdminServer::Respond& respond) {
  AttachRequest a;
  a.network = req.at("net").get<std::string>();
  a.netns_path = req.at("netns").get<std::string>();
  a.name = req.value("name", "");
  if (a.name.empty()) a.name = a.netns_path.substr(a.netns_path.rfind('/') + 1);
  for (const bool v6 : {false, true}) {
    const char* key = v6 ? "ip6" : "ip";
    if (!req.contains(key) || req.at(key).get<std::string>().empty()) continue;
    const std::string text = req.at(key).get<std::string>();
    auto ip = parse_ip(text);
    if (!ip) {
      return respond(error_reply(fmt::format("network {}: address {}: {}", a.network, text, ip.error().message)));
    }
    (v6 ? a.ip6 : a.ip) = *ip;
  }
  service_.attach(a, [respond](Result<AttachResult> r) {
    if (!r) return respond(error_reply(r.error().message));
    respond(json{{"ok", true}, {"created", r->created}, {"endpoint", endpoint_json(r->endpoint)}});
  });
}

json AdminApi::detach(const json& req) {
  if (auto r = service_.detach(req.at("name").get<std::string>()); !r) return error_reply(r.error().message);
  return json{{"ok", true}};
}

json AdminApi::endpoints() const {
  json out = json::array();
  for (const auto& [name, ep] : service_.state().endpoints) {
    out.push_back({{"name", name},
                   {"id", ep.id},
                   {"network", ep.network},
                   {"ip", ep.ip.to_string()},
                   {"ip6", ip6_text(ep)},
                   {"mac", ep.mac.to_string()},
                   {"mtu", ep.mtu},
                   {"container_offloads", ep.container_offloads},
                   {"host_ifname", ep.host_ifname},
                   {"netns", ep.netns_path},
                   {"docker", ep.docker},
                   {"owner", owner_label(ep)},
                   {"port", port_state_name(service_.port_state(ep))}});
  }
  return json{{"ok", true}, {"endpoints", out}};
}

}  // namespace ferry::agent
