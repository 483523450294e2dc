// Allocator: the distributed IPAM of one host, after Weave Net's design
// (docs/ipam.md). Hosts own disjoint blocks of each pool through a gossiped
// ownership map (BlockMap, a CRDT whose records only a block's current owner
// may supersede); a host allocates from its own blocks with no coordination,
// and asks another host for blocks (a donation, Node::user_request) when it
// has none free. An owner dead past Config::reclaim_after loses its blocks to
// an heir, decided only on the side of a partition that sees a majority; a
// host that does not see one for Config::fence_after stops allocating.
//
// It is the gossip Node's Delegate: updates ride on membership packets
// (get_broadcasts), the full map on push-pull, donations on user requests.
// Single-threaded like the Node; the clock and a seed are injected, so
// simulations replay exactly. Persistence: every change of what this host
// owns or allocated goes through the persist hook (snapshot()) before it is
// visible outside (an address returned, a donation answered, a broadcast);
// restore() brings a restarted host back with its blocks and allocations.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "control/gossip/broadcast_queue.h"
#include "control/gossip/clock.h"
#include "control/gossip/delegate.h"
#include "control/gossip/rng.h"
#include "control/ipam/allocations.h"
#include "control/ipam/block_map.h"
#include "control/ipam/config.h"
#include "control/ipam/counters.h"
#include "control/ipam/pool.h"
#include "control/ipam/quorum.h"
#include "control/ipam/shortage.h"
#include "control/ipam/wire.h"

namespace ferry::gossip {
class Node;
}  // namespace ferry::gossip

namespace ferry::ipam {

namespace v1 {
class Records;
class DonationRequest;
class DonationResponse;
class SyncRequest;
}  // namespace v1

// An allocation found in a block this host no longer owns (the block was
// reclaimed while this host was cut off, or restored state disagrees with
// the cluster). The address may now be handed out elsewhere: the caller
// should give the endpoint a new one.
struct Conflict {
  std::string pool;
  Addr address = 0;
  std::string handle;
  std::string new_owner;
};

// How allocate() picks an address when none is wanted. First-free: the
// lowest free address of this host's space (a released address is handed
// out again at once). Serial (Docker's `com.docker.network.ipam.serial`,
// libnetwork's bitseq "serial" mode): the lowest free address at or after
// the one following the last address this host handed out without a wanted
// address, wrapping to the start of this host's space when none is left
// after it; a released address comes back only once the cursor wraps. The
// cursor is per pool and host, moved by every allocation without a wanted
// address in either order, and persisted with the snapshot. Space is asked
// from other hosts only when this host has no free address at all, in both
// orders: serial never pulls the whole subnet to one host.
enum class Order : std::uint8_t { kFirstFree, kSerial };

struct AddressRange {
  Addr first = 0;
  Addr last = 0;  // inclusive
  bool operator==(const AddressRange&) const = default;
};

class Allocator final : public gossip::Delegate {
 public:
  using Done = std::function<void(Result<Addr>)>;
  using PersistFn = std::function<Result<void>(const std::string& snapshot)>;

  // Does not register itself: call node.set_delegate(&allocator) (or plug it
  // into a delegate that multiplexes several layers). Destroy the Node first
  // or clear its delegate before destroying this.
  Allocator(Config config, gossip::Node& node, gossip::Clock& clock, std::uint64_t seed);
  ~Allocator() override;
  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;

  // Called with snapshot() whenever this host's own state changes, before the
  // change is visible outside. A failure undoes this host's own change
  // (allocation, release, donation) and fails the operation.
  void set_persist(PersistFn fn) { persist_ = std::move(fn); }
  // Consulted before the blocks of an owner dead past reclaim_after go to
  // their heirs: true waits (asked again at every check), for an owner whose
  // addresses are still in use (the agent: its data plane still answers, so
  // peers still route to them). Without one, reclaim happens at reclaim_after.
  using HoldFn = std::function<bool(const std::string& owner)>;
  void set_hold_reclaim(HoldFn fn) { hold_reclaim_ = std::move(fn); }
  // Bytes put before every message this allocator sends as a broadcast,
  // push-pull state or request, and required (then stripped) on every one it
  // receives: lets a DelegateMux share one Node with another layer. Set it
  // before any traffic; every host must use the same.
  void set_wire_prefix(std::string prefix) { framing_.set_prefix(std::move(prefix)); }
  // Restores a snapshot taken by a previous life of this host (same name),
  // before joining. Fails, changing nothing, if it is malformed or another
  // host's.
  Result<void> restore(const std::string& snapshot);
  [[nodiscard]] std::string snapshot() const;

