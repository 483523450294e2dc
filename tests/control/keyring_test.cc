#include "control/gossip/keyring.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <random>

#include "control/gossip/envelope.h"

namespace ferry::gossip {
namespace {

constexpr std::int64_t kNow = 1'700'000'000'000;
const Address kTo{0x0a000002, 7946};  // the receiving node

Keyring ring_of(std::initializer_list<Key> keys) {
  Keyring r;
  for (const Key& k : keys) EXPECT_TRUE(r.install(k));
  return r;
}

TEST(Keyring, EncodeDecodeRoundTrip) {
  const Key key = Keyring::generate();
  const std::string line = Keyring::encode(key);
  EXPECT_EQ(line.size(), 44u);
  auto back = Keyring::decode(line);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, key);
}

TEST(Keyring, ParseKeyFile) {
  const Key a = Keyring::generate(), b = Keyring::generate();
  auto ring = Keyring::parse("# cluster keys\n\n" + Keyring::encode(a) + "\r\n  " + Keyring::encode(b) + "  \n");
  ASSERT_TRUE(ring) << ring.error().message;
  EXPECT_EQ(ring->primary_id(), Keyring::id_of(a));
  EXPECT_EQ(ring->ids().size(), 2u);
  EXPECT_NE(ring->find(Keyring::id_of(b)), nullptr);
  auto again = Keyring::parse(ring->to_text());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->ids(), ring->ids());
}

TEST(Keyring, ParseRejectsBadFiles) {
  const std::string good = Keyring::encode(Keyring::generate());
  EXPECT_FALSE(Keyring::parse(""));
  EXPECT_FALSE(Keyring::parse("# only a comment\n"));
  EXPECT_FALSE(Keyring::parse("not base64 at all\n"));
  EXPECT_FALSE(Keyring::parse(good.substr(0, 40) + "\n"));     // truncated
  EXPECT_FALSE(Keyring::parse(good + "AAAA\n"));               // too long
  EXPECT_FALSE(Keyring::parse(std::string(43, 'A') + "!\n"));  // bad character
  auto dup = Keyring::parse(good + "\n" + good + "\n");
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message.find("line 2"), std::string::npos) << dup.error().message;
  // 33 bytes encode to 44 characters too, with no padding: must be refused.
  EXPECT_FALSE(Keyring::parse(std::string(44, 'A') + "\n"));
}

TEST(Keyring, LoadChecksPermissions) {
  const std::string path = ::testing::TempDir() + "/ferry_keyring_" + std::to_string(::getpid());
  { std::ofstream(path) << Keyring::encode(Keyring::generate()) << "\n"; }
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  EXPECT_FALSE(Keyring::load(path));
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  EXPECT_TRUE(Keyring::load(path));
  ::unlink(path.c_str());
  EXPECT_FALSE(Keyring::load(path));
}

TEST(Keyring, InstallUseRemove) {
  const Key a = Keyring::generate(), b = Keyring::generate();
  Keyring r = ring_of({a});
  EXPECT_TRUE(r.install(a));  // twice is harmless
  EXPECT_EQ(r.ids().size(), 1u);
  EXPECT_FALSE(r.use(Keyring::id_of(b)));
  EXPECT_TRUE(r.install(b));
  EXPECT_EQ(r.primary_id(), Keyring::id_of(a));
  EXPECT_FALSE(r.remove(Keyring::id_of(a)));  // primary
  EXPECT_TRUE(r.use(Keyring::id_of(b)));
  EXPECT_TRUE(r.remove(Keyring::id_of(a)));
  EXPECT_EQ(r.ids(), std::vector<KeyId>{Keyring::id_of(b)});
  EXPECT_FALSE(r.remove(Keyring::id_of(a)));
}

struct Pair {
  Keyring sender_ring, receiver_ring;
  Envelope sender, receiver;
  explicit Pair(const Key& key)
      : sender_ring(ring_of({key})),
        receiver_ring(ring_of({key})),
        sender(sender_ring, {}, 1),
        receiver(receiver_ring, {}, 2) {}
};

