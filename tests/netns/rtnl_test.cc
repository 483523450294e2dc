// Namespace and Rtnl: the building blocks others call directly (dataplane
// tests bring veths up with them; the agent queries links).
#include "netns/rtnl.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "netns/namespace.h"
#include "tests/harness/topology.h"

namespace ferry::netns {
namespace {

using harness::netns_path;

TEST(NamespaceOpen, RejectsWhatIsNotANetworkNamespace) {
  auto missing = Namespace::open("/var/run/netns/fy-surely-missing");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().sys_errno, ENOENT);
  EXPECT_NE(missing.error().message.find("does not exist"), std::string::npos) << missing.error().message;
  auto plain = Namespace::open("/etc/hostname");
  ASSERT_FALSE(plain);
  EXPECT_NE(plain.error().message.find("not a namespace file"), std::string::npos) << plain.error().message;
  auto uts = Namespace::open("/proc/self/ns/uts");
  ASSERT_FALSE(uts);
  EXPECT_NE(uts.error().message.find("not a network namespace"), std::string::npos) << uts.error().message;
  EXPECT_FALSE(Namespace::open(""));
}

TEST(NamespaceOpen, ProcPathsAndIdentity) {
  auto self = Namespace::open("/proc/self/ns/net");
  ASSERT_TRUE(self) << self.error().message;
  auto current = Namespace::current();
  ASSERT_TRUE(current);
  EXPECT_TRUE(self->same_as(*current));
}

class RtnlTest : public harness::TopologyTest {
 protected:
  harness::TopologyConfig topology_config() const override {
    harness::TopologyConfig c;
    c.hosts = 1;
    return c;
  }
};

TEST_F(RtnlTest, RunEntersOnlyTheWorkerThread) {
  auto before = Namespace::current();
  ASSERT_TRUE(before);
  auto host = Namespace::open(netns_path(topo_->host(1)));
  ASSERT_TRUE(host) << host.error().message;
  EXPECT_FALSE(host->same_as(*before));
  auto inside = host->run([]() -> Result<ino_t> {
    auto cur = Namespace::current();
    if (!cur) return cur.error();
    return cur->inode();
  });
  ASSERT_TRUE(inside) << inside.error().message;
  EXPECT_EQ(*inside, host->inode());
  auto after = Namespace::current();
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->same_as(*before));
}

TEST_F(RtnlTest, LinkOperations) {
  auto rt = open_rtnl(netns_path(topo_->host(1)));
  ASSERT_TRUE(rt) << rt.error().message;

  auto ul0 = rt->get_link("ul0");
  ASSERT_TRUE(ul0) << ul0.error().message;
  EXPECT_EQ(ul0->kind, "veth");
  EXPECT_TRUE(ul0->up);
  EXPECT_TRUE(ul0->peer_elsewhere);  // its peer is in the fabric namespace
  auto missing = rt->find_link("nosuchlink");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
  auto missing_err = rt->get_link("nosuchlink");
  ASSERT_FALSE(missing_err);
  EXPECT_EQ(missing_err.error().sys_errno, ENODEV);

  ASSERT_TRUE(rt->create_veth(VethPairSpec{"ta", "tb", nullptr, MacAddress{{2, 0, 0, 0, 0, 0xb}}, 9000}));
  auto dup = rt->create_veth(VethPairSpec{"ta", "tc", nullptr, std::nullopt, 1500});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().sys_errno, EEXIST);
  EXPECT_FALSE(*rt->link_exists("tc"));  // all or nothing

  auto ta = rt->get_link("ta");
  auto tb = rt->get_link("tb");
  ASSERT_TRUE(ta && tb);
  EXPECT_EQ(ta->peer_ifindex, tb->ifindex);
  EXPECT_FALSE(ta->peer_elsewhere);
  EXPECT_EQ(tb->mac.to_string(), "02:00:00:00:00:0b");
  EXPECT_EQ(tb->mtu, 9000U);
  EXPECT_FALSE(tb->up);
  auto by_index = rt->find_link(tb->ifindex);
  ASSERT_TRUE(by_index && by_index->has_value());
  EXPECT_EQ((*by_index)->name, "tb");

  ASSERT_TRUE(rt->set_mtu("ta", 1280));
  EXPECT_EQ(rt->get_link("ta")->mtu, 1280U);
  EXPECT_FALSE(rt->set_mtu("ta", 20));
  ASSERT_TRUE(rt->set_mac("ta", MacAddress{{2, 0, 0, 0, 0, 0xa}}));
  EXPECT_EQ(rt->get_link("ta")->mac.to_string(), "02:00:00:00:00:0a");
  ASSERT_TRUE(rt->set_up("ta", true));
  EXPECT_TRUE(rt->get_link("ta")->up);
  ASSERT_TRUE(rt->set_up("ta", false));
  EXPECT_FALSE(rt->get_link("ta")->up);

  ASSERT_TRUE(rt->set_tx_checksum("tb", false));
  EXPECT_FALSE(*rt->tx_checksum("tb"));
  ASSERT_TRUE(rt->set_tx_checksum("tb", true));
  EXPECT_TRUE(*rt->tx_checksum("tb"));
  EXPECT_FALSE(rt->set_tx_checksum("nosuchlink", false));

  ASSERT_TRUE(rt->rename("tb", "tb2"));
  EXPECT_TRUE(*rt->link_exists("tb2"));
  EXPECT_FALSE(rt->set_up("tb", true));

  auto del = rt->delete_link("ta");
  ASSERT_TRUE(del) << del.error().message;
  EXPECT_TRUE(*del);
  EXPECT_FALSE(*rt->link_exists("tb2"));  // the peer goes too
  EXPECT_FALSE(*rt->delete_link("ta"));
}

TEST_F(RtnlTest, AddressesAndRoutesAreIdempotent) {
  auto rt = open_rtnl(netns_path(topo_->host(1)));
  ASSERT_TRUE(rt) << rt.error().message;
  const int ifindex = rt->get_link("ul0")->ifindex;
  const IpPrefix a = *parse_interface_address("10.40.0.1/24");
  ASSERT_TRUE(rt->add_address(ifindex, a));
  ASSERT_TRUE(rt->add_address(ifindex, a));
  auto addrs = rt->addresses(ifindex);
  ASSERT_TRUE(addrs);
  EXPECT_EQ(std::count(addrs->begin(), addrs->end(), a), 1);
  EXPECT_NE(std::find(addrs->begin(), addrs->end(), *parse_interface_address("172.31.0.1/24")), addrs->end());

  const Route r{*parse_prefix("10.41.0.0/16"), *parse_ip("10.40.0.9")};
  ASSERT_TRUE(rt->add_route(ifindex, r));
  ASSERT_TRUE(rt->add_route(ifindex, r));
  auto conflict = rt->add_route(ifindex, Route{*parse_prefix("10.41.0.0/16"), *parse_ip("10.40.0.8")});
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error().sys_errno, EEXIST);
  auto routes = rt->routes(ifindex);
  ASSERT_TRUE(routes);
  EXPECT_EQ(*routes, (std::vector<Route>{r}));  // the kernel's prefix routes are left out

  // The kernel's own words come through (extended ACK).
  auto unreachable = rt->add_route(ifindex, Route{*parse_prefix("10.42.0.0/16"), *parse_ip("10.99.0.1")});
  ASSERT_FALSE(unreachable);
  EXPECT_NE(unreachable.error().message.find("10.99.0.1"), std::string::npos) << unreachable.error().message;
  EXPECT_NE(unreachable.error().sys_errno, 0);
}

}  // namespace
}  // namespace ferry::netns
