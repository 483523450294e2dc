// Which interfaces may become endpoint ports: the rules on facts, and the
// facts of loopback as this kernel reports them.
#include "dataplane/app/endpoint_iface.h"

#include <gtest/gtest.h>
#include <net/if.h>

namespace ferry::dataplane::app {
namespace {

InterfaceFacts veth(const char* name, unsigned ifindex) {
  InterfaceFacts f;
  f.name = name;
  f.ifindex = ifindex;
  return f;
}

TEST(EndpointInterface, ADedicatedVethEndIsFit) { EXPECT_EQ(endpoint_refusal(veth("veth1", 7), 3), ""); }

TEST(EndpointInterface, EachUnfitKindIsRefusedNamingWhy) {
  EXPECT_NE(endpoint_refusal(veth("ul0", 3), 3).find("is the uplink"), std::string::npos);
  auto lo = veth("lo", 1);
  lo.loopback = true;
  EXPECT_NE(endpoint_refusal(lo, 3).find("loopback"), std::string::npos);
  auto enslaved = veth("mg1", 8);
  enslaved.master = "br0";
  const auto why = endpoint_refusal(enslaved, 3);
  EXPECT_NE(why.find("enslaved to br0"), std::string::npos) << why;
  auto addressed = veth("mg0", 9);
  addressed.addresses = {"10.0.0.5", "fd00::5", "10.0.0.6", "10.0.0.7"};
  const auto said = endpoint_refusal(addressed, 3);
  EXPECT_NE(said.find("carries IP addresses (10.0.0.5, fd00::5, 10.0.0.6 and 1 more)"), std::string::npos) << said;
  EXPECT_EQ(endpoint_refusal(veth("veth1", 3), 0), "") << "no uplink here: ifindex 3 is nobody's";
}

TEST(EndpointInterface, LoopbackFactsFromTheKernel) {
  auto facts = read_interface_facts("lo");
  ASSERT_TRUE(facts) << facts.error().message;
  EXPECT_TRUE(facts->loopback);
  EXPECT_EQ(facts->ifindex, if_nametoindex("lo"));
  EXPECT_TRUE(facts->master.empty());
  auto checked = check_endpoint_interface("lo", "");
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().code, ErrorCode::kInvalid);
  auto missing = read_interface_facts("ferry-nosuch0");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(check_endpoint_interface("ferry-nosuch0", "")) << "attaching says it does not exist";
}

}  // namespace
}  // namespace ferry::dataplane::app
