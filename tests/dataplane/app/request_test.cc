// The v1 API's request checking: malformed bytes and bad fields are refused
// with the right status, good requests become the right commands.
#include "dataplane/api/request.h"

#include <gtest/gtest.h>

namespace ferry::dp_api {
namespace {

RequestError expect_error(const v1::Request& request) {
  auto parsed = parse_request(request);
  EXPECT_TRUE(std::holds_alternative<RequestError>(parsed)) << request.ShortDebugString();
  return std::holds_alternative<RequestError>(parsed) ? std::get<RequestError>(parsed) : RequestError{};
}

Command expect_command(const v1::Request& request) {
  auto parsed = parse_request(request);
  EXPECT_TRUE(std::holds_alternative<Command>(parsed))
      << request.ShortDebugString() << ": " << std::get<RequestError>(parsed).message;
  return std::holds_alternative<Command>(parsed) ? std::get<Command>(parsed) : Command{};
}

TEST(Addr, MacRoundTripAndStrictness) {
  auto mac = parse_mac("02:AB:cd:00:10:ff");
  ASSERT_TRUE(mac);
  EXPECT_EQ(mac->to_string(), "02:ab:cd:00:10:ff");
  EXPECT_TRUE(parse_mac("02-ab-cd-00-10-ff"));
  for (const char* bad : {"", "02:ab:cd:00:10", "02:ab:cd:00:10:ff:00", "02:ab:cd:00:10:fg", "02:ab-cd:00:10:ff",
                          "2:ab:cd:00:10:ff0", " 02:ab:cd:00:10:f"}) {
    EXPECT_FALSE(parse_mac(bad)) << bad;
  }
  EXPECT_FALSE(parse_unicast_mac("ff:ff:ff:ff:ff:ff"));
  EXPECT_FALSE(parse_unicast_mac("01:00:5e:00:00:01"));
  EXPECT_FALSE(parse_unicast_mac("00:00:00:00:00:00"));
}

TEST(Addr, Ipv4AndPrefixes) {
  auto ip = parse_ipv4("10.1.2.3");
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->value, 0x0a010203U);
  EXPECT_EQ(format_ipv4(*ip), "10.1.2.3");
  for (const char* bad :
       {"", "10.1.2", "10.1.2.3.4", "10.1.2.256", "10..2.3", "a.b.c.d", "10.1.2.3 ", "1234.1.1.1", "+1.2.3.4"}) {
    EXPECT_FALSE(parse_ipv4(bad)) << bad;
  }
  auto prefix = parse_ipv4_prefix("10.1.2.3/24");
  ASSERT_TRUE(prefix);
  EXPECT_EQ(prefix->length, 24);
  EXPECT_TRUE(prefix->contains(*parse_ipv4("10.1.2.200")));
  EXPECT_FALSE(prefix->contains(*parse_ipv4("10.1.3.1")));
  EXPECT_FALSE(parse_ipv4_prefix("10.1.2.3"));
  EXPECT_TRUE(parse_ipv4_prefix("10.1.2.3", true));
  for (const char* bad : {"10.1.2.3/", "10.1.2.3/33", "10.1.2.3/-1", "10.1.2.3/2x", "/24"}) {
    EXPECT_FALSE(parse_ipv4_prefix(bad)) << bad;
  }
  EXPECT_FALSE(parse_unicast_ipv4("0.0.0.0"));
  EXPECT_FALSE(parse_unicast_ipv4("224.0.0.1"));
  EXPECT_FALSE(parse_unicast_ipv4("255.255.255.255"));
}

TEST(Addr, Ipv6AndPrefixes) {
  auto ip = parse_ipv6("FD00:0010:0000::0A");
  ASSERT_TRUE(ip);
  EXPECT_EQ(format_ipv6(*ip), "fd00:10::a") << "canonical (RFC 5952) text";
  EXPECT_EQ(format_ipv6(*parse_ipv6("2001:db8:0:0:1:0:0:1")), "2001:db8::1:0:0:1");
  for (const char* bad :
       {"", "fd00::1::2", "fd00:::1", "fd00::g", "fe80::1%eth0", "10.0.0.1", " fd00::1", "fd00::1/64"}) {
    EXPECT_FALSE(parse_ipv6(bad)) << bad;
  }
  auto prefix = parse_ipv6_prefix("fd00:10::a/64");
  ASSERT_TRUE(prefix);
  EXPECT_EQ(prefix->length, 64);
  EXPECT_EQ(format_ipv6_prefix(*prefix), "fd00:10::a/64");
  EXPECT_FALSE(parse_ipv6_prefix("fd00:10::a"));
  EXPECT_EQ(parse_ipv6_prefix("fd00:10::a", true)->length, 128);
  for (const char* bad : {"fd00::1/", "fd00::1/129", "fd00::1/-1", "fd00::1/6x", "/64"}) {
    EXPECT_FALSE(parse_ipv6_prefix(bad)) << bad;
  }
  EXPECT_TRUE(parse_endpoint_ipv6("fd00::1"));
  EXPECT_TRUE(parse_endpoint_ipv6("2001:db8::1"));
  for (const char* refused :
       {"::", "::1", "ff02::1", "ff05::1:3", "fe80::1", "febf::1", "::ffff:10.0.0.1", "::10.0.0.1"}) {
    auto r = parse_endpoint_ipv6(refused);
    ASSERT_FALSE(r) << refused;
    EXPECT_NE(r.error().message.find(refused), std::string::npos) << r.error().message;
  }
  auto n4 = parse_neighbour_ip("10.0.0.2");
  ASSERT_TRUE(n4);
  EXPECT_TRUE(std::holds_alternative<Ipv4>(*n4));
  auto n6 = parse_neighbour_ip("fd00:10:0::2");
  ASSERT_TRUE(n6);
  EXPECT_EQ(format_ip(*n6), "fd00:10::2");
  EXPECT_FALSE(parse_neighbour_ip("fe80::2"));
  EXPECT_FALSE(parse_neighbour_ip("224.0.0.1"));
}

TEST(Request, Ipv6EndpointAndNeighbourAddresses) {
  v1::Request r;
  auto* p = r.mutable_port_add();
  p->set_vni(4242);
  p->set_iface("veth1a2b");
  p->set_mac("02:00:0a:00:00:01");
  p->add_ips("10.0.0.1/24");
  p->add_ips("fd00:10::1/64");
  p->add_ips("2001:db8::1");
  auto cmd = expect_command(r);
  ASSERT_TRUE(std::holds_alternative<PortAddCmd>(cmd));
  const auto& port = std::get<PortAddCmd>(cmd);
  ASSERT_EQ(port.ips.size(), 1U);
  ASSERT_EQ(port.ips6.size(), 2U);
  EXPECT_EQ(format_ipv6_prefix(port.ips6[0]), "fd00:10::1/64");
  EXPECT_EQ(format_ipv6_prefix(port.ips6[1]), "2001:db8::1/128");

  // Every refused IPv6 endpoint address is an invalid argument that names it.
  for (const char* bad :
       {"ff02::1", "::", "::/0", "fe80::1/64", "::1", "::ffff:10.0.0.1", "fd00::1/129", "fd00::x", "fd00:10::1"}) {
    v1::Request b;
    auto* bp = b.mutable_port_add();
    bp->set_vni(5);
    bp->set_iface("veth0");
    bp->set_mac("02:00:00:00:00:01");
    bp->add_ips("fd00:10::1/64");
    bp->add_ips(bad);  // the last one: given twice
    const auto error = expect_error(b);
    EXPECT_EQ(error.status, v1::STATUS_INVALID_ARGUMENT) << bad;
    EXPECT_NE(error.message.find(bad), std::string::npos) << error.message;
  }

  v1::Request n;
  n.mutable_neigh_add()->set_vni(7);
  n.mutable_neigh_add()->set_ip("fd00:10:0:0::2");
  n.mutable_neigh_add()->set_mac("02:00:00:00:00:02");
  auto neigh = expect_command(n);
  ASSERT_TRUE(std::holds_alternative<NeighAddCmd>(neigh));
  EXPECT_EQ(format_ip(std::get<NeighAddCmd>(neigh).ip), "fd00:10::2");
  v1::Request nd;
  nd.mutable_neigh_del()->set_vni(7);
  nd.mutable_neigh_del()->set_ip("fd00:10::2");
  EXPECT_TRUE(std::holds_alternative<NeighDelCmd>(expect_command(nd)));
  for (const char* bad : {"ff02::1:ff00:2", "::", "fe80::2"}) {
    v1::Request b;
    b.mutable_neigh_add()->set_vni(7);
    b.mutable_neigh_add()->set_ip(bad);
    b.mutable_neigh_add()->set_mac("02:00:00:00:00:02");
    EXPECT_EQ(expect_error(b).status, v1::STATUS_INVALID_ARGUMENT) << bad;
    v1::Request d;
    d.mutable_neigh_del()->set_vni(7);
    d.mutable_neigh_del()->set_ip(bad);
    EXPECT_EQ(expect_error(d).status, v1::STATUS_INVALID_ARGUMENT) << bad;
  }
}

TEST(Request, MalformedBytesAreRefused) {
  const std::uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
  auto parsed = parse_request_bytes(garbage);
  ASSERT_TRUE(std::holds_alternative<RequestError>(parsed));
  EXPECT_EQ(std::get<RequestError>(parsed).status, v1::STATUS_MALFORMED);
  // Empty bytes parse as an empty Request: no operation.
  auto empty = parse_request_bytes({});
  ASSERT_TRUE(std::holds_alternative<RequestError>(empty));
  EXPECT_EQ(std::get<RequestError>(empty).status, v1::STATUS_INVALID_ARGUMENT);
}

TEST(Request, NewerApiVersionIsRefused) {
  v1::Request request;
  request.set_api_version(kApiVersion + 1);
  request.mutable_health_get();
  EXPECT_EQ(expect_error(request).status, v1::STATUS_UNSUPPORTED_VERSION);
}

TEST(Request, BadFieldsAreInvalidArguments) {
  std::vector<v1::Request> bad;
  auto add = [&](auto fill) {
    v1::Request r;
    fill(r);
    bad.push_back(r);
  };
  add([](v1::Request& r) { r.mutable_network_add()->set_vni(0); });
  add([](v1::Request& r) { r.mutable_network_add()->set_vni(1U << 24); });
  add([](v1::Request& r) { r.mutable_network_del()->set_vni(0); });
  add([](v1::Request& r) {
    auto* p = r.mutable_port_add();
    p->set_vni(5);
    p->set_iface("");
    p->set_mac("02:00:00:00:00:01");
  });
  add([](v1::Request& r) {
    auto* p = r.mutable_port_add();
    p->set_vni(5);
    p->set_iface("this-name-is-too-long");
    p->set_mac("02:00:00:00:00:01");
  });
  add([](v1::Request& r) {
    auto* p = r.mutable_port_add();
    p->set_vni(5);
    p->set_iface("veth0,iface=x");  // would smuggle devargs
    p->set_mac("02:00:00:00:00:01");
  });
  add([](v1::Request& r) {
    auto* p = r.mutable_port_add();
    p->set_vni(5);
    p->set_iface("veth0");
    p->set_mac("ff:ff:ff:ff:ff:ff");
  });
  add([](v1::Request& r) {
    auto* p = r.mutable_port_add();
    p->set_vni(5);
    p->set_iface("veth0");
    p->set_mac("02:00:00:00:00:01");
    p->add_ips("10.0.0.1/33");
  });
  add([](v1::Request& r) {
    auto* p = r.mutable_port_add();
    p->set_vni(5);
    p->set_iface("veth0");
    p->set_mac("02:00:00:00:00:01");
    p->add_ips("10.0.0.1/24");
    p->add_ips("10.0.0.1");
  });
  add([](v1::Request& r) {
    auto* p = r.mutable_port_add();
    p->set_vni(5);
    p->set_iface("veth0");
    p->set_mac("02:00:00:00:00:01");
    p->set_driver("tap");
  });
  add([](v1::Request& r) {
    auto* f = r.mutable_fdb_add();
    f->set_vni(5);
    f->set_mac("02:00:00:00:00:01");
    f->set_vtep("224.0.0.1");
  });
  add([](v1::Request& r) {
    auto* f = r.mutable_fdb_del();
    f->set_vni(5);
    f->set_mac("nonsense");
  });
  add([](v1::Request& r) {
    auto* n = r.mutable_neigh_add();
    n->set_vni(5);
    n->set_ip("10.0.0.1");
    n->set_mac("01:00:00:00:00:01");
  });
  add([](v1::Request& r) {
    auto* n = r.mutable_neigh_del();
    n->set_vni(5);
    n->set_ip("10.0.0");
  });
  add([](v1::Request& r) {
    auto* f = r.mutable_flood_add();
    f->set_vni(5);
    f->set_vtep("");
  });
  add([](v1::Request& r) {
    auto* f = r.mutable_flood_del();
    f->set_vni(16777216);
    f->set_vtep("10.0.0.1");
  });
  add([](v1::Request&) {});  // no operation
  for (const auto& request : bad) {
    const auto error = expect_error(request);
    EXPECT_EQ(error.status, v1::STATUS_INVALID_ARGUMENT) << request.ShortDebugString();
    EXPECT_FALSE(error.message.empty());
  }
}

TEST(Request, GoodRequestsBecomeCommands) {
  v1::Request r;
  auto* p = r.mutable_port_add();
  p->set_vni(4242);
  p->set_iface("veth1a2b");
  p->set_mac("02:00:0a:00:00:01");
  p->add_ips("10.0.0.1/24");
  p->add_ips("10.0.0.9");
  p->set_driver("af_xdp");
  auto cmd = expect_command(r);
  ASSERT_TRUE(std::holds_alternative<PortAddCmd>(cmd));
  const auto& port = std::get<PortAddCmd>(cmd);
  EXPECT_EQ(port.vni, 4242U);
  EXPECT_EQ(port.iface, "veth1a2b");
  EXPECT_EQ(port.mac.to_string(), "02:00:0a:00:00:01");
  ASSERT_EQ(port.ips.size(), 2U);
  EXPECT_EQ(format_ipv4_prefix(port.ips[1]), "10.0.0.9/32");
  EXPECT_EQ(port.driver, EndpointDriver::kAfXdp);
  p->set_driver("vnet");
  EXPECT_EQ(std::get<PortAddCmd>(expect_command(r)).driver, EndpointDriver::kVnet);

  v1::Request f;
  f.mutable_fdb_add()->set_vni(kMaxVni);
  f.mutable_fdb_add()->set_mac("02:00:00:00:00:02");
  f.mutable_fdb_add()->set_vtep("192.168.0.2");
  auto fdb = expect_command(f);
  ASSERT_TRUE(std::holds_alternative<FdbAddCmd>(fdb));
  EXPECT_EQ(std::get<FdbAddCmd>(fdb).vtep.value, 0xc0a80002U);

  // Serialized and parsed back through bytes.
  std::string bytes;
  ASSERT_TRUE(f.SerializeToString(&bytes));
  auto from_bytes = parse_request_bytes({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
  EXPECT_TRUE(std::holds_alternative<Command>(from_bytes));
}

}  // namespace
}  // namespace ferry::dp_api
