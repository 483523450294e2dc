// Stream sealing: lengths authenticated before bodies, bodies verified chunk
// by chunk, and every way of tampering with a stream refused.
#include "control/gossip/stream_seal.h"

#include <gtest/gtest.h>

#include <random>

namespace ferry::gossip {
namespace {

constexpr std::int64_t kNow = 1'700'000'000'000;
const Address kTo{0x0a000002, 7946};

Keyring ring_with(const Key& key) {
  Keyring r;
  EXPECT_TRUE(r.install(key));
  return r;
}

struct Ends {
  Keyring sender_ring, receiver_ring;
  Envelope sender, receiver;
  explicit Ends(const Key& key = Keyring::generate())
      : sender_ring(ring_with(key)),
        receiver_ring(ring_with(key)),
        sender(sender_ring, {}, 1),
        receiver(receiver_ring, {}, 2) {}
};

// Feeds `wire` in pieces of random size (never more than want()); returns the
// reader's final status. Checks the reader never holds more than one unit of
// unverified bytes.
StreamReader::Status feed_all(StreamReader& r, std::string_view wire, std::mt19937_64& rng) {
  std::size_t at = 0;
  while (at < wire.size() && r.status() == StreamReader::Status::kMore) {
    const std::size_t want = r.want();
    EXPECT_LE(want, kStreamChunk + kStreamChunkOverhead);
    const std::size_t n = std::min({want, wire.size() - at, 1 + static_cast<std::size_t>(rng() % 70'000)});
    r.feed(wire.substr(at, n), kNow);
    at += n;
    if (!r.authenticated()) {
      EXPECT_LE(r.buffered(), kStreamHeaderWireSize);
    }
  }
  return r.status();
}

std::string body(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 131 + 7);
  return s;
}

TEST(StreamSeal, RoundTripsAtEveryChunkBoundary) {
  std::mt19937_64 rng(1);
  for (const std::size_t n :
       {std::size_t{0}, std::size_t{1}, kStreamChunk - 1, kStreamChunk, kStreamChunk + 1, 3 * kStreamChunk + 5}) {
    Ends e;
    const std::string payload = body(n);
    const std::string wire = seal_stream(e.sender, kTo, payload, kNow);
    EXPECT_EQ(wire.size(), stream_wire_size(n)) << n;
    StreamReader r(e.receiver, kTo, 1u << 20);
    ASSERT_EQ(feed_all(r, wire, rng), StreamReader::Status::kDone) << n << " " << r.failure();
    EXPECT_EQ(r.want(), 0u);
    EXPECT_EQ(r.take_payload(), payload) << n;
  }
}

TEST(StreamSeal, TheLengthIsCheckedBeforeAnyBodyIsRead) {
  Ends e;
  const std::string wire = seal_stream(e.sender, kTo, body(1001), kNow);
  StreamReader r(e.receiver, kTo, 1000);
  EXPECT_EQ(r.feed(std::string_view(wire).substr(0, kStreamHeaderWireSize), kNow), StreamReader::Status::kFailed);
  EXPECT_EQ(r.failure(), "oversize");
  EXPECT_EQ(r.buffered(), 0u);
}

TEST(StreamSeal, AStreamForAnotherNodeFailsAtItsHeader) {
  Ends e;
  const std::string wire = seal_stream(e.sender, kTo, "push-pull state", kNow);
  StreamReader r(e.receiver, Address{0x0a000003, 7946}, 1u << 20);
  EXPECT_EQ(r.feed(std::string_view(wire).substr(0, kStreamHeaderWireSize), kNow), StreamReader::Status::kFailed);
  EXPECT_EQ(r.failure(), "auth_failed");
}

TEST(StreamSeal, ReplayedStreamIsRefused) {
  Ends e;
  std::mt19937_64 rng(2);
  const std::string wire = seal_stream(e.sender, kTo, "join", kNow);
  StreamReader first(e.receiver, kTo, 1u << 20);
  ASSERT_EQ(feed_all(first, wire, rng), StreamReader::Status::kDone);
  StreamReader again(e.receiver, kTo, 1u << 20);
  EXPECT_EQ(feed_all(again, wire, rng), StreamReader::Status::kFailed);
  EXPECT_EQ(again.failure(), "replay");
}

TEST(StreamSeal, ReorderedSplicedAndCutStreamsAreRefused) {
  std::mt19937_64 rng(3);
  const std::size_t unit = kStreamChunk + kStreamChunkOverhead;
  const std::string payload = body(3 * kStreamChunk);
  {  // chunks 0 and 1 swapped
    Ends e;
    std::string wire = seal_stream(e.sender, kTo, payload, kNow);
    const std::string c0 = wire.substr(kStreamHeaderWireSize, unit);
    wire.replace(kStreamHeaderWireSize, unit, wire.substr(kStreamHeaderWireSize + unit, unit));
    wire.replace(kStreamHeaderWireSize + unit, unit, c0);
    StreamReader r(e.receiver, kTo, 1u << 20);
    EXPECT_EQ(feed_all(r, wire, rng), StreamReader::Status::kFailed);
    EXPECT_EQ(r.failure(), "bad_chunk");
  }
  {  // chunk 1 taken from another stream of the same sender and size
    Ends e;
    std::string wire = seal_stream(e.sender, kTo, payload, kNow);
    const std::string other = seal_stream(e.sender, kTo, payload, kNow);
    wire.replace(kStreamHeaderWireSize + unit, unit, other.substr(kStreamHeaderWireSize + unit, unit));
    StreamReader r(e.receiver, kTo, 1u << 20);
    EXPECT_EQ(feed_all(r, wire, rng), StreamReader::Status::kFailed);
    EXPECT_EQ(r.failure(), "bad_chunk");
  }
  {  // the last chunk missing: never done (the transport fails it at EOF)
    Ends e;
    const std::string wire = seal_stream(e.sender, kTo, payload, kNow);
    StreamReader r(e.receiver, kTo, 1u << 20);
    EXPECT_EQ(feed_all(r, std::string_view(wire).substr(0, wire.size() - unit), rng), StreamReader::Status::kMore);
    EXPECT_EQ(r.want(), unit);
  }
}

TEST(StreamSeal, EveryFlippedBitIsDetected) {
  const Key key = Keyring::generate();
  Ends e(key);
  std::mt19937_64 rng(4);
  const std::string wire = seal_stream(e.sender, kTo, body(100), kNow);
  for (std::size_t bit = 0; bit < wire.size() * 8; ++bit) {
    std::string bad = wire;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    Keyring ring = ring_with(key);
    Envelope receiver(ring, {}, 3);
    StreamReader r(receiver, kTo, 1u << 20);
    ASSERT_NE(feed_all(r, bad, rng), StreamReader::Status::kDone) << "bit " << bit;
  }
}

TEST(StreamSeal, FeedingMoreThanWantedFails) {
  Ends e;
  const std::string wire = seal_stream(e.sender, kTo, "x", kNow);
  StreamReader r(e.receiver, kTo, 1u << 20);
  EXPECT_EQ(r.feed(wire, kNow), StreamReader::Status::kFailed);
  EXPECT_EQ(r.failure(), "overrun");
}

}  // namespace
}  // namespace ferry::gossip
