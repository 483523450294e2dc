// Result encoding per CNI version against golden JSON (tests/plugins/cni/data),
// and the plugin's answers that need no agent: VERSION, and the codes for an
// agent that is not there (11; 50 for STATUS) or a namespace that is gone (3).
#include "plugins/cni/result.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "plugins/cni/plugin.h"

#ifndef FERRY_CNI_TEST_DATA
#error "FERRY_CNI_TEST_DATA must name tests/plugins/cni/data"
#endif

namespace ferry::cni {
namespace {

using nlohmann::json;

json golden(const std::string& name) {
  std::ifstream in(std::string(FERRY_CNI_TEST_DATA) + "/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return json::parse(s.str());
}

Attached dual_stack() {
  return Attached::from_agent(json{{"container_ifname", "eth0"},
                                   {"mac", "02:7a:0a:14:00:05"},
                                   {"mtu", 1450},
                                   {"ip", "10.20.0.5/24"},
                                   {"gateway", "10.20.0.1"},
                                   {"ip6", "fd00:20::5/64"},
                                   {"gateway6", "fd00:20::1"},
                                   {"host_ifname", "fy0123456789ab"},
                                   {"host_mac", "ee:11:22:33:44:55"}});
}

TEST(CniResult, GoldenPerVersion) {
  for (const std::string v : {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}) {
    EXPECT_EQ(encode_result(v, dual_stack(), "/run/netns/cni-1234"), golden("result-" + v + ".json")) << v;
  }
}

TEST(CniResult, PrevResultComesFirstAndIndexesFollow) {
  Attached a = dual_stack();
  a.ip6.clear();
  const json prev{{"cniVersion", "1.0.0"},
                  {"interfaces", {{{"name", "lo"}, {"sandbox", "/run/netns/cni-1234"}}}},
                  {"ips", {{{"address", "127.0.0.1/8"}, {"interface", 0}}}},
                  {"dns", {{"nameservers", {"10.20.0.1"}}}}};
  EXPECT_EQ(encode_result("1.0.0", a, "/run/netns/cni-1234", prev), golden("result-1.0.0-chained.json"));
}

TEST(CniResult, NoGatewayWhenTheAddressIsTheGateway) {
  Attached a = dual_stack();
  a.ip = "10.20.0.1/24";
  a.ip6.clear();
  const json r = encode_result("1.0.0", a, "/x");
  EXPECT_FALSE(r["ips"][0].contains("gateway"));
  EXPECT_TRUE(r["routes"].empty());
}

struct PluginRun {
  int rc;
  json out;
};

PluginRun run_plugin(const std::map<std::string, std::string>& vars, const std::string& stdin_text) {
  std::ostringstream out;
  const int rc = run(
      [&vars](const char* name) -> const char* {
        auto it = vars.find(name);
        return it == vars.end() ? nullptr : it->second.c_str();
      },
      stdin_text, out);
  return {rc, json::parse(out.str(), nullptr, false)};
}

const std::string kNoAgent = R"("socket":"/nonexistent/ferry-agent.sock")";

TEST(CniPlugin, VersionEchoesTheVersionAndListsSupported) {
  const PluginRun r = run_plugin({{"CNI_COMMAND", "VERSION"}}, R"({"cniVersion":"1.0.0"})");
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out,
            (json{{"cniVersion", "1.0.0"}, {"supportedVersions", {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}}}));
  EXPECT_EQ(run_plugin({{"CNI_COMMAND", "VERSION"}}, "").out["cniVersion"], "1.1.0");
}

TEST(CniPlugin, ErrorsAreJsonInTheConfigVersion) {
  const PluginRun r = run_plugin({{"CNI_COMMAND", "ADD"}}, R"({"cniVersion":"0.4.0","name":"a"})");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out["cniVersion"], "0.4.0");
  EXPECT_EQ(r.out["code"], kInvalidEnvironment);
  EXPECT_FALSE(r.out.value("msg", "").empty());
}

TEST(CniPlugin, NoAgentIsTryAgainLaterAndStatusNotAvailable) {
  const std::string conf = R"({"cniVersion":"1.1.0","name":"a",)" + kNoAgent + "}";
  const std::map<std::string, std::string> ids{{"CNI_CONTAINERID", "c1"}, {"CNI_IFNAME", "eth0"}};
  auto with = [&](std::map<std::string, std::string> vars) {
    vars.insert(ids.begin(), ids.end());
    return vars;
  };
  PluginRun r = run_plugin(with({{"CNI_COMMAND", "ADD"}, {"CNI_NETNS", "/proc/self/ns/net"}}), conf);
  EXPECT_EQ(r.out["code"], kTryAgainLater);
  EXPECT_NE(r.out.value("details", "").find("is ferry-agent running?"), std::string::npos) << r.out;
  r = run_plugin(with({{"CNI_COMMAND", "DEL"}}), conf);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out["code"], kTryAgainLater);
  r = run_plugin({{"CNI_COMMAND", "GC"}},
                 R"({"cniVersion":"1.1.0","name":"a","cni.dev/valid-attachments":[],)" + kNoAgent + "}");
  EXPECT_EQ(r.out["code"], kTryAgainLater);
  r = run_plugin({{"CNI_COMMAND", "STATUS"}}, conf);
  EXPECT_EQ(r.out["code"], kNotAvailable);
}

TEST(CniPlugin, GoneNamespaceIsContainerUnknown) {
  const PluginRun r = run_plugin({{"CNI_COMMAND", "ADD"},
                                  {"CNI_CONTAINERID", "c1"},
                                  {"CNI_IFNAME", "eth0"},
                                  {"CNI_NETNS", "/run/netns/ferry-cni-test-no-such-namespace"}},
                                 R"({"cniVersion":"1.0.0","name":"a",)" + kNoAgent + "}");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out["code"], kContainerUnknown);
  EXPECT_NE(r.out.value("details", "").find("ferry-cni-test-no-such-namespace"), std::string::npos);
}

}  // namespace
}  // namespace ferry::cni
