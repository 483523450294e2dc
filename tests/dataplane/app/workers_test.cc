// Two worker lcores per data plane: every port gets one RX and one TX queue
// per worker (af_packet: one socket per queue in a PACKET_FANOUT_HASH group,
// so the kernel spreads flows over the workers). Ping and parallel TCP
// streams between two hosts; then the per-lcore stats show that both workers
// polled and received, and that their counters add up to the totals. The
// DPDK uplink with af_packet ports: the fanout group is theirs.
#include <gtest/gtest.h>

#include "tests/dataplane/app/dp_fixture.h"

namespace ferry::dptest {
namespace {

using namespace std::chrono_literals;

// Control lcore + 2 workers, all three free to float over the machine's CPUs
// (2 here); the idle back-off keeps them gentle.
const std::vector<std::string> kTwoWorkers{"--lcores", "0@(0,1),1@(0,1),2@(0,1)", "--idle-sleep-us", "200"};

std::uint64_t counter(const nlohmann::json& stats, const char* name) { return stat_value(stats, "counters", name); }

// Per-lcore sums equal the totals (read from one reply; polled until the
// data plane is idle enough for a reply to be consistent).
bool lcores_add_up(DataplaneTest& t, int host, std::string& why) {
  const auto stats = t.stats_json(host);
  std::uint64_t rx = 0;
  std::uint64_t tx = 0;
  for (const auto& l : stats["lcores"]) {
    rx += l["rx_packets"].get<std::uint64_t>();
    tx += l["tx_packets"].get<std::uint64_t>();
  }
  const std::uint64_t total_rx = counter(stats, "rx_uplink") + counter(stats, "rx_endpoint");
  const std::uint64_t total_tx = counter(stats, "tx");
  why = "host " + std::to_string(host) + ": lcores rx " + std::to_string(rx) + " tx " + std::to_string(tx) +
        ", totals rx " + std::to_string(total_rx) + " tx " + std::to_string(total_tx);
  return rx == total_rx && tx == total_tx && total_rx > 0;
}

TEST_F(DpdkUplinkTest, TwoWorkerLcoresShareTheTraffic) {
  start_dataplane(1, kTwoWorkers);
  start_dataplane(2, kTwoWorkers);
  ASSERT_FALSE(HasFailure());
  for (int host : {1, 2}) EXPECT_EQ(health_json(host)["workers"], 2);
  auto [a, b] = two_containers_on_two_hosts();
  ASSERT_FALSE(HasFailure());

  ASSERT_TRUE(topo_->ping(a.ns, b.ip, 10s)) << ctl(1, {"stats"}).output;
  auto ping = exec(a.ns, {"ping", "-n", "-q", "-c", "50", "-i", "0.01", b.ip});
  EXPECT_NE(ping.output.find(" 0% packet loss"), std::string::npos) << ping.output;
  // Four TCP streams each way: several flows for the fanout hash to spread.
  const double ab = iperf(a, b, 2, false, 4);
  const double ba = iperf(a, b, 2, true, 4);
  report_throughput("two_workers_tcp_a_to_b_P4", ab);
  report_throughput("two_workers_tcp_b_to_a_P4", ba);
  EXPECT_GT(ab, 10e6);
  EXPECT_GT(ba, 10e6);

  for (int host : {1, 2}) {
    const auto stats = stats_json(host);
    ASSERT_EQ(stats["lcores"].size(), 2U) << stats.dump();
    std::vector<unsigned> ids;
    for (const auto& l : stats["lcores"]) {
      SCOPED_TRACE("host " + std::to_string(host) + " lcore " + l.dump());
      ids.push_back(l["lcore_id"].get<unsigned>());
      std::printf("[ measure  ] host %d lcore %u: rx %llu tx %llu polls %llu busy %llu sleeps %llu\n", host, ids.back(),
                  static_cast<unsigned long long>(l["rx_packets"].get<std::uint64_t>()),
                  static_cast<unsigned long long>(l["tx_packets"].get<std::uint64_t>()),
                  static_cast<unsigned long long>(l["polls"].get<std::uint64_t>()),
                  static_cast<unsigned long long>(l["busy_polls"].get<std::uint64_t>()),
                  static_cast<unsigned long long>(l["idle_sleeps"].get<std::uint64_t>()));
      EXPECT_GT(l["polls"].get<std::uint64_t>(), 0U);
      EXPECT_GT(l["busy_polls"].get<std::uint64_t>(), 0U);
      // Over a dozen flows and their hashes across two ports: each worker got some.
      EXPECT_GT(l["rx_packets"].get<std::uint64_t>(), 0U);
      EXPECT_GT(l["tx_packets"].get<std::uint64_t>(), 0U);
    }
    EXPECT_NE(ids[0], ids[1]);
    std::string why;
    EXPECT_TRUE(harness::wait_until([&] { return lcores_add_up(*this, host, why); }, 5s, 100ms)) << why;
    EXPECT_EQ(stats["drops"]["tx_full"], 0) << stats.dump();
  }
}

}  // namespace
}  // namespace ferry::dptest
