// VTEP liveness: an echo between data planes over the overlay, in the shape
// of BFD for VXLAN (RFC 8971): a VXLAN frame on a reserved management VNI
// whose inner frame goes to MAC 00-52-02-00-00-00, IPv4 127.0.0.1, UDP port
// 3785 (the BFD echo port), carrying a small Ferry echo message (not a BFD
// control packet: it does not talk to BFD implementations).
//
// Every probe interval the control thread sends an echo request to every
// remote VTEP the tables reference (flood lists, FDB entries), through the
// pipeline's inject path onto the uplink. The uplink stage hands every frame
// of the management VNI to the slow path before the VNI lookup (counted as
// vtep_echo; never delivered to a port), and the control thread gives it to
// on_frame(): a request from a VTEP it knows is answered, a reply to one of
// its requests records that VTEP as heard, anything else is dropped and
// counted (below). Unknown sources get no answer: the echo cannot be used to
// make a data plane send to an address it does not already send to.
//
// Pure logic with the time passed in: no DPDK, no I/O. The daemon feeds it
// the tables' VTEPs and the slow path's frames and sends what it returns.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "dataplane/core/counter_list.h"
#include "dataplane/core/types.h"

namespace ferry::dataplane {

// X(kind, name, help): kind Count or Drop (an echo frame the control thread
// freed without acting on it: exactly one Drop counter each).
#define FERRY_VTEP_ECHO_COUNTERS(X)                                                                         \
  X(Count, requests_sent, "echo requests sent to remote VTEPs")                                             \
  X(Count, requests_answered, "echo requests from known VTEPs answered")                                    \
  X(Count, replies_received, "echo replies to our requests received")                                       \
  X(Count, not_sent_unresolved, "echo requests not sent: the VTEP's underlay next hop is not resolved")     \
  X(Count, not_sent_queue_full, "echo frames not sent: no buffer or the injection ring was full")           \
  X(Drop, unknown_source, "echo frames from a VTEP the tables do not reference (not answered)")             \
  X(Drop, malformed, "frames on the management VNI that are not a well-formed echo message")                \
  X(Drop, wrong_target, "echo frames whose sender or target address disagrees with the outer header or us") \
  X(Drop, unexpected_reply, "echo replies with a sequence number we did not send")

enum class EchoCounter : std::uint8_t { FERRY_VTEP_ECHO_COUNTERS(FERRY_COUNTER_ENUM) };
inline constexpr auto kEchoCounterInfo = std::to_array<CounterInfo>({FERRY_VTEP_ECHO_COUNTERS(FERRY_COUNTER_INFO)});
inline constexpr std::size_t kEchoCounterCount = kEchoCounterInfo.size();
using EchoCounterBlock = CounterBlock<EchoCounter, kEchoCounterCount>;

// The inner addresses RFC 8971 gives the echo's frames.
inline constexpr std::array<std::uint8_t, 6> kEchoInnerMac = {0x00, 0x52, 0x02, 0x00, 0x00, 0x00};
inline constexpr std::uint32_t kEchoInnerIp = 0x7f000001;  // 127.0.0.1
inline constexpr std::uint16_t kEchoUdpPort = 3785;        // BFD echo (RFC 5881)
// Every echo frame: outer Ethernet, IPv4, UDP, VXLAN (50) + inner Ethernet,
// IPv4, UDP (42) + the echo message (28).
inline constexpr std::size_t kEchoMessageSize = 28;
inline constexpr std::size_t kEchoFrameSize = 50 + 42 + kEchoMessageSize;

struct VtepEchoConfig {
  // Between two requests to one VTEP. 0 turns the echo off (nothing is sent;
  // requests are still answered).
  std::chrono::milliseconds interval{1000};
  // The management VNI: frames of it are echo frames, never a network's.
  // RFC 8971 leaves its value to the operator; it must not be a network's VNI.
  Vni vni = kMaxVni;
  // A VTEP counts as alive while its last reply is at most this many
  // intervals old (what `ferryctl dp vteps` shows; the agent decides itself).
  std::uint32_t alive_intervals = 3;

