// Test frames for the UDP uplink: inner Ethernet/IPv4|IPv6/TCP|UDP frames
// with a complete or a partial (pseudo-header only) checksum, VXLAN payloads,
// and whole outer frames as the pipeline builds them. The checksum code here
// is a separate, plain big-endian implementation, so the code under test is
// never checked against itself.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace ferry::dataplane::app::test {

using Bytes = std::vector<std::uint8_t>;

inline void put16(Bytes& b, std::size_t at, std::uint32_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}
inline void put32(Bytes& b, std::size_t at, std::uint32_t v) {
  put16(b, at, v >> 16);
  put16(b, at + 2, v);
}
inline std::uint32_t get16(const std::uint8_t* p) { return (std::uint32_t{p[0]} << 8) | p[1]; }
inline std::uint32_t get32(const std::uint8_t* p) { return (get16(p) << 16) | get16(p + 2); }

// One's-complement sum of big-endian 16-bit words, unfolded.
inline std::uint64_t ref_sum(const std::uint8_t* p, std::size_t n, std::uint64_t sum = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2) sum += get16(p + i);
  if (n % 2 != 0) sum += std::uint32_t{p[n - 1]} << 8;
  return sum;
}
inline std::uint16_t ref_fold(std::uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

struct InnerSpec {
  bool ipv6 = false;
  bool udp = false;
  bool vlan = false;
  bool partial = false;  // checksum field = pseudo-header sum only
  std::uint32_t payload = 100;
  std::uint8_t tcp_flags = 0x10;  // ACK
  std::uint32_t seq = 1000;
  std::uint16_t ip_id = 100;
  std::uint32_t tcp_options = 12;  // bytes of TCP options (NOPs + timestamp-sized)
  std::uint8_t seed = 0;           // payload pattern
  std::uint16_t src_port = 40000;
};

inline std::size_t l3_offset(const InnerSpec& s) { return s.vlan ? 18 : 14; }

// Pseudo-header sum (unfolded) of the frame's L3 header for an L4 of l4_size bytes.
inline std::uint64_t ref_pseudo(const std::uint8_t* l3, bool ipv6, std::uint8_t proto, std::uint32_t l4_size) {
  std::uint64_t sum = ipv6 ? ref_sum(l3 + 8, 32) : ref_sum(l3 + 12, 8);
  return sum + proto + l4_size;
}

// True when the frame's L4 checksum verifies (complete and right).
inline bool l4_checksum_ok(const std::uint8_t* frame, std::size_t l3_off) {
  const std::uint8_t* l3 = frame + l3_off;
  const bool ipv6 = (l3[0] >> 4) == 6;
  const std::uint32_t l3_len = ipv6 ? 40 : (l3[0] & 15) * 4;
  const std::uint32_t l4_size = ipv6 ? get16(l3 + 4) : get16(l3 + 2) - l3_len;
  const std::uint8_t proto = ipv6 ? l3[6] : l3[9];
  return ref_fold(ref_pseudo(l3, ipv6, proto, l4_size) + ref_sum(l3 + l3_len, l4_size)) == 0xffff;
}
inline bool ipv4_header_ok(const std::uint8_t* l3) { return ref_fold(ref_sum(l3, (l3[0] & 15) * 4)) == 0xffff; }

// An inner Ethernet frame.
inline Bytes inner_frame(const InnerSpec& s) {
  const std::size_t l2 = l3_offset(s);
  const std::size_t l3_len = s.ipv6 ? 40 : 20;
  const std::size_t l4_len = s.udp ? 8 : 20 + s.tcp_options;
  Bytes f(l2 + l3_len + l4_len + s.payload, 0);
  const std::uint8_t dst[6] = {0x02, 0, 0, 0, 2, 1};
  const std::uint8_t src[6] = {0x02, 0, 0, 0, 1, 1};
  std::memcpy(f.data(), dst, 6);
  std::memcpy(f.data() + 6, src, 6);
  if (s.vlan) {
    put16(f, 12, 0x8100);
    put16(f, 14, 7);
  }
  put16(f, l2 - 2, s.ipv6 ? 0x86dd : 0x0800);
  std::uint8_t* l3 = f.data() + l2;
  const std::uint8_t proto = s.udp ? 17 : 6;
  const std::uint32_t l4_size = static_cast<std::uint32_t>(l4_len + s.payload);
  if (s.ipv6) {
    put32(f, l2, 0x60000000);
    put16(f, l2 + 4, l4_size);
    l3[6] = proto;
    l3[7] = 64;
    l3[8] = 0xfd;
    l3[23] = 1;
    l3[24] = 0xfd;
    l3[39] = 2;
  } else {
    l3[0] = 0x45;
    put16(f, l2 + 2, static_cast<std::uint32_t>(l3_len) + l4_size);
    put16(f, l2 + 4, s.ip_id);
    put16(f, l2 + 6, 0x4000);
    l3[8] = 64;
    l3[9] = proto;
    put32(f, l2 + 12, 0x0a000001);
    put32(f, l2 + 16, 0x0a000002);
    put16(f, l2 + 10, ~ref_fold(ref_sum(l3, 20)) & 0xffff);
  }
  const std::size_t l4 = l2 + l3_len;
  put16(f, l4, s.src_port);
  put16(f, l4 + 2, 5201);
  std::size_t field = 0;
  if (s.udp) {
    put16(f, l4 + 4, l4_size);
    field = l4 + 6;
  } else {
    put32(f, l4 + 4, s.seq);
    put32(f, l4 + 8, 777);
    f[l4 + 12] = static_cast<std::uint8_t>((l4_len / 4) << 4);
    f[l4 + 13] = s.tcp_flags;
    put16(f, l4 + 14, 512);
    for (std::size_t i = 0; i < s.tcp_options; ++i) f[l4 + 20 + i] = 1;  // NOP
    field = l4 + 16;
  }
  for (std::uint32_t i = 0; i < s.payload; ++i) f[l4 + l4_len + i] = static_cast<std::uint8_t>(i * 7 + s.seed);
  const std::uint64_t pseudo = ref_pseudo(l3, s.ipv6, proto, l4_size);
  if (s.partial) {
    put16(f, field, ref_fold(pseudo));
  } else {
    std::uint16_t check = static_cast<std::uint16_t>(~ref_fold(pseudo + ref_sum(f.data() + l4, l4_size)));
    if (check == 0 && s.udp) check = 0xffff;
    put16(f, field, check);
  }
  return f;
}

// VXLAN header (VNI) + inner frame.
inline Bytes vxlan_payload(const Bytes& inner, std::uint32_t vni = 100) {
  Bytes p(8 + inner.size(), 0);
  p[0] = 0x08;
  p[4] = static_cast<std::uint8_t>(vni >> 16);
  p[5] = static_cast<std::uint8_t>(vni >> 8);
  p[6] = static_cast<std::uint8_t>(vni);
  std::memcpy(p.data() + 8, inner.data(), inner.size());
  return p;
}

// A whole frame as the pipeline builds it: outer Ethernet + IPv4 (DF) + UDP
// (checksum 0) + `payload` (VXLAN header and inner frame), to dst:dst_port.
inline Bytes outer_frame4(const Bytes& payload, std::uint32_t dst, std::uint16_t dst_port, std::uint16_t src_port,
                          std::uint8_t tos = 0) {
  Bytes f(42 + payload.size(), 0);
  f[0] = 0x02;
  f[5] = 0x09;
  put16(f, 12, 0x0800);
  f[14] = 0x45;
  f[15] = tos;
  put16(f, 16, static_cast<std::uint32_t>(28 + payload.size()));
  put16(f, 20, 0x4000);
  f[22] = 64;
  f[23] = 17;
  put32(f, 26, 0x7f000001);
  put32(f, 30, dst);
  put16(f, 24, ~ref_fold(ref_sum(f.data() + 14, 20)) & 0xffff);
  put16(f, 34, src_port);
  put16(f, 36, dst_port);
  put16(f, 38, static_cast<std::uint32_t>(8 + payload.size()));
  std::memcpy(f.data() + 42, payload.data(), payload.size());
  return f;
}

// The same over IPv6 (62-byte outer header).
inline Bytes outer_frame6(const Bytes& payload, const std::uint8_t* dst16, std::uint16_t dst_port,
                          std::uint16_t src_port) {
  Bytes f(62 + payload.size(), 0);
  f[0] = 0x02;
  put16(f, 12, 0x86dd);
  put32(f, 14, 0x60000000);
  put16(f, 18, static_cast<std::uint32_t>(8 + payload.size()));
  f[20] = 17;
  f[21] = 64;
  f[37] = 1;  // src ::1
  std::memcpy(f.data() + 38, dst16, 16);
  put16(f, 54, src_port);
  put16(f, 56, dst_port);
  put16(f, 58, static_cast<std::uint32_t>(8 + payload.size()));
  std::memcpy(f.data() + 62, payload.data(), payload.size());
  return f;
}

}  // namespace ferry::dataplane::app::test
