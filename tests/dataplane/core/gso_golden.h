// The golden GSO data of tests/data/gso (made by tests/tools/gso_capture.py):
// super-frames the kernel sent with their virtio-net headers, the segments
// the kernel's own GSO cut from them, and what its VXLAN devices made of
// five of them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct rte_mbuf;

namespace ferry::dataplane::test {

using Bytes = std::vector<std::uint8_t>;

inline constexpr std::uint8_t kGsoTcpV4 = 1, kGsoUdpL4 = 5, kGsoTcpV6 = 4, kGsoEcn = 0x80;

struct Golden {
  std::string label;
  std::uint8_t vnet_flags, gso_type;
  std::uint16_t hdr_len, gso_size, csum_start, csum_offset;
  Bytes super;
  std::vector<Bytes> segments;
};

// The 12 super-frames of index.txt with their segments (a failed read is a
// test failure and an empty list).
std::vector<Golden> load_golden();

// One line of vxlan-index.txt: which super-frame, through which outer IP
// version, and the kernel's VXLAN segments of it.
struct GoldenVxlan {
  unsigned super = 0;  // index into load_golden()
  std::string label;
  unsigned outer_version = 4;
  std::vector<Bytes> segments;
};
std::vector<GoldenVxlan> load_golden_vxlan();

// The DPDK metadata a virtio-net header stands for (what an endpoint port
// that reads PACKET_VNET_HDR sets).
void set_from_vnet(rte_mbuf* m, const Golden& g);

}  // namespace ferry::dataplane::test
