// Integration (root): ferry-agent as Docker's remote network + IPAM driver,
// driven over its plugin socket with the exact requests Docker writes (the
// bodies and order of `docker network create` + `docker run` + `docker rm` +
// `docker network rm`, see docs/plugin.md), against real ferry-dataplane
// processes on harness topology hosts:
//  - the contract on one host, every reply checked, then bad input that
//    must change nothing while the agent keeps serving;
//  - SIGKILL of the agent between any two calls of the sequence: it comes
//    back with the same endpoints and addresses and the sequence completes;
//  - 3 hosts, two containers each wired as Docker would (SrcName moved into
//    the container and renamed eth0, address and default route set), all
//    pairs ping, Leave makes an endpoint unreachable, SIGKILL of the
//    network's creating host (agent + data plane) removes its endpoints
//    elsewhere while the network survives, and restarting it restores
//    reachability with no manual step;
//  - the distributed IPAM in 3 agents (AgentIpamClusterTest, run as
//    agent_ipam_integration): 60 concurrent RequestAddress never duplicate,
//    a host cut off allocates its own space then fails clearly, SIGKILL and
//    restart keep allocations.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "netns/naming.h"
#include "tests/agent/agent_fixture.h"
#include "tests/plugins/http/test_client.h"

namespace ferry::agenttest {
namespace {

using nlohmann::json;
using plugins::testing::ParsedResponse;
using plugins::testing::UnixClient;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr const char* kPoolId = "FerryLocal/10.10.0.0/24";

std::string nl(const std::string& body) { return body + "\n"; }  // Docker ends each body with a newline

// 64 hex digits like Docker's IDs, distinct from the first digits on.
std::string network_id(int n) { return fmt::format("{:02x}{:062x}", n, 0xd0c4e7000000ULL); }
std::string endpoint_id(int n) { return fmt::format("{:02x}{:062x}", n, 0xe9d0000000ULL); }

std::string request_pool_body() {
  return nl(R"({"AddressSpace":"FerryLocal","Pool":"10.10.0.0/24","SubPool":"","Options":{},"V6":false})");
}
std::string gateway_request_body() {
  return nl(fmt::format(
      R"({{"PoolID":"{}","Address":"10.10.0.1","Options":{{"RequestAddressType":"com.docker.network.gateway"}}}})",
      kPoolId));
}
std::string address_request_body() {
  return nl(fmt::format(R"({{"PoolID":"{}","Address":"","Options":null}})", kPoolId));
}
std::string create_network_body(const std::string& nid) {
  return nl(fmt::format(R"({{"NetworkID":"{}","Options":{{"com.docker.network.enable_ipv6":false,)"
                        R"("com.docker.network.generic":{{"ferry.network":"blue","ferry.vni":"77"}}}},)"
                        R"("IPv4Data":[{{"AddressSpace":"FerryLocal","Gateway":"10.10.0.1/24",)"
                        R"("Pool":"10.10.0.0/24"}}],"IPv6Data":[]}})",
                        nid));
}
std::string create_endpoint_body(const std::string& nid, const std::string& eid, const std::string& cidr) {
  return nl(fmt::format(R"({{"NetworkID":"{}","EndpointID":"{}","Interface":{{"Address":"{}",)"
                        R"("AddressIPv6":"","MacAddress":""}},"Options":{{"com.docker.network.endpoint.)"
                        R"(exposedports":[],"com.docker.network.portmap":[]}}}})",
                        nid, eid, cidr));
}
std::string join_body(const std::string& nid, const std::string& eid, const std::string& sandbox) {
  return nl(
      fmt::format(R"({{"NetworkID":"{}","EndpointID":"{}","SandboxKey":"{}",)"
                  R"("Options":{{"com.docker.network.endpoint.exposedports":[],"com.docker.network.portmap":[]}}}})",
                  nid, eid, sandbox));
}
std::string endpoint_ref(const std::string& nid, const std::string& eid) {
  return nl(fmt::format(R"({{"NetworkID":"{}","EndpointID":"{}"}})", nid, eid));
}
std::string release_address_body(const std::string& ip) {
  return nl(fmt::format(R"({{"PoolID":"{}","Address":"{}"}})", kPoolId, ip));
}

struct Call {
  std::string method;
  std::string body;
  unsigned status = 200;
  std::string reply;  // exact body; empty: not checked here
};

