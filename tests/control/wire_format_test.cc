// The hand-written encoding of gossip.proto fields (control/gossip/
// wire_format.h) must decode with protobuf exactly as the messages it stands
// for; the limits checked on decode are table-tested.
#include "control/gossip/wire_format.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "control/gossip/gossip.pb.h"

namespace ferry::gossip {
namespace {

TEST(WireFormat, VarintIsProtobufsEncoding) {
  const uint32_t values[] = {1, 127, 128, 300, 16383, 16384, 1U << 21, 1U << 28, std::numeric_limits<uint32_t>::max()};
  for (const uint32_t v : values) {
    std::string bytes;
    wire::append_varint(bytes, (uint64_t{1} << 3) | 0);  // Ack field 1 (seq), wire type varint
    wire::append_varint(bytes, v);
    v1::Ack ack;
    ack.set_seq(v);
    EXPECT_EQ(bytes, ack.SerializeAsString()) << v;
  }
}

TEST(WireFormat, FieldsDecodeAsAPacket) {
  v1::Ping ping;
  ping.set_seq(7);
  ping.set_target("node-2");
  std::string bytes;
  wire::append_field(bytes, wire::kFrom, "node-1");
  wire::append_message(bytes, wire::kPing, ping);
  wire::append_field(bytes, wire::kUser, std::string(300, 'u'));  // a two-byte length
  bytes += wire::framed_accusation<v1::Suspect>(wire::kSuspect, "node-3", 9, "node-1");
  bytes += wire::framed_accusation<v1::Dead>(wire::kDead, "node-4", 2, "node-4");

  v1::Packet pkt;
  ASSERT_TRUE(pkt.ParseFromString(bytes));
  EXPECT_EQ(pkt.from(), "node-1");
  ASSERT_EQ(pkt.ping_size(), 1);
  EXPECT_EQ(pkt.ping(0).seq(), 7u);
  EXPECT_EQ(pkt.ping(0).target(), "node-2");
  ASSERT_EQ(pkt.user_size(), 1);
  EXPECT_EQ(pkt.user(0), std::string(300, 'u'));
  ASSERT_EQ(pkt.suspect_size(), 1);
  EXPECT_EQ(pkt.suspect(0).name(), "node-3");
  EXPECT_EQ(pkt.suspect(0).incarnation(), 9u);
  EXPECT_EQ(pkt.suspect(0).from(), "node-1");
  ASSERT_EQ(pkt.dead_size(), 1);
  EXPECT_EQ(pkt.dead(0).name(), "node-4");
  EXPECT_EQ(pkt.dead(0).from(), "node-4");
  EXPECT_TRUE(pkt.GetReflection()->GetUnknownFields(pkt).empty());
}

TEST(WireFormat, UserOverheadCoversPayloadsBelowTwoMebibytes) {
  for (const size_t size : {size_t{0}, size_t{127}, size_t{128}, size_t{16383}, size_t{16384}, (size_t{2} << 20) - 1}) {
    std::string bytes;
    wire::append_field(bytes, wire::kUser, std::string(size, 'x'));
    EXPECT_LE(bytes.size(), size + wire::kUserOverhead) << size;
  }
}

TEST(WireFormat, NamesAndPorts) {
  EXPECT_FALSE(wire::valid_name(""));
  EXPECT_TRUE(wire::valid_name("a"));
  EXPECT_TRUE(wire::valid_name(std::string(wire::kMaxNameSize, 'n')));
  EXPECT_FALSE(wire::valid_name(std::string(wire::kMaxNameSize + 1, 'n')));
  EXPECT_FALSE(wire::valid_port(0));
  EXPECT_TRUE(wire::valid_port(1));
  EXPECT_TRUE(wire::valid_port(65535));
  EXPECT_FALSE(wire::valid_port(65536));
  EXPECT_EQ(wire::make_address(0x0a000001, 7946), (Address{0x0a000001, 7946}));
}

}  // namespace
}  // namespace ferry::gossip
