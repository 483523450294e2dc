// TCP coalescing: segments merge back into the super-frame they came from
// (byte for byte, with its metadata), every rule that stops a merge, order
// within a flow, checksum failures, and segment(coalesce(x)) == x over random
// mixes of flows.
#include "dataplane/core/coalesce.h"

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <functional>
#include <map>
#include <random>

#include "dataplane/core/segment.h"
#include "tests/dataplane/core/offload_support.h"

namespace ferry::dataplane::test {
namespace {

const Bytes kTimestamps = {0x01, 0x01, 0x08, 0x0a, 0x00, 0x01, 0xe2, 0x40, 0x00, 0x00, 0x30, 0x39};

// Frames of one flow as the kernel's GSO cuts a super-frame (see segment_test).
std::vector<Bytes> segments_of(const FrameSpec& s, std::size_t mss) {
  const Bytes payload = make_payload(s);
  const std::size_t n = payload.empty() ? 1 : (payload.size() + mss - 1) / mss;
  std::vector<Bytes> out;
  for (std::size_t k = 0; k < n; ++k) {
    FrameSpec t = s;
    const std::size_t from = k * mss, to = std::min(payload.size(), from + mss);
    t.data =
        Bytes(payload.begin() + static_cast<std::ptrdiff_t>(from), payload.begin() + static_cast<std::ptrdiff_t>(to));
    t.csum = Csum::Full;
    t.seq = s.seq + static_cast<std::uint32_t>(k * mss);
    t.ip_id = static_cast<std::uint16_t>(s.ip_id + k);
    if (k > 0) t.flags &= static_cast<std::uint8_t>(~kCwr);
    if (k + 1 < n) t.flags &= static_cast<std::uint8_t>(~(kPsh | kFin));
    out.push_back(make_frame(t));
  }
  return out;
}

class CoalesceTest : public ::testing::Test {
 protected:
  struct Out {
    Bytes bytes;
    std::uint64_t flags;
    std::uint16_t mss;
    std::uint16_t l2, l3, l4;
  };

  // Coalesces `frames` (all of network `key` unless `keys` given) and frees the result.
  std::vector<Out> run(const std::vector<Bytes>& frames, std::vector<std::uint32_t> keys = {}, std::size_t piece = 0) {
    if (keys.empty()) keys.assign(frames.size(), 7);
    std::vector<rte_mbuf*> in, out(frames.size());
    for (const Bytes& f : frames) in.push_back(pools.chain(f, piece));
    const std::uint16_t n =
        coalescer.coalesce(in.data(), keys.data(), static_cast<std::uint16_t>(in.size()), out.data());
    std::vector<Out> result;
    for (std::uint16_t i = 0; i < n; ++i) {
      rte_mbuf* m = out[i];
      result.push_back({flatten(m), m->ol_flags, static_cast<std::uint16_t>(m->tso_segsz),
                        static_cast<std::uint16_t>(m->l2_len), static_cast<std::uint16_t>(m->l3_len),
                        static_cast<std::uint16_t>(m->l4_len)});
      EXPECT_EQ(m->pkt_len, result.back().bytes.size());
      rte_pktmbuf_free(m);
    }
    EXPECT_EQ(pools.in_use(), 0u);
    return result;
  }

  static bool merged(const Out& o) { return (o.flags & RTE_MBUF_F_TX_TCP_SEG) != 0; }

