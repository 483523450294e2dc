// PoolSpec: pools from CIDR text of both families, the IPv6 managed window,
// address text in and out, and validation of definitions from the wire.
#include "control/ipam/pool.h"

#include <gtest/gtest.h>

namespace ferry::ipam {
namespace {

constexpr std::uint32_t kMaxBlocks = 4096;

PoolSpec make_ok(std::string_view cidr) {
  auto r = PoolSpec::make("net", cidr, "node-0", kMaxBlocks);
  EXPECT_TRUE(r) << cidr << ": " << (r ? "" : r.error().message);
  return r ? *r : PoolSpec{};
}

std::string make_error_of(std::string_view cidr) {
  auto r = PoolSpec::make("net", cidr, "node-0", kMaxBlocks);
  EXPECT_FALSE(r) << cidr << " was accepted as " << (r ? r->cidr() : "");
  return r ? "" : r.error().message;
}

bool mentions(const std::string& text, std::string_view what) { return text.find(what) != std::string::npos; }

TEST(PoolSpec, Ipv4FromCidr) {
  const PoolSpec s = make_ok("10.1.0.0/16");
  EXPECT_FALSE(s.is_v6());
  EXPECT_EQ(s.subnet, 0x0a010000U);
  EXPECT_EQ(s.prefix_len, 16U);
  EXPECT_EQ(s.block_size, 16U);
  EXPECT_EQ(s.cidr(), "10.1.0.0/16");
  EXPECT_EQ(s.format(0x0a010203), "10.1.2.3");
  EXPECT_EQ(s.window(), "10.1.0.0-10.1.255.255");
  // Same pool as the (subnet, length) factory.
  EXPECT_EQ(s, *PoolSpec::make("net", 0x0a010000, 16, "node-0", kMaxBlocks));
  EXPECT_EQ(make_ok("192.168.7.252/30").size(), 4U);

  EXPECT_TRUE(mentions(make_error_of("10.1.0.1/16"), "host bits"));
  EXPECT_TRUE(mentions(make_error_of("10.0.0.0/31"), "/8../30"));
  EXPECT_TRUE(mentions(make_error_of("10.0.0.0/7"), "/8../30"));
  EXPECT_TRUE(mentions(make_error_of("10.0.0.0"), "expected ADDRESS/LENGTH"));
  for (const char* bad : {"10.0.0.0/", "10.0.0.0/x", "10.0.0.0/-8", "10.0.0.0/24/1", "10.0.0.0/ 24", "10.0.0/24",
                          "10.0.0.256/24", "/24", "10.0.0.0/0024"}) {
    (void)make_error_of(bad);
  }
}

TEST(PoolSpec, Ipv6Slash64ManagesTheFirst16MAddresses) {
  const PoolSpec s = make_ok("fd00:1::/64");
  EXPECT_TRUE(s.is_v6());
  EXPECT_EQ(s.prefix6, 64U);
  EXPECT_EQ(s.prefix_len, 8U);  // 2^24 addresses in the window
  EXPECT_EQ(s.size(), 1U << 24);
  EXPECT_EQ(s.block_size, 4096U);
  EXPECT_EQ(s.num_blocks(), 4096U);
  EXPECT_EQ(s.subnet, 0U);
  EXPECT_EQ(s.cidr(), "fd00:1::/64");
  EXPECT_EQ(s.window(), "fd00:1::-fd00:1::ff:ffff");
  EXPECT_EQ(s.format(2), "fd00:1::2");
  EXPECT_EQ(s.format(0x00abcdef), "fd00:1::ab:cdef");
  // Reserved: the network itself, the gateway, the window's last address.
  EXPECT_TRUE(s.reserved(0));
  EXPECT_TRUE(s.reserved(1));
  EXPECT_TRUE(s.reserved(0x00ffffff));
  EXPECT_FALSE(s.reserved(2));
  EXPECT_EQ(s.usable_in(0), 4096U - 2);
  EXPECT_EQ(s.usable_in(4095), 4096U - 1);
}

TEST(PoolSpec, Ipv6SmallPrefixesAndRfc5952Text) {
  const PoolSpec s120 = make_ok("fd00::1:0/120");
  EXPECT_EQ(s120.prefix_len, 24U);
  EXPECT_EQ(s120.subnet, 0x00010000U);
  EXPECT_EQ(s120.block_size, 1U);
  EXPECT_EQ(s120.num_blocks(), 256U);
  EXPECT_EQ(s120.cidr(), "fd00::1:0/120");
  EXPECT_EQ(s120.format(s120.subnet + 0xff), "fd00::1:ff");

  const PoolSpec s126 = make_ok("fd00::10/126");
  EXPECT_EQ(s126.prefix_len, 30U);
  EXPECT_EQ(s126.size(), 4U);
  // ::10 network, ::11 gateway, ::13 last: ::12 only.
  EXPECT_EQ(s126.usable_in(0) + s126.usable_in(1) + s126.usable_in(2) + s126.usable_in(3), 1U);
  EXPECT_EQ(s126.usable_in(2), 1U);

  // A window that does not start at a 32-bit boundary of the address.
  const PoolSpec s100 = make_ok("fd00::1000:0/100");
  EXPECT_EQ(s100.prefix_len, 8U);
  EXPECT_EQ(s100.subnet, 0x10000000U);
  EXPECT_EQ(s100.format(s100.subnet + 2), "fd00::1000:2");

  // Canonical text: lower case, the longest zero run compressed.
  EXPECT_EQ(make_ok("FD00:AB::/64").cidr(), "fd00:ab::/64");
  EXPECT_EQ(make_ok("2001:db8:0:0:1:0:0:0/80").cidr(), "2001:db8:0:0:1::/80");
  EXPECT_EQ(make_ok("2001:0db8:0000:0000::/64").cidr(), "2001:db8::/64");
  EXPECT_EQ(make_ok("8000::/1").window(), "8000::-8000::ff:ffff");
}

TEST(PoolSpec, Ipv6RefusedPrefixes) {
  EXPECT_TRUE(mentions(make_error_of("fd00::/127"), "/1../126"));
  EXPECT_TRUE(mentions(make_error_of("fd00::/128"), "/1../126"));
  EXPECT_TRUE(mentions(make_error_of("::/0"), "/1../126"));
  EXPECT_TRUE(mentions(make_error_of("fd00:1::1/64"), "host bits"));
  EXPECT_TRUE(mentions(make_error_of("fd00:1:0:0:1::/64"), "host bits"));  // beyond the window, still host bits
  EXPECT_TRUE(mentions(make_error_of("fd00::1:80/120"), "host bits"));
  EXPECT_TRUE(mentions(make_error_of("::ffff:10.0.0.0/120"), "::/80"));
  EXPECT_TRUE(mentions(make_error_of("::/64"), "::/80"));
  EXPECT_TRUE(mentions(make_error_of("ff02::/64"), "multicast"));
  EXPECT_TRUE(mentions(make_error_of("fd00::g/64"), "invalid IP address"));
  EXPECT_TRUE(mentions(make_error_of("fd00::%eth0/64"), "invalid IP address"));
}

TEST(PoolSpec, ParseAddresses) {
  const PoolSpec v6 = make_ok("fd00:1::/64");
  EXPECT_EQ(*v6.parse("fd00:1::2"), 2U);
  EXPECT_EQ(*v6.parse("FD00:1::AB:CDEF"), 0x00abcdefU);
  EXPECT_EQ(*v6.parse("fd00:1:0:0:0:0:0:7"), 7U);
  auto outside = v6.parse("fd00:1::100:0");  // in the /64 but past the window
  ASSERT_FALSE(outside);
  EXPECT_TRUE(mentions(outside.error().message, "outside")) << outside.error().message;
  EXPECT_TRUE(mentions(outside.error().message, "fd00:1::-fd00:1::ff:ffff")) << outside.error().message;
  EXPECT_FALSE(v6.parse("fd00:2::5"));      // another network, same low bits
  EXPECT_FALSE(v6.parse("fd00:1:0:1::5"));  // same /48, other /64
  EXPECT_FALSE(v6.parse("::ffff:10.0.0.5"));
  auto with_len = v6.parse("fd00:1::5/64");
  ASSERT_FALSE(with_len);
  EXPECT_TRUE(mentions(with_len.error().message, "without a prefix length"));
  auto family = v6.parse("10.0.0.5");
  ASSERT_FALSE(family);
  EXPECT_TRUE(mentions(family.error().message, "not an IPv6 address"));
  EXPECT_FALSE(v6.parse(""));
  EXPECT_FALSE(v6.parse(std::string(200, ':')));

  const PoolSpec v4 = make_ok("10.0.0.0/24");
  EXPECT_EQ(*v4.parse("10.0.0.77"), 0x0a00004dU);
  EXPECT_FALSE(v4.parse("10.0.1.1"));
  auto mapped = v4.parse("::ffff:10.0.0.5");  // one text per address: the dotted quad
  ASSERT_FALSE(mapped);
  EXPECT_TRUE(mentions(mapped.error().message, "not an IPv4 address"));
  EXPECT_FALSE(v4.parse("10.0.0.5/24"));
  EXPECT_FALSE(v4.parse("10.0.0"));
  EXPECT_FALSE(v4.parse(" 10.0.0.5"));
  // format and parse are inverses over the window.
  for (const Addr a : {v6.subnet + 2, v6.subnet + 0x12345, v6.subnet + v6.size() - 2}) {
    EXPECT_EQ(*v6.parse(v6.format(a)), a);
  }
}

TEST(PoolSpec, ValidateRefusesInconsistentDefinitions) {
  const PoolSpec good = make_ok("fd00:1::/64");
  EXPECT_TRUE(good.validate(kMaxBlocks, 128));
  PoolSpec s = good;
  s.prefix_len = 9;  // window does not match /64
  EXPECT_FALSE(s.validate(1U << 20, 128));
  s = good;
  s.prefix6 = 127;
  EXPECT_FALSE(s.validate(kMaxBlocks, 128));
  s = good;
  s.net6[15] = 1;  // host bit
  s.subnet = 1;
  EXPECT_FALSE(s.validate(kMaxBlocks, 128));
  s = good;
  s.subnet = 0x00100000;  // window start is not the network's low bits
  EXPECT_FALSE(s.validate(kMaxBlocks, 128));
  s = good;
  s.net6 = {};  // ::/64
  EXPECT_FALSE(s.validate(kMaxBlocks, 128));
  s = good;
  s.block_size = 8;  // 2M blocks
  EXPECT_FALSE(s.validate(kMaxBlocks, 128));
  PoolSpec v4 = make_ok("10.0.0.0/24");
  v4.net6[0] = 0xfd;  // IPv4 pool with an IPv6 network
  EXPECT_FALSE(v4.validate(kMaxBlocks, 128));
  EXPECT_NE(make_ok("fd00:1::/64"), make_ok("fd00:2::/64"));  // same window numbers, other networks
}

}  // namespace
}  // namespace ferry::ipam