TEST(Envelope, SealOpenRoundTrip) {
  Pair p(Keyring::generate());
  const std::string wire = p.sender.seal(Channel::kDatagram, kTo, "hello", kNow);
  EXPECT_EQ(wire.size(), 5 + kEnvelopeOverhead);
  EXPECT_EQ(wire.find("hello"), std::string::npos);  // encrypted
  std::string out;
  ASSERT_EQ(p.receiver.open(Channel::kDatagram, kTo, wire, kNow, out), EnvelopeDrop::kNone);
  EXPECT_EQ(out, "hello");
  const std::string empty = p.sender.seal(Channel::kStream, kTo, "", kNow);
  ASSERT_EQ(p.receiver.open(Channel::kStream, kTo, empty, kNow, out), EnvelopeDrop::kNone);
  EXPECT_EQ(out, "");
}

TEST(Envelope, WrongKeyIsRefused) {
  Keyring mine = ring_of({Keyring::generate()});
  Keyring theirs = ring_of({Keyring::generate()});
  Envelope tx(theirs, {}, 1), rx(mine, {}, 2);
  std::string out = "unchanged";
  EXPECT_EQ(rx.open(Channel::kDatagram, kTo, tx.seal(Channel::kDatagram, kTo, "join", kNow), kNow, out),
            EnvelopeDrop::kUnknownKey);
  EXPECT_EQ(out, "unchanged");
  // Same key id but a different key (an attacker copying the header): auth fails.
  std::string forged = tx.seal(Channel::kDatagram, kTo, "join", kNow);
  const KeyId id = mine.primary_id();
  forged[2] = static_cast<char>(id >> 24);
  forged[3] = static_cast<char>(id >> 16);
  forged[4] = static_cast<char>(id >> 8);
  forged[5] = static_cast<char>(id);
  EXPECT_EQ(rx.open(Channel::kDatagram, kTo, forged, kNow, out), EnvelopeDrop::kAuthFailed);
  EXPECT_EQ(rx.stats().dropped(), 2u);
  EXPECT_EQ(rx.stats().opened, 0u);
}

TEST(Envelope, EveryFlippedBitIsDetected) {
  Pair p(Keyring::generate());
  const std::string wire = p.sender.seal(Channel::kDatagram, kTo, "payload bytes", kNow);
  std::string out;
  for (std::size_t i = 0; i < wire.size() * 8; ++i) {
    std::string bad = wire;
    bad[i / 8] = static_cast<char>(bad[i / 8] ^ (1 << (i % 8)));
    ASSERT_NE(p.receiver.open(Channel::kDatagram, kTo, bad, kNow, out), EnvelopeDrop::kNone) << "bit " << i;
  }
  EXPECT_EQ(p.receiver.stats().opened, 0u);
  // The untouched original still opens: tampered copies did not poison the window.
  EXPECT_EQ(p.receiver.open(Channel::kDatagram, kTo, wire, kNow, out), EnvelopeDrop::kNone);
}

TEST(Envelope, TruncationAndOversize) {
  Pair p(Keyring::generate());
  const std::string wire = p.sender.seal(Channel::kDatagram, kTo, std::string(100, 'x'), kNow);
  std::string out;
  for (std::size_t n = 0; n < wire.size(); ++n) {
    const EnvelopeDrop d = p.receiver.open(Channel::kDatagram, kTo, wire.substr(0, n), kNow, out);
    ASSERT_TRUE(d == EnvelopeDrop::kTooShort || d == EnvelopeDrop::kAuthFailed) << n;
  }
  EnvelopeConfig small;
  small.max_datagram_size = 200;
  Keyring ring = ring_of({p.sender_ring.primary()});
  Envelope rx(ring, small, 3);
  const std::string big = p.sender.seal(Channel::kDatagram, kTo, std::string(300, 'x'), kNow);
  EXPECT_EQ(rx.open(Channel::kDatagram, kTo, big, kNow, out), EnvelopeDrop::kOversize);
  // Streams have their own, larger limit.
  const std::string frame = p.sender.seal(Channel::kStream, kTo, std::string(300, 'x'), kNow);
  EXPECT_EQ(rx.open(Channel::kStream, kTo, frame, kNow, out), EnvelopeDrop::kNone);
}

