// IPv6 from an endpoint: the source check (anti-spoofing), Neighbor
// Discovery validated as a receiver would, and the RA guard. A valid Neighbor
// Solicitation goes on to the ND proxy (nd_proxy.cc). Out of line and after
// the IPv4 and ARP branches, so the IPv4 fast path does not carry it.
#include <algorithm>
#include <cstring>

#include "dataplane/core/burst.h"
#include "dataplane/core/packet_util.h"

namespace ferry::dataplane {

using namespace wire;

namespace {

// An endpoint may send from its own IPv6 addresses, from :: (duplicate
// address detection, RFC 4862 §5.4, and MLD reports before it has an
// address) and from any link-local address (fe80::/10: the kernel derives
// one per interface and uses it for ND, RS and MLD; it is not routed off the
// link, and the link here is the network). See docs/dataplane-pipeline.md.
bool ipv6_source_ok(const std::uint8_t* a, const PortRecord& pr) {
  std::uint64_t w[2];
  std::memcpy(w, a, 16);
  bool own = (w[0] | w[1]) == 0 || is_ipv6_link_local(a);
  for (std::uint32_t k = 0; k < pr.ip6_count; ++k) own |= pr.ips6[k][0] == w[0] && pr.ips6[k][1] == w[1];
  return own;
}

bool all_zero(const std::uint8_t* a, std::size_t size) {
  return std::all_of(a, a + size, [](std::uint8_t b) { return b == 0; });
}

// RA guard behind extension headers (RFC 7113): walks at most
// kMaxExtHeaders hop-by-hop / routing / destination-options / fragment
// headers. True when they lead to an ICMPv6 Router Advertisement or
// Redirect, or when the chain is cut short by the frame or too long to
// tell (an endpoint gets no benefit of the doubt). MLD (hop-by-hop, then
// ICMPv6 143) and everything else is not affected.
bool ra_behind_extensions(const std::uint8_t* ip, std::uint32_t size) {
  constexpr unsigned kMaxExtHeaders = 4;
  const Ipv6Upper upper = ipv6_upper_layer(ip, size, kMaxExtHeaders, /*with_auth=*/false);
  switch (upper.walk) {
    case Ipv6Walk::kLaterFragment:
      return false;
    case Ipv6Walk::kCutShort:
    case Ipv6Walk::kTooLong:
      return true;
    case Ipv6Walk::kUpperLayer:
      break;
  }
  if (upper.offset == kIpv6Size) return false;  // no extension header: not this function's
  if (upper.offset > size) return true;         // the last header runs past the frame
  if (upper.next != kProtoIcmpv6) return false;
  if (upper.offset == size) return true;  // no room for the ICMPv6 type
  return ip[upper.offset] == kNdRa || ip[upper.offset] == kNdRedirect;
}

// What every ND message must satisfy (RFC 4861 §6.1, §7.1, §8.1): its
// type's fixed part, hop limit 255, code 0, a right ICMPv6 checksum, options
// of non-zero length inside the message, and the link-layer address an
// endpoint announces for itself its own (the ARP sender-MAC check's
// counterpart; a Redirect's target address option names another host: not
// checked). `source_ll`: a source link-layer address option is present.
bool nd_message_ok(const std::uint8_t* ip, const std::uint8_t* icmp, std::uint32_t size, std::uint64_t own_mac,
                   Counter& why, bool& source_ll) {
  const std::uint8_t type = icmp[0];
  const std::uint32_t fixed = kNdFixedSize[type - kNdFirst];
  why = Counter::bad_nd;
  if (size < fixed || ip[7] != 255 || icmp[1] != 0) return false;
  if (icmpv6_sum(ip, icmp, size) != 0xffff) {
    why = Counter::bad_nd_checksum;
    return false;
  }
  source_ll = false;
  for (std::uint32_t at = fixed; at < size;) {
    if (size - at < 2) return false;
    const std::uint32_t opt_size = icmp[at + 1] * 8u;
    if (opt_size == 0 || opt_size > size - at) return false;
    const std::uint8_t opt = icmp[at];
    if ((opt == kNdOptSourceLl || (opt == kNdOptTargetLl && type == kNdNa)) && opt_size == 8 &&
        load_mac6(icmp + at + 2) != own_mac) {
      why = Counter::spoofed_src_mac;
      return false;
    }
    source_ll |= opt == kNdOptSourceLl;
    at += opt_size;
  }
  return true;
}

}  // namespace

// IPv6 from an endpoint (EtherType 0x86dd, frame f of len bytes).
Verdict Pipeline::Burst::ipv6_from_endpoint(rte_mbuf* m, std::uint8_t* f, std::uint32_t len, const PortRecord& pr,
                                            Counter& why) {
  if (len < kEthSize + kIpv6Size) {
    why = Counter::truncated;
    return Verdict::kDrop;
  }
  const std::uint8_t* ip = f + kEthSize;
  if (!ipv6_source_ok(ip + 8, pr)) {
    why = Counter::spoofed_src_ip6;
    return Verdict::kDrop;
  }
  // Only ICMPv6 right after the fixed header is parsed; behind extension
  // headers everything is forwarded, source-checked only, except what the
  // RA guard must see (ra_behind_extensions).
  const std::uint8_t* icmp = ip + kIpv6Size;
  if (ip[6] != kProtoIcmpv6) {
    if (ra_behind_extensions(ip, len - kEthSize)) {
      why = Counter::ra_guard;
      return Verdict::kDrop;
    }
    return Verdict::kForward;
  }
  if (len < kEthSize + kIpv6Size + 1) return Verdict::kForward;
  const std::uint8_t type = icmp[0];
  if (type < kNdFirst || type > kNdLast) return Verdict::kForward;

  // Neighbor Discovery: validated as a receiver would so nothing half-parsed
  // is forwarded or answered.
  const std::uint32_t size = load_be16(ip + 4);  // ICMPv6 length: no extension headers
  if (size > len - kEthSize - kIpv6Size) {
    why = Counter::truncated;
    return Verdict::kDrop;
  }
  bool source_ll = false;
  if (!nd_message_ok(ip, icmp, size, pr.mac_u64, why, source_ll)) return Verdict::kDrop;
  // RA guard (RFC 6105's idea): a container is never a router. Since any
  // link-local source is accepted, an advertisement or redirect from one
  // could otherwise pose as the network's gateway to its neighbours.
  if (type == kNdRa || type == kNdRedirect) {
    why = Counter::ra_guard;
    return Verdict::kDrop;
  }
  if (type != kNdNs && type != kNdNa) return Verdict::kForward;
  why = Counter::bad_nd;
  const std::uint8_t* target = icmp + 8;
  if (target[0] == 0xff) return Verdict::kDrop;  // multicast target
  if (type == kNdNa) {
    // An advertisement claims its target: it must be the endpoint's own
    // (or link-local), as an ARP sender IP must (else spoofed_src_ip6).
    const bool to_multicast = ip[24] == 0xff;
    if ((icmp[4] & kNaSolicited) != 0 && to_multicast) return Verdict::kDrop;
    if (!ipv6_source_ok(target, pr) || all_zero(target, 16)) {
      why = Counter::spoofed_src_ip6;
      return Verdict::kDrop;
    }
    return Verdict::kForward;
  }
  if (all_zero(ip + 8, 16)) {
    // DAD probe: to the target's solicited-node group ff02::1:ffXX:XXXX,
    // without a source link-layer address option.
    static constexpr std::uint8_t kSolicitedNode[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
    if (source_ll || std::memcmp(ip + 24, kSolicitedNode, 13) != 0 || std::memcmp(ip + 37, target + 13, 3) != 0) {
      return Verdict::kDrop;
    }
  }
  return nd_proxy(m, f, target, pr);
}

}  // namespace ferry::dataplane
