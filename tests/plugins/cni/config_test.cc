// The CNI plugin's input: CNI_* variables and the network configuration,
// every refusal with the spec's code and a message naming what is wrong.
#include "plugins/cni/config.h"

#include <gtest/gtest.h>

#include <map>

namespace ferry::cni {
namespace {

std::optional<CniError> env_of(const std::map<std::string, std::string>& vars, Env& out) {
  return parse_env(
      [&vars](const char* name) -> const char* {
        auto it = vars.find(name);
        return it == vars.end() ? nullptr : it->second.c_str();
      },
      out);
}

TEST(CniEnv, AddNeedsContainerNetnsAndIfname) {
  Env env;
  auto e = env_of({{"CNI_COMMAND", "ADD"}}, env);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, kInvalidEnvironment);
  for (const char* var : {"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"}) {
    EXPECT_NE(e->details.find(var), std::string::npos) << e->details;
  }
  EXPECT_FALSE(env_of(
      {{"CNI_COMMAND", "ADD"}, {"CNI_CONTAINERID", "abc"}, {"CNI_NETNS", "/run/netns/x"}, {"CNI_IFNAME", "eth0"}},
      env));
  EXPECT_EQ(env.command, Command::kAdd);
  EXPECT_EQ(env.netns, "/run/netns/x");
}

TEST(CniEnv, DelNeedsNoNetnsAndGcVersionStatusNeedNothing) {
  Env env;
  EXPECT_FALSE(env_of({{"CNI_COMMAND", "DEL"}, {"CNI_CONTAINERID", "abc"}, {"CNI_IFNAME", "eth0"}}, env));
  for (const char* cmd : {"GC", "VERSION", "STATUS"}) {
    EXPECT_FALSE(env_of({{"CNI_COMMAND", cmd}}, env)) << cmd;
  }
  EXPECT_EQ(env.command, Command::kStatus);
}

TEST(CniEnv, BadValuesAreNamed) {
  Env env;
  auto e = env_of({{"CNI_COMMAND", "FROB"}}, env);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, kInvalidEnvironment);
  EXPECT_NE(e->details.find("CNI_COMMAND=FROB"), std::string::npos);
  e = env_of({{"CNI_COMMAND", "ADD"}, {"CNI_CONTAINERID", "-abc"}, {"CNI_NETNS", "/x"}, {"CNI_IFNAME", "eth0"}}, env);
  ASSERT_TRUE(e);
  EXPECT_NE(e->details.find("CNI_CONTAINERID=-abc"), std::string::npos);
  e = env_of({{"CNI_COMMAND", "DEL"}, {"CNI_CONTAINERID", "abc"}, {"CNI_IFNAME", "a-very-long-interface"}}, env);
  ASSERT_TRUE(e);
  EXPECT_NE(e->details.find("CNI_IFNAME=a-very-long-interface"), std::string::npos);
  e = env_of({{"CNI_COMMAND", "CHECK"}, {"CNI_CONTAINERID", "abc"}, {"CNI_NETNS", "/x"}, {"CNI_IFNAME", "et/h0"}}, env);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, kInvalidEnvironment);
}

TEST(CniConfig, MinimalConfigDefaults) {
  NetConf c;
  ASSERT_FALSE(parse_config(R"({"cniVersion":"1.0.0","name":"blue","type":"ferry"})", Command::kAdd, c));
  EXPECT_EQ(c.network, "blue");
  EXPECT_EQ(c.socket, "/run/ferry/agent.sock");
  EXPECT_EQ(c.timeout_ms, 30000U);
  EXPECT_TRUE(c.subnet.empty());
  EXPECT_FALSE(c.prev_result);
}

TEST(CniConfig, EveryField) {
  NetConf c;
  ASSERT_FALSE(parse_config(R"({"cniVersion":"1.1.0","name":"podnet","type":"ferry","network":"blue",
      "subnet":"10.20.0.0/24","subnet6":"fd00:20::/64","vni":4242,"socket":"/tmp/a.sock","timeoutMs":5000,
      "runtimeConfig":{"ips":["10.20.0.9/24","fd00:20::9"]},"prevResult":{"interfaces":[]}})",
                            Command::kAdd, c));
  EXPECT_EQ(c.name, "podnet");
  EXPECT_EQ(c.network, "blue");
  EXPECT_EQ(c.subnet, "10.20.0.0/24");
  EXPECT_EQ(c.subnet6, "fd00:20::/64");
  EXPECT_EQ(c.vni, 4242U);
  EXPECT_EQ(c.socket, "/tmp/a.sock");
  EXPECT_EQ(c.timeout_ms, 5000U);
  EXPECT_EQ(c.ip, "10.20.0.9");
  EXPECT_EQ(c.ip6, "fd00:20::9");
  EXPECT_TRUE(c.prev_result);
}

