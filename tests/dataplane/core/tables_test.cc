// Tables: control-path semantics (validation, references, cascades, dumps).
#include "dataplane/core/tables.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <unistd.h>

#include "tests/dataplane/core/harness.h"

namespace ferry::dataplane::test {
namespace {

const MacAddr kMac1{{0x02, 0, 0, 0, 0, 1}};
const MacAddr kMac2{{0x02, 0, 0, 0, 0, 2}};
const Ipv4Addr kVtepC{0xac1f0703};

class TablesTest : public ::testing::Test {
 protected:
  Harness h;
  Tables& t = h.tables();
};

TEST_F(TablesTest, ConfigValidation) {
  TablesConfig c;
  EXPECT_TRUE(c.validate());
  c.mac_capacity = 1;
  EXPECT_FALSE(c.validate());
  UnderlayConfig u;
  EXPECT_FALSE(u.validate());  // no VTEP IP
  u.vtep_ip = kVtepA;
  u.uplink_mac = kUplinkMac;
  EXPECT_TRUE(u.validate());
  u.uplink_mac = MacAddr{{0x01, 0, 0x5e, 0, 0, 1}};
  EXPECT_FALSE(u.validate());
  c = TablesConfig{};
  c.name = std::string(kMaxTablesName + 1, 'x');
  EXPECT_FALSE(c.validate());
  PipelineConfig p = Harness::default_config();
  p.src_port_min = 2000;
  p.src_port_max = 1000;
  EXPECT_FALSE(p.validate());
  p = Harness::default_config();
  p.underlay_mtu = 100;
  EXPECT_FALSE(p.validate());
}

TEST(TablesNames, TheLongestAllowedNameCreatesEveryObject) {
  ensure_eal();
  PipelineConfig c = Harness::default_config();
  c.tables.name = fmt::format("n{}", ::getpid());
  c.tables.name.resize(kMaxTablesName, 'z');
  auto p = Pipeline::create(c);
  ASSERT_TRUE(p) << p.error().message;
  // And a second one whose name differs only in its last character.
  c.tables.name.back() = 'y';
  auto q = Pipeline::create(c);
  ASSERT_TRUE(q) << q.error().message;
}

TEST_F(TablesTest, NetworksAndPorts) {
  EXPECT_FALSE(t.add_port(EndpointPort{1, 10, kMac1, {}})) << "network must exist";
  ASSERT_TRUE(t.add_network(10, false));
  EXPECT_FALSE(t.add_network(kMaxVni + 1, false));
  ASSERT_TRUE(t.add_port(EndpointPort{1, 10, kMac1, {Ipv4Addr{0x0a000001}}}));
  EXPECT_FALSE(t.add_port(EndpointPort{1, 10, kMac2, {}})) << "port already attached";
  EXPECT_FALSE(t.add_port(EndpointPort{2, 10, kMac1, {}})) << "MAC taken in the VNI";
  EXPECT_FALSE(t.add_port(EndpointPort{2, 10, MacAddr{{0x01, 0, 0, 0, 0, 1}}, {}})) << "multicast MAC";
  EXPECT_FALSE(t.add_port(EndpointPort{kMaxPorts, 10, kMac2, {}}));
  EXPECT_FALSE(t.add_port(EndpointPort{2, 10, kMac2, std::vector<Ipv4Addr>(5, Ipv4Addr{1})}));
  EXPECT_FALSE(t.add_remote_mac(10, kMac1, kVtepB)) << "a local port's MAC";
  EXPECT_FALSE(t.del_network(10)) << "ports still attached";
  ASSERT_EQ(t.ports().size(), 1u);
  EXPECT_EQ(t.ports()[0].ips.size(), 1u);
  const auto neigh = t.neighbours(10);
  ASSERT_EQ(neigh.size(), 1u);
  EXPECT_TRUE(neigh[0].from_port);
  EXPECT_EQ(neigh[0].mac, kMac1);
  ASSERT_TRUE(t.del_port(1));
  EXPECT_FALSE(t.del_port(1));
  EXPECT_TRUE(t.neighbours(10).empty());
  EXPECT_EQ(t.mac_count(), 0u);
  ASSERT_TRUE(t.add_network(10, true));  // update the flag
  ASSERT_EQ(t.networks().size(), 1u);
  EXPECT_TRUE(t.networks()[0].flood_unknown);
  ASSERT_TRUE(t.del_network(10));
  EXPECT_FALSE(t.del_network(10));
  EXPECT_TRUE(t.networks().empty());
}

TEST_F(TablesTest, VtepReferencesAndPeers) {
  ASSERT_TRUE(t.add_network(10, false));
  ASSERT_TRUE(t.add_network(20, false));
  EXPECT_FALSE(t.add_remote_mac(10, kMac1, kVtepA)) << "our own VTEP";
  EXPECT_FALSE(t.add_remote_mac(10, kMac1, Ipv4Addr{0xe0000001})) << "multicast VTEP";
  EXPECT_FALSE(t.add_remote_mac(30, kMac1, kVtepB)) << "unknown network";
  ASSERT_TRUE(t.add_remote_mac(10, kMac1, kVtepB));
  ASSERT_TRUE(t.add_remote_mac(10, kMac2, kVtepB));
  ASSERT_TRUE(t.add_flood_vtep(20, kVtepB));
  ASSERT_TRUE(t.add_flood_vtep(20, kVtepB));  // idempotent
  auto v = t.vteps();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].references, 3u);
  EXPECT_FALSE(v[0].resolved);
  const std::uint64_t peer10 = (std::uint64_t{10} << 32) | kVtepB.value;
  const std::uint64_t peer20 = (std::uint64_t{20} << 32) | kVtepB.value;
  EXPECT_GE(rte_hash_lookup(t.peer_hash(), &peer10), 0);
  EXPECT_GE(rte_hash_lookup(t.peer_hash(), &peer20), 0);
  // Moving a MAC to another VTEP moves the references.
  ASSERT_TRUE(t.add_remote_mac(10, kMac2, kVtepC));
  v = t.vteps();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].references, 2u);
  EXPECT_EQ(v[1].references, 1u);
  ASSERT_TRUE(t.del_remote_mac(10, kMac1));
  EXPECT_LT(rte_hash_lookup(t.peer_hash(), &peer10), 0) << "B no longer a peer of 10";
  EXPECT_FALSE(t.del_remote_mac(10, kMac1));
  ASSERT_TRUE(t.del_flood_vtep(20, kVtepB));
  EXPECT_FALSE(t.del_flood_vtep(20, kVtepB));
  v = t.vteps();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].ip, kVtepC);
  // Deleting a network removes its MACs, neighbours, flood list and peers.
  ASSERT_TRUE(t.add_neighbour(10, Ipv4Addr{0x0a000002}, kMac2));
  ASSERT_TRUE(t.add_flood_vtep(10, kVtepB));
  ASSERT_TRUE(t.del_network(10));
  EXPECT_TRUE(t.vteps().empty());
  EXPECT_EQ(t.mac_count(), 0u);
  EXPECT_TRUE(t.neighbours().empty());
  // The harness worker is online and this thread is not reporting for it:
  // take it offline, as an idle worker would, or synchronize() waits forever.
  h.ctx().offline();
  t.synchronize();
  h.ctx().online();
}

