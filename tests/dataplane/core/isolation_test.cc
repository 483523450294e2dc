// Tenant isolation: no frame and no table entry crosses from one network to
// another, whatever bits their VNIs share. The MAC table once packed the VNI
// into 16 bits beside the MAC, so networks whose VNIs shared their low 16 bits
// saw each other's MACs; these tests fail against that packing.
#include <gtest/gtest.h>
#include <rte_hash.h>

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>

#include "dataplane/core/tables.h"
#include "tests/dataplane/core/harness.h"

namespace ferry::dataplane::test {
namespace {

// FERRY_TEST_SEED reproduces a run; otherwise a fresh seed, printed.
std::uint64_t test_seed() {
  if (const char* s = std::getenv("FERRY_TEST_SEED"); s != nullptr && *s != '\0') {
    return std::strtoull(s, nullptr, 0);
  }
  return std::random_device{}() | (std::uint64_t{std::random_device{}()} << 32);
}

PipelineConfig small_tables() {
  PipelineConfig c = Harness::default_config();
  // Dumps walk the whole hash: keep it small so 100 000 rounds stay fast.
  c.tables.mac_capacity = 256;
  c.tables.neighbour_capacity = 256;
  c.tables.neighbour6_capacity = 256;
  return c;
}

std::uint32_t slot_of(const Tables& t, Vni vni) {
  for (const NetworkInfo& n : t.networks()) {
    if (n.vni == vni) return n.stats_slot;
  }
  ADD_FAILURE() << "network " << vni << " has no slot";
  return 0;
}

// What the workers find for (network slot, MAC): the raw MacDest value, or -1.
std::int64_t lookup(const Tables& t, std::uint32_t slot, const MacAddr& mac) {
  const std::uint64_t key = mac_key(slot, mac.to_u64());
  void* data = nullptr;
  if (rte_hash_lookup_data(t.mac_hash(), &key, &data) < 0) return -1;
  return static_cast<std::int64_t>(reinterpret_cast<std::uintptr_t>(data));
}

// A second VNI that shares many bits with `a`: one flipped bit, the same low
// 16 bits, or unrelated; never `a` itself.
Vni partner(Vni a, std::uint64_t round, std::mt19937_64& rng) {
  Vni b = 0;
  switch (round % 3) {
    case 0:
      b = a ^ (1u << (rng() % 24));
      break;
    case 1:
      b = (a & 0xffffu) | (static_cast<Vni>(rng()) & 0xff0000u);
      break;
    default:
      b = static_cast<Vni>(rng()) & kMaxVni;
      break;
  }
  return b == a ? a ^ 0x800000u : b;
}

TEST(MacTableIsolation, RandomVniPairsNeverShareAnEntry) {
  const std::uint64_t seed = test_seed();
  std::cout << "seed " << seed << " (set FERRY_TEST_SEED to repeat)\n";
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);
  Harness h(small_tables());
  Tables& t = h.tables();
  // No worker reports here: take the harness worker offline so retired
  // network slots are released at once and get reused (churn).
  h.ctx().offline();

