// ferry-dataplane with --uplink-mode udp on namespace hosts (root): the VTEP
// address is the kernel's (on ul0), VXLAN goes through kernel UDP sockets.
// Ferry <-> Ferry with other UDP traffic (gossip-like, another port) on the
// same interface at the same time; Ferry <-> a Linux kernel VTEP whose
// underlay offloads are on (it sends tunnel GSO super-frames whole across the
// veth) and off (segments, which GRO may batch); start-up refusals.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/dataplane/app/dp_fixture.h"

namespace ferry::dptest {
namespace {

using namespace std::chrono_literals;

// Each TCP transfer: exactly this many bytes, all of which must arrive
// (af_packet endpoints: 1450-byte frames, about 1 Gbit/s here).
constexpr std::uint64_t kTransferBytes = 128ULL << 20;

class UdpUplink : public DataplaneTest {
 public:
  // af_packet endpoint ports: the UDP uplink with vnet ports is
  // superframes_test.cc's.
  [[nodiscard]] DataplaneMode dataplane_mode() const override { return udp_mode("af_packet"); }

 protected:
  // TX checksum offload on the underlay veths: UDP_SEGMENT needs it, and a
  // kernel VTEP with default offloads is the interop case that matters.
  harness::TopologyConfig topology_config() const override {
    harness::TopologyConfig c = DataplaneTest::topology_config();
    c.underlay_tx_checksum = true;
    return c;
  }

  void start_udp(int host) { ASSERT_NO_FATAL_FAILURE(start_udp_dataplane(host)); }
  // ethtool -K ul0 tx on|off on a host (a kernel VTEP's underlay offloads).
  void underlay_offloads(int host, bool on) {
    auto r = exec(topo_->host(host), {"ethtool", "-K", "ul0", "tx", on ? "on" : "off"});
    ASSERT_TRUE(r.succeeded()) << r.output;
  }
  // A container that keeps the kernel's default offloads (TSO, partial
  // checksums): what a kernel VTEP's containers have.
  void default_offloads(const Container& c) {
    auto r = exec(c.ns, {"ethtool", "-K", "eth0", "tx", "on", "tso", "on", "gso", "on"});
    ASSERT_TRUE(r.succeeded()) << r.output;
  }
  std::uint64_t udp_counter(const nlohmann::json& stats, const std::string& name) {
    return stat_value(stats, "counters", "udp_uplink_" + name);
  }

  void ping_both_ways(const Container& a, const Container& b) {
    ASSERT_TRUE(topo_->ping(a.ns, b.ip, 10s)) << ctl(a.host, {"stats"}).output;
    ASSERT_TRUE(topo_->ping(b.ns, a.ip, 5s));
    auto ping = exec(a.ns, {"ping", "-n", "-q", "-c", "20", "-i", "0.01", b.ip});
    EXPECT_NE(ping.output.find(" 0% packet loss"), std::string::npos) << ping.output;
    // A 1400-byte DF ping: the largest inner size class, whole.
    ping = exec(a.ns, {"ping", "-n", "-q", "-c", "3", "-i", "0.05", "-M", "do", "-s", "1400", b.ip});
    EXPECT_NE(ping.output.find(" 0% packet loss"), std::string::npos) << ping.output;
  }

