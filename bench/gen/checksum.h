// Byte-order helpers and the Internet checksum (RFC 1071) as used by the
// generator's frame templates: sums are kept unfolded in a 64-bit
// accumulator so a template can store the sum of its fixed bytes once and
// each packet only adds the words it patched (RFC 1624 style, no re-summing
// of the payload).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ferry::bench::gen {

inline void put_be16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

inline void put_be32(std::uint8_t* p, std::uint32_t v) {
  put_be16(p, static_cast<std::uint16_t>(v >> 16));
  put_be16(p + 2, static_cast<std::uint16_t>(v));
}

inline void put_be64(std::uint8_t* p, std::uint64_t v) {
  put_be32(p, static_cast<std::uint32_t>(v >> 32));
  put_be32(p + 4, static_cast<std::uint32_t>(v));
}

inline std::uint16_t get_be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }

inline std::uint32_t get_be32(const std::uint8_t* p) {
  return (static_cast<std::uint32_t>(get_be16(p)) << 16) | get_be16(p + 2);
}

inline std::uint64_t get_be64(const std::uint8_t* p) {
  return (static_cast<std::uint64_t>(get_be32(p)) << 32) | get_be32(p + 4);
}

// Adds the big-endian 16-bit words of data (an odd last byte is padded with
// zero) to an unfolded sum.
inline std::uint64_t csum_add_bytes(std::uint64_t sum, const std::uint8_t* data, std::size_t size) {
  std::size_t i = 0;
  for (; i + 1 < size; i += 2) sum += get_be16(data + i);
  if (i < size) sum += static_cast<std::uint64_t>(data[i]) << 8;
  return sum;
}

// Adds a 16/32/64-bit field that sits at an even offset of the summed region.
inline std::uint64_t csum_add16(std::uint64_t sum, std::uint16_t v) { return sum + v; }
inline std::uint64_t csum_add32(std::uint64_t sum, std::uint32_t v) { return sum + (v >> 16) + (v & 0xFFFFU); }
inline std::uint64_t csum_add64(std::uint64_t sum, std::uint64_t v) {
  return csum_add32(csum_add32(sum, static_cast<std::uint32_t>(v >> 32)), static_cast<std::uint32_t>(v));
}

// Folds the carries into 16 bits (the one's complement sum).
inline std::uint16_t csum_fold(std::uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xFFFFU) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

// The value to store in a checksum field: the complement of the folded sum.
inline std::uint16_t csum_finish(std::uint64_t sum) { return static_cast<std::uint16_t>(~csum_fold(sum)); }

// UDP sends an all-zero checksum as 0xFFFF: zero means "no checksum".
inline std::uint16_t udp_csum_finish(std::uint64_t sum) {
  const std::uint16_t c = csum_finish(sum);
  return c == 0 ? 0xFFFF : c;
}

}  // namespace ferry::bench::gen
