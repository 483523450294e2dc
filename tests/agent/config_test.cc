#include "control/agent/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace ferry::agent {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = "/tmp/ferry-agent-config-test-" + std::to_string(::getpid()) + ".key";
    std::ofstream(key_) << "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
  }
  void TearDown() override { std::remove(key_.c_str()); }

  Result<Config> parse(std::vector<std::string> args) {
    std::vector<std::string> all{"ferry-agent"};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    argv.reserve(all.size());
    for (auto& a : all) argv.push_back(a.data());
    ParseOutcome outcome;
    return parse_config(std::span<char* const>(argv.data(), argv.size()), outcome);
  }
  std::string key_;
};

TEST_F(ConfigTest, MinimalFlagsGiveDocumentedDefaults) {
  auto c = parse({"--name", "h1", "--advertise", "10.0.0.7", "--key-file", key_});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->gossip_bind, "10.0.0.7:7946");
  EXPECT_EQ(c->plugin_socket, "/run/ferry/docker-plugin.sock");
  EXPECT_EQ(c->admin_socket, "/run/ferry/agent.sock");
  EXPECT_EQ(c->state_dir, "/var/lib/ferry");
  EXPECT_EQ(c->metrics_address, "127.0.0.1:9475");
  EXPECT_EQ(c->ipam_timeout, std::chrono::milliseconds(4000));
  EXPECT_EQ(c->docker_claim_timeout, std::chrono::minutes(10));
  EXPECT_EQ(c->docker_orphan_timeout, std::chrono::seconds(10));
  EXPECT_EQ(c->docker_unseen_orphan_grace, std::chrono::minutes(5));
  EXPECT_EQ(c->rejoin_interval, std::chrono::seconds(5));
  EXPECT_EQ(c->network_sync_interval, std::chrono::seconds(5));
  EXPECT_EQ(c->leave_timeout, std::chrono::seconds(3));
  EXPECT_EQ(c->hand_over_timeout, std::chrono::seconds(2));
  EXPECT_EQ(c->dataplane_poll_interval, std::chrono::milliseconds(10));
  EXPECT_EQ(c->client_idle_timeout, std::chrono::seconds(5));
  EXPECT_EQ(c->client_reply_timeout, std::chrono::seconds(1));
  EXPECT_TRUE(c->seed_addresses.empty());
}

TEST_F(ConfigTest, SeedsParsedAndSelfDropped) {
  auto c = parse({"--name", "h1", "--advertise", "10.0.0.7", "--key-file", key_, "--gossip-bind", "10.0.0.7:7000",
                  "--seeds", "10.0.0.1:7000,10.0.0.7:7000,10.0.0.2:7000"});
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->seed_addresses.size(), 2U);
}

