// The Docker contract over a real unix socket: the exact requests Docker's
// libnetwork remote-driver clients write, in the order `docker network
// create` + `docker run` + `docker rm` + `docker network rm` sends them, with
// every reply checked byte for byte; then every kind of bad input.
#include "plugins/docker/plugin_server.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/plugins/docker/recording_backend.h"
#include "tests/plugins/http/test_client.h"
#include "tests/plugins/temp_dir.h"

namespace ferry::plugins::docker {
namespace {

using plugins::testing::ParsedResponse;
using plugins::testing::TempDir;
using plugins::testing::UnixClient;
using testing::RecordingIpamBackend;
using testing::RecordingNetworkBackend;

constexpr std::string_view kNetworkId = "0f4e5c1d7b9a2e3f4a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b";
constexpr std::string_view kEndpointId = "9a8b7c6d5e4f30211203f4e5d6c7b8a9f0e1d2c3b4a5968778695a4b3c2d1e0f";
constexpr std::string_view kPoolId = "FerryLocal/10.10.0.0/24";
constexpr std::string_view kContentType = "application/vnd.docker.plugins.v1.2+json";

std::string network_endpoint_body() {
  return fmt::format(R"({{"NetworkID":"{}","EndpointID":"{}"}})", kNetworkId, kEndpointId) + "\n";
}

class PluginServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    UnixHttpServerConfig config;
    config.socket_path = dir_.file("ferry.sock");
    auto server = start_plugin_server(config, &network_, &ipam_);
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
    ASSERT_TRUE(client_.connect(config.socket_path));
  }

  // One call on the shared keep-alive connection, as Docker makes it.
  ParsedResponse call(std::string_view method, std::string_view body) {
    auto response = client_.post(fmt::format("/{}", method), body);
    EXPECT_TRUE(response) << method << ": no response";
    if (!response) return {};
    EXPECT_EQ(response->headers["content-type"], kContentType) << method;
    return *response;
  }

  // Checks status and exact body.
  void expect_reply(std::string_view method, std::string_view body, unsigned status, std::string_view reply) {
    const ParsedResponse response = call(method, body);
    EXPECT_EQ(response.status, status) << method << " " << body;
    EXPECT_EQ(response.body, reply) << method << " " << body;
  }

  // The happy path up to a joined endpoint, as Docker sends it.
  void create_network_and_endpoint() {
    expect_reply("Plugin.Activate", "", 200, R"({"Implements":["NetworkDriver","IpamDriver"]})");
    expect_reply("NetworkDriver.GetCapabilities", "", 200, R"({"ConnectivityScope":"global","Scope":"local"})");
    expect_reply("IpamDriver.GetCapabilities", "", 200, R"({"RequiresMACAddress":false})");
    expect_reply("IpamDriver.GetDefaultAddressSpaces", "", 200,
                 R"({"GlobalDefaultAddressSpace":"FerryGlobal","LocalDefaultAddressSpace":"FerryLocal"})");
    expect_reply("IpamDriver.RequestPool",
                 R"({"AddressSpace":"FerryLocal","Pool":"10.10.0.0/24","SubPool":"","Options":{},"V6":false})"
                 "\n",
                 200, R"({"Data":{},"Pool":"10.10.0.0/24","PoolID":"FerryLocal/10.10.0.0/24"})");
    expect_reply("IpamDriver.RequestAddress",
                 fmt::format(R"({{"PoolID":"{}","Address":"10.10.0.1","Options":{{"RequestAddressType":)"
                             R"("com.docker.network.gateway"}}}})",
                             kPoolId) +
                     "\n",
                 200, R"({"Address":"10.10.0.1/24","Data":{}})");
    expect_reply("NetworkDriver.CreateNetwork",
                 fmt::format(R"({{"NetworkID":"{}","Options":{{"com.docker.network.enable_ipv6":false,)"
                             R"("com.docker.network.generic":{{"ferry.vni":"42","mtu":1450}}}},)"
                             R"("IPv4Data":[{{"AddressSpace":"FerryLocal","Gateway":"10.10.0.1/24",)"
                             R"("Pool":"10.10.0.0/24"}}],"IPv6Data":[]}})",
                             kNetworkId) +
                     "\n",
                 200, "{}");
    expect_reply("IpamDriver.RequestAddress",
                 fmt::format(R"({{"PoolID":"{}","Address":"","Options":null}})", kPoolId) + "\n", 200,
                 R"({"Address":"10.10.0.2/24","Data":{}})");
    expect_reply("NetworkDriver.CreateEndpoint",
                 fmt::format(R"({{"NetworkID":"{}","EndpointID":"{}","Interface":{{"Address":"10.10.0.2/24",)"
                             R"("AddressIPv6":"","MacAddress":""}},"Options":{{"com.docker.network.endpoint.)"
                             R"(exposedports":[],"com.docker.network.portmap":[]}}}})",
                             kNetworkId, kEndpointId) +
                     "\n",
                 200, R"({"Interface":{"MacAddress":"02:42:0a:0a:00:02"}})");
  }

  TempDir dir_;
  RecordingNetworkBackend network_;
  RecordingIpamBackend ipam_;
  std::unique_ptr<UnixHttpServer> server_;
  UnixClient client_;
};

