// Frame templates for the generator's TX side and the frame parser for its
// RX side.
//
// A template is built once at start-up: Ethernet / IPv4 / UDP / stamp /
// zero padding, optionally inside an outer Ethernet / IPv4 / UDP (4789) /
// VXLAN header. It also stores the one's complement sums of every byte that
// never changes, so patching a packet (flow fields, sequence, timestamp and
// the checksums that cover them) costs the same for 64 B and 9 KB frames.
//
// Sizes: `frame_size` is the Ethernet frame size on the wire including the
// 4-byte FCS (RFC 2544 convention: "64-byte frames"); the bytes we build are
// frame_size - 4, the NIC appends the FCS.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bench/gen/stamp.h"
#include "common/mac_address.h"
#include "common/result.h"

namespace ferry::bench::gen {

inline constexpr std::uint32_t kFcsSize = 4;
inline constexpr std::uint32_t kEthHeaderSize = 14;
inline constexpr std::uint32_t kIpv4HeaderSize = 20;
inline constexpr std::uint32_t kUdpHeaderSize = 8;
inline constexpr std::uint32_t kVxlanHeaderSize = 8;
inline constexpr std::uint32_t kVxlanOverhead = kEthHeaderSize + kIpv4HeaderSize + kUdpHeaderSize + kVxlanHeaderSize;
inline constexpr std::uint32_t kMaxFrameSize = 9216;
// Flow i varies the UDP source port over this many values, then the source IP.
inline constexpr std::uint32_t kFlowPortSpan = 4096;

// MACs are common/mac_address.h's MacAddress (parse_mac, to_string).
inline constexpr MacAddress kBroadcastMac{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

// Dotted quad to a host-order address (common/ip_address.h's parser).
Result<std::uint32_t> parse_ipv4(std::string_view text);
std::string format_ipv4(std::uint32_t address);

// The smallest frame (with FCS) that holds all headers and the stamp.
constexpr std::uint32_t min_frame_size(bool vxlan) {
  return (vxlan ? kVxlanOverhead : 0) + kEthHeaderSize + kIpv4HeaderSize + kUdpHeaderSize +
         static_cast<std::uint32_t>(kStampSize) + kFcsSize;
}

struct FrameSpec {
  std::uint32_t frame_size = 64;  // bytes on the wire including FCS
  std::uint32_t flows = 1;        // flow i: UDP sport + i % 4096, source IP + i / 4096
  std::uint16_t stream = 1;       // stream id written in every stamp
  MacAddress src_mac{{0x02, 0, 0, 0, 0, 0x01}};
  MacAddress dst_mac = kBroadcastMac;
  std::uint32_t src_ip = 0xC6120001;  // 198.18.0.1 (RFC 2544 benchmarking range)
  std::uint32_t dst_ip = 0xC6120002;  // 198.18.0.2
  std::uint16_t src_port = 1024;
  std::uint16_t dst_port = 9;  // discard
  bool udp_checksum = true;    // false: send 0 (allowed over IPv4)

  bool vxlan = false;
  std::uint32_t vni = 100;
  MacAddress outer_src_mac{{0x02, 0, 0, 0, 1, 0x01}};
  MacAddress outer_dst_mac{{0x02, 0, 0, 0, 1, 0x02}};
  std::uint32_t outer_src_ip = 0xC6130001;  // 198.19.0.1
  std::uint32_t outer_dst_ip = 0xC6130002;  // 198.19.0.2
  std::uint16_t vxlan_port = 4789;
  bool outer_udp_checksum = false;  // RFC 7348: zero is recommended

  Result<void> validate() const;
};

// Walks flows 0..N-1 round robin without dividing per packet.
class FlowCursor {
 public:
  explicit FlowCursor(std::uint32_t flows) : flows_(flows == 0 ? 1 : flows) {}

  void next() {
    if (++index_ == flows_) {
      index_ = port_offset_ = ip_offset_ = 0;
    } else if (++port_offset_ == kFlowPortSpan) {
      port_offset_ = 0;
      ++ip_offset_;
    }
  }
  [[nodiscard]] std::uint32_t index() const { return index_; }
  [[nodiscard]] std::uint16_t port_offset() const { return static_cast<std::uint16_t>(port_offset_); }
  [[nodiscard]] std::uint32_t ip_offset() const { return ip_offset_; }

 private:
  std::uint32_t flows_;
  std::uint32_t index_ = 0;
  std::uint32_t port_offset_ = 0;
  std::uint32_t ip_offset_ = 0;
};

class FrameTemplate {
 public:
  static Result<FrameTemplate> build(const FrameSpec& spec);

  // The frame without FCS: copy it into a buffer once, then patch() it.
  [[nodiscard]] std::span<const std::uint8_t> bytes() const { return bytes_; }
  [[nodiscard]] std::uint32_t size() const { return static_cast<std::uint32_t>(bytes_.size()); }
  [[nodiscard]] const FrameSpec& spec() const { return spec_; }

  // Rewrites a buffer holding bytes() for one packet: flow fields, sequence,
  // timestamp and every checksum that covers them. O(1) in the frame size.
  void patch(std::uint8_t* frame, const FlowCursor& flow, std::uint32_t seq, std::uint64_t tsc) const;

 private:
  FrameSpec spec_;
  std::vector<std::uint8_t> bytes_;
  // Offsets into the frame of the (inner) headers and the stamp.
  std::uint32_t ip_offset_ = 0;
  std::uint32_t udp_offset_ = 0;
  std::uint32_t stamp_offset_ = 0;
  std::uint32_t outer_udp_offset_ = 0;
  // Sums of the fixed bytes, with the patched fields and checksums as zero.
  std::uint64_t ip_base_sum_ = 0;
  std::uint64_t udp_base_sum_ = 0;
  std::uint64_t outer_udp_base_sum_ = 0;
};

// What the receiver learns from a frame it recognises.
struct ParsedFrame {
  Stamp stamp;
  bool encapsulated = false;
  std::uint32_t vni = 0;
};

// Finds a generator stamp in a received frame: Ethernet (one optional VLAN
// tag) / IPv4 / UDP / stamp, or the same inside VXLAN on `vxlan_port`.
// False when the frame is not one of ours (ARP, IPv6, fragments, other UDP).
bool parse_frame(const std::uint8_t* data, std::uint32_t size, std::uint16_t vxlan_port, ParsedFrame* out);

}  // namespace ferry::bench::gen
