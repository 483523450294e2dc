// Neighbour announcements: the frames byte for byte (checksums checked by an
// independent sum) and when an address counts as moved.
#include "dataplane/app/announce.h"

#include <gtest/gtest.h>

#include <vector>

namespace ferry::dataplane::app {
namespace {

const MacAddress kMac{{0x02, 0x42, 0x0a, 0x00, 0x00, 0x07}};
const MacAddress kOther{{0x02, 0x42, 0x0a, 0x00, 0x00, 0x08}};
const dp_api::Ipv4 kIp{0x0a000007};  // 10.0.0.7
const dp_api::Ipv6 kIp6{{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7}};

// RFC 1071 sum over the IPv6 pseudo-header and the ICMPv6 message, written
// out here rather than taken from the data plane's checksum code.
std::uint16_t icmpv6_fold(const std::uint8_t* ip6) {
  const std::uint32_t size = (std::uint32_t{ip6[4]} << 8) | ip6[5];
  std::uint32_t sum = size + 58;
  for (int i = 8; i < 40; i += 2) sum += (std::uint32_t{ip6[i]} << 8) | ip6[i + 1];
  for (std::uint32_t i = 0; i < size; i += 2) sum += (std::uint32_t{ip6[40 + i]} << 8) | ip6[40 + i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

TEST(Announce, GratuitousArpIsABroadcastRequestForItsOwnAddress) {
  std::array<std::uint8_t, kGarpFrameSize> f{};
  f.fill(0xee);
  build_gratuitous_arp(f, kMac, kIp);
  const std::vector<std::uint8_t> want = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x42, 0x0a, 0x00,
                                          0x00, 0x07, 0x08, 0x06,                                       // Ethernet
                                          0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,               // request
                                          0x02, 0x42, 0x0a, 0x00, 0x00, 0x07, 0x0a, 0x00, 0x00, 0x07,   // sender
                                          0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x07};  // target
  EXPECT_EQ(std::vector<std::uint8_t>(f.begin(), f.begin() + 42), want);
  for (std::size_t i = 42; i < f.size(); ++i) EXPECT_EQ(f[i], 0) << "padding at " << i;
}

TEST(Announce, UnsolicitedNaOverridesAndCarriesTheNewMac) {
  std::array<std::uint8_t, kUnsolicitedNaFrameSize> f{};
  build_unsolicited_na(f, kMac, kIp6);
  const std::vector<std::uint8_t> eth = {0x33, 0x33, 0, 0, 0, 1, 0x02, 0x42, 0x0a, 0, 0, 0x07, 0x86, 0xdd};
  EXPECT_EQ(std::vector<std::uint8_t>(f.begin(), f.begin() + 14), eth);
  const std::uint8_t* ip6 = f.data() + 14;
  EXPECT_EQ(ip6[0], 0x60);
  EXPECT_EQ(ip6[5], 32) << "payload length";
  EXPECT_EQ(ip6[6], 58) << "ICMPv6";
  EXPECT_EQ(ip6[7], 255) << "hop limit (RFC 4861 §7.1.2)";
  EXPECT_TRUE(std::equal(kIp6.bytes.begin(), kIp6.bytes.end(), ip6 + 8)) << "source: the address itself";
  const std::uint8_t all_nodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_TRUE(std::equal(all_nodes, all_nodes + 16, ip6 + 24));
  const std::uint8_t* na = ip6 + 40;
  EXPECT_EQ(na[0], 136);
  EXPECT_EQ(na[1], 0);
  EXPECT_EQ(na[4], 0x20) << "Override only: not solicited, not a router";
  EXPECT_TRUE(std::equal(kIp6.bytes.begin(), kIp6.bytes.end(), na + 8)) << "target";
  EXPECT_EQ(na[24], 2) << "target link-layer address option";
  EXPECT_EQ(na[25], 1);
  EXPECT_TRUE(std::equal(kMac.bytes.begin(), kMac.bytes.end(), na + 26));
  EXPECT_EQ(icmpv6_fold(ip6), 0xffff) << "ICMPv6 checksum";
}

TEST(NeighbourMoves, AChangedOrReturnedMacIsAMove) {
  NeighbourMoves moves;
  const auto t0 = NeighbourMoves::Clock::time_point{};
  EXPECT_FALSE(moves.added(1, kIp, kMac, std::nullopt, t0)) << "new address";
  EXPECT_FALSE(moves.added(1, kIp, kMac, kMac, t0)) << "same MAC";
  EXPECT_TRUE(moves.added(1, kIp, kOther, kMac, t0)) << "changed in place";
  moves.removed(1, kIp, kOther, t0);
  EXPECT_FALSE(moves.added(2, kIp, kMac, std::nullopt, t0)) << "another network's address";
  EXPECT_TRUE(moves.added(1, kIp, kMac, std::nullopt, t0 + std::chrono::seconds(10))) << "back with another MAC";
  EXPECT_EQ(moves.remembered(), 0u) << "forgotten once added back";
  moves.removed(1, kIp6, kMac, t0);
  EXPECT_FALSE(moves.added(1, kIp6, kMac, std::nullopt, t0 + std::chrono::seconds(1))) << "back with the same MAC";
  moves.removed(1, kIp6, kMac, t0);
  EXPECT_FALSE(moves.added(1, kIp6, kOther, std::nullopt, t0 + std::chrono::minutes(6))) << "after the window";
}

TEST(NeighbourMoves, RemembersAtMostItsCapacityForgettingTheOldest) {
  NeighbourMoves moves(NeighbourMoves::Config{std::chrono::minutes(5), 3});
  const auto t0 = NeighbourMoves::Clock::time_point{};
  for (std::uint32_t i = 0; i < 5; ++i) moves.removed(1, dp_api::Ipv4{i + 1}, kMac, t0 + std::chrono::seconds(i));
  EXPECT_EQ(moves.remembered(), 3u);
  const auto later = t0 + std::chrono::seconds(10);
  EXPECT_FALSE(moves.added(1, dp_api::Ipv4{1}, kOther, std::nullopt, later)) << "the oldest was forgotten";
  EXPECT_FALSE(moves.added(1, dp_api::Ipv4{2}, kOther, std::nullopt, later));
  EXPECT_TRUE(moves.added(1, dp_api::Ipv4{5}, kOther, std::nullopt, later));
}

}  // namespace
}  // namespace ferry::dataplane::app