// Docker's whole sequence for one network and one container on the host that
// creates the network: it owns the whole pool 10.10.0.0/24 at first, and
// its first allocation is the lowest address after the gateway.
std::vector<Call> docker_sequence(const std::string& nid, const std::string& eid, const std::string& sandbox) {
  const std::string ip = "10.10.0.2";
  // Docker sends no MAC: Ferry's is derived from the network and the address.
  const std::string mac = netns::derive_mac("blue", *parse_ip(ip)).to_string();
  const std::string peer = netns::derive_peer_ifname(eid);
  return {
      {"Plugin.Activate", "", 200, R"({"Implements":["NetworkDriver","IpamDriver"]})"},
      {"NetworkDriver.GetCapabilities", "", 200, R"({"ConnectivityScope":"global","Scope":"local"})"},
      {"IpamDriver.GetCapabilities", "", 200, R"({"RequiresMACAddress":false})"},
      {"IpamDriver.GetDefaultAddressSpaces", "", 200,
       R"({"GlobalDefaultAddressSpace":"FerryGlobal","LocalDefaultAddressSpace":"FerryLocal"})"},
      {"IpamDriver.RequestPool", request_pool_body(), 200,
       R"({"Data":{},"Pool":"10.10.0.0/24","PoolID":"FerryLocal/10.10.0.0/24"})"},
      {"IpamDriver.RequestAddress", gateway_request_body(), 200, R"({"Address":"10.10.0.1/24","Data":{}})"},
      {"NetworkDriver.CreateNetwork", create_network_body(nid), 200, "{}"},
      {"IpamDriver.RequestAddress", address_request_body(), 200,
       fmt::format(R"({{"Address":"{}/24","Data":{{}}}})", ip)},
      {"NetworkDriver.CreateEndpoint", create_endpoint_body(nid, eid, ip + "/24"), 200,
       fmt::format(R"({{"Interface":{{"MacAddress":"{}"}}}})", mac)},
      {"NetworkDriver.Join", join_body(nid, eid, sandbox), 200,
       fmt::format(R"({{"DisableGatewayService":false,"Gateway":"10.10.0.1","InterfaceName":{{"DstPrefix":"eth",)"
                   R"("SrcName":"{}"}}}})",
                   peer)},
      {"NetworkDriver.ProgramExternalConnectivity", join_body(nid, eid, sandbox), 200, "{}"},
      {"NetworkDriver.EndpointOperInfo", endpoint_ref(nid, eid), 200, ""},
      {"NetworkDriver.RevokeExternalConnectivity", endpoint_ref(nid, eid), 200, "{}"},
      {"NetworkDriver.Leave", endpoint_ref(nid, eid), 200, "{}"},
      {"NetworkDriver.DeleteEndpoint", endpoint_ref(nid, eid), 200, "{}"},
      {"IpamDriver.ReleaseAddress", release_address_body(ip), 200, "{}"},
      {"NetworkDriver.DeleteNetwork", nl(fmt::format(R"({{"NetworkID":"{}"}})", nid)), 200, "{}"},
      {"IpamDriver.ReleaseAddress", release_address_body("10.10.0.1"), 200, "{}"},
      {"IpamDriver.ReleasePool", nl(fmt::format(R"({{"PoolID":"{}"}})", kPoolId)), 200, "{}"},
  };
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class AgentPluginTest : public AgentTest {
 protected:
  AgentPluginTest() { plugin_ = true; }

  // Up when Docker's first call is answered.
  bool agent_ready(int host) override {
    UnixClient c;
    if (!c.connect(plugin_socket(host))) return false;
    auto r = c.post("/Plugin.Activate", "");
    return r && r->status == 200;
  }

  // One call on a fresh connection (an agent restart closes old ones).
  ParsedResponse post(int host, const std::string& method, const std::string& body) {
    UnixClient c;
    EXPECT_TRUE(c.connect(plugin_socket(host))) << "host " << host << " plugin socket";
    auto r = c.post(fmt::format("/{}", method), body);
    EXPECT_TRUE(r) << method << " on host " << host << ": no response";
    if (!r) return {};
    EXPECT_EQ(r->headers["content-type"], "application/vnd.docker.plugins.v1.2+json") << method;
    return *r;
  }

  json post_ok(int host, const std::string& method, const std::string& body) {
    const ParsedResponse r = post(host, method, body);
    EXPECT_EQ(r.status, 200U) << method << " on host " << host << ": " << r.body;
    auto j = json::parse(r.body, nullptr, false);
    return j.is_discarded() ? json() : j;
  }

  void expect_call(int host, const Call& call) {
    const ParsedResponse r = post(host, call.method, call.body);
    EXPECT_EQ(r.status, call.status) << call.method << ": " << r.body;
    if (!call.reply.empty()) {
      EXPECT_EQ(r.body, call.reply) << call.method;
    }
  }

  bool link_exists(int host, const std::string& ifname) {
    auto r = topo_->exec(topo_->host(host), {"ip", "link", "show", ifname});
    return r && r->succeeded();
  }
};

TEST_F(AgentPluginTest, DockerContractAndBadInput) {
  ASSERT_NO_FATAL_FAILURE(start_dataplane(1));
  ASSERT_NO_FATAL_FAILURE(start_agent(1));
  struct stat sock {};
  ASSERT_EQ(::stat(plugin_socket(1).c_str(), &sock), 0);
  EXPECT_TRUE(S_ISSOCK(sock.st_mode));
  EXPECT_EQ(sock.st_mode & 0777, 0660U);

  const std::string nid = network_id(1), eid = endpoint_id(1);
  const std::string host_if = netns::derive_host_ifname(eid), peer_if = netns::derive_peer_ifname(eid);
  const std::vector<Call> seq = docker_sequence(nid, eid, "/var/run/docker/netns/c0ffee");
  std::size_t i = 0;
  for (; seq[i].method != "NetworkDriver.ProgramExternalConnectivity"; ++i) expect_call(1, seq[i]);
  ASSERT_FALSE(HasFailure());

  // Joined: the veth pair exists in the host, the network is in the cluster,
  // the host side is a data-plane port.
  EXPECT_TRUE(link_exists(1, host_if));
  EXPECT_TRUE(link_exists(1, peer_if));
  EXPECT_TRUE(has_network(1, "blue"));
  EXPECT_TRUE(harness::wait_until(
      [&] {
        const json oper = post_ok(1, "NetworkDriver.EndpointOperInfo", endpoint_ref(nid, eid));
        return oper.is_object() && oper.contains("Value") && oper["Value"].value("ferry.port", "") == "programmed";
      },
      seconds(5), milliseconds(50)));
  EXPECT_NE(ctl(1, {"show"}).output.find(host_if), std::string::npos) << ctl(1, {"show"}).output;
  // `ferryctl endpoints` names Docker as its owner, with the network's short
  // ID, in JSON and in the table's OWNER column.
  const json eps = agent_json(1, {"endpoints"});
  ASSERT_TRUE(eps.is_array() && eps.size() == 1) << eps.dump();
  const std::string ep_name = eps[0].value("name", "");
  EXPECT_EQ(eps[0].value("owner", ""), "docker:" + nid.substr(0, 12)) << eps.dump();
  EXPECT_EQ(agent_table_column(1, "endpoints", "OWNER"),
            (std::map<std::string, std::string>{{ep_name, "docker:" + nid.substr(0, 12)}}))
      << agent_ctl(1, {"endpoints"}).output;
  const json info = post_ok(1, "NetworkDriver.EndpointOperInfo", endpoint_ref(nid, eid));
  ASSERT_TRUE(info.is_object() && info.contains("Value")) << info.dump();
  EXPECT_EQ(info["Value"].value("ferry.ip", ""), "10.10.0.2/24") << info.dump();
  EXPECT_EQ(info["Value"].value("ferry.vni", ""), "77") << info.dump();

  // Bad input through the agent: refused with {"Err"}, nothing changes, the agent keeps serving.
  const std::string state_before = read_text(state_dir(1) + "/state.json");
  const std::string huge = "{\"NetworkID\":\"" + std::string(1 << 20, 'a') + "\"}";
  struct Bad {
    const char* method;
    std::string body;
    unsigned status;
    const char* err;  // a piece of the message
  };
  const std::vector<Bad> bad{
      {"NetworkDriver.CreateNetwork", "{\"NetworkID\":", 500, "malformed JSON body"},
      {"NetworkDriver.CreateNetwork", R"({"NetworkID":42,"IPv4Data":[]})", 500, "NetworkID"},
      {"NetworkDriver.CreateNetwork", create_network_body(nid), 500, "already exists"},
      {"NetworkDriver.CreateNetwork",
       nl(fmt::format(R"({{"NetworkID":"{}","Options":{{"com.docker.network.generic":{{"ferry.network":"red",)"
                      R"("ferry.vni":"77"}}}},"IPv4Data":[{{"AddressSpace":"FerryLocal","Pool":"10.11.0.0/24"}}]}})",
                      network_id(2))),
       500, "VNI 77 is already used by network blue"},
      {"NetworkDriver.CreateNetwork",
       nl(fmt::format(R"({{"NetworkID":"{}","Options":{{"com.docker.network.generic":{{"ferry.network":"blue"}}}},)"
                      R"("IPv4Data":[{{"AddressSpace":"FerryLocal","Pool":"10.12.0.0/24"}}]}})",
                      network_id(3))),
       500, "network blue has subnet 10.10.0.0/24, not 10.12.0.0/24"},
      {"NetworkDriver.CreateNetwork",
       nl(fmt::format(R"({{"NetworkID":"{}","Options":{{}},"IPv4Data":[{{"AddressSpace":"FerryLocal",)"
                      R"("Pool":"10.13.0.0/24"}}]}})",
                      network_id(4))),
       500, "ferry.network=NAME"},
      {"NetworkDriver.CreateEndpoint", create_endpoint_body(nid, eid, "10.10.0.2/24"), 500, "already exists"},
      {"NetworkDriver.CreateEndpoint", create_endpoint_body(network_id(9), endpoint_id(9), "10.10.0.40/24"), 500,
       "unknown network"},
      {"NetworkDriver.CreateEndpoint", create_endpoint_body(nid, endpoint_id(9), "10.10.0.2/24"), 500, "already used"},
      {"NetworkDriver.Join", join_body(nid, endpoint_id(9), "/var/run/docker/netns/x"), 500, "unknown endpoint"},
      {"NetworkDriver.Join", join_body(nid, eid, "/var/run/docker/netns/other"), 500, "already joined"},
      {"NetworkDriver.Leave", endpoint_ref(nid, endpoint_id(9)), 500, "unknown endpoint"},
      {"NetworkDriver.DeleteEndpoint", endpoint_ref(network_id(9), eid), 500, "unknown endpoint"},
      {"NetworkDriver.DeleteNetwork", nl(fmt::format(R"({{"NetworkID":"{}"}})", nid)), 500, "still has endpoint"},
      {"NetworkDriver.DeleteNetwork", nl(fmt::format(R"({{"NetworkID":"{}"}})", network_id(9))), 500,
       "unknown network"},
      {"IpamDriver.RequestPool", R"({"AddressSpace":"FerryLocal","Pool":"","SubPool":"","V6":false})", 500,
       "no IPv4 subnet given"},
      {"IpamDriver.RequestPool", R"({"AddressSpace":"Other","Pool":"10.10.0.0/24","SubPool":"","V6":false})", 500,
       "unknown address space"},
      {"IpamDriver.RequestPool", R"({"AddressSpace":"FerryLocal","Pool":[],"SubPool":"","V6":false})", 500, "Pool"},
      // Overlapping another local pool in use here, as Docker's own IPAM words it.
      {"IpamDriver.RequestPool", R"({"AddressSpace":"FerryLocal","Pool":"10.10.0.0/16","SubPool":"","V6":false})", 500,
       "Pool overlaps with other one on this address space (10.10.0.0/16 overlaps 10.10.0.0/24)"},
      {"IpamDriver.RequestPool", R"({"AddressSpace":"FerryLocal","Pool":"10.10.0.128/25","SubPool":"","V6":false})",
       500, "Pool overlaps with other one on this address space"},
      {"IpamDriver.RequestAddress", R"({"PoolID":"FerryLocal/10.99.0.0/24","Address":"","Options":null})", 500,
       "unknown pool"},
      {"IpamDriver.RequestAddress",
       nl(fmt::format(R"({{"PoolID":"{}","Address":"10.10.0.2","Options":null}})", kPoolId)), 500, "in use"},
      {"IpamDriver.RequestAddress",
       nl(fmt::format(R"({{"PoolID":"{}","Address":"10.10.0.9","Options":{{"RequestAddressType":)"
                      R"("com.docker.network.gateway"}}}})",
                      kPoolId)),
       500, "gateway 10.10.0.9 refused"},
      {"IpamDriver.ReleaseAddress", release_address_body("10.10.0.99"), 500, "not allocated"},
      {"IpamDriver.ReleasePool", R"({"PoolID":"FerryLocal/10.98.0.0/24"})", 500, "unknown pool"},
      {"NetworkDriver.CreateNetwork", huge, 413, ""},
      {"NetworkDriver.Nonsense", "{}", 404, "unknown method"},
  };
  for (const Bad& b : bad) {
    ParsedResponse r;
    if (b.status == 413) {
      // The agent answers as soon as it sees Content-Length and closes; the
      // rest of the body may not even be sent.
      UnixClient c;
      ASSERT_TRUE(c.connect(plugin_socket(1)));
      c.send(plugins::testing::docker_request(fmt::format("/{}", b.method), b.body));
      auto got = c.read_response();
      ASSERT_TRUE(got) << "no 413";
      r = *got;
    } else {
      r = post(1, b.method, b.body);
    }
    EXPECT_EQ(r.status, b.status) << b.method << " " << b.body.substr(0, 200) << " -> " << r.body;
    EXPECT_NE(r.body.find("\"Err\""), std::string::npos) << b.method << ": " << r.body;
    EXPECT_NE(r.body.find(b.err), std::string::npos) << b.method << ": " << r.body;
    // Docker's client prefixes the method itself; the reply must not repeat it.
    const std::string method(b.method);
    const std::string short_method = method.substr(method.find('.') + 1);
    EXPECT_EQ(r.body.find("\"" + short_method + ": "), std::string::npos) << r.body;
  }
  EXPECT_EQ(read_text(state_dir(1) + "/state.json"), state_before) << "bad input changed the state";
  EXPECT_TRUE(agents_[1]->running());
  // A retried Join with the same sandbox is answered the same way.
  expect_call(1, seq[9]);

  for (; i < seq.size(); ++i) expect_call(1, seq[i]);
  // Everything Docker asked for is undone: no veth, no port, no endpoint, no pool.
  EXPECT_FALSE(link_exists(1, host_if));
  EXPECT_TRUE(harness::wait_until([&] { return ctl(1, {"show"}).output.find(host_if) == std::string::npos; },
                                  seconds(5), milliseconds(50)));
  const json state = json::parse(read_text(state_dir(1) + "/state.json"), nullptr, false);
  ASSERT_TRUE(state.is_object());
  EXPECT_TRUE(state["endpoints"].empty()) << state.dump();
  EXPECT_TRUE(state["pools"].empty()) << state.dump();
  EXPECT_TRUE(state["docker_networks"].empty()) << state.dump();
}

// `docker network create --ipv6 --subnet 10.20.0.0/24 --subnet fd00:78::/64`,
// then a container in it and its removal: both families through the IPAM
// driver, both addresses on the endpoint, both gateways in the Join reply.
TEST_F(AgentPluginTest, DualStackNetworkAsDockerCreatesIt) {
  ASSERT_NO_FATAL_FAILURE(start_dataplane(1));
  ASSERT_NO_FATAL_FAILURE(start_agent(1));
  const std::string nid = network_id(6), eid = endpoint_id(6);
  const std::string pool4 = "FerryLocal/10.20.0.0/24", pool6 = "FerryLocal/fd00:78::/64";
  const std::string mac = netns::derive_mac("green", *parse_ip("10.20.0.2")).to_string();
  auto address_request = [](const std::string& pool, const std::string& address, bool gateway) {
    return nl(fmt::format(R"({{"PoolID":"{}","Address":"{}","Options":{}}})", pool, address,
                          gateway ? R"({"RequestAddressType":"com.docker.network.gateway"})" : "null"));
  };
  auto release = [](const std::string& pool, const std::string& address) {
    return nl(fmt::format(R"({{"PoolID":"{}","Address":"{}"}})", pool, address));
  };
  const std::string create_network = nl(
      fmt::format(R"({{"NetworkID":"{}","Options":{{"com.docker.network.enable_ipv6":true,)"
                  R"("com.docker.network.generic":{{"ferry.network":"green","ferry.vni":"78"}}}},)"
                  R"("IPv4Data":[{{"AddressSpace":"FerryLocal","Gateway":"10.20.0.1/24","Pool":"10.20.0.0/24"}}],)"
                  R"("IPv6Data":[{{"AddressSpace":"FerryLocal","Gateway":"fd00:78::1/64","Pool":"fd00:78::/64"}}]}})",
                  nid));
  const std::string create_endpoint =
      nl(fmt::format(R"({{"NetworkID":"{}","EndpointID":"{}","Interface":{{"Address":"10.20.0.2/24",)"
                     R"("AddressIPv6":"fd00:78::2/64","MacAddress":""}},"Options":{{}}}})",
                     nid, eid));
  const std::string sandbox = "/var/run/docker/netns/d5a1";
  const std::vector<Call> up{
      {"IpamDriver.RequestPool",
       nl(R"({"AddressSpace":"FerryLocal","Pool":"10.20.0.0/24","SubPool":"","Options":{},"V6":false})"), 200,
       R"({"Data":{},"Pool":"10.20.0.0/24","PoolID":"FerryLocal/10.20.0.0/24"})"},
      {"IpamDriver.RequestPool",
       nl(R"({"AddressSpace":"FerryLocal","Pool":"fd00:78::/64","SubPool":"","Options":{},"V6":true})"), 200,
       R"({"Data":{},"Pool":"fd00:78::/64","PoolID":"FerryLocal/fd00:78::/64"})"},
      {"IpamDriver.RequestAddress", address_request(pool4, "10.20.0.1", true), 200,
       R"({"Address":"10.20.0.1/24","Data":{}})"},
      {"IpamDriver.RequestAddress", address_request(pool6, "fd00:78::1", true), 200,
       R"({"Address":"fd00:78::1/64","Data":{}})"},
      {"NetworkDriver.CreateNetwork", create_network, 200, "{}"},
      {"IpamDriver.RequestAddress", address_request(pool4, "", false), 200, R"({"Address":"10.20.0.2/24","Data":{}})"},
      {"IpamDriver.RequestAddress", address_request(pool6, "", false), 200, R"({"Address":"fd00:78::2/64","Data":{}})"},
      {"NetworkDriver.CreateEndpoint", create_endpoint, 200,
       fmt::format(R"({{"Interface":{{"MacAddress":"{}"}}}})", mac)},
      {"NetworkDriver.Join", join_body(nid, eid, sandbox), 200,
       fmt::format(R"({{"DisableGatewayService":false,"Gateway":"10.20.0.1","GatewayIPv6":"fd00:78::1",)"
                   R"("InterfaceName":{{"DstPrefix":"eth","SrcName":"{}"}}}})",
                   netns::derive_peer_ifname(eid))},
  };
  for (const Call& c : up) expect_call(1, c);
  ASSERT_FALSE(HasFailure());
  const json info = post_ok(1, "NetworkDriver.EndpointOperInfo", endpoint_ref(nid, eid));
  ASSERT_TRUE(info.is_object() && info.contains("Value")) << info.dump();
  EXPECT_EQ(info["Value"].value("ferry.ip6", ""), "fd00:78::2/64") << info.dump();
  const json nets = agent_json(1, {"networks"});
  ASSERT_TRUE(nets.is_array() && nets.size() == 1) << nets.dump();
  EXPECT_EQ(nets[0].value("subnet6", ""), "fd00:78::/64");
  // Both addresses reach the data plane's port.
  EXPECT_TRUE(harness::wait_until([&] { return ctl(1, {"show"}).output.find("fd00:78::2") != std::string::npos; },
                                  seconds(5), milliseconds(50)))
      << ctl(1, {"show"}).output;

  const std::string state_before = read_text(state_dir(1) + "/state.json");
  struct Bad {
    const char* method;
    std::string body;
    const char* err;
  };
  const std::vector<Bad> bad{
      {"IpamDriver.RequestPool", R"({"AddressSpace":"FerryLocal","Pool":"10.21.0.0/24","SubPool":"","V6":true})",
       "is not an IPv6 prefix"},
      {"IpamDriver.RequestPool", R"({"AddressSpace":"FerryLocal","Pool":"fd00:79::/127","SubPool":"","V6":true})",
       "48..126"},
      {"IpamDriver.RequestPool", R"({"AddressSpace":"FerryLocal","Pool":"","SubPool":"","V6":true})",
       "no IPv6 subnet given"},
      {"IpamDriver.RequestAddress", address_request(pool6, "10.20.0.7", false), "not an IPv6 address"},
      {"IpamDriver.RequestAddress", address_request(pool6, "fd00:78::2", false), "in use"},
      {"IpamDriver.RequestAddress", address_request(pool6, "fd00:78::5", true), "gateway fd00:78::5 refused"},
      {"NetworkDriver.CreateEndpoint",
       nl(fmt::format(R"({{"NetworkID":"{}","EndpointID":"{}","Interface":{{"Address":"10.20.0.9/24",)"
                      R"("AddressIPv6":"fd00:99::9/64","MacAddress":""}},"Options":{{}}}})",
                      nid, endpoint_id(7))),
       "not in network green's subnet fd00:78::/64"},
      {"NetworkDriver.CreateNetwork",
       nl(fmt::format(R"({{"NetworkID":"{}","Options":{{"com.docker.network.enable_ipv6":true,)"
                      R"("com.docker.network.generic":{{"ferry.network":"green"}}}},)"
                      R"("IPv4Data":[{{"AddressSpace":"FerryLocal","Pool":"10.20.0.0/24"}}],)"
                      R"("IPv6Data":[{{"AddressSpace":"FerryLocal","Pool":"fd00:80::/64"}}]}})",
                      network_id(7))),
       "not IPv6 subnet fd00:80::/64"},
      {"NetworkDriver.CreateNetwork",
       nl(fmt::format(R"({{"NetworkID":"{}","Options":{{"com.docker.network.enable_ipv6":true,)"
                      R"("com.docker.network.generic":{{"ferry.network":"azure"}}}},)"
                      R"("IPv4Data":[{{"AddressSpace":"FerryLocal","Pool":"10.22.0.0/24"}}],"IPv6Data":[]}})",
                      network_id(8))),
       "IPv6 enabled without an IPv6 subnet"},
  };
  for (const Bad& b : bad) {
    const ParsedResponse r = post(1, b.method, b.body);
    EXPECT_EQ(r.status, 500U) << b.method << " " << b.body << " -> " << r.body;
    EXPECT_NE(r.body.find(b.err), std::string::npos) << b.method << ": " << r.body;
    // Docker's client prefixes the method itself; the reply must not repeat it.
    const std::string method(b.method);
    const std::string short_method = method.substr(method.find('.') + 1);
    EXPECT_EQ(r.body.find("\"" + short_method + ": "), std::string::npos) << r.body;
  }
  EXPECT_EQ(read_text(state_dir(1) + "/state.json"), state_before) << "bad input changed the state";

  const std::vector<Call> down{
      {"NetworkDriver.Leave", endpoint_ref(nid, eid), 200, "{}"},
      {"NetworkDriver.DeleteEndpoint", endpoint_ref(nid, eid), 200, "{}"},
      {"IpamDriver.ReleaseAddress", release(pool4, "10.20.0.2"), 200, "{}"},
      {"IpamDriver.ReleaseAddress", release(pool6, "fd00:78::2"), 200, "{}"},
      {"NetworkDriver.DeleteNetwork", nl(fmt::format(R"({{"NetworkID":"{}"}})", nid)), 200, "{}"},
      {"IpamDriver.ReleaseAddress", release(pool4, "10.20.0.1"), 200, "{}"},
      {"IpamDriver.ReleaseAddress", release(pool6, "fd00:78::1"), 200, "{}"},
      {"IpamDriver.ReleasePool", nl(fmt::format(R"({{"PoolID":"{}"}})", pool4)), 200, "{}"},
      {"IpamDriver.ReleasePool", nl(fmt::format(R"({{"PoolID":"{}"}})", pool6)), 200, "{}"},
  };
  for (const Call& c : down) expect_call(1, c);
  const json ipam = agent_json(1, {"ipam"});
  ASSERT_TRUE(ipam.is_object()) << ipam.dump();
  for (const auto& p : ipam["pools"]) EXPECT_EQ(p.value("allocated", 1), 0) << p.dump();
  const json state = json::parse(read_text(state_dir(1) + "/state.json"), nullptr, false);
  ASSERT_TRUE(state.is_object());
  EXPECT_TRUE(state["endpoints"].empty()) << state.dump();
  EXPECT_TRUE(state["pools"].empty()) << state.dump();
}

// An address Docker reserved but never used (the RequestAddress reply was
// lost: Docker timed out, or dockerd died before CreateEndpoint) is released
// after --docker-claim-ms; an address an endpoint uses stays, and so does
// the gateway.
TEST_F(AgentPluginTest, UnclaimedDockerReservationIsReleased) {
  ASSERT_NO_FATAL_FAILURE(start_dataplane(1));
  agent_args_ = {"--docker-claim-ms", "1500"};
  ASSERT_NO_FATAL_FAILURE(start_agent(1));
  const std::string nid = network_id(8);
  auto request = [](const std::string& address) {
    return nl(fmt::format(R"({{"PoolID":"{}","Address":"{}","Options":null}})", kPoolId, address));
  };
  // Before the network exists, Docker's aux addresses (--aux-address) would
  // come: refused, saying so.
  const ParsedResponse aux = post(1, "IpamDriver.RequestAddress", request("10.10.0.200"));
  EXPECT_EQ(aux.status, 500U);
  EXPECT_EQ(aux.body.find("no Docker network"), std::string::npos) << aux.body;  // pool not requested yet
  expect_call(1, {"IpamDriver.RequestPool", request_pool_body(), 200, ""});
  const ParsedResponse aux2 = post(1, "IpamDriver.RequestAddress", request("10.10.0.200"));
  EXPECT_EQ(aux2.status, 500U);
  EXPECT_NE(aux2.body.find("--aux-address"), std::string::npos) << aux2.body;
  expect_call(1, {"IpamDriver.RequestAddress", gateway_request_body(), 200, ""});
  expect_call(1, {"NetworkDriver.CreateNetwork", create_network_body(nid), 200, "{}"});
  expect_call(1, {"IpamDriver.RequestAddress", request(""), 200, R"({"Address":"10.10.0.2/24","Data":{}})"});
  expect_call(1, {"IpamDriver.RequestAddress", request(""), 200, R"({"Address":"10.10.0.3/24","Data":{}})"});
  expect_call(1, {"NetworkDriver.CreateEndpoint", create_endpoint_body(nid, endpoint_id(8), "10.10.0.2/24"), 200, ""});
  ASSERT_FALSE(HasFailure());
  // 10.10.0.3's reply "got lost": nothing uses it.
  auto reserved = [&] {
    const json state = json::parse(read_text(state_dir(1) + "/state.json"), nullptr, false);
    return state.is_object() ? state["pools"][0]["addresses"] : json();
  };
  EXPECT_TRUE(harness::wait_until([&] { return reserved() == json({"10.10.0.2"}); }, seconds(6), milliseconds(100)))
      << reserved().dump();
  const json ipam = agent_json(1, {"ipam"});
  ASSERT_TRUE(ipam.is_object()) << ipam.dump();
  EXPECT_EQ(ipam["pools"][0].value("allocated", 0), 1) << ipam.dump();
  // The address is free again: the next request gets it.
  expect_call(1, {"IpamDriver.RequestAddress", request(""), 200, R"({"Address":"10.10.0.3/24","Data":{}})"});
  EXPECT_NE(agents_[1]->log().find("no endpoint used it"), std::string::npos);
}

TEST_F(AgentPluginTest, SigkillBetweenAnyTwoCallsLosesNothing) {
  ASSERT_NO_FATAL_FAILURE(start_dataplane(1));
  const std::string nid = network_id(5), eid = endpoint_id(5);
  const std::vector<Call> seq = docker_sequence(nid, eid, "/var/run/docker/netns/k1ll");
  // Kill points: after call k (1..n-1); a fresh agent and state for each.
  for (std::size_t k = 1; k < seq.size(); ++k) {
    SCOPED_TRACE(fmt::format("SIGKILL after {}", seq[k - 1].method));
    state_suffix_ = fmt::format("-k{}", k);
    ASSERT_NO_FATAL_FAILURE(start_agent(1));
    for (std::size_t i = 0; i < k; ++i) expect_call(1, seq[i]);
    const std::string state_before = read_text(state_dir(1) + "/state.json");
    kill_agent(1);
    ASSERT_NO_FATAL_FAILURE(start_agent(1));
    EXPECT_EQ(read_text(state_dir(1) + "/state.json"), state_before);
    // The same endpoint with the same address and MAC, if it existed.
    if (k > 8 && k < 15) {
      const json eps = agent_json(1, {"endpoints"});
      ASSERT_TRUE(eps.is_array() && eps.size() == 1) << eps.dump();
      EXPECT_EQ(eps[0].value("ip", ""), "10.10.0.2/24");
      EXPECT_EQ(eps[0].value("id", ""), eid);
    }
    for (std::size_t i = k; i < seq.size(); ++i) expect_call(1, seq[i]);
    EXPECT_FALSE(link_exists(1, netns::derive_host_ifname(eid)));
    kill_agent(1);
    ASSERT_FALSE(HasFailure());
  }
}

// A ferry-dataplane that hangs: its API socket accepts connections and never
// answers (the connections are held open, unread). The socket file goes
// with it.
class HungApi {
 public:
  explicit HungApi(std::string path) : path_(std::move(path)) {
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (listen_fd_ < 0 || path_.size() >= sizeof addr.sun_path) return;
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    ::unlink(path_.c_str());
    if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 64) != 0) {
      return;
    }
    listening_ = true;
    thread_ = std::thread([this] { hold(); });
  }
  ~HungApi() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    for (int fd : held_) ::close(fd);
    if (listen_fd_ >= 0) ::close(listen_fd_);
    ::unlink(path_.c_str());
  }
  HungApi(const HungApi&) = delete;
  HungApi& operator=(const HungApi&) = delete;

  [[nodiscard]] bool listening() const { return listening_; }
  [[nodiscard]] int accepted() const { return accepted_.load(); }

 private:
  void hold() {
    while (!stop_.load()) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) != 1) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      held_.push_back(fd);
      ++accepted_;
    }
  }

  std::string path_;
  int listen_fd_ = -1;
  bool listening_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::vector<int> held_;  // the hold thread's until it is joined
  std::thread thread_;
};

