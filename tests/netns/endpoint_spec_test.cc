// EndpointSpec::validate: everything rejected before the kernel is touched.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "netns/endpoint.h"
#include "netns/naming.h"

namespace ferry::netns {
namespace {

EndpointSpec good_spec() {
  EndpointSpec s;
  s.endpoint_id = "ep1";
  s.netns_path = "/var/run/netns/c1";
  s.addresses = {*parse_interface_address("10.0.0.2/24"), *parse_interface_address("fd00::2/64")};
  s.gateways = {*parse_ip("10.0.0.1"), *parse_ip("fd00::1")};
  s.routes = {Route{*parse_prefix("10.9.0.0/16"), *parse_ip("10.0.0.254")}, Route{*parse_prefix("10.8.0.0/16"), {}}};
  return s;
}

struct SpecCase {
  std::string name;
  std::function<void(EndpointSpec&)> edit;
  std::string error_contains;  // empty: valid
};

TEST(EndpointSpecValidate, Table) {
  const std::vector<SpecCase> cases = {
      {"good", [](EndpointSpec&) {}, ""},
      {"no id", [](EndpointSpec& s) { s.endpoint_id.clear(); }, "endpoint ID"},
      {"host name too long", [](EndpointSpec& s) { s.host_ifname = "abcdefghijklmnop"; }, "at most 15"},
      {"container name too long", [](EndpointSpec& s) { s.container_ifname = "eth0123456789abc"; }, "at most 15"},
      {"container name with slash", [](EndpointSpec& s) { s.container_ifname = "eth/0"; }, "not allowed"},
      {"no netns", [](EndpointSpec& s) { s.netns_path.clear(); }, "namespace"},
      {"mtu too small", [](EndpointSpec& s) { s.mtu = 67; }, "MTU"},
      {"mtu too large", [](EndpointSpec& s) { s.mtu = 65536; }, "MTU"},
      {"mtu too small for ipv6", [](EndpointSpec& s) { s.mtu = 1279; }, "IPv6"},
      {"small mtu without ipv6",
       [](EndpointSpec& s) {
         s.mtu = 576;
         s.addresses.resize(1);
         s.gateways.resize(1);
       },
       ""},
      {"multicast mac",
       [](EndpointSpec& s) {
         s.mac = MacAddress{{0x01, 0, 0x5e, 0, 0, 1}};
       },
       "unicast"},
      {"zero mac", [](EndpointSpec& s) { s.mac = MacAddress{}; }, "zero"},
      {"multicast address",
       [](EndpointSpec& s) {
         s.addresses.push_back(IpPrefix{*parse_ip("224.0.0.5"), 24});
       },
       "multicast"},
      {"address with length 0", [](EndpointSpec& s) { s.addresses[0].prefix_length = 0; }, "prefix length 0"},
      {"two ipv4 gateways", [](EndpointSpec& s) { s.gateways.push_back(*parse_ip("10.0.0.3")); }, "more than one"},
      {"gateway without address of its family", [](EndpointSpec& s) { s.addresses.resize(1); }, "no IPv6 address"},
      {"multicast gateway", [](EndpointSpec& s) { s.gateways[0] = *parse_ip("239.0.0.1"); }, "multicast"},
      {"route family mismatch",
       [](EndpointSpec& s) {
         s.routes.push_back(Route{*parse_prefix("10.7.0.0/16"), *parse_ip("fd00::9")});
       },
       "families differ"},
      {"bad host address",
       [](EndpointSpec& s) {
         s.host_addresses.push_back(IpPrefix{*parse_ip("127.0.0.1"), 8});
       },
       "loopback"},
  };
  for (const auto& c : cases) {
    EndpointSpec s = good_spec();
    c.edit(s);
    auto v = s.validate();
    if (c.error_contains.empty()) {
      EXPECT_TRUE(v) << c.name << ": " << v.error().message;
    } else {
      ASSERT_FALSE(v) << c.name;
      EXPECT_NE(v.error().message.find(c.error_contains), std::string::npos) << c.name << ": " << v.error().message;
    }
  }
}

TEST(EndpointSpec, HostNameDefaultsToTheDerivedOne) {
  EndpointSpec s = good_spec();
  EXPECT_EQ(s.resolved_host_ifname(), derive_host_ifname("ep1"));
  s.host_ifname = "vethx";
  EXPECT_EQ(s.resolved_host_ifname(), "vethx");
}

TEST(DockerVethSpecValidate, Table) {
  DockerVethSpec s;
  s.endpoint_id = "ep1";
  EXPECT_TRUE(s.validate());
  EXPECT_EQ(s.resolved_peer_ifname(), derive_peer_ifname("ep1"));
  s.peer_ifname = s.resolved_host_ifname();
  EXPECT_FALSE(s.validate());
  s.peer_ifname = "way-too-long-name";
  EXPECT_FALSE(s.validate());
  s.peer_ifname.clear();
  s.mtu = 10;
  EXPECT_FALSE(s.validate());
}

TEST(ValidateMtu, Bounds) {
  EXPECT_TRUE(validate_mtu(68));
  EXPECT_TRUE(validate_mtu(9000));
  EXPECT_TRUE(validate_mtu(65535));
  EXPECT_FALSE(validate_mtu(0));
  EXPECT_FALSE(validate_mtu(67));
  EXPECT_FALSE(validate_mtu(65536));
}

}  // namespace
}  // namespace ferry::netns
