#include "dataplane/app/tunnel_hdr.h"

#include <cerrno>

namespace ferry::dataplane::app::tunnel_hdr {
namespace {

void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v);
  p[1] = static_cast<std::uint8_t>(v >> 8);
}
std::uint16_t get16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }

constexpr std::uint32_t kEth = 14;
constexpr std::uint32_t kUdpVxlan = 16;

}  // namespace

void encode(const Header& h, std::uint8_t* out) {
  out[0] = h.flags;
  out[1] = h.gso_type;
  put16(out + 2, h.hdr_len);
  put16(out + 4, h.gso_size);
  put16(out + 6, h.csum_start);
  put16(out + 8, h.csum_offset);
  put16(out + 10, h.num_buffers);
  put16(out + 12, static_cast<std::uint16_t>(h.hash_value));
  put16(out + 14, static_cast<std::uint16_t>(h.hash_value >> 16));
  put16(out + 16, h.hash_report);
  put16(out + 18, 0);
  put16(out + 20, h.outer_th_offset);
  put16(out + 22, h.inner_nh_offset);
}

Header decode(const std::uint8_t* in) {
  Header h;
  h.flags = in[0];
  h.gso_type = in[1];
  h.hdr_len = get16(in + 2);
  h.gso_size = get16(in + 4);
  h.csum_start = get16(in + 6);
  h.csum_offset = get16(in + 8);
  h.num_buffers = get16(in + 10);
  h.hash_value = get16(in + 12) | (std::uint32_t{get16(in + 14)} << 16);
  h.hash_report = get16(in + 16);
  h.outer_th_offset = get16(in + 20);
  h.inner_nh_offset = get16(in + 22);
  return h;
}

std::optional<OuterLayout> outer_layout(const std::uint8_t* frame, std::uint32_t size) {
  if (size < kEth + 20) return std::nullopt;
  const std::uint16_t type = be16(frame + 12);
  OuterLayout o;
  if (type == 0x0800) {
    const std::uint8_t* ip = frame + kEth;
    const std::uint32_t ihl = (ip[0] & 0x0fu) * 4;
    if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 17) return std::nullopt;
    o.udp = static_cast<std::uint16_t>(kEth + ihl);
  } else if (type == 0x86dd) {
    if (size < kEth + 40 || (frame[kEth] >> 4) != 6 || frame[kEth + 6] != 17) return std::nullopt;
    o.udp = kEth + 40;
    o.ipv6 = true;
  } else {
    return std::nullopt;
  }
  o.inner = static_cast<std::uint16_t>(o.udp + kUdpVxlan);
  if (size < std::uint32_t{o.inner} + kEth) return std::nullopt;
  return o;
}

Header tunnel_tx_header(const VnetHdr& inner, const OuterLayout& outer, std::uint16_t inner_l3) {
  Header h;
  h.flags = inner.flags & kVnetNeedsCsum;
  if ((h.flags & kVnetNeedsCsum) != 0) {
    h.csum_start = static_cast<std::uint16_t>(inner.csum_start + outer.inner);
    h.csum_offset = inner.csum_offset;
  }
  if (inner.gso_type != kVnetGsoNone) {
    h.gso_type = static_cast<std::uint8_t>(inner.gso_type | (outer.ipv6 ? kGsoUdpTunnelIpv6 : kGsoUdpTunnelIpv4));
    h.gso_size = inner.gso_size;
    h.hdr_len = static_cast<std::uint16_t>(inner.hdr_len + outer.inner);
    h.outer_th_offset = outer.udp;
    h.inner_nh_offset = static_cast<std::uint16_t>(outer.inner + inner_l3);
  }
  return h;
}

RxDecap tunnel_rx_decap(const Header& h, const OuterLayout& outer) {
  RxDecap d;
  const bool needs_csum = (h.flags & kVnetNeedsCsum) != 0;
  if ((h.gso_type & kGsoUdpTunnelMask) != 0) {
    d.tunnel_gso = true;
    // Exactly one tunnel type, the one the outer header has; the inner
    // checksum request is what the segments' checksums come from.
    const std::uint8_t want = outer.ipv6 ? kGsoUdpTunnelIpv6 : kGsoUdpTunnelIpv4;
    if ((h.gso_type & kGsoUdpTunnelMask) != want || !needs_csum || h.csum_start < outer.inner || h.gso_size == 0) {
      d.refused = true;
      return d;
    }
    d.inner.flags = kVnetNeedsCsum;
    d.inner.gso_type = static_cast<std::uint8_t>(h.gso_type & ~kGsoUdpTunnelMask);
    d.inner.gso_size = h.gso_size;
    d.inner.hdr_len = h.hdr_len >= outer.inner ? static_cast<std::uint16_t>(h.hdr_len - outer.inner) : 0;
    d.inner.csum_start = static_cast<std::uint16_t>(h.csum_start - outer.inner);
    d.inner.csum_offset = h.csum_offset;
    return d;
  }
  if (h.gso_type != kVnetGsoNone) {
    d.refused = true;  // GSO of the outer datagram itself: not with our offloads
    return d;
  }
  if (needs_csum) {
    if (h.csum_start < outer.inner) {
      d.outer_only = true;  // the outer UDP checksum was left partial; the inner one is complete
      return d;
    }
    d.inner.flags = kVnetNeedsCsum;
    d.inner.csum_start = static_cast<std::uint16_t>(h.csum_start - outer.inner);
    d.inner.csum_offset = h.csum_offset;
  }
  return d;
}

Probe probe_result(int rc, int err) {
  if (rc == 0) return Probe::kSupported;
  return err == EINVAL ? Probe::kUnsupported : Probe::kError;
}

}  // namespace ferry::dataplane::app::tunnel_hdr
