// Endpoint ingress: frames a container sent. Per frame the anti-spoofing
// checks (Ethernet source, IPv4 source, no VLAN tags) and the hand-off of ARP
// and IPv6 to their own files; then one bulk MAC lookup for the burst and,
// per frame, local switching, encapsulation (encap.h) or flooding (flood.cc).
#include <rte_mbuf.h>

#include "dataplane/core/burst.h"
#include "dataplane/core/encap.h"
#include "dataplane/core/packet_util.h"
#include "dataplane/core/pmtu.h"

namespace ferry::dataplane {

using namespace wire;

// Per frame, no table access but the proxies': drops what is not the
// endpoint's own (`why`), answers what the ARP and ND proxies answer in place
// (kReply), and lets the rest be switched (kForward). The EtherType is tested
// IPv4 first, ARP second, IPv6 third; ARP and IPv6 are out of line, so the
// IPv4 fast path does not carry them.
[[gnu::always_inline]] inline Verdict Pipeline::Burst::check_endpoint_frame(std::uint8_t* f, std::uint32_t len,
                                                                            rte_mbuf* m, const PortRecord& pr,
                                                                            Counter& why) {
  if (len < kEthSize) {
    why = Counter::truncated;
    return Verdict::kDrop;
  }
  if (load_mac(f + 6) != pr.mac_u64) {
    why = Counter::spoofed_src_mac;
    return Verdict::kDrop;
  }
  const std::uint16_t type = load_be16(f + 12);
  if (type == kEtherVlan || type == kEtherQinQ || type == kEtherQinQOld) {
    why = Counter::vlan_tagged;
    return Verdict::kDrop;
  }
  if (type == kEtherIpv4) {
    if (len < kEthSize + 20) {
      why = Counter::truncated;
      return Verdict::kDrop;
    }
    const std::uint32_t src = load_u32(f + kEthSize + 12);
    bool own = false;
    for (std::uint32_t k = 0; k < pr.ip_count; ++k) own |= pr.ips_be[k] == src;
    if (!own) {
      why = Counter::spoofed_src_ip;
      return Verdict::kDrop;
    }
    return Verdict::kForward;
  }
  if (type == kEtherArp) return arp_from_endpoint(f, len, pr, why);
  if (type == kEtherIpv6) return ipv6_from_endpoint(m, f, len, pr, why);
  return Verdict::kForward;
}

// A unicast frame whose destination MAC the table knows (`dest`, MacDest
// encoded): out of a local port (local switching) or encapsulated to the
// remote VTEP.
[[gnu::always_inline]] inline void Pipeline::Burst::forward_unicast(rte_mbuf* m, std::uint64_t dest, PortId in_port,
                                                                    const PortRecord& pr, std::uint32_t slot) {
  if ((dest & MacDest::kKindMask) == MacDest::kLocal) {
    const PortId out = static_cast<PortId>(dest & 0xffff);
    if (out == in_port) {
      count_net(slot, NetCounter::dropped);
      drop(m, Counter::hairpin);
    } else {
      count(Counter::local_switched);
      count_net(slot, NetCounter::to_endpoints);
      send(out, m);
    }
    return;
  }
  if (!fits_underlay(m)) [[unlikely]] {
    too_big(m, in_port, slot);
    return;
  }
  const VtepRecord* v = t.vtep_at(static_cast<std::uint32_t>(dest & 0xffffffffu));
  const std::uint16_t sport = src_port(rte_pktmbuf_mtod(m, const std::uint8_t*), rte_pktmbuf_data_len(m));
  if (encap(m, v, pr.vni, sport)) {
    count(Counter::encap);
    count_net(slot, NetCounter::encap);
    send(p.config_.uplink_port, m);
  } else {
    count_net(slot, NetCounter::dropped);
  }
}

void Pipeline::Burst::too_big(rte_mbuf* m, PortId in_port, std::uint32_t slot) {
  // The IP MTU a container may use: the underlay's less the outer headers
  // and the inner Ethernet header.
  const std::uint32_t mtu = p.config_.underlay_mtu - kVxlanOverhead - kEthSize;
  if (make_too_big_reply(m, mtu)) {
    count(Counter::pmtu_answered);
    count_net(slot, NetCounter::to_endpoints);
    send(in_port, m);
  } else {
    count_net(slot, NetCounter::dropped);
    drop(m, Counter::mtu_exceeded);
  }
}

void Pipeline::Burst::endpoint(PortId port, rte_mbuf** pkts, std::uint16_t n) {
  count(Counter::rx_endpoint, n);
  count_port(port, PortCounter::rx_packets, n);
  // Start fetching every frame's first cache line now; the burst's
  // classification below reaches them a few hundred cycles later.
  std::uint64_t rx_bytes = 0;
  n = prepare(pkts, n, rx_bytes);
  count_port(port, PortCounter::rx_bytes, rx_bytes);

  const PortRecord* pr = t.port(port);
  const NetworkRecord* net = pr != nullptr ? t.network_at(pr->network_slot) : nullptr;
  if (net == nullptr) {
    count(Counter::unknown_port, n);
    rte_pktmbuf_free_bulk(pkts, n);
    return;
  }
  const std::uint32_t slot = net->slot;
  count_net(slot, NetCounter::from_endpoints, n);

  std::uint16_t next[kBurstSize];
  std::uint16_t reason[kBurstSize];
  std::uint64_t keys[kBurstSize];
  const void* key_ptrs[kBurstSize];
  std::uint8_t key_of[kBurstSize];  // packet index -> key index
  std::uint32_t n_keys = 0;
  const std::uint64_t slot_bits = mac_key(pr->network_slot, 0);

  // Classify: anti-spoofing and proxies, then the destination's kind.
  for (std::uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    const std::uint32_t len = rte_pktmbuf_data_len(m);
    auto* f = rte_pktmbuf_mtod(m, std::uint8_t*);
    next[i] = kNextDrop;
    Counter why = Counter::truncated;
    const Verdict v = check_endpoint_frame(f, len, m, *pr, why);
    if (v == Verdict::kDrop) {
      reason[i] = static_cast<std::uint16_t>(why);
      continue;
    }
    if (v == Verdict::kReply) {
      next[i] = port;  // the ARP reply or Neighbor Advertisement goes back out of the ingress port
      continue;
    }
    const std::uint64_t dst = load_mac(f);
    if (is_group_mac(dst)) {  // broadcast / multicast
      next[i] = kNextFlood;
      continue;
    }
    keys[n_keys] = slot_bits | dst;
    key_of[i] = static_cast<std::uint8_t>(n_keys++);
    next[i] = kNextRemote;  // resolved below
  }

  std::uint64_t hits = 0;
  void* data[kBurstSize];
  if (n_keys != 0) {
    lookup_bulk(t.mac_hash(), keys, key_ptrs, n_keys, &hits, data);
  }

  // Dispatch.
  for (std::uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    switch (next[i]) {
      case kNextDrop:
        count_net(slot, NetCounter::dropped);
        drop(m, static_cast<Counter>(reason[i]));
        break;
      case kNextFlood:
        flood(m, net, port, true);
        break;
      case kNextRemote: {
        const std::uint32_t k = key_of[i];
        if (((hits >> k) & 1) != 0) {
          forward_unicast(m, reinterpret_cast<std::uintptr_t>(data[k]), port, *pr, slot);
        } else if (net->flood_unknown) {
          flood(m, net, port, true);
        } else {
          count_net(slot, NetCounter::dropped);
          drop(m, Counter::unknown_unicast);
        }
        break;
      }
      default:  // ARP reply or Neighbor Advertisement back out of the ingress port
        count_net(slot, NetCounter::to_endpoints);
        send(next[i], m);
        break;
    }
  }
  flush_all();
}

}  // namespace ferry::dataplane