  // Defines a pool on this host (idempotent). `cidr`: "10.1.0.0/16" or
  // "fd00:1::/64" (PoolSpec::make). `genesis` owns every block until it
  // gives some away: every host must name the same one (the host that
  // created the network). A pool already known (locally or from the
  // cluster) with another network or genesis is refused.
  Result<PoolSpec> ensure_pool(const std::string& name, std::string_view cidr, const std::string& genesis);
  // The same for an IPv4 subnet already parsed (host byte order).
  Result<PoolSpec> ensure_pool(const std::string& name, Addr subnet, std::uint32_t prefix_len,
                               const std::string& genesis);

  // Allocates an address for `handle` (an endpoint id; "" for anonymous). A
  // handle that already holds an address gets it again. `want`: a specific
  // address, which must be unallocated and in a block this host owns or can
  // obtain from its owner. `done` runs once, possibly before allocate()
  // returns (space at hand) or later from tick()/a response (a donation).
  // `order`: how an address is picked when none is wanted (Order above).
  void allocate(const std::string& pool, const std::string& handle, std::optional<Addr> want, Done done,
                Order order = Order::kFirstFree);
  Result<void> release(const std::string& pool, Addr address);

  // Graceful hand-over, for a host leaving the cluster for good (the agent
  // shutting down with no endpoint left, or an operator's request): every
  // block of this host, in every pool, that holds no allocation and is not
  // settling is given, as its owner, to the other live hosts — the live
  // owners of space in that pool, or every live member if the pool has none
  // — in equal contiguous shares. Persisted, broadcast, and also sent to each
  // recipient directly (hand_over_in_flight() counts the answers awaited).
  // Blocks with allocations stay this host's. Safe at any time: pending
  // allocations carry on (a block donated later stays, call again). Returns
  // the blocks handed over (0: nothing free); refused, changing nothing, when
  // fenced, when no other host is alive, or when the state cannot be saved.
  Result<std::uint32_t> hand_over();
  // Hand-over messages sent directly and not yet answered: a leaving agent
  // keeps its loop running until 0 (or a deadline) before it leaves, so the
  // records do not depend on gossip alone.
  [[nodiscard]] std::size_t hand_over_in_flight() const { return handoffs_.size(); }

  // --- reading ---
  [[nodiscard]] bool has_pool(const std::string& pool) const { return pools_.contains(pool); }
  [[nodiscard]] std::vector<std::string> pool_names() const;
  [[nodiscard]] const PoolSpec* spec(const std::string& pool) const;
  [[nodiscard]] const BlockMap* map(const std::string& pool) const;
  [[nodiscard]] std::optional<Addr> lookup(const std::string& pool, const std::string& handle) const;
  [[nodiscard]] std::map<Addr, std::string> allocations(const std::string& pool) const;
  // This host's blocks as address ranges (merged when contiguous).
  [[nodiscard]] std::vector<AddressRange> owned_ranges(const std::string& pool) const;
  // Addresses this host could allocate now without a donation.
  [[nodiscard]] std::uint32_t free_addresses(const std::string& pool) const;
  // Where a serial allocation starts looking (Order::kSerial); 0 before the
  // first allocation without a wanted address, or for an unknown pool.
  [[nodiscard]] Addr serial_cursor(const std::string& pool) const;
  [[nodiscard]] bool fenced() const;
  [[nodiscard]] const std::vector<Conflict>& conflicts() const { return conflicts_; }
  [[nodiscard]] std::uint64_t counter(Counter c) const { return counters_[static_cast<std::size_t>(c)]; }
  [[nodiscard]] const Config& config() const { return config_; }
  [[nodiscard]] const std::string& self() const { return self_; }
  [[nodiscard]] std::size_t pending() const;
  // Cross-checks every internal map (tests and fuzzing): maps valid, every
  // allocation in a block this host owns and may use, counts and handle
  // index consistent.
  [[nodiscard]] Result<void> check_invariants() const;