TEST(Envelope, ChannelAndVersionAreAuthenticated) {
  Pair p(Keyring::generate());
  const std::string wire = p.sender.seal(Channel::kDatagram, kTo, "x", kNow);
  std::string out;
  EXPECT_EQ(p.receiver.open(Channel::kStream, kTo, wire, kNow, out), EnvelopeDrop::kBadChannel);
  std::string v1 = wire;
  v1[0] = 1;  // the version before recipient binding
  EXPECT_EQ(p.receiver.open(Channel::kDatagram, kTo, v1, kNow, out), EnvelopeDrop::kBadVersion);
  std::string relabeled = wire;
  relabeled[1] = static_cast<char>(Channel::kStream);
  EXPECT_EQ(p.receiver.open(Channel::kStream, kTo, relabeled, kNow, out), EnvelopeDrop::kAuthFailed);
}

// A message sealed for one node does not open at another: the recipient's
// address is part of the additional data.
TEST(Envelope, SealedForAnotherNodeDoesNotOpen) {
  Pair p(Keyring::generate());
  const std::string wire = p.sender.seal(Channel::kDatagram, kTo, "for B", kNow);
  std::string out = "unchanged";
  EXPECT_EQ(p.receiver.open(Channel::kDatagram, Address{0x0a000003, 7946}, wire, kNow, out), EnvelopeDrop::kAuthFailed);
  EXPECT_EQ(p.receiver.open(Channel::kDatagram, Address{kTo.ip, 7947}, wire, kNow, out), EnvelopeDrop::kAuthFailed);
  EXPECT_EQ(out, "unchanged");
  ASSERT_EQ(p.receiver.open(Channel::kDatagram, kTo, wire, kNow, out), EnvelopeDrop::kNone);
  EXPECT_EQ(out, "for B");
}

TEST(Envelope, ReplayIsDropped) {
  Pair p(Keyring::generate());
  std::string out;
  std::vector<std::string> sent;
  sent.reserve(10);
  for (int i = 0; i < 10; ++i) sent.push_back(p.sender.seal(Channel::kDatagram, kTo, std::to_string(i), kNow));
  // Out of order is fine; each exactly once.
  for (int i : {3, 1, 0, 9, 2, 8, 4, 5, 7, 6}) {
    ASSERT_EQ(p.receiver.open(Channel::kDatagram, kTo, sent[i], kNow, out), EnvelopeDrop::kNone);
    ASSERT_EQ(out, std::to_string(i));
  }
  for (const auto& w : sent) {
    EXPECT_EQ(p.receiver.open(Channel::kDatagram, kTo, w, kNow + 10, out), EnvelopeDrop::kReplay);
  }
  // Far behind the window: refused even though never seen.
  const std::string old = p.sender.seal(Channel::kDatagram, kTo, "old", kNow);
  for (std::size_t i = 0; i < kReplaySlots + 5; ++i) {
    ASSERT_EQ(p.receiver.open(Channel::kDatagram, kTo, p.sender.seal(Channel::kDatagram, kTo, "", kNow), kNow, out),
              EnvelopeDrop::kNone);
  }
  EXPECT_EQ(p.receiver.open(Channel::kDatagram, kTo, old, kNow, out), EnvelopeDrop::kReplay);
  EXPECT_EQ(p.receiver.stats().drops[static_cast<std::size_t>(EnvelopeDrop::kReplay)], 11u);
}

TEST(Envelope, StaleTimestampsAndForgottenWindows) {
  Pair p(Keyring::generate());
  std::string out;
  const std::int64_t window = p.receiver.config().replay_window_ms;
  const std::string early = p.sender.seal(Channel::kDatagram, kTo, "x", kNow);
  EXPECT_EQ(p.receiver.open(Channel::kDatagram, kTo, early, kNow + window + 1, out), EnvelopeDrop::kStale);
  EXPECT_EQ(p.receiver.open(Channel::kDatagram, kTo, early, kNow - window - 1, out), EnvelopeDrop::kStale);
  ASSERT_EQ(p.receiver.open(Channel::kDatagram, kTo, early, kNow + window, out), EnvelopeDrop::kNone);
  EXPECT_EQ(p.receiver.remembered_senders(), 1u);
  // Long after: the window is forgotten, and the replay still fails (stale).
  const std::int64_t later = kNow + 3 * window + 1;
  const std::string other = Envelope(p.sender_ring, {}, 77).seal(Channel::kDatagram, kTo, "y", later);
  ASSERT_EQ(p.receiver.open(Channel::kDatagram, kTo, other, later, out), EnvelopeDrop::kNone);
  EXPECT_EQ(p.receiver.remembered_senders(), 1u);
  EXPECT_EQ(p.receiver.open(Channel::kDatagram, kTo, early, later, out), EnvelopeDrop::kStale);
}