TEST_F(PluginServerTest, SocketIsCreatedWithMode0660) {
  struct stat info {};
  ASSERT_EQ(stat(dir_.file("ferry.sock").c_str(), &info), 0);
  EXPECT_TRUE(S_ISSOCK(info.st_mode));
  EXPECT_EQ(info.st_mode & 0777, 0660u);
}

TEST_F(PluginServerTest, DockerLifecycleSequence) {
  create_network_and_endpoint();
  const std::string join_body =
      fmt::format(R"({{"NetworkID":"{}","EndpointID":"{}","SandboxKey":"/var/run/docker/netns/1f2e3d4c5b6a",)"
                  R"("Options":{{"com.docker.network.endpoint.exposedports":[],"com.docker.network.portmap":[]}}}})",
                  kNetworkId, kEndpointId) +
      "\n";
  expect_reply("NetworkDriver.Join", join_body, 200,
               R"({"DisableGatewayService":false,"Gateway":"10.10.0.1","InterfaceName":{"DstPrefix":"eth",)"
               R"("SrcName":"fe9a8b7c6"},"StaticRoutes":[{"Destination":"10.20.0.0/16","NextHop":"10.10.0.254",)"
               R"("RouteType":0},{"Destination":"10.30.0.0/16","RouteType":1}]})");
  expect_reply("NetworkDriver.ProgramExternalConnectivity",
               fmt::format(R"({{"NetworkID":"{}","EndpointID":"{}","Options":{{"com.docker.network.endpoint.)"
                           R"(exposedports":[],"com.docker.network.portmap":[]}}}})",
                           kNetworkId, kEndpointId) +
                   "\n",
               200, "{}");
  expect_reply("NetworkDriver.EndpointOperInfo", network_endpoint_body(), 200, R"({"Value":{"ferry.port":"fe1"}})");
  expect_reply("NetworkDriver.RevokeExternalConnectivity", network_endpoint_body(), 200, "{}");
  expect_reply("NetworkDriver.Leave", network_endpoint_body(), 200, "{}");
  expect_reply("NetworkDriver.DeleteEndpoint", network_endpoint_body(), 200, "{}");
  expect_reply("IpamDriver.ReleaseAddress", fmt::format(R"({{"PoolID":"{}","Address":"10.10.0.2"}})", kPoolId) + "\n",
               200, "{}");
  expect_reply("NetworkDriver.DeleteNetwork", fmt::format(R"({{"NetworkID":"{}"}})", kNetworkId) + "\n", 200, "{}");
  expect_reply("IpamDriver.ReleaseAddress", fmt::format(R"({{"PoolID":"{}","Address":"10.10.0.1"}})", kPoolId) + "\n",
               200, "{}");
  expect_reply("IpamDriver.ReleasePool", fmt::format(R"({{"PoolID":"{}"}})", kPoolId) + "\n", 200, "{}");

  // The backends saw the calls in Docker's order...
  EXPECT_EQ(network_.calls,
            (std::vector<std::string>{"CreateNetwork", "CreateEndpoint", "Join", "ProgramExternalConnectivity",
                                      "EndpointOperInfo", "RevokeExternalConnectivity", "Leave", "DeleteEndpoint",
                                      "DeleteNetwork"}));
  EXPECT_EQ(ipam_.calls,
            (std::vector<std::string>{"GetDefaultAddressSpaces", "RequestPool", "RequestAddress", "RequestAddress",
                                      "ReleaseAddress", "ReleaseAddress", "ReleasePool"}));
  // ...with Docker's values parsed into typed fields.
  ASSERT_EQ(ipam_.pool_requests.size(), 1u);
  EXPECT_EQ(ipam_.pool_requests[0].address_space, "FerryLocal");
  EXPECT_EQ(ipam_.pool_requests[0].pool, parse_cidr("10.10.0.0/24").value());
  EXPECT_FALSE(ipam_.pool_requests[0].sub_pool);
  EXPECT_FALSE(ipam_.pool_requests[0].v6);
  ASSERT_EQ(ipam_.address_requests.size(), 2u);
  EXPECT_EQ(ipam_.address_requests[0].type, AddressRequestType::kGateway);
  EXPECT_EQ(ipam_.address_requests[0].address, parse_ip("10.10.0.1").value());
  EXPECT_EQ(ipam_.address_requests[1].type, AddressRequestType::kEndpoint);
  EXPECT_FALSE(ipam_.address_requests[1].address);
  EXPECT_TRUE(ipam_.address_requests[1].options.empty());
  ASSERT_EQ(ipam_.address_releases.size(), 2u);
  EXPECT_EQ(ipam_.address_releases[0].address, parse_ip("10.10.0.2").value());

  ASSERT_EQ(network_.create_networks.size(), 1u);
  const CreateNetworkRequest& network = network_.create_networks[0];
  EXPECT_EQ(network.network_id, kNetworkId);
  EXPECT_FALSE(network.enable_ipv6);
  EXPECT_EQ(network.generic_options, (StringMap{{"ferry.vni", "42"}, {"mtu", "1450"}}));
  ASSERT_EQ(network.ipv4_data.size(), 1u);
  EXPECT_EQ(network.ipv4_data[0].address_space, "FerryLocal");
  EXPECT_EQ(network.ipv4_data[0].pool, parse_cidr("10.10.0.0/24").value());
  EXPECT_EQ(network.ipv4_data[0].gateway, parse_cidr("10.10.0.1/24").value());
  EXPECT_TRUE(network.ipv6_data.empty());

  ASSERT_EQ(network_.create_endpoints.size(), 1u);
  const CreateEndpointRequest& endpoint = network_.create_endpoints[0];
  EXPECT_EQ(endpoint.endpoint_id, kEndpointId);
  EXPECT_EQ(endpoint.interface.address, parse_cidr("10.10.0.2/24").value());
  EXPECT_FALSE(endpoint.interface.address_ipv6);
  EXPECT_FALSE(endpoint.interface.mac_address);
  EXPECT_EQ(endpoint.options_json,
            R"({"com.docker.network.endpoint.exposedports":[],"com.docker.network.portmap":[]})");
  ASSERT_EQ(network_.joins.size(), 1u);
  EXPECT_EQ(network_.joins[0].sandbox_key, "/var/run/docker/netns/1f2e3d4c5b6a");

  // Everything was released.
  EXPECT_TRUE(network_.networks.empty());
  EXPECT_TRUE(network_.endpoints.empty());
  EXPECT_TRUE(ipam_.pool_references.empty());
  EXPECT_TRUE(ipam_.allocated.empty());
}