  // --- gossip::Delegate ---
  void get_broadcasts(size_t overhead_per_item, size_t byte_budget, std::vector<std::string>& out) override;
  void notify_user_msg(std::string_view from_name, gossip::Bytes payload) override;
  std::string local_state(bool join) override;
  void merge_remote_state(gossip::Bytes state, bool join) override;
  std::string handle_user_request(std::string_view from_name, gossip::Bytes request) override;
  void notify_user_response(uint64_t request_id, const Result<std::string>& response) override;
  void notify_join(const gossip::MemberInfo& info) override;
  void notify_leave(const gossip::MemberInfo& info) override;
  [[nodiscard]] gossip::TimePoint next_deadline() const override;
  void tick(gossip::TimePoint now) override;

 private:
  struct Pending {
    std::string handle;
    std::optional<Addr> want;
    Done done;
    gossip::TimePoint deadline;
    Order order = Order::kFirstFree;
  };
  struct Pool {
    Pool(PoolSpec s, BlockMap m) : spec(std::move(s)), map(std::move(m)) {}
    PoolSpec spec;
    BlockMap map;
    Allocations allocs;
    std::map<std::uint32_t, gossip::TimePoint> settling;  // reclaimed blocks not usable yet
    std::deque<Pending> pending;
    Shortage shortage;              // the donation in flight, and this shortage's history
    std::set<std::uint32_t> relay;  // blocks whose news waits for the next relay flush
    Addr next = 0;                  // the serial cursor (Order::kSerial), persisted
  };
  using Completion = std::pair<Done, Result<Addr>>;

  // Pools (allocator.cc).
  Pool& add_pool(const PoolSpec& spec);
  Result<PoolSpec> ensure_spec(const PoolSpec& spec);
  Pool* find_pool(const std::string& name);
  const Pool* find_pool(const std::string& name) const;

  // Local allocation and the queue of waiting allocations
  // (allocator_local.cc).
  [[nodiscard]] bool usable(const Pool& p, std::uint32_t block) const;
  // The lowest free address at or after `from` in this host's usable blocks.
  std::optional<Addr> free_from(const Pool& p, Addr from) const;
  // What allocate() can do right now: an address, an error, or nullopt
  // (needs a donation or a reclaimed block to settle).
  std::optional<Result<Addr>> try_allocate(Pool& p, const std::string& handle, std::optional<Addr> want, Order order);
  std::optional<Result<Addr>> try_allocate_address(Pool& p, const std::string& handle, Addr ip);
  // Records the allocation and persists it; `advance`: an allocation without
  // a wanted address, which moves the serial cursor past `ip`.
  Result<Addr> commit(Pool& p, Addr ip, const std::string& handle, bool advance = false);
  void serve_pending(Pool& p, std::vector<Completion>& done);
  void fail_pending(Pool& p, const std::string& why, std::vector<Completion>& done);
  void fail_front(Pool& p, Error error, std::vector<Completion>& done);
  static void run(std::vector<Completion>& done);

  // Donations, both sides (allocator_donation.cc).
  void ask_donation(Pool& p, std::vector<Completion>& done);
  // The donor for the request at the front of `p.pending`, or "" when none
  // is to be asked now (what happened instead is done).
  std::string choose_donor(Pool& p, std::vector<Completion>& done);
  std::string serve_donation(const std::string& from, const v1::DonationRequest& req);
  Result<std::vector<std::uint32_t>> donation_blocks(const Pool& p, const std::string& from,
                                                     const v1::DonationRequest& req, v1::DonationResponse& resp) const;
  void on_donation_answer(std::uint64_t request_id, const Result<std::string>& response);
  void on_donation(Pool& p, const v1::DonationResponse& resp, std::vector<Completion>& done);
  [[nodiscard]] bool forged_donation(const Pool& p, const std::vector<Run>& runs, const std::string& donor) const;

