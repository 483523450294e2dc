// Software segmentation (GSO) of super-frames, byte for byte what the Linux
// kernel's tcp_gso_segment / __udp_gso_segment produce, for egress paths
// that cannot take super-frames (a DPDK uplink without tunnel TSO, a kernel
// UDP socket uplink, a port without vnet headers).
//
// Input: a frame with DPDK offload metadata (see offload.h), plain
// L2/IPv4|IPv6/TCP|UDP or VXLAN-encapsulated. Output: one wire-ready frame per
// segment, every checksum complete:
//   - TCP: sequence numbers advance by tso_segsz; CWR only on the first
//     segment, PSH and FIN only on the last; the inner TCP checksum made
//     from the super-frame's pseudo-header sum, adjusted for each length.
//   - UDP (RTE_MBUF_F_TX_UDP_SEG): one datagram per tso_segsz bytes with its
//     own length and checksum (0 sent as 0xffff).
//   - IPv4 id + k for segment k (the inner header; the outer one too when
//     its id is not 0), total length / IPv6 payload length, IPv4 header
//     checksums; outer UDP length, outer UDP checksum 0 over IPv4 and
//     computed over IPv6.
// Each segment is a fresh header mbuf (from the header pool) holding the
// headers, followed by mbufs attached to the input's buffers (indirect, or
// sharing its external buffer) for the payload, or, when the payload fits in
// the header mbuf (and copy_max allows), one mbuf holding the payload copied
// (the default: measured cheaper). The input is consumed: its buffers live
// on until the last segment that refers to them is freed.
//
// A frame that asks only for checksums is completed in place and passed on;
// a frame that asks for nothing is passed on untouched.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <optional>

#include "common/result.h"
#include "dataplane/core/counters.h"
#include "dataplane/core/offload.h"

struct rte_mbuf;
struct rte_mempool;

namespace ferry::dataplane {

// Room for the segments of one super-frame: 64 KB at an MSS of 536 (the
// IPv4 minimum) needs 123.
inline constexpr std::uint16_t kMaxSegments = 128;

struct SegmentConfig {
  // Payloads of at most this many bytes are copied into the segment's header
  // mbuf (when they fit in it) instead of being referenced by an indirect mbuf
  // (an allocation, an atomic reference count, an extra chain element).
  // 0: always reference. Default: copy whatever fits, measured the cheaper
  // way for every payload size up to a 2 KB mbuf (`ferry-bench pipeline`,
  // docs/dataplane-offload.md, "Cost"); larger payloads (jumbo MSS) are
  // referenced.
  std::uint16_t copy_max = 0xffff;

  [[nodiscard]] Result<void> validate() const;
};

struct SegmentResult {
  std::uint16_t count = 0;      // frames written to out
  std::optional<Counter> drop;  // set: out is empty and the input is still the caller's
};

namespace segment_detail {
// What every segment derives its headers from, read once from the input.
struct Template {
  OffloadLayout layout;
  std::uint32_t mss = 0;
  std::uint16_t segments = 0;
  std::uint16_t ip_id = 0;        // inner IPv4 id of the super-frame
  std::uint16_t outer_ip_id = 0;  // outer IPv4 id (0: stays 0)
  std::uint32_t seq = 0;          // TCP sequence number of the super-frame
  std::uint64_t l4_seed = 0;      // pseudo-header sum for the whole L4 length, minus that length
  bool outer_udp_csum = false;    // make the outer UDP checksum (IPv6 outer, or asked for)
  bool outer_udp_zero = false;    // else send it as 0 (a super-frame over IPv4)
};
}  // namespace segment_detail

// One per worker lcore; not thread-safe.
class Segmenter {
 public:
  // `header_pool`: direct mbufs for the segments' headers; each needs room for
  // the largest header stack plus copy_max (RTE_MBUF_DEFAULT_BUF_SIZE covers
  // everything). `indirect_pool`: mbufs attached to the input's buffers (a data
  // room of 0 is enough). `counters`: the worker's counters (superframes_in,
  // gso_segments, sw_csum_bytes).
  static Result<Segmenter> create(const SegmentConfig& config, rte_mempool* header_pool, rte_mempool* indirect_pool,
                                  LcoreCounters* counters);

