#include "bench/gen/checksum.h"

#include <gtest/gtest.h>

#include <array>

namespace ferry::bench::gen {
namespace {

// A textbook IPv4 header (192.168.0.1 -> 192.168.0.199, UDP) whose checksum is 0xB861.
constexpr std::array<std::uint8_t, 20> kHeader = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                                  0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};

TEST(Checksum, KnownIpv4Header) {
  EXPECT_EQ(csum_finish(csum_add_bytes(0, kHeader.data(), kHeader.size())), 0xB861);
  auto with = kHeader;
  put_be16(with.data() + 10, 0xB861);
  EXPECT_EQ(csum_fold(csum_add_bytes(0, with.data(), with.size())), 0xFFFF);
}

TEST(Checksum, FieldsAddLikeTheirBytes) {
  std::array<std::uint8_t, 8> bytes{};
  put_be64(bytes.data(), 0x0123456789ABCDEFULL);
  EXPECT_EQ(csum_fold(csum_add64(0, 0x0123456789ABCDEFULL)), csum_fold(csum_add_bytes(0, bytes.data(), 8)));
  EXPECT_EQ(csum_fold(csum_add32(0, 0xDEADBEEF)), csum_fold(csum_add_bytes(0, bytes.data(), 0) + 0xDEAD + 0xBEEF));
  EXPECT_EQ(get_be64(bytes.data()), 0x0123456789ABCDEFULL);
  EXPECT_EQ(get_be32(bytes.data()), 0x01234567U);
  EXPECT_EQ(get_be16(bytes.data() + 6), 0xCDEF);
}

TEST(Checksum, OddLengthPadsWithZero) {
  const std::uint8_t odd[3] = {0x12, 0x34, 0x56};
  EXPECT_EQ(csum_add_bytes(0, odd, 3), 0x1234U + 0x5600U);
}

TEST(Checksum, UdpZeroIsSentAsAllOnes) {
  EXPECT_EQ(udp_csum_finish(0xFFFF), 0xFFFF);  // ~0xFFFF == 0 -> 0xFFFF
  EXPECT_EQ(udp_csum_finish(0x1234), static_cast<std::uint16_t>(~0x1234));
}

}  // namespace
}  // namespace ferry::bench::gen
