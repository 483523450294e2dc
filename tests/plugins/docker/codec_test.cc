// Codec details the socket-level contract test does not reach: each decoder
// on Docker's exact bodies, Options variants, and each encoder's bytes.
#include "plugins/docker/codec.h"

#include <gtest/gtest.h>

#include "plugins/docker/dispatcher.h"

namespace ferry::plugins::docker {
namespace {

TEST(CodecTest, CreateNetworkOptionsVariants) {
  // null Options, no IPv6Data.
  auto request = decode_create_network(R"({"NetworkID":"n","Options":null,"IPv4Data":null})");
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_EQ(request->options_json, "{}");
  EXPECT_FALSE(request->enable_ipv6);
  EXPECT_TRUE(request->generic_options.empty());
  EXPECT_TRUE(request->ipv4_data.empty());
  // {} Options.
  request = decode_create_network("{\"NetworkID\":\"n\",\"Options\":{}}\n");
  ASSERT_TRUE(request);
  EXPECT_EQ(request->options_json, "{}");
  // IPv6 on, internal, generic with a number, dual-stack data, aux addresses.
  request = decode_create_network(
      R"({"NetworkID":"n","Options":{"com.docker.network.enable_ipv6":true,"com.docker.network.internal":true,)"
      R"("com.docker.network.generic":{"ferry.vni":"7","x":3,"y":false},"other":[1]},)"
      R"("IPv4Data":[{"AddressSpace":"S","Pool":"10.1.0.0/16","Gateway":"10.1.0.1/16",)"
      R"("AuxAddresses":{"router":"10.1.0.254/16"}}],)"
      R"("IPv6Data":[{"AddressSpace":"S","Pool":"fd00::/64","Gateway":"fd00::1/64"}]})");
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_TRUE(request->enable_ipv6);
  EXPECT_TRUE(request->internal);
  EXPECT_EQ(request->generic_options, (StringMap{{"ferry.vni", "7"}, {"x", "3"}, {"y", "false"}}));
  ASSERT_EQ(request->ipv4_data.size(), 1u);
  EXPECT_EQ(request->ipv4_data[0].aux_addresses.at("router"), parse_cidr("10.1.0.254/16").value());
  ASSERT_EQ(request->ipv6_data.size(), 1u);
  EXPECT_EQ(request->ipv6_data[0].gateway, parse_cidr("fd00::1/64").value());
}

TEST(CodecTest, RequestAddressVariants) {
  auto gateway = decode_request_address(
      R"({"PoolID":"p","Address":"","Options":{"RequestAddressType":"com.docker.network.gateway"}})");
  ASSERT_TRUE(gateway);
  EXPECT_EQ(gateway->type, AddressRequestType::kGateway);
  EXPECT_FALSE(gateway->address);
  auto with_mac = decode_request_address(
      R"({"PoolID":"p","Address":"fd00::5","Options":{"com.docker.network.endpoint.macaddress":"02:42:0a:00:00:05"}})");
  ASSERT_TRUE(with_mac) << with_mac.error().message;
  EXPECT_EQ(with_mac->type, AddressRequestType::kEndpoint);
  EXPECT_EQ(with_mac->address, parse_ip("fd00::5").value());
  EXPECT_EQ(with_mac->mac_address, parse_mac("02:42:0a:00:00:05").value());
  auto bad_mac = decode_request_address(R"({"PoolID":"p","Options":{"com.docker.network.endpoint.macaddress":"x"}})");
  ASSERT_FALSE(bad_mac);
  EXPECT_EQ(bad_mac.error().message,
            "field \"Options.com.docker.network.endpoint.macaddress\": invalid MAC address \"x\"");
}

TEST(CodecTest, RequestPoolWithoutPool) {
  auto request = decode_request_pool(R"({"AddressSpace":"S","Pool":"","SubPool":"","Options":null,"V6":true})");
  ASSERT_TRUE(request);
  EXPECT_FALSE(request->pool);
  EXPECT_TRUE(request->v6);
  request = decode_request_pool(R"({"AddressSpace":"S","SubPool":"10.0.0.0/24"})");
  ASSERT_FALSE(request);
  EXPECT_EQ(request.error().message, "field \"SubPool\": given without \"Pool\"");
}

TEST(CodecTest, StringsWithEscapesAndUnicodeRoundTrip) {
  auto request = decode_join(R"({"NetworkID":"n","EndpointID":"e","SandboxKey":"/run/ns/\u00e9\"q"})");
  ASSERT_TRUE(request);
  EXPECT_EQ(request->sandbox_key, "/run/ns/\xc3\xa9\"q");
  // Invalid UTF-8 is refused by the parser, never echoed back broken.
  EXPECT_FALSE(decode_join("{\"NetworkID\":\"\xff\",\"EndpointID\":\"e\",\"SandboxKey\":\"/x\"}"));
  EXPECT_EQ(encode_network_error("bad \xff byte"), "{\"Err\":\"bad \xef\xbf\xbd byte\"}");
}

TEST(CodecTest, DepthLimitIgnoresBracketsInStrings) {
  const std::string brackets(100, '[');
  EXPECT_TRUE(decode_join(R"({"NetworkID":"n","EndpointID":"e","SandboxKey":")" + brackets + R"("})"));
  std::string nested = R"({"NetworkID":"n","EndpointID":"e","SandboxKey":"/x","Options":)";
  for (int i = 0; i < 40; ++i) nested += R"({"a":)";
  nested += "1" + std::string(41, '}');
  auto deep = decode_join(nested);
  ASSERT_FALSE(deep);
  EXPECT_EQ(deep.error().message, "JSON nested deeper than 32 levels");
}

TEST(CodecTest, Encoders) {
  EXPECT_EQ(encode_activate(true, false), R"({"Implements":["NetworkDriver"]})");
  EXPECT_EQ(encode_activate(false, true), R"({"Implements":["IpamDriver"]})");
  EndpointInterface requested;
  EndpointInterface settled;
  settled.address = parse_cidr("10.0.0.2/24").value();
  settled.address_ipv6 = parse_cidr("fd00::2/64").value();
  settled.mac_address = parse_mac("02:00:00:00:00:01").value();
  EXPECT_EQ(encode_create_endpoint(requested, settled),
            R"({"Interface":{"Address":"10.0.0.2/24","AddressIPv6":"fd00::2/64","MacAddress":"02:00:00:00:00:01"}})");
  requested.address = settled.address;
  requested.mac_address = settled.mac_address;
  EXPECT_EQ(encode_create_endpoint(requested, settled), R"({"Interface":{"AddressIPv6":"fd00::2/64"}})");
  EXPECT_EQ(encode_create_endpoint(settled, settled), "{}");

  JoinReply join;
  join.src_name = "veth0";
  join.dst_prefix = "eth";
  EXPECT_EQ(encode_join(join),
            R"({"DisableGatewayService":false,"InterfaceName":{"DstPrefix":"eth","SrcName":"veth0"}})");
  join.gateway_ipv6 = parse_ip("fd00::1").value();
  join.disable_gateway_service = true;
  EXPECT_EQ(encode_join(join),
            R"({"DisableGatewayService":true,"GatewayIPv6":"fd00::1","InterfaceName":{"DstPrefix":"eth",)"
            R"("SrcName":"veth0"}})");
  EXPECT_EQ(encode_endpoint_oper_info({}), R"({"Value":{}})");
  EXPECT_EQ(encode_ipam_error("x \"y\""), R"({"Err":"x \"y\"","Error":"x \"y\""})");
}

TEST(DispatcherTest, MissingDriversAre404AndNotAnnounced) {
  const Dispatcher none(nullptr, nullptr);
  EXPECT_EQ(none.handle("/Plugin.Activate", "").body, R"({"Implements":[]})");
  EXPECT_EQ(none.handle("/NetworkDriver.GetCapabilities", "").status, 404u);
  EXPECT_EQ(none.handle("/IpamDriver.GetCapabilities", "").status, 404u);
  // A query string is ignored; a target without '/' is unknown.
  EXPECT_EQ(none.handle("/Plugin.Activate?x=1", "").status, 200u);
  EXPECT_EQ(none.handle("Plugin.Activate", "").status, 404u);
}

}  // namespace
}  // namespace ferry::plugins::docker
