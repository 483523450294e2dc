// TCP coalescing (GRO) of decapsulated frames into super-frames, by the
// rules of Linux's tcp_gro_receive / inet_gro_receive / ipv6_gro_receive, so
// a receiving container gets what the sender's kernel sent before it was
// segmented (one 64 KB frame instead of 45).
//
// Two frames merge when all of these hold (the later one is appended):
//   - the same network key (given by the caller, compared in full), IP
//     version, addresses and TCP ports;
//   - Ethernet + IPv4 without options (not a fragment) or IPv6 without
//     extension headers, lengths exact (no padding), TCP;
//   - IPv4: the same TOS, TTL and DF; the id one more per merged segment, or
//     fixed when DF is set and the second frame repeats the first's id.
//     IPv6: the same traffic class, flow label and hop limit;
//   - the same TCP header word 12 (data offset, flags, window) but for CWR,
//     PSH and FIN; the same ACK number and option bytes; the sequence number
//     right after the merged payload; a payload of 1 .. MSS bytes (MSS: the
//     first frame's payload); no CWR in the later frame;
//   - the merged IP packet stays <= 65 535 bytes, its chain at most
//     `max_chain` mbufs;
//   - both frames' TCP checksums verify (unless RTE_MBUF_F_RX_L4_CKSUM_GOOD
//     says a NIC did it); a frame whose TCP or IPv4 header checksum is wrong
//     is counted (gro_bad_checksum) and passed on unmerged.
// A merge starts at a frame with payload and none of URG, PSH, RST, SYN, FIN
// (CWR may start one). A frame with PSH or FIN, or shorter than the MSS, is
// merged as the last one and closes the merge. Any other frame of a flow
// that cannot merge closes the flow's merge first, so frames of a flow never
// change order. Everything is flushed at the end of each call: nothing is
// held between bursts.
//
// A merged frame (two or more segments) is an mbuf chain: the first frame
// with its IP length (and IPv4 checksum) updated, the others' payloads
// chained behind it. It carries RTE_MBUF_F_TX_TCP_SEG, tso_segsz = MSS,
// RTE_MBUF_F_TX_TCP_CKSUM and TX_IPV4/IPV6 with l2_len 14, l3_len, l4_len,
// and the TCP pseudo-header sum in its checksum field: a virtio-net header
// GSO_TCPV4/TCPV6 (+ECN when CWR is set) with NEEDS_CSUM. A frame passed on
// alone is unchanged; verified ones get RTE_MBUF_F_RX_L4_CKSUM_GOOD, wrong ones
// RTE_MBUF_F_RX_L4_CKSUM_BAD.
//
// Differences from Linux: Linux lets a packet that cannot merge (IP options,
// a bad checksum) overtake the segments it holds for the same flow; here the
// held ones go first. Linux (6.18) also accepts a fixed id without DF.
#pragma once

#include <cstdint>

#include "dataplane/core/counters.h"

struct rte_mbuf;

namespace ferry::dataplane {

// Flows merging at once (per call); a new flow beyond them is passed on.
inline constexpr std::uint16_t kCoalesceFlows = 64;
// Most mbufs in a merged chain the pipeline asks for (what one send of a vnet
// port gathers, vnet_port.h); a segment that would make it longer starts a
// new merge.
inline constexpr std::uint16_t kCoalesceMaxChain = 64;

// One per worker lcore; not thread-safe. Holds no frames between calls.
class Coalescer {
 public:
  struct Packet;  // a frame being looked at (coalesce.cc)

  // `counters`: the worker's counters (superframes_out, coalesced,
  // gro_bad_checksum, sw_csum_bytes). `max_chain`: the most mbufs a merged
  // frame may have.
  explicit Coalescer(LcoreCounters* counters, std::uint16_t max_chain = 0xffff)
      : counters_(counters), max_chain_(max_chain) {}

  // Takes in[0..n): whole Ethernet frames, in[i] of the network `keys[i]`
  // (frames of different keys never merge: use the network's slot or full
  // VNI, never a truncated one). Writes the resulting frames to out (room for
  // n) in the order their first frames arrived and returns how many; with
  // `out_keys`, the key of each. Every input ends up in exactly one output
  // frame; nothing is dropped or freed. A frame that already asks for an
  // offload (a super-frame, a partial checksum) is passed on untouched.
  std::uint16_t coalesce(rte_mbuf* const* in, const std::uint32_t* keys, std::uint16_t n, rte_mbuf** out,
                         std::uint32_t* out_keys = nullptr);

 private:
  struct Flow {
    std::uint32_t key;
    std::uint32_t hash;
    std::uint32_t ports;    // source and destination port as they lie in the frame
    std::uint8_t addr[32];  // source + destination (IPv4: the first 8 bytes)
    bool ipv6;
    bool fixed_id;
    std::uint8_t header_size;  // Ethernet + IP + TCP
    std::uint16_t mss;         // payload of the first segment
    std::uint16_t segments;
    std::uint16_t ip_id;     // the first segment's IPv4 id
    std::uint32_t next_seq;  // sequence number the next segment must have
    std::uint32_t ip_size;   // IP packet size of the merged frame so far
    rte_mbuf* head;
    rte_mbuf* tail;  // last mbuf of the chain
  };
  void count(Counter c, std::uint64_t n = 1) { counters_->counters[static_cast<std::size_t>(c)] += n; }
  // Finds the flow of p.m and whether it can merge at all (shape, then
  // checksums, counted when wrong).
  void identify(Packet& p);
  Flow* find(const Packet& p);
  void close(Flow* f);
  bool try_merge(Flow& f, const Packet& p);
  void start(const Packet& p);

  LcoreCounters* counters_;
  std::uint16_t max_chain_;
  Flow flows_[kCoalesceFlows];
  std::uint16_t open_ = 0;  // flows_[0 .. open_) are merging
};

}  // namespace ferry::dataplane