TEST_F(PluginServerTest, FailedJoinIsRolledBack) {
  create_network_and_endpoint();
  network_.fail_join = true;
  const ParsedResponse join = call(
      "NetworkDriver.Join",
      fmt::format(R"({{"NetworkID":"{}","EndpointID":"{}","SandboxKey":"/var/run/docker/netns/x","Options":{{}}}})",
                  kNetworkId, kEndpointId) +
          "\n");
  EXPECT_EQ(join.status, 500u);
  EXPECT_EQ(join.body, fmt::format(R"({{"Err":"cannot create veth for endpoint {}: injected failure"}})", kEndpointId));
  // Docker's rollback: DeleteEndpoint, then ReleaseAddress.
  expect_reply("NetworkDriver.DeleteEndpoint", network_endpoint_body(), 200, "{}");
  expect_reply("IpamDriver.ReleaseAddress", fmt::format(R"({{"PoolID":"{}","Address":"10.10.0.2"}})", kPoolId) + "\n",
               200, "{}");
  EXPECT_TRUE(network_.endpoints.empty());
  EXPECT_TRUE(network_.joined.empty());
  EXPECT_EQ(ipam_.allocated.size(), 1u);  // the gateway only
}

TEST_F(PluginServerTest, CreateEndpointLeavesOutWhatDockerSupplied) {
  create_network_and_endpoint();
  // Docker supplies the MAC and both addresses: nothing is left to return.
  expect_reply("NetworkDriver.CreateEndpoint",
               fmt::format(R"({{"NetworkID":"{}","EndpointID":"e2","Interface":{{"Address":"10.10.0.9/24",)"
                           R"("AddressIPv6":"fd00::9/64","MacAddress":"02:42:0A:0A:00:09"}},"Options":{{}}}})",
                           kNetworkId) +
                   "\n",
               200, "{}");
  ASSERT_EQ(network_.create_endpoints.size(), 2u);
  EXPECT_EQ(network_.create_endpoints[1].interface.mac_address, parse_mac("02:42:0a:0a:00:09").value());
  EXPECT_EQ(network_.create_endpoints[1].interface.address_ipv6, parse_cidr("fd00::9/64").value());
  // With a null Interface everything the backend chose is returned.
  expect_reply("NetworkDriver.CreateEndpoint",
               fmt::format(R"({{"NetworkID":"{}","EndpointID":"e3","Interface":null,"Options":null}})", kNetworkId),
               200, R"({"Interface":{"MacAddress":"02:42:0a:0a:00:02"}})");
}

