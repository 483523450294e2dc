// VXLAN decapsulation: frames from the uplink that passed the outer checks
// (uplink.cc) are accepted from peers of their network only, stripped of
// their outer headers, and delivered by inner destination MAC: a group
// address floods to the network's local ports, a local unicast MAC goes to
// its port, anything else is dropped.
#include <rte_hash.h>
#include <rte_mbuf.h>

#include "dataplane/core/burst.h"
#include "dataplane/core/packet_util.h"

namespace ferry::dataplane {

using namespace wire;

namespace {

// Strips the outer Ethernet, IPv4 (options included), UDP and VXLAN headers,
// and any Ethernet padding beyond the UDP length.
[[gnu::always_inline]] inline void strip_outer(rte_mbuf* m) {
  const std::uint8_t* ip = rte_pktmbuf_mtod_offset(m, const std::uint8_t*, kEthSize);
  const std::uint32_t ihl = (ip[0] & 0x0fu) * 4;
  const std::uint32_t inner_len = load_be16(ip + ihl + 4) - 16u;
  rte_pktmbuf_adj(m, static_cast<std::uint16_t>(kEthSize + ihl + 16));
  if (rte_pktmbuf_pkt_len(m) > inner_len) {
    rte_pktmbuf_trim(m, static_cast<std::uint16_t>(rte_pktmbuf_pkt_len(m) - inner_len));
  }
}

}  // namespace

// Takes the peer lookup's results for the frames marked kNextRemote: a miss
// is dropped (unknown_vni when the VNI is not ours at all, else
// unknown_src_vtep); a hit is decapsulated and its inner destination looked
// up, in one bulk lookup for the burst.
void Pipeline::Burst::decap(rte_mbuf** pkts, std::uint16_t n, UplinkBurst& u) {
  std::uint32_t n_mac_keys = 0;
  for (std::uint16_t i = 0; i < n; ++i) {
    if (u.next[i] != kNextRemote) continue;
    const std::uint32_t k = u.key_of[i];
    rte_mbuf* m = pkts[i];
    if (((u.hits >> k) & 1) == 0) {
      const std::uint32_t vni_key = u.vnis[i];
      u.next[i] = kNextDrop;
      u.reason[i] = static_cast<std::uint16_t>(rte_hash_lookup(t.vni_hash(), &vni_key) >= 0 ? Counter::unknown_src_vtep
                                                                                            : Counter::unknown_vni);
      continue;
    }
    const NetworkRecord* net = t.network_at(static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(u.data[k])));
    if (net == nullptr) {
      u.next[i] = kNextDrop;
      u.reason[i] = static_cast<std::uint16_t>(Counter::unknown_vni);
      continue;
    }
    u.nets[i] = net;
    strip_outer(m);
    count(Counter::decap);
    count_net(net->slot, NetCounter::decap);
    const std::uint64_t dst = load_mac(rte_pktmbuf_mtod(m, const std::uint8_t*));
    if (is_group_mac(dst)) {
      u.next[i] = kNextFlood;
      continue;
    }
    u.keys[n_mac_keys] = mac_key(net->slot, dst);
    u.mac_key_of[i] = static_cast<std::uint8_t>(n_mac_keys++);
  }

  std::uint64_t mac_hits = 0;
  if (n_mac_keys != 0) lookup_bulk(t.mac_hash(), u.keys, u.key_ptrs, n_mac_keys, &mac_hits, u.data);
  deliver_decapped(pkts, n, u, mac_hits);
}

// Per frame of the burst: drops what an earlier stage marked, floods group
// destinations to the local ports (never back to VTEPs), and sends a local
// unicast destination to its port.
void Pipeline::Burst::deliver_decapped(rte_mbuf** pkts, std::uint16_t n, UplinkBurst& u, std::uint64_t mac_hits) {
  for (std::uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    switch (u.next[i]) {
      case kNextDone:
        break;
      case kNextDrop:
        drop(m, static_cast<Counter>(u.reason[i]));
        break;
      case kNextFlood:
        flood(m, u.nets[i], kInvalidPort, false);
        break;
      default: {  // kNextRemote: deliver by inner destination
        const std::uint32_t k = u.mac_key_of[i];
        const std::uint64_t d = reinterpret_cast<std::uintptr_t>(u.data[k]);
        if (((mac_hits >> k) & 1) == 0 || (d & MacDest::kKindMask) != MacDest::kLocal) {
          count_net(u.nets[i]->slot, NetCounter::dropped);
          drop(m, Counter::unknown_inner_dst);
          break;
        }
        count_net(u.nets[i]->slot, NetCounter::to_endpoints);
        send(static_cast<PortId>(d & 0xffff), m);
        break;
      }
    }
  }
}

}  // namespace ferry::dataplane
