#include "control/agent/cni_api.h"

#include <set>

#include <fmt/format.h>

#include "control/agent/reconciler.h"
#include "netns/namespace.h"
#include "netns/rtnl.h"

namespace ferry::agent {

using nlohmann::json;

namespace {

// CNI error codes the agent can tell (the plugin picks its own otherwise).
constexpr int kContainerUnknown = 3;
constexpr int kInvalidEnvironment = 4;
constexpr int kInvalidConfig = 7;
constexpr int kTryAgainLater = 11;
constexpr int kNotAvailable = 50;
constexpr int kLimitedConnectivity = 51;

json refused(const std::string& message, int code = 0) {
  json out{{"ok", false}, {"error", message}};
  if (code != 0) out["code"] = code;
  return out;
}

json endpoint_json(const LocalEndpoint& ep, const std::string& host_mac) {
  return json{{"name", ep.name},
              {"id", ep.id},
              {"network", ep.network},
              {"ip", ep.ip.to_string()},
              {"ip6", ep.ip6 ? ep.ip6->to_string() : std::string()},
              {"gateway", first_host(ep.ip.network()).to_string()},
              {"gateway6", ep.ip6 ? first_host(ep.ip6->network()).to_string() : std::string()},
              {"mac", ep.mac.to_string()},
              {"mtu", ep.mtu},
              {"container_ifname", ep.container_ifname},
              {"host_ifname", ep.host_ifname},
              {"host_mac", host_mac}};
}

// The host side's MAC ("" when it cannot be read: the result leaves it out).
std::string host_mac(const LocalEndpoint& ep) {
  auto rt = netns::open_rtnl("");
  if (!rt) return "";
  auto link = rt->find_link(ep.host_ifname);
  return link && *link ? (*link)->mac.to_string() : std::string();
}

// The namespace passed with the request, as a path this process can open.
Result<std::string> passed_netns(const std::shared_ptr<const PassedFds>& fds) {
  if (!fds || fds->fds().size() != 1) {
    return make_error("the request must carry exactly one file descriptor: the container's network namespace");
  }
  std::string path = fmt::format("/proc/self/fd/{}", fds->fds().front());
  if (auto ns = netns::Namespace::open(path); !ns) return ns.error();
  return path;
}

// The container's interface as ADD left it: present, same MAC, MTU and
// addresses, up; the host side present.
Result<void> check_wiring(const LocalEndpoint& ep, const std::string& wire_path, const std::string& netns_name) {
  auto rt = netns::open_rtnl(wire_path);
  if (!rt) return rt.error();
  auto link = rt->find_link(ep.container_ifname);
  if (!link) return link.error();
  if (!*link) return make_error("interface {} is missing from {}", ep.container_ifname, netns_name);
  const netns::LinkInfo& l = **link;
  if (l.mac != ep.mac) {
    return make_error("interface {} in {} has MAC {}, not {} (changed since ADD)", ep.container_ifname, netns_name,
                      l.mac.to_string(), ep.mac.to_string());
  }
  if (l.mtu != ep.mtu) {
    return make_error("interface {} in {} has MTU {}, not {} (changed since ADD)", ep.container_ifname, netns_name,
                      l.mtu, ep.mtu);
  }
  if (!l.up) return make_error("interface {} in {} is down", ep.container_ifname, netns_name);
  auto addrs = rt->addresses(l.ifindex);
  if (!addrs) return addrs.error();
  std::vector<IpPrefix> want{ep.ip};
  if (ep.ip6) want.push_back(*ep.ip6);
  for (const IpPrefix& a : want) {
    if (std::find(addrs->begin(), addrs->end(), a) == addrs->end()) {
      return make_error("interface {} in {} lost its address {}", ep.container_ifname, netns_name, a.to_string());
    }
  }
  auto host = netns::open_rtnl("");
  if (!host) return host.error();
  auto host_link = host->find_link(ep.host_ifname);
  if (!host_link) return host_link.error();
  if (!*host_link) {
    return make_error("the host side {} of interface {} is missing", ep.host_ifname, ep.container_ifname);
  }
  return ok();
}

std::string name_of(const json& req) {
  return cni_endpoint_name(req.at("container_id").get<std::string>(), req.at("ifname").get<std::string>());
}

}  // namespace

bool CniApi::handles(const std::string& op) {
  return op == "cni-add" || op == "cni-del" || op == "cni-check" || op == "cni-gc" || op == "cni-status";
}

std::string CniApi::owner_of(const std::string& config) { return "cni:" + config; }

void CniApi::handle(const json& request, const std::shared_ptr<const PassedFds>& fds,
                    const AdminServer::Respond& respond) {
  const std::string op = request.value("op", "");
  if (op == "cni-add") return add(request, fds, respond);
  if (op == "cni-del") return respond(del(request));
  if (op == "cni-check") return respond(check(request, fds));
  if (op == "cni-gc") return respond(gc(request));
  if (op == "cni-status") return respond(status(request));
  respond(refused(fmt::format("unknown op '{}'", op)));
}

void CniApi::add(const json& req, const std::shared_ptr<const PassedFds>& fds, const AdminServer::Respond& respond) {
  const std::string config = req.at("config").get<std::string>();
  const std::string net = req.at("net").get<std::string>();
  auto wire = passed_netns(fds);
  if (!wire) return respond(refused(fmt::format("CNI_NETNS: {}", wire.error().message), kInvalidEnvironment));

  // "subnet" (and "subnet6", "vni") in the network configuration: the
  // network is created here unless it exists with the same definition.
  if (const std::string subnet = req.value("subnet", ""); !subnet.empty()) {
    NetworkRequest n;
    n.name = net;
    auto canonical = canonical_subnet(subnet);
    if (!canonical) return respond(refused(fmt::format("subnet: {}", canonical.error().message), kInvalidConfig));
    n.subnet = *parse_prefix(*canonical);
    if (const std::string s6 = req.value("subnet6", ""); !s6.empty()) {
      auto c6 = canonical_subnet6(s6);
      if (!c6) return respond(refused(fmt::format("subnet6: {}", c6.error().message), kInvalidConfig));
      n.subnet6 = *parse_prefix(*c6);
    }
    if (const std::uint32_t vni = req.value("vni", 0U); vni != 0) n.vni = vni;
    if (auto r = service_.create_network(n); !r) return respond(refused(r.error().message, kInvalidConfig));
  } else if (service_.network_view().find(net) == nullptr) {
    return respond(refused(fmt::format("no network {}: create it (ferryctl net create {} SUBNET) or give \"subnet\" "
                                       "in the network configuration",
                                       net, net),
                           kInvalidConfig));
  }

  AttachRequest a;
  a.network = net;
  a.name = name_of(req);
  a.netns_path = req.at("netns").get<std::string>();
  a.wire_netns_path = *wire;
  a.container_ifname = req.at("ifname").get<std::string>();
  a.owner = owner_of(config);
  for (const bool v6 : {false, true}) {
    const char* key = v6 ? "ip6" : "ip";
    const std::string text = req.value(key, "");
    if (text.empty()) continue;
    auto ip = parse_ip(text);
    if (!ip) return respond(refused(fmt::format("address {}: {}", text, ip.error().message), kInvalidConfig));
    (v6 ? a.ip6 : a.ip) = *ip;
  }
  if (auto it = service_.state().endpoints.find(a.name);
      it != service_.state().endpoints.end() && it->second.owner != a.owner) {
    return respond(
        refused(fmt::format("endpoint {} exists and was not made by network configuration {}", a.name, config)));
  }
  // `fds` stays captured (the namespace open) until the answer.
  service_.attach(a, [respond, fds](Result<AttachResult> r) {
    if (!r) return respond(refused(r.error().message));
    respond(
        json{{"ok", true}, {"created", r->created}, {"endpoint", endpoint_json(r->endpoint, host_mac(r->endpoint))}});
  });
}

json CniApi::del(const json& req) {
  const std::string config = req.at("config").get<std::string>();
  const std::string name = name_of(req);
  auto it = service_.state().endpoints.find(name);
  if (it == service_.state().endpoints.end()) return json{{"ok", true}, {"removed", false}};
  if (it->second.owner != owner_of(config)) {
    return refused(fmt::format("endpoint {} was not made by network configuration {} (owner '{}'): not removed", name,
                               config, it->second.owner.empty() ? "ferryctl or Docker" : it->second.owner));
  }
  if (auto r = service_.detach(name, true); !r) return refused(r.error().message, kTryAgainLater);
  return json{{"ok", true}, {"removed", true}};
}

json CniApi::check(const json& req, const std::shared_ptr<const PassedFds>& fds) {
  const std::string config = req.at("config").get<std::string>();
  const std::string name = name_of(req);
  const std::string netns_name = req.at("netns").get<std::string>();
  auto wire = passed_netns(fds);
  if (!wire) return refused(fmt::format("CNI_NETNS: {}", wire.error().message), kInvalidEnvironment);
  auto it = service_.state().endpoints.find(name);
  if (it == service_.state().endpoints.end() || it->second.owner != owner_of(config)) {
    return refused(
        fmt::format("no endpoint {} made by network configuration {}: the container is not attached", name, config),
        kContainerUnknown);
  }
  auto ep = service_.check(name, req.at("net").get<std::string>(), netns_name);
  if (!ep) return refused(ep.error().message);
  if (auto r = check_wiring(*ep, *wire, netns_name); !r) return refused(r.error().message);
  return json{{"ok", true}, {"endpoint", endpoint_json(*ep, host_mac(*ep))}};
}

json CniApi::gc(const json& req) {
  const std::string owner = owner_of(req.at("config").get<std::string>());
  std::set<std::string> valid;
  for (const auto& v : req.at("valid")) {
    valid.insert(cni_endpoint_name(v.at("container_id").get<std::string>(), v.at("ifname").get<std::string>()));
  }
  std::vector<std::string> stale;
  for (const auto& [name, ep] : service_.state().endpoints) {
    if (ep.owner == owner && valid.count(name) == 0) stale.push_back(name);
  }
  json removed = json::array();
  json errors = json::array();
  for (const auto& name : stale) {  // as many as possible, errors reported together
    if (auto r = service_.detach(name, true); !r) {
      errors.push_back(fmt::format("{}: {}", name, r.error().message));
    } else {
      removed.push_back(name);
    }
  }
  if (!errors.empty()) {
    json out = refused(fmt::format("GC removed {} of {} stale attachments: {}", removed.size(), stale.size(),
                                   errors.front().get<std::string>()),
                       kTryAgainLater);
    out["removed"] = removed;
    return out;
  }
  return json{{"ok", true}, {"removed", removed}};
}

json CniApi::status(const json& req) const {
  const std::string net = req.at("net").get<std::string>();
  const NetworkView view = service_.network_view();
  for (const auto& c : view.conflicting) {
    if (c.entry.record.name == net) {
      return refused(fmt::format("network {} is in conflict: {}", net, c.reason), kNotAvailable);
    }
  }
  if (view.find(net) == nullptr && req.value("subnet", "").empty()) {
    return refused(fmt::format("no network {}: create it (ferryctl net create {} SUBNET) or give \"subnet\"", net, net),
                   kNotAvailable);
  }
  if (!reconciler_.status().dataplane_up) {
    return refused("ferry-dataplane does not answer the agent: containers on this host have no connectivity",
                   kLimitedConnectivity);
  }
  return json{{"ok", true}};
}

}  // namespace ferry::agent
