// Test harness for the pipeline: EAL (once per binary, no hugepages), a
// mempool, a pipeline configured like host A of tests/data (VTEP 172.31.7.1),
// a worker context whose TX function captures frames instead of sending them,
// and builders for the frames tests feed in.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/core/pipeline.h"

struct rte_mempool;

namespace ferry::dataplane::test {

// Initialises EAL once for this process (--no-huge, --no-pci, unique file
// prefix). Aborts the test binary with a message when EAL refuses.
void ensure_eal();

// A unique name prefix for DPDK objects (hash tables, rings, pools).
std::string unique_name(const char* what);

using Bytes = std::vector<std::uint8_t>;

struct Sent {
  PortId port;
  Bytes bytes;
  std::uint16_t segments = 1;  // mbufs in the chain that was sent
  // Its offload metadata as it was handed to the port.
  std::uint64_t ol_flags = 0;
  std::uint16_t tso_segsz = 0;
  std::uint16_t l2_len = 0, l3_len = 0, l4_len = 0, outer_l2_len = 0, outer_l3_len = 0;
};

// Host A of the golden capture.
inline constexpr Vni kVni = 4242;
inline const MacAddr kUplinkMac{{0x7a, 0x2b, 0x57, 0x56, 0x58, 0xa0}};      // host A underlay
inline const MacAddr kRemoteHostMac{{0x92, 0xdb, 0x2b, 0x1e, 0xa6, 0xbb}};  // host B underlay
inline const MacAddr kLocalMac{{0x02, 0x00, 0x0a, 0x01, 0x00, 0x01}};       // container on A
inline const MacAddr kRemoteMac{{0x02, 0x00, 0x0a, 0x01, 0x00, 0x02}};      // container on B
inline constexpr Ipv4Addr kVtepA{0xac1f0701};                               // 172.31.7.1
inline constexpr Ipv4Addr kVtepB{0xac1f0702};                               // 172.31.7.2
inline constexpr Ipv4Addr kLocalIp{0x0a010001};                             // 10.1.0.1
inline constexpr Ipv4Addr kRemoteIp{0x0a010002};                            // 10.1.0.2
// IPv6 of the same two containers (unique-local).
inline const Ipv6Addr kLocalIp6{{0xfd, 0, 0x42, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};   // fd00:4242::1
inline const Ipv6Addr kRemoteIp6{{0xfd, 0, 0x42, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}};  // fd00:4242::2
inline constexpr PortId kUplink = 0;
inline constexpr PortId kLocalPort = 1;

class Harness {
 public:
  // `configure` may change the config before the pipeline is created.
  explicit Harness(PipelineConfig config = default_config(), std::uint32_t pool_size = 4096);
  ~Harness();

  static PipelineConfig default_config();

  Pipeline& pipeline() { return *pipeline_; }
  Tables& tables() { return pipeline_->tables(); }
  LcoreContext& ctx() { return *ctx_; }
  rte_mempool* pool() { return pool_; }

  // Host A's tables as in the capture: network 4242, local port 1 with
  // 10.1.0.1 (and fd00:4242::1), remote MAC .2 at VTEP B (resolved), B in the
  // flood list, neighbours 10.1.0.2 and fd00:4242::2 -> that MAC.
  void program_host_a();

  rte_mbuf* mbuf(const Bytes& frame);
  // `frame` as a chain of mbufs holding `segment` bytes each (the last one the
  // rest), as a NIC scattering a frame over receive buffers hands it over.
  // `packed`: each segment's data ends at the end of its buffer, so the first
  // one has no tailroom (cannot be linearized in place); else data starts at
  // the usual headroom.
  rte_mbuf* chain(const Bytes& frame, std::size_t segment, bool packed);
  // Feeds one frame (or a burst) and returns what was sent, in order.
  std::vector<Sent> from_uplink(const Bytes& frame);
  std::vector<Sent> from_endpoint(PortId port, const Bytes& frame);
  std::vector<Sent> from_uplink(const std::vector<Bytes>& frames);
  std::vector<Sent> from_endpoint(PortId port, const std::vector<Bytes>& frames);

  Stats stats() const { return pipeline_->stats(); }
  // How many mbufs are out of the pool (leak check: 0 after each call).
  unsigned mbufs_in_use() const;

  // Captured frames; the TX function accepts at most `tx_accept` per call.
  std::vector<Sent> sent;
  std::uint16_t tx_accept = 0xffff;
  std::uint32_t tx_calls = 0;  // calls of the TX function

 private:
  static std::uint16_t capture(void* arg, PortId port, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n);
  std::vector<Sent> take();

  rte_mempool* pool_ = nullptr;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<LcoreContext> ctx_;
};

// ---- frame builders (wire order, checksums correct)
Bytes ether(const MacAddr& dst, const MacAddr& src, std::uint16_t type, const Bytes& payload);
Bytes ipv4(Ipv4Addr src, Ipv4Addr dst, std::uint8_t proto, const Bytes& payload, std::uint16_t id = 1, bool df = false,
           std::uint8_t ttl = 64);
Bytes udp(std::uint16_t sport, std::uint16_t dport, const Bytes& payload);  // checksum 0
Bytes tcp_syn(std::uint16_t sport, std::uint16_t dport);                    // 20-byte header, no checksum
Bytes arp(std::uint16_t op, const MacAddr& sha, Ipv4Addr spa, const MacAddr& tha, Ipv4Addr tpa);
// An IPv4/UDP frame from `src` to `dst` on the overlay of `payload_size` bytes.
Bytes inner_udp(const MacAddr& dst_mac, const MacAddr& src_mac, Ipv4Addr src, Ipv4Addr dst, std::uint16_t sport,
                std::uint16_t dport, std::size_t payload_size);
// Wraps an inner frame in VXLAN from VTEP `from` (MAC kRemoteHostMac) to `to`.
Bytes vxlan(const Bytes& inner, Vni vni, Ipv4Addr from = kVtepB, Ipv4Addr to = kVtepA, std::uint16_t sport = 50000,
            std::uint16_t dport = 4789, std::uint8_t flags = 0x08);
// IPv6 packet (fixed header, no extension headers), flow label 0.
Bytes ipv6(const Ipv6Addr& src, const Ipv6Addr& dst, std::uint8_t next_header, const Bytes& payload,
           std::uint8_t hop_limit = 64);
// An IPv6 packet carrying ICMPv6 `type`/`code` with `body` (what follows the
// 4-byte ICMPv6 header), the checksum computed.
Bytes icmpv6(const Ipv6Addr& src, const Ipv6Addr& dst, std::uint8_t type, std::uint8_t code, const Bytes& body,
             std::uint8_t hop_limit = 255);
// Recomputes the ICMPv6 checksum of an IPv6 packet (fixed header + ICMPv6).
void fix_icmpv6_checksum(std::uint8_t* ip6, std::size_t size);
// Folded sum over the pseudo-header and the message of an IPv6 packet
// (fixed header + ICMPv6): 0xffff when the ICMPv6 checksum is right.
std::uint16_t icmpv6_checksum_fold(const std::uint8_t* ip6, std::size_t size);
// ND pieces: a link-layer address option (1 source, 2 target); an NS/NA body
// (flags/reserved word, target, options); the solicited-node group of an
// address and the Ethernet group of an IPv6 multicast address.
Bytes nd_ll_option(std::uint8_t type, const MacAddr& mac);
Bytes nd_body(std::uint8_t flags, const Ipv6Addr& target, const Bytes& options = {});
Ipv6Addr solicited_node(const Ipv6Addr& ip);
MacAddr ipv6_multicast_mac(const Ipv6Addr& group);
Ipv6Addr ipv6_addr(const char* text);
// A Neighbor Solicitation from an endpoint as Linux sends it: Ethernet to the
// target's solicited-node group; with `src` :: (DAD) no source link-layer option.
Bytes neighbor_solicitation(const MacAddr& src_mac, const Ipv6Addr& src, const Ipv6Addr& target);

// Folded one's-complement sum of a header: 0xffff when its checksum is right.
std::uint16_t ip_checksum_fold(const std::uint8_t* header, std::size_t size);

std::uint16_t be16(const Bytes& b, std::size_t at);
void put_be16(Bytes& b, std::size_t at, std::uint16_t v);
Bytes mac_bytes(const MacAddr& m);

}  // namespace ferry::dataplane::test