// The data plane hangs (accepts, never answers) and a data-plane call may
// take 30 s (--dataplane-timeout-ms): the health checks wait that long, the
// agent's loop must not. Calls through the loop are answered while a health
// check is out (each within 10 s, a third of one data-plane call, however
// busy the machine), and the agent reports the data plane down.
TEST_F(AgentPluginTest, LoopStaysResponsiveWhileTheDataPlaneHangs) {
  const std::string endpoint = api(1);  // ipc://PATH; no ferry-dataplane on this host
  HungApi hung(endpoint.substr(std::string_view("ipc://").size()));
  ASSERT_TRUE(hung.listening()) << endpoint;
  agent_args_ = {"--dataplane-timeout-ms", "30000"};
  ASSERT_NO_FATAL_FAILURE(start_agent(1));
  ASSERT_TRUE(harness::wait_until([&] { return hung.accepted() > 0; }, seconds(10), milliseconds(20)))
      << "no health check reached the hung data plane";
  milliseconds slowest{0};
  for (int i = 0; i < 20; ++i) {
    const auto t0 = Clock::now();
    UnixClient c;
    ASSERT_TRUE(c.connect(plugin_socket(1)));
    ASSERT_TRUE(
        c.send(plugins::testing::docker_request("/IpamDriver.ReleasePool", R"({"PoolID":"FerryLocal/10.1.0.0/24"})")));
    const auto r = c.read_response(seconds(10));
    ASSERT_TRUE(r) << "call " << i << " not answered within 10 s while a health check waits on the hung data plane";
    EXPECT_EQ(r->status, 500U);
    EXPECT_NE(r->body.find("unknown pool"), std::string::npos) << r->body;
    slowest = std::max(slowest, std::chrono::duration_cast<milliseconds>(Clock::now() - t0));
  }
  std::cout << "20 calls through the loop with the data plane hung, slowest " << slowest.count() << " ms\n";
  auto st = harness::run_command({FERRY_CTL_BIN, "status", "--socket", admin_socket(1)}, seconds(10));
  ASSERT_TRUE(st && st->succeeded());
  const json status = json::parse(st->output, nullptr, false);
  ASSERT_TRUE(status.is_object() && status.contains("dataplane")) << st->output;
  EXPECT_FALSE(status["dataplane"].value("up", true)) << st->output;
}