TEST_F(PluginServerTest, OptionalDriverMethods) {
  create_network_and_endpoint();
  expect_reply("NetworkDriver.AllocateNetwork",
               fmt::format(R"({{"NetworkID":"{}","Options":{{"a":"b"}},"IPv4Data":null,"IPv6Data":null}})", kNetworkId),
               200, R"({"Options":{"a":"b","ferry.allocated":"yes"}})");
  expect_reply("NetworkDriver.FreeNetwork", fmt::format(R"({{"NetworkID":"{}"}})", kNetworkId), 200, "{}");
  expect_reply("NetworkDriver.DiscoverNew",
               R"({"DiscoveryType":1,"DiscoveryData":{"Address":"192.0.2.1","BindAddress":"","Self":true}})", 200,
               "{}");
  expect_reply("NetworkDriver.DiscoverDelete", R"({"DiscoveryType":1,"DiscoveryData":null})", 200, "{}");
  ASSERT_EQ(network_.discoveries.size(), 2u);
  EXPECT_EQ(network_.discoveries[0].discovery_type, 1);
  EXPECT_EQ(network_.discoveries[0].data_json, R"({"Address":"192.0.2.1","BindAddress":"","Self":true})");
  EXPECT_EQ(network_.discoveries[1].data_json, "null");
}

TEST_F(PluginServerTest, UnknownMethodsAre404) {
  for (const char* method :
       {"NetworkDriver.GwAllocCheck", "IpamDriver.Bogus", "Bogus.Method", "Plugin.Deactivate", "NetworkDriver.", ""}) {
    const ParsedResponse response = call(method, "{}");
    EXPECT_EQ(response.status, 404u) << method;
    EXPECT_EQ(response.body, fmt::format(R"({{"Err":"unknown method \"/{}\""}})", method)) << method;
  }
  // The connection is still usable.
  expect_reply("Plugin.Activate", "", 200, R"({"Implements":["NetworkDriver","IpamDriver"]})");
}

// One bad request: the method, its body, and the exact error message.
struct BadInput {
  const char* method;
  std::string body;
  std::string message;
};

