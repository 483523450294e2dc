// Node: one member of the gossip cluster. SWIM failure detection with the
// Lifeguard refinements, piggybacked and gossiped dissemination, push-pull
// anti-entropy. Single-threaded and clock-driven: the owner delivers inbound
// traffic through the PacketHandler methods and calls tick() whenever
// next_deadline() has passed (an epoll timeout, or the simulator's queue).
//
// What it logs (docs/gossip.md, "Logging"): every membership change at info,
// many members unreachable at once (a partition) at warn and its end at info,
// undecodable traffic from key holders and failing joins as rate-limited
// warnings (LogLimiter, on the node's clock).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "control/gossip/awareness.h"
#include "control/gossip/broadcast_queue.h"
#include "control/gossip/clock.h"
#include "control/gossip/config.h"
#include "control/gossip/counters.h"
#include "control/gossip/delegate.h"
#include "control/gossip/log_limiter.h"
#include "control/gossip/member.h"
#include "control/gossip/member_list.h"
#include "control/gossip/names.h"
#include "control/gossip/partition_watch.h"
#include "control/gossip/probe_order.h"
#include "control/gossip/rng.h"
#include "control/gossip/suspicion.h"
#include "control/gossip/transport.h"

namespace spdlog {
class logger;
}  // namespace spdlog

namespace ferry::gossip::v1 {
class Packet;
class PushPull;
class StreamRequest;
}  // namespace ferry::gossip::v1

namespace ferry::gossip {

class Node final : public PacketHandler {
 public:
  // `names` may be shared between nodes of one thread (the simulator); null
  // makes a private table. boot_id 0 draws one from the rng.
  Node(Config config, std::string_view name, Clock& clock, Transport& transport, uint64_t seed,
       Delegate* delegate = nullptr, std::shared_ptr<NameTable> names = nullptr, uint64_t boot_id = 0);
  ~Node() override;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  void set_delegate(Delegate* delegate) { delegate_ = delegate; }
  // Where the node's lines go; null (the default) is spdlog's default logger
  // at the time of each line. The simulator gives each node its own.
  void set_logger(std::shared_ptr<spdlog::logger> logger) { logger_ = std::move(logger); }

  // Starts the timers; the node is alone until join() succeeds.
  void start();
  // Push-pull (join = true) with every seed; retried every join_retry_interval
  // until one answers. Calling it again (or with this node's own address in
  // the list) is harmless.
  void join(const std::vector<Address>& seeds);
  [[nodiscard]] bool joined() const { return joined_; }
  // Announces a graceful leave (a Dead message from the node about itself)
  // and stops probing; keep ticking for a few gossip intervals so it spreads
  // (leave_drained() tells when the announcement went out).
  void leave();
  [[nodiscard]] bool leave_drained() const;

  // Timers.
  [[nodiscard]] TimePoint next_deadline() const;
  void tick();

  // PacketHandler (called by the transport).
  void on_packet(const Address& from, Bytes data) override;
  std::string on_stream_request(const Address& from, Bytes request) override;
  void on_stream_response(uint64_t request_id, Result<std::string> response) override;

  // --- for the user layer ---
  // One best-effort datagram carrying `payload` as a user message (plus
  // piggybacked membership broadcasts). Fails if it cannot fit a datagram.
  Result<void> send_user(const Address& to, std::string_view payload);
  // A reliable request; the outcome arrives at Delegate::notify_user_response.
  uint64_t user_request(const Address& to, std::string payload);
  // Broadcast-queue size estimate callers use for their own retransmit limit.
  [[nodiscard]] uint32_t retransmit_limit() const;

  // --- introspection ---
  [[nodiscard]] const std::string& name() const { return names_->name(self_); }
  [[nodiscard]] Address address() const { return transport_.local_address(); }
  [[nodiscard]] uint32_t incarnation() const { return members_.self().incarnation; }
  [[nodiscard]] uint64_t boot_id() const { return members_.self().boot_id; }
  [[nodiscard]] uint32_t health_score() const { return awareness_.score(); }
  [[nodiscard]] const Config& config() const { return config_; }
  // Members in state alive or suspect, including this node.
  [[nodiscard]] size_t num_alive() const { return members_.num_up(); }
  // All known members (including this node and dead/left ones not yet reaped).
  [[nodiscard]] size_t num_members() const { return members_.size(); }
  [[nodiscard]] std::vector<MemberInfo> members() const;
  [[nodiscard]] std::optional<MemberInfo> member(std::string_view name) const;
  // State of a member by name; nullopt when unknown. Cheap (no copies).
  [[nodiscard]] std::optional<MemberState> state_of(std::string_view name) const;
  [[nodiscard]] const Counters& counters() const { return counters_; }
  [[nodiscard]] bool leaving() const { return leaving_; }

