#include "control/agent/dp_state.h"

#include <gtest/gtest.h>

#include "control/agent/reconciler.h"

namespace ferry::agent {
namespace {

namespace v1 = dp_api::v1;

gossip::EndpointRecord remote(const char* net, const char* id, const char* mac, const char* ip, const char* vtep,
                              const char* owner) {
  auto r = gossip::EndpointRecord::from_strings(net, id, mac, ip, "", vtep, owner);
  EXPECT_TRUE(r) << r.error().message;
  return *r;
}

LocalPort port(const char* iface, const char* net, const char* mac, const char* ip, const char* ip6 = "") {
  auto m = parse_mac(mac);
  auto p = parse_prefix(ip);
  EXPECT_TRUE(m && p);
  LocalPort out{iface, net, m ? *m : MacAddress{}, p ? std::optional<IpPrefix>(*p) : std::nullopt};
  if (*ip6 != '\0') {
    auto p6 = parse_prefix(ip6);
    EXPECT_TRUE(p6);
    if (p6) out.ip6 = *p6;
  }
  return out;
}

// A dump as the reconciler reads it: through the API's reply decoder.
DpState from_wire(const v1::Dump& dump) {
  v1::Reply reply;
  reply.set_status(v1::STATUS_OK);
  *reply.mutable_dump() = dump;
  auto typed = dp_api::parse_reply(reply);
  EXPECT_TRUE(typed) << typed.error().message;
  return typed && typed->get<dp_api::Dump>() != nullptr ? from_dump(*typed->get<dp_api::Dump>()) : DpState{};
}

DesiredInputs sample() {
  DesiredInputs in;
  in.networks = {{"blue", 100}, {"red", 200}};
  in.self_vtep = "172.31.0.101";
  in.local_ports = {port("fyaaaa", "blue", "02:00:00:00:00:01", "10.0.0.2/24"),
                    port("fybbbb", "gone", "02:00:00:00:00:02", "10.9.0.2/24")};  // unknown network: skipped
  in.remote_endpoints = {remote("blue", "e2", "02:00:00:00:00:0A", "10.0.0.3/24", "172.31.0.102", "h2"),
                         remote("blue", "e3", "02:00:00:00:00:0b", "10.0.0.4/24", "172.31.0.102", "h2"),
                         remote("red", "e4", "02:00:00:00:00:0c", "10.1.0.4/24", "172.31.0.103", "h3"),
                         remote("blue", "e5", "02:00:00:00:00:0d", "10.0.0.9/24", "172.31.0.101", "old-me")};
  return in;
}

TEST(ComputeDesired, PortsRemoteMacsNeighboursAndFloodLists) {
  const DpState s = compute_desired(sample());
  EXPECT_EQ(s.networks, (std::set<std::uint32_t>{100, 200}));
  ASSERT_EQ(s.ports.size(), 1U);
  EXPECT_EQ(s.ports.at("fyaaaa"), (PortSpec{100, "02:00:00:00:00:01", {"10.0.0.2/24"}}));
  EXPECT_EQ(s.fdb.size(), 3U);
  EXPECT_EQ(s.fdb.at({100, "02:00:00:00:00:0a"}), "172.31.0.102");  // MAC canonical lower case
  EXPECT_EQ(s.neigh.at({100, "10.0.0.3"}), "02:00:00:00:00:0a");
  EXPECT_EQ(s.neigh.at({200, "10.1.0.4"}), "02:00:00:00:00:0c");
  EXPECT_EQ(s.flood, (std::set<VniKey>{{100, "172.31.0.102"}, {200, "172.31.0.103"}}));  // own VTEP never
}

TEST(ComputeDesired, DualStackPortsAndIpv6NeighboursInCanonicalForm) {
  DesiredInputs in;
  in.networks = {{"blue", 100}};
  in.self_vtep = "172.31.0.101";
  in.local_ports = {port("fyaaaa", "blue", "02:00:00:00:00:01", "10.0.0.2/24", "FD00:10:0:0::2/64")};
  auto r = gossip::EndpointRecord::from_strings("blue", "e2", "02:00:00:00:00:0a", "10.0.0.3/24", "fd00:10::3/64",
                                                "172.31.0.102", "h2");
  ASSERT_TRUE(r) << r.error().message;
  in.remote_endpoints = {*r};
  const DpState s = compute_desired(in);
  EXPECT_EQ(s.ports.at("fyaaaa"), (PortSpec{100, "02:00:00:00:00:01", {"10.0.0.2/24", "fd00:10::2/64"}}));
  EXPECT_EQ(s.neigh.at({100, "10.0.0.3"}), "02:00:00:00:00:0a");
  EXPECT_EQ(s.neigh.at({100, "fd00:10::3"}), "02:00:00:00:00:0a");
  EXPECT_EQ(s.neigh.size(), 2U);

  // The data plane's dump in another spelling compares equal: no churn.
  v1::Dump dump;
  auto* n = dump.add_networks();
  n->set_vni(100);
  n->add_flood_vteps("172.31.0.102");
  auto* p = dump.add_ports();
  p->set_iface("fyaaaa");
  p->set_vni(100);
  p->set_mac("02:00:00:00:00:01");
  p->add_ips("fd00:10:0::2/64");
  p->add_ips("10.0.0.2/24");
  auto* f = dump.add_fdb();
  f->set_vni(100);
  f->set_mac("02:00:00:00:00:0a");
  f->set_vtep("172.31.0.102");
  for (const char* ip : {"10.0.0.3", "FD00:10::3"}) {
    auto* nb = dump.add_neighbors();
    nb->set_vni(100);
    nb->set_ip(ip);
    nb->set_mac("02:00:00:00:00:0a");
  }
  EXPECT_TRUE(diff(s, from_wire(dump)).empty());
}

TEST(Diff, EmptyWhenEqualAndOrderedRemovalsFirst) {
  const DpState want = compute_desired(sample());
  EXPECT_TRUE(diff(want, want).empty());
  DpState have = want;
  have.networks.insert(300);
  have.ports["stale"] = PortSpec{300, "02:00:00:00:00:99", {}};
  have.fdb[{100, "02:00:00:00:00:0a"}] = "172.31.0.109";  // moved host
  have.flood.erase({200, "172.31.0.103"});
  const auto ops = diff(want, have);
  ASSERT_FALSE(ops.empty());
  EXPECT_EQ(ops.front().kind, OpKind::kPortDel);
  bool seen_add = false;
  for (const Op& op : ops) {
    if (op.kind >= OpKind::kNetworkAdd) seen_add = true;
    if (seen_add) {
      EXPECT_GE(op.kind, OpKind::kNetworkAdd) << describe(op);
    }
  }
  DpState applied = have;
  for (const Op& op : ops) apply_op(applied, op);
  EXPECT_EQ(applied, want);
}

TEST(FromDump, SkipsPortDerivedEntries) {
  v1::Dump dump;
  auto* n = dump.add_networks();
  n->set_vni(100);
  n->add_flood_vteps("172.31.0.102");
  auto* p = dump.add_ports();
  p->set_iface("fyaaaa");
  p->set_vni(100);
  p->set_mac("02:00:00:00:00:01");
  p->add_ips("10.0.0.2/24");
  auto* local_fdb = dump.add_fdb();
  local_fdb->set_vni(100);
  local_fdb->set_mac("02:00:00:00:00:01");
  local_fdb->set_iface("fyaaaa");
  auto* remote_fdb = dump.add_fdb();
  remote_fdb->set_vni(100);
  remote_fdb->set_mac("02:00:00:00:00:0a");
  remote_fdb->set_vtep("172.31.0.102");
  auto* own_neigh = dump.add_neighbors();
  own_neigh->set_vni(100);
  own_neigh->set_ip("10.0.0.2");
  own_neigh->set_mac("02:00:00:00:00:01");
  auto* neigh = dump.add_neighbors();
  neigh->set_vni(100);
  neigh->set_ip("10.0.0.3");
  neigh->set_mac("02:00:00:00:00:0a");
  const DpState s = from_wire(dump);
  EXPECT_EQ(s.networks.size(), 1U);
  EXPECT_EQ(s.ports.size(), 1U);
  EXPECT_EQ(s.fdb.size(), 1U);
  EXPECT_EQ(s.neigh.size(), 1U);
  EXPECT_EQ(s.flood.size(), 1U);
}

// A data plane in memory: answers like ferry-dataplane (ALREADY_EXISTS,
// NOT_FOUND), can be "restarted" (new boot id, empty) or made unreachable.
class FakeDataplane final : public DataplaneLink {
 public:
  Result<v1::Reply> call(v1::Request req) override {
    ++calls;
    if (down) return make_error("no reply within 1000 ms");
    v1::Reply r;
    r.set_status(v1::STATUS_OK);
    if (req.has_health_get()) {
      r.mutable_health()->set_boot_id(boot_id);
    } else if (req.has_dump_get()) {
      auto* d = r.mutable_dump();
      for (auto vni : state.networks) d->add_networks()->set_vni(vni);
      for (const auto& [vni, vtep] : state.flood) {
        for (auto& n : *d->mutable_networks()) {
          if (n.vni() == vni) n.add_flood_vteps(vtep);
        }
      }
      for (const auto& [iface, p] : state.ports) {
        auto* e = d->add_ports();
        e->set_iface(iface);
        e->set_vni(p.vni);
        e->set_mac(p.mac);
        for (const auto& ip : p.ips) e->add_ips(ip);
      }
      for (const auto& [k, vtep] : state.fdb) {
        auto* f = d->add_fdb();
        f->set_vni(k.first);
        f->set_mac(k.second);
        f->set_vtep(vtep);
      }
      for (const auto& [k, mac] : state.neigh) {
        auto* nb = d->add_neighbors();
        nb->set_vni(k.first);
        nb->set_ip(k.second);
        nb->set_mac(mac);
      }
    } else if (req.has_network_add()) {
      if (!state.networks.insert(req.network_add().vni()).second) r.set_status(v1::STATUS_ALREADY_EXISTS);
    } else if (req.has_network_del()) {
      state.networks.erase(req.network_del().vni());
    } else if (req.has_port_add()) {
      const auto& p = req.port_add();
      if (refuse_ports) {
        r.set_status(v1::STATUS_NOT_FOUND);
        return r;
      }
      state.ports[p.iface()] = PortSpec{p.vni(), p.mac(), {p.ips().begin(), p.ips().end()}};
    } else if (req.has_port_del()) {
      if (state.ports.erase(req.port_del().iface()) == 0) r.set_status(v1::STATUS_NOT_FOUND);
    } else if (req.has_fdb_add()) {
      state.fdb[{req.fdb_add().vni(), req.fdb_add().mac()}] = req.fdb_add().vtep();
    } else if (req.has_fdb_del()) {
      state.fdb.erase({req.fdb_del().vni(), req.fdb_del().mac()});
    } else if (req.has_neigh_add()) {
      state.neigh[{req.neigh_add().vni(), req.neigh_add().ip()}] = req.neigh_add().mac();
    } else if (req.has_neigh_del()) {
      state.neigh.erase({req.neigh_del().vni(), req.neigh_del().ip()});
    } else if (req.has_flood_add()) {
      state.flood.insert({req.flood_add().vni(), req.flood_add().vtep()});
    } else if (req.has_flood_del()) {
      state.flood.erase({req.flood_del().vni(), req.flood_del().vtep()});
    }
    return r;
  }
  DpState state;
  std::string boot_id = "boot-1";
  bool down = false;
  bool refuse_ports = false;
  int calls = 0;
};

TEST(Reconciler, StartRemovesLeftoversAndProgramsDesired) {
  FakeDataplane dp;
  dp.state.networks = {999};
  dp.state.fdb[{999, "02:00:00:00:00:77"}] = "172.31.0.150";
  Reconciler rec(dp);
  rec.set_desired(compute_desired(sample()));
  rec.run(true);
  EXPECT_EQ(dp.state, compute_desired(sample()));
  EXPECT_EQ(rec.status().resyncs, 1U);
  EXPECT_TRUE(rec.status().dataplane_up);
  // Nothing changed: a health check and nothing else.
  const int before = dp.calls;
  rec.run(true);
  EXPECT_EQ(dp.calls, before + 1);
}

TEST(Reconciler, IncrementalChangeSendsOnlyTheDifference) {
  FakeDataplane dp;
  Reconciler rec(dp);
  DesiredInputs in = sample();
  rec.set_desired(compute_desired(in));
  rec.run(true);
  in.remote_endpoints.pop_back();
  in.remote_endpoints.pop_back();  // e4 (red) gone: its MAC, neighbour, flood entry go
  const int before = dp.calls;
  rec.set_desired(compute_desired(in));
  rec.run(false);
  EXPECT_EQ(dp.calls, before + 3);
  EXPECT_EQ(dp.state, compute_desired(in));
}

TEST(Reconciler, DataplaneRestartTriggersFullResync) {
  FakeDataplane dp;
  Reconciler rec(dp);
  rec.set_desired(compute_desired(sample()));
  rec.run(true);
  dp.down = true;
  rec.run(true);
  EXPECT_FALSE(rec.status().dataplane_up);
  dp.down = false;
  dp.state = DpState{};  // restarted empty
  dp.boot_id = "boot-2";
  rec.run(true);
  EXPECT_EQ(rec.status().resyncs, 2U);
  EXPECT_EQ(rec.status().boot_id, "boot-2");
  EXPECT_EQ(dp.state, compute_desired(sample()));
}

TEST(Reconciler, RefusedOperationIsRetriedOnNextPass) {
  FakeDataplane dp;
  dp.refuse_ports = true;
  Reconciler rec(dp);
  rec.set_desired(compute_desired(sample()));
  rec.run(true);
  EXPECT_GT(rec.status().ops_failed, 0U);
  EXPECT_EQ(rec.status().pending, 1U);
  EXPECT_TRUE(dp.state.ports.empty());
  dp.refuse_ports = false;
  rec.run(false);
  EXPECT_EQ(dp.state, compute_desired(sample()));
  EXPECT_EQ(rec.status().pending, 0U);
}

}  // namespace
}  // namespace ferry::agent
