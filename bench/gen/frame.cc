#include "bench/gen/frame.h"

#include <algorithm>
#include <cstring>

#include "bench/gen/checksum.h"
#include "common/ip_address.h"

namespace ferry::bench::gen {

namespace {

constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
constexpr std::uint16_t kEtherTypeVlan = 0x8100;
constexpr std::uint8_t kIpProtoUdp = 17;
constexpr std::uint8_t kVxlanFlagVni = 0x08;
constexpr std::uint16_t kIpFlagDontFragment = 0x4000;
constexpr std::uint8_t kDefaultTtl = 64;

void write_eth(std::uint8_t* p, const MacAddress& dst, const MacAddress& src) {
  std::memcpy(p, dst.bytes.data(), 6);
  std::memcpy(p + 6, src.bytes.data(), 6);
  put_be16(p + 12, kEtherTypeIpv4);
}

// IPv4 header without options; checksum left zero.
void write_ipv4(std::uint8_t* p, std::uint16_t total_size, std::uint32_t src, std::uint32_t dst) {
  p[0] = 0x45;
  p[1] = 0;
  put_be16(p + 2, total_size);
  put_be16(p + 4, 0);
  put_be16(p + 6, kIpFlagDontFragment);
  p[8] = kDefaultTtl;
  p[9] = kIpProtoUdp;
  put_be16(p + 10, 0);
  put_be32(p + 12, src);
  put_be32(p + 16, dst);
}

// Sum of the UDP pseudo-header (source address passed separately so the
// template can leave it out).
std::uint64_t pseudo_header_sum(std::uint32_t src, std::uint32_t dst, std::uint16_t udp_size) {
  std::uint64_t sum = csum_add32(0, src);
  sum = csum_add32(sum, dst);
  sum = csum_add16(sum, kIpProtoUdp);
  return csum_add16(sum, udp_size);
}

}  // namespace

Result<std::uint32_t> parse_ipv4(std::string_view text) {
  auto ip = parse_ip(text);
  if (!ip || ip->family != Family::kIPv4) return make_error("bad IPv4 address '{}'", text);
  const auto& b = ip->bytes;
  return std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | b[3];
}

std::string format_ipv4(std::uint32_t address) {
  IpAddress ip;
  for (std::size_t i = 0; i < 4; ++i) ip.bytes[i] = static_cast<std::uint8_t>(address >> (24 - 8 * i));
  return ip.to_string();
}

Result<void> FrameSpec::validate() const {
  const std::uint32_t min_size = min_frame_size(vxlan);
  if (frame_size < min_size || frame_size > kMaxFrameSize) {
    return make_error("frame size {} out of range: {} to {} bytes (with FCS{})", frame_size, min_size, kMaxFrameSize,
                      vxlan ? ", VXLAN-encapsulated" : "");
  }
  if (flows == 0 || flows > (1U << 24)) return make_error("flow count {} out of range: 1 to {}", flows, 1U << 24);
  const std::uint32_t port_span = std::min(flows, kFlowPortSpan);
  if (static_cast<std::uint32_t>(src_port) + port_span - 1 > 0xFFFF) {
    return make_error("source port {} + {} flows runs past 65535", src_port, port_span);
  }
  if (static_cast<std::uint64_t>(src_ip) + (flows - 1) / kFlowPortSpan > 0xFFFFFFFFULL) {
    return make_error("source IP {} + {} flows runs past 255.255.255.255", format_ipv4(src_ip), flows);
  }
  if (stream >= kMaxStreams) return make_error("stream id {} out of range: 0 to {}", stream, kMaxStreams - 1);
  if (vxlan) {
    if (vni >= (1U << 24)) return make_error("VNI {} out of range: 0 to {}", vni, (1U << 24) - 1);
    if (vxlan_port == 0) return make_error("VXLAN UDP port must not be 0");
  }
  return ok();
}

Result<FrameTemplate> FrameTemplate::build(const FrameSpec& spec) {
  if (auto valid = spec.validate(); !valid) return valid.error();

  FrameTemplate t;
  t.spec_ = spec;
  const std::uint32_t size = spec.frame_size - kFcsSize;
  t.bytes_.assign(size, 0);
  std::uint8_t* f = t.bytes_.data();

  std::uint32_t inner = 0;
  if (spec.vxlan) {
    write_eth(f, spec.outer_dst_mac, spec.outer_src_mac);
    const auto outer_ip_size = static_cast<std::uint16_t>(size - kEthHeaderSize);
    std::uint8_t* ip = f + kEthHeaderSize;
    write_ipv4(ip, outer_ip_size, spec.outer_src_ip, spec.outer_dst_ip);
    // The outer IP header never changes: its checksum is final now.
    put_be16(ip + 10, csum_finish(csum_add_bytes(0, ip, kIpv4HeaderSize)));
    t.outer_udp_offset_ = kEthHeaderSize + kIpv4HeaderSize;
    std::uint8_t* udp = f + t.outer_udp_offset_;
    put_be16(udp + 2, spec.vxlan_port);
    put_be16(udp + 4, static_cast<std::uint16_t>(outer_ip_size - kIpv4HeaderSize));
    std::uint8_t* vxlan = udp + kUdpHeaderSize;
    vxlan[0] = kVxlanFlagVni;
    put_be32(vxlan + 4, spec.vni << 8);
    inner = kVxlanOverhead;
  }

  write_eth(f + inner, spec.dst_mac, spec.src_mac);
  t.ip_offset_ = inner + kEthHeaderSize;
  t.udp_offset_ = t.ip_offset_ + kIpv4HeaderSize;
  t.stamp_offset_ = t.udp_offset_ + kUdpHeaderSize;
  const auto ip_size = static_cast<std::uint16_t>(size - t.ip_offset_);
  const auto udp_size = static_cast<std::uint16_t>(ip_size - kIpv4HeaderSize);
  write_ipv4(f + t.ip_offset_, ip_size, 0, spec.dst_ip);  // source: patched per flow
  put_be16(f + t.udp_offset_ + 2, spec.dst_port);
  put_be16(f + t.udp_offset_ + 4, udp_size);
  encode_stamp(f + t.stamp_offset_, Stamp{spec.stream, 0, 0});

  // Every patched field is zero in bytes_ now, so these are the fixed sums.
  t.ip_base_sum_ = csum_add_bytes(0, f + t.ip_offset_, kIpv4HeaderSize);
  t.udp_base_sum_ = csum_add_bytes(pseudo_header_sum(0, spec.dst_ip, udp_size), f + t.udp_offset_, udp_size);
  if (spec.vxlan) {
    const auto outer_udp_size = static_cast<std::uint16_t>(size - t.outer_udp_offset_);
    t.outer_udp_base_sum_ = csum_add_bytes(pseudo_header_sum(spec.outer_src_ip, spec.outer_dst_ip, outer_udp_size),
                                           f + t.outer_udp_offset_, outer_udp_size);
  }
  t.patch(f, FlowCursor(spec.flows), 0, 0);
  return t;
}

void FrameTemplate::patch(std::uint8_t* frame, const FlowCursor& flow, std::uint32_t seq, std::uint64_t tsc) const {
  const auto src_port = static_cast<std::uint16_t>(spec_.src_port + flow.port_offset());
  const std::uint32_t src_ip = spec_.src_ip + flow.ip_offset();

  std::uint8_t* ip = frame + ip_offset_;
  put_be32(ip + 12, src_ip);
  const std::uint16_t ip_csum = csum_finish(csum_add32(ip_base_sum_, src_ip));
  put_be16(ip + 10, ip_csum);

  std::uint8_t* udp = frame + udp_offset_;
  put_be16(udp, src_port);
  std::uint8_t* stamp = frame + stamp_offset_;
  put_be32(stamp + kStampSeqOffset, seq);
  put_be64(stamp + kStampTscOffset, tsc);

  // The patched words, each counted once (source IP: in the pseudo-header).
  std::uint64_t patched = csum_add32(0, src_ip);
  patched = csum_add16(patched, src_port);
  patched = csum_add32(patched, seq);
  patched = csum_add64(patched, tsc);
  const std::uint16_t udp_csum = spec_.udp_checksum ? udp_csum_finish(udp_base_sum_ + patched) : 0;
  put_be16(udp + 6, udp_csum);

  if (spec_.vxlan) {
    // Source port entropy from the inner flow, in 49152..65535 (RFC 7348).
    const auto outer_port = static_cast<std::uint16_t>(0xC000 | ((src_port ^ src_ip ^ (src_ip >> 16)) & 0x3FFF));
    std::uint8_t* outer_udp = frame + outer_udp_offset_;
    put_be16(outer_udp, outer_port);
    std::uint16_t outer_csum = 0;
    if (spec_.outer_udp_checksum) {
      // Inside the outer UDP payload the inner source IP appears once (in the
      // inner IP header), plus both inner checksums.
      std::uint64_t sum = outer_udp_base_sum_ + patched;
      sum = csum_add16(sum, outer_port);
      sum = csum_add16(sum, ip_csum);
      sum = csum_add16(sum, udp_csum);
      outer_csum = udp_csum_finish(sum);
    }
    put_be16(outer_udp + 6, outer_csum);
  }
}

namespace {

bool parse_ethernet(const std::uint8_t* data, std::uint32_t size, std::uint16_t vxlan_port, bool allow_vxlan,
                    ParsedFrame* out);

bool parse_ipv4_udp(const std::uint8_t* p, std::uint32_t size, std::uint16_t vxlan_port, bool allow_vxlan,
                    ParsedFrame* out) {
  if (size < kIpv4HeaderSize || (p[0] >> 4) != 4) return false;
  const std::uint32_t header_size = (p[0] & 0x0FU) * 4U;
  const std::uint32_t total_size = get_be16(p + 2);
  if (header_size < kIpv4HeaderSize || total_size < header_size + kUdpHeaderSize || total_size > size) return false;
  if ((get_be16(p + 6) & 0x3FFF) != 0 || p[9] != kIpProtoUdp) return false;  // fragment, or not UDP
  const std::uint8_t* udp = p + header_size;
  const std::uint32_t udp_size = std::min<std::uint32_t>(get_be16(udp + 4), total_size - header_size);
  if (udp_size < kUdpHeaderSize) return false;
  const std::uint8_t* payload = udp + kUdpHeaderSize;
  const std::uint32_t payload_size = udp_size - kUdpHeaderSize;
  if (allow_vxlan && get_be16(udp + 2) == vxlan_port && payload_size >= kVxlanHeaderSize + kEthHeaderSize &&
      (payload[0] & kVxlanFlagVni) != 0) {
    if (!parse_ethernet(payload + kVxlanHeaderSize, payload_size - kVxlanHeaderSize, vxlan_port, false, out)) {
      return false;
    }
    out->encapsulated = true;
    out->vni = get_be32(payload + 4) >> 8;
    return true;
  }
  return decode_stamp(payload, payload_size, &out->stamp);
}

bool parse_ethernet(const std::uint8_t* data, std::uint32_t size, std::uint16_t vxlan_port, bool allow_vxlan,
                    ParsedFrame* out) {
  if (size < kEthHeaderSize) return false;
  std::uint32_t offset = 12;
  std::uint16_t type = get_be16(data + offset);
  if (type == kEtherTypeVlan) {
    if (size < kEthHeaderSize + 4) return false;
    offset += 4;
    type = get_be16(data + offset);
  }
  offset += 2;
  if (type != kEtherTypeIpv4) return false;
  return parse_ipv4_udp(data + offset, size - offset, vxlan_port, allow_vxlan, out);
}

}  // namespace

bool parse_frame(const std::uint8_t* data, std::uint32_t size, std::uint16_t vxlan_port, ParsedFrame* out) {
  out->encapsulated = false;
  out->vni = 0;
  return parse_ethernet(data, size, vxlan_port, true, out);
}

}  // namespace ferry::bench::gen
