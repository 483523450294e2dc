// TableDb: the replicated tables riding on the membership layer (what
// NetworkDB does for Docker, without its failure modes). It is the Node's
// Delegate. docs/gossip.md, "Replicated tables", explains the design; in short:
//
//  - Writes get a Lamport time from this node's clock (advanced past every
//    time it receives) and spread by gossip: global-network entries ride on
//    membership packets (get_broadcasts), per-network entries go only to
//    members of that network (send_user to a few random members per round),
//    each re-gossiped by receivers that accepted it, up to the retransmit
//    limit.
//  - Anti-entropy: push-pull carries per-network digests only; a mismatch
//    starts a SyncRequest exchange that moves just the differing networks.
//    Each attached network is also synced with one random member of it every
//    network_sync_interval, and right after joining it.
//  - A node is the authority on the entries it owns: when it hears a version
//    of its own entry newer than what it holds (it restarted with empty
//    state, or lost a race with its previous life), it reasserts what it
//    holds, or tombstones the entry, at a Lamport time past the stale one.
//  - An owner dead or left for owner_grace has its entries purged (hidden,
//    kept like tombstones so stale copies cannot bring them back), unless the
//    keep_owner hook says to keep them (the agent: its data plane still
//    answers); then it is asked again every keep_recheck. When the owner
//    returns, it is told which entries were purged and reasserts the live ones.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "control/gossip/broadcast_queue.h"
#include "control/gossip/clock.h"
#include "control/gossip/delegate.h"
#include "control/gossip/rng.h"
#include "control/gossip/table_store.h"

