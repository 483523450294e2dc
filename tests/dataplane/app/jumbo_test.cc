// Jumbo underlay end to end: two namespace hosts on a 9000-byte underlay,
// each running ferry-dataplane (--no-huge, af_packet ports sized from the
// uplink's MTU). Containers get the endpoint MTU the data plane reports
// (8950); 8900-byte pings with DF cross both ways, TCP runs both ways, and a
// frame that would exceed the underlay once encapsulated is never fragmented:
// its sender gets ICMP Fragmentation Needed and lowers its path MTU.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "tests/dataplane/app/dp_fixture.h"

namespace ferry::dptest {
namespace {

using namespace std::chrono_literals;

// The DPDK uplink's jumbo sizing (af_packet, af_xdp's limit) is what this is about.
class JumboUnderlay : public DpdkUplinkTest {
 protected:
  harness::TopologyConfig topology_config() const override {
    harness::TopologyConfig c = DpdkUplinkTest::topology_config();
    c.underlay_mtu = 9000;
    return c;
  }
};

std::uint64_t drops(const nlohmann::json& stats, const char* reason) { return stat_value(stats, "drops", reason); }

TEST_F(JumboUnderlay, PingWithDfAndTcpBothWaysAndOversizeIsAnsweredWithFragmentationNeeded) {
  start_dataplane(1);
  start_dataplane(2);
  ASSERT_FALSE(HasFailure());
  for (int host : {1, 2}) {
    const auto health = health_json(host);
    EXPECT_EQ(health["underlay_mtu"], 9000) << health.dump();
    EXPECT_EQ(health["endpoint_mtu"], 8950) << health.dump();
    EXPECT_EQ(health["uplink_driver"], "af_packet") << health.dump();
  }
  const unsigned endpoint_mtu = health_json(1)["endpoint_mtu"].get<unsigned>();
  // a's host end is at the underlay MTU so that a frame too big for the
  // underlay can reach the data plane at all (the kernel stops it otherwise).
  auto a = add_container("a", 1, "va", "02:00:00:00:01:01", "10.0.0.1", endpoint_mtu, 9000);
  auto b = add_container("b", 2, "vb", "02:00:00:00:02:01", "10.0.0.2", endpoint_mtu);
  for (int h : {1, 2}) ctl_ok(h, {"net", "add", "--vni", "100"});
  program(1, 100, a, {b});
  program(2, 100, b, {a});
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(topo_->ping(a.ns, b.ip, 10s))
      << ctl(1, {"stats"}).output << ctl(2, {"stats"}).output << ctl(1, {"show"}).output;

  // 8900 bytes of ICMP payload, DF set (-M do): 8928-byte IP packets, one
  // frame each, both ways; then the largest that fits (8922 + 28 = 8950).
  for (const auto& [from, to] : {std::pair{a, b}, std::pair{b, a}}) {
    for (const char* size : {"8900", "8922"}) {
      auto ping =
          exec(from.ns, {"ping", "-n", "-q", "-M", "do", "-s", size, "-c", "5", "-i", "0.05", "-W", "2", to.ip});
      EXPECT_TRUE(ping.succeeded()) << from.ns << " -> " << to.ip << " size " << size << ": " << ping.output;
      EXPECT_NE(ping.output.find(" 0% packet loss"), std::string::npos) << ping.output;
    }
  }
  const auto jumbo_stats = stats_json(1);
  EXPECT_EQ(drops(jumbo_stats, "mtu_exceeded"), 0U) << jumbo_stats.dump();

  const double ab = iperf(a, b, 2, false);
  const double ba = iperf(a, b, 2, true);
  report_throughput("jumbo_tcp_a_to_b", ab);
  report_throughput("jumbo_tcp_b_to_a", ba);
  EXPECT_GT(ab, 10e6);
  EXPECT_GT(ba, 10e6);

  // a at MTU 9000 sends 9000-byte IP packets (9014-byte frames): 9050 bytes
  // once encapsulated, over the underlay's 9000. Never fragmented: the data
  // plane answers with Fragmentation Needed (MTU 8950), as the kernel's vxlan
  // does, and a's kernel takes it: it caches the lower path MTU towards b.
  const std::uint64_t before = stat_value(stats_json(1), "counters", "pmtu_answered");
  ASSERT_TRUE(exec(a.ns, {"ip", "link", "set", "eth0", "mtu", "9000"}).succeeded());
  auto big = exec(a.ns, {"ping", "-n", "-M", "do", "-s", "8972", "-c", "3", "-i", "0.05", "-W", "1", b.ip});
  EXPECT_FALSE(big.succeeded()) << "a frame above the underlay MTU got through: " << big.output;
  EXPECT_NE(big.output.find("mtu = 8950"), std::string::npos) << "no Fragmentation Needed seen: " << big.output;
  EXPECT_GE(stat_value(stats_json(1), "counters", "pmtu_answered") - before, 1U) << ctl(1, {"stats"}).output;
  EXPECT_EQ(drops(stats_json(1), "mtu_exceeded"), 0U) << ctl(1, {"stats"}).output;
  auto route = exec(a.ns, {"ip", "route", "get", b.ip});
  EXPECT_NE(route.output.find("mtu 8950"), std::string::npos)
      << "a's kernel did not cache the path MTU: " << route.output;
  // Back at the endpoint MTU, the largest packet still goes through.
  ASSERT_TRUE(exec(a.ns, {"ip", "link", "set", "eth0", "mtu", std::to_string(endpoint_mtu)}).succeeded());
  auto again = exec(a.ns, {"ping", "-n", "-q", "-M", "do", "-s", "8922", "-c", "2", "-i", "0.05", "-W", "2", b.ip});
  EXPECT_TRUE(again.succeeded()) << again.output;
}

// Wire compatibility at 9000: host 2 is a Linux kernel VTEP (vxlan device at
// MTU 8950 in a bridge, static FDB); DF pings of 8922 bytes and TCP both ways.
TEST_F(JumboUnderlay, InteroperatesWithKernelVxlan) {
  start_dataplane(1);
  ASSERT_FALSE(HasFailure());
  auto a = add_container("a", 1, "va", "02:00:00:00:01:01", "10.0.0.1", 8950);
  auto b = add_container("b", 2, "vb", "02:00:00:00:02:01", "10.0.0.2", 8950);
  ASSERT_NO_FATAL_FAILURE(peer_with_kernel_vtep(a, b, 100, 8950));
  ASSERT_TRUE(topo_->ping(a.ns, b.ip, 10s)) << ctl(1, {"stats"}).output;
  for (const auto& [from, to] : {std::pair{a, b}, std::pair{b, a}}) {
    auto ping =
        exec(from.ns, {"ping", "-n", "-q", "-M", "do", "-s", "8922", "-c", "5", "-i", "0.05", "-W", "2", to.ip});
    EXPECT_NE(ping.output.find(" 0% packet loss"), std::string::npos) << from.ns << ": " << ping.output;
  }
  const double ab = iperf(a, b, 2, false);
  const double ba = iperf(a, b, 2, true);
  report_throughput("jumbo_tcp_ferry_to_kernel", ab);
  report_throughput("jumbo_tcp_kernel_to_ferry", ba);
  EXPECT_GT(ab, 10e6);
  EXPECT_GT(ba, 10e6);
}

// Explicit af_xdp on a jumbo underlay is refused at start, in one line (the
// af_xdp PMD and veth's XDP both stop at one 4 KiB frame per packet).
TEST_F(JumboUnderlay, AfXdpUplinkIsRefusedWithOneLine) {
  auto r = harness::run_command({"ip", "netns", "exec", topo_->host(1), FERRY_DATAPLANE_BIN, "--uplink", "ul0",
                                 "--vtep-ip", vtep_ip(1) + "/24", "--api", api(1), "--uplink-driver", "af_xdp"},
                                20s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->exit_code, 1) << r->output;
  EXPECT_NE(r->output.find("af_xdp cannot carry uplink ul0's MTU 9000"), std::string::npos) << r->output;
}

// With hugepages, `auto` would pick af_xdp; above its MTU it takes af_packet
// and says so in the log.
TEST_F(JumboUnderlay, AutoUplinkDriverFallsBackToAfPacketWithHugepages) {
  std::ifstream free_pages("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages");
  std::ifstream mounts("/proc/mounts");
  const std::string mount_table((std::istreambuf_iterator<char>(mounts)), std::istreambuf_iterator<char>());
  int n = 0;
  if (!(free_pages >> n) || n < 128 || mount_table.find("hugetlbfs") == std::string::npos) {
    GTEST_SKIP() << "needs >= 128 free 2 MiB hugepages and hugetlbfs mounted";
  }
  start_dataplane(1, {"--hugepages"});
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(health_json(1)["uplink_driver"], "af_packet");
  EXPECT_NE(dataplanes_[1]->log().find("MTU 9000 is above af_xdp's 3506"), std::string::npos) << dataplanes_[1]->log();
}

}  // namespace
}  // namespace ferry::dptest
