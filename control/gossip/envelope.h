// Envelope: seals every gossip message (UDP datagram or stream frame) with the
// cluster key (XChaCha20-Poly1305 IETF, libsodium) and opens what arrives,
// dropping and counting anything forged, damaged, oversized or replayed.
//
// Wire format, version 2 (all integers big-endian):
//
//   0   u8    version = 2
//   1   u8    channel: 1 datagram, 2 stream header (see stream_seal.h)
//   2   u32   key id (Keyring::id_of of the sealing key)
//   6   24 B  random nonce
//   30  ...   ciphertext of the inner header + payload, then the 16-byte tag
//
//   inner header (encrypted):
//   0   u64   sender instance: random per process start
//   8   u64   sequence number: per sender instance, +1 per message
//   16  u64   sender's wall clock, ms since the Unix epoch
//   24  ...   payload
//
// The AEAD's additional data is the 6-byte outer header followed by the
// recipient's address (u32 IPv4, u16 port): version, channel and key id
// cannot be altered, and a message sealed for one node does not open at
// another (a datagram captured on its way to B and replayed to C fails
// authentication at C). Overhead: kEnvelopeOverhead bytes.
//
// Replay protection (docs/gossip.md, "Replay protection"): a message is
// accepted only if its timestamp is within ±replay_window of the receiver's
// clock and its (instance, sequence) was not seen before, checked with a
// per-instance sliding bitmap of kReplaySlots sequence numbers. A window is
// forgotten after 2×replay_window of silence; by then any message it could
// have protected is rejected by its timestamp alone.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"
#include "control/gossip/address.h"
#include "control/gossip/keyring.h"

namespace ferry::gossip {

constexpr std::uint8_t kEnvelopeVersion = 2;
constexpr std::size_t kEnvelopeOuterHeader = 6;
constexpr std::size_t kEnvelopeRecipient = 6;  // additional data only, not on the wire
constexpr std::size_t kEnvelopeNonce = 24;
constexpr std::size_t kEnvelopeInnerHeader = 24;
constexpr std::size_t kEnvelopeTag = 16;
constexpr std::size_t kEnvelopeOverhead = kEnvelopeOuterHeader + kEnvelopeNonce + kEnvelopeInnerHeader + kEnvelopeTag;
constexpr std::size_t kReplaySlots = 1024;

// kStream seals the fixed-size header of a stream message (stream_seal.h).
enum class Channel : std::uint8_t { kDatagram = 1, kStream = 2 };

// Drop reasons: one list gives the enum, the metric names and the help text.
#define FERRY_ENVELOPE_DROPS(X)                                                              \
  X(kTooShort, "too_short", "shorter than the envelope header and tag")                      \
  X(kOversize, "oversize", "larger than the channel's size limit")                           \
  X(kBadVersion, "bad_version", "unknown envelope version")                                  \
  X(kBadChannel, "bad_channel", "sealed for the other channel (datagram vs stream)")         \
  X(kUnknownKey, "unknown_key", "sealed with a key id not in the keyring")                   \
  X(kAuthFailed, "auth_failed", "tag did not verify (forged, damaged, or for another node)") \
  X(kStale, "stale", "timestamp outside the replay window (clock skew or replay)")           \
  X(kReplay, "replay", "sequence number already seen or behind the window")

enum class EnvelopeDrop : std::uint8_t {
#define FERRY_X(name, metric, help) name,
  FERRY_ENVELOPE_DROPS(FERRY_X)
#undef FERRY_X
      kCount,
  kNone = kCount,
};

const char* envelope_drop_name(EnvelopeDrop drop);
const char* envelope_drop_help(EnvelopeDrop drop);

struct EnvelopeConfig {
  // Largest sealed datagram, bytes. UDP over IPv4 carries at most 65507.
  std::size_t max_datagram_size = 65507;
  // Largest stream message (push-pull of big tables), bytes of payload. The
  // length is authenticated before any of the body is read (stream_seal.h).
  std::size_t max_frame_size = 32u << 20;
  // Accepted clock difference between sender and receiver, ms; also how long
  // a replay window is remembered (twice this).
  std::int64_t replay_window_ms = 120'000;
  // Cap on remembered sender instances; the least recently seen is forgotten
  // beyond it (a forgotten instance's old messages then fail on timestamp
  // only once they are older than the window: see docs).
  std::size_t max_senders = 65'536;

  [[nodiscard]] Result<void> validate() const;
};

struct EnvelopeStats {
  std::uint64_t sealed = 0;
  std::uint64_t opened = 0;
  std::array<std::uint64_t, static_cast<std::size_t>(EnvelopeDrop::kCount)> drops{};
  [[nodiscard]] std::uint64_t dropped() const;
};

class Envelope {
 public:
  // `keyring` must outlive the Envelope (it is shared with the control
  // channel that rotates keys). `instance` should be random per process
  // start; simulations pass one from their seeded RNG.
  Envelope(const Keyring& keyring, EnvelopeConfig config, std::uint64_t instance);

  // Seals `payload` for the node at `to`. `wall_ms`: ms since the Unix epoch
  // (the Clock's wall time).
  std::string seal(Channel channel, const Address& to, std::string_view payload, std::int64_t wall_ms);

  // Opens a message sealed for `self` (this node's own address) into
  // `payload`. Returns kNone on success, else the drop reason (also
  // counted). Never throws; bad input changes no state except the counters.
  EnvelopeDrop open(Channel channel, const Address& self, std::string_view wire, std::int64_t wall_ms,
                    std::string& payload);

  [[nodiscard]] const Keyring& keyring() const { return keyring_; }

  [[nodiscard]] const EnvelopeStats& stats() const { return stats_; }
  [[nodiscard]] std::uint64_t instance() const { return instance_; }
  [[nodiscard]] std::size_t remembered_senders() const { return windows_.size(); }
  [[nodiscard]] const EnvelopeConfig& config() const { return config_; }

 private:
  struct Window {
    std::uint64_t highest = 0;       // highest sequence accepted
    std::bitset<kReplaySlots> seen;  // bit i: highest - i accepted
    std::int64_t last_ms = 0;        // receiver time of the last accept
  };
  EnvelopeDrop drop(EnvelopeDrop reason);
  void expire(std::int64_t wall_ms);

  const Keyring& keyring_;
  EnvelopeConfig config_;
  std::uint64_t instance_;
  std::uint64_t next_seq_ = 1;
  EnvelopeStats stats_;
  std::unordered_map<std::uint64_t, Window> windows_;
  std::int64_t next_expiry_ms_ = 0;
};

}  // namespace ferry::gossip
