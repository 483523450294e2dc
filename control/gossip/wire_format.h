// The parts of gossip.proto that the node writes by hand: the Packet field
// numbers, a varint/length-delimited field encoder, and the limits every
// decoded message is checked against. Broadcasts are stored as encoded
// Packet fields, so they append to any datagram as they are; push-pull state
// of 10 000 members is encoded without 10 000 protobuf objects.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "control/gossip/address.h"

namespace ferry::gossip::wire {

// Packet field numbers (gossip.proto).
enum PacketField : uint32_t {
  kFrom = 1,
  kPing = 2,
  kIndirectPing = 3,
  kAck = 4,
  kNack = 5,
  kAlive = 6,
  kSuspect = 7,
  kDead = 8,
  kUser = 9,
};

// Bytes a length-delimited field adds around its payload (tag + length) for
// payloads below 2 MiB: the overhead quoted to the delegate.
inline constexpr size_t kUserOverhead = 1 + 3;
// Longest node name accepted off the wire.
inline constexpr size_t kMaxNameSize = 255;

inline void append_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// A length-delimited field (wire type 2): tag, length, bytes.
inline void append_field(std::string& out, uint32_t field, std::string_view bytes) {
  append_varint(out, (uint64_t{field} << 3) | 2);
  append_varint(out, bytes.size());
  out.append(bytes);
}

template <typename Msg>
void append_message(std::string& out, uint32_t field, const Msg& msg) {
  append_field(out, field, msg.SerializeAsString());
}

// Suspect and Dead carry the same fields: whom, which incarnation, who says
// so. Returns the framed Packet field.
template <typename Msg>
std::string framed_accusation(uint32_t field, const std::string& name, uint64_t incarnation, std::string_view from) {
  Msg msg;
  msg.set_name(name);
  msg.set_incarnation(incarnation);
  msg.set_from(std::string(from));
  std::string framed;
  append_message(framed, field, msg);
  return framed;
}

inline bool valid_name(std::string_view name) { return !name.empty() && name.size() <= kMaxNameSize; }
// Ports come off the wire as uint32: 1..65535 only.
inline bool valid_port(uint32_t port) { return port != 0 && port <= 65535; }

inline Address make_address(uint32_t ip, uint32_t port) { return Address{ip, static_cast<uint16_t>(port)}; }

}  // namespace ferry::gossip::wire
