#include "bench/gen/frame.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "bench/gen/checksum.h"

namespace ferry::bench::gen {
namespace {

// Independent checks: sum the whole region the slow way.
bool ipv4_checksum_ok(const std::uint8_t* ip) { return csum_fold(csum_add_bytes(0, ip, 20)) == 0xFFFF; }

bool udp_checksum_ok(const std::uint8_t* ip) {
  const std::uint8_t* udp = ip + 20;
  const std::uint16_t udp_size = get_be16(udp + 4);
  if (get_be16(udp + 6) == 0) return false;           // not computed
  std::uint64_t sum = csum_add_bytes(0, ip + 12, 8);  // source and destination addresses
  sum += 17 + udp_size;
  sum = csum_add_bytes(sum, udp, udp_size);
  return csum_fold(sum) == 0xFFFF;
}

std::vector<std::uint8_t> copy_of(const FrameTemplate& t) { return {t.bytes().begin(), t.bytes().end()}; }

TEST(FrameTemplate, Plain64ByteFrameByteByByte) {
  FrameSpec spec;
  spec.frame_size = 64;
  spec.src_mac = MacAddress{{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}};
  spec.dst_mac = MacAddress{{0x02, 0x66, 0x77, 0x88, 0x99, 0xaa}};
  spec.stream = 5;
  auto t = FrameTemplate::build(spec);
  ASSERT_TRUE(t) << t.error().message;
  ASSERT_EQ(t->size(), 60U);
  const std::uint8_t* f = t->bytes().data();
  const std::vector<std::uint8_t> eth = {0x02, 0x66, 0x77, 0x88, 0x99, 0xaa, 0x02,
                                         0x11, 0x22, 0x33, 0x44, 0x55, 0x08, 0x00};
  EXPECT_EQ(std::vector<std::uint8_t>(f, f + 14), eth);
  const std::uint8_t* ip = f + 14;
  EXPECT_EQ(ip[0], 0x45);
  EXPECT_EQ(get_be16(ip + 2), 46);      // 60 - 14
  EXPECT_EQ(get_be16(ip + 6), 0x4000);  // DF
  EXPECT_EQ(ip[8], 64);
  EXPECT_EQ(ip[9], 17);
  EXPECT_EQ(get_be32(ip + 12), 0xC6120001U);  // 198.18.0.1
  EXPECT_EQ(get_be32(ip + 16), 0xC6120002U);
  EXPECT_TRUE(ipv4_checksum_ok(ip));
  const std::uint8_t* udp = ip + 20;
  EXPECT_EQ(get_be16(udp), 1024);
  EXPECT_EQ(get_be16(udp + 2), 9);
  EXPECT_EQ(get_be16(udp + 4), 26);  // 8 + 18-byte stamp
  EXPECT_TRUE(udp_checksum_ok(ip));
  Stamp stamp;
  ASSERT_TRUE(decode_stamp(udp + 8, 18, &stamp));
  EXPECT_EQ(stamp, (Stamp{5, 0, 0}));
}

TEST(FrameTemplate, PatchKeepsChecksumsRightForEveryFlowAndSize) {
  for (std::uint32_t size : {64U, 65U, 128U, 1001U, 1518U, 9216U}) {
    FrameSpec spec;
    spec.frame_size = size;
    spec.flows = 5000;
    auto t = FrameTemplate::build(spec);
    ASSERT_TRUE(t) << t.error().message;
    auto frame = copy_of(*t);
    FlowCursor flow(spec.flows);
    std::uint64_t tsc = 0x0123456789ABCDEFULL;
    for (std::uint32_t i = 0; i < 6000; ++i, flow.next()) {
      tsc = tsc * 6364136223846793005ULL + 1442695040888963407ULL;
      t->patch(frame.data(), flow, i * 2654435761U, tsc);
      if (i % 97 != 0 && i != 4095 && i != 4096 && i != 4999 && i != 5000) continue;  // check a spread
      const std::uint8_t* ip = frame.data() + 14;
      const std::uint32_t flow_index = i % 5000;
      ASSERT_EQ(get_be16(ip + 20), 1024 + flow_index % 4096) << size << " " << i;
      ASSERT_EQ(get_be32(ip + 12), 0xC6120001U + flow_index / 4096) << size << " " << i;
      ASSERT_TRUE(ipv4_checksum_ok(ip)) << size << " " << i;
      ASSERT_TRUE(udp_checksum_ok(ip)) << size << " " << i;
      Stamp stamp;
      ASSERT_TRUE(decode_stamp(ip + 28, size - 4 - 42, &stamp));
      ASSERT_EQ(stamp.seq, i * 2654435761U);
      ASSERT_EQ(stamp.tsc, tsc);
    }
  }
}

TEST(FrameTemplate, NoUdpChecksumSendsZero) {
  FrameSpec spec;
  spec.udp_checksum = false;
  auto t = FrameTemplate::build(spec);
  ASSERT_TRUE(t);
  auto frame = copy_of(*t);
  t->patch(frame.data(), FlowCursor(1), 77, 88);
  EXPECT_EQ(get_be16(frame.data() + 34 + 6), 0);
  EXPECT_TRUE(ipv4_checksum_ok(frame.data() + 14));
}

TEST(FrameTemplate, VxlanEncapsulatedFrame) {
  for (bool outer_csum : {false, true}) {
    FrameSpec spec;
    spec.frame_size = 150;
    spec.vxlan = true;
    spec.vni = 0x123456;
    spec.outer_udp_checksum = outer_csum;
    spec.flows = 300;
    auto t = FrameTemplate::build(spec);
    ASSERT_TRUE(t) << t.error().message;
    ASSERT_EQ(t->size(), 146U);
    auto frame = copy_of(*t);
    FlowCursor flow(spec.flows);
    for (std::uint32_t i = 0; i < 400; ++i, flow.next()) {
      t->patch(frame.data(), flow, i, 1000 + i);
      const std::uint8_t* f = frame.data();
      EXPECT_EQ(std::vector<std::uint8_t>(f, f + 12),
                (std::vector<std::uint8_t>{0x02, 0, 0, 0, 1, 0x02, 0x02, 0, 0, 0, 1, 0x01}));
      EXPECT_EQ(get_be16(f + 12), 0x0800);
      const std::uint8_t* outer_ip = f + 14;
      EXPECT_EQ(get_be16(outer_ip + 2), 132);  // 146 - 14
      EXPECT_EQ(get_be32(outer_ip + 12), 0xC6130001U);
      EXPECT_EQ(get_be32(outer_ip + 16), 0xC6130002U);
      EXPECT_TRUE(ipv4_checksum_ok(outer_ip));
      const std::uint8_t* outer_udp = outer_ip + 20;
      EXPECT_GE(get_be16(outer_udp), 49152);
      EXPECT_EQ(get_be16(outer_udp + 2), 4789);
      EXPECT_EQ(get_be16(outer_udp + 4), 112);
      if (outer_csum) {
        EXPECT_TRUE(udp_checksum_ok(outer_ip)) << i;
      } else {
        EXPECT_EQ(get_be16(outer_udp + 6), 0);
      }
      const std::uint8_t* vxlan = outer_udp + 8;
      EXPECT_EQ(std::vector<std::uint8_t>(vxlan, vxlan + 8),
                (std::vector<std::uint8_t>{0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0}));
      const std::uint8_t* inner_ip = vxlan + 8 + 14;
      EXPECT_EQ(get_be16(vxlan + 8 + 12), 0x0800);
      EXPECT_EQ(get_be16(inner_ip + 2), 82);  // 146 - 64
      EXPECT_TRUE(ipv4_checksum_ok(inner_ip));
      EXPECT_TRUE(udp_checksum_ok(inner_ip));
      EXPECT_EQ(get_be16(inner_ip + 20), 1024 + i % 300);
    }
  }
}

TEST(FrameTemplate, OuterSourcePortFollowsTheInnerFlow) {
  FrameSpec spec;
  spec.frame_size = 128;
  spec.vxlan = true;
  spec.flows = 64;
  auto t = FrameTemplate::build(spec);
  ASSERT_TRUE(t);
  auto frame = copy_of(*t);
  FlowCursor flow(spec.flows);
  std::vector<std::uint16_t> ports;
  for (int i = 0; i < 64; ++i, flow.next()) {
    t->patch(frame.data(), flow, 0, 0);
    ports.push_back(get_be16(frame.data() + 34));
  }
  std::sort(ports.begin(), ports.end());
  EXPECT_EQ(std::unique(ports.begin(), ports.end()), ports.end()) << "64 flows, 64 distinct outer ports";
}

TEST(FrameSpec, Validate) {
  struct Case {
    const char* name;
    void (*mutate)(FrameSpec&);
    const char* error;  // nullptr: valid
  };
  const Case cases[] = {
      {"defaults", [](FrameSpec&) {}, nullptr},
      {"63 bytes", [](FrameSpec& s) { s.frame_size = 63; }, "frame size 63 out of range"},
      {"jumbo", [](FrameSpec& s) { s.frame_size = 9216; }, nullptr},
      {"too big", [](FrameSpec& s) { s.frame_size = 9217; }, "out of range"},
      {"vxlan 113", [](FrameSpec& s) { s.vxlan = true, s.frame_size = 113; }, "VXLAN"},
      {"vxlan 114", [](FrameSpec& s) { s.vxlan = true, s.frame_size = 114; }, nullptr},
      {"no flows", [](FrameSpec& s) { s.flows = 0; }, "flow count 0"},
      {"ports run out", [](FrameSpec& s) { s.src_port = 65000, s.flows = 1000; }, "runs past 65535"},
      {"ips run out", [](FrameSpec& s) { s.src_ip = 0xFFFFFFFF, s.flows = 5000; }, "runs past 255.255.255.255"},
      {"stream 64", [](FrameSpec& s) { s.stream = 64; }, "stream id 64"},
      {"vni too big", [](FrameSpec& s) { s.vxlan = true, s.frame_size = 128, s.vni = 1U << 24; }, "VNI"},
  };
  for (const auto& c : cases) {
    FrameSpec spec;
    c.mutate(spec);
    auto r = spec.validate();
    if (c.error == nullptr) {
      EXPECT_TRUE(r) << c.name << ": " << r.error().message;
    } else {
      ASSERT_FALSE(r) << c.name;
      EXPECT_NE(r.error().message.find(c.error), std::string::npos) << c.name << ": " << r.error().message;
    }
  }
}

TEST(FlowCursor, PortsFirstThenAddresses) {
  FlowCursor flow(5000);
  for (int i = 0; i < 4095; ++i) flow.next();
  EXPECT_EQ(flow.port_offset(), 4095);
  EXPECT_EQ(flow.ip_offset(), 0U);
  flow.next();
  EXPECT_EQ(flow.index(), 4096U);
  EXPECT_EQ(flow.port_offset(), 0);
  EXPECT_EQ(flow.ip_offset(), 1U);
  for (int i = 0; i < 903; ++i) flow.next();
  EXPECT_EQ(flow.index(), 4999U);
  flow.next();
  EXPECT_EQ(flow.index(), 0U);
  EXPECT_EQ(flow.port_offset(), 0);
  EXPECT_EQ(flow.ip_offset(), 0U);
}

TEST(ParseFrame, FindsTheStampPlainAndEncapsulated) {
  for (bool vxlan : {false, true}) {
    FrameSpec spec;
    spec.frame_size = vxlan ? 128 : 64;
    spec.vxlan = vxlan;
    spec.vni = 42;
    spec.stream = 9;
    auto t = FrameTemplate::build(spec);
    ASSERT_TRUE(t);
    auto frame = copy_of(*t);
    t->patch(frame.data(), FlowCursor(1), 123456, 987654321);
    ParsedFrame parsed;
    ASSERT_TRUE(parse_frame(frame.data(), t->size(), 4789, &parsed));
    EXPECT_EQ(parsed.stamp, (Stamp{9, 123456, 987654321}));
    EXPECT_EQ(parsed.encapsulated, vxlan);
    EXPECT_EQ(parsed.vni, vxlan ? 42U : 0U);
    // Every truncation is either still ours (only padding cut) or rejected, never a crash.
    for (std::uint32_t cut = 0; cut < t->size(); ++cut) {
      ParsedFrame p;
      EXPECT_FALSE(parse_frame(frame.data(), cut, 4789, &p)) << cut;
    }
  }
}

TEST(ParseFrame, VlanTaggedFrame) {
  FrameSpec spec;
  auto t = FrameTemplate::build(spec);
  ASSERT_TRUE(t);
  std::vector<std::uint8_t> tagged(t->bytes().begin(), t->bytes().begin() + 12);
  tagged.insert(tagged.end(), {0x81, 0x00, 0x00, 0x64});
  tagged.insert(tagged.end(), t->bytes().begin() + 12, t->bytes().end());
  ParsedFrame parsed;
  EXPECT_TRUE(parse_frame(tagged.data(), static_cast<std::uint32_t>(tagged.size()), 4789, &parsed));
}

TEST(ParseFrame, RejectsForeignFrames) {
  FrameSpec spec;
  auto t = FrameTemplate::build(spec);
  ASSERT_TRUE(t);
  ParsedFrame parsed;
  auto mutated = [&](std::size_t offset, std::uint8_t value) {
    auto f = copy_of(*t);
    f[offset] = value;
    return parse_frame(f.data(), t->size(), 4789, &parsed);
  };
  EXPECT_FALSE(mutated(12, 0x86));      // EtherType 0x8600 (not IPv4)
  EXPECT_FALSE(mutated(14, 0x65));      // IP version 6
  EXPECT_FALSE(mutated(14, 0x44));      // IHL 4: bad
  EXPECT_FALSE(mutated(14 + 9, 6));     // TCP
  EXPECT_FALSE(mutated(14 + 6, 0x20));  // more fragments
  EXPECT_FALSE(mutated(42, 0x00));      // magic
  EXPECT_FALSE(mutated(14 + 2, 0xFF));  // IP total length beyond the frame
  const std::uint8_t arp[42] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06};
  EXPECT_FALSE(parse_frame(arp, sizeof(arp), 4789, &parsed));
}

TEST(Addresses, ParseAndFormat) {
  auto mac = parse_mac("02:AB:cd:00:01:ff");
  ASSERT_TRUE(mac);
  EXPECT_EQ(mac->to_string(), "02:ab:cd:00:01:ff");
  for (const char* bad : {"", "02:ab:cd:00:01", "02:ab:cd:00:01:ff:00", "0g:00:00:00:00:00", "123:0:0:0:0:0"}) {
    EXPECT_FALSE(parse_mac(bad)) << bad;
  }
  auto ip = parse_ipv4("198.18.0.7");
  ASSERT_TRUE(ip);
  EXPECT_EQ(*ip, 0xC6120007U);
  EXPECT_EQ(format_ipv4(*ip), "198.18.0.7");
  EXPECT_FALSE(parse_ipv4("198.18.0"));
  EXPECT_FALSE(parse_ipv4("300.1.1.1"));
}

}  // namespace
}  // namespace ferry::bench::gen
