#include "netns/endpoint.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "netns/naming.h"

namespace ferry::netns {
namespace {

// Deletes the veth pair unless dismissed: the rollback of a half-made endpoint.
class VethRollback {
 public:
  VethRollback(Rtnl& rtnl, std::string name) : rtnl_(rtnl), name_(std::move(name)) {}
  VethRollback(const VethRollback&) = delete;
  VethRollback& operator=(const VethRollback&) = delete;
  ~VethRollback() {
    if (armed_) (void)rtnl_.delete_link(name_);
  }
  void dismiss() { armed_ = false; }

 private:
  Rtnl& rtnl_;
  std::string name_;
  bool armed_ = true;
};

Result<Namespace> open_host_namespace(const std::string& path) {
  return path.empty() ? Namespace::current() : Namespace::open(path);
}

Result<void> validate_common(const VethSpec& spec) {
  if (auto v = validate_endpoint_id(spec.endpoint_id); !v) return v;
  if (auto v = validate_ifname(spec.resolved_host_ifname()); !v) return v.error().wrap("host interface");
  if (auto v = validate_mtu(spec.mtu); !v) return v;
  if (spec.mac && (spec.mac->is_zero() || spec.mac->is_multicast())) {
    return make_error("invalid MAC address {}: must be unicast and not zero", spec.mac->to_string());
  }
  return ok();
}

template <typename T>
bool is_subset(const std::vector<T>& have, const std::vector<T>& want) {
  return std::all_of(have.begin(), have.end(),
                     [&](const T& x) { return std::find(want.begin(), want.end(), x) != want.end(); });
}

std::vector<Route> wanted_routes(const EndpointSpec& spec) {
  std::vector<Route> out;
  for (const IpAddress& gw : spec.gateways) {
    IpPrefix any;
    any.address.family = gw.family;
    out.push_back(Route{any, gw});
  }
  for (const Route& r : spec.routes) out.push_back(Route{r.destination.network(), r.next_hop});
  return out;
}

Error different_spec(const EndpointSpec& spec, const std::string& what) {
  return Error{fmt::format("endpoint {} (host interface {}) already exists with a different spec: {}", spec.endpoint_id,
                           spec.resolved_host_ifname(), what),
               EEXIST};
}

// Checks that an existing host-side link and its peer are this endpoint as
// specified. Leaves out nothing a retry could not fix: missing addresses and
// routes are allowed (an earlier attempt may have died before adding them),
// extra or different ones are not.
Result<LinkInfo> check_existing(const EndpointSpec& spec, Rtnl& host, Rtnl& ctr, const LinkInfo& host_link) {
  if (host_link.kind != "veth") return different_spec(spec, fmt::format("it is a {} device", host_link.kind));
  auto found = ctr.find_link(spec.container_ifname);
  if (!found) return found.error();
  if (!found->has_value() || !host_link.peer_elsewhere) {
    return different_spec(spec, fmt::format("its peer is not {} in {}", spec.container_ifname, spec.netns_path));
  }
  const LinkInfo& c = **found;
  if (c.kind != "veth" || c.ifindex != host_link.peer_ifindex || c.peer_ifindex != host_link.ifindex) {
    return different_spec(spec, fmt::format("{} in {} is not its peer", spec.container_ifname, spec.netns_path));
  }
  if (c.mtu != spec.mtu || host_link.mtu != spec.mtu) {
    return different_spec(spec, fmt::format("MTU {} (wanted {})", c.mtu, spec.mtu));
  }
  if (spec.mac && c.mac != *spec.mac) {
    return different_spec(spec, fmt::format("MAC {} (wanted {})", c.mac.to_string(), spec.mac->to_string()));
  }
  auto addrs = ctr.addresses(c.ifindex);
  if (!addrs) return addrs.error();
  if (!is_subset(*addrs, spec.addresses)) return different_spec(spec, "container addresses differ");
  auto host_addrs = host.addresses(host_link.ifindex);
  if (!host_addrs) return host_addrs.error();
  if (!is_subset(*host_addrs, spec.host_addresses)) return different_spec(spec, "host addresses differ");
  auto routes = ctr.routes(c.ifindex);
  if (!routes) return routes.error();
  if (!is_subset(*routes, wanted_routes(spec))) return different_spec(spec, "routes differ");
  return c;
}

// Brings both ends to the spec. Each step is idempotent, so the same code
// finishes a fresh pair and repairs one an earlier attempt left half-done.
Result<void> configure(const EndpointSpec& spec, Rtnl& host, Rtnl& ctr, const LinkInfo& host_link,
                       const LinkInfo& ctr_link) {
  if (auto r = ctr.set_tx_checksum(spec.container_ifname, spec.container_tx_checksum); !r) return r;
  if (spec.loopback_up) {
    if (auto r = ctr.set_up("lo", true); !r) return r;
  }
  for (const IpPrefix& a : spec.addresses) {
    if (auto r = ctr.add_address(ctr_link.ifindex, a); !r) return r;
  }
  for (const IpPrefix& a : spec.host_addresses) {
    if (auto r = host.add_address(host_link.ifindex, a); !r) return r;
  }
  if (auto r = host.set_ipv6_addr_gen_none(host_link.name); !r) return r;
  if (auto r = host.set_up(host_link.name, true); !r) return r;
  if (auto r = ctr.set_up(spec.container_ifname, true); !r) return r;
  // Routes last: a next hop must be reachable through an address's prefix.
  for (const Route& r : wanted_routes(spec)) {
    if (auto added = ctr.add_route(ctr_link.ifindex, r); !added) return added;
  }
  return ok();
}

Endpoint to_endpoint(const LinkInfo& host_link, const LinkInfo& ctr_link, bool created) {
  return Endpoint{host_link.name, host_link.ifindex, ctr_link.name, ctr_link.ifindex,
                  ctr_link.mac,   ctr_link.mtu,      created};
}

}  // namespace

std::string VethSpec::resolved_host_ifname() const {
  return host_ifname.empty() ? derive_host_ifname(endpoint_id) : host_ifname;
}

std::string DockerVethSpec::resolved_peer_ifname() const {
  return peer_ifname.empty() ? derive_peer_ifname(endpoint_id) : peer_ifname;
}

Result<void> EndpointSpec::validate() const {
  if (auto v = validate_common(*this); !v) return v;
  if (netns_path.empty()) return make_error("no container namespace path given");
  if (auto v = validate_ifname(container_ifname); !v) return v.error().wrap("container interface");
  bool has_v4 = false;
  bool has_v6 = false;
  for (const IpPrefix& a : addresses) {
    if (auto v = validate_interface_address(a); !v) return v;
    (a.address.family == Family::kIPv4 ? has_v4 : has_v6) = true;
  }
  for (const IpPrefix& a : host_addresses) {
    if (auto v = validate_interface_address(a); !v) return v.error().wrap("host address");
    if (a.address.family == Family::kIPv6) has_v6 = true;
  }
  if (has_v6 && mtu < kMinIpv6Mtu) {
    return make_error("MTU {} is below {}, the minimum for IPv6 addresses", mtu, kMinIpv6Mtu);
  }
  bool gw_v4 = false;
  bool gw_v6 = false;
  for (const IpAddress& gw : gateways) {
    if (auto v = validate_gateway(gw); !v) return v;
    bool& seen = gw.family == Family::kIPv4 ? gw_v4 : gw_v6;
    if (seen) return make_error("more than one IPv{} gateway", static_cast<int>(gw.family));
    seen = true;
    if (!(gw.family == Family::kIPv4 ? has_v4 : has_v6)) {
      return make_error("gateway {} has no IPv{} address on the interface to reach it from", gw.to_string(),
                        static_cast<int>(gw.family));
    }
  }
  for (const Route& r : routes) {
    if (r.next_hop) {
      if (r.next_hop->family != r.destination.address.family) {
        return make_error("route {} via {}: address families differ", r.destination.to_string(),
                          r.next_hop->to_string());
      }
      if (auto v = validate_gateway(*r.next_hop); !v) return v.error().wrap("route " + r.destination.to_string());
    }
  }
  return ok();
}

Result<void> DockerVethSpec::validate() const {
  if (auto v = validate_common(*this); !v) return v;
  if (auto v = validate_ifname(resolved_peer_ifname()); !v) return v.error().wrap("temporary container interface");
  if (resolved_peer_ifname() == resolved_host_ifname()) return make_error("host and container names are the same");
  return ok();
}

Result<Endpoint> create_endpoint(const EndpointSpec& spec) {
  if (auto v = spec.validate(); !v) return v.error().wrap(fmt::format("endpoint {}", spec.endpoint_id));
  auto host_ns = open_host_namespace(spec.host_netns_path);
  if (!host_ns) return host_ns.error();
  auto ctr_ns = Namespace::open(spec.netns_path);
  if (!ctr_ns) return ctr_ns.error();
  if (host_ns->same_as(*ctr_ns)) {
    return make_error("endpoint {}: container namespace {} is the host namespace", spec.endpoint_id, spec.netns_path);
  }
  auto host = Rtnl::open(*host_ns);
  if (!host) return host.error();
  auto ctr = Rtnl::open(*ctr_ns);
  if (!ctr) return ctr.error();
  const std::string host_ifname = spec.resolved_host_ifname();

  auto existing = host->find_link(host_ifname);
  if (!existing) return existing.error();
  if (!existing->has_value()) {
    VethPairSpec pair{host_ifname, spec.container_ifname, &*ctr_ns, spec.mac, spec.mtu};
    auto made = host->create_veth(pair);
    if (!made) {
      if (made.error().sys_errno != EEXIST) return made.error().wrap(fmt::format("endpoint {}", spec.endpoint_id));
      // EEXIST: either a concurrent create of the same endpoint won the race
      // (then fall through to the existing-endpoint path), or the container
      // already has an interface of that name (nothing was created).
      existing = host->find_link(host_ifname);
      if (!existing) return existing.error();
      if (!existing->has_value()) {
        return Error{fmt::format("endpoint {}: {} already has an interface named {}", spec.endpoint_id, spec.netns_path,
                                 spec.container_ifname),
                     EEXIST};
      }
    } else {
      VethRollback rollback(*host, host_ifname);
      auto host_link = host->get_link(host_ifname);
      if (!host_link) return host_link.error();
      auto ctr_link = ctr->get_link(spec.container_ifname);
      if (!ctr_link) return ctr_link.error();
      if (auto r = configure(spec, *host, *ctr, *host_link, *ctr_link); !r) {
        return r.error().wrap(fmt::format("endpoint {} (rolled back)", spec.endpoint_id));
      }
      auto final_ctr = ctr->get_link(spec.container_ifname);  // MAC and flags as they are now
      if (!final_ctr) return final_ctr.error();
      rollback.dismiss();
      return to_endpoint(*host_link, *final_ctr, true);
    }
  }
  // It exists: return it if it is this endpoint, finishing what an earlier
  // attempt may have left undone; never roll back what we did not create.
  const LinkInfo host_link = **existing;
  auto ctr_link = check_existing(spec, *host, *ctr, host_link);
  if (!ctr_link) return ctr_link.error();
  if (auto r = configure(spec, *host, *ctr, host_link, *ctr_link); !r) {
    return r.error().wrap(fmt::format("endpoint {} (existing)", spec.endpoint_id));
  }
  return to_endpoint(host_link, *ctr_link, false);
}

Result<Endpoint> create_docker_veth(const DockerVethSpec& spec) {
  if (auto v = spec.validate(); !v) return v.error().wrap(fmt::format("endpoint {}", spec.endpoint_id));
  auto host_ns = open_host_namespace(spec.host_netns_path);
  if (!host_ns) return host_ns.error();
  auto host = Rtnl::open(*host_ns);
  if (!host) return host.error();
  const std::string host_ifname = spec.resolved_host_ifname();
  const std::string peer_ifname = spec.resolved_peer_ifname();

  auto existing = host->find_link(host_ifname);
  if (!existing) return existing.error();
  if (!existing->has_value()) {
    VethPairSpec pair{host_ifname, peer_ifname, nullptr, spec.mac, spec.mtu};
    auto made = host->create_veth(pair);
    if (made) {
      VethRollback rollback(*host, host_ifname);
      if (auto r = host->set_tx_checksum(peer_ifname, spec.container_tx_checksum); !r) {
        return r.error().wrap(fmt::format("endpoint {} (rolled back)", spec.endpoint_id));
      }
      if (auto r = host->set_ipv6_addr_gen_none(host_ifname); !r) {
        return r.error().wrap(fmt::format("endpoint {} (rolled back)", spec.endpoint_id));
      }
      // The container side stays down: Docker brings it up once it is inside.
      if (auto r = host->set_up(host_ifname, true); !r) {
        return r.error().wrap(fmt::format("endpoint {} (rolled back)", spec.endpoint_id));
      }
      auto host_link = host->get_link(host_ifname);
      if (!host_link) return host_link.error();
      auto peer_link = host->get_link(peer_ifname);
      if (!peer_link) return peer_link.error();
      rollback.dismiss();
      return to_endpoint(*host_link, *peer_link, true);
    }
    if (made.error().sys_errno != EEXIST) return made.error().wrap(fmt::format("endpoint {}", spec.endpoint_id));
    existing = host->find_link(host_ifname);
    if (!existing) return existing.error();
    if (!existing->has_value()) {
      return Error{fmt::format("endpoint {}: an interface named {} already exists", spec.endpoint_id, peer_ifname),
                   EEXIST};
    }
  }
  const LinkInfo host_link = **existing;
  auto differ = [&](const std::string& what) {
    return Error{fmt::format("endpoint {} (host interface {}) already exists with a different spec: {}",
                             spec.endpoint_id, host_ifname, what),
                 EEXIST};
  };
  if (host_link.kind != "veth") return differ(fmt::format("it is a {} device", host_link.kind));
  if (host_link.mtu != spec.mtu) return differ(fmt::format("MTU {} (wanted {})", host_link.mtu, spec.mtu));
  if (host_link.peer_elsewhere) {
    // Docker has already moved the container side: nothing left to check here.
    Endpoint out{
        host_link.name, host_link.ifindex, "", host_link.peer_ifindex, spec.mac.value_or(MacAddress{}), host_link.mtu,
        false};
    return out;
  }
  auto peer = host->find_link(host_link.peer_ifindex);
  if (!peer) return peer.error();
  if (!peer->has_value() || (*peer)->name != peer_ifname) return differ("its peer is not " + peer_ifname);
  const LinkInfo& p = **peer;
  if (spec.mac && p.mac != *spec.mac) {
    return differ(fmt::format("MAC {} (wanted {})", p.mac.to_string(), spec.mac->to_string()));
  }
  if (auto r = host->set_tx_checksum(peer_ifname, spec.container_tx_checksum); !r) return r.error();
  if (auto r = host->set_ipv6_addr_gen_none(host_ifname); !r) return r.error();
  if (auto r = host->set_up(host_ifname, true); !r) return r.error();
  return to_endpoint(host_link, p, false);
}

Result<bool> delete_endpoint(const VethSpec& spec) {
  if (auto v = validate_endpoint_id(spec.endpoint_id); !v) return v.error();
  const std::string host_ifname = spec.resolved_host_ifname();
  if (auto v = validate_ifname(host_ifname); !v) return v.error();
  auto host = open_rtnl(spec.host_netns_path);
  if (!host) return host.error();
  auto link = host->find_link(host_ifname);
  if (!link) return link.error();
  if (!link->has_value()) return false;
  if ((*link)->kind != "veth") {
    return make_error("endpoint {}: {} is a {} device, not a veth; not deleting it", spec.endpoint_id, host_ifname,
                      (*link)->kind);
  }
  return host->delete_link(host_ifname);
}

}  // namespace ferry::netns
