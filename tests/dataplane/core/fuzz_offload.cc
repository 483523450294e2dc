// libFuzzer target: arbitrary frames with arbitrary offload metadata into
// segmentation, and arbitrary bursts into coalescing (and what it makes back
// into segmentation). Nothing may crash, every mbuf must go back to its pool,
// and the outputs must hold together (counts, lengths).
//
//   CXX=clang++ meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined
//   ninja -C build-fuzz tests/dataplane/core/fuzz_offload
//   build-fuzz/tests/dataplane/core/fuzz_offload -max_total_time=60 -max_len=20000
//
// Input: a 16-byte control block, then bytes.
//   c[0] bit 0: coalesce (else segment); bit 1: build a well-formed frame
//        (Ethernet/IPv4|IPv6/TCP|UDP, lengths right, optionally in VXLAN) from
//        the control block and use the bytes as payload plus a few header
//        mutations, so the checks are passed and the deep paths run; else the
//        bytes are the frame as they are.
//   c[1..8] offload metadata (flags from a table, l2/l3/l4/outer lengths,
//        tso_segsz), taken literally in raw mode and as nudges otherwise;
//   c[9] mbuf piece size; c[10] burst size / segments; c[11..15] mutations.
#include <rte_mbuf.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dataplane/core/coalesce.h"
#include "dataplane/core/segment.h"
#include "tests/dataplane/core/offload_support.h"

using namespace ferry::dataplane;
using namespace ferry::dataplane::test;

namespace {

struct State {
  Pools pools{64, 4096, 4096};
  LcoreCounters counters;
  Coalescer coalescer{&counters};
  Segmenter segmenter = make();

