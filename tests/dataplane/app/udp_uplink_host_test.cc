// The UDP uplink's start-up checks that need no root: finding the interface
// of an address, the port-in-use message, reading offloads. Kernel vxlan
// devices holding the port are covered by the integration test.
#include "dataplane/app/udp_uplink_host.h"

#include <gtest/gtest.h>

namespace ferry::dataplane::app {
namespace {

IpAddress ip(const char* text) { return *parse_ip(text); }

TEST(UdpUplinkHost, FindsTheInterfaceOfAnAddress) {
  auto lo = interface_with_address(ip("127.0.0.1"));
  ASSERT_TRUE(lo);
  ASSERT_TRUE(*lo);
  EXPECT_EQ(**lo, "lo");
  auto none = interface_with_address(ip("192.0.2.77"));  // TEST-NET-1: nobody's
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

TEST(UdpUplinkHost, AnAddressThatIsNotOursIsRefused) {
  UdpUplinkHostCheck check;
  check.local = ip("192.0.2.77");
  auto host = check_udp_uplink_host(check);
  ASSERT_FALSE(host);
  EXPECT_NE(host.error().message.find("not configured on any interface"), std::string::npos);
  check.local = ip("127.0.0.1");
  check.expected_iface = "eth9";
  host = check_udp_uplink_host(check);
  ASSERT_FALSE(host);
  EXPECT_NE(host.error().message.find("is on lo, not on --uplink eth9"), std::string::npos) << host.error().message;
}

TEST(UdpUplinkHost, LoopbackPassesTheChecks) {
  UdpUplinkHostCheck check;
  check.local = ip("127.0.0.1");
  check.port = 47891;
  check.enable_gro = false;
  auto host = check_udp_uplink_host(check);
  ASSERT_TRUE(host) << host.error().message;
  EXPECT_EQ(host->iface, "lo");
  EXPECT_GT(host->mtu, 0U);
  EXPECT_FALSE(host->gro_enabled_by_us);
  EXPECT_TRUE(host->tx_checksum);  // lo offloads checksums
}

TEST(UdpUplinkHost, ThePortInUseMessageNamesTheVxlanDevice) {
  const std::vector<VxlanDevice> devices = {{"vx100", 4789, true}, {"vxdown", 4789, false}, {"vx8472", 8472, true}};
  EXPECT_EQ(port_in_use_message(ip("10.0.0.1"), 4789, devices),
            "UDP port 4789 is held by the kernel vxlan device vx100 in this network namespace: delete it (ip link del "
            "vx100) or use another --vxlan-port");
  EXPECT_EQ(port_in_use_message(ip("10.0.0.1"), 4790, devices),
            "UDP port 4790 on 10.0.0.1 is in use by another socket (ss -ulpn 'sport = :4790')");
}

TEST(UdpUplinkHost, ListsVxlanDevicesWithoutError) {
  auto devices = vxlan_devices();
  ASSERT_TRUE(devices) << devices.error().message;
  for (const auto& d : *devices) EXPECT_FALSE(d.name.empty());
}

}  // namespace
}  // namespace ferry::dataplane::app
