#include "bench/gen/report.h"

#include <gtest/gtest.h>

namespace ferry::bench::gen {
namespace {

Report sample(Mode mode) {
  Report r;
  r.config.mode = mode;
  r.tsc_hz = 2'000'000'000;
  r.tx_port = "net_af_xdp_gentx";
  r.rx_port = "net_af_xdp_genrx";
  r.tx.packets = 1000;
  r.tx.bytes = 64000;
  r.tx.seconds = 0.5;
  r.rx.packets = 990;
  r.rx.bytes = 63360;
  r.rx.seconds = 0.5;
  r.rx.seq = SeqCounters{.received = 990, .missing = 5, .gaps = 2, .duplicates = 2};
  for (std::uint64_t c = 2000; c <= 20000; c += 2000) r.latency.record(c);  // 1..10 us
  return r;
}

TEST(Report, JsonKeysForTxRx) {
  const auto j = report_json(sample(Mode::kTxRx));
  EXPECT_EQ(j["mode"], "txrx");
  EXPECT_EQ(j["tx"]["packets"], 1000);
  EXPECT_DOUBLE_EQ(j["tx"]["pps"].get<double>(), 2000.0);
  EXPECT_DOUBLE_EQ(j["tx"]["mbps"].get<double>(), 64000 * 8 / 0.5 / 1e6);
  EXPECT_EQ(j["rx"]["missing"], 5);
  EXPECT_EQ(j["rx"]["duplicates"], 2);
  EXPECT_EQ(j["lost"], 12);  // 1000 sent, 988 distinct received
  EXPECT_DOUBLE_EQ(j["loss_ratio"].get<double>(), 0.012);
  EXPECT_EQ(j["latency_ns"]["samples"], 10);
  EXPECT_DOUBLE_EQ(j["latency_ns"]["min"].get<double>(), 1000.0);
  EXPECT_DOUBLE_EQ(j["latency_ns"]["max"].get<double>(), 10000.0);
  const double p50 = j["latency_ns"]["p50"];
  EXPECT_GE(p50, 5000.0);
  EXPECT_LE(p50, 5000.0 * (1 + 1.0 / 32));
  for (const char* key : {"p90", "p99", "p999", "mean"}) EXPECT_TRUE(j["latency_ns"].contains(key)) << key;
  for (const char* key : {"size", "flows", "rate_pps", "duration_s", "vxlan", "vni", "stream"}) {
    EXPECT_TRUE(j["config"].contains(key)) << key;
  }
}

TEST(Report, JsonNullsWhatTheModeDidNotMeasure) {
  const auto tx = report_json(sample(Mode::kTx));
  EXPECT_TRUE(tx["rx"].is_null());
  EXPECT_TRUE(tx["latency_ns"].is_null());
  EXPECT_TRUE(tx["lost"].is_null());
  const auto rx = report_json(sample(Mode::kRx));
  EXPECT_TRUE(rx["tx"].is_null());
  EXPECT_TRUE(rx["lost"].is_null());
  EXPECT_EQ(rx["rx"]["packets"], 990);
}

TEST(Report, TableShowsTheFigures) {
  Report r = sample(Mode::kTxRx);
  r.interrupted = true;
  const std::string table = report_table(r);
  for (const char* needle : {"TX", "RX", "net_af_xdp_gentx", "lost 12", "missing 5", "p99.9", "interrupted"}) {
    EXPECT_NE(table.find(needle), std::string::npos) << needle << "\n" << table;
  }
}

}  // namespace
}  // namespace ferry::bench::gen