TEST_F(PluginServerTest, BadInputIsRefusedAndChangesNothing) {
  const std::string net = std::string(kNetworkId);
  const std::vector<BadInput> cases = {
      {"NetworkDriver.CreateNetwork", "{\"NetworkID\":", "malformed JSON body"},
      {"NetworkDriver.CreateNetwork", "{\"NetworkID\":\"a\"} trailing", "malformed JSON body"},
      {"NetworkDriver.CreateNetwork", "", "empty body, expected a JSON object"},
      {"NetworkDriver.CreateNetwork", "[]\n", "body must be a JSON object, got array"},
      {"NetworkDriver.CreateNetwork", "\"x\"", "body must be a JSON object, got string"},
      {"NetworkDriver.CreateNetwork", "{}\n", "missing field \"NetworkID\""},
      {"NetworkDriver.CreateNetwork", R"({"NetworkID":7})", "field \"NetworkID\": expected a string, got number"},
      {"NetworkDriver.CreateNetwork", R"({"NetworkID":null})", "field \"NetworkID\": expected a string, got null"},
      {"NetworkDriver.CreateNetwork", R"({"NetworkID":""})", "field \"NetworkID\": must not be empty"},
      {"NetworkDriver.CreateNetwork", R"({"NetworkID":"a b"})",
       "field \"NetworkID\": contains a non-printable character"},
      {"NetworkDriver.CreateNetwork", fmt::format(R"({{"NetworkID":"{}"}})", std::string(300, 'a')),
       "field \"NetworkID\": longer than 256 bytes"},
      {"NetworkDriver.CreateNetwork", R"({"NetworkID":"n1","Options":[]})",
       "field \"Options\": expected an object, got array"},
      {"NetworkDriver.CreateNetwork", R"({"NetworkID":"n1","Options":{"com.docker.network.enable_ipv6":"yes"}})",
       "field \"Options.com.docker.network.enable_ipv6\": expected a boolean, got string"},
      {"NetworkDriver.CreateNetwork", R"({"NetworkID":"n1","Options":{"com.docker.network.generic":"x"}})",
       "field \"Options.com.docker.network.generic\": expected an object, got string"},
      {"NetworkDriver.CreateNetwork", R"({"NetworkID":"n1","Options":{"com.docker.network.generic":{"k":[1]}}})",
       "field \"Options.com.docker.network.generic.k\": expected a string, got array"},
      {"NetworkDriver.CreateNetwork", R"({"NetworkID":"n1","IPv4Data":{}})",
       "field \"IPv4Data\": expected an array, got object"},
      {"NetworkDriver.CreateNetwork", R"({"NetworkID":"n1","IPv4Data":[7]})",
       "field \"IPv4Data[0]\": expected an object, got number"},
      {"NetworkDriver.CreateNetwork", R"({"NetworkID":"n1","IPv4Data":[{"AddressSpace":"x"}]})",
       "missing field \"IPv4Data[0].Pool\""},
      {"NetworkDriver.CreateNetwork", R"({"NetworkID":"n1","IPv4Data":[{"Pool":"10.10.0.0"}]})",
       "field \"IPv4Data[0].Pool\": invalid CIDR \"10.10.0.0\": no prefix length"},
      {"NetworkDriver.CreateNetwork",
       R"({"NetworkID":"n1","IPv4Data":[{"Pool":"10.10.0.0/24","Gateway":"10.11.0.1/24"}]})",
       "field \"IPv4Data[0].Gateway\": 10.11.0.1/24 is outside pool 10.10.0.0/24"},
      {"NetworkDriver.CreateNetwork",
       R"({"NetworkID":"n1","IPv6Data":[{"Pool":"fd00::/64","AuxAddresses":{"a":"x"}}]})",
       "field \"IPv6Data[0].AuxAddresses.a\": invalid CIDR \"x\": no prefix length"},
      {"NetworkDriver.CreateNetwork", std::string(100, '[') + std::string(100, ']'),
       "JSON nested deeper than 32 levels"},
      {"NetworkDriver.DeleteNetwork", R"({"NetworkId":"n1"})", "missing field \"NetworkID\""},
      {"NetworkDriver.CreateEndpoint", fmt::format(R"({{"NetworkID":"{}"}})", net), "missing field \"EndpointID\""},
      {"NetworkDriver.CreateEndpoint",
       fmt::format(R"({{"NetworkID":"{}","EndpointID":"e","Interface":{{"MacAddress":"zz"}}}})", net),
       "field \"Interface.MacAddress\": invalid MAC address \"zz\""},
      {"NetworkDriver.CreateEndpoint",
       fmt::format(R"({{"NetworkID":"{}","EndpointID":"e","Interface":{{"Address":"10.10.0.300/24"}}}})", net),
       "field \"Interface.Address\": invalid CIDR \"10.10.0.300/24\": bad address"},
      {"NetworkDriver.CreateEndpoint",
       fmt::format(R"({{"NetworkID":"{}","EndpointID":"e","Interface":{{"Address":"fd00::1/64"}}}})", net),
       "field \"Interface.Address\": expected an IPv4 address"},
      {"NetworkDriver.CreateEndpoint", fmt::format(R"({{"NetworkID":"{}","EndpointID":"e","Interface":"x"}})", net),
       "field \"Interface\": expected an object, got string"},
      {"NetworkDriver.Join", fmt::format(R"({{"NetworkID":"{}","EndpointID":"e"}})", net),
       "missing field \"SandboxKey\""},
      {"NetworkDriver.Join", fmt::format(R"({{"NetworkID":"{}","EndpointID":"e","SandboxKey":""}})", net),
       "field \"SandboxKey\": must not be empty"},
      {"NetworkDriver.Leave", fmt::format(R"({{"NetworkID":"{}","EndpointID":true}})", net),
       "field \"EndpointID\": expected a string, got boolean"},
      {"NetworkDriver.DiscoverNew", R"({"DiscoveryType":"1"})",
       "field \"DiscoveryType\": expected an integer, got string"},
      {"NetworkDriver.DiscoverNew", R"({})", "missing field \"DiscoveryType\""},
      {"NetworkDriver.ProgramExternalConnectivity",
       fmt::format(R"({{"NetworkID":"{}","EndpointID":"e","Options":5}})", net),
       "field \"Options\": expected an object, got number"},
  };
  for (const BadInput& bad : cases) {
    const ParsedResponse response = call(bad.method, bad.body);
    EXPECT_EQ(response.status, 500u) << bad.method << " " << bad.body;
    EXPECT_EQ(response.body, nlohmann::json({{"Err", bad.message}}).dump()) << bad.method << " " << bad.body;
  }
  const std::vector<BadInput> ipam_cases = {
      {"IpamDriver.RequestPool", "{", "malformed JSON body"},
      {"IpamDriver.RequestPool", R"({"Pool":"10.0.0.0/8"})", "missing field \"AddressSpace\""},
      {"IpamDriver.RequestPool", R"({"AddressSpace":"x","Pool":"fd00::/64","V6":false})",
       "field \"Pool\": fd00::/64 is not an IPv4 prefix (V6 is false)"},
      {"IpamDriver.RequestPool", R"({"AddressSpace":"x","Pool":"10.0.0.0/8","SubPool":"11.0.0.0/16"})",
       "field \"SubPool\": 11.0.0.0/16 is not inside pool 10.0.0.0/8"},
      {"IpamDriver.RequestPool", R"({"AddressSpace":"x","Pool":"10.0.0.0/8","Options":{"a":1}})",
       "field \"Options.a\": expected a string, got number"},
      {"IpamDriver.RequestPool", R"({"AddressSpace":"x","Pool":"10.0.0.0/8","V6":"no"})",
       "field \"V6\": expected a boolean, got string"},
      {"IpamDriver.RequestAddress", R"({"Address":"10.10.0.5"})", "missing field \"PoolID\""},
      {"IpamDriver.RequestAddress", fmt::format(R"({{"PoolID":"{}","Address":"10.10.0.x"}})", kPoolId),
       "field \"Address\": invalid IP address \"10.10.0.x\""},
      {"IpamDriver.RequestAddress", fmt::format(R"({{"PoolID":"{}","Address":"10.10.0.5/24"}})", kPoolId),
       "field \"Address\": invalid IP address \"10.10.0.5/24\""},
      {"IpamDriver.ReleaseAddress", fmt::format(R"({{"PoolID":"{}"}})", kPoolId), "missing field \"Address\""},
      {"IpamDriver.ReleasePool", R"({"PoolID":42})", "field \"PoolID\": expected a string, got number"},
  };
  for (const BadInput& bad : ipam_cases) {
    const ParsedResponse response = call(bad.method, bad.body);
    EXPECT_EQ(response.status, 500u) << bad.method << " " << bad.body;
    // Both keys: libnetwork's IPAM client reads "Error" on 200 and "Err" otherwise.
    EXPECT_EQ(response.body, nlohmann::json({{"Err", bad.message}, {"Error", bad.message}}).dump())
        << bad.method << " " << bad.body;
  }
  // Decoding failures never reached a backend.
  EXPECT_TRUE(network_.calls.empty());
  EXPECT_TRUE(ipam_.calls.empty());
  // And the server still serves the whole sequence on the same connection.
  create_network_and_endpoint();
}