  Segmenter make() {
    auto s = Segmenter::create(SegmentConfig{}, pools.header(), pools.indirect(), &counters);
    if (!s) std::abort();
    return *s;
  }
};

State& state() {
  static State* s = new State();
  return *s;
}

constexpr std::uint64_t kFlagTable[] = {
    RTE_MBUF_F_TX_TCP_SEG,    RTE_MBUF_F_TX_UDP_SEG,    RTE_MBUF_F_TX_TCP_CKSUM,      RTE_MBUF_F_TX_UDP_CKSUM,
    RTE_MBUF_F_TX_IPV4,       RTE_MBUF_F_TX_IPV6,       RTE_MBUF_F_TX_IP_CKSUM,       RTE_MBUF_F_TX_TUNNEL_VXLAN,
    RTE_MBUF_F_TX_OUTER_IPV4, RTE_MBUF_F_TX_OUTER_IPV6, RTE_MBUF_F_TX_OUTER_IP_CKSUM, RTE_MBUF_F_TX_OUTER_UDP_CKSUM,
    RTE_MBUF_F_TX_SCTP_CKSUM, RTE_MBUF_F_TX_TUNNEL_GRE, RTE_MBUF_F_RX_L4_CKSUM_GOOD,  RTE_MBUF_F_RX_IP_CKSUM_GOOD,
};

void fail(const char* what) {
  std::fprintf(stderr, "fuzz_offload: %s\n", what);
  std::abort();
}

// Frees a list of frames and checks the pools are whole again.
void release(State& st, std::vector<rte_mbuf*>& frames) {
  for (rte_mbuf* m : frames) rte_pktmbuf_free(m);
  frames.clear();
  if (st.pools.in_use() != 0) fail("mbuf leak");
}

// Segments m; a frame the coalescer merged must always segment.
std::vector<rte_mbuf*> segment_all(State& st, rte_mbuf* m, std::uint16_t room, bool must_succeed = false) {
  std::vector<rte_mbuf*> out(kMaxSegments);
  const std::uint32_t in_len = m->pkt_len;
  const SegmentResult r = st.segmenter.segment(m, out.data(), room);
  if (r.drop && must_succeed) {
    std::fprintf(stderr, "fuzz_offload: a coalesced frame does not segment: %s\n",
                 std::string(counter_name(*r.drop)).c_str());
    std::abort();
  }
  if (r.drop) {
    if (r.count != 0) fail("a drop with output");
    if (m->pkt_len != in_len) fail("a dropped frame changed length");
    out.assign(1, m);  // still ours
    return out;
  }
  if (r.count == 0 || r.count > room) fail("segment count out of range");
  out.resize(r.count);
  for (rte_mbuf* s : out) {
    std::uint32_t sum = 0;
    std::uint16_t segs = 0;
    for (const rte_mbuf* p = s; p != nullptr; p = p->next) {
      sum += p->data_len;
      ++segs;
    }
    if (sum != s->pkt_len || segs != s->nb_segs) fail("segment chain lengths disagree");
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 16 || size > 70000) return 0;
  State& st = state();
  const std::uint8_t* c = data;
  const Bytes bytes(data + 16, data + size);
  const bool coalesce = (c[0] & 1) != 0;
  const bool shaped = (c[0] & 2) != 0;
  const std::size_t piece = c[9] < 8 ? 0 : static_cast<std::size_t>(c[9]) * 13;

  FrameSpec spec;
  spec.ipv6 = (c[1] & 1) != 0;
  spec.udp = (c[1] & 2) != 0 && !coalesce;
  spec.flags = static_cast<std::uint8_t>(c[2] & 0xf9) | kAck;  // no SYN/RST
  spec.options = Bytes(static_cast<std::size_t>(c[3] % 11) * 4, 1);
  spec.csum = (c[1] & 4) != 0 ? Csum::Full : Csum::Partial;
  spec.ip_id = static_cast<std::uint16_t>(c[4] << 8 | c[5]);
  spec.seq = static_cast<std::uint32_t>(c[6]) << 24;
  const bool tunnel = (c[1] & 8) != 0 && !coalesce;
  const bool outer6 = (c[1] & 16) != 0;

  if (!coalesce) {
    Bytes frame;
    if (shaped) {
      spec.data = bytes;
      frame = make_frame(spec);
      if (tunnel) frame = vxlan_wrap(frame, outer6, static_cast<std::uint16_t>(c[7]));
      for (int i = 11; i < 16; i += 2) {  // header mutations
        if (c[i] != 0 && !frame.empty())
          frame[c[i] % std::min<std::size_t>(frame.size(), 128)] ^= c[i + 1 < 16 ? i + 1 : 15];
      }
    } else {
      frame = bytes;
    }
    if (frame.empty()) return 0;
    rte_mbuf* m = st.pools.chain(frame, piece);
    if (shaped) {
      const std::uint16_t mss = static_cast<std::uint16_t>(c[8] * 11 + (c[10] & 1));
      if (tunnel) {
        set_tunnel_offload(m, spec, outer6, mss);
      } else {
        set_offload(m, spec, mss);
      }
      m->ol_flags ^= kFlagTable[c[12] % 16] * ((c[13] & 1) != 0);  // occasionally wrong
    } else {
      m->ol_flags = 0;
      for (int i = 0; i < 16; ++i) {
        if ((c[1 + i / 8] >> (i % 8)) & 1) m->ol_flags |= kFlagTable[i];
      }
      m->l2_len = c[3];
      m->l3_len = static_cast<std::uint16_t>(c[4] * 2);
      m->l4_len = c[5];
      m->outer_l2_len = c[6];
      m->outer_l3_len = static_cast<std::uint16_t>(c[7] * 2);
      m->tso_segsz = static_cast<std::uint16_t>(c[8] << 8 | c[10]);
    }
    std::vector<rte_mbuf*> out = segment_all(st, m, static_cast<std::uint16_t>(1 + c[10] % kMaxSegments));
    release(st, out);
    return 0;
  }

  // Coalescing: a burst of frames; shaped ones are consecutive segments of a
  // flow (or two), mutated here and there.
  const std::size_t burst = 1 + c[10] % 40;
  std::vector<rte_mbuf*> in;
  std::vector<std::uint32_t> keys;
  const std::size_t each = bytes.size() / burst;
  for (std::size_t i = 0; i < burst; ++i) {
    Bytes chunk(bytes.begin() + static_cast<std::ptrdiff_t>(i * each),
                bytes.begin() + static_cast<std::ptrdiff_t>((i + 1) * each));
    Bytes frame;
    if (shaped) {
      FrameSpec s = spec;
      s.data = chunk;
      s.seq = spec.seq + static_cast<std::uint32_t>(i * each);
      s.ip_id = static_cast<std::uint16_t>(spec.ip_id + i);
      s.sport = static_cast<std::uint16_t>(40000 + ((c[11] >> (i % 8)) & 1));
      if (i + 1 < burst) s.flags &= static_cast<std::uint8_t>(~(kPsh | kFin));
      frame = make_frame(s);
      if (c[14] != 0 && i % (1 + c[14] % 7) == 0) frame[c[15] % frame.size()] ^= 0x10;
    } else {
      frame = chunk;
    }
    if (frame.empty()) frame.push_back(0);
    in.push_back(st.pools.chain(frame, piece));
    if ((c[12] >> (i % 8)) & 1) in.back()->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
    keys.push_back(static_cast<std::uint32_t>((c[13] >> (i % 8)) & 1) << 16);
  }
  std::vector<rte_mbuf*> out(in.size());
  const std::uint16_t n =
      st.coalescer.coalesce(in.data(), keys.data(), static_cast<std::uint16_t>(in.size()), out.data());
  if (n == 0 || n > in.size()) fail("coalesce count out of range");
  out.resize(n);
  // What coalescing made must segment cleanly (or be refused with a reason).
  std::vector<rte_mbuf*> all;
  for (rte_mbuf* m : out) {
    const bool merged = (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0;
    std::vector<rte_mbuf*> segs = segment_all(st, m, kMaxSegments, merged);
    all.insert(all.end(), segs.begin(), segs.end());
  }
  release(st, all);
  return 0;
}
