// Test support for the offload code (checksums, segmentation, coalescing):
// frame builders with every header knob, mempools, mbuf chains, and a plain
// RFC 1071 checksum written independently of dataplane/core/checksum.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/core/counters.h"

struct rte_mbuf;
struct rte_mempool;

namespace ferry::dataplane::test {

using Bytes = std::vector<std::uint8_t>;

inline constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10, kUrg = 0x20, kEce = 0x40,
                              kCwr = 0x80;

enum class Csum { Full, Partial, Zero };

// An Ethernet/IPv4|IPv6/TCP|UDP frame.
struct FrameSpec {
  bool ipv6 = false;
  bool udp = false;
  std::size_t payload = 1000;
  std::uint8_t payload_seed = 1;  // payload byte i = seed + i * 7 (mod 256), or random with seed
  bool random_payload = false;
  std::optional<Bytes> data;  // the payload itself (overrides the three above)
  // TCP
  std::uint32_t seq = 1000000;
  std::uint32_t ack = 77777;
  std::uint8_t flags = kAck;
  std::uint16_t window = 502;
  Bytes options;  // TCP options, a multiple of 4 bytes
  // IP
  std::uint16_t ip_id = 4000;
  bool df = true;
  std::uint8_t tos = 0;
  std::uint8_t ttl = 64;
  std::uint32_t flow_label = 0;
  Bytes ip_options;  // IPv4 options (multiple of 4) or IPv6 extension headers (already chained, ending in TCP/UDP)
  std::uint8_t first_ext = 0;  // IPv6 next header when ip_options holds extension headers
  std::uint16_t sport = 40000, dport = 5201;
  Csum csum = Csum::Full;
};

Bytes make_frame(const FrameSpec& s);
// The payload make_frame puts in (for checking reassembly).
Bytes make_payload(const FrameSpec& s);

// Wraps `inner` (an Ethernet frame) in Ethernet/IPv4|IPv6/UDP/VXLAN. Lengths
// are filled when they fit 16 bits, else left 0; the outer UDP checksum is 0.
Bytes vxlan_wrap(const Bytes& inner, bool outer_ipv6, std::uint16_t outer_id = 0x1234, bool outer_df = false);

// A plain RFC 1071 sum over big-endian 16-bit words, folded, not complemented.
std::uint16_t naive_sum(const std::uint8_t* p, std::size_t n, std::uint32_t initial = 0);
// True when the TCP/UDP checksum of an Ethernet/IP/L4 frame at the given
// offsets is right (UDP 0 counts as "none", which is right over IPv4).
bool l4_checksum_ok(const Bytes& frame, std::size_t l3, std::size_t l4, bool ipv6, std::uint8_t proto);
bool ipv4_checksum_ok(const Bytes& frame, std::size_t l3);

std::uint16_t get16(const Bytes& b, std::size_t at);
std::uint32_t get32(const Bytes& b, std::size_t at);
void set16(Bytes& b, std::size_t at, std::uint16_t v);
void set32(Bytes& b, std::size_t at, std::uint32_t v);

// EAL plus three pools: `direct` (64 KB + headroom buffers, for frames and
// their chains), `header` (default 2 KB buffers) and `indirect` (no data room).
class Pools {
 public:
  explicit Pools(unsigned direct = 256, unsigned header = 8192, unsigned indirect = 4096);
  ~Pools();
  Pools(const Pools&) = delete;
  Pools& operator=(const Pools&) = delete;

  rte_mempool* direct() const { return direct_; }
  rte_mempool* header() const { return header_; }
  rte_mempool* indirect() const { return indirect_; }

  // `frame` in a chain of mbufs of `segment` bytes each (0: one mbuf); pieces
  // up to 2 KB come from the header pool, larger ones from the direct pool.
  rte_mbuf* chain(const Bytes& frame, std::size_t segment = 0) const;
  // mbufs of all three pools not in the pool (leak check).
  unsigned in_use() const;

 private:
  rte_mempool* direct_ = nullptr;
  rte_mempool* header_ = nullptr;
  rte_mempool* indirect_ = nullptr;
};

// The bytes of a chain.
Bytes flatten(const rte_mbuf* m);
// Sets the offload metadata of a plain (non-tunnel) TCP/UDP frame built by
// make_frame: TX_IPV4/6, L4 checksum flag (when Partial), SEG flag with `mss`
// (0: no segmentation), l2/l3/l4 lengths.
void set_offload(rte_mbuf* m, const FrameSpec& s, std::uint16_t mss);
// The same for vxlan_wrap(make_frame(s)).
void set_tunnel_offload(rte_mbuf* m, const FrameSpec& s, bool outer_ipv6, std::uint16_t mss);

std::uint64_t counter(const LcoreCounters& c, Counter which);

}  // namespace ferry::dataplane::test
