// Membership counters: one X-macro list makes the enum and the names, so
// stats and docs never drift from the code.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace ferry::gossip {

#define FERRY_GOSSIP_COUNTERS(X)                                                      \
  X(packets_rx, "datagrams received")                                                 \
  X(packets_tx, "datagrams sent")                                                     \
  X(bytes_rx, "datagram bytes received")                                              \
  X(bytes_tx, "datagram bytes sent")                                                  \
  X(malformed, "datagrams or stream frames that failed to decode (dropped)")          \
  X(unknown_fields, "decoded messages carrying unknown fields (newer peer; ignored)") \
  X(invalid_msg, "decoded messages with invalid content (dropped, no state change)")  \
  X(ping_rx, "pings answered")                                                        \
  X(ping_wrong_target, "pings meant for another node name (dropped)")                 \
  X(unexpected_ack, "acks or nacks for no pending probe")                             \
  X(probes, "probes started")                                                         \
  X(probe_acked, "probes answered (directly or indirectly)")                          \
  X(probe_failed, "probes that got no ack at all")                                    \
  X(indirect_sent, "indirect probe requests sent")                                    \
  X(indirect_relayed, "indirect probe requests served for others")                    \
  X(nack_sent, "nacks sent for indirect probes that timed out")                       \
  X(nack_rx, "nacks received")                                                        \
  X(suspect_raised, "suspicions started by this node's own probes")                   \
  X(dead_declared, "members this node declared dead (suspicion timed out)")           \
  X(refutes, "times this node refuted a suspicion/death of itself")                   \
  X(verify_probes, "pings checking a member a peer's push-pull holds down")           \
  X(verify_failed, "of those, unanswered: the member is then suspected")              \
  X(gossip_sent, "gossip datagrams sent")                                             \
  X(user_rx, "user payloads delivered to the delegate")                               \
  X(stream_rx, "stream requests served")                                              \
  X(stream_bytes_rx, "stream request bytes received")                                 \
  X(stream_bytes_tx, "stream bytes sent (requests and responses)")                    \
  X(push_pull_ok, "push-pull exchanges completed (as initiator)")                     \
  X(push_pull_failed, "push-pull exchanges failed (as initiator)")                    \
  X(join_failed, "join attempts in which no seed answered")                           \
  X(reaped, "dead/left members forgotten after dead_reclaim_time")

enum class Counter : size_t {
#define FERRY_X(name, help) name,
  FERRY_GOSSIP_COUNTERS(FERRY_X)
#undef FERRY_X
      kCount
};

inline constexpr std::array<const char*, static_cast<size_t>(Counter::kCount)> kCounterNames = {
#define FERRY_X(name, help) #name,
    FERRY_GOSSIP_COUNTERS(FERRY_X)
#undef FERRY_X
};

inline constexpr std::array<const char*, static_cast<size_t>(Counter::kCount)> kCounterHelp = {
#define FERRY_X(name, help) help,
    FERRY_GOSSIP_COUNTERS(FERRY_X)
#undef FERRY_X
};

struct Counters {
  std::array<uint64_t, static_cast<size_t>(Counter::kCount)> values{};
  uint64_t& operator[](Counter c) { return values[static_cast<size_t>(c)]; }
  uint64_t operator[](Counter c) const { return values[static_cast<size_t>(c)]; }
};

}  // namespace ferry::gossip
