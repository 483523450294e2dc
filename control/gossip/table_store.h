// TableStore: the replicated tables as a pure data structure (no clock, no
// network). Entries are keyed by (network, table, key) and carry a version
// (Lamport time, owner, deleted flag, value). Merging keeps the greatest
// version under one total order, so a set of stores that saw the same
// versions holds the same tables whatever the order, loss or duplication of
// deliveries. docs/gossip.md, "Replicated tables", gives the whole story.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ferry::gossip {

using Lamport = std::uint64_t;
// Local time for tombstone bookkeeping: any monotonic origin (the Clock's).
using StoreTime = std::chrono::nanoseconds;

// Sorted by network first so one network's entries are a contiguous range.
struct TableKey {
  std::string network;  // "" is the global network every node is in
  std::string table;
  std::string key;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 false positive on a defaulted <=> (llvm#53961)
  auto operator<=>(const TableKey&) const = default;
  bool operator==(const TableKey&) const = default;
};

// One replicated version of an entry. The merge order is
// (lamport, owner, deleted, value), lexicographic: a later Lamport time wins,
// then the greater owner name; the last two only matter if an owner reused a
// Lamport time (restart with lost state), and keep the order total.
struct Version {
  Lamport lamport = 0;
  std::string owner;
  bool deleted = false;
  std::string value;  // serialized protobuf; empty for tombstones

  [[nodiscard]] std::strong_ordering compare(const Version& other) const;
  [[nodiscard]] bool supersedes(const Version& other) const { return std::is_gt(compare(other)); }
  bool operator==(const Version& other) const { return std::is_eq(compare(other)); }
};

// A stored entry: the replicated version plus local state that is never
// replicated as a version. `purged` means the owner was dead longer than
// the grace period: the entry leaves the live view but is kept (like a
// tombstone) so stale copies of the same version cannot bring it back.
struct StoredEntry {
  Version version;
  bool purged = false;
  StoreTime dead_since{};  // when it became a tombstone or purged (for reaping)

  [[nodiscard]] bool live() const { return !version.deleted && !purged; }
};

enum class ChangeKind : std::uint8_t { kCreate, kUpdate, kDelete };
const char* change_kind_name(ChangeKind kind);

// A change of the live view, as subscribers see it.
struct Change {
  ChangeKind kind;
  TableKey key;
  Version version;  // the new version (for kDelete: the tombstone, or the purged live version)
};

// Which part of the tables a subscriber wants; empty fields match anything.
struct TableFilter {
  std::string network;
  std::string table;
  bool match_network = false;
  bool match_table = false;

  [[nodiscard]] bool matches(const TableKey& key) const {
    return (!match_network || key.network == network) && (!match_table || key.table == table);
  }
  static TableFilter all() { return {}; }
  static TableFilter of(std::string network, std::string table) {
    return {std::move(network), std::move(table), true, true};
  }
};

struct ApplyOutcome {
  bool accepted = false;             // the incoming version is now stored
  std::optional<ChangeKind> change;  // what the live view saw, if anything
};

class TableStore {
 public:
  using SubscriptionId = std::uint64_t;
  // Called with the initial snapshot (each live entry as kCreate, in key order)
  // then with every change, in the order it was applied.
  using Callback = std::function<void(const Change&)>;

  // Merges one version. Owners in the purged set (see set_owner_purged) get
  // the version stored as purged. `now` stamps new tombstones.
  ApplyOutcome apply(const TableKey& key, const Version& version, StoreTime now);

  // Marks every entry currently owned by `owner` purged (or, with
  // purged=false, forgets only the mark for future versions: existing purged
  // entries stay hidden until the owner writes a newer version). Returns the
  // number of entries that left the live view.
  std::size_t set_owner_purged(const std::string& owner, bool purged, StoreTime now);
  [[nodiscard]] bool owner_purged(const std::string& owner) const { return purged_owners_.contains(owner); }

  // Hides one live entry as purged (its owner left the entry's network).
  // Returns whether it left the live view.
  bool purge(const TableKey& key, StoreTime now);

  // Removes tombstones and purged entries that have been dead for at least
  // `ttl`. Returns how many were removed.
  std::size_t reap(StoreTime now, StoreTime ttl);

