#include "bench/rtt/rtt.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace ferry::bench::rtt {
namespace {

Result<CommandLine> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "rtt");
  std::vector<char*> argv;
  argv.reserve(args.size());
  for (auto& a : args) argv.push_back(a.data());
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

TEST(RttCommandLine, Client) {
  auto line = parse({"client", "--to", "10.0.0.2", "-p", "9000", "-d", "1.5", "-n", "50", "--json"});
  ASSERT_TRUE(line) << line.error().message;
  const RttConfig& c = line->config;
  EXPECT_EQ(c.role, Role::kClient);
  EXPECT_EQ(c.address, "10.0.0.2");
  EXPECT_EQ(c.port, 9000);
  EXPECT_DOUBLE_EQ(c.duration_s, 1.5);
  EXPECT_EQ(c.count, 50U);
  EXPECT_EQ(c.size, 18U);
  EXPECT_TRUE(c.json);
}

TEST(RttCommandLine, Server) {
  auto line = parse({"server", "--bind", "127.0.0.1", "-d", "2"});
  ASSERT_TRUE(line) << line.error().message;
  EXPECT_EQ(line->config.role, Role::kServer);
  EXPECT_EQ(line->config.port, 7007);
}

TEST(RttCommandLine, RefusesBadInput) {
  EXPECT_FALSE(parse({}));
  EXPECT_FALSE(parse({"client"}));
  EXPECT_FALSE(parse({"client", "--to", "host.example"}));
  EXPECT_FALSE(parse({"client", "--to", "10.0.0.2", "-s", "4"}));
  EXPECT_FALSE(parse({"client", "--to", "10.0.0.2", "-d", "0"}));
  EXPECT_FALSE(parse({"client", "--to", "10.0.0.2", "--timeout-ms", "0"}));
  EXPECT_FALSE(parse({"server", "--bind", "10.0.0.2", "-p", "0"}));
  auto missing = parse({"server"});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("--bind"), std::string::npos) << missing.error().message;
}

// A server thread and a client on loopback: every request is answered and
// timed, nothing is lost, the figures are ordered.
TEST(RttLoopback, RoundTrips) {
  RttConfig server;
  server.role = Role::kServer;
  server.address = "127.0.0.1";
  server.port = 47007;
  server.duration_s = 30;
  std::atomic<bool> stop{false};
  std::atomic<bool> ready{false};
  Result<std::uint64_t> echoed = make_error("not run");
  std::thread t([&] { echoed = run_server(server, stop, &ready); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!ready && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  if (!ready) {
    stop = true;
    t.join();
    FAIL() << "server did not bind: " << (echoed ? "" : echoed.error().message);
  }

  RttConfig client = server;
  client.role = Role::kClient;
  client.count = 300;
  client.warmup = 10;
  client.timeout_ms = 1000;
  client.duration_s = 20;
  auto report = run_client(client, stop);
  stop = true;
  t.join();
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_TRUE(echoed) << echoed.error().message;
  EXPECT_EQ(report->received, 300U);
  EXPECT_EQ(report->sent, 310U);  // 10 warm-up + 300 recorded
  EXPECT_EQ(report->lost, 0U);
  EXPECT_EQ(*echoed, report->sent);
  EXPECT_EQ(report->rtt_ns.count(), 300U);
  EXPECT_GT(report->rtt_ns.min(), 0U);
  EXPECT_LE(report->rtt_ns.percentile(50), report->rtt_ns.percentile(99));
  EXPECT_LE(report->rtt_ns.percentile(99), report->rtt_ns.max());
  const auto j = to_json(*report, client);
  EXPECT_EQ(j["received"], 300U);
  EXPECT_GT(j["p50_us"].get<double>(), 0.0);
  EXPECT_NE(to_text(*report, client).find("round trip us"), std::string::npos);
}

// Nobody listening: requests time out (or are refused) and are counted lost.
TEST(RttLoopback, NoServerMeansLost) {
  RttConfig client;
  client.address = "127.0.0.1";
  client.port = 47008;
  client.count = 1;
  client.warmup = 0;
  client.timeout_ms = 20;
  client.duration_s = 0.2;
  std::atomic<bool> stop{false};
  auto report = run_client(client, stop);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->received, 0U);
  EXPECT_GT(report->lost, 0U);
  EXPECT_EQ(report->lost, report->sent);
}

}  // namespace
}  // namespace ferry::bench::rtt
