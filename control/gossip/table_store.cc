#include "control/gossip/table_store.h"

#include <utility>

namespace ferry::gossip {

namespace {

// FNV-1a, 64 bits, with each field length-prefixed so ("ab","c") != ("a","bc").
class Fnv {
 public:
  void bytes(const void* data, std::size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) {
      hash_ ^= p[i];
      hash_ *= 0x100000001b3ULL;
    }
  }
  void u64(std::uint64_t v) { bytes(&v, sizeof v); }
  void str(const std::string& s) {
    u64(s.size());
    bytes(s.data(), s.size());
  }
  [[nodiscard]] std::uint64_t value() const { return hash_; }

 private:
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

std::uint64_t entry_hash(const TableKey& key, const Version& v) {
  Fnv h;
  h.str(key.table);
  h.str(key.key);
  h.u64(v.lamport);
  h.str(v.owner);
  h.u64(v.deleted ? 1 : 0);
  h.str(v.value);
  return h.value();
}

}  // namespace

std::strong_ordering Version::compare(const Version& other) const {
  if (auto c = lamport <=> other.lamport; std::is_neq(c)) return c;
  if (auto c = owner <=> other.owner; std::is_neq(c)) return c;
  if (auto c = deleted <=> other.deleted; std::is_neq(c)) return c;  // a tombstone beats a value at a tie
  return value <=> other.value;
}

const char* change_kind_name(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kCreate:
      return "create";
    case ChangeKind::kUpdate:
      return "update";
    case ChangeKind::kDelete:
      return "delete";
  }
  return "?";
}

void TableStore::account(const TableKey& key, const StoredEntry* before, const StoredEntry* after) {
  auto& [digest, count] = network_digests_[key.network];
  if (before != nullptr) {
    digest ^= entry_hash(key, before->version);
    --count;
    if (before->live()) --live_count_;
  }
  if (after != nullptr) {
    digest ^= entry_hash(key, after->version);
    ++count;
    if (after->live()) ++live_count_;
  }
  if (count == 0) network_digests_.erase(key.network);
}

void TableStore::index_owner(const TableKey& key, const std::string& old_owner, const std::string& new_owner) {
  if (old_owner == new_owner) return;
  if (!old_owner.empty()) {
    auto it = by_owner_.find(old_owner);
    if (it != by_owner_.end()) {
      it->second.erase(key);
      if (it->second.empty()) by_owner_.erase(it);
    }
  }
  if (!new_owner.empty()) by_owner_[new_owner].insert(key);
}

TableStore::Entries::iterator TableStore::lookup(const TableKey& key) {
  auto it = index_.find(ref(key));
  return it == index_.end() ? entries_.end() : it->second;
}

TableStore::Entries::iterator TableStore::insert(const TableKey& key, StoredEntry entry) {
  auto it = entries_.emplace(key, std::move(entry)).first;
  index_.emplace(ref(it->first), it);
  return it;
}

TableStore::Entries::iterator TableStore::erase(Entries::iterator it) {
  index_.erase(ref(it->first));
  return entries_.erase(it);
}

ApplyOutcome TableStore::apply(const TableKey& key, const Version& version, StoreTime now) {
  ApplyOutcome out;
  if (version.lamport > max_lamport_) max_lamport_ = version.lamport;
  auto it = lookup(key);
  const bool was_live = it != entries_.end() && it->second.live();
  if (it != entries_.end() && !version.supersedes(it->second.version)) return out;

  StoredEntry next;
  next.version = version;
  if (next.version.deleted) next.version.value.clear();
  next.purged = !next.version.deleted && purged_owners_.contains(version.owner);
  if (!next.live()) next.dead_since = now;

  if (it == entries_.end()) {
    account(key, nullptr, &next);
    index_owner(key, "", next.version.owner);
    it = insert(key, std::move(next));
  } else {
    account(key, &it->second, &next);
    index_owner(key, it->second.version.owner, next.version.owner);
    it->second = std::move(next);
  }
  out.accepted = true;
  const StoredEntry& stored = it->second;
  if (!stored.live()) dead_queue_.emplace(stored.dead_since, key);

  if (stored.live()) {
    out.change = was_live ? ChangeKind::kUpdate : ChangeKind::kCreate;
  } else if (was_live) {
    out.change = ChangeKind::kDelete;
  }
  if (out.change) notify(*out.change, key, stored.version);
  return out;
}