TEST_F(ConfigTest, EachBadSettingNamesItsFlag) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"--name", "h1", "--key-file", key_}, "--advertise"},
      {{"--name", "h1", "--advertise", "10.0.0.300", "--key-file", key_}, "--advertise"},
      {{"--name", "h1", "--advertise", "10.0.0.1"}, "--key-file"},
      {{"--name", "h1", "--advertise", "10.0.0.1", "--key-file", "/nonexistent/key"}, "--key-file"},
      {{"--name", "h 1", "--advertise", "10.0.0.1", "--key-file", key_}, "--name"},
      {{"--name", "h1", "--advertise", "10.0.0.1", "--key-file", key_, "--gossip-bind", "10.0.0.1"}, "--gossip-bind"},
      {{"--name", "h1", "--advertise", "10.0.0.1", "--key-file", key_, "--gossip-bind", "0.0.0.0:1"}, "--gossip-bind"},
      {{"--name", "h1", "--advertise", "10.0.0.1", "--key-file", key_, "--seeds", "x"}, "--seeds"},
      {{"--name", "h1", "--advertise", "10.0.0.1", "--key-file", key_, "--dataplane-api", "tcp://x"},
       "--dataplane-api"},
      {{"--name", "h1", "--advertise", "10.0.0.1", "--key-file", key_, "--state-dir", "rel"}, "--state-dir"},
      {{"--name", "h1", "--advertise", "10.0.0.1", "--key-file", key_, "--admin-socket", ""}, "--admin-socket"},
      {{"--name", "h1", "--advertise", "10.0.0.1", "--key-file", key_, "--ipam-timeout-ms", "9000"},
       "--ipam-timeout-ms"},
      {{"--name", "h1", "--advertise", "10.0.0.1", "--key-file", key_, "--ipam-fence-ms", "0"}, "--ipam-fence-ms"},
      {{"--name", "h1", "--advertise", "10.0.0.1", "--key-file", key_, "--log-level", "loud"}, "--log-level"},
      {{"--name", "h1", "--advertise", "10.0.0.1", "--key-file", key_, "--metrics", "x"}, "--metrics"},
      {{"--name", "h1", "--advertise", "10.0.0.1", "--key-file", key_, "--bogus"}, "--bogus"},
      {{"--name", "h1", "--advertise", "10.0.0.1", "--key-file", key_, "--endpoint-mtu", "1000"}, "--endpoint-mtu"},
      {{"--name", "h1", "--advertise", "10.0.0.1", "--key-file", key_, "--endpoint-mtu", "9200"}, "--endpoint-mtu"},
      {{"--name", "h1", "--advertise", "10.0.0.1", "--key-file", key_, "--docker-claim-ms", "-1"}, "--docker-claim-ms"},
      {{"--name", "h1", "--advertise", "10.0.0.1", "--key-file", key_, "--docker-orphan-ms", "-1"},
       "--docker-orphan-ms"},
      {{"--name", "h1", "--advertise", "10.0.0.1", "--key-file", key_, "--docker-unseen-orphan-ms", "-1"},
       "--docker-unseen-orphan-ms"},
      {{"--name", "h1", "--advertise", "10.0.0.1", "--key-file", key_, "--rejoin-ms", "10"}, "--rejoin-ms"},
      {{"--name", "h1", "--advertise", "10.0.0.1", "--key-file", key_, "--dataplane-poll-ms", "0"},
       "--dataplane-poll-ms"},
      {{"--name", "h1", "--advertise", "10.0.0.1", "--key-file", key_, "--client-idle-ms", "50"}, "--client-idle-ms"},
      {{"--name", "h1", "--advertise", "10.0.0.1", "--key-file", key_, "--client-reply-ms", "20000"},
       "--client-reply-ms"},
  };
  for (const auto& [args, flag] : cases) {
    auto c = parse(args);
    ASSERT_FALSE(c) << "accepted: " << flag;
    EXPECT_NE(c.error().message.find(flag), std::string::npos) << c.error().message;
    EXPECT_EQ(c.error().message.find('\n'), std::string::npos) << c.error().message;
  }
}

TEST_F(ConfigTest, ConfigFileSetsOptionsAndTheCommandLineWins) {
  const std::string path = key_ + ".toml";
  std::ofstream(path) << "name = \"h1\"\nadvertise = \"10.0.0.7\"\nkey-file = \"" << key_
                      << "\"\nseeds = [\"10.0.0.1:7946\", \"10.0.0.2:7946\"]\nipam-hand-over = false\n"
                      << "plugin-socket = \"\"\nresync-ms = 500\n";
  auto c = parse({"--resync-ms", "250", "--config", path});
  std::remove(path.c_str());
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->node_name, "h1");
  EXPECT_EQ(c->seed_addresses.size(), 2U);
  EXPECT_FALSE(c->ipam_hand_over);
  EXPECT_EQ(c->plugin_socket, "");
  EXPECT_EQ(c->resync_interval, std::chrono::milliseconds(250));
}

TEST_F(ConfigTest, ConfigFileErrorsNameFileLineAndKey) {
  const std::string path = key_ + ".toml";
  const std::vector<std::pair<std::string, std::string>> cases{
      {"advertise = \"10.0.0.7\"\nseed = [\"10.0.0.1:7946\"]\n", ":2:1: unknown key 'seed'"},
      {"advertise = \"10.0.0.7\"\nseeds = [\"nowhere\"]\n", ":2:1: key 'seeds': --seeds:"},
      {"advertise = \"10.0.0.7\"\nipam-hand-over = \"maybe\"\n", ":2:1: key 'ipam-hand-over'"},
      {"advertise = \"10.0.0.7\"\nresync-ms = 5\n", ":2:1: key 'resync-ms': --resync-ms: 5 is below 10"},
      {"advertise = \"10.0.0.7\"\nname = { a = 1 }\n", ":2:8: key 'name'"},
  };
  for (const auto& [text, want] : cases) {
    std::ofstream(path) << text << "key-file = \"" << key_ << "\"\n";
    auto c = parse({"--config", path});
    ASSERT_FALSE(c) << text;
    EXPECT_NE(c.error().message.find(path + want), std::string::npos) << c.error().message;
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace ferry::agent
