// SimCluster: N gossip nodes in one process, on one ManualClock, talking over
// an in-memory network that can drop, delay, reorder, duplicate and
// partition, and whose nodes can crash and restart. Fully deterministic from
// its seed: the same seed replays the same run event for event. Shared by the
// sim tests (tests/control/) and `ferry-bench gossip`.
//
// The user layer plugs in through a NodeHook called after every node is
// created (including restarts): it builds its own object around the Node and
// calls node.set_delegate().
#pragma once

#include <spdlog/spdlog.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "control/gossip/clock.h"
#include "control/gossip/config.h"
#include "control/gossip/names.h"
#include "control/gossip/node.h"
#include "control/gossip/rng.h"
#include "control/gossip/transport.h"

namespace ferry::gossip {

struct SimNetConfig {
  double loss = 0.0;       // probability a datagram is dropped
  double duplicate = 0.0;  // probability a datagram is delivered twice
  // One-way datagram delay: uniform in [min_delay, max_delay] (so datagrams
  // reorder when the range is wider than their spacing).
  Duration min_delay = std::chrono::microseconds(100);
  Duration max_delay = std::chrono::microseconds(2000);
  // A stream exchange (both frames) takes stream_delay each way; one to a
  // crashed or partitioned node fails after stream_fail_delay.
  Duration stream_delay = std::chrono::microseconds(1000);
  Duration stream_fail_delay = std::chrono::milliseconds(1000);
  uint16_t port = 7946;
};

class SimCluster {
 public:
  using NodeHook = std::function<void(size_t index, Node& node)>;

  SimCluster(Config config, SimNetConfig net, uint64_t seed);
  ~SimCluster();

  // Adds node i (name "node-<i>", address 10.(i>>16).(i>>8).(i&255)+1 form,
  // see address_of) and starts it. Does not join.
  size_t add_node();
  void add_nodes(size_t n);
  void set_node_hook(NodeHook hook) { hook_ = std::move(hook); }
  // Where the nodes' log lines go: each node (also those already added, and
  // restarted ones) logs through its own logger, named after the node, into
  // `sink` at `level` and above. Without a sink the nodes log nothing: a
  // thousand nodes' membership lines would be noise.
  void set_log_sink(std::shared_ptr<spdlog::sinks::sink> sink, spdlog::level::level_enum level = spdlog::level::info);

  // Node i joins through `seeds` (node indices).
  void join(size_t i, const std::vector<size_t>& seeds);
  // Every node but the seed joins through node `seed`, staggered over
  // `spread` of simulated time (joins happen as the clock runs).
  void join_all(size_t seed, Duration spread);
  // Gives every live node full, alive membership of every other live node
  // instantly, as if they had converged: benchmarks start from here.
  void bootstrap_converged();

  // Failures.
  void crash(size_t i);    // stops the node; its traffic is lost
  void restart(size_t i);  // a fresh node, same name and address, empty state
  void leave(size_t i) { node(i).leave(); }
  [[nodiscard]] bool is_up(size_t i) const { return slots_[i].node != nullptr; }
  // Each node gets a group id; datagrams and streams cross groups only when
  // the group ids are equal. heal() puts everyone back in group 0.
  void partition(const std::vector<uint32_t>& group_of_node);
  void heal();
  SimNetConfig& net() { return net_; }

  // Running.
  void run_for(Duration d);
  void run_until(TimePoint t);
  // Runs until pred() holds (checked every `check_every`) or `limit` passes;
  // returns whether it held.
  bool run_until(const std::function<bool()>& pred, Duration limit,
                 Duration check_every = std::chrono::milliseconds(100));
  // Re-reads node i's next deadline (call after poking a node from outside).
  void reschedule(size_t i);

  // Access.
  [[nodiscard]] size_t size() const { return slots_.size(); }
  Node& node(size_t i) { return *slots_[i].node; }
  [[nodiscard]] static Address address_of(size_t i, uint16_t port = 7946);
  [[nodiscard]] static std::string name_of(size_t i);
  ManualClock& clock() { return clock_; }
  [[nodiscard]] TimePoint now() const { return clock_.now(); }
  [[nodiscard]] uint64_t seed() const { return seed_; }
  [[nodiscard]] const Config& config() const { return config_; }
  // Bytes node i sent (datagrams + stream frames), whatever happened to them.
  [[nodiscard]] uint64_t bytes_sent(size_t i) const { return slots_[i].bytes_sent; }
  // The largest stream message (request or response) any node has sent, bytes:
  // what the real transport's frame limit must admit.
  [[nodiscard]] size_t largest_stream() const { return largest_stream_; }
  [[nodiscard]] uint64_t events_processed() const { return events_processed_; }

  // Convergence helpers: every live node sees every live node alive and
  // every down node as not alive (dead or left, or forgotten).
  // With allow_suspect, a live member seen as suspect counts as seen alive
  // (under loss some suspicion is always in flight).
  [[nodiscard]] bool converged(bool allow_suspect = false);
  // Number of (observer, subject) pairs where a live observer does not see a
  // live subject alive (or sees a down one alive): 0 when converged.
  [[nodiscard]] size_t disagreements(bool allow_suspect = false);

 private:
  class SimTransport;
  friend class SimTransport;
  enum class EventKind : uint8_t { kPacket, kStreamRequest, kStreamResponse, kStreamFail, kWake, kJoin };
  struct Event {
    TimePoint when;
    uint64_t seq;  // FIFO among equal times: keeps runs deterministic
    EventKind kind;
    uint32_t to;
    uint32_t from;
    uint32_t generation;  // of `to` (stream responses) or of `from`
    uint64_t request_id;
    uint32_t payload;  // index into payloads_
    bool operator>(const Event& o) const { return when != o.when ? when > o.when : seq > o.seq; }
  };
  struct Slot {
    std::unique_ptr<SimTransport> transport;
    std::unique_ptr<Node> node;
    uint32_t generation = 0;
    uint32_t group = 0;
    TimePoint wake = kNever;  // earliest wake event queued for this node
    uint64_t bytes_sent = 0;
    std::vector<size_t> pending_join;
  };

  void make_node(size_t i);
  void give_logger(size_t i);
  void push(Event e);
  uint32_t store(std::string&& data);
  std::string take(uint32_t payload);
  void dispatch(const Event& e);
  bool reachable(size_t a, size_t b) const;
  [[nodiscard]] static size_t index_of(const Address& a);
  void send_packet(size_t from, const Address& to, std::string&& data);
  void send_request(size_t from, const Address& to, uint64_t id, std::string&& data);

  Config config_;
  SimNetConfig net_;
  uint64_t seed_;
  Rng rng_;
  ManualClock clock_;
  std::shared_ptr<NameTable> names_;
  std::vector<Slot> slots_;
  size_t largest_stream_ = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  uint64_t next_seq_ = 0;
  std::vector<std::string> payloads_;
  std::vector<uint32_t> free_payloads_;
  NodeHook hook_;
  std::shared_ptr<spdlog::sinks::sink> log_sink_;
  spdlog::level::level_enum log_level_ = spdlog::level::info;
  std::shared_ptr<spdlog::logger> quiet_logger_;
  uint64_t events_processed_ = 0;
};

}  // namespace ferry::gossip