TEST_F(PluginServerTest, UnknownIdsAndDuplicatesAreRefusedByTheBackend) {
  create_network_and_endpoint();
  const std::string create_network = fmt::format(R"({{"NetworkID":"{}","Options":{{}},"IPv4Data":[]}})", kNetworkId);
  expect_reply("NetworkDriver.CreateNetwork", create_network, 500,
               fmt::format(R"({{"Err":"network {} already exists"}})", kNetworkId));
  expect_reply("NetworkDriver.CreateEndpoint",
               fmt::format(R"({{"NetworkID":"{}","EndpointID":"{}","Interface":{{}}}})", kNetworkId, kEndpointId), 500,
               fmt::format(R"({{"Err":"endpoint {} already exists"}})", kEndpointId));
  expect_reply("NetworkDriver.DeleteNetwork", R"({"NetworkID":"nope"})", 500, R"({"Err":"network nope not found"})");
  expect_reply("NetworkDriver.CreateEndpoint", R"({"NetworkID":"nope","EndpointID":"e9","Interface":{}})", 500,
               R"({"Err":"network nope not found"})");
  expect_reply("NetworkDriver.Join",
               fmt::format(R"({{"NetworkID":"{}","EndpointID":"nope","SandboxKey":"/x"}})", kNetworkId), 500,
               R"({"Err":"endpoint nope not found"})");
  expect_reply("NetworkDriver.Leave", fmt::format(R"({{"NetworkID":"{}","EndpointID":"nope"}})", kNetworkId), 500,
               R"({"Err":"endpoint nope is not joined"})");
  expect_reply("IpamDriver.ReleasePool", R"({"PoolID":"nope"})", 500,
               R"({"Err":"pool nope not found","Error":"pool nope not found"})");
  expect_reply("IpamDriver.RequestAddress",
               fmt::format(R"({{"PoolID":"{}","Address":"10.10.0.1","Options":{{}}}})", kPoolId), 500,
               R"({"Err":"address 10.10.0.1 is in use",)"
               R"("Error":"address 10.10.0.1 is in use"})");
  // Nothing changed: one network, one endpoint, two addresses.
  EXPECT_EQ(network_.networks.size(), 1u);
  EXPECT_EQ(network_.endpoints.size(), 1u);
  EXPECT_EQ(ipam_.allocated.size(), 2u);
}

