// ferry-dataplane with --uplink-mode tap on namespace hosts (root, Linux >=
// 6.17; skipped where the kernel lacks tunnel GSO on taps): whole VXLAN
// super-frames through a tap and tc redirects. Ferry <-> Ferry and Ferry <->
// a Linux kernel VTEP (its underlay offloads on and off), TCP both ways with
// every byte checked; frames that are not TCP arrive at the UDP sockets in
// GRO batches; a SIGKILLed data plane's successor takes over its
// stale tc filter and carries traffic again; after a clean exit the tap and
// the filter are gone.
#include <gtest/gtest.h>
#include <net/if.h>
#include <signal.h>

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

#include "dataplane/app/tap_uplink_port.h"
#include "tests/dataplane/app/dp_fixture.h"

namespace ferry::dptest {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kTransferBytes = 128ULL << 20;

class TapUplink : public DataplaneTest {
 protected:
  [[nodiscard]] DataplaneMode dataplane_mode() const override { return tap_mode(); }

  void SetUp() override {
    const auto support = dataplane::app::tap_uplink_supported();
    if (!support.supported) GTEST_SKIP() << support.reason;
    DataplaneTest::SetUp();
  }

  Container container(const std::string& name, int host, const std::string& iface, const std::string& mac,
                      const std::string& ip) {
    return add_container(name, host, iface, mac, ip, 1450, 0, "vnet");
  }

  // Until a data plane has the next hop to a VTEP (looked up about once a
  // second), its frames take the UDP path: wait until a ping from `from` to
  // `to` no longer counts a miss.
  void wait_for_next_hop(int host, const Container& from, const Container& to) {
    ASSERT_TRUE(harness::wait_until(
        [&] {
          const auto before = counter(stats_json(host), "tap_uplink_tx_neigh_miss");
          auto p = exec(from.ns, {"ping", "-n", "-q", "-c", "1", "-W", "1", to.ip});
          return p.succeeded() && counter(stats_json(host), "tap_uplink_tx_neigh_miss") == before;
        },
        5s, 200ms))
        << "host " << host << " never resolved its next hop: " << stats_json(host).dump(1);
  }

  // The tap uplink's name on a host ("ftap<ul0's ifindex>") and whether it exists.
  std::string tap_of(int host) {
    auto r = exec(topo_->host(host), {"cat", "/sys/class/net/ul0/ifindex"});
    EXPECT_TRUE(r.succeeded()) << r.output;
    return "ftap" + std::to_string(std::stoi(r.output));
  }
  bool link_exists(int host, const std::string& name) {
    return exec(topo_->host(host), {"ip", "link", "show", "dev", name}).succeeded();
  }
  bool filter_present(int host) {
    auto r = exec(topo_->host(host), {"tc", "filter", "show", "dev", "ul0", "ingress"});
    return r.succeeded() && r.output.find("pref 65041") != std::string::npos;  // kTapFilterPrio 0xfe11
  }

  void expect_clean(const nlohmann::json& stats) {
    for (const char* c : {"tap_uplink_rx_bad_header", "tap_uplink_rx_truncated", "tap_uplink_rx_error",
                          "tap_uplink_tx_too_big", "tap_uplink_tx_bad_offload", "tap_uplink_tx_error",
                          "udp_uplink_tx_too_big", "udp_uplink_tx_error", "udp_uplink_tx_not_vxlan"}) {
      EXPECT_EQ(counter(stats, c), 0U) << c << ": " << stats.dump(1);
    }
    for (const char* reason :
         {"gso_bad_header", "gso_too_big", "mtu_exceeded", "chain_too_long", "no_mbuf", "vnet_tx_bad_offload",
          "vnet_tx_too_big", "vnet_bad_headers", "vnet_truncated", "bad_ip_header", "truncated", "bad_ip_checksum"}) {
      EXPECT_EQ(stat_value(stats, "drops", reason), 0U) << reason << ": " << stats["drops"].dump();
    }
  }