  [[nodiscard]] Result<void> validate() const;
};

// Who we are on the underlay (the encapsulation's view of it).
struct EchoIdentity {
  Ipv4Addr vtep_ip;
  MacAddr uplink_mac;
  std::uint16_t udp_port = 4789;  // VXLAN destination port
};

// A VTEP the tables reference, with its next hop when resolved.
struct EchoTarget {
  Ipv4Addr ip;
  std::optional<MacAddr> next_hop;
};

// One VTEP's echo state as `status()` reports it.
struct EchoPeerStatus {
  Ipv4Addr ip;
  bool resolved = false;
  std::uint64_t requests_sent = 0;
  std::uint64_t replies = 0;
  std::uint64_t requests_answered = 0;         // its requests we answered
  std::optional<std::uint64_t> last_reply_ms;  // how long ago its last reply came (unset: never)
  std::optional<std::uint64_t> last_request_ms;
  std::uint64_t rtt_us = 0;  // of the last reply
  bool alive = false;        // a reply within alive_intervals intervals
};

using EchoFrame = std::array<std::uint8_t, kEchoFrameSize>;

// The echo message inside the frame (after the inner UDP header).
struct EchoMessage {
  static constexpr std::uint8_t kRequest = 1;
  static constexpr std::uint8_t kReply = 2;
  std::uint8_t type = kRequest;
  std::uint32_t seq = 0;
  Ipv4Addr sender;          // the VTEP that built the frame
  Ipv4Addr target;          // the VTEP it is for
  std::uint64_t stamp = 0;  // the requester's clock; a reply carries it back
};

// Writes a whole echo frame from `us` to `to` (outer destination MAC
// `next_hop`). The outer UDP source port is `src_port`.
void build_echo_frame(EchoFrame& out, const EchoIdentity& us, Ipv4Addr to, const MacAddr& next_hop, Vni vni,
                      std::uint16_t src_port, const EchoMessage& msg);

// What a management-VNI frame from the uplink holds: the outer source
// address and the message; nullopt when it is not a well-formed echo frame
// of `vni` (outer IPv4/UDP/VXLAN, inner MAC/IP/port as above, the message).
struct ParsedEcho {
  Ipv4Addr outer_src;
  EchoMessage msg;
};
std::optional<ParsedEcho> parse_echo_frame(std::span<const std::uint8_t> frame, Vni vni);

class VtepEcho {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  VtepEcho(const VtepEchoConfig& config, const EchoIdentity& us) : config_(config), us_(us) {}

  // The VTEPs the tables reference now; state of VTEPs no longer in it is
  // forgotten, new ones are probed at the next due().
  void set_targets(const std::vector<EchoTarget>& targets);
  [[nodiscard]] bool knows(Ipv4Addr vtep) const { return peers_.contains(vtep); }

  // Requests due now (one per resolved VTEP per interval). The caller
  // sends each, and reports one it could not queue with not_sent().
  std::vector<EchoFrame> due(TimePoint now);
  void not_sent(std::uint64_t n = 1) { count(EchoCounter::not_sent_queue_full, n); }

  // A frame of the management VNI from the slow path: the reply to send,
  // if it is a request to answer. Counts what it does.
  std::optional<EchoFrame> on_frame(std::span<const std::uint8_t> frame, TimePoint now);

  [[nodiscard]] std::vector<EchoPeerStatus> status(TimePoint now) const;
  [[nodiscard]] std::uint64_t counter(EchoCounter c) const { return counters_[c]; }
  [[nodiscard]] const VtepEchoConfig& config() const { return config_; }

 private:
  struct Peer {
    std::optional<MacAddr> next_hop;
    TimePoint next_probe{};
    std::uint32_t last_seq = 0;  // of the last request sent (0: none)
    std::uint64_t requests_sent = 0;
    std::uint64_t replies = 0;
    std::uint64_t requests_answered = 0;
    std::optional<TimePoint> last_reply;
    std::optional<TimePoint> last_request;
    std::uint64_t rtt_us = 0;
  };
  void count(EchoCounter c, std::uint64_t n = 1) { counters_.count(c, n); }
  [[nodiscard]] std::uint16_t src_port(Ipv4Addr to) const;

  VtepEchoConfig config_;
  EchoIdentity us_;
  std::map<Ipv4Addr, Peer> peers_;
  std::uint32_t next_seq_ = 1;
  EchoCounterBlock counters_;
};

}  // namespace ferry::dataplane
