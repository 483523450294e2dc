// Agent without root, network or data plane: the admin requests' checks and
// the state directory across a restart. (The data plane is an ipc:// path
// nobody serves; the reconciler just reports it down.)
#include "control/agent/agent.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "control/gossip/keyring.h"

namespace ferry::agent {
namespace {

using nlohmann::json;

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    dir_ = "/tmp/ferry-agent-unit-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir_);
    const std::string key = dir_ + "/cluster.key";
    std::ofstream(key) << gossip::Keyring::encode(gossip::Keyring::generate()) << "\n";
    std::filesystem::permissions(key, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Agent> make() {
    Config c;
    c.node_name = "unit";
    c.advertise_address = "127.0.0.1";
    // A port unlikely to clash with parallel runs.
    c.gossip_bind = "127.0.0.1:" + std::to_string(20000 + ::getpid() % 20000);
    c.key_file = dir_ + "/cluster.key";
    c.dataplane_api = "ipc://" + dir_ + "/nobody.sock";
    c.dataplane_timeout = std::chrono::milliseconds(20);
    c.admin_socket = dir_ + "/agent.sock";
    c.state_dir = dir_ + "/state";
    c.metrics_address = "127.0.0.1:" + std::to_string(40000 + ::getpid() % 20000);
    auto a = Agent::create(c);
    EXPECT_TRUE(a) << a.error().message;
    return a ? std::move(*a) : nullptr;
  }
  std::string dir_;
};

TEST_F(AgentTest, NetworkRequestsCheckedAndStateSurvivesRestart) {
  {
    auto agent = make();
    ASSERT_TRUE(agent);
    auto r = agent->handle({{"op", "net-create"}, {"name", "blue"}, {"subnet", "10.5.0.0/24"}, {"vni", 50}});
    ASSERT_TRUE(r.value("ok", false)) << r.dump();
    EXPECT_TRUE(r.value("created", false));
    // Idempotent repeat; conflicts refused with the reason.
    EXPECT_TRUE(agent->handle({{"op", "net-create"}, {"name", "blue"}, {"subnet", "10.5.0.0/24"}}).value("ok", false));
    auto vni = agent->handle({{"op", "net-create"}, {"name", "red"}, {"subnet", "10.6.0.0/24"}, {"vni", 50}});
    EXPECT_FALSE(vni.value("ok", true));
    EXPECT_NE(vni.value("error", "").find("VNI 50 is already used by network blue"), std::string::npos) << vni.dump();
    auto subnet = agent->handle({{"op", "net-create"}, {"name", "red"}, {"subnet", "10.6.0.1/24"}});
    EXPECT_NE(subnet.value("error", "").find("host bits"), std::string::npos) << subnet.dump();
    auto derived = agent->handle({{"op", "net-create"}, {"name", "green"}, {"subnet", "10.7.0.0/24"}});
    ASSERT_TRUE(derived.value("ok", false)) << derived.dump();
    EXPECT_GE(derived["network"]["vni"].get<std::uint32_t>(), 4096U);
    // Bad input: an error reply, nothing changes.
    EXPECT_FALSE(agent->handle({{"op", "nope"}}).value("ok", true));
    auto attach = agent->handle({{"op", "attach"}, {"net", "blue"}, {"netns", dir_ + "/no-such-ns"}});
    EXPECT_NE(attach.value("error", "").find("does not exist"), std::string::npos) << attach.dump();
    auto no_net = agent->handle({{"op", "attach"}, {"net", "nonet"}, {"netns", dir_}});
    EXPECT_NE(no_net.value("error", "").find("no network nonet"), std::string::npos) << no_net.dump();
    EXPECT_FALSE(agent->handle({{"op", "detach"}, {"name", "ghost"}}).value("ok", true));
    EXPECT_FALSE(agent->handle({{"op", "net-rm"}, {"name", "ghost"}}).value("ok", true));
    EXPECT_EQ(agent->handle({{"op", "networks"}})["networks"].size(), 2U);
    EXPECT_TRUE(agent->handle({{"op", "net-rm"}, {"name", "green"}}).value("ok", false));
    const json status = agent->handle({{"op", "status"}});
    EXPECT_FALSE(status["dataplane"]["up"].get<bool>());
    EXPECT_NE(agent->render_metrics().find("ferry_networks{state=\"active\"} 1"), std::string::npos);
  }
  // Restart on the same state directory: the network it created is back.
  auto again = make();
  ASSERT_TRUE(again);
  const json nets = again->handle({{"op", "networks"}})["networks"];
  ASSERT_EQ(nets.size(), 1U) << nets.dump();
  EXPECT_EQ(nets[0]["name"], "blue");
  EXPECT_EQ(nets[0]["vni"], 50);
}

}  // namespace
}  // namespace ferry::agent