struct Wired {
  std::string ns;
  std::string ip;
  std::string eid;
  int host = 0;
};

class AgentPluginClusterTest : public AgentPluginTest {
 protected:
  AgentPluginClusterTest() { hosts_ = 3; }
};

TEST_F(AgentPluginClusterTest, ThreeHostsAsDockerWouldDriveThem) {
  for (int h = 1; h <= 3; ++h) ASSERT_NO_FATAL_FAILURE(start_dataplane(h));
  for (int h = 1; h <= 3; ++h) ASSERT_NO_FATAL_FAILURE(start_agent(h));

  // `docker network create -d ferry --ipam-driver ferry --subnet 10.10.0.0/24 -o ferry.network=blue -o
  // ferry.vni=77 blue` on every host (each host's Docker has its own network ID).
  // Host 1 first, so it creates the cluster network (and its record is host
  // 1's); hosts 2 and 3 bind to it.
  for (int h = 1; h <= 3; ++h) {
    for (std::size_t i = 0; i < 7; ++i) expect_call(h, docker_sequence(network_id(h), "x", "")[i]);
    for (int o = 1; o <= 3; ++o) {
      EXPECT_TRUE(harness::wait_until([&] { return has_network(o, "blue"); }, seconds(10), milliseconds(50)));
    }
  }

  // Two containers per host, wired as Docker does after Join.
  std::vector<Wired> eps;
  Clock::time_point last_join;
  for (int h = 1; h <= 3; ++h) {
    for (int c = 0; c < 2; ++c) {
      Wired w;
      w.host = h;
      w.eid = endpoint_id(10 * h + c);
      auto ns = topo_->add_container(fmt::format("d{}{}", h, c));
      ASSERT_TRUE(ns) << ns.error().message;
      w.ns = *ns;
      const json addr = post_ok(h, "IpamDriver.RequestAddress", address_request_body());
      const std::string cidr = addr.value("Address", "");
      ASSERT_FALSE(cidr.empty()) << addr.dump();
      w.ip = cidr.substr(0, cidr.find('/'));
      post_ok(h, "NetworkDriver.CreateEndpoint", create_endpoint_body(network_id(h), w.eid, cidr));
      const json join = post_ok(h, "NetworkDriver.Join", join_body(network_id(h), w.eid, harness::netns_path(w.ns)));
      last_join = Clock::now();
      ASSERT_TRUE(join.is_object() && join.contains("InterfaceName")) << join.dump();
      const std::string src = join["InterfaceName"].value("SrcName", "");
      const std::string gw = join.value("Gateway", "");
      ASSERT_FALSE(src.empty()) << join.dump();
      EXPECT_EQ(gw, "10.10.0.1");
      auto moved = topo_->exec(topo_->host(h), {"ip", "link", "set", src, "netns", w.ns});
      ASSERT_TRUE(moved && moved->succeeded()) << (moved ? moved->output : moved.error().message);
      for (const std::vector<std::string>& cmd :
           {std::vector<std::string>{"ip", "link", "set", src, "name", "eth0"},
            std::vector<std::string>{"ip", "addr", "add", cidr, "dev", "eth0"},
            std::vector<std::string>{"ip", "link", "set", "eth0", "up"},
            std::vector<std::string>{"ip", "route", "add", "default", "via", gw}}) {
        auto r = topo_->exec(w.ns, cmd);
        ASSERT_TRUE(r && r->succeeded()) << cmd.front() << " " << cmd[1] << " " << cmd[2] << ": "
                                         << (r ? r->output : r.error().message);
      }
      eps.push_back(w);
    }
  }
  std::set<std::string> ips;
  for (const auto& w : eps) ips.insert(w.ip);
  EXPECT_EQ(ips.size(), eps.size()) << "duplicate addresses";

  const auto all_pairs = [&](const std::vector<Wired>& set, Clock::time_point deadline) {
    bool all = true;
    for (const auto& from : set) {
      for (const auto& to : set) {
        if (from.ns == to.ns) continue;
        const auto left =
            std::max(milliseconds(300), std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
        auto r = topo_->ping(from.ns, to.ip, left);
        EXPECT_TRUE(r) << from.ns << " -> " << to.ip << ": " << r.error().message;
        all = all && r.has_value();
      }
    }
    return all;
  };
  // Every pair answers, within a deadline that allows for a busy machine
  // (the time it took is printed; speed belongs in bench/).
  ASSERT_TRUE(all_pairs(eps, last_join + seconds(30)));
  const auto all_ok = std::chrono::duration_cast<milliseconds>(Clock::now() - last_join);
  std::cout << "last Join -> all 30 pairs pinged: " << all_ok.count() << " ms\n";

  // Leave (docker rm) of host 3's second container: unreachable everywhere.
  const Wired gone = eps.back();
  eps.pop_back();
  post_ok(3, "NetworkDriver.Leave", endpoint_ref(network_id(3), gone.eid));
  post_ok(3, "NetworkDriver.DeleteEndpoint", endpoint_ref(network_id(3), gone.eid));
  post_ok(3, "IpamDriver.ReleaseAddress", release_address_body(gone.ip));
  for (int h = 1; h <= 2; ++h) {
    EXPECT_TRUE(harness::wait_until([&] { return peer_count(h) == 3; }, seconds(10), milliseconds(50)))
        << agent_ctl(h, {"peers"}).output;
  }
  for (const auto& from : eps) {
    auto r = topo_->exec(from.ns, {"ping", "-n", "-c", "1", "-W", "1", gone.ip});
    ASSERT_TRUE(r);
    EXPECT_NE(r->exit_code, 0) << from.ns << " still reaches " << gone.ip;
  }

  // SIGKILL of host 1 (agent + data plane): it created network blue. Its
  // endpoints leave the other hosts within the detection bound (suspicion +
  // --owner-grace-ms 2000); the network stays, kept alive by hosts 2 and 3.
  const auto killed_at = Clock::now();
  kill_agent(1);
  ::kill(-dataplanes_[1]->pid(), SIGKILL);
  dataplanes_[1]->stop();
  dataplanes_.erase(1);
  for (int h = 2; h <= 3; ++h) {
    EXPECT_TRUE(
        harness::wait_until([&] { return peer_count(h) == (h == 2 ? 1U : 2U); }, seconds(20), milliseconds(100)))
        << agent_ctl(h, {"peers"}).output;
  }
  std::cout << "SIGKILL of host 1 -> its endpoints gone elsewhere: "
            << std::chrono::duration_cast<milliseconds>(Clock::now() - killed_at).count() << " ms\n";
  std::vector<Wired> rest(eps.begin() + 2, eps.end());
  for (int h = 2; h <= 3; ++h) EXPECT_TRUE(has_network(h, "blue")) << agent_ctl(h, {"networks"}).output;
  EXPECT_TRUE(agents_[2]->log().find("this host keeps it alive") != std::string::npos ||
              agents_[3]->log().find("this host keeps it alive") != std::string::npos)
      << "network blue's record was not re-asserted after its creator died";
  EXPECT_TRUE(all_pairs(rest, Clock::now() + seconds(3)));

  // Restart host 1 as it was: reachability comes back with no manual step.
  ASSERT_NO_FATAL_FAILURE(start_dataplane(1));
  ASSERT_NO_FATAL_FAILURE(start_agent(1));
  const auto restarted = Clock::now();
  EXPECT_TRUE(all_pairs(eps, Clock::now() + seconds(15)));
  std::cout << "host 1 restarted -> all pairs ping again: "
            << std::chrono::duration_cast<milliseconds>(Clock::now() - restarted).count() << " ms\n";
}

// The distributed IPAM across 3 real agents (control/ipam inside
// ferry-agent): no data plane needed, addresses only. Host 1 creates the
// network, so it owns the whole pool at first; hosts 2 and 3 get space by
// donation.
class AgentIpamClusterTest : public AgentPluginTest {
 protected:
  AgentIpamClusterTest() { hosts_ = 3; }

  // RequestAddress with a wait long enough for a failed donation round.
  ParsedResponse request_address(int host) {
    UnixClient c;
    if (!c.connect(plugin_socket(host))) return {};
    c.send(plugins::testing::docker_request("/IpamDriver.RequestAddress", address_request_body()));
    auto r = c.read_response(seconds(15));
    return r ? *r : ParsedResponse{};
  }

  static std::string address_of(const ParsedResponse& r) {
    const json j = json::parse(r.body, nullptr, false);
    if (r.status != 200 || !j.is_object()) return "";
    const std::string cidr = j.value("Address", "");
    return cidr.substr(0, cidr.find('/'));
  }

  json ipam_pool(int host) {
    const json j = agent_json(host, {"ipam"});
    if (!j.is_object() || !j.contains("pools")) return json();
    for (const auto& p : j["pools"]) {
      if (p.value("network", "") == "blue") return p;
    }
    return json();
  }

  harness::CommandResult set_underlay(int host, const char* state) {
    auto r = topo_->exec(topo_->host(host), {"ip", "link", "set", harness::Topology::underlay_ifname(), state});
    if (!r) return harness::CommandResult{-1, false, r.error().message};
    return *r;
  }
};

TEST_F(AgentIpamClusterTest, ConcurrentAllocationNoDuplicatesAndPartitionedHostUsesItsOwnSpace) {
  const auto t0 = Clock::now();
  for (int h = 1; h <= 3; ++h) ASSERT_NO_FATAL_FAILURE(start_agent(h));
  for (int h = 1; h <= 3; ++h) {
    for (std::size_t i = 0; i < 7; ++i) expect_call(h, docker_sequence(network_id(h), "x", "")[i]);
    for (int o = 1; o <= 3; ++o) {
      ASSERT_TRUE(harness::wait_until([&] { return has_network(o, "blue"); }, seconds(10), milliseconds(50)));
    }
  }
  ASSERT_TRUE(harness::wait_until(
      [&] {
        for (int h = 1; h <= 3; ++h) {
          if (!ipam_pool(h).is_object()) return false;
        }
        return true;
      },
      seconds(10), milliseconds(50)));

  std::mutex mu;
  std::map<std::string, int> owner_of;  // address -> host
  std::vector<std::string> errors;
  std::vector<std::thread> threads;

  // `ferryctl attach`, 4 per host at once: hosts 2 and 3 own nothing yet, so
  // their answers wait for donations (the admin socket answers later).
  constexpr int kAttachPerHost = 4;
  std::vector<std::string> namespaces;
  for (int h = 1; h <= 3; ++h) {
    for (int i = 0; i < kAttachPerHost; ++i) {
      auto ns = topo_->add_container(fmt::format("a{}{}", h, i));
      ASSERT_TRUE(ns) << ns.error().message;
      namespaces.push_back(*ns);
    }
  }
  for (int h = 1; h <= 3; ++h) {
    for (int i = 0; i < kAttachPerHost; ++i) {
      threads.emplace_back([&, h, i] {
        const int index = (h - 1) * kAttachPerHost + i;
        const std::string& ns = namespaces[static_cast<std::size_t>(index)];
        const harness::CommandResult r =
            agent_ctl(h, {"attach", "--net", "blue", "--netns", harness::netns_path(ns), "--name", ns, "--json"});
        const json j = json::parse(r.output, nullptr, false);
        const std::lock_guard<std::mutex> lock(mu);
        if (!r.succeeded() || !j.is_object() || !j.contains("endpoint")) {
          errors.push_back(fmt::format("attach on host {}: {}", h, r.output));
          return;
        }
        const std::string cidr = j["endpoint"].value("ip", "");
        const std::string ip = cidr.substr(0, cidr.find('/'));
        if (!owner_of.emplace(ip, h).second) errors.push_back(fmt::format("duplicate {} (attach, host {})", ip, h));
      });
    }
  }
  for (auto& t : threads) t.join();
  threads.clear();
  ASSERT_EQ(owner_of.size(), 3U * kAttachPerHost);

  // 20 RequestAddress per host, all 60 at once.
  constexpr int kPerHost = 20;
  for (int h = 1; h <= 3; ++h) {
    for (int i = 0; i < kPerHost; ++i) {
      threads.emplace_back([&, h] {
        const ParsedResponse r = request_address(h);
        const std::string ip = address_of(r);
        const std::lock_guard<std::mutex> lock(mu);
        if (ip.empty()) {
          errors.push_back(fmt::format("host {}: {} {}", h, r.status, r.body));
        } else if (!owner_of.emplace(ip, h).second) {
          errors.push_back(fmt::format("duplicate {} on hosts {} and {}", ip, owner_of[ip], h));
        }
      });
    }
  }
  for (auto& t : threads) t.join();
  std::string all_errors;
  for (const auto& e : errors) all_errors += e + "\n";
  EXPECT_TRUE(errors.empty()) << all_errors;
  ASSERT_EQ(owner_of.size(), 3U * (kPerHost + kAttachPerHost));
  for (int h = 1; h <= 3; ++h) {
    const json p = ipam_pool(h);
    EXPECT_EQ(p.value("allocated", 0), kPerHost + kAttachPerHost) << "host " << h << ": " << p.dump();
  }
  // The same numbers on the metrics endpoint (loopback of host 2).
  auto metrics = topo_->exec(topo_->host(2), {"curl", "-sS", "http://127.0.0.1:9475/metrics"});
  ASSERT_TRUE(metrics && metrics->succeeded());
  EXPECT_NE(metrics->output.find(fmt::format("ferry_ipam_allocated_addresses{{network=\"blue\",family=\"ipv4\"}} {}",
                                             kPerHost + kAttachPerHost)),
            std::string::npos)
      << metrics->output;
  EXPECT_NE(metrics->output.find("ferry_ipam_donations_received_total"), std::string::npos);
  EXPECT_NE(metrics->output.find("ferry_ipam_fenced 0"), std::string::npos);
  std::cout << "12 attaches then 60 concurrent RequestAddress on 3 hosts: "
            << std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count() << " ms since start\n";

  // Cut host 3 off (its underlay, which carries gossip): it allocates what
  // it owns, then fails with a clear error; hosts 1 and 2 go on too.
  const json before = ipam_pool(3);
  const int free3 = before.value("free", -1);
  ASSERT_GT(free3, 0) << before.dump();
  ASSERT_TRUE(set_underlay(3, "down").succeeded());
  for (int i = 0; i < free3; ++i) {
    const ParsedResponse r = request_address(3);
    const std::string ip = address_of(r);
    ASSERT_FALSE(ip.empty()) << "allocation " << i << " of " << free3 << " owned: " << r.body;
    ASSERT_TRUE(owner_of.emplace(ip, 3).second) << "duplicate " << ip;
  }
  const auto fail_start = Clock::now();
  const ParsedResponse refused = request_address(3);
  EXPECT_EQ(refused.status, 500U) << refused.body;
  EXPECT_NE(refused.body.find("no free address on this host"), std::string::npos) << refused.body;
  std::cout << "partitioned host: " << free3 << " allocations from its own space, then refused after "
            << std::chrono::duration_cast<milliseconds>(Clock::now() - fail_start).count() << " ms: " << refused.body;
  for (int h = 1; h <= 2; ++h) {
    for (int i = 0; i < 3; ++i) {
      const std::string ip = address_of(request_address(h));
      ASSERT_FALSE(ip.empty()) << "host " << h << " during the partition";
      ASSERT_TRUE(owner_of.emplace(ip, h).second) << "duplicate " << ip;
    }
  }

  // SIGKILL host 2's agent: it comes back with what it had allocated.
  const int alloc2 = ipam_pool(2).value("allocated", -1);
  kill_agent(2);
  ASSERT_NO_FATAL_FAILURE(start_agent(2));
  EXPECT_EQ(ipam_pool(2).value("allocated", -2), alloc2);
  const std::string after_restart = address_of(request_address(2));
  ASSERT_FALSE(after_restart.empty());
  EXPECT_TRUE(owner_of.emplace(after_restart, 2).second) << "duplicate " << after_restart << " after a restart";

  // Healed: host 3 gets space again, still no duplicate.
  ASSERT_TRUE(set_underlay(3, "up").succeeded());
  std::string healed;
  EXPECT_TRUE(harness::wait_until(
      [&] {
        healed = address_of(request_address(3));
        return !healed.empty();
      },
      seconds(25), milliseconds(200)));
  if (!healed.empty()) {
    EXPECT_TRUE(owner_of.emplace(healed, 3).second) << "duplicate " << healed << " after healing";
  }
  std::cout << "total " << std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count() << " ms\n";
}

// A host leaving with nothing on it (SIGTERM, no endpoint, no Docker
// reservation) gives its free address blocks to the others at once instead
// of holding them until --ipam-reclaim-ms.
TEST_F(AgentIpamClusterTest, EmptyHostHandsItsSpaceOverOnExit) {
  for (int h = 1; h <= 3; ++h) ASSERT_NO_FATAL_FAILURE(start_agent(h));
  for (std::size_t i = 0; i < 7; ++i) expect_call(1, docker_sequence(network_id(1), "x", "")[i]);
  for (int h = 1; h <= 3; ++h) {
    ASSERT_TRUE(harness::wait_until([&] { return has_network(h, "blue"); }, seconds(10), milliseconds(50)));
  }
  auto owned_by = [&](int viewer, const std::string& host) {
    const json pool = ipam_pool(viewer);
    if (!pool.is_object()) return -1;
    for (const auto& h : pool["hosts"]) {
      if (h.value("host", "") == host) return h.value("addresses", 0);
    }
    return 0;
  };
  // Host 3 gets space (a donation) for one endpoint, then detaches it.
  auto ns = topo_->add_container("ho3");
  ASSERT_TRUE(ns) << ns.error().message;
  auto attached = agent_ctl(3, {"attach", "--net", "blue", "--netns", harness::netns_path(*ns), "--name", "ho3"});
  ASSERT_TRUE(attached.succeeded()) << attached.output;
  ASSERT_TRUE(agent_ctl(3, {"detach", "ho3"}).succeeded());
  ASSERT_TRUE(harness::wait_until([&] { return owned_by(1, "h3") > 0; }, seconds(10), milliseconds(50)))
      << ipam_pool(1).dump();
  const int had = owned_by(1, "h3");

  const auto stopped = Clock::now();
  EXPECT_EQ(agents_[3]->stop(), 0);
  const std::string log = agents_[3]->log();
  agents_.erase(3);
  EXPECT_NE(log.find("handed over"), std::string::npos) << log;
  for (int viewer = 1; viewer <= 2; ++viewer) {
    EXPECT_TRUE(harness::wait_until([&] { return owned_by(viewer, "h3") == 0; }, seconds(10), milliseconds(50)))
        << ipam_pool(viewer).dump();
  }
  std::cout << "host 3 handed over " << had << " addresses; others saw it within "
            << std::chrono::duration_cast<milliseconds>(Clock::now() - stopped).count() << " ms of SIGTERM\n";
  // The space is usable at once by the others.
  auto ns2 = topo_->add_container("ho2");
  ASSERT_TRUE(ns2) << ns2.error().message;
  auto r = agent_ctl(2, {"attach", "--net", "blue", "--netns", harness::netns_path(*ns2), "--name", "ho2"});
  EXPECT_TRUE(r.succeeded()) << r.output;
  EXPECT_TRUE(agent_ctl(2, {"detach", "ho2"}).succeeded());
}

}  // namespace
}  // namespace ferry::agenttest
