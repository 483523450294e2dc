#include "dataplane/app/udp_wire.h"

#include <rte_ip.h>
#include <rte_mbuf_core.h>

#include <algorithm>
#include <cstring>

namespace ferry::dataplane::app::udp_wire {
namespace {

constexpr std::uint16_t kEtherIpv4 = 0x0800;
constexpr std::uint16_t kEtherIpv6 = 0x86dd;
constexpr std::uint16_t kEtherVlan = 0x8100;
constexpr std::uint8_t kTcp = 6;
constexpr std::uint8_t kUdp = 17;
constexpr std::uint8_t kTcpFin = 0x01;
constexpr std::uint8_t kTcpPsh = 0x08;
constexpr std::uint8_t kTcpCwr = 0x80;

std::uint16_t load_be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
std::uint32_t load_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
void store_be16(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void store_be32(std::uint8_t* p, std::uint32_t v) {
  store_be16(p, v >> 16);
  store_be16(p + 2, v);
}
// Checksums are summed in memory order (rte_raw_cksum): the one's-complement
// sum does not care about byte order, so a 16-bit value loaded with memcpy
// compares with it directly.
std::uint16_t load_native16(const std::uint8_t* p) {
  std::uint16_t v = 0;
  std::memcpy(&v, p, 2);
  return v;
}
void store_native16(std::uint8_t* p, std::uint16_t v) { std::memcpy(p, &v, 2); }
std::uint16_t to_native(std::uint16_t host) { return rte_cpu_to_be_16(host); }

// Unfolded pseudo-header sum (addresses, protocol, L4 length).
std::uint32_t pseudo_sum(const std::uint8_t* l3, Family family, std::uint8_t proto, std::uint32_t l4_size) {
  std::uint32_t sum = family == Family::kIPv4 ? __rte_raw_cksum(l3 + 12, 8, 0) : __rte_raw_cksum(l3 + 8, 32, 0);
  sum += to_native(proto);
  sum += to_native(static_cast<std::uint16_t>(l4_size >> 16));
  sum += to_native(static_cast<std::uint16_t>(l4_size));
  return sum;
}

std::uint16_t fold(std::uint32_t sum) { return __rte_raw_cksum_reduce(sum); }

std::uint32_t checksum_offset(std::uint8_t proto) { return proto == kTcp ? 16 : 6; }

void ipv4_header_checksum(std::uint8_t* l3, std::uint32_t ihl) {
  store_native16(l3 + 10, 0);
  store_native16(l3 + 10, static_cast<std::uint16_t>(~fold(__rte_raw_cksum(l3, ihl, 0))));
}

}  // namespace

std::optional<Outer> parse_outer(const std::uint8_t* head, std::uint32_t head_size, std::uint32_t frame_size) {
  if (head_size < kEthSize || frame_size < head_size) return std::nullopt;
  Outer o;
  const std::uint16_t type = load_be16(head + 12);
  const std::uint8_t* ip = head + kEthSize;
  std::uint32_t udp_size = 0;
  if (type == kEtherIpv4) {
    if (head_size < kOuterSize4 || (ip[0] >> 4) != 4 || (ip[0] & 0x0f) != 5 || ip[9] != kUdp ||
        (load_be16(ip + 6) & 0x3fff) != 0) {
      return std::nullopt;
    }
    const std::uint32_t total = load_be16(ip + 2);
    if (total < 20 + kUdpSize) return std::nullopt;
    o.family = Family::kIPv4;
    o.tos = ip[1];
    std::memcpy(o.dst.data(), ip + 16, 4);
    o.header_size = kOuterSize4;
    udp_size = total - 20;
  } else if (type == kEtherIpv6) {
    if (head_size < kOuterSize6 || (ip[0] >> 4) != 6 || ip[6] != kUdp) return std::nullopt;
    o.family = Family::kIPv6;
    o.tos = static_cast<std::uint8_t>(((ip[0] & 0x0f) << 4) | (ip[1] >> 4));
    std::memcpy(o.dst.data(), ip + 24, 16);
    o.header_size = kOuterSize6;
    udp_size = load_be16(ip + 4);
  } else {
    return std::nullopt;
  }
  const std::uint8_t* udp = head + o.header_size - kUdpSize;
  if (load_be16(udp + 4) != udp_size || udp_size < kUdpSize + kVxlanSize) return std::nullopt;
  o.src_port = load_be16(udp);
  o.dst_port = load_be16(udp + 2);
  o.payload_size = udp_size - kUdpSize;
  if (o.header_size + o.payload_size > frame_size) return std::nullopt;
  return o;
}

bool gso_append(GsoGroup& group, std::uint32_t size, std::uint32_t max_bytes) {
  if (group.count == 0) {
    group = GsoGroup{size, 1, size, false};
    return true;
  }
  if (group.closed || size > group.segment_size || group.count >= kMaxGsoSegments || group.bytes + size > max_bytes) {
    return false;
  }
  group.closed = size < group.segment_size;
  ++group.count;
  group.bytes += size;
  return true;
}

RxSplit classify_rx(const std::uint8_t* data, std::uint32_t size, std::uint32_t gro_size) {
  if (gro_size == 0 || size <= gro_size) return RxSplit{RxKind::kSingle, 0};
  if (size > kVxlanSize) {
    // A GRO batch's first datagram ends after gro_size bytes; a peer's inner
    // super-frame's IP length covers the whole buffer.
    const Inner inner = parse_inner(data + kVxlanSize, size - kVxlanSize);
    if (inner.ip && kVxlanSize + inner.size == size) return RxSplit{RxKind::kSuperframe, gro_size};
  }
  return RxSplit{RxKind::kBatch, gro_size};
}

Inner parse_inner(const std::uint8_t* frame, std::uint32_t size) {
  Inner in;
  if (size < kEthSize) return in;
  std::uint16_t type = load_be16(frame + 12);
  std::uint32_t l2 = kEthSize;
  if (type == kEtherVlan) {
    if (size < kEthSize + 4) return in;
    type = load_be16(frame + 16);
    l2 += 4;
  }
  const std::uint8_t* l3 = frame + l2;
  std::uint32_t l3_len = 0;
  std::uint32_t total = 0;
  std::uint8_t proto = 0;
  if (type == kEtherIpv4) {
    if (size < l2 + 20 || (l3[0] >> 4) != 4) return in;
    l3_len = (l3[0] & 0x0fu) * 4;
    total = load_be16(l3 + 2);
    if (l3_len < 20 || total < l3_len || l2 + total > size) return in;
    in.family = Family::kIPv4;
    if ((load_be16(l3 + 6) & 0x3fff) == 0) proto = l3[9];  // fragments carry no L4 header of their own
  } else if (type == kEtherIpv6) {
    if (size < l2 + 40 || (l3[0] >> 4) != 6) return in;
    l3_len = 40;
    total = 40 + std::uint32_t{load_be16(l3 + 4)};
    if (total == 40 || l2 + total > size) return in;  // payload length 0: a jumbogram
    in.family = Family::kIPv6;
    proto = l3[6];  // an extension header is "not TCP/UDP"
  } else {
    return in;
  }
  in.ip = true;
  in.l2_len = static_cast<std::uint16_t>(l2);
  in.l3_len = static_cast<std::uint16_t>(l3_len);
  in.size = l2 + total;
  const std::uint32_t l4_size = total - l3_len;
  const std::uint8_t* l4 = l3 + l3_len;
  std::uint32_t l4_len = 0;
  if (proto == kTcp && l4_size >= 20) {
    l4_len = (l4[12] >> 4) * 4u;
    if (l4_len < 20 || l4_len > l4_size) return in;
  } else if (proto == kUdp && l4_size >= kUdpSize) {
    l4_len = kUdpSize;
  } else {
    return in;
  }
  in.l4_proto = proto;
  in.l4_len = static_cast<std::uint16_t>(l4_len);
  const std::uint16_t field = load_native16(l4 + checksum_offset(proto));
  in.partial_checksum = field != 0 && field == fold(pseudo_sum(l3, in.family, proto, l4_size));
  return in;
}

Offload inner_offload(const Inner& inner, std::uint32_t inner_mtu, std::uint32_t udp_gso) {
  Offload o;
  if (!inner.ip || inner.l4_proto == 0) return o;
  const bool tcp = inner.l4_proto == kTcp;
  const std::uint32_t payload = inner.l4_payload();
  std::uint64_t flags = 0;
  std::uint32_t segsz = 0;
  if (tcp) {
    const std::uint32_t headers = std::uint32_t{inner.l3_len} + inner.l4_len;
    const std::uint32_t mss = inner_mtu > headers ? inner_mtu - headers : 1;
    if (payload > mss) {
      flags = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM;
      segsz = mss;
    } else if (inner.partial_checksum) {
      flags = RTE_MBUF_F_TX_TCP_CKSUM;
    }
  } else if (udp_gso != 0 && payload > udp_gso) {
    flags = RTE_MBUF_F_TX_UDP_SEG | RTE_MBUF_F_TX_UDP_CKSUM;
    segsz = udp_gso;
  } else if (inner.partial_checksum) {
    flags = RTE_MBUF_F_TX_UDP_CKSUM;
  }
  if (flags == 0) return o;
  o.ol_flags = flags | (inner.family == Family::kIPv4 ? RTE_MBUF_F_TX_IPV4 : RTE_MBUF_F_TX_IPV6);
  o.l2_len = inner.l2_len;
  o.l3_len = inner.l3_len;
  o.l4_len = inner.l4_len;
  o.tso_segsz = static_cast<std::uint16_t>(std::min<std::uint32_t>(segsz, 0xffff));
  return o;
}

std::uint32_t write_outer(std::uint8_t* out, const std::array<std::uint8_t, 6>& dst_mac, const IpAddress& src,
                          std::uint16_t src_port, const IpAddress& dst, std::uint16_t dst_port,
                          std::uint32_t payload_size, std::uint8_t tos) {
  std::memcpy(out, dst_mac.data(), 6);
  std::memset(out + 6, 0, 6);
  std::uint8_t* ip = out + kEthSize;
  const std::uint32_t udp_size = kUdpSize + payload_size;
  std::uint8_t* udp = nullptr;
  if (src.family == Family::kIPv4) {
    store_be16(out + 12, kEtherIpv4);
    ip[0] = 0x45;
    ip[1] = tos;
    store_be16(ip + 2, 20 + udp_size);
    store_be32(ip + 4, 0x00004000);  // id 0, DF
    ip[8] = 64;
    ip[9] = kUdp;
    std::memcpy(ip + 12, src.bytes.data(), 4);
    std::memcpy(ip + 16, dst.bytes.data(), 4);
    ipv4_header_checksum(ip, 20);
    udp = ip + 20;
  } else {
    store_be16(out + 12, kEtherIpv6);
    store_be32(ip, 0x60000000U | static_cast<std::uint32_t>(tos) << 20);
    store_be16(ip + 4, udp_size);
    ip[6] = kUdp;
    ip[7] = 64;
    std::memcpy(ip + 8, src.bytes.data(), 16);
    std::memcpy(ip + 24, dst.bytes.data(), 16);
    udp = ip + 40;
  }
  store_be16(udp, src_port);
  store_be16(udp + 2, dst_port);
  store_be16(udp + 4, udp_size);
  store_be16(udp + 6, 0);
  return outer_size(src.family);
}

std::uint32_t segment_count(const Inner& inner, std::uint32_t seg_payload) {
  const std::uint32_t payload = inner.l4_payload();
  if (seg_payload == 0 || payload == 0) return 1;
  return (payload + seg_payload - 1) / seg_payload;
}

std::uint32_t write_segment(const std::uint8_t* frame, const Inner& inner, std::uint32_t seg_payload,
                            std::uint32_t index, std::uint8_t* out) {
  const std::uint32_t headers = inner.headers();
  const std::uint32_t payload = inner.l4_payload();
  const std::uint32_t offset = index * seg_payload;
  const std::uint32_t chunk = std::min(seg_payload, payload - offset);
  const bool last = offset + chunk == payload;
  std::memcpy(out, frame, headers);
  std::memcpy(out + headers, frame + headers + offset, chunk);
  std::uint8_t* l3 = out + inner.l2_len;
  std::uint8_t* l4 = l3 + inner.l3_len;
  const std::uint32_t l4_size = inner.l4_len + chunk;
  if (inner.family == Family::kIPv4) {
    store_be16(l3 + 2, inner.l3_len + l4_size);
    store_be16(l3 + 4, load_be16(l3 + 4) + index);
    ipv4_header_checksum(l3, inner.l3_len);
  } else {
    store_be16(l3 + 4, l4_size);
  }
  if (inner.l4_proto == kTcp) {
    store_be32(l4 + 4, load_be32(l4 + 4) + offset);
    if (index != 0) l4[13] = static_cast<std::uint8_t>(l4[13] & ~kTcpCwr);
    if (!last) l4[13] = static_cast<std::uint8_t>(l4[13] & ~(kTcpFin | kTcpPsh));
  } else {
    store_be16(l4 + 4, l4_size);
  }
  std::uint8_t* field = l4 + checksum_offset(inner.l4_proto);
  store_native16(field, 0);
  const std::uint32_t sum = pseudo_sum(l3, inner.family, inner.l4_proto, l4_size) + __rte_raw_cksum(l4, l4_size, 0);
  std::uint16_t check = static_cast<std::uint16_t>(~fold(sum));
  if (check == 0 && inner.l4_proto == kUdp) check = 0xffff;
  store_native16(field, check);
  return headers + chunk;
}

void complete_l4_checksum(std::uint8_t* frame, const Inner& inner) {
  std::uint8_t* l4 = frame + inner.l2_len + inner.l3_len;
  const std::uint32_t l4_size = inner.size - inner.l2_len - inner.l3_len;
  // The field holds the pseudo-header sum: summing over it adds it in.
  std::uint16_t check = static_cast<std::uint16_t>(~fold(__rte_raw_cksum(l4, l4_size, 0)));
  if (check == 0 && inner.l4_proto == kUdp) check = 0xffff;
  store_native16(l4 + checksum_offset(inner.l4_proto), check);
}

}  // namespace ferry::dataplane::app::udp_wire