  // Ferry (host 1) and a Linux kernel VTEP (host 2) with its underlay
  // offloads on or off; TCP both ways.
  void kernel_peer(bool peer_offloads, const char* label) {
    start_udp(1);
    underlay_offloads(2, peer_offloads);
    ASSERT_FALSE(HasFailure());
    auto a = add_container("a", 1, "va", "02:00:00:00:01:01", "10.0.0.1");
    auto b = add_container("b", 2, "vb", "02:00:00:00:02:01", "10.0.0.2");
    default_offloads(b);
    ASSERT_NO_FATAL_FAILURE(peer_with_kernel_vtep(a, b, 100, 1450));
    ping_both_ways(a, b);
    const auto ab = transfer(a, b, kTransferBytes, false);
    const auto ba = transfer(a, b, kTransferBytes, true);
    report_throughput(std::string(label) + "_tcp_ferry_to_kernel", ab.bits_per_second);
    report_throughput(std::string(label) + "_tcp_kernel_to_ferry", ba.bits_per_second);
    const auto stats = stats_json(1);
    const std::uint64_t superframes = udp_counter(stats, "rx_superframes");
    if (peer_offloads) {
      // The kernel peer's tunnel GSO packets arrived whole and were cut here.
      EXPECT_GT(superframes, 0U) << stats.dump(1);
      EXPECT_GT(udp_counter(stats, "rx_segments"), superframes) << stats.dump(1);
      // Its frames that were not super-frames (ACKs) carry partial inner
      // checksums, completed here. With the peer's offloads off its kernel
      // completes them itself (mostly: a few partial ones may still come).
      EXPECT_GT(udp_counter(stats, "rx_csum_completed"), 0U) << "the peer's partial inner checksums: " << stats.dump(1);
    } else {
      EXPECT_EQ(superframes, 0U) << stats.dump(1);
    }
    EXPECT_EQ(udp_counter(stats, "rx_truncated"), 0U);
    EXPECT_EQ(udp_counter(stats, "rx_too_big"), 0U);
    EXPECT_EQ(stat_value(stats, "drops", "vtep_unresolved"), 0U);
  }
};

TEST_F(UdpUplink, FerryToFerryWithGossipTrafficOnTheSameInterface) {
  start_udp(1);
  start_udp(2);
  ASSERT_FALSE(HasFailure());
  auto [a, b] = two_containers_on_two_hosts();
  ASSERT_FALSE(HasFailure());
  ping_both_ways(a, b);

  // Gossip-like UDP between the hosts' own addresses on ul0 (port 7946, both
  // directions) while container TCP crosses the same interface.
  const std::string gossip_log = "/tmp/ferry-test-" + topo_->prefix() + "-gossip.log";
  logs_.push_back(gossip_log);
  auto server =
      Background::start({"ip", "netns", "exec", topo_->host(2), "iperf3", "-s", "-1", "-p", "7946"}, "/dev/null");
  ASSERT_TRUE(server) << server.error().message;
  ASSERT_TRUE(harness::wait_until(
      [&] {
        auto r = exec(topo_->host(2), {"ss", "-ltnH", "sport = :7946"});
        return r.succeeded() && r.output.find("7946") != std::string::npos;
      },
      5s, 50ms));
  auto gossip = Background::start({"ip", "netns", "exec", topo_->host(1), "iperf3", "-c", topo_->underlay_address(2),
                                   "-p", "7946", "-u", "--bidir", "-b", "1M", "-l", "400", "-t", "5", "-J"},
                                  gossip_log);
  ASSERT_TRUE(gossip) << gossip.error().message;
  const auto ab = transfer(a, b, kTransferBytes, false);
  const auto ba = transfer(a, b, kTransferBytes, true);
  report_throughput("udp_uplink_tcp_a_to_b", ab.bits_per_second);
  report_throughput("udp_uplink_tcp_b_to_a", ba.bits_per_second);
  ASSERT_TRUE(harness::wait_until([&] { return !(*gossip)->running(); }, 15s, 100ms));
  (*server)->stop();
  const auto report = nlohmann::json::parse((*gossip)->log(), nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << (*gossip)->log();
  for (const char* side : {"sum_sent", "sum_received"}) {
    SCOPED_TRACE(side);
    const auto& sum = report["end"][side];
    EXPECT_GT(sum["packets"].get<std::uint64_t>(), 1000U) << report["end"].dump(1);
    EXPECT_LE(sum["lost_percent"].get<double>(), 1.0) << report["end"].dump(1);
  }
  for (const char* side : {"sum_sent_bidir_reverse", "sum_received_bidir_reverse"}) {
    if (!report["end"].contains(side)) continue;
    EXPECT_GT(report["end"][side]["packets"].get<std::uint64_t>(), 1000U) << report["end"].dump(1);
  }

  // Both data planes sent with UDP_SEGMENT and received whole batches, the
  // kernel resolved everything (no VTEP waited), nothing was dropped.
  for (int host : {1, 2}) {
    SCOPED_TRACE(host);
    const auto stats = stats_json(host);
    EXPECT_GT(udp_counter(stats, "tx_gso_messages"), 0U) << stats.dump(1);
    EXPECT_GT(udp_counter(stats, "rx_gro_batches"), 0U) << stats.dump(1);
    EXPECT_EQ(udp_counter(stats, "tx_too_big") + udp_counter(stats, "tx_error") + udp_counter(stats, "tx_not_vxlan"),
              0U)
        << stats.dump(1);
    EXPECT_EQ(stat_value(stats, "drops", "vtep_unresolved"), 0U);
    EXPECT_EQ(stat_value(stats, "drops", "not_vxlan"), 0U);
    const auto health = health_json(host);
    EXPECT_EQ(health.value("uplink_driver", ""), "udp") << health.dump();
  }
}

TEST_F(UdpUplink, KernelVtepPeerWithUnderlayOffloadsOn) { kernel_peer(true, "udp_uplink_kernel_offloads_on"); }

TEST_F(UdpUplink, KernelVtepPeerWithUnderlayOffloadsOff) { kernel_peer(false, "udp_uplink_kernel_offloads_off"); }

TEST_F(UdpUplink, RefusesToStartWhereItCannotWork) {
  auto run = [&](const std::string& vtep) {
    auto r = harness::run_command({"ip", "netns", "exec", topo_->host(1), FERRY_DATAPLANE_BIN, "--uplink", "ul0",
                                   "--vtep-ip", vtep + "/24", "--api", api(1), "--no-huge", "--uplink-mode", "udp"},
                                  30s);
    EXPECT_TRUE(r);
    return r ? *r : harness::CommandResult{};
  };
  // The kernel does not hold the VTEP address.
  auto r = run(vtep_ip(1));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("is not configured on any interface"), std::string::npos) << r.output;
  // A kernel vxlan device holds the VXLAN port: the error names it.
  ASSERT_TRUE(exec(topo_->host(1), {"ip", "addr", "add", vtep_ip(1) + "/24", "dev", "ul0"}).succeeded());
  const std::vector<std::vector<std::string>> vxlan{
      {"ip", "-n", topo_->host(1), "link", "add", "vxtaken", "type", "vxlan", "id", "9", "dstport", "4789", "local",
       topo_->underlay_address(1), "dev", "ul0"},
      {"ip", "-n", topo_->host(1), "link", "set", "vxtaken", "up"}};
  for (const auto& step : vxlan) {
    auto made = harness::run_command(step);
    ASSERT_TRUE(made && made->succeeded()) << harness::join_argv(step);
  }
  r = run(vtep_ip(1));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("held by the kernel vxlan device vxtaken"), std::string::npos) << r.output;
  // Down, the device holds nothing: the data plane starts.
  exec(topo_->host(1), {"ip", "link", "set", "vxtaken", "down"});
  ASSERT_NO_FATAL_FAILURE(start_dataplane(1, {"--uplink-mode", "udp"}));
}

}  // namespace
}  // namespace ferry::dptest