  // Forgets every entry of one network (a node leaving it), with kDelete
  // changes for the live ones. Returns how many entries were dropped.
  std::size_t drop_network(const std::string& network);

  [[nodiscard]] const StoredEntry* find(const TableKey& key) const;
  [[nodiscard]] const StoredEntry* find(std::string_view network, std::string_view table, std::string_view key) const;
  [[nodiscard]] std::optional<std::string> get(const TableKey& key) const;  // live value
  [[nodiscard]] std::size_t size() const { return entries_.size(); }        // incl. dead ones
  [[nodiscard]] std::size_t live_size() const { return live_count_; }
  [[nodiscard]] Lamport max_lamport() const { return max_lamport_; }

  // Iterates over entries (dead ones too) in key order, optionally one network.
  void for_each(const std::function<void(const TableKey&, const StoredEntry&)>& fn) const;
  void for_each_in(const std::string& network,
                   const std::function<void(const TableKey&, const StoredEntry&)>& fn) const;
  // Keys whose current version is owned by `owner`.
  [[nodiscard]] std::vector<TableKey> keys_owned_by(const std::string& owner) const;

  // Order-independent digest of one network's versions (xor of per-entry
  // hashes, kept incrementally): two stores with equal digests almost
  // certainly hold the same versions of that network.
  [[nodiscard]] std::uint64_t network_digest(const std::string& network) const;
  [[nodiscard]] std::vector<std::string> networks() const;

  SubscriptionId subscribe(TableFilter filter, Callback callback);
  void unsubscribe(SubscriptionId id);

 private:
  struct Subscriber {
    TableFilter filter;
    Callback callback;
  };

  void notify(ChangeKind kind, const TableKey& key, const Version& version);
  void index_owner(const TableKey& key, const std::string& old_owner, const std::string& new_owner);
  void account(const TableKey& key, const StoredEntry* before, const StoredEntry* after);

  using Entries = std::map<TableKey, StoredEntry>;
  // Hash index over entries_ (views into the map's stable keys): the hot
  // path, a duplicate version arriving by gossip, is one hash lookup.
  struct KeyRef {
    std::string_view network, table, key;
    std::size_t hash;  // computed once: bucket scans compare it before any string
    KeyRef(std::string_view n, std::string_view t, std::string_view k)
        : network(n), table(t), key(k), hash(hash_of(n, t, k)) {}
    bool operator==(const KeyRef& o) const {
      return hash == o.hash && key == o.key && table == o.table && network == o.network;
    }
    static std::size_t hash_of(std::string_view n, std::string_view t, std::string_view k) noexcept {
      const std::hash<std::string_view> h;
      return h(k) ^ (h(t) * 0x9e3779b97f4a7c15ULL) ^ (h(n) * 0xc2b2ae3d27d4eb4fULL);
    }
  };
  struct KeyRefHash {
    std::size_t operator()(const KeyRef& k) const noexcept { return k.hash; }
  };
  static KeyRef ref(const TableKey& k) { return {k.network, k.table, k.key}; }
  Entries::iterator lookup(const TableKey& key);
  Entries::iterator insert(const TableKey& key, StoredEntry entry);
  Entries::iterator erase(Entries::iterator it);

  Entries entries_;
  std::unordered_map<KeyRef, Entries::iterator, KeyRefHash> index_;
  std::unordered_map<std::string, std::set<TableKey>> by_owner_;
  std::set<std::string> purged_owners_;
  std::multimap<StoreTime, TableKey> dead_queue_;                                 // lazily validated
  std::map<std::string, std::pair<std::uint64_t, std::size_t>> network_digests_;  // digest, count
  std::map<SubscriptionId, Subscriber> subscribers_;
  SubscriptionId next_subscription_ = 1;
  std::size_t live_count_ = 0;
  Lamport max_lamport_ = 0;
};

// A Lamport clock: tick() before a local write, witness() on every received
// time so the next local write is later than anything this node has seen.
class LamportClock {
 public:
  Lamport tick() { return ++time_; }
  void witness(Lamport seen) {
    if (seen > time_) time_ = seen;
  }
  [[nodiscard]] Lamport now() const { return time_; }

 private:
  Lamport time_ = 0;
};

}  // namespace ferry::gossip