// The pipeline computes key hashes itself (one CRC32-C instruction): they
// must equal what the tables' rte_hash computes.
TEST_F(TablesTest, PipelineKeyHashMatchesTheTables) {
  for (std::uint64_t k : {0ull, 1ull, 0x1092000a0100ffull, ~0ull}) {
    EXPECT_EQ(rte_hash_hash(t.mac_hash(), &k), rte_hash_crc_8byte(k, 0));
    EXPECT_EQ(rte_hash_hash(t.peer_hash(), &k), rte_hash_crc_8byte(k, 0));
  }
}

TEST_F(TablesTest, NextHopsAreRememberedAndRepublished) {
  ASSERT_TRUE(t.add_network(10, false));
  ASSERT_TRUE(t.set_vtep_next_hop(kVtepB, kRemoteHostMac));  // before any reference
  ASSERT_TRUE(t.add_remote_mac(10, kMac1, kVtepB));
  auto v = t.vteps();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(v[0].resolved);
  EXPECT_EQ(v[0].next_hop, kRemoteHostMac);
  ASSERT_TRUE(t.clear_vtep_next_hop(kVtepB));
  EXPECT_FALSE(t.vteps()[0].resolved);
  EXPECT_FALSE(t.set_vtep_next_hop(kVtepB, MacAddr{}));
}