  constexpr std::uint64_t kRounds = 100'000;
  for (std::uint64_t round = 0; round < kRounds; ++round) {
    const Vni a = static_cast<Vni>(rng()) & kMaxVni;
    const Vni b = partner(a, round, rng);
    MacAddr mac = MacAddr::from_u64(rng() & ((1ull << 48) - 1));
    mac.bytes[0] = static_cast<std::uint8_t>((mac.bytes[0] & 0xfe) | 0x02);  // unicast, locally administered
    SCOPED_TRACE(testing::Message() << "seed " << seed << " round " << round << " vni " << a << " / " << b << " mac "
                                    << mac.to_string());

    ASSERT_TRUE(t.add_network(a, false));
    ASSERT_TRUE(t.add_network(b, false));
    ASSERT_TRUE(t.add_port(EndpointPort{2, a, mac, {}}));
    // The same MAC in the other network is a different entry, not "taken".
    const auto remote = t.add_remote_mac(b, mac, kVtepB);
    ASSERT_TRUE(remote) << remote.error().message;

    const std::uint32_t slot_a = slot_of(t, a);
    const std::uint32_t slot_b = slot_of(t, b);
    ASSERT_NE(slot_a, slot_b);
    ASSERT_EQ(lookup(t, slot_a, mac), static_cast<std::int64_t>(MacDest::local(2)));
    ASSERT_EQ(lookup(t, slot_b, mac) & static_cast<std::int64_t>(MacDest::kKindMask),
              static_cast<std::int64_t>(MacDest::kRemote));
    const auto in_a = t.macs(a);
    const auto in_b = t.macs(b);
    ASSERT_EQ(in_a.size(), 1u);
    ASSERT_EQ(in_b.size(), 1u);
    ASSERT_TRUE(in_a[0].local);
    ASSERT_FALSE(in_b[0].local);
    ASSERT_EQ(in_b[0].vtep, kVtepB);

    // Tear down in a random order; a slot comes back only once empty.
    if (rng() & 1) {
      ASSERT_TRUE(t.del_network(b));
      ASSERT_EQ(lookup(t, slot_a, mac), static_cast<std::int64_t>(MacDest::local(2)));
      ASSERT_TRUE(t.del_port(2));
      ASSERT_TRUE(t.del_network(a));
    } else {
      ASSERT_TRUE(t.del_port(2));
      ASSERT_TRUE(t.del_network(a));
      ASSERT_EQ(t.macs(b).size(), 1u);
      ASSERT_TRUE(t.del_network(b));
    }
    ASSERT_EQ(t.mac_count(), 0u);
    ASSERT_EQ(lookup(t, slot_a, mac), -1);
    ASSERT_EQ(lookup(t, slot_b, mac), -1);
  }
  h.ctx().online();
}

// Frames, both ways, between two networks whose VNIs differ in one bit, for
// each of the 24 bits: nothing arrives in the other network.
TEST(PipelineIsolation, VnisDifferingInOneBitNeverExchangeFrames) {
  Harness h;
  Tables& t = h.tables();
  ASSERT_TRUE(t.set_vtep_next_hop(kVtepB, kRemoteHostMac));
  const Vni base = 15511030;  // 0xecacf6
  const MacAddr mac_a{{0x02, 0, 0, 0, 0xaa, 0x01}};
  const MacAddr mac_b{{0x02, 0, 0, 0, 0xbb, 0x01}};
  const MacAddr mac_far{{0x02, 0, 0, 0, 0xcc, 0x01}};  // a remote container of network b
  const Ipv4Addr ip_a{0x0a000001};
  const Ipv4Addr ip_b{0x0a000002};
  constexpr PortId kPortA = 2;
  constexpr PortId kPortB = 3;

  for (unsigned bit = 0; bit < 24; ++bit) {
    const Vni a = base;
    const Vni b = base ^ (1u << bit);
    SCOPED_TRACE(testing::Message() << "vni " << a << " / " << b << " (bit " << bit << ")");
    ASSERT_TRUE(t.add_network(a, false));
    ASSERT_TRUE(t.add_network(b, false));
    ASSERT_TRUE(t.add_port(EndpointPort{kPortA, a, mac_a, {ip_a}}));
    ASSERT_TRUE(t.add_port(EndpointPort{kPortB, b, mac_b, {ip_b}}));
    ASSERT_TRUE(t.add_flood_vtep(a, kVtepB));
    ASSERT_TRUE(t.add_flood_vtep(b, kVtepB));
    ASSERT_TRUE(t.add_remote_mac(b, mac_far, kVtepB));
    // Network b also knows port A's MAC, as living on host B.
    ASSERT_TRUE(t.add_remote_mac(b, mac_a, kVtepB));

    // Endpoint to endpoint: port B addresses port A's MAC; it is b's remote
    // entry that applies, never network a's local port.
    auto sent = h.from_endpoint(kPortB, inner_udp(mac_a, mac_b, ip_b, ip_a, 1, 2, 18));
    for (const Sent& s : sent) EXPECT_NE(s.port, kPortA) << "b -> a by MAC";
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].port, kUplink);
    EXPECT_EQ((sent[0].bytes[46] << 16) | (sent[0].bytes[47] << 8) | sent[0].bytes[48], static_cast<int>(b));
    // Port A addresses b's remote container: unknown in a, so dropped.
    sent = h.from_endpoint(kPortA, inner_udp(mac_far, mac_a, ip_a, ip_b, 1, 2, 18));
    EXPECT_TRUE(sent.empty()) << "a -> b's remote MAC";
    sent = h.from_endpoint(kPortA, inner_udp(mac_b, mac_a, ip_a, ip_b, 1, 2, 18));
    EXPECT_TRUE(sent.empty()) << "a -> b's local port";

    // From the underlay: VNI b carrying port A's MAC, VNI a carrying port B's.
    sent = h.from_uplink(vxlan(inner_udp(mac_a, mac_far, ip_b, ip_a, 1, 2, 18), b));
    EXPECT_TRUE(sent.empty()) << "VNI b delivered to network a's port";
    sent = h.from_uplink(vxlan(inner_udp(mac_b, mac_far, ip_a, ip_b, 1, 2, 18), a));
    EXPECT_TRUE(sent.empty()) << "VNI a delivered to network b's port";
    // And each network's own traffic still flows.
    sent = h.from_uplink(vxlan(inner_udp(mac_b, mac_far, ip_a, ip_b, 1, 2, 18), b));
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].port, kPortB);

    ASSERT_TRUE(t.del_port(kPortA));
    ASSERT_TRUE(t.del_port(kPortB));
    ASSERT_TRUE(t.del_network(a));
    ASSERT_TRUE(t.del_network(b));
    EXPECT_EQ(h.mbufs_in_use(), 0u) << "mbuf leak";
  }
}

}  // namespace
}  // namespace ferry::dataplane::test
