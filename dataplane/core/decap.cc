// VXLAN decapsulation: frames from the uplink that passed the outer checks
// (uplink.cc) are accepted from peers of their network only, their outer ECN
// field applied to the inner header (RFC 6040), stripped of their outer
// headers, and delivered by inner destination MAC: a group address floods to
// the network's local ports, a local unicast MAC goes to its port (through
// the coalescer when the port takes TCP super-frames), anything else is
// dropped.
#include <rte_hash.h>
#include <rte_mbuf.h>

#include "dataplane/core/burst.h"
#include "dataplane/core/coalesce.h"
#include "dataplane/core/encap.h"
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

// RFC 6040 decapsulation as Linux's vxlan does it (INET_ECN_decapsulate),
// for an outer ECN field of ECT(1) or CE (Not-ECT and ECT(0) change
// nothing): onto an ECN-capable inner packet, CE marks it CE and ECT(1)
// turns ECT(0) into ECT(1); a CE onto a Not-ECT inner packet cannot be
// passed on, and the frame is dropped (false). `f`: the inner Ethernet
// frame, `len` bytes of it readable.
[[gnu::always_inline]] inline bool ecn_decapsulate(std::uint8_t outer, std::uint8_t* f, std::uint32_t len) {
  const std::uint8_t inner = inner_ecn(f, len);
  if (inner == kEcnNotEct) {
    // Not-ECT inner: a non-IP frame or a transport without ECN. Linux logs
    // ECT outer over it and passes it on; CE is a congestion mark nobody
    // downstream can see: drop.
    const std::uint16_t type = load_be16(f + 12);
    const bool ip = (type == kEtherIpv4 && len >= kEthSize + 20) || (type == kEtherIpv6 && len >= kEthSize + 40);
    return !(ip && outer == kEcnCe);
  }
  std::uint8_t want = inner;
  if (outer == kEcnCe) {
    want = kEcnCe;
  } else if (outer == kEcnEct1 && inner == kEcnEct0) {
    want = kEcnEct1;
  }
  if (want == inner) return true;
  std::uint8_t* ip = f + kEthSize;
  if (load_be16(f + 12) == kEtherIpv4) {
    if (len < kEthSize + 20) return true;
    // The header checksum follows incrementally (RFC 1624: HC' = ~(~HC +
    // ~m + m')), the TOS byte being the low half of the first 16-bit word.
    const std::uint16_t old_word = load_be16(ip);
    ip[1] = static_cast<std::uint8_t>((ip[1] & ~kEcnMask) | want);
    const std::uint16_t new_word = load_be16(ip);
    std::uint32_t sum = static_cast<std::uint16_t>(~load_be16(ip + 10));
    sum += static_cast<std::uint16_t>(~old_word);
    sum += new_word;
    store_be16(ip + 10, static_cast<std::uint16_t>(~fold_checksum(sum)));
  } else {
    if (len < kEthSize + 40) return true;
    ip[1] = static_cast<std::uint8_t>((ip[1] & ~(kEcnMask << 4)) | (want << 4));  // ECN: bits 5..4 of byte 1
  }
  return true;
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
    {
      auto* f = rte_pktmbuf_mtod(m, std::uint8_t*);
      const std::uint8_t outer_ecn = f[kEthSize + 1] & kEcnMask;
      if (outer_ecn == kEcnEct1 || outer_ecn == kEcnCe) [[unlikely]] {
        const std::uint32_t inner_at = kEthSize + (f[kEthSize] & 0x0fu) * 4 + 16;
        if (!ecn_decapsulate(outer_ecn, f + inner_at, rte_pktmbuf_data_len(m) - inner_at)) {
          count_net(net->slot, NetCounter::dropped);
          u.next[i] = kNextDrop;
          u.reason[i] = static_cast<std::uint16_t>(Counter::ecn_ce_not_ect);
          continue;
        }
      }
    }
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
// unicast destination to its port; frames for ports that take TCP
// super-frames are gathered for coalescing (deliver_coalesced).
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
        const auto out = static_cast<PortId>(d & 0xffff);
        if ((p.port_tx_caps(out) & kTxCapTso) != 0) {
          if (co->n == kUplinkBurstSize) deliver_coalesced();
          co->frames[co->n] = m;
          co->keys[co->n++] = u.nets[i]->slot * kMaxPorts + out;
        } else {
          send(out, m);
        }
        break;
      }
    }
  }
}

// Coalesces the gathered frames for ports that take TCP super-frames (Linux
// GRO's rules; the key holds the network slot, so frames of different
// networks never merge) and sends what comes out, super-frames with
// TX_TCP_SEG and tso_segsz (a vnet port writes GSO_TCPV4/6 headers).
void Pipeline::Burst::deliver_coalesced() {
  rte_mbuf* out[kUplinkBurstSize];
  std::uint32_t keys[kUplinkBurstSize];
  const std::uint16_t n = ctx.coalescer_->coalesce(co->frames, co->keys, co->n, out, keys);
  co->n = 0;
  for (std::uint16_t i = 0; i < n; ++i) send(static_cast<PortId>(keys[i] % kMaxPorts), out[i]);
}

}  // namespace ferry::dataplane
