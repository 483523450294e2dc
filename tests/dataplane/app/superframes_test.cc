// Super-frames end to end (root): containers that keep the kernel's default
// offloads (TSO, partial checksums) on vnet endpoint ports, hosts joined by
// the kernel-UDP uplink. Ferry <-> Ferry: a sender's 64 KB super-frames are
// cut into VXLAN segments for the uplink and coalesced again for the
// receiving container; Ferry <-> a Linux kernel VTEP with its underlay
// offloads on (tunnel GSO packets cross the veth whole) and off. Ping and TCP
// both ways (bounded transfers, every byte must arrive); the counters show
// super-frames in and out and nothing dropped.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/dataplane/app/dp_fixture.h"

namespace ferry::dptest {
namespace {

using namespace std::chrono_literals;

// Each TCP transfer: exactly this many bytes, all of which must arrive.
constexpr std::uint64_t kTransferBytes = 128ULL << 20;

class SuperFrames : public DataplaneTest {
 protected:
  // UDP_SEGMENT needs TX checksum offload on the underlay veths.
  harness::TopologyConfig topology_config() const override {
    harness::TopologyConfig c = DataplaneTest::topology_config();
    c.underlay_tx_checksum = true;
    return c;
  }

  void start(int host) { ASSERT_NO_FATAL_FAILURE(start_udp_dataplane(host, {"--endpoint-driver", "vnet"})); }
  Container container(const std::string& name, int host, const std::string& iface, const std::string& mac,
                      const std::string& ip) {
    return add_container(name, host, iface, mac, ip, 1450, 0, "vnet");
  }

  // Nothing a working super-frame path drops.
  void expect_no_offload_drops(const nlohmann::json& stats) {
    for (const char* reason :
         {"gso_bad_header", "gso_bad_mss", "gso_too_big", "gso_unsupported", "gso_headers_split", "mtu_exceeded",
          "no_mbuf", "tx_full", "chain_too_long", "ecn_ce_not_ect", "vnet_tx_bad_offload", "vnet_tx_too_big",
          "vnet_tx_chain_too_long", "vnet_bad_headers", "vnet_truncated"}) {
      EXPECT_EQ(stat_value(stats, "drops", reason), 0U) << reason << ": " << stats["drops"].dump();
    }
    EXPECT_EQ(stat_value(stats, "counters", "gro_bad_checksum"), 0U);
    for (const char* c :
         {"udp_uplink_tx_gso_unsupported", "udp_uplink_tx_bad_superframe", "udp_uplink_tx_too_big",
          "udp_uplink_tx_error", "udp_uplink_tx_not_vxlan", "udp_uplink_rx_truncated", "udp_uplink_rx_too_big"}) {
      EXPECT_EQ(stat_value(stats, "counters", c), 0U) << c;
    }
  }

