// The ND proxy, the ARP proxy's IPv6 counterpart: a valid Neighbor
// Solicitation (checked in ipv6_ingress.cc) for a target in the IPv6
// neighbour table is turned into the Neighbor Advertisement answering it, in
// place, and goes back out of the ingress port.
#include <rte_hash.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>

#include "dataplane/core/burst.h"
#include "dataplane/core/packet_util.h"

namespace ferry::dataplane {

using namespace wire;

namespace {

// Turns the Neighbor Solicitation in m (validated: ICMPv6 right after the
// fixed header at f + 14, message at f + 54) into the Neighbor Advertisement
// answering it for its target at `answer_mac`, in place. False (m unchanged)
// when the mbuf has no room for the 86-byte answer.
bool make_na(rte_mbuf* m, std::uint8_t* f, std::uint64_t answer_mac) {
  const std::uint32_t size = kEthSize + kIpv6Size + kNaSize;
  const std::uint32_t len = rte_pktmbuf_data_len(m);
  if (len < size && rte_pktmbuf_append(m, static_cast<std::uint16_t>(size - len)) == nullptr) return false;
  if (len > size) rte_pktmbuf_trim(m, static_cast<std::uint16_t>(len - size));
  std::uint8_t* ip = f + kEthSize;
  std::uint8_t* icmp = ip + kIpv6Size;
  std::uint8_t target[16];
  std::uint8_t asker[16];
  std::memcpy(target, icmp + 8, 16);
  std::memcpy(asker, ip + 8, 16);
  const bool dad = std::all_of(asker, asker + 16, [](std::uint8_t b) { return b == 0; });
  // Ethernet: back to the asker, or to all nodes for a DAD probe (RFC 4861 §7.2.4).
  if (dad) {
    static constexpr std::uint8_t kAllNodesMac[6] = {0x33, 0x33, 0, 0, 0, 1};
    std::memcpy(f, kAllNodesMac, 6);
  } else {
    std::memcpy(f, f + 6, 6);
  }
  store_mac(f + 6, answer_mac);
  // IPv6: traffic class and flow label 0, payload 32, ICMPv6, hop limit 255.
  ip[0] = 0x60;
  ip[1] = ip[2] = ip[3] = 0;
  store_be16(ip + 4, kNaSize);
  ip[6] = kProtoIcmpv6;
  ip[7] = 255;
  std::memcpy(ip + 8, target, 16);
  if (dad) {
    static constexpr std::uint8_t kAllNodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    std::memcpy(ip + 24, kAllNodes, 16);
  } else {
    std::memcpy(ip + 24, asker, 16);
  }
  // NA: Router clear, Solicited unless to all nodes, Override set; target;
  // target link-layer address option.
  std::memset(icmp, 0, kNaSize);
  icmp[0] = kNdNa;
  icmp[4] = dad ? kNaOverride : kNaSolicited | kNaOverride;
  std::memcpy(icmp + 8, target, 16);
  icmp[24] = kNdOptTargetLl;
  icmp[25] = 1;  // 8 bytes
  store_mac(icmp + 26, answer_mac);
  store_be16(icmp + 2, static_cast<std::uint16_t>(~icmpv6_sum(ip, icmp, kNaSize)));
  return true;
}

}  // namespace

// A known target whose MAC is not the asker's own (that would tell a DAD
// probe its address is taken) is answered here (kReply); anything else, or
// an mbuf without room for the answer, is forwarded unanswered.
Verdict Pipeline::Burst::nd_proxy(rte_mbuf* m, std::uint8_t* f, const std::uint8_t* target, const PortRecord& pr) {
  Neighbour6Key key;
  key.vni = pr.vni;
  std::memcpy(key.ip, target, 16);
  void* data = nullptr;
  if (rte_hash_lookup_data(t.neighbour6_hash(), &key, &data) < 0) return Verdict::kForward;
  const std::uint64_t mac = reinterpret_cast<std::uintptr_t>(data) & kNeighbourMacMask;
  if (mac == pr.mac_u64) return Verdict::kForward;
  const bool stale = (f[0] & 1) == 0 && load_mac(f) != mac;  // unicast to a MAC the address left
  if (!make_na(m, f, mac)) return Verdict::kForward;
  if (stale) count(Counter::nd_proxied_stale);
  count(Counter::nd_proxied);
  return Verdict::kReply;
}

}  // namespace ferry::dataplane