  void kernel_peer(bool peer_offloads, const char* label) {
    ASSERT_NO_FATAL_FAILURE(start_dataplane(1));
    auto r = exec(topo_->host(2), {"ethtool", "-K", "ul0", "tx", peer_offloads ? "on" : "off"});
    ASSERT_TRUE(r.succeeded()) << r.output;
    auto a = container("a", 1, "va", "02:00:00:00:01:01", "10.0.0.1");
    auto b = container("b", 2, "vb", "02:00:00:00:02:01", "10.0.0.2");
    ASSERT_NO_FATAL_FAILURE(peer_with_kernel_vtep(a, b, 100, 1450));
    ping_both_ways(a, b);
    ASSERT_NO_FATAL_FAILURE(wait_for_next_hop(1, a, b));
    const auto ab = transfer(a, b, kTransferBytes, false);
    const auto ba = transfer(a, b, kTransferBytes, true);
    report_throughput(std::string(label) + "_ferry_to_kernel", ab.bits_per_second);
    report_throughput(std::string(label) + "_kernel_to_ferry", ba.bits_per_second);
    const auto stats = stats_json(1);
    // Ferry's container's super-frames left whole through the tap.
    EXPECT_GT(counter(stats, "tap_uplink_tx_superframes"), 0U) << stats.dump(1);
    EXPECT_GT(counter(stats, "tap_uplink_rx_frames"), 0U) << stats.dump(1);
    if (peer_offloads) {
      // The kernel peer's tunnel GSO packets reached the tap whole.
      EXPECT_GT(counter(stats, "tap_uplink_rx_superframes"), 0U) << stats.dump(1);
    } else {
      // Its segments came one by one and were coalesced.
      EXPECT_EQ(counter(stats, "tap_uplink_rx_superframes"), 0U) << stats.dump(1);
      EXPECT_GT(counter(stats, "coalesced"), 0U) << stats.dump(1);
    }
    expect_clean(stats);
  }
};

TEST_F(TapUplink, FerryToFerryCarriesSuperFramesWhole) {
  ASSERT_NO_FATAL_FAILURE(start_dataplane(1));
  ASSERT_NO_FATAL_FAILURE(start_dataplane(2));
  auto [a, b] = two_containers_on_two_hosts("vnet");
  ASSERT_FALSE(HasFailure());
  ping_both_ways(a, b);
  // Until the data planes have the next hops (resolved once a second), frames
  // take the UDP path; after that, no TCP may.
  ASSERT_NO_FATAL_FAILURE(wait_for_next_hop(1, a, b));
  ASSERT_NO_FATAL_FAILURE(wait_for_next_hop(2, b, a));
  std::map<int, std::uint64_t> udp_before;
  for (int host : {1, 2}) udp_before[host] = counter(stats_json(host), "udp_uplink_tx_superframes");
  const auto ab = transfer(a, b, kTransferBytes, false);
  const auto ba = transfer(a, b, kTransferBytes, true);
  report_throughput("tap_uplink_ferry_tcp_a_to_b", ab.bits_per_second);
  report_throughput("tap_uplink_ferry_tcp_b_to_a", ba.bits_per_second);
  for (int host : {1, 2}) {
    SCOPED_TRACE(host);
    const auto stats = stats_json(host);
    EXPECT_GT(counter(stats, "tap_uplink_tx_superframes"), 0U) << stats.dump(1);
    EXPECT_GT(counter(stats, "tap_uplink_rx_superframes"), 0U) << stats.dump(1);
    // No TCP took the UDP path once the next hop was known; the pings did.
    EXPECT_EQ(counter(stats, "udp_uplink_tx_superframes"), udp_before[host]) << stats.dump(1);
    EXPECT_GT(counter(stats, "tap_uplink_tx_not_tcp"), 0U) << stats.dump(1);
    EXPECT_GT(counter(stats, "vnet_tx_super_frames"), 0U);
    expect_clean(stats);
    const auto health = ctl_json(host, {"health"});
    EXPECT_EQ(health.value("uplink_driver", ""), "tap") << health.dump(1);
  }
}

// Frames that are not TCP inside leave by the UDP sockets in UDP_SEGMENT
// batches (here: a container's UDP GSO sends, cut into datagrams of one size
// by the pipeline) and, since the receiving sockets run UDP_GRO, arrive a
// batch per receive rather than a datagram at a time.
TEST_F(TapUplink, NonTcpFramesArriveInGroBatches) {
  ASSERT_NO_FATAL_FAILURE(start_dataplane(1));
  ASSERT_NO_FATAL_FAILURE(start_dataplane(2));
  auto a = container("a", 1, "va", "02:00:00:00:01:01", "10.0.0.1");
  auto b = container("b", 2, "vb", "02:00:00:00:02:01", "10.0.0.2");
  ctl_ok(1, {"net", "add", "--vni", "100"});
  ctl_ok(2, {"net", "add", "--vni", "100"});
  program(1, 100, a, {b});
  program(2, 100, b, {a});
  ASSERT_FALSE(HasFailure());
  ping_both_ways(a, b);
  const auto batches_before = counter(stats_json(2), "udp_uplink_rx_gro_batches");
  const auto delivered_before = rx_packets(b);
  constexpr int kSends = 20;
  constexpr int kSegments = 10;
  // UDP_SEGMENT (103): one 10-datagram super-frame per send into a's vnet port.
  const std::string script =
      "import socket, sys, time\n"
      "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
      "s.setsockopt(socket.SOL_UDP, 103, 1000)\n"
      "for _ in range(int(sys.argv[2])):\n"
      "    s.sendto(bytes(1000 * int(sys.argv[3])), (sys.argv[1], 9))\n"
      "    time.sleep(0.01)\n";
  auto sent = exec(a.ns, {"python3", "-c", script, b.ip, std::to_string(kSends), std::to_string(kSegments)});
  ASSERT_TRUE(sent.succeeded()) << sent.output;
  ASSERT_TRUE(harness::wait_until([&] { return rx_packets(b) - delivered_before >= kSends * kSegments; }, 5s, 100ms))
      << "b received " << rx_packets(b) - delivered_before << " of " << kSends * kSegments << ": "
      << stats_json(2).dump(1);
  const auto stats = stats_json(2);
  EXPECT_GT(counter(stats, "udp_uplink_rx_gro_batches"), batches_before) << stats.dump(1);
  expect_clean(stats);
  expect_clean(stats_json(1));
}

TEST_F(TapUplink, KernelVtepPeerWithUnderlayOffloadsOn) { kernel_peer(true, "tap_uplink_kernel_offloads_on"); }

TEST_F(TapUplink, KernelVtepPeerWithUnderlayOffloadsOff) { kernel_peer(false, "tap_uplink_kernel_offloads_off"); }

TEST_F(TapUplink, KilledDataPlanesSuccessorCarriesTrafficAndACleanExitLeavesNothing) {
  ASSERT_NO_FATAL_FAILURE(start_dataplane(1));
  ASSERT_NO_FATAL_FAILURE(start_dataplane(2));
  auto [a, b] = two_containers_on_two_hosts("vnet");
  ASSERT_FALSE(HasFailure());
  ping_both_ways(a, b);
  const std::string tap = tap_of(1);
  EXPECT_TRUE(link_exists(1, tap));
  EXPECT_TRUE(filter_present(1));

  // SIGKILL: the tap goes with the process, the uplink's filter stays behind
  // (it now redirects to nowhere) until the next data plane replaces it.
  ::kill(dataplanes_[1]->pid(), SIGKILL);
  dataplanes_[1]->stop();
  dataplanes_.erase(1);
  ASSERT_TRUE(harness::wait_until([&] { return !link_exists(1, tap); }, 5s, 50ms));
  EXPECT_TRUE(filter_present(1));
  ASSERT_NO_FATAL_FAILURE(start_dataplane(1));
  ctl_ok(1, {"net", "add", "--vni", "100"});
  program(1, 100, a, {b});
  ASSERT_FALSE(HasFailure());
  // Traffic is back at once (the UDP path carries it until the next hop is
  // known), and a bounded transfer both ways checks every byte.
  auto ping = exec(a.ns, {"ping", "-n", "-q", "-c", "5", "-i", "0.2", "-W", "1", b.ip});
  EXPECT_NE(ping.output.find(" 0% packet loss"), std::string::npos) << ping.output;
  const auto ab = transfer(a, b, 32ULL << 20, false);
  const auto ba = transfer(a, b, 32ULL << 20, true);
  EXPECT_GT(ab.bits_per_second, 0);
  EXPECT_GT(ba.bits_per_second, 0);
  EXPECT_TRUE(filter_present(1));
  expect_clean(stats_json(1));

  // A clean exit removes the filter; the tap is gone with the process.
  EXPECT_EQ(stop_dataplane(1), 0);
  EXPECT_FALSE(link_exists(1, tap));
  EXPECT_FALSE(filter_present(1));
}

}  // namespace
}  // namespace ferry::dptest
