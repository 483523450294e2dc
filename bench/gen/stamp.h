// The stamp the generator writes at the start of each frame's UDP payload
// (the inner payload when VXLAN-encapsulated), so the receiver can tell its
// own frames from anything else and measure loss, order and latency.
//
// Wire layout, big-endian, 18 bytes: exactly what a 64-byte frame leaves
// after Ethernet (14) + IPv4 (20) + UDP (8) headers and the 4-byte FCS.
//
//   offset 0   u32 magic   kStampMagic
//   offset 4   u16 stream  which generator stream sent it (0..kMaxStreams-1)
//   offset 6   u32 seq     per-stream sequence number (wraps; the receiver
//                          extends it to 64 bits)
//   offset 10  u64 tsc     the sender's TSC when the frame was built; one-way
//                          latency needs sender and receiver on one clock
//                          (one machine: an invariant TSC is shared by all cores)
#pragma once

#include <cstddef>
#include <cstdint>

namespace ferry::bench::gen {

inline constexpr std::uint32_t kStampMagic = 0xFE77B3A1;
inline constexpr std::size_t kStampSize = 18;
inline constexpr std::size_t kStampStreamOffset = 4;
inline constexpr std::size_t kStampSeqOffset = 6;
inline constexpr std::size_t kStampTscOffset = 10;
inline constexpr std::uint16_t kMaxStreams = 64;

struct Stamp {
  std::uint16_t stream = 0;
  std::uint32_t seq = 0;
  std::uint64_t tsc = 0;

  bool operator==(const Stamp&) const = default;
};

// Writes the stamp into p[0..kStampSize).
void encode_stamp(std::uint8_t* p, const Stamp& stamp);

// Reads a stamp from p[0..size); false when it is too short or the magic is wrong.
bool decode_stamp(const std::uint8_t* p, std::size_t size, Stamp* out);

}  // namespace ferry::bench::gen
