// ICMP Fragmentation Needed / ICMPv6 Packet Too Big answers for frames the
// underlay cannot carry (pmtu.h).
#include "dataplane/core/pmtu.h"

#include <algorithm>
#include <cstring>

#include "dataplane/core/checksum.h"
#include "dataplane/core/packet_util.h"

namespace ferry::dataplane {

namespace {

constexpr std::uint32_t kIcmpHeader = 8;
using wire::kEtherIpv4;
using wire::kEtherIpv6;
using wire::kIpv4DontFragment;
using wire::kProtoIcmp;
using wire::kProtoIcmpv6;
constexpr std::uint32_t kEth = wire::kEthSize;

// ICMP error types (RFC 792/1122: never answered with another error).
bool icmp_is_error(std::uint8_t type) { return type == 3 || type == 4 || type == 5 || type == 11 || type == 12; }

bool ipv4_answerable(const std::uint8_t* ip, std::uint32_t avail, std::uint32_t mtu) {
  if (mtu < kPmtuMinIpv4 || avail < 20 || (ip[0] >> 4) != 4) return false;
  const std::uint32_t ihl = (ip[0] & 0x0fu) * 4;
  if (ihl < 20 || ihl > avail) return false;
  // Exactly DF: not a fragment (MF clear, offset 0), as the kernel asks.
  if (load_be16(ip + 6) != kIpv4DontFragment) return false;
  const std::uint32_t src = load_be32(ip + 12);
  const std::uint32_t dst = load_be32(ip + 16);
  const auto multicast = [](std::uint32_t a) { return (a >> 28) == 0xe; };
  if (dst == 0xffffffffu || multicast(dst)) return false;
  if ((src >> 24) == 0 || (src >> 24) == 127 || src == 0xffffffffu || multicast(src)) return false;
  if (ip[9] == kProtoIcmp) {
    if (ihl >= avail) return false;  // the type must be readable
    if (icmp_is_error(ip[ihl])) return false;
  }
  return true;
}

// Walks IPv6 extension headers (RFC 8200 §4; AH per RFC 4302) to the upper
// layer. False when the packet may not be answered: a later fragment, an
// ICMPv6 error or Redirect, or headers that run past `avail`.
bool ipv6_upper_layer_answerable(const std::uint8_t* ip6, std::uint32_t avail) {
  const wire::Ipv6Upper upper = wire::ipv6_upper_layer(ip6, avail, 8, /*with_auth=*/true);
  if (upper.walk == wire::Ipv6Walk::kCutShort || upper.walk == wire::Ipv6Walk::kLaterFragment) return false;
  if (upper.walk == wire::Ipv6Walk::kUpperLayer && upper.next == kProtoIcmpv6) {
    if (upper.offset + 1 > avail) return false;
    const std::uint8_t type = ip6[upper.offset];
    if (type < 128 || type == 137) return false;  // an error, or a Redirect
  }
  return true;
}

bool ipv6_answerable(const std::uint8_t* ip6, std::uint32_t avail, std::uint32_t mtu) {
  if (mtu < kPmtuMinIpv6 || avail < 40 || (ip6[0] >> 4) != 6) return false;
  const std::uint8_t* src = ip6 + 8;
  static constexpr std::uint8_t kZero[16] = {};
  static constexpr std::uint8_t kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  if (src[0] == 0xff || std::memcmp(src, kZero, 16) == 0 || std::memcmp(src, kLoopback, 16) == 0) return false;
  return ipv6_upper_layer_answerable(ip6, avail);
}

// Leaves m as the first segment alone, `size` bytes long.
void cut(rte_mbuf* m, std::uint32_t size) {
  if (m->next != nullptr) {
    rte_pktmbuf_free(m->next);
    m->next = nullptr;
    m->nb_segs = 1;
  }
  m->data_len = static_cast<std::uint16_t>(size);
  m->pkt_len = size;
  m->ol_flags &= ~RTE_MBUF_F_TX_OFFLOAD_MASK;
  m->tx_offload = 0;
}

}  // namespace

bool make_too_big_reply(rte_mbuf* m, std::uint32_t mtu) {
  const std::uint32_t first = rte_pktmbuf_data_len(m);
  if (first < kEth) return false;
  auto* f = rte_pktmbuf_mtod(m, std::uint8_t*);
  const std::uint16_t type = load_be16(f + 12);
  const std::uint8_t* ip = f + kEth;
  const std::uint32_t avail = first - kEth;  // of the original packet, in the first segment
  const bool v4 = type == kEtherIpv4;
  if (v4 ? !ipv4_answerable(ip, avail, mtu) : (type != kEtherIpv6 || !ipv6_answerable(ip, avail, mtu))) {
    return false;
  }
  const std::uint32_t header = (v4 ? 20 : 40) + kIcmpHeader;
  if (rte_pktmbuf_headroom(m) < header) return false;

  // Read what the answer needs before its headers overwrite the original
  // Ethernet header (the original packet itself stays where it is: the
  // new headers end exactly where it begins).
  std::uint8_t macs[12];
  std::memcpy(macs, f, 12);
  std::uint8_t addrs[32] = {};
  const std::uint32_t addr_size = v4 ? 4 : 16;
  std::memcpy(addrs, ip + (v4 ? 12 : 8), 2 * addr_size);
  const std::uint8_t ttl = ip[v4 ? 8 : 7];
  const std::uint32_t quoted = std::min(avail, (v4 ? kPmtuMinIpv4 : kPmtuMinIpv6) - header);

  auto* n = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_prepend(m, static_cast<std::uint16_t>(header)));
  std::memcpy(n, macs + 6, 6);  // to the sender, from the MAC it sent to
  std::memcpy(n + 6, macs, 6);
  store_be16(n + 12, type);
  std::uint8_t* nip = n + kEth;
  std::uint8_t* icmp = nip + (v4 ? 20 : 40);
  const std::uint32_t icmp_size = kIcmpHeader + quoted;
  std::memset(icmp, 0, kIcmpHeader);
  if (v4) {
    std::memset(nip, 0, 20);
    nip[0] = 0x45;
    store_be16(nip + 2, static_cast<std::uint16_t>(20 + icmp_size));
    store_be16(nip + 6, kIpv4DontFragment);
    nip[8] = ttl;
    nip[9] = kProtoIcmp;
    std::memcpy(nip + 12, addrs + 4, 4);  // from the original destination
    std::memcpy(nip + 16, addrs, 4);
    store16(nip + 10, ipv4_header_checksum(nip));
    icmp[0] = 3;  // Destination Unreachable
    icmp[1] = 4;  // Fragmentation Needed and DF set
    store_be16(icmp + 6, static_cast<std::uint16_t>(mtu));
    store16(icmp + 2, static_cast<std::uint16_t>(~csum_fold(csum_bytes(icmp, icmp_size))));
  } else {
    std::memset(nip, 0, 8);
    nip[0] = 0x60;
    store_be16(nip + 4, static_cast<std::uint16_t>(icmp_size));
    nip[6] = kProtoIcmpv6;
    nip[7] = ttl;
    std::memcpy(nip + 8, addrs + 16, 16);
    std::memcpy(nip + 24, addrs, 16);
    icmp[0] = 2;  // Packet Too Big
    store_be32(icmp + 4, mtu);
    const std::uint64_t sum = csum_add(pseudo_header_ipv6(nip, kProtoIcmpv6, icmp_size), csum_bytes(icmp, icmp_size));
    store16(icmp + 2, static_cast<std::uint16_t>(~csum_fold(sum)));
  }
  cut(m, kEth + header + quoted);
  return true;
}

}  // namespace ferry::dataplane