namespace ferry::gossip {

class Node;

namespace v1 {
class EntryVersion;
class TablesMessage;
}  // namespace v1

struct TablesConfig {
  // A dead or left owner's entries are purged this long after the decision,
  // unless it comes back first (a flapping node causes no churn). ms.
  std::chrono::milliseconds owner_grace{10'000};
  // Tombstones and purged entries are forgotten after this long. Must exceed
  // the longest time a stale copy can survive elsewhere (a partition, a node
  // offline): like NetworkDB's 30 min. ms.
  std::chrono::milliseconds tombstone_ttl{30 * 60 * 1000};
  // While the keep_owner hook keeps a dead owner's entries, it is asked
  // again this often. ms.
  std::chrono::milliseconds keep_recheck{1'000};
  // How often tombstones are reaped. ms.
  std::chrono::milliseconds reap_interval{5'000};
  // Per attached network: a digest sync with one random member of it this
  // often (NetworkDB's bulk sync is 30 s). 0 disables (push-pull still syncs).
  std::chrono::milliseconds network_sync_interval{30'000};
  // Per gossip round (the Node's gossip_interval), network events go to this
  // many random members of the network.
  std::uint32_t network_gossip_nodes = 3;
  // Largest value accepted by put() and from the wire, bytes. Entries must
  // fit one datagram to be gossiped (max_packet_size is 1400 by default).
  std::size_t max_value_size = 1024;
  // Longest network, table or key name, bytes.
  std::size_t max_name_size = 128;

  [[nodiscard]] Result<void> validate() const;
};

#define FERRY_TABLES_COUNTERS(X)                                                               \
  X(writes, "local puts and deletes")                                                          \
  X(events_rx, "entry versions received (gossip, sync, notices)")                              \
  X(events_applied, "received versions that were newer and stored")                            \
  X(events_stale, "received versions not newer than the stored one (duplicates, old)")         \
  X(events_foreign_network, "received versions for networks this node is not in (ignored)")    \
  X(malformed, "table messages that failed to decode or validate (dropped, no state change)")  \
  X(reasserted, "own entries rewritten because a stale or purged copy of them was seen")       \
  X(stale_own_deleted, "own entries from a previous life tombstoned")                          \
  X(owners_purged, "owners whose entries were purged (dead or left past the grace period)")    \
  X(entries_purged, "entries hidden because their owner was purged")                           \
  X(purge_cancelled, "owner purges cancelled because the owner came back in time")             \
  X(owners_kept, "dead owners whose purge the keep_owner hook deferred (each once per death)") \
  X(purged_notices_sent, "purged-entry notices sent to returning owners")                      \
  X(tombstones_reaped, "tombstones and purged entries forgotten after tombstone_ttl")          \
  X(gossip_sent, "per-network gossip datagrams sent")                                          \
  X(sync_started, "sync exchanges started (digest requests)")                                  \
  X(sync_served, "sync requests answered")                                                     \
  X(sync_networks_repaired, "networks whose digests differed in a sync")                       \
  X(sync_failed, "sync exchanges that failed (timeout, refused)")

enum class TablesCounter : std::size_t {
#define FERRY_X(name, help) name,
  FERRY_TABLES_COUNTERS(FERRY_X)
#undef FERRY_X
      kCount
};
const char* tables_counter_name(TablesCounter c);
const char* tables_counter_help(TablesCounter c);

class TableDb final : public Delegate {
 public:
  static constexpr const char* kAttachTable = "__attach";  // in the global network ""

  // Registers itself as `node`'s delegate. Destroy the Node first, or clear
  // its delegate, before destroying this object (the destructor does not
  // touch the Node, which may already be gone: a crash in the simulator).
  TableDb(TablesConfig config, Node& node, Clock& clock, std::uint64_t seed);
  ~TableDb() override;
  TableDb(const TableDb&) = delete;
  TableDb& operator=(const TableDb&) = delete;

  // --- local writes (this node becomes the entry's owner) ---
  Result<void> put(const std::string& network, const std::string& table, const std::string& key, std::string value);
  Result<void> remove(const std::string& network, const std::string& table, const std::string& key);
  // Joining a network announces it cluster-wide and syncs its tables from a
  // member; leaving tombstones this node's entries in it and forgets the rest.
  Result<void> join_network(const std::string& network);
  Result<void> leave_network(const std::string& network);

  // --- reading ---
  [[nodiscard]] const TableStore& store() const { return store_; }
  [[nodiscard]] std::optional<std::string> get(const std::string& network, const std::string& table,
                                               const std::string& key) const;
  [[nodiscard]] bool in_network(const std::string& network) const;
  [[nodiscard]] std::vector<std::string> networks() const;  // this node's, "" excluded
  [[nodiscard]] std::vector<std::string> network_members(const std::string& network) const;
  // Snapshot then ordered changes (see TableStore::subscribe).
  TableStore::SubscriptionId subscribe(TableFilter filter, TableStore::Callback callback);
  void unsubscribe(TableStore::SubscriptionId id) { store_.unsubscribe(id); }
  [[nodiscard]] Lamport lamport() const { return lamport_.now(); }
  [[nodiscard]] std::uint64_t counter(TablesCounter c) const { return counters_[static_cast<std::size_t>(c)]; }
  [[nodiscard]] const TablesConfig& config() const { return config_; }
  [[nodiscard]] const std::string& self() const { return self_; }

  // Sync exchanges started and not yet answered (or failed).
  [[nodiscard]] std::size_t syncs_in_flight() const;

  // Starts a sync of `network` ("" = global) with a random member now.
  void sync_now(const std::string& network);

  // Consulted when a dead or left owner's purge is due: true keeps its
  // entries live (asked again every keep_recheck until it says false or the
  // owner returns). Without a hook an owner is purged at owner_grace.
  using KeepOwner = std::function<bool(const std::string& owner)>;
  void set_keep_owner(KeepOwner keep) { keep_owner_ = std::move(keep); }
  // Dead owners whose entries the hook keeps now.
  [[nodiscard]] const std::set<std::string>& kept_owners() const { return kept_; }

  // --- Delegate ---
  void get_broadcasts(size_t overhead_per_item, size_t byte_budget, std::vector<std::string>& out) override;
  void notify_user_msg(std::string_view from_name, Bytes payload) override;
  std::string local_state(bool join) override;
  void merge_remote_state(Bytes data, bool join) override;
  std::string handle_user_request(std::string_view from_name, Bytes request) override;
  void notify_user_response(uint64_t request_id, const Result<std::string>& response) override;
  void notify_join(const MemberInfo& info) override;
  void notify_update(const MemberInfo& info) override;
  void notify_leave(const MemberInfo& info) override;
  [[nodiscard]] TimePoint next_deadline() const override;
  void tick(TimePoint now) override;

 private:
  enum class RequestKind : std::uint8_t { kSync, kPush, kNotice };
  struct PendingRequest {
    RequestKind kind;
    std::string peer;
  };

  Result<void> check_names(const std::string& network, const std::string& table, const std::string& key) const;
  void write(const TableKey& key, const Version& version);
  // Handles one received version; returns whether it was stored.
  bool receive(const v1::EntryVersion& entry, bool from_gossip);
  void own_conflict(const TableKey& key, Lamport seen);
  void queue_broadcast(const TableKey& key, const Version& version);
  void on_attach_change(const Change& change);
  void purge_owner(const std::string& owner);
  void send_purged_notice(const std::string& owner);
  void gossip_networks();
  void start_sync(const std::string& peer, const std::vector<std::string>& networks);
  std::string serve_sync(const v1::TablesMessage& msg);
  std::vector<std::string> random_members(const std::string& network, std::size_t k);
  bool member_alive(const std::string& name) const;
  uint64_t request(const std::string& peer, RequestKind kind, std::string payload);
  StoreTime store_now() const { return clock_.now().time_since_epoch(); }
  void count(TablesCounter c, std::uint64_t n = 1) { counters_[static_cast<std::size_t>(c)] += n; }

  TablesConfig config_;
  Node& node_;
  Clock& clock_;
  Rng rng_;
  std::string self_;
  TableStore store_;
  LamportClock lamport_;
  std::set<std::string> my_networks_;                                // "" is implicit
  std::map<std::string, std::set<std::string>> members_by_network_;  // from the attach table
  BroadcastQueue global_queue_;                                      // network "" events
  std::map<std::string, BroadcastQueue> network_queues_;
  std::unordered_map<std::string, TimePoint> pending_purges_;  // owner -> when
  KeepOwner keep_owner_;
  std::set<std::string> kept_;                   // owners the hook keeps (their purges pending)
  std::map<std::string, TimePoint> kept_since_;  // for the log line when they go
  std::unordered_map<std::uint64_t, PendingRequest> requests_;
  TimePoint next_gossip_ = kNever;
  TimePoint next_reap_;
  TimePoint next_sync_;
  std::array<std::uint64_t, static_cast<std::size_t>(TablesCounter::kCount)> counters_{};
  std::vector<std::string> scratch_;
};

}  // namespace ferry::gossip