  // Splits frame `m` into at most `room` wire-ready frames in out[]. On success
  // the input is consumed. On failure returns the drop reason with nothing in
  // out and `m` still the caller's (free it and count the reason); its
  // bytes are unchanged (headers may have moved into its first mbuf):
  // gso_bad_header, gso_bad_mss (tso_segsz 0 or more than `room` segments),
  // gso_too_big, gso_unsupported, gso_headers_split, no_mbuf.
  SegmentResult segment(rte_mbuf* m, rte_mbuf** out, std::uint16_t room);

 private:
  // A read position in the input chain.
  struct Cursor {
    rte_mbuf* seg;
    std::uint32_t off;
  };

  Segmenter(const SegmentConfig& config, rte_mempool* header_pool, rte_mempool* indirect_pool, LcoreCounters* counters);
  void count(Counter c, std::uint64_t n = 1) { counters_->counters[static_cast<std::size_t>(c)] += n; }
  // Chains indirect mbufs for `len` payload bytes from `cur` behind `h`,
  // summing them into `sum`. False when the indirect pool ran dry.
  bool attach_payload(Cursor& cur, rte_mbuf* h, std::uint32_t len, std::uint64_t& sum);
  static void copy_payload(Cursor& cur, std::uint8_t* to, std::uint32_t len);

  SegmentConfig config_;
  rte_mempool* header_pool_;
  rte_mempool* indirect_pool_;
  LcoreCounters* counters_;
};

// The segments of a super-frame for a port that gathers what it sends (a
// kernel socket's sendmmsg takes iovecs): byte for byte the frames
// Segmenter::segment() makes, each given as its headers, written into a
// buffer of the caller's, and its payload as slices of the super-frame's own
// buffers. Nothing is copied or allocated; each payload byte is read once,
// for its segment's checksum. The super-frame must stay alive and unchanged
// until the slices have been used. One per thread; not thread-safe.
class SegmentGather {
 public:
  // One segment: `slices` payload slices written, `payload` bytes in all.
  struct Piece {
    std::uint32_t payload = 0;
    std::uint32_t slices = 0;
  };

  // Checks the metadata of super-frame `m` (TX_TCP_SEG or TX_UDP_SEG, plain
  // or VXLAN) against its bytes, moving split headers into its first mbuf.
  // Returns the drop reason as Segmenter::segment() would (gso_bad_header,
  // gso_bad_mss: tso_segsz 0 or more than kMaxSegments segments,
  // gso_too_big, gso_unsupported: not a super-frame, gso_headers_split), the
  // frame's bytes unchanged.
  [[nodiscard]] std::optional<Counter> start(rte_mbuf* m);
  [[nodiscard]] std::uint16_t segments() const { return t_.segments; }
  // Bytes next() writes at `headers`: the whole header stack (outer too).
  [[nodiscard]] std::uint16_t header_size() const { return t_.layout.headers; }
  // Slices all segments together take at most (one per segment, one more
  // per mbuf boundary), and one segment at most (the chain's mbuf count).
  [[nodiscard]] std::uint32_t max_slices() const { return std::uint32_t{t_.segments} + chain_; }
  [[nodiscard]] std::uint32_t max_segment_slices() const { return chain_; }
  // The next segment (in order, segments() times): its headers into
  // `headers`, its payload slices into `slices` (room for
  // max_segment_slices()).
  Piece next(std::uint8_t* headers, iovec* slices);
  // Bytes summed for checksums since start() (for the software-checksum
  // counters).
  [[nodiscard]] std::uint64_t summed() const { return summed_; }

 private:
  segment_detail::Template t_;
  const std::uint8_t* src_ = nullptr;
  const rte_mbuf* seg_ = nullptr;  // read position in the chain
  std::uint32_t off_ = 0;
  std::uint32_t left_ = 0;  // payload bytes not yet handed out
  std::uint16_t k_ = 0;     // next segment
  std::uint32_t chain_ = 0;
  std::uint64_t summed_ = 0;
};

}  // namespace ferry::dataplane
