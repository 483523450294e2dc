#include "bench/gen/stamp.h"

#include <gtest/gtest.h>

#include <array>

namespace ferry::bench::gen {
namespace {

TEST(Stamp, WireLayoutIsBigEndian) {
  std::array<std::uint8_t, kStampSize> bytes{};
  encode_stamp(bytes.data(), Stamp{0x0102, 0x03040506, 0x0708090A0B0C0D0EULL});
  const std::array<std::uint8_t, kStampSize> expected = {0xFE, 0x77, 0xB3, 0xA1, 0x01, 0x02, 0x03, 0x04, 0x05,
                                                         0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E};
  EXPECT_EQ(bytes, expected);
}

TEST(Stamp, RoundTrips) {
  for (const Stamp& s : {Stamp{0, 0, 0}, Stamp{63, 0xFFFFFFFF, ~0ULL}, Stamp{7, 12345, 987654321987ULL}}) {
    std::array<std::uint8_t, kStampSize + 5> bytes{};
    encode_stamp(bytes.data(), s);
    Stamp out;
    ASSERT_TRUE(decode_stamp(bytes.data(), bytes.size(), &out));
    EXPECT_EQ(out, s);
  }
}

TEST(Stamp, RejectsShortOrForeign) {
  std::array<std::uint8_t, kStampSize> bytes{};
  encode_stamp(bytes.data(), Stamp{1, 2, 3});
  Stamp out;
  EXPECT_FALSE(decode_stamp(bytes.data(), kStampSize - 1, &out));
  bytes[3] ^= 1;
  EXPECT_FALSE(decode_stamp(bytes.data(), kStampSize, &out));
}

}  // namespace
}  // namespace ferry::bench::gen