// Rotation without downtime, with three nodes moving one step at a time:
// every message between any two of them opens at every step.
TEST(Envelope, KeyRotationWithoutDowntime) {
  const Key old_key = Keyring::generate(), new_key = Keyring::generate();
  std::vector<Keyring> rings(3, ring_of({old_key}));
  std::vector<std::unique_ptr<Envelope>> env;
  for (std::size_t i = 0; i < rings.size(); ++i) {
    env.push_back(std::make_unique<Envelope>(rings[i], EnvelopeConfig{}, i + 1));
  }
  auto all_talk = [&](const char* step) {
    std::string out;
    for (std::size_t a = 0; a < env.size(); ++a) {
      for (std::size_t b = 0; b < env.size(); ++b) {
        if (a == b) continue;
        ASSERT_EQ(env[b]->open(Channel::kDatagram, kTo, env[a]->seal(Channel::kDatagram, kTo, "m", kNow), kNow, out),
                  EnvelopeDrop::kNone)
            << step << " " << a << "->" << b;
      }
    }
  };
  all_talk("start");
  for (auto& r : rings) {
    ASSERT_TRUE(r.install(new_key));
    all_talk("install");
  }
  for (auto& r : rings) {
    ASSERT_TRUE(r.use(Keyring::id_of(new_key)));
    all_talk("use");
  }
  for (auto& r : rings) {
    ASSERT_TRUE(r.remove(Keyring::id_of(old_key)));
    all_talk("remove");
  }
  // A node still on the old key alone is now refused.
  Keyring stale = ring_of({old_key});
  Envelope straggler(stale, {}, 99);
  std::string out;
  EXPECT_EQ(env[0]->open(Channel::kDatagram, kTo, straggler.seal(Channel::kDatagram, kTo, "m", kNow), kNow, out),
            EnvelopeDrop::kUnknownKey);
}

TEST(Envelope, GarbageNeverOpens) {
  Pair p(Keyring::generate());
  std::string out;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::string junk(rng() % 200, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    if (i % 3 == 0 && junk.size() > 6) {
      junk[0] = 1;
      junk[1] = 1;
      const KeyId id = p.receiver_ring.primary_id();
      junk[2] = static_cast<char>(id >> 24);
      junk[3] = static_cast<char>(id >> 16);
      junk[4] = static_cast<char>(id >> 8);
      junk[5] = static_cast<char>(id);
    }
    ASSERT_NE(p.receiver.open(Channel::kDatagram, kTo, junk, kNow, out), EnvelopeDrop::kNone);
  }
  EXPECT_EQ(p.receiver.stats().dropped(), 20000u);
  EXPECT_EQ(p.receiver.remembered_senders(), 0u);
}

TEST(EnvelopeConfig, Validate) {
  EXPECT_TRUE(EnvelopeConfig{}.validate());
  EnvelopeConfig c;
  c.max_datagram_size = 10;
  EXPECT_FALSE(c.validate());
  c = {};
  c.replay_window_ms = 10;
  EXPECT_FALSE(c.validate());
  c = {};
  c.max_frame_size = 100;
  EXPECT_FALSE(c.validate());
}

TEST(EnvelopeDrops, NamesComeFromOneList) {
  EXPECT_STREQ(envelope_drop_name(EnvelopeDrop::kReplay), "replay");
  EXPECT_STREQ(envelope_drop_name(EnvelopeDrop::kNone), "none");
  EXPECT_STREQ(envelope_drop_help(EnvelopeDrop::kTooShort), "shorter than the envelope header and tag");
}

}  // namespace
}  // namespace ferry::gossip