TEST_F(TablesTest, Ipv6NeighboursAndPortAddresses) {
  const Ipv6Addr a = ipv6_addr("fd00:10::a");
  const Ipv6Addr b = ipv6_addr("2001:db8::b");
  ASSERT_TRUE(t.add_network(10, false));
  ASSERT_TRUE(t.add_network(11, false));
  // Add, replace, dump, delete.
  ASSERT_TRUE(t.add_neighbour(10, a, kMac1));
  ASSERT_TRUE(t.add_neighbour(10, a, kMac2));
  ASSERT_TRUE(t.add_neighbour(11, a, kMac1));
  auto n10 = t.neighbours6(10);
  ASSERT_EQ(n10.size(), 1u);
  EXPECT_EQ(n10[0].ip, a);
  EXPECT_EQ(n10[0].mac, kMac2);
  EXPECT_FALSE(n10[0].from_port);
  EXPECT_EQ(t.neighbours6().size(), 2u);
  EXPECT_TRUE(t.neighbours(10).empty()) << "IPv4 and IPv6 tables are separate";
  ASSERT_TRUE(t.del_neighbour(10, a));
  EXPECT_FALSE(t.del_neighbour(10, a));
  EXPECT_TRUE(t.neighbours6(10).empty());
  // Refused: unknown network, bad MACs, addresses no endpoint has.
  EXPECT_FALSE(t.add_neighbour(12, a, kMac1));
  EXPECT_FALSE(t.add_neighbour(10, a, MacAddr{}));
  for (const char* bad : {"::", "::1", "ff02::1", "fe80::1", "::ffff:10.0.0.1"}) {
    EXPECT_FALSE(t.add_neighbour(10, ipv6_addr(bad), kMac1)) << bad;
  }
  // A port's IPv6 addresses: kept in its record, answered by the ND proxy
  // (from_port entries), removed with it unless replaced by the control plane.
  ASSERT_TRUE(t.add_port(EndpointPort{3, 10, kMac1, {Ipv4Addr{0x0a000001}}, {a, b}}));
  const auto ports = t.ports();
  ASSERT_EQ(ports.size(), 1u);
  EXPECT_EQ(ports[0].ips6, (std::vector<Ipv6Addr>{a, b}));
  EXPECT_EQ(ports[0].ips, (std::vector<Ipv4Addr>{Ipv4Addr{0x0a000001}}));
  const PortRecord* r = t.port(3);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->ip6_count, 2u);
  EXPECT_EQ(t.neighbours6(10).size(), 2u);
  for (const auto& n : t.neighbours6(10)) EXPECT_TRUE(n.from_port);
  ASSERT_TRUE(t.add_neighbour(10, b, kMac2));  // the control plane's own entry for b
  ASSERT_TRUE(t.del_port(3));
  n10 = t.neighbours6(10);
  ASSERT_EQ(n10.size(), 1u);
  EXPECT_EQ(n10[0].ip, b);
  EXPECT_EQ(n10[0].mac, kMac2);
  // Per-port limits and address checks.
  EXPECT_FALSE(t.add_port(EndpointPort{4, 10, kMac1, {}, {ipv6_addr("fe80::1")}}));
  EXPECT_FALSE(t.add_port(EndpointPort{4, 10, kMac1, {}, {ipv6_addr("ff02::1")}}));
  std::vector<Ipv6Addr> many;
  for (int i = 1; i <= static_cast<int>(kMaxEndpointIps6) + 1; ++i) {
    many.push_back(ipv6_addr(fmt::format("fd00:10::{}", i).c_str()));
  }
  EXPECT_FALSE(t.add_port(EndpointPort{4, 10, kMac1, {}, many}));
  many.pop_back();
  EXPECT_TRUE(t.add_port(EndpointPort{4, 10, kMac1, {}, many}));
  ASSERT_TRUE(t.del_port(4));
  // Removing a network removes its IPv6 neighbours.
  ASSERT_TRUE(t.del_network(10));
  EXPECT_TRUE(t.neighbours6(10).empty());
  EXPECT_EQ(t.neighbours6(11).size(), 1u);
}

TEST_F(TablesTest, DumpsAndCapacity) {
  ASSERT_TRUE(t.add_network(10, false));
  for (std::uint32_t i = 0; i < 100; ++i) {
    ASSERT_TRUE(t.add_remote_mac(10, MacAddr::from_u64(0x020000000000ull + i), kVtepB));
  }
  EXPECT_EQ(t.macs(10).size(), 100u);
  EXPECT_EQ(t.macs(11).size(), 0u);
  EXPECT_EQ(t.mac_count(), 100u);
  EXPECT_GT(t.memory_bytes(), 0u);
  // Fill to capacity (4096 in the harness), then one more fails cleanly.
  Result<void> r = ok();
  std::uint32_t added = 100;
  for (std::uint32_t i = 100; r && i < 10000; ++i) {
    r = t.add_remote_mac(10, MacAddr::from_u64(0x020000000000ull + i), kVtepB);
    if (r) ++added;
  }
  EXPECT_FALSE(r);
  EXPECT_GE(added, 4096u);
  // Deleted keys' slots come back after a grace period (the worker's
  // quiescent state): a full table takes new keys again.
  for (std::uint32_t i = 0; i < 1000; ++i) ASSERT_TRUE(t.del_remote_mac(10, MacAddr::from_u64(0x020000000000ull + i)));
  EXPECT_EQ(t.mac_count(), added - 1000);
  h.ctx().quiescent();
  for (std::uint32_t i = 0; i < 500; ++i) {
    auto rr = t.add_remote_mac(10, MacAddr::from_u64(0x060000000000ull + i), kVtepB);
    ASSERT_TRUE(rr) << i << " " << rr.error().message;
  }
}

}  // namespace
}  // namespace ferry::dataplane::test
