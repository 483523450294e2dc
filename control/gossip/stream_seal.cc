#include "control/gossip/stream_seal.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

namespace ferry::gossip {

namespace {

using Secretstream = crypto_secretstream_xchacha20poly1305_state;

std::size_t chunk_count(std::size_t payload_size) {
  return std::max<std::size_t>(1, (payload_size + kStreamChunk - 1) / kStreamChunk);
}

std::uint32_t key_id_of(std::string_view envelope_wire) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(envelope_wire.data());
  return (std::uint32_t{p[2]} << 24) | (std::uint32_t{p[3]} << 16) | (std::uint32_t{p[4]} << 8) | p[5];
}

}  // namespace

std::size_t stream_wire_size(std::size_t payload_size) {
  return kStreamHeaderWireSize + payload_size + chunk_count(payload_size) * kStreamChunkOverhead;
}

std::string seal_stream(Envelope& envelope, const Address& to, std::string_view payload, std::int64_t wall_ms) {
  Secretstream state{};
  std::uint8_t header[kStreamHeaderPayload];
  const auto size = static_cast<std::uint32_t>(payload.size());
  header[0] = static_cast<std::uint8_t>(size >> 24);
  header[1] = static_cast<std::uint8_t>(size >> 16);
  header[2] = static_cast<std::uint8_t>(size >> 8);
  header[3] = static_cast<std::uint8_t>(size);
  crypto_secretstream_xchacha20poly1305_init_push(&state, header + 4, envelope.keyring().primary().data());

  std::string out;
  out.reserve(stream_wire_size(payload.size()));
  out = envelope.seal(Channel::kStream, to, std::string_view(reinterpret_cast<const char*>(header), sizeof header),
                      wall_ms);
  const std::size_t chunks = chunk_count(payload.size());
  for (std::size_t i = 0; i < chunks; ++i) {
    const std::string_view piece = payload.substr(std::min(payload.size(), i * kStreamChunk), kStreamChunk);
    const std::size_t at = out.size();
    out.resize(at + piece.size() + kStreamChunkOverhead);
    const std::uint8_t tag = i + 1 == chunks ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
                                             : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    crypto_secretstream_xchacha20poly1305_push(&state, reinterpret_cast<std::uint8_t*>(out.data() + at), nullptr,
                                               reinterpret_cast<const std::uint8_t*>(piece.data()), piece.size(),
                                               nullptr, 0, tag);
  }
  sodium_memzero(&state, sizeof state);
  return out;
}

StreamReader::StreamReader(Envelope& envelope, const Address& self, std::size_t max_payload)
    : envelope_(envelope), self_(self), max_payload_(max_payload) {}

std::size_t StreamReader::unit_size() const {
  if (stage_ == Stage::kHeader) return kStreamHeaderWireSize;
  const std::size_t done = payload_.size();
  return std::min(kStreamChunk, body_size_ - done) + kStreamChunkOverhead;
}

std::size_t StreamReader::want() const {
  if (status_ != Status::kMore) return 0;
  return unit_size() - in_.size();
}

StreamReader::Status StreamReader::fail(std::string why) {
  status_ = Status::kFailed;
  failure_ = std::move(why);
  in_.clear();
  in_.shrink_to_fit();
  payload_.clear();
  payload_.shrink_to_fit();
  sodium_memzero(&state_, sizeof state_);
  return status_;
}

StreamReader::Status StreamReader::feed(std::string_view bytes, std::int64_t wall_ms) {
  if (status_ != Status::kMore) return status_;
  if (bytes.size() > want()) return fail("overrun");
  in_.append(bytes);
  if (in_.size() < unit_size()) return status_;
  return stage_ == Stage::kHeader ? open_header(wall_ms) : open_chunk();
}

StreamReader::Status StreamReader::open_header(std::int64_t wall_ms) {
  std::string header;
  const EnvelopeDrop drop = envelope_.open(Channel::kStream, self_, in_, wall_ms, header);
  if (drop != EnvelopeDrop::kNone) return fail(envelope_drop_name(drop));
  if (header.size() != kStreamHeaderPayload) return fail("bad_header");
  const Key* key = envelope_.keyring().find(key_id_of(in_));
  if (key == nullptr) return fail("unknown_key");  // removed between the two lookups: cannot happen today
  const auto* h = reinterpret_cast<const std::uint8_t*>(header.data());
  body_size_ = (std::size_t{h[0]} << 24) | (std::size_t{h[1]} << 16) | (std::size_t{h[2]} << 8) | h[3];
  if (body_size_ > max_payload_) return fail("oversize");
  if (crypto_secretstream_xchacha20poly1305_init_pull(&state_, h + 4, key->data()) != 0) return fail("bad_header");
  chunks_left_ = chunk_count(body_size_);
  payload_.reserve(body_size_);
  stage_ = Stage::kChunks;
  in_.clear();
  return status_;
}

StreamReader::Status StreamReader::open_chunk() {
  const std::size_t at = payload_.size();
  payload_.resize(at + in_.size() - kStreamChunkOverhead);
  unsigned long long size = 0;
  std::uint8_t tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(&state_, reinterpret_cast<std::uint8_t*>(payload_.data() + at), &size,
                                                 &tag, reinterpret_cast<const std::uint8_t*>(in_.data()), in_.size(),
                                                 nullptr, 0) != 0) {
    return fail("bad_chunk");
  }
  in_.clear();
  --chunks_left_;
  const bool final_tag = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  if (final_tag != (chunks_left_ == 0)) return fail("bad_chunk");  // FINAL early, or missing at the end
  if (chunks_left_ == 0) {
    stage_ = Stage::kEnd;
    status_ = Status::kDone;
    sodium_memzero(&state_, sizeof state_);
  }
  return status_;
}

}  // namespace ferry::gossip
