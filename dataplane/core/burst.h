// PRIVATE to dataplane/core: Pipeline::Burst, one worker's view of one burst
// (the pipeline, its lcore context, counters and tables), and the helpers
// every stage of the packet path shares, inline: counting, RX preparation,
// TX buffering, bulk lookups. The stages themselves are Burst members, each
// defined in its own file (listed below with their declarations).
//
// Each ingress function works on one burst in stages: prefetch every frame,
// parse/classify every frame (no table access), one bulk hash lookup for the
// burst, then a per-frame action chosen from the lookup result, and the TX
// buffers flushed at the end. A failed check is a value (a drop reason), not
// a branch into error handling.
#pragma once

#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include <cstdint>

#include "dataplane/core/counters.h"
#include "dataplane/core/pipeline.h"
#include "dataplane/core/port_caps.h"
#include "dataplane/core/tables.h"
#include "dataplane/core/types.h"

namespace ferry::dataplane {

static_assert(kMaxPorts <= 32, "LcoreContext::touched_mask_ is 32 bits");
static_assert(kBurstSize <= RTE_HASH_LOOKUP_BULK_MAX);

// Per-frame "next" values above the port ids.
enum : std::uint16_t {
  kNextDrop = 0x8000,    // reason in the reason array
  kNextFlood = 0x8001,   // replicate (handled during dispatch)
  kNextRemote = 0x8002,  // endpoint: look up and switch or encapsulate; uplink: decapsulate
  kNextDone = 0x8003,    // already taken care of (slow path)
};

// What a check of an endpoint frame (ARP, IPv6) decided.
enum class Verdict : std::uint8_t {
  kForward,  // source fine, nothing we answer: switch it like any frame
  kReply,    // a request turned into our answer in place, back out of the ingress port
  kDrop,     // reason given
};

// An uplink burst between its stages: uplink.cc classifies the frames and
// looks up their peers, decap.cc strips and delivers those marked kNextRemote.
struct UplinkBurst {
  std::uint16_t next[kBurstSize];
  std::uint16_t reason[kBurstSize];
  Vni vnis[kBurstSize];
  std::uint64_t keys[kBurstSize];  // peer keys, then inner MAC keys
  const void* key_ptrs[kBurstSize];
  std::uint8_t key_of[kBurstSize];  // frame index -> peer key index
  std::uint32_t n_keys = 0;
  std::uint64_t hits = 0;  // peer lookup: bit k set when keys[k] was found
  void* data[kBurstSize];  // peer lookup results (network slots), then MAC table values
  const NetworkRecord* nets[kBurstSize];
  std::uint8_t mac_key_of[kBurstSize];  // frame index -> MAC key index
};

// Bulk lookup of 8-byte keys with their hashes computed inline (the tables
// hash with rte_hash_crc, which for 8 bytes is one CRC32-C instruction): saves
// an indirect call per key inside rte_hash.
inline void lookup_bulk(rte_hash* h, const std::uint64_t* keys, const void** key_ptrs, std::uint32_t n,
                        std::uint64_t* hits, void** data) {
  hash_sig_t sigs[kBurstSize];
  for (std::uint32_t i = 0; i < n; ++i) {
    key_ptrs[i] = &keys[i];
    sigs[i] = rte_hash_crc_8byte(keys[i], 0);
  }
  rte_hash_lookup_with_hash_bulk_data(h, key_ptrs, sigs, n, hits, data);
}

inline void bump(std::uint64_t& c, std::uint64_t n = 1) {
  __atomic_store_n(&c, __atomic_load_n(&c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

// Every stage of the packet path is a member of this struct, so the shared
// helpers can be inline and reach the pipeline's and the context's private
// state.
struct Pipeline::Burst {
  Pipeline& p;
  LcoreContext& ctx;
  LcoreCounters& c;
  const Tables& t;

  Burst(Pipeline& pipeline, LcoreContext& context)
      : p(pipeline), ctx(context), c(*context.counters_), t(*pipeline.tables_) {}

  // ---- counting
  void count(Counter k, std::uint64_t n = 1) { bump(c.counters[static_cast<std::size_t>(k)], n); }
  void count_net(std::uint32_t slot, NetCounter k, std::uint64_t n = 1) {
    bump(c.networks[slot][static_cast<std::size_t>(k)], n);
  }
  void count_port(PortId port, PortCounter k, std::uint64_t n) { bump(c.ports[port][static_cast<std::size_t>(k)], n); }

  void drop(rte_mbuf* m, Counter reason) {
    count(reason);
    rte_pktmbuf_free(m);
  }

  // ---- TX buffering: a buffer per port, flushed when full and at the end of
  // every burst (nothing stays buffered across calls).
  // Hands n frames to the port's TX function; frees and counts what it
  // does not take.
  void transmit(PortId port, rte_mbuf** pkts, std::uint16_t n) {
    std::uint64_t bytes = 0;
    for (std::uint16_t i = 0; i < n; ++i) bytes += rte_pktmbuf_pkt_len(pkts[i]);
    const std::uint16_t sent = ctx.tx_fn_(ctx.tx_arg_, port, ctx.tx_queue_, pkts, n);
    if (sent < n) {
      for (std::uint16_t i = sent; i < n; ++i) bytes -= rte_pktmbuf_pkt_len(pkts[i]);
      rte_pktmbuf_free_bulk(pkts + sent, n - sent);
      count(Counter::tx_full, n - sent);
      count_port(port, PortCounter::tx_dropped, n - sent);
    }
    count(Counter::tx, sent);
    count_port(port, PortCounter::tx_packets, sent);
    count_port(port, PortCounter::tx_bytes, bytes);
  }

  void flush_port(PortId port) {
    LcoreContext::TxBuffer& b = ctx.tx_[port];
    const std::uint16_t n = b.n;
    if (n == 0) return;
    b.n = 0;
    transmit(port, b.pkts, n);
  }

  void enqueue(PortId port, rte_mbuf* m) {
    LcoreContext::TxBuffer& b = ctx.tx_[port];
    b.pkts[b.n++] = m;
    ctx.touched_mask_ |= 1u << port;
    if (b.n >= kBurstSize) flush_port(port);
  }

  // Queues m for `port`. A frame asking for an offload the port does not
  // take (a super-frame for af_packet, a partial checksum for the uplink) is
  // finished in software first (tx_offload.cc).
  void send(PortId port, rte_mbuf* m) {
    if ((m->ol_flags & kTxRequestFlags) != 0 && !tx_caps_allow(p.port_tx_caps(port), m->ol_flags)) {
      send_finished(port, m);
      return;
    }
    enqueue(port, m);
  }

  void flush_all() {
    std::uint32_t mask = ctx.touched_mask_;
    ctx.touched_mask_ = 0;
    while (mask != 0) {
      const int port = __builtin_ctz(mask);
      mask &= mask - 1;
      flush_port(static_cast<PortId>(port));
    }
  }

  // ---- RX preparation
  // Prefetches every frame, sums its bytes and makes chains contiguous
  // (dropping those that cannot be); returns the frames left, in order.
  std::uint16_t prepare(rte_mbuf** pkts, std::uint16_t n, std::uint64_t& bytes) {
    std::uint16_t kept = 0;
    for (std::uint16_t i = 0; i < n; ++i) {
      rte_mbuf* m = pkts[i];
      bytes += rte_pktmbuf_pkt_len(m);
      // A GSO super-frame (a vnet endpoint's, up to 64 KB) stays a chain:
      // its headers lie in the first segment; it travels whole and is
      // segmented, if at all, for the port it leaves by (tx_offload.cc).
      if (m->nb_segs != 1 && (m->ol_flags & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_UDP_SEG)) == 0) [[unlikely]] {
        m = contiguous(m);
        if (m == nullptr) continue;
      }
      rte_prefetch0(rte_pktmbuf_mtod(m, void*));
      pkts[kept++] = m;
    }
    return kept;
  }
  // burst.cc: joins a chain into one segment (or drops it, counted).
  rte_mbuf* contiguous(rte_mbuf* m);

  // ---- the stages, one file each
  // endpoint.cc: endpoint ingress (anti-spoofing, local switching, hand-off
  // to encapsulation and flooding).
  void endpoint(PortId port, rte_mbuf** pkts, std::uint16_t n);
  inline Verdict check_endpoint_frame(std::uint8_t* f, std::uint32_t len, rte_mbuf* m, const PortRecord& pr,
                                      Counter& why);
  inline void forward_unicast(rte_mbuf* m, std::uint64_t dest, PortId in_port, const PortRecord& pr,
                              std::uint32_t slot);
  // arp_proxy.cc: ARP from an endpoint (validation, sender checks, proxy).
  Verdict arp_from_endpoint(std::uint8_t* f, std::uint32_t len, const PortRecord& pr, Counter& why);
  // ipv6_ingress.cc: IPv6 from an endpoint (source check, ND validation, RA guard).
  Verdict ipv6_from_endpoint(rte_mbuf* m, std::uint8_t* f, std::uint32_t len, const PortRecord& pr, Counter& why);
  // nd_proxy.cc: answers a validated Neighbor Solicitation for a known target.
  Verdict nd_proxy(rte_mbuf* m, std::uint8_t* f, const std::uint8_t* target, const PortRecord& pr);
  // encap.h (inline: per frame on the encapsulation path): the outer UDP
  // source port and VXLAN encapsulation.
  [[nodiscard]] inline std::uint16_t src_port(const std::uint8_t* frame, std::uint32_t len) const;
  inline bool encap(rte_mbuf* m, const VtepRecord* v, Vni vni, std::uint16_t sport);
  [[nodiscard]] inline bool fits_underlay(const rte_mbuf* m) const;
  // endpoint.cc: a unicast frame too big for the underlay, answered with
  // ICMP Fragmentation Needed / Packet Too Big out of its ingress port when
  // its sender may be told (pmtu.h), else dropped.
  void too_big(rte_mbuf* m, PortId in_port, std::uint32_t slot);
  // flood.cc: replication to local ports and flood-list VTEPs.
  void flood(rte_mbuf* m, const NetworkRecord* net, PortId except, bool to_vteps);
  // uplink.cc: uplink ingress (outer header checks, slow-path hand-off, peer lookup).
  void uplink(rte_mbuf** pkts, std::uint16_t n);
  // decap.cc: decapsulation of the frames from peers and delivery by inner destination.
  void decap(rte_mbuf** pkts, std::uint16_t n, UplinkBurst& u);
  void deliver_decapped(rte_mbuf** pkts, std::uint16_t n, UplinkBurst& u, std::uint64_t mac_hits);
  // Decapsulated frames for ports that take TCP super-frames, coalesced
  // when process_uplink has gone through all it was given (or when full)
  // (decap.cc).
  struct Coalescing {
    std::uint16_t n = 0;
    rte_mbuf* frames[kUplinkBurstSize];
    std::uint32_t keys[kUplinkBurstSize];  // network slot * kMaxPorts + destination port
  };
  Coalescing* co = nullptr;  // set by process_uplink
  void deliver_coalesced();
  // slow_path.cc: uplink frames for the control thread.
  void to_slow_path(rte_mbuf** frames, std::uint32_t n);
  // tx_offload.cc: segments m (or completes its checksums) for a port that
  // cannot take it as it is, and sends the result; drops are counted.
  void send_finished(PortId port, rte_mbuf* m);
};

}  // namespace ferry::dataplane