  // Ferry (host 1, vnet) and a Linux kernel VTEP (host 2) whose container
  // keeps its default offloads, the kernel's underlay offloads on or off.
  void kernel_peer(bool peer_offloads, const char* label) {
    start(1);
    auto r = exec(topo_->host(2), {"ethtool", "-K", "ul0", "tx", peer_offloads ? "on" : "off"});
    ASSERT_TRUE(r.succeeded()) << r.output;
    ASSERT_FALSE(HasFailure());
    auto a = container("a", 1, "va", "02:00:00:00:01:01", "10.0.0.1");
    auto b = container("b", 2, "vb", "02:00:00:00:02:01", "10.0.0.2");
    ASSERT_NO_FATAL_FAILURE(peer_with_kernel_vtep(a, b, 100, 1450));
    ping_both_ways(a, b);
    const auto ab = transfer(a, b, kTransferBytes, false);
    const auto ba = transfer(a, b, kTransferBytes, true);
    report_throughput(std::string(label) + "_ferry_to_kernel", ab.bits_per_second);
    report_throughput(std::string(label) + "_kernel_to_ferry", ba.bits_per_second);
    const auto stats = stats_json(1);
    // Ferry's container sent super-frames, cut by the uplink into its
    // UDP_SEGMENT sends (the pipeline hands them over whole) ...
    EXPECT_GT(counter(stats, "udp_uplink_tx_superframes"), 0U) << stats.dump(1);
    EXPECT_GT(counter(stats, "udp_uplink_tx_segments"), counter(stats, "udp_uplink_tx_superframes"));
    EXPECT_EQ(counter(stats, "superframes_in"), 0U);
    EXPECT_GT(counter(stats, "vnet_rx_super_frames"), 0U);
    // ... and received them, coalesced from the kernel's segments.
    EXPECT_GT(counter(stats, "superframes_out"), 0U) << stats.dump(1);
    EXPECT_GT(counter(stats, "coalesced"), counter(stats, "superframes_out"));
    EXPECT_GT(counter(stats, "vnet_tx_super_frames"), 0U);
    if (peer_offloads) {
      EXPECT_GT(counter(stats, "udp_uplink_rx_superframes"), 0U) << "the peer's tunnel GSO packets arrived whole";
    }
    expect_no_offload_drops(stats);
  }
};

TEST_F(SuperFrames, FerryToFerryVnetEndpointsOverTheUdpUplink) {
  start(1);
  start(2);
  ASSERT_FALSE(HasFailure());
  auto [a, b] = two_containers_on_two_hosts("vnet");
  ASSERT_FALSE(HasFailure());
  ping_both_ways(a, b);
  const auto ab = transfer(a, b, kTransferBytes, false);
  const auto ba = transfer(a, b, kTransferBytes, true);
  report_throughput("superframes_ferry_tcp_a_to_b", ab.bits_per_second);
  report_throughput("superframes_ferry_tcp_b_to_a", ba.bits_per_second);
  for (int host : {1, 2}) {
    SCOPED_TRACE(host);
    const auto stats = stats_json(host);
    // Each host sent and received TCP: super-frames from its container cut
    // into VXLAN segments that left in UDP_SEGMENT batches; segments from the
    // other host coalesced into super-frames for its container.
    EXPECT_GT(counter(stats, "vnet_rx_super_frames"), 0U) << stats.dump(1);
    EXPECT_GT(counter(stats, "udp_uplink_tx_superframes"), 0U) << stats.dump(1);
    EXPECT_GT(counter(stats, "udp_uplink_tx_segments"), counter(stats, "udp_uplink_tx_superframes"));
    EXPECT_GT(counter(stats, "udp_uplink_tx_gso_messages"), 0U);
    EXPECT_GT(counter(stats, "udp_uplink_rx_gro_batches"), 0U);
    EXPECT_GT(counter(stats, "superframes_out"), 0U) << stats.dump(1);
    EXPECT_GT(counter(stats, "coalesced"), counter(stats, "superframes_out"));
    EXPECT_GT(counter(stats, "vnet_tx_super_frames"), 0U);
    EXPECT_GT(counter(stats, "sw_csum_bytes"), 0U);
    expect_no_offload_drops(stats);
  }
}

// Containers left at MTU 1500 on a 1500-byte underlay (the classic overlay
// black hole: their TCP segments are 50 bytes too big once encapsulated).
// The data plane answers the first ones with Fragmentation Needed (MTU 1450),
// each container's kernel lowers its path MTU, and TCP carries every byte.
TEST_F(SuperFrames, ContainersAboveTheOverlayMtuLearnItAndCarryTcp) {
  start(1);
  start(2);
  ASSERT_FALSE(HasFailure());
  auto a = add_container("a", 1, "va", "02:00:00:00:01:01", "10.0.0.1", 1500, 1500, "vnet");
  auto b = add_container("b", 2, "vb", "02:00:00:00:02:01", "10.0.0.2", 1500, 1500, "vnet");
  ctl_ok(1, {"net", "add", "--vni", "100"});
  ctl_ok(2, {"net", "add", "--vni", "100"});
  program(1, 100, a, {b});
  program(2, 100, b, {a});
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(topo_->ping(a.ns, b.ip, 10s)) << ctl(1, {"stats"}).output;
  const auto learnt = [&](const Container& c, const Container& peer) {
    const auto stats = stats_json(c.host);
    EXPECT_GT(counter(stats, "pmtu_answered"), 0U) << stats.dump(1);
    EXPECT_EQ(stat_value(stats, "drops", "mtu_exceeded"), 0U) << stats["drops"].dump();
    const auto route = exec(c.ns, {"ip", "route", "get", peer.ip});
    EXPECT_NE(route.output.find("mtu 1450"), std::string::npos) << "no path MTU cached: " << route.output;
  };
  // a's TCP learns it from its own segments.
  const auto ab = transfer(a, b, kTransferBytes, false);
  learnt(a, b);
  // b would not (a's cached path MTU lowers the MSS it announces): a ping
  // with DF at b's MTU is answered the same way.
  const auto ping = exec(b.ns, {"ping", "-n", "-M", "do", "-s", "1472", "-c", "2", "-i", "0.1", "-W", "1", a.ip});
  EXPECT_NE(ping.output.find("mtu = 1450"), std::string::npos) << ping.output;
  learnt(b, a);
  const auto ba = transfer(a, b, kTransferBytes, true);
  report_throughput("pmtu_learnt_tcp_a_to_b", ab.bits_per_second);
  report_throughput("pmtu_learnt_tcp_b_to_a", ba.bits_per_second);
}

TEST_F(SuperFrames, KernelVtepPeerWithUnderlayOffloadsOn) { kernel_peer(true, "superframes_kernel_offloads_on"); }

TEST_F(SuperFrames, KernelVtepPeerWithUnderlayOffloadsOff) { kernel_peer(false, "superframes_kernel_offloads_off"); }

}  // namespace
}  // namespace ferry::dptest