  // For simulations and tests: adds (or refreshes) `name` as alive without
  // broadcasting or notifying the delegate, as if membership had converged.
  void insert_member_quietly(std::string_view name, const Address& address, uint32_t incarnation, uint64_t boot_id);
  // Capacity hint for large simulated clusters (avoids vector doubling).
  void reserve(size_t members);
  [[nodiscard]] size_t pending_broadcasts() const { return broadcasts_.size(); }

  // Rate-limited log reports (one line per reason per kLogInterval).
  static constexpr Duration kLogInterval = std::chrono::seconds(10);

 private:
  using Member = MemberList::Member;
  enum class TimerKind : uint8_t {
    kProbe,
    kProbeTimeout,
    kGossip,
    kPushPull,
    kReconnect,
    kJoin,
    kReap,
    kSuspicion,
    kRelayTimeout,
    kVerifyTimeout
  };
  struct Timer {
    TimePoint when;
    TimerKind kind;
    uint32_t arg;  // seq number or NameId
    bool operator>(const Timer& o) const { return when > o.when; }
  };
  // A ping this node sent: the probe of this period, one it serves for
  // another node (relay), or a check of a peer's stale-looking accusation
  // (verify, see merge_accusation).
  enum class WaitKind : uint8_t { kProbe, kRelay, kVerify };
  struct AckWait {
    WaitKind kind;
    NameId target;
    Address requester;         // relay only
    uint32_t requester_seq;    // relay only
    bool want_nack;            // relay only
    uint32_t incarnation = 0;  // verify only: the incarnation accused
  };
  // The probe of this protocol period.
  struct Probe {
    uint32_t seq = 0;
    NameId target = kNoName;
    bool acked = false;
    uint32_t expected_nacks = 0;
    uint32_t nacks = 0;
  };
  enum class StreamKind : uint8_t { kJoin, kPushPull, kUser };

  // Members and timers (node.cc).
  Member& add_member(NameId id, const Address& addr, uint32_t incarnation, uint64_t boot_id);
  void set_state(Member& m, MemberState s);
  MemberInfo info(const Member& m) const;
  void remove_member(NameId id);
  void reap();
  void schedule(TimePoint when, TimerKind kind, uint32_t arg = 0);
  void on_timer(const Timer& t);
  void on_push_pull_timer(TimePoint now);

  // State machine (SWIM + Lifeguard), shared by packets and push-pull
  // (node_suspicion.cc).
  void handle_alive(std::string_view name, uint32_t incarnation, const Address& addr, uint64_t boot_id);
  void handle_suspect(std::string_view name, uint32_t incarnation, std::string_view from);
  void handle_dead(std::string_view name, uint32_t incarnation, std::string_view from);
  void refute(uint32_t seen_incarnation);
  void start_suspicion(Member& m, NameId from);
  void suspicion_expired(NameId id);
  void declare_dead(NameId id);
  // A peer's push-pull state lists a member as suspect or dead.
  void merge_accusation(std::string_view name, uint32_t incarnation, bool dead, std::string_view peer);

  // Probing, direct and indirect (node_probe.cc).
  void probe();
  void probe_timeout(uint32_t seq);
  void finish_probe();
  void relay_timeout(uint32_t seq);
  void serve_ping(const Address& from, uint32_t seq, const std::string& target);
  void relay_indirect_ping(const Address& from, const std::string& target, const Address& target_address,
                           uint32_t requester_seq, bool want_nack);
  void on_ack(uint32_t seq);
  void on_nack(uint32_t seq);
  // Pings `m` (alive here) and hands it the peer's accusation so that it
  // refutes it; suspects it only if it does not answer (node_probe.cc).
  void verify(const Member& m, bool dead, std::string_view peer);
  void verify_timeout(uint32_t seq);

