// The IPAM's message helpers (control/ipam/wire.h): pool definitions round
// trip and are checked whole, runs are checked against their pool, updates
// are cut into datagram-sized items, and the wire prefix is added and
// required.
#include "control/ipam/wire.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "control/ipam/ipam.pb.h"

namespace ferry::ipam {
namespace {

TEST(IpamWire, PoolSpecsRoundTrip) {
  const Config config;
  for (const char* cidr : {"10.1.0.0/16", "fd00:1::/64", "192.168.7.0/24"}) {
    auto spec = PoolSpec::make("pool", cidr, "host-a", config.max_blocks);
    ASSERT_TRUE(spec) << cidr;
    v1::PoolSpec wire;
    to_proto(*spec, wire);
    auto back = from_proto(wire, config);
    ASSERT_TRUE(back) << cidr << ": " << back.error().message;
    EXPECT_EQ(*back, *spec) << cidr;
    EXPECT_EQ(wire.ipv6_network().empty(), !spec->is_v6()) << cidr;  // IPv4 messages as before IPv6 existed
  }
}

TEST(IpamWire, PoolSpecsAreCheckedWhole) {
  const Config config;
  auto v6 = PoolSpec::make("pool", "fd00:1::/64", "host-a", config.max_blocks);
  ASSERT_TRUE(v6);
  v1::PoolSpec wire;
  to_proto(*v6, wire);
  v1::PoolSpec no_network = wire;
  no_network.clear_ipv6_network();
  EXPECT_FALSE(from_proto(no_network, config));
  v1::PoolSpec short_network = wire;
  short_network.set_ipv6_network(std::string(15, '\0'));
  EXPECT_FALSE(from_proto(short_network, config));
  v1::PoolSpec no_prefix = wire;
  no_prefix.set_ipv6_prefix_len(0);
  EXPECT_FALSE(from_proto(no_prefix, config));
  v1::PoolSpec bad_name = wire;
  bad_name.set_name("");
  EXPECT_FALSE(from_proto(bad_name, config));
}

TEST(IpamWire, RunsAreCheckedAgainstThePool) {
  v1::Records records;
  auto spec = PoolSpec::make("pool", "10.0.0.0/24", "host-a", 4096);
  ASSERT_TRUE(spec);
  add_pool_runs(*spec, {ipam::Run{0, 4, Record{1, "host-b", false}}, ipam::Run{10, 2, Record{3, "host-c", true}}},
                records);
  ASSERT_EQ(records.pools_size(), 1);
  auto runs = decode_runs(records.pools(0).runs(), spec->num_blocks());
  ASSERT_TRUE(runs) << runs.error().message;
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[1], (ipam::Run{10, 2, Record{3, "host-c", true}}));
  EXPECT_FALSE(decode_runs(records.pools(0).runs(), 11));  // the second run ends past a smaller pool
}

TEST(IpamWire, UpdatesAreCutIntoDatagramSizedItems) {
  auto spec = PoolSpec::make("pool", "10.0.0.0/16", "host-a", 4096);
  ASSERT_TRUE(spec);
  EXPECT_TRUE(updates(*spec, {}).empty());
  std::vector<ipam::Run> runs;
  for (std::uint32_t b = 0; b < 400; b += 2) {
    runs.push_back(ipam::Run{b, 1, Record{2, "host-" + std::to_string(b), false}});
  }
  const auto msgs = updates(*spec, runs);
  ASSERT_GT(msgs.size(), 1u);
  std::vector<ipam::Run> back;
  for (const auto& msg : msgs) {
    ASSERT_EQ(msg.body_case(), v1::IpamMessage::kUpdate);
    ASSERT_EQ(msg.update().pools_size(), 1);
    EXPECT_LT(msg.ByteSizeLong(), 1300u);  // fits a datagram with the gossip header
    auto decoded = from_proto(msg.update().pools(0).spec(), Config{});
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, *spec);
    auto part = decode_runs(msg.update().pools(0).runs(), spec->num_blocks());
    ASSERT_TRUE(part);
    back.insert(back.end(), part->begin(), part->end());
  }
  EXPECT_EQ(back, runs);  // every run, in order, once
}

TEST(IpamWire, FramingAddsAndRequiresThePrefix) {
  v1::IpamMessage msg;
  msg.mutable_sync_request()->add_digests()->set_pool("pool");
  Framing plain;
  Framing ipam;
  ipam.set_prefix("I");
  const std::string a = plain.frame(msg);
  const std::string b = ipam.frame(msg);
  EXPECT_EQ(a, msg.SerializeAsString());
  EXPECT_EQ(b, "I" + a);
  v1::IpamMessage out;
  EXPECT_TRUE(ipam.unframe(gossip::as_bytes(b), out));
  EXPECT_EQ(out.sync_request().digests(0).pool(), "pool");
  EXPECT_FALSE(ipam.unframe(gossip::as_bytes(a), out));  // another layer's message
  EXPECT_TRUE(plain.unframe(gossip::as_bytes(a), out));
  EXPECT_FALSE(plain.unframe(gossip::as_bytes(std::string("\xff\xff\xff", 3)), out));
}

}  // namespace
}  // namespace ferry::ipam