  Pools pools;
  LcoreCounters counters;
  Coalescer coalescer{&counters};
};

TEST_F(CoalesceTest, SegmentsBecomeTheirSuperFrameAgain) {
  for (bool ipv6 : {false, true}) {
    for (std::size_t payload : {2896u, 10000u, 65535u - 40 - 32}) {
      for (std::uint8_t flags :
           {std::uint8_t(kAck | kPsh), std::uint8_t(kAck | kCwr | kEce | kPsh | kFin), std::uint8_t(kAck)}) {
        for (std::size_t piece : {0u, 700u}) {
          FrameSpec s;
          s.ipv6 = ipv6;
          s.payload = ipv6 ? payload - 20 : payload;
          s.flags = flags;
          s.options = kTimestamps;
          s.random_payload = true;
          s.csum = Csum::Partial;
          SCOPED_TRACE(testing::Message() << "ipv6 " << ipv6 << " payload " << s.payload << " flags " << int(flags)
                                          << " pieces " << piece);
          const auto out = run(segments_of(s, 1448), {}, piece);
          ASSERT_EQ(out.size(), 1u);
          EXPECT_EQ(out[0].bytes, make_frame(s));
          EXPECT_EQ(out[0].flags &
                        (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6),
                    RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM | (ipv6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4));
          EXPECT_EQ(out[0].mss, 1448);
          EXPECT_EQ(out[0].l2, 14);
          EXPECT_EQ(out[0].l3, ipv6 ? 40 : 20);
          EXPECT_EQ(out[0].l4, 32);
        }
      }
    }
  }
  EXPECT_EQ(counter(counters, Counter::superframes_out), 36u);
  EXPECT_EQ(counter(counters, Counter::gro_bad_checksum), 0u);
}

TEST_F(CoalesceTest, FlowsInterleavedAndNetworksApart) {
  FrameSpec a, b;
  a.payload = b.payload = 1448 * 4;
  a.csum = b.csum = Csum::Partial;
  b.sport = 40001;
  b.random_payload = true;
  const auto sa = segments_of(a, 1448), sb = segments_of(b, 1448);
  std::vector<Bytes> mixed;
  for (std::size_t i = 0; i < 4; ++i) {
    mixed.push_back(sb[i]);
    mixed.push_back(sa[i]);
  }
  auto out = run(mixed);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].bytes, make_frame(b));  // b's first segment came first
  EXPECT_EQ(out[1].bytes, make_frame(a));

  // The same flow in two networks whose keys differ only above bit 16 (a VNI
  // cut to 16 bits would merge them): never merged with each other.
  std::vector<Bytes> frames;
  std::vector<std::uint32_t> keys;
  for (std::size_t i = 0; i < 4; ++i) {
    frames.push_back(sa[i]);
    keys.push_back(0x010042);
    frames.push_back(sa[i]);
    keys.push_back(0x020042);
  }
  out = run(frames, keys);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].bytes, make_frame(a));
  EXPECT_EQ(out[1].bytes, make_frame(a));
}

// The chain limit (what one send of a vnet port gathers): a segment that
// would make the merged chain longer starts a new merge.
TEST_F(CoalesceTest, ChainLimitStartsANewMerge) {
  Coalescer limited(&counters, 3);
  FrameSpec a;
  a.payload = 1448 * 8;
  a.csum = Csum::Partial;
  const auto segs = segments_of(a, 1448);
  std::vector<rte_mbuf*> in, out(segs.size());
  for (const Bytes& f : segs) in.push_back(pools.chain(f));
  const std::vector<std::uint32_t> keys(in.size(), 7);
  const std::uint16_t n = limited.coalesce(in.data(), keys.data(), static_cast<std::uint16_t>(in.size()), out.data());
  ASSERT_EQ(n, 3);  // 3 + 3 + 2
  Bytes payload;
  for (std::uint16_t i = 0; i < n; ++i) {
    EXPECT_LE(out[i]->nb_segs, 3);
    EXPECT_TRUE(out[i]->ol_flags & RTE_MBUF_F_TX_TCP_SEG);
    const Bytes b = flatten(out[i]);
    payload.insert(payload.end(), b.begin() + 54, b.end());  // Ethernet + IPv4 + TCP
    rte_pktmbuf_free(out[i]);
  }
  EXPECT_EQ(payload, make_payload(a));
  EXPECT_EQ(pools.in_use(), 0u);
}

