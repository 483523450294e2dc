// Stream messages (TCP push-pull and join): a message is sealed so that its
// length is authenticated before any of its body is buffered, and the body is
// authenticated in bounded pieces as it arrives. A peer without the cluster
// key can make a receiver hold at most one fixed-size header; a peer with it
// at most one chunk ahead of what has been verified.
//
// Wire format:
//
//   header   an Envelope (Channel::kStream, sealed for the recipient) whose
//            payload is: u32 body length (big-endian), then the 24-byte
//            header of a libsodium secretstream (XChaCha20-Poly1305) keyed
//            with the same cluster key. Always kStreamHeaderWireSize bytes.
//   chunks   the body cut into kStreamChunk-byte pieces (the last one
//            shorter, at least one chunk even for an empty body), each
//            pushed through the secretstream: chunk + 17 bytes. The last
//            carries the FINAL tag. Chunk sizes follow from the
//            authenticated length, so there is no framing to forge.
//
// The header carries the Envelope's replay protection and recipient binding;
// the secretstream refuses reordered, dropped, repeated or spliced chunks and
// a stream cut short.
#pragma once

#include <sodium/crypto_secretstream_xchacha20poly1305.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "control/gossip/address.h"
#include "control/gossip/envelope.h"

namespace ferry::gossip {

inline constexpr std::size_t kStreamChunk = 64u << 10;
inline constexpr std::size_t kStreamChunkOverhead = crypto_secretstream_xchacha20poly1305_ABYTES;
inline constexpr std::size_t kStreamHeaderPayload = 4 + crypto_secretstream_xchacha20poly1305_HEADERBYTES;
inline constexpr std::size_t kStreamHeaderWireSize = kEnvelopeOverhead + kStreamHeaderPayload;

// The wire size of a stream message with `payload_size` bytes of body.
std::size_t stream_wire_size(std::size_t payload_size);

// Seals `payload` as one stream message for the node at `to`. Precondition:
// payload.size() < 4 GiB (callers bound it far lower).
std::string seal_stream(Envelope& envelope, const Address& to, std::string_view payload, std::int64_t wall_ms);

// Reads one stream message sealed for `self`, piece by piece. Feed it at most
// want() bytes at a time; it never holds more than one header or one chunk
// of unverified bytes.
class StreamReader {
 public:
  enum class Status : std::uint8_t { kMore, kDone, kFailed };

  // `max_payload`: the largest body accepted (EnvelopeConfig::max_frame_size).
  StreamReader(Envelope& envelope, const Address& self, std::size_t max_payload);

  // Bytes to read next: the rest of the header or of the current chunk; 0
  // once done or failed.
  [[nodiscard]] std::size_t want() const;
  // Takes up to want() bytes (more is a caller bug and fails the stream).
  Status feed(std::string_view bytes, std::int64_t wall_ms);

  [[nodiscard]] Status status() const { return status_; }
  // Why the stream failed ("" unless kFailed): an envelope drop name or
  // "oversize", "bad_chunk", "truncated".
  [[nodiscard]] const std::string& failure() const { return failure_; }
  // True once the header opened: the peer holds the cluster key.
  [[nodiscard]] bool authenticated() const { return stage_ != Stage::kHeader; }
  // The verified body (complete once status() == kDone).
  std::string take_payload() { return std::move(payload_); }
  // Bytes held: unverified input plus the verified body so far.
  [[nodiscard]] std::size_t buffered() const { return in_.size() + payload_.size(); }

 private:
  enum class Stage : std::uint8_t { kHeader, kChunks, kEnd };
  Status fail(std::string why);
  Status open_header(std::int64_t wall_ms);
  Status open_chunk();
  [[nodiscard]] std::size_t unit_size() const;  // wire size of the header or current chunk

  Envelope& envelope_;
  Address self_;
  std::size_t max_payload_;
  Stage stage_ = Stage::kHeader;
  Status status_ = Status::kMore;
  std::string failure_;
  std::string in_;  // the unit being read
  std::string payload_;
  std::size_t body_size_ = 0;
  std::size_t chunks_left_ = 0;
  crypto_secretstream_xchacha20poly1305_state state_{};
};

}  // namespace ferry::gossip
