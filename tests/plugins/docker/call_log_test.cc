// CallLog (plugins/docker/call_log.h): a bounded ring of the latest plugin
// calls, bodies cut with a marker, safe from several threads; and the plugin
// server recording every call it answers, refusals included.
#include "plugins/docker/call_log.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "plugins/docker/plugin_server.h"
#include "tests/plugins/docker/recording_backend.h"
#include "tests/plugins/http/test_client.h"
#include "tests/plugins/temp_dir.h"

namespace ferry::plugins::docker {
namespace {

TEST(CallLog, KeepsTheLatestCallsOldestFirst) {
  CallLog log(CallLogConfig{.capacity = 3, .max_body = 100});
  for (int i = 1; i <= 5; ++i) log.record(i, "M" + std::to_string(i), "{}\n", 200, "{}", 7);
  const auto all = log.recent();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].seq, 3u);
  EXPECT_EQ(all[0].method, "M3");
  EXPECT_EQ(all[2].seq, 5u);
  EXPECT_EQ(all[2].unix_ms, 5);
  EXPECT_EQ(all[2].request, "{}");  // Docker's trailing newline is not kept
  EXPECT_EQ(all[2].micros, 7u);
  const auto last = log.recent(1);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].method, "M5");
  EXPECT_EQ(log.recent(10).size(), 3u);
  EXPECT_EQ(log.total(), 5u);
}

TEST(CallLog, CutsLongBodiesAndSaysHowLongTheyWere) {
  CallLog log(CallLogConfig{.capacity = 2, .max_body = 4});
  log.record(0, "M", "abcdefgh", 500, R"({"Err":"x"})", 0);
  const auto c = log.recent().at(0);
  EXPECT_EQ(c.request, "abcd...(8 bytes)");
  EXPECT_EQ(c.reply, R"({"Er...(11 bytes))");
  EXPECT_EQ(c.status, 500u);
}

TEST(CallLog, RecordsFromSeveralThreadsWithoutLosingCount) {
  CallLog log(CallLogConfig{.capacity = 50, .max_body = 16});
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&log] {
      for (int i = 0; i < 500; ++i) log.record(i, "M", "{}", 200, "{}", 1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(log.total(), 2000u);
  const auto kept = log.recent();
  ASSERT_EQ(kept.size(), 50u);
  for (std::size_t i = 1; i < kept.size(); ++i) EXPECT_EQ(kept[i].seq, kept[i - 1].seq + 1);
}

TEST(CallLog, ThePluginServerRecordsEveryCallItAnswers) {
  plugins::testing::TempDir dir;
  testing::RecordingNetworkBackend network;
  testing::RecordingIpamBackend ipam;
  CallLog log;
  UnixHttpServerConfig config;
  config.socket_path = dir.file("ferry.sock");
  auto server = start_plugin_server(config, &network, &ipam, &log);
  ASSERT_TRUE(server) << server.error().message;
  plugins::testing::UnixClient client;
  ASSERT_TRUE(client.connect(config.socket_path));
  ASSERT_TRUE(client.post("/Plugin.Activate", ""));
  ASSERT_TRUE(client.post("/NetworkDriver.Leave", "{\"NetworkID\":\"\"}\n"));  // refused: no EndpointID
  ASSERT_TRUE(client.post("/Nope.Nothing", "{}"));
  const auto calls = log.recent();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].method, "Plugin.Activate");
  EXPECT_EQ(calls[0].status, 200u);
  EXPECT_EQ(calls[0].reply, R"({"Implements":["NetworkDriver","IpamDriver"]})");
  EXPECT_EQ(calls[1].method, "NetworkDriver.Leave");
  EXPECT_EQ(calls[1].request, R"({"NetworkID":""})");
  EXPECT_EQ(calls[1].status, 500u);
  EXPECT_NE(calls[1].reply.find("Err"), std::string::npos) << calls[1].reply;
  EXPECT_EQ(calls[2].method, "Nope.Nothing");
  EXPECT_EQ(calls[2].status, 404u);
  EXPECT_GT(calls[2].unix_ms, 0);
  (*server)->stop();
}

}  // namespace
}  // namespace ferry::plugins::docker