std::size_t TableStore::set_owner_purged(const std::string& owner, bool purged, StoreTime now) {
  if (!purged) {
    purged_owners_.erase(owner);
    return 0;
  }
  purged_owners_.insert(owner);
  std::size_t removed = 0;
  auto owned = by_owner_.find(owner);
  if (owned == by_owner_.end()) return 0;
  for (const TableKey& key : owned->second) {
    StoredEntry& e = lookup(key)->second;
    if (!e.live()) continue;
    e.purged = true;
    e.dead_since = now;
    --live_count_;
    dead_queue_.emplace(now, key);
    ++removed;
    notify(ChangeKind::kDelete, key, e.version);
  }
  return removed;
}

bool TableStore::purge(const TableKey& key, StoreTime now) {
  auto it = lookup(key);
  if (it == entries_.end() || !it->second.live()) return false;
  it->second.purged = true;
  it->second.dead_since = now;
  --live_count_;
  dead_queue_.emplace(now, key);
  notify(ChangeKind::kDelete, key, it->second.version);
  return true;
}

std::size_t TableStore::reap(StoreTime now, StoreTime ttl) {
  std::size_t removed = 0;
  while (!dead_queue_.empty() && dead_queue_.begin()->first + ttl <= now) {
    auto node = dead_queue_.extract(dead_queue_.begin());
    auto it = lookup(node.mapped());
    // Skip stale queue items: the entry came back to life or died again later.
    if (it == entries_.end() || it->second.live() || it->second.dead_since != node.key()) continue;
    account(it->first, &it->second, nullptr);
    index_owner(it->first, it->second.version.owner, "");
    erase(it);
    ++removed;
  }
  return removed;
}

std::size_t TableStore::drop_network(const std::string& network) {
  std::size_t dropped = 0;
  auto it = entries_.lower_bound(TableKey{network, "", ""});
  while (it != entries_.end() && it->first.network == network) {
    if (it->second.live()) notify(ChangeKind::kDelete, it->first, it->second.version);
    account(it->first, &it->second, nullptr);
    index_owner(it->first, it->second.version.owner, "");
    it = erase(it);
    ++dropped;
  }
  return dropped;
}

const StoredEntry* TableStore::find(const TableKey& key) const {
  auto it = index_.find(ref(key));
  return it == index_.end() ? nullptr : &it->second->second;
}

const StoredEntry* TableStore::find(std::string_view network, std::string_view table, std::string_view key) const {
  auto it = index_.find(KeyRef{network, table, key});
  return it == index_.end() ? nullptr : &it->second->second;
}

std::optional<std::string> TableStore::get(const TableKey& key) const {
  const StoredEntry* e = find(key);
  if (e == nullptr || !e->live()) return std::nullopt;
  return e->version.value;
}

void TableStore::for_each(const std::function<void(const TableKey&, const StoredEntry&)>& fn) const {
  for (const auto& [key, entry] : entries_) fn(key, entry);
}

void TableStore::for_each_in(const std::string& network,
                             const std::function<void(const TableKey&, const StoredEntry&)>& fn) const {
  for (auto it = entries_.lower_bound(TableKey{network, "", ""}); it != entries_.end() && it->first.network == network;
       ++it) {
    fn(it->first, it->second);
  }
}

std::vector<TableKey> TableStore::keys_owned_by(const std::string& owner) const {
  auto it = by_owner_.find(owner);
  if (it == by_owner_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

std::uint64_t TableStore::network_digest(const std::string& network) const {
  auto it = network_digests_.find(network);
  return it == network_digests_.end() ? 0 : it->second.first;
}

std::vector<std::string> TableStore::networks() const {
  std::vector<std::string> out;
  out.reserve(network_digests_.size());
  for (const auto& [name, _] : network_digests_) out.push_back(name);
  return out;
}

TableStore::SubscriptionId TableStore::subscribe(TableFilter filter, Callback callback) {
  // Snapshot first, then register: the store is single-threaded, so nothing
  // can slip between the two.
  for (const auto& [key, entry] : entries_) {
    if (entry.live() && filter.matches(key)) callback(Change{ChangeKind::kCreate, key, entry.version});
  }
  const SubscriptionId id = next_subscription_++;
  subscribers_.emplace(id, Subscriber{std::move(filter), std::move(callback)});
  return id;
}

void TableStore::unsubscribe(SubscriptionId id) { subscribers_.erase(id); }

void TableStore::notify(ChangeKind kind, const TableKey& key, const Version& version) {
  if (subscribers_.empty()) return;
  const Change change{kind, key, version};
  // Copy ids first: a callback may unsubscribe itself.
  std::vector<SubscriptionId> ids;
  ids.reserve(subscribers_.size());
  for (const auto& [id, sub] : subscribers_) {
    if (sub.filter.matches(key)) ids.push_back(id);
  }
  for (SubscriptionId id : ids) {
    auto it = subscribers_.find(id);
    if (it != subscribers_.end()) it->second.callback(change);
  }
}

}  // namespace ferry::gossip