  // Dissemination: broadcasts, piggybacking, gossip rounds
  // (node_broadcast.cc).
  void broadcast_alive(const Member& m);
  void broadcast_suspect(const Member& m, std::string_view from);
  void broadcast_dead(const Member& m, std::string_view from);
  void gossip();
  // Encodes the header plus `framed_messages` (already-framed fields), fills
  // the rest with piggybacked broadcasts and sends.
  void send_packet(const Address& to, std::string&& framed_messages, bool piggyback = true);
  size_t fill_broadcasts(std::string& out, size_t budget);
  // Up to k distinct random members (slots) other than self and `exclude`:
  // alive or suspect, plus dead for less than gossip_to_the_dead if asked.
  void select_random(size_t k, NameId exclude, bool include_recent_dead, std::vector<uint32_t>& out);
  bool eligible(const Member& m, NameId exclude, bool include_recent_dead, TimePoint now) const;
  const Member* random_dead();

  // Logging (node_log.cc): the logger, partition episodes from every state
  // change, rate-limited reports.
  enum class LogReason : uint8_t { kMalformed, kInvalid, kJoinFailed, kCount };
  [[nodiscard]] spdlog::logger& log() const;
  void note_change(NameId id, std::optional<MemberState> before, std::optional<MemberState> after);
  void note_drop(LogReason reason, const Address& from);
  void flush_log(TimePoint now);
  void report(const LogLimiter::Report& r);
  // "node-3 (10.0.0.4:7946)" for lines about a member, formatted only if
  // the line is logged.
  struct MemberRef {
    const std::string& name;
    Address address;
  };
  [[nodiscard]] MemberRef describe(const Member& m) const { return MemberRef{names_->name(m.name), m.address}; }
  friend struct fmt::formatter<MemberRef>;

  // Inbound datagrams (node_dispatch.cc).
  void dispatch(const Address& from, const v1::Packet& pkt);
  void dispatch_membership(const Address& from, const v1::Packet& pkt);

  // Join and push-pull over streams (node_push_pull.cc).
  void try_join();
  void push_pull_with(const Address& to, StreamKind kind);
  std::string encode_state(bool join);  // encoded PushPull
  // `peer` names the other side of the exchange, for log lines.
  void merge_state(const v1::PushPull& pp, std::string_view peer);
  std::string serve_user_request(const v1::StreamRequest& req);
  void on_user_response(uint64_t request_id, Result<std::string> response);
  void handle_push_pull_response(StreamKind kind, const Address& peer, const v1::PushPull& pp);

  Config config_;
  Clock& clock_;
  Transport& transport_;
  Rng rng_;
  Delegate* delegate_;
  std::shared_ptr<NameTable> names_;
  NameId self_;

  MemberList members_;  // [0] is this node
  std::unordered_map<NameId, Suspicion> suspicions_;

  ProbeOrder probe_order_;
  uint32_t next_seq_ = 1;
  std::unordered_map<uint32_t, AckWait> ack_waits_;
  std::unordered_map<NameId, uint32_t> verifying_;  // member -> seq of its verify ping
  Probe probe_;
  Awareness awareness_;

  BroadcastQueue broadcasts_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;

  std::vector<Address> seeds_;
  bool started_ = false;
  bool joined_ = false;
  bool first_push_pull_done_ = false;
  bool leaving_ = false;
  uint32_t join_attempts_ = 0;
  uint64_t next_request_id_ = 1;
  struct PendingStream {
    StreamKind kind;
    Address to;
  };
  std::unordered_map<uint64_t, PendingStream> requests_;

  Counters counters_;
  std::shared_ptr<spdlog::logger> logger_;
  PartitionWatch partition_;
  LogLimiter log_limiter_{static_cast<size_t>(LogReason::kCount), kLogInterval};
  // Set while merging the state of this node's own join exchange: the
  // members it learns then are summed up in one line, not one line each.
  bool quiet_joins_ = false;
  std::vector<LogLimiter::Report> log_scratch_;
  std::vector<std::string> user_scratch_;
  std::vector<uint32_t> select_scratch_;
};

}  // namespace ferry::gossip

template <>
struct fmt::formatter<ferry::gossip::Node::MemberRef> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }  // no format spec
  template <typename Context>
  auto format(const ferry::gossip::Node::MemberRef& m, Context& ctx) const {
    return fmt::format_to(ctx.out(), "{} ({})", m.name, m.address);
  }
};