TEST_F(PluginServerTest, RequestHeadersDockerMaySend) {
  // Docker's documented Content-Type variants are accepted, others refused.
  for (const char* type : {"application/vnd.docker.plugins.v1.2+json", "application/vnd.docker.plugins.v1+json",
                           "application/vnd.docker.plugins.v1.1+json", "application/json; charset=utf-8"}) {
    ASSERT_TRUE(client_.send(fmt::format(
        "POST /Plugin.Activate HTTP/1.1\r\nHost: x\r\nContent-Type: {}\r\nContent-Length: 0\r\n\r\n", type)));
    const auto response = client_.read_response();
    ASSERT_TRUE(response) << type;
    EXPECT_EQ(response->status, 200u) << type;
  }
  ASSERT_TRUE(client_.send(
      "POST /Plugin.Activate HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n"));
  auto response = client_.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 415u);
  EXPECT_EQ(response->body, R"({"Err":"unsupported Content-Type \"text/plain\""})");
  ASSERT_TRUE(client_.send("GET /Plugin.Activate HTTP/1.1\r\nHost: x\r\n\r\n"));
  response = client_.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 405u);
  EXPECT_EQ(response->body, R"({"Err":"method GET not allowed, use POST"})");
}

// Several Docker clients at once: the backends are called one at a time (the
// threading contract), so the fake's unguarded allocator never hands out an
// address twice and every client gets well-formed replies.
TEST_F(PluginServerTest, ConcurrentClientsAreServedOneCallAtATime) {
  create_network_and_endpoint();
  constexpr int kClients = 8;
  constexpr int kCalls = 25;
  std::vector<std::vector<std::string>> addresses(kClients);
  std::vector<std::thread> threads;
  threads.reserve(kClients);
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      UnixClient client;
      if (!client.connect(dir_.file("ferry.sock"))) return;
      for (int i = 0; i < kCalls; ++i) {
        auto response = client.post("/IpamDriver.RequestAddress",
                                    fmt::format(R"({{"PoolID":"{}","Address":"","Options":null}})", kPoolId) + "\n");
        if (!response || response->status != 200) return;
        addresses[c].push_back(nlohmann::json::parse(response->body).at("Address").get<std::string>());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> unique;
  for (const auto& list : addresses) {
    EXPECT_EQ(list.size(), static_cast<std::size_t>(kCalls));
    unique.insert(list.begin(), list.end());
  }
  EXPECT_EQ(unique.size(), static_cast<std::size_t>(kClients * kCalls));
}

}  // namespace
}  // namespace ferry::plugins::docker