struct Refusal {
  const char* config;
  Command command;
  int code;
  const char* says;
};

TEST(CniConfig, RefusalsCarryTheSpecCodeAndTheField) {
  const std::vector<Refusal> cases{
      {"not json", Command::kAdd, kDecodeFailure, "not a JSON object"},
      {"[1]", Command::kAdd, kDecodeFailure, "not a JSON object"},
      {R"({"name":"a"})", Command::kAdd, kInvalidConfig, "cniVersion"},
      {R"({"cniVersion":"0.2.0","name":"a"})", Command::kAdd, kIncompatibleVersion, "0.2.0"},
      {R"({"cniVersion":"9.0.0","name":"a"})", Command::kAdd, kIncompatibleVersion, "9.0.0"},
      {R"({"cniVersion":"0.3.1","name":"a"})", Command::kCheck, kIncompatibleVersion, "CHECK needs cniVersion 0.4.0"},
      {R"({"cniVersion":"1.0.0","name":"a"})", Command::kGc, kIncompatibleVersion, "GC needs cniVersion 1.1.0"},
      {R"({"cniVersion":"1.0.0","name":"a"})", Command::kStatus, kIncompatibleVersion, "STATUS needs"},
      {R"({"cniVersion":"1.0.0"})", Command::kAdd, kInvalidConfig, "\"name\" is missing"},
      {R"({"cniVersion":"1.0.0","name":7})", Command::kAdd, kInvalidConfig, "\"name\" must be a string"},
      {R"({"cniVersion":"1.0.0","name":"a","ipam":{"type":"host-local"}})", Command::kAdd, kUnsupportedField,
       "\"ipam\": {\"type\":\"host-local\"}"},
      {R"({"cniVersion":"1.0.0","name":"a","subnet":"10.0.0.0/24","vni":0})", Command::kAdd, kInvalidConfig, "vni"},
      {R"({"cniVersion":"1.0.0","name":"a","subnet":"10.0.0.0/24","vni":16777216})", Command::kAdd, kInvalidConfig,
       "vni"},
      {R"({"cniVersion":"1.0.0","name":"a","vni":5})", Command::kAdd, kInvalidConfig, "give \"subnet\" too"},
      {R"({"cniVersion":"1.0.0","name":"a","subnet6":"fd00::/64"})", Command::kAdd, kInvalidConfig, "subnet6"},
      {R"({"cniVersion":"1.0.0","name":"a","timeoutMs":1})", Command::kAdd, kInvalidConfig, "timeoutMs"},
      {R"({"cniVersion":"1.0.0","name":"a","runtimeConfig":{"ips":["10.0.0.1","10.0.0.2"]}})", Command::kAdd,
       kInvalidConfig, "two addresses of one family"},
      {R"({"cniVersion":"1.1.0","name":"a"})", Command::kGc, kInvalidConfig, "cni.dev/valid-attachments"},
      {R"({"cniVersion":"1.1.0","name":"a","cni.dev/valid-attachments":[{"containerID":"x"}]})", Command::kGc,
       kInvalidConfig, "ifname"},
  };
  for (const auto& r : cases) {
    NetConf c;
    auto e = parse_config(r.config, r.command, c);
    ASSERT_TRUE(e) << r.config;
    EXPECT_EQ(e->code, r.code) << r.config << ": " << e->details;
    EXPECT_NE(e->details.find(r.says), std::string::npos) << r.config << ": " << e->details;
  }
}

TEST(CniConfig, GcValidAttachments) {
  NetConf c;
  ASSERT_FALSE(parse_config(R"({"cniVersion":"1.1.0","name":"a","cni.dev/valid-attachments":[
      {"containerID":"c1","ifname":"eth0"},{"containerID":"c2","ifname":"eth1"}]})",
                            Command::kGc, c));
  ASSERT_EQ(c.valid_attachments.size(), 2U);
  EXPECT_EQ(c.valid_attachments[1].container_id, "c2");
  EXPECT_EQ(c.valid_attachments[1].ifname, "eth1");
}

TEST(CniConfig, Versions) {
  EXPECT_LT(compare_versions("0.3.1", "0.4.0"), 0);
  EXPECT_LT(compare_versions("0.4.0", "1.0.0"), 0);
  EXPECT_EQ(compare_versions("1.1.0", "1.1.0"), 0);
  EXPECT_GT(compare_versions("1.1.0", "1.0.0"), 0);
  EXPECT_EQ(reply_version(R"({"cniVersion":"0.4.0"})"), "0.4.0");
  EXPECT_EQ(reply_version(R"({"cniVersion":"0.1.0"})"), "1.1.0");
  EXPECT_EQ(reply_version("garbage"), "1.1.0");
}

}  // namespace
}  // namespace ferry::cni
