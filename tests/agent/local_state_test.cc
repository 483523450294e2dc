#include "control/agent/local_state.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "control/agent/admin_server.h"
#include "control/agent/state_file.h"

namespace ferry::agent {
namespace {

class StateDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = "/tmp/ferry-agent-state-test-" + std::to_string(::getpid()) + "/sub";
    ASSERT_TRUE(ensure_dir(dir_));
  }
  void TearDown() override { std::filesystem::remove_all(std::filesystem::path(dir_).parent_path()); }
  std::string dir_;
};

TEST_F(StateDir, MissingFileIsEmptyState) {
  auto s = LocalState::load(dir_);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_TRUE(s->networks.empty());
  EXPECT_TRUE(s->endpoints.empty());
}

TEST_F(StateDir, SaveLoadRoundTripAndNoTemporaryLeft) {
  LocalState s;
  s.networks["blue"] = NetworkRecord{"blue", 42, "10.10.0.0/24", {}};
  LocalEndpoint ep;
  ep.id = "abc";
  ep.name = "c1";
  ep.network = "blue";
  ep.mac = *parse_mac("02:11:22:33:44:55");
  ep.ip = *parse_prefix("10.10.0.2/24");
  ep.host_ifname = "fy0123456789ab";
  ep.netns_path = "/var/run/netns/c1";
  ep.container_offloads = true;
  s.endpoints["c1"] = ep;
  ASSERT_TRUE(s.save(dir_));
  auto back = LocalState::load(dir_);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, s);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/state.json.tmp"));
  EXPECT_EQ(std::filesystem::status(dir_ + "/state.json").permissions() & std::filesystem::perms::others_read,
            std::filesystem::perms::none);
}

TEST_F(StateDir, DockerBindingsPoolsAndOriginsRoundTrip) {
  LocalState s;
  NetworkRecord blue{"blue", 42, "10.10.0.0/24", {}};
  blue.subnet6 = "fd00:10::/64";
  blue.origin_host = "h1";
  blue.origin_lamport = 17;
  s.networks["blue"] = blue;
  LocalEndpoint ep;
  ep.id = "e1";
  ep.name = "dk-e1";
  ep.network = "blue";
  ep.mac = *parse_mac("02:00:00:00:00:01");
  ep.ip = *parse_prefix("10.10.0.16/24");
  ep.ip6 = *parse_prefix("fd00:10::10/64");
  ep.mtu = 8950;
  ep.host_ifname = "fy1";
  ep.container_ifname = "fc1";
  ep.docker = true;
  ep.docker_network = "n1";
  ep.joined = false;
  s.endpoints[ep.name] = ep;
  LocalEndpoint cni = ep;  // a CNI plugin's endpoint: its owner survives the round trip
  cni.id = "e2";
  cni.name = "cni-c2-eth0";
  cni.docker = false;
  cni.docker_network.clear();
  cni.joined = true;
  cni.owner = "cni:podnet";
  s.endpoints[cni.name] = cni;
  s.docker_networks["n1"] = DockerNetwork{"n1", "blue", "FerryLocal/10.10.0.0/24", "FerryLocal/fd00:10::/64"};
  s.pools["FerryLocal/10.10.0.0/24"] =
      IpamPool{"FerryLocal/10.10.0.0/24", *parse_prefix("10.10.0.0/24"), 2, {*parse_ip("10.10.0.16")}};
  s.pools["FerryLocal/fd00:10::/64"] = IpamPool{"FerryLocal/fd00:10::/64",
                                                *parse_prefix("fd00:10::/64"),
                                                1,
                                                {*parse_ip("fd00:10::10"), *parse_ip("fd00:10::11")},
                                                {{*parse_ip("fd00:10::11"), 1700}}};
  s.pools.at("FerryLocal/fd00:10::/64").serial = true;  // Docker's com.docker.network.ipam.serial
  EXPECT_TRUE(s.pools.at("FerryLocal/fd00:10::/64").v6());
  EXPECT_FALSE(s.pools.at("FerryLocal/10.10.0.0/24").v6());
  ASSERT_TRUE(s.save(dir_));
  auto back = LocalState::load(dir_);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, s);
  ASSERT_NE(back->find_endpoint_id("e1"), nullptr);
  EXPECT_EQ(back->find_endpoint_id("e1")->name, "dk-e1");
  EXPECT_EQ(back->endpoints.at("cni-c2-eth0").owner, "cni:podnet");
  EXPECT_EQ(back->endpoints.at("dk-e1").owner, "");
  // The identity of a network is its definition, not who created it.
  NetworkRecord again = blue;
  again.origin_host = "h2";
  EXPECT_TRUE(again.same_definition(blue));
}

