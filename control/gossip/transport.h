// Transport: how a gossip node talks to others. Two services:
//  - packets: best-effort datagrams (UDP in reality), at most
//    Config::max_packet_size bytes of plaintext payload;
//  - streams: a reliable request/response exchange (TCP in reality: connect,
//    one length-prefixed request frame, one response frame, close), used for
//    join and push-pull anti-entropy and for user requests.
// Bytes handed to a Transport are plaintext protobuf (gossip.proto). The real
// transport encrypts and authenticates every datagram and stream frame (AEAD
// with the cluster key ring) and drops, counts and never delivers anything
// that fails; the core never sees ciphertext. The simulator may skip crypto.
//
// Threading: the core is single-threaded. A transport delivers inbound data
// by calling the PacketHandler on the thread that also calls Node::tick().
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/result.h"
#include "control/gossip/address.h"

namespace ferry::gossip {

using Bytes = std::span<const uint8_t>;

inline Bytes as_bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

// Implemented by the node (Node): what a transport calls on inbound traffic.
class PacketHandler {
 public:
  virtual ~PacketHandler() = default;
  // A datagram from `from` (the sender's packet address).
  virtual void on_packet(const Address& from, Bytes data) = 0;
  // A stream request; the returned bytes are the response frame (empty: the
  // transport closes the stream without a response, which the requester sees
  // as an error).
  virtual std::string on_stream_request(const Address& from, Bytes request) = 0;
  // The outcome of a request this node made with Transport::request(): the
  // response frame, or an error (connect refused, timeout, closed). Called
  // exactly once per request id, never from inside Transport::request().
  virtual void on_stream_response(uint64_t request_id, Result<std::string> response) = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Where others reach this node (advertised in Alive messages).
  [[nodiscard]] virtual Address local_address() const = 0;
  // Best effort: may be dropped, duplicated, reordered. Never blocks.
  virtual void send_packet(const Address& to, std::string data) = 0;
  // Starts a reliable exchange; the outcome arrives later through
  // PacketHandler::on_stream_response(request_id, ...). Must time out on its
  // own (Config::stream_timeout) so every request gets exactly one outcome.
  virtual void request(const Address& to, uint64_t request_id, std::string data) = 0;
};

}  // namespace ferry::gossip
