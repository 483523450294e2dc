#include "control/agent/dp_state.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "control/agent/dp_guard.h"
#include "control/agent/reconciler.h"

namespace ferry::agent {
namespace {

namespace v1 = dp_api::v1;

MacAddress mac(const char* text) {
  auto m = parse_mac(text);
  EXPECT_TRUE(m) << text;
  return m ? *m : MacAddress{};
}

IpAddress ip(const char* text) {
  auto a = parse_ip(text);
  EXPECT_TRUE(a) << text;
  return a ? *a : IpAddress{};
}

IpPrefix pfx(const char* text) {
  auto p = parse_prefix(text);
  EXPECT_TRUE(p) << text;
  return p ? *p : IpPrefix{};
}

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
  in.self_vtep = ip("172.31.0.101");
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
  EXPECT_EQ(s.ports.at("fyaaaa"), (PortSpec{100, mac("02:00:00:00:00:01"), {pfx("10.0.0.2/24")}}));
  EXPECT_EQ(s.fdb.size(), 3U);
  EXPECT_EQ(s.fdb.at({100, mac("02:00:00:00:00:0a")}), ip("172.31.0.102"));
  EXPECT_EQ(s.neigh.at({100, ip("10.0.0.3")}), mac("02:00:00:00:00:0a"));
  EXPECT_EQ(s.neigh.at({200, ip("10.1.0.4")}), mac("02:00:00:00:00:0c"));
  EXPECT_EQ(s.flood, (std::set<IpKey>{{100, ip("172.31.0.102")}, {200, ip("172.31.0.103")}}));  // own VTEP never
}

TEST(ComputeDesired, DualStackPortsAndIpv6NeighboursInCanonicalForm) {
  DesiredInputs in;
  in.networks = {{"blue", 100}};
  in.self_vtep = ip("172.31.0.101");
  in.local_ports = {port("fyaaaa", "blue", "02:00:00:00:00:01", "10.0.0.2/24", "FD00:10:0:0::2/64")};
  auto r = gossip::EndpointRecord::from_strings("blue", "e2", "02:00:00:00:00:0a", "10.0.0.3/24", "fd00:10::3/64",
                                                "172.31.0.102", "h2");
  ASSERT_TRUE(r) << r.error().message;
  in.remote_endpoints = {*r};
  const DpState s = compute_desired(in);
  EXPECT_EQ(s.ports.at("fyaaaa"),
            (PortSpec{100, mac("02:00:00:00:00:01"), {pfx("10.0.0.2/24"), pfx("fd00:10::2/64")}}));
  EXPECT_EQ(s.neigh.at({100, ip("10.0.0.3")}), mac("02:00:00:00:00:0a"));
  EXPECT_EQ(s.neigh.at({100, ip("fd00:10::3")}), mac("02:00:00:00:00:0a"));
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
  have.ports["stale"] = PortSpec{300, mac("02:00:00:00:00:99"), {}};
  have.fdb[{100, mac("02:00:00:00:00:0a")}] = ip("172.31.0.109");  // moved host
  have.flood.erase({200, ip("172.31.0.103")});
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
          if (n.vni() == vni) n.add_flood_vteps(vtep.to_string());
        }
      }
      for (const auto& [iface, p] : state.ports) {
        auto* e = d->add_ports();
        e->set_iface(iface);
        e->set_vni(p.vni);
        e->set_mac(p.mac.to_string());
        for (const auto& prefix : p.ips) e->add_ips(prefix.to_string());
      }
      for (const auto& [k, vtep] : state.fdb) {
        auto* f = d->add_fdb();
        f->set_vni(k.first);
        f->set_mac(k.second.to_string());
        f->set_vtep(vtep.to_string());
      }
      for (const auto& [k, m] : state.neigh) {
        auto* nb = d->add_neighbors();
        nb->set_vni(k.first);
        nb->set_ip(k.second.to_string());
        nb->set_mac(m.to_string());
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
      PortSpec spec{p.vni(), mac(p.mac().c_str()), {}};
      for (const auto& text : p.ips()) spec.ips.push_back(pfx(text.c_str()));
      std::sort(spec.ips.begin(), spec.ips.end());
      state.ports[p.iface()] = spec;
    } else if (req.has_port_del()) {
      if (state.ports.erase(req.port_del().iface()) == 0) r.set_status(v1::STATUS_NOT_FOUND);
    } else if (req.has_fdb_add()) {
      state.fdb[{req.fdb_add().vni(), mac(req.fdb_add().mac().c_str())}] = ip(req.fdb_add().vtep().c_str());
    } else if (req.has_fdb_del()) {
      state.fdb.erase({req.fdb_del().vni(), mac(req.fdb_del().mac().c_str())});
    } else if (req.has_neigh_add()) {
      state.neigh[{req.neigh_add().vni(), ip(req.neigh_add().ip().c_str())}] = mac(req.neigh_add().mac().c_str());
    } else if (req.has_neigh_del()) {
      state.neigh.erase({req.neigh_del().vni(), ip(req.neigh_del().ip().c_str())});
    } else if (req.has_flood_add()) {
      state.flood.insert({req.flood_add().vni(), ip(req.flood_add().vtep().c_str())});
    } else if (req.has_flood_del()) {
      state.flood.erase({req.flood_del().vni(), ip(req.flood_del().vtep().c_str())});
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
  dp.state.fdb[{999, mac("02:00:00:00:00:77")}] = ip("172.31.0.150");
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

TEST(Drift, CountsExtraMissingAndChangedPerTable) {
  const DpState believed = compute_desired(sample());
  DpState actual = believed;
  EXPECT_TRUE(drift(believed, actual).empty());
  actual.neigh[{100, ip("10.0.0.200")}] = mac("02:00:00:00:bb:01");  // extra
  const auto needed = believed.fdb.begin()->first;
  actual.fdb.erase(needed);                        // missing
  actual.flood.insert({100, ip("172.31.0.199")});  // extra
  auto port = actual.ports.begin();
  port->second.mac = mac("02:00:00:00:bb:09");  // changed
  std::vector<std::string> examples;
  const auto counts = drift(believed, actual, &examples);
  EXPECT_EQ(counts, (std::map<std::string, std::uint64_t>{
                        {"neigh_extra", 1}, {"fdb_missing", 1}, {"flood_extra", 1}, {"port_changed", 1}}));
  EXPECT_EQ(examples.size(), 4U);
  EXPECT_NE(std::find(examples.begin(), examples.end(), "neigh extra vni 100 10.0.0.200"), examples.end());
}

TEST(Reconciler, HoldKeepsEntriesUntilReleased) {
  FakeDataplane dp;
  const DpState before = compute_desired(sample());
  dp.state = before;  // what the previous agent programmed
  Reconciler rec(dp);
  rec.set_hold_removals(true);
  // A restarted agent: gossip has not told it about the remote endpoints yet.
  DesiredInputs in = sample();
  in.remote_endpoints.clear();
  rec.set_desired(compute_desired(in));
  rec.run(true);
  EXPECT_EQ(dp.state, before) << "an entry was removed while the hold was on";
  EXPECT_GT(rec.status().held, 0U);
  EXPECT_GT(rec.status().pending, 0U);
  // An entry that changes is replaced even while held.
  DesiredInputs moved = sample();
  moved.remote_endpoints[0] = remote("blue", "e2", "02:00:00:00:00:0A", "10.0.0.3/24", "172.31.0.109", "h2");
  rec.set_desired(compute_desired(moved));
  rec.run(false);
  EXPECT_EQ(dp.state.fdb.at({100, mac("02:00:00:00:00:0a")}), ip("172.31.0.109"));
  // Released: what the agent does not want goes.
  rec.set_desired(compute_desired(in));
  rec.set_hold_removals(false);
  rec.run(false);
  EXPECT_EQ(dp.state, compute_desired(in));
  EXPECT_EQ(rec.status().held, 0U);
}

TEST(Reconciler, AuditRepairsAndCountsDriftBehindItsBack) {
  FakeDataplane dp;
  Reconciler rec(dp);
  const DpState want = compute_desired(sample());
  rec.set_desired(want);
  rec.run(true);
  ASSERT_EQ(dp.state, want);
  rec.audit();
  EXPECT_EQ(rec.status().last_audit, "clean");
  EXPECT_EQ(rec.status().drift_total, 0U);
  // Behind its back: a bogus neighbour, an extra FDB entry, a needed one removed.
  dp.state.neigh[{100, ip("10.0.0.200")}] = mac("02:00:00:00:bb:01");
  dp.state.fdb[{100, mac("02:00:00:00:bb:02")}] = ip("172.31.0.102");
  dp.state.fdb.erase(want.fdb.begin()->first);
  rec.run(true);  // a pass of its own notices nothing: it believes all is applied
  EXPECT_NE(dp.state, want);
  rec.audit();
  EXPECT_EQ(dp.state, want);
  EXPECT_EQ(rec.status().audits, 2U);
  EXPECT_EQ(rec.status().drift_total, 3U);
  EXPECT_EQ(rec.status().last_drift,
            (std::map<std::string, std::uint64_t>{{"neigh_extra", 1}, {"fdb_extra", 1}, {"fdb_missing", 1}}));
  rec.audit();
  EXPECT_EQ(rec.status().last_audit, "clean");
  EXPECT_EQ(rec.status().drift.at("fdb_missing"), 1U);
}

// The guard a restarted agent runs: removals held until gossip synced (or
// the hold's time is up), then the whole difference; none held with hold 0.
TEST(DataplaneGuard, HoldEndsWhenGossipSyncsOrItsTimeIsUp) {
  using std::chrono::milliseconds;
  const gossip::TimePoint t0{};
  DesiredInputs in = sample();
  in.remote_endpoints.clear();  // gossip has not told it about them yet
  for (const bool synced_first : {true, false}) {
    FakeDataplane dp;
    dp.state = compute_desired(sample());  // what the previous agent programmed
    Reconciler rec(dp);
    DataplaneGuard guard(rec, milliseconds(10'000), milliseconds(0), t0);
    rec.set_desired(compute_desired(in));
    rec.run(true);
    EXPECT_EQ(dp.state, compute_desired(sample())) << "removed while held";
    int asked = 0;
    guard.tick(t0 + milliseconds(1000), [&] { return ++asked, false; });
    EXPECT_TRUE(rec.status().holding_removals);
    EXPECT_EQ(asked, 1);
    if (synced_first) {
      guard.tick(t0 + milliseconds(2000), [] { return true; });
    } else {
      guard.tick(t0 + milliseconds(10'000), [] { return false; });
    }
    EXPECT_FALSE(rec.status().holding_removals);
    EXPECT_EQ(dp.state, compute_desired(in)) << (synced_first ? "synced" : "timed out");
    guard.tick(t0 + milliseconds(11'000), [&] { return ++asked, true; });
    EXPECT_EQ(asked, 1) << "asked about gossip after the hold ended";
  }
  FakeDataplane dp;
  Reconciler rec(dp);
  DataplaneGuard no_hold(rec, milliseconds(0), milliseconds(0), t0);
  EXPECT_FALSE(rec.status().holding_removals);
}

// An audit every interval, none before it and none with interval 0.
TEST(DataplaneGuard, AuditsEveryInterval) {
  using std::chrono::milliseconds;
  const gossip::TimePoint t0{};
  FakeDataplane dp;
  Reconciler rec(dp);
  DataplaneGuard guard(rec, milliseconds(0), milliseconds(1000), t0);
  const DpState want = compute_desired(sample());
  rec.set_desired(want);
  rec.run(true);
  dp.state.fdb.erase(want.fdb.begin()->first);  // behind its back
  const auto never = [] { return false; };
  guard.tick(t0 + milliseconds(999), never);
  EXPECT_EQ(rec.status().audits, 0U);
  guard.tick(t0 + milliseconds(1000), never);
  EXPECT_EQ(rec.status().audits, 1U);
  EXPECT_EQ(dp.state, want);
  guard.tick(t0 + milliseconds(1500), never);
  EXPECT_EQ(rec.status().audits, 1U);
  guard.tick(t0 + milliseconds(2000), never);
  EXPECT_EQ(rec.status().audits, 2U);
  FakeDataplane dp2;
  Reconciler rec2(dp2);
  DataplaneGuard off(rec2, milliseconds(0), milliseconds(0), t0);
  off.tick(t0 + milliseconds(100'000), never);
  EXPECT_EQ(rec2.status().audits, 0U);
}

}  // namespace
}  // namespace ferry::agent