// A frame that already asks for an offload (a super-frame, a partial
// checksum) is passed on untouched, unverified, and closes its flow's merge
// so that the flow keeps its order; out_keys follow every output.
TEST_F(CoalesceTest, OffloadFramesPassUntouchedInOrder) {
  FrameSpec a;
  a.payload = 1448 * 4;
  a.csum = Csum::Partial;
  const auto segs = segments_of(a, 1448);
  std::vector<rte_mbuf*> in;
  in.reserve(segs.size());
  for (const Bytes& f : segs) in.push_back(pools.chain(f));
  // Segment 2 with a partial checksum (as a vnet or kernel peer leaves it).
  FrameSpec two = a;
  const Bytes all = make_payload(a);
  two.data = Bytes(all.begin() + 2 * 1448, all.begin() + 3 * 1448);
  two.seq = a.seq + 2 * 1448;
  two.ip_id = static_cast<std::uint16_t>(a.ip_id + 2);
  two.flags = kAck;
  const Bytes partial = make_frame(two);
  rte_pktmbuf_free(in[2]);
  in[2] = pools.chain(partial);
  in[2]->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
  const std::vector<std::uint32_t> keys = {1, 2, 3, 4};
  std::vector<rte_mbuf*> out(4);
  std::uint32_t out_keys[4] = {};
  const std::uint16_t n = coalescer.coalesce(in.data(), keys.data(), 4, out.data(), out_keys);
  ASSERT_EQ(n, 4);  // keys differ: nothing merges; order and keys kept
  for (std::uint16_t i = 0; i < n; ++i) EXPECT_EQ(out_keys[i], keys[i]);
  for (std::uint16_t i = 0; i < n; ++i) rte_pktmbuf_free(out[i]);

  // One network: 0+1 merged, 2 as it was, 3 alone after it.
  in.clear();
  for (const Bytes& f : segs) in.push_back(pools.chain(f));
  rte_pktmbuf_free(in[2]);
  in[2] = pools.chain(partial);
  in[2]->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
  const std::vector<std::uint32_t> same(4, 9);
  const std::uint16_t m = coalescer.coalesce(in.data(), same.data(), 4, out.data(), out_keys);
  ASSERT_EQ(m, 3);
  EXPECT_TRUE(out[0]->ol_flags & RTE_MBUF_F_TX_TCP_SEG);
  EXPECT_EQ(flatten(out[1]), partial);
  EXPECT_EQ(out[1]->ol_flags, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM);
  EXPECT_EQ(flatten(out[2]), segs[3]);
  for (std::uint16_t i = 0; i < m; ++i) {
    EXPECT_EQ(out_keys[i], 9u);
    rte_pktmbuf_free(out[i]);
  }
  EXPECT_EQ(counter(counters, Counter::gro_bad_checksum), 0u);
  EXPECT_EQ(pools.in_use(), 0u);
}