TEST_F(StateDir, VersionOneFilesStillLoad) {
  std::ofstream(dir_ + "/state.json") << R"({"version":1,"networks":[{"name":"blue","vni":42,)"
                                      << R"("subnet":"10.10.0.0/24","options":{}}],"endpoints":[{"id":"a","name":"c1",)"
                                      << R"("network":"blue","mac":"02:00:00:00:00:01","ip":"10.10.0.5/24",)"
                                      << R"("host_ifname":"fy1","container_ifname":"eth0","netns":"/x","mtu":1450}]})";
  auto s = LocalState::load(dir_);
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(s->endpoints.size(), 1U);
  EXPECT_TRUE(s->endpoints.at("c1").joined);
  EXPECT_FALSE(s->endpoints.at("c1").docker);
  EXPECT_EQ(s->endpoints.at("c1").owner, "");
  EXPECT_TRUE(s->docker_networks.empty());
}

TEST_F(StateDir, CorruptFileIsAnErrorNamingThePath) {
  std::ofstream(dir_ + "/state.json") << "{\"version\": 1, \"networks\": [ {\"name\": ";
  auto s = LocalState::load(dir_);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("state.json"), std::string::npos);
}

TEST_F(StateDir, AdminSocketRoundTripAndBadInput) {
  const std::string path = dir_ + "/admin.sock";
  AdminServer server(path, [](const nlohmann::json& req) {
    return nlohmann::json{{"ok", true}, {"echo", req.at("op").get<std::string>()}};
  });
  auto fd = server.open();
  ASSERT_TRUE(fd) << fd.error().message;
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  // The client blocks on the reply: serve from a thread.
  std::atomic<bool> done{false};
  std::thread serve([&] {
    std::vector<int> conns;
    while (!done.load()) {
      for (int c : server.accept_all()) conns.push_back(c);
      std::erase_if(conns, [&](int c) { return !server.on_readable(c); });
      std::this_thread::yield();
    }
  });
  auto r = admin_call(path, {{"op", "ping"}}, std::chrono::milliseconds(5000));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->at("echo"), "ping");
  auto typed = admin_call(path, {{"op", 3}}, std::chrono::milliseconds(5000));  // handler throws: error reply
  ASSERT_TRUE(typed) << typed.error().message;
  EXPECT_FALSE(typed->value("ok", true));
  done.store(true);
  serve.join();
  EXPECT_FALSE(admin_call(dir_ + "/nobody.sock", {{"op", "x"}}));
}

// A file descriptor sent with a request (SCM_RIGHTS, as the CNI plugin hands
// over a namespace) reaches the handler as the same open file, and is closed
// once the last holder lets go; a request without one brings none.
TEST_F(StateDir, AdminSocketPassesAFileDescriptor) {
  const std::string path = dir_ + "/admin.sock";
  std::vector<std::shared_ptr<const PassedFds>> kept;
  AdminServer server(
      path, AdminServer::FdHandler([&](const nlohmann::json& /*req*/, const std::shared_ptr<const PassedFds>& fds,
                                       const AdminServer::Respond& respond) {
        kept.push_back(fds);
        nlohmann::json inodes = nlohmann::json::array();
        for (int fd : fds->fds()) {
          struct stat st {};
          ::fstat(fd, &st);
          inodes.push_back(st.st_ino);
        }
        respond({{"ok", true}, {"inodes", inodes}});
      }));
  ASSERT_TRUE(server.open());
  std::atomic<bool> done{false};
  std::thread serve([&] {
    std::vector<int> conns;
    while (!done.load()) {
      for (int c : server.accept_all()) conns.push_back(c);
      std::erase_if(conns, [&](int c) { return !server.on_readable(c); });
      std::this_thread::yield();
    }
  });
  const int mine = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(mine, 0);
  struct stat st {};
  ::fstat(mine, &st);
  auto r = admin_call(path, {{"op", "x"}}, std::chrono::milliseconds(5000), mine);
  ::close(mine);
  auto none = admin_call(path, {{"op", "y"}}, std::chrono::milliseconds(5000));
  done.store(true);
  serve.join();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->at("inodes"), nlohmann::json::array({st.st_ino}));
  ASSERT_TRUE(none);
  EXPECT_EQ(none->at("inodes"), nlohmann::json::array());
  ASSERT_EQ(kept.size(), 2U);
  const int passed = kept[0]->fds().at(0);
  EXPECT_EQ(::fcntl(passed, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  kept.clear();
  EXPECT_EQ(::fcntl(passed, F_GETFD), -1) << "closed with its last holder";
}

}  // namespace
}  // namespace ferry::agent