  // Ownership records: received, written, broadcast (allocator_records.cc).
  // A pool of a Records message, checked, and a record in it that takes
  // this host's block without its say.
  struct CheckedPool {
    PoolSpec spec;
    std::vector<Run> runs;
  };
  struct ForgedRecord {
    std::size_t pool;  // into the checked pools
    std::uint32_t block;
    std::uint64_t version;
  };
  // Validates a whole Records message, then applies it (or nothing).
  void receive(const v1::Records& msg, bool rebroadcast);
  // False (counted) when any of the message is unsound.
  bool check_records(const v1::Records& msg, std::vector<CheckedPool>& checked, std::vector<ForgedRecord>& forged);
  // Answers forged records with higher records of this host's own.
  void reassert(const std::vector<CheckedPool>& checked, const std::vector<ForgedRecord>& forged);
  void apply_records(const std::vector<CheckedPool>& checked, bool rebroadcast);
  // A block changed hands in this map: conflicts, settling.
  void on_block_change(Pool& p, std::uint32_t block, const Record& before, const Record& after);
  // This host writes `record` (owner-only rule checked by callers).
  void write(Pool& p, std::uint32_t block, const Record& record);
  void broadcast(const Pool& p, const std::vector<Run>& runs, gossip::BroadcastQueue& queue);
  void flush_relay();
  [[nodiscard]] std::vector<Run> runs_of(const Pool& p, const std::vector<std::uint32_t>& blocks) const;

  // Graceful hand-over (allocator_handover.cc): one pool's free blocks and
  // their records before.
  struct HandOver {
    Pool* pool;
    std::vector<std::uint32_t> blocks;
    std::vector<std::pair<std::uint32_t, Record>> before;
  };
  // Gives the plan's blocks to `live` hosts in equal contiguous shares.
  void share_out(HandOver& plan, const std::vector<std::string>& live);
  // Broadcasts the handed-over records and sends them to every recipient.
  void deliver(const std::vector<HandOver>& plans, const std::vector<std::string>& live);

  // Persistence (allocator_state.cc).
  bool persist();

  // Anti-entropy (allocator_sync.cc).
  void start_sync();
  std::string serve_sync(const v1::SyncRequest& req);
  void on_sync(uint64_t request_id, const Result<std::string>& response);

  // Liveness and reclaim (allocator_reclaim.cc).
  void check(gossip::TimePoint now);
  // Takes the blocks of `doomed` owners (dead past reclaim_after, seen by a
  // quorum) for which this host is the heir.
  void reclaim(Pool& p, const std::set<std::string>& doomed);

  void count(Counter c, std::uint64_t n = 1) { counters_[static_cast<std::size_t>(c)] += n; }

  Config config_;
  gossip::Node& node_;
  gossip::Clock& clock_;
  gossip::Rng rng_;
  std::string self_;
  Quorum quorum_;
  HoldFn hold_reclaim_;
  std::set<std::string> reclaim_held_;  // doomed owners whose reclaim hold_reclaim_ defers
  Framing framing_;
  std::map<std::string, Pool> pools_;
  gossip::BroadcastQueue queue_;        // records this host wrote
  gossip::BroadcastQueue relay_queue_;  // records it learned and passes on
  gossip::TimePoint relay_flush_ = gossip::kNever;
  std::unordered_map<std::uint64_t, std::string> requests_;  // donation request id -> pool
  std::unordered_map<std::uint64_t, std::string> syncs_;     // sync request id -> peer
  std::set<std::uint64_t> handoffs_;                         // hand-over deliveries awaiting an answer
  std::vector<Conflict> conflicts_;
  PersistFn persist_;
  gossip::TimePoint next_check_;
  gossip::TimePoint next_sync_;
  Counters counters_{};
};

}  // namespace ferry::ipam