// Each rule that stops a merge, in a four-segment flow: `edit` changes
// segment 2 (`from_two_on`: and segment 3 the same way, so 2 and 3 can merge
// with each other); `want` is the number of frames that come out.
TEST_F(CoalesceTest, EveryRuleThatStopsAMerge) {
  struct Case {
    const char* what;
    std::function<void(FrameSpec&)> edit;
    bool from_two_on;
    std::size_t want;
  };
  const std::vector<Case> cases = {
      {"nothing (control)", [](FrameSpec&) {}, true, 1},
      {"sequence gap", [](FrameSpec& s) { s.seq += 1; }, true, 2},
      {"other ACK number", [](FrameSpec& s) { s.ack += 1; }, true, 2},
      {"other window", [](FrameSpec& s) { s.window += 1; }, true, 2},
      {"other timestamp option", [](FrameSpec& s) { s.options[11] ^= 1; }, true, 2},
      {"ECE appears", [](FrameSpec& s) { s.flags |= kEce; }, true, 2},
      {"IPv4 id jumps", [](FrameSpec& s) { s.ip_id += 5; }, true, 2},
      {"TOS", [](FrameSpec& s) { s.tos = 4; }, true, 2},
      {"TTL", [](FrameSpec& s) { s.ttl = 63; }, true, 2},
      {"DF", [](FrameSpec& s) { s.df = false; }, true, 2},
      {"other port (another flow)", [](FrameSpec& s) { s.sport = 1; }, true, 2},
      {"CWR (starts a new merge)", [](FrameSpec& s) { s.flags |= kCwr; }, false, 2},
      {"PSH (merged as the last)", [](FrameSpec& s) { s.flags |= kPsh; }, false, 2},
      {"FIN (merged as the last)", [](FrameSpec& s) { s.flags |= kFin; }, false, 2},
      {"shorter than the MSS (merged as the last)", [](FrameSpec& s) { s.data->resize(1000); }, false, 2},
      {"SYN", [](FrameSpec& s) { s.flags |= kSyn; }, false, 3},
      {"RST", [](FrameSpec& s) { s.flags |= kRst; }, false, 3},
      {"URG", [](FrameSpec& s) { s.flags |= kUrg; }, false, 3},
      {"IPv4 options",
       [](FrameSpec& s) {
         s.ip_options = {1, 1, 1, 0};
       },
       false, 3},
      {"empty payload (pure ACK)", [](FrameSpec& s) { s.data = Bytes{}; }, false, 3},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    FrameSpec s;
    s.payload = 1448 * 4;
    s.options = kTimestamps;
    s.ip_id = 100;
    std::vector<Bytes> frames;
    const Bytes payload = make_payload(s);
    for (std::size_t k = 0; k < 4; ++k) {
      FrameSpec t = s;
      t.data = Bytes(payload.begin() + static_cast<std::ptrdiff_t>(k * 1448),
                     payload.begin() + static_cast<std::ptrdiff_t>((k + 1) * 1448));
      t.seq = s.seq + static_cast<std::uint32_t>(k * 1448);
      t.ip_id = static_cast<std::uint16_t>(s.ip_id + k);
      if (k == 2 || (k > 2 && c.from_two_on)) c.edit(t);
      if (k == 3 && std::string(c.what).rfind("shorter", 0) == 0) t.seq -= 448;
      frames.push_back(make_frame(t));
    }
    const auto out = run(frames);
    EXPECT_EQ(out.size(), c.want);
    // Nothing is lost or reordered: the payload bytes come out in order.
    Bytes got;
    for (const auto& o : out) {
      const std::size_t hs = 14 + (o.bytes[14] & 0x0f) * 4u + (o.bytes[14 + (o.bytes[14] & 0x0f) * 4 + 12] >> 4) * 4u;
      got.insert(got.end(), o.bytes.begin() + static_cast<std::ptrdiff_t>(hs), o.bytes.end());
    }
    if (std::string(c.what).find("payload") == std::string::npos && std::string(c.what).rfind("shorter", 0) != 0) {
      EXPECT_EQ(got, payload);
    }
  }
}

TEST_F(CoalesceTest, FixedIdsMergeOnlyWithDf) {
  for (bool df : {true, false}) {
    FrameSpec s;
    s.payload = 1448 * 3;
    s.df = df;
    std::vector<Bytes> frames = segments_of(s, 1448);
    for (Bytes& f : frames) {
      set16(f, 18, 0);
      set16(f, 24, 0);
      set16(f, 24, static_cast<std::uint16_t>(~naive_sum(f.data() + 14, 20)));
    }
    const auto out = run(frames);
    EXPECT_EQ(out.size(), df ? 1u : 3u) << "DF " << df;
  }
}

TEST_F(CoalesceTest, Ipv6FlowLabelTrafficClassHopLimit) {
  for (int which = 0; which < 4; ++which) {
    FrameSpec s;
    s.ipv6 = true;
    s.payload = 1448 * 2;
    s.flow_label = 0x12345;
    std::vector<Bytes> frames = segments_of(s, 1448);
    FrameSpec t = s;
    t.data = Bytes(100, 9);
    t.seq = s.seq + 2 * 1448;
    if (which == 1) t.flow_label = 0x12346;
    if (which == 2) t.tos = 0x20;
    if (which == 3) t.ttl = 1;
    frames.push_back(make_frame(t));
    EXPECT_EQ(run(frames).size(), which == 0 ? 1u : 2u) << which;
  }
}

TEST_F(CoalesceTest, LargerSegmentAfterASmallerFirstAndThe64KLimit) {
  FrameSpec s;
  s.payload = 1000 + 1448;
  std::vector<Bytes> frames;
  FrameSpec t = s;
  t.data = Bytes(1000, 1);
  frames.push_back(make_frame(t));  // MSS is 1000 now ...
  t.data = Bytes(1448, 2);
  t.seq += 1000;
  t.ip_id += 1;
  frames.push_back(make_frame(t));  // ... so 1448 does not fit
  EXPECT_EQ(run(frames).size(), 2u);

  // 46 segments of 1448 bytes: the 46th would take the IPv4 packet past 65535.
  s.payload = 1448 * 46;
  const auto out = run(segments_of(s, 1448));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].bytes.size(), 14u + 40 + 1448 * 45);
  EXPECT_FALSE(merged(out[1]));
}

TEST_F(CoalesceTest, BadChecksumsAreCountedAndPassedOnUnmergedInOrder) {
  FrameSpec s;
  s.payload = 1448 * 4;
  std::vector<Bytes> frames = segments_of(s, 1448);
  frames[2][60] ^= 0x40;  // payload bit flip
  auto out = run(frames);
  ASSERT_EQ(out.size(), 3u);  // [0,1] merged, 2 alone, 3 alone (the gap)
  EXPECT_TRUE(merged(out[0]));
  EXPECT_EQ(out[1].bytes, frames[2]);
  EXPECT_TRUE((out[1].flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_BAD);
  EXPECT_EQ(counter(counters, Counter::gro_bad_checksum), 1u);

  frames = segments_of(s, 1448);
  frames[1][24] ^= 1;  // IPv4 header checksum
  out = run(frames);
  EXPECT_EQ(out.size(), 3u);
  EXPECT_EQ(counter(counters, Counter::gro_bad_checksum), 2u);

  // A NIC's verdict is trusted: RX_L4_CKSUM_GOOD skips the check.
  frames = segments_of(s, 1448);
  frames[2][60] ^= 0x40;
  std::vector<rte_mbuf*> in, res(frames.size());
  for (const Bytes& f : frames) {
    in.push_back(pools.chain(f));
    in.back()->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
  }
  const std::vector<std::uint32_t> keys(frames.size(), 1);
  EXPECT_EQ(coalescer.coalesce(in.data(), keys.data(), static_cast<std::uint16_t>(in.size()), res.data()), 1);
  rte_pktmbuf_free(res[0]);
  EXPECT_EQ(pools.in_use(), 0u);
}

TEST_F(CoalesceTest, PaddingOtherProtocolsAndSingleFramesPassUnchanged) {
  FrameSpec s;
  s.payload = 10;
  Bytes padded = make_frame(s);  // a short frame with Ethernet padding
  padded.resize(60 + 4, 0);
  FrameSpec u;
  u.udp = true;
  const Bytes arp = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1};
  FrameSpec one;
  one.payload = 1448;
  one.sport = 999;
  const std::vector<Bytes> frames = {padded, make_frame(u), arp, make_frame(one)};
  const auto out = run(frames);
  ASSERT_EQ(out.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(out[i].bytes, frames[i]) << i;
    EXPECT_FALSE(merged(out[i]));
  }
  EXPECT_EQ(out[3].flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
}

TEST_F(CoalesceTest, MoreFlowsThanTheTablePassOn) {
  std::vector<Bytes> frames;
  for (int round = 0; round < 2; ++round) {
    for (std::uint16_t f = 0; f < kCoalesceFlows + 6; ++f) {
      FrameSpec s;
      s.sport = static_cast<std::uint16_t>(1000 + f);
      s.payload = 1448 * 2;
      frames.push_back(segments_of(s, 1448)[static_cast<std::size_t>(round)]);
    }
  }
  const auto out = run(frames);
  // The first kCoalesceFlows flows merge; the 6 beyond pass both segments.
  EXPECT_EQ(out.size(), kCoalesceFlows + 12u);
}

// segment(coalesce(x)) == x for random mixes of flows, keys, segment sizes,
// flags and interruptions (pure ACKs, other protocols), with frames split
// over mbufs at random.
TEST_F(CoalesceTest, SegmentingTheCoalescedFramesGivesBackTheInput) {
  auto segmenter = Segmenter::create(SegmentConfig{}, pools.header(), pools.indirect(), &counters);
  ASSERT_TRUE(segmenter);
  std::mt19937 rng(2024);
  for (int trial = 0; trial < 60; ++trial) {
    SCOPED_TRACE(trial);
    struct FlowState {
      FrameSpec spec;
      std::vector<Bytes> frames;
      std::size_t next = 0;
      std::uint32_t key;
    };
    std::vector<FlowState> flows(1 + rng() % 4);
    for (std::size_t i = 0; i < flows.size(); ++i) {
      FrameSpec& s = flows[i].spec;
      s.ipv6 = rng() % 2;
      s.sport = static_cast<std::uint16_t>(2000 + i);
      s.payload = 1 + rng() % 30000;
      s.flags = static_cast<std::uint8_t>(kAck | (rng() % 2 ? kPsh : 0) | (rng() % 5 == 0 ? kCwr : 0) |
                                          (rng() % 7 == 0 ? kFin : 0));
      s.options = rng() % 2 ? kTimestamps : Bytes{};
      s.random_payload = true;
      s.payload_seed = static_cast<std::uint8_t>(rng());
      s.seq = static_cast<std::uint32_t>(rng());
      s.ip_id = static_cast<std::uint16_t>(rng());
      flows[i].key = static_cast<std::uint32_t>(rng() % 2) << 20;
      flows[i].frames = segments_of(s, 536 + rng() % 1000);
    }
    // Interleave, sometimes with a pure ACK of a flow or a UDP frame.
    std::vector<Bytes> frames;
    std::vector<std::uint32_t> keys;
    std::vector<int> owner;
    for (;;) {
      std::vector<std::size_t> live;
      for (std::size_t i = 0; i < flows.size(); ++i) {
        if (flows[i].next < flows[i].frames.size()) live.push_back(i);
      }
      if (live.empty()) break;
      const std::size_t i = live[rng() % live.size()];
      if (rng() % 10 == 0) {
        FrameSpec ack = flows[i].spec;
        ack.data = Bytes{};
        ack.flags = kAck;
        frames.push_back(make_frame(ack));
        keys.push_back(flows[i].key);
        owner.push_back(static_cast<int>(i));  // part of the flow's order too
      }
      frames.push_back(flows[i].frames[flows[i].next++]);
      keys.push_back(flows[i].key);
      owner.push_back(static_cast<int>(i));
    }
    std::vector<rte_mbuf*> in, out(frames.size());
    for (const Bytes& f : frames) in.push_back(pools.chain(f, rng() % 2 ? 0 : 200 + rng() % 2000));
    const std::uint16_t n =
        coalescer.coalesce(in.data(), keys.data(), static_cast<std::uint16_t>(in.size()), out.data());
    // Segment every output back and check: the sequence of frames is the input's.
    std::vector<Bytes> back;
    for (std::uint16_t i = 0; i < n; ++i) {
      rte_mbuf* segs[kMaxSegments];
      const SegmentResult r = segmenter->segment(out[i], segs, kMaxSegments);
      ASSERT_FALSE(r.drop);
      for (std::uint16_t j = 0; j < r.count; ++j) back.push_back(flatten(segs[j]));
      rte_pktmbuf_free_bulk(segs, r.count);
    }
    // Per flow, order and bytes are the same; the total is the same.
    ASSERT_EQ(back.size(), frames.size());
    std::map<int, std::vector<Bytes>> want_by_flow, got_by_flow;
    for (std::size_t i = 0; i < frames.size(); ++i) want_by_flow[owner[i]].push_back(frames[i]);
    for (const Bytes& f : back) {
      int who = -2;
      for (std::size_t i = 0; i < frames.size() && who == -2; ++i) {
        if (frames[i] == f) who = owner[i];
      }
      ASSERT_NE(who, -2) << "a frame that was not in the input came out";
      got_by_flow[who].push_back(f);
    }
    for (auto& [who, want] : want_by_flow) EXPECT_EQ(got_by_flow[who], want) << "flow " << who;
    EXPECT_EQ(pools.in_use(), 0u);
  }
  EXPECT_GT(counter(counters, Counter::superframes_out), 30u);
}

}  // namespace
}  // namespace ferry::dataplane::test
