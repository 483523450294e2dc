#include "control/gossip/table_db.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "control/gossip/node.h"
#include "control/gossip/tables.pb.h"
#include "control/gossip/timing.h"

namespace ferry::gossip {

namespace {

const char* const kTablesCounterNames[] = {
#define FERRY_X(name, help) #name,
    FERRY_TABLES_COUNTERS(FERRY_X)
#undef FERRY_X
};
const char* const kTablesCounterHelp[] = {
#define FERRY_X(name, help) help,
    FERRY_TABLES_COUNTERS(FERRY_X)
#undef FERRY_X
};

constexpr char kAttachSep = '\x1f';  // node <US> network: neither may contain it

std::string attach_key(const std::string& node, const std::string& network) { return node + kAttachSep + network; }

void to_proto(const TableKey& key, const Version& v, bool purged, v1::EntryVersion& out) {
  out.set_network(key.network);
  out.set_table(key.table);
  out.set_key(key.key);
  if (!v.deleted) out.set_value(v.value);
  out.set_owner(v.owner);
  out.set_lamport(v.lamport);
  out.set_deleted(v.deleted);
  out.set_purged(purged);
}

std::string encode_event(const TableKey& key, const Version& v) {
  v1::TablesMessage msg;
  to_proto(key, v, false, *msg.mutable_events()->add_entries());
  return msg.SerializeAsString();
}

bool parse(v1::TablesMessage& msg, Bytes data) {
  return msg.ParseFromArray(data.data(), static_cast<int>(data.size()));
}

}  // namespace

const char* tables_counter_name(TablesCounter c) { return kTablesCounterNames[static_cast<std::size_t>(c)]; }
const char* tables_counter_help(TablesCounter c) { return kTablesCounterHelp[static_cast<std::size_t>(c)]; }

Result<void> TablesConfig::validate() const {
  if (owner_grace.count() < 0) return make_error("tables owner_grace must be >= 0 ms");
  if (keep_recheck.count() <= 0) return make_error("tables keep_recheck must be > 0 ms");
  if (tombstone_ttl <= owner_grace) {
    return make_error("tables tombstone_ttl ({} ms) must exceed owner_grace ({} ms)", tombstone_ttl.count(),
                      owner_grace.count());
  }
  if (reap_interval.count() <= 0 || reap_interval > tombstone_ttl) {
    return make_error("tables reap_interval must be in (0, tombstone_ttl]");
  }
  if (network_sync_interval.count() < 0) return make_error("tables network_sync_interval must be >= 0 ms");
  if (network_gossip_nodes == 0) return make_error("tables network_gossip_nodes must be >= 1");
  if (max_value_size == 0 || max_value_size > 60'000) return make_error("tables max_value_size must be in [1, 60000]");
  if (max_name_size == 0 || max_name_size > 1024) return make_error("tables max_name_size must be in [1, 1024]");
  return ok();
}

TableDb::TableDb(TablesConfig config, Node& node, Clock& clock, std::uint64_t seed)
    : config_(config), node_(node), clock_(clock), rng_(seed), self_(node.name()) {
  const TimePoint now = clock_.now();
  next_reap_ = now + config_.reap_interval;
  // Spread the periodic syncs of different nodes over the interval.
  next_sync_ = config_.network_sync_interval.count() > 0
                   ? now + Duration(static_cast<Duration::rep>(
                               rng_.below(static_cast<std::uint64_t>(
                                   std::chrono::duration_cast<Duration>(config_.network_sync_interval).count())) +
                               1))
                   : kNever;
  store_.subscribe(TableFilter::of("", kAttachTable), [this](const Change& c) { on_attach_change(c); });
  node_.set_delegate(this);
}

TableDb::~TableDb() = default;

Result<void> TableDb::check_names(const std::string& network, const std::string& table, const std::string& key) const {
  if (table.empty() || key.empty()) return make_error("table and key must not be empty");
  for (const std::string* s : {&network, &table, &key}) {
    if (s->size() > config_.max_name_size) {
      return make_error("name '{:.32}...' is longer than {} bytes", *s, config_.max_name_size);
    }
  }
  return ok();
}

Result<void> TableDb::put(const std::string& network, const std::string& table, const std::string& key,
                          std::string value) {
  if (auto r = check_names(network, table, key); !r) return r;
  if (table == kAttachTable) return make_error("table {} is reserved", table);
  if (value.size() > config_.max_value_size) {
    return make_error("value of {} bytes exceeds max_value_size {}", value.size(), config_.max_value_size);
  }
  if (!network.empty() && !in_network(network)) return make_error("not in network '{}': join it first", network);
  write(TableKey{network, table, key}, Version{lamport_.tick(), self_, false, std::move(value)});
  count(TablesCounter::writes);
  return ok();
}

Result<void> TableDb::remove(const std::string& network, const std::string& table, const std::string& key) {
  if (auto r = check_names(network, table, key); !r) return r;
  if (table == kAttachTable) return make_error("table {} is reserved", table);
  if (!network.empty() && !in_network(network)) return make_error("not in network '{}'", network);
  const TableKey k{network, table, key};
  const StoredEntry* e = store_.find(k);
  if (e == nullptr || e->version.deleted) return ok();  // nothing to delete
  write(k, Version{lamport_.tick(), self_, true, {}});
  count(TablesCounter::writes);
  return ok();
}

Result<void> TableDb::join_network(const std::string& network) {
  if (network.empty()) return make_error("network name must not be empty");
  if (network.size() > config_.max_name_size || network.find(kAttachSep) != std::string::npos) {
    return make_error("invalid network name");
  }
  if (my_networks_.contains(network)) return ok();
  my_networks_.insert(network);
  v1::NetworkAttachment att;
  att.set_node(self_);
  att.set_network(network);
  write(TableKey{"", kAttachTable, attach_key(self_, network)},
        Version{lamport_.tick(), self_, false, att.SerializeAsString()});
  sync_now(network);
  return ok();
}

std::size_t TableDb::syncs_in_flight() const {
  std::size_t n = 0;
  for (const auto& [id, pending] : requests_) {
    if (pending.kind == RequestKind::kSync) ++n;
  }
  return n;
}

Result<void> TableDb::leave_network(const std::string& network) {
  if (!my_networks_.contains(network)) return ok();
  // Tombstone what this node owns there (they still reach the members), then
  // forget the network.
  for (const TableKey& key : store_.keys_owned_by(self_)) {
    if (key.network != network) continue;
    const StoredEntry* e = store_.find(key);
    if (e != nullptr && !e->version.deleted) write(key, Version{lamport_.tick(), self_, true, {}});
  }
  my_networks_.erase(network);
  write(TableKey{"", kAttachTable, attach_key(self_, network)}, Version{lamport_.tick(), self_, true, {}});
  store_.drop_network(network);
  return ok();
}

std::optional<std::string> TableDb::get(const std::string& network, const std::string& table,
                                        const std::string& key) const {
  return store_.get(TableKey{network, table, key});
}

bool TableDb::in_network(const std::string& network) const { return network.empty() || my_networks_.contains(network); }

std::vector<std::string> TableDb::networks() const { return {my_networks_.begin(), my_networks_.end()}; }

std::vector<std::string> TableDb::network_members(const std::string& network) const {
  auto it = members_by_network_.find(network);
  if (it == members_by_network_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

TableStore::SubscriptionId TableDb::subscribe(TableFilter filter, TableStore::Callback callback) {
  return store_.subscribe(std::move(filter), std::move(callback));
}

void TableDb::write(const TableKey& key, const Version& version) {
  store_.apply(key, version, store_now());
  queue_broadcast(key, version);
}

void TableDb::queue_broadcast(const TableKey& key, const Version& version) {
  // Invalidation key: a newer version of the same entry replaces a queued one.
  std::string id = key.network + '\0' + key.table + '\0' + key.key;
  std::string data = encode_event(key, version);
  if (key.network.empty()) {
    global_queue_.queue(std::move(id), std::move(data));
    return;
  }
  network_queues_[key.network].queue(std::move(id), std::move(data));
  if (next_gossip_ == kNever) next_gossip_ = clock_.now() + node_.config().gossip_interval;
}

bool TableDb::receive(const v1::EntryVersion& e, bool from_gossip) {
  count(TablesCounter::events_rx);
  if (e.table().empty() || e.key().empty() || e.owner().empty() || e.lamport() == 0 ||
      e.network().size() > config_.max_name_size || e.table().size() > config_.max_name_size ||
      e.key().size() > config_.max_name_size || e.owner().size() > config_.max_name_size ||
      e.value().size() > config_.max_value_size || (e.deleted() && !e.value().empty())) {
    count(TablesCounter::malformed);
    return false;
  }
  if (!in_network(e.network())) {
    count(TablesCounter::events_foreign_network);
    return false;
  }
  lamport_.witness(e.lamport());
  // Fast path for the common case, a copy of an older version (gossip sends
  // each event several times): no copies, one hash lookup.
  if (const StoredEntry* seen = store_.find(e.network(), e.table(), e.key());
      seen != nullptr && (e.lamport() < seen->version.lamport ||
                          (e.lamport() == seen->version.lamport && e.owner() == seen->version.owner &&
                           e.deleted() == seen->version.deleted && e.value() == seen->version.value &&
                           !(e.purged() && e.owner() == self_)))) {
    count(TablesCounter::events_stale);
    return false;
  }
  const TableKey key{e.network(), e.table(), e.key()};
  const Version v{e.lamport(), e.owner(), e.deleted(), e.value()};
  const StoredEntry* stored = store_.find(key);

  if (v.owner == self_) {
    // This node is the authority on its own entries.
    const bool newer = stored == nullptr || v.supersedes(stored->version);
    const bool hold_own = stored != nullptr && stored->version.owner == self_;
    if (newer && (hold_own || !v.deleted)) {
      own_conflict(key, v.lamport);
      return false;
    }
    if (!newer && e.purged() && hold_own && stored->version == v && stored->live()) {
      own_conflict(key, v.lamport);  // purged elsewhere: make it live again
      return false;
    }
  }

  const ApplyOutcome out = store_.apply(key, v, store_now());
  if (!out.accepted) {
    count(TablesCounter::events_stale);
    return false;
  }
  count(TablesCounter::events_applied);
  if (from_gossip) queue_broadcast(key, v);  // spread what was news to us
  if (!v.deleted && v.owner != self_ && !member_alive(v.owner) && !store_.owner_purged(v.owner) &&
      !pending_purges_.contains(v.owner)) {
    // Owner unknown or dead here: purge its entries unless it shows up in time.
    pending_purges_[v.owner] = clock_.now() + config_.owner_grace;
  }
  return true;
}

void TableDb::own_conflict(const TableKey& key, Lamport seen) {
  lamport_.witness(seen);
  const StoredEntry* stored = store_.find(key);
  if (stored != nullptr && stored->version.owner == self_) {
    Version again = stored->version;
    again.lamport = lamport_.tick();
    write(key, again);
    count(TablesCounter::reasserted);
  } else {
    write(key, Version{lamport_.tick(), self_, true, {}});
    count(TablesCounter::stale_own_deleted);
  }
}

void TableDb::on_attach_change(const Change& change) {
  const std::string& k = change.key.key;
  const std::size_t sep = k.find(kAttachSep);
  if (sep == std::string::npos) return;
  const std::string node = k.substr(0, sep);
  const std::string network = k.substr(sep + 1);
  if (change.kind == ChangeKind::kDelete) {
    auto it = members_by_network_.find(network);
    if (it != members_by_network_.end()) {
      it->second.erase(node);
      if (it->second.empty()) members_by_network_.erase(it);
    }
    // The node left that network (or is gone): its entries there go too.
    if (node != self_) {
      const StoreTime now = store_now();
      for (const TableKey& key : store_.keys_owned_by(node)) {
        if (key.network == network && store_.purge(key, now)) count(TablesCounter::entries_purged);
      }
    }
  } else {
    members_by_network_[network].insert(node);
  }
}

void TableDb::purge_owner(const std::string& owner) {
  count(TablesCounter::owners_purged);
  count(TablesCounter::entries_purged, store_.set_owner_purged(owner, true, store_now()));
}

void TableDb::send_purged_notice(const std::string& owner) {
  v1::TablesMessage msg;
  auto* notice = msg.mutable_purged();
  for (const TableKey& key : store_.keys_owned_by(owner)) {
    const StoredEntry* e = store_.find(key);
    if (e == nullptr || !e->purged) continue;
    to_proto(key, e->version, true, *notice->add_entries());
  }
  if (notice->entries_size() == 0) return;
  if (request(owner, RequestKind::kNotice, msg.SerializeAsString()) != 0) count(TablesCounter::purged_notices_sent);
}

bool TableDb::member_alive(const std::string& name) const {
  const auto s = node_.state_of(name);
  return s && (*s == MemberState::kAlive || *s == MemberState::kSuspect);
}

std::vector<std::string> TableDb::random_members(const std::string& network, std::size_t k) {
  scratch_.clear();
  if (network.empty()) {
    for (const MemberInfo& m : node_.members()) {
      if (m.name != self_ && (m.state == MemberState::kAlive || m.state == MemberState::kSuspect)) {
        scratch_.push_back(m.name);
      }
    }
  } else if (auto it = members_by_network_.find(network); it != members_by_network_.end()) {
    for (const std::string& name : it->second) {
      if (name != self_ && member_alive(name)) scratch_.push_back(name);
    }
  }
  // Partial Fisher-Yates: the first k are a uniform sample.
  const std::size_t n = std::min(k, scratch_.size());
  for (std::size_t i = 0; i < n; ++i) std::swap(scratch_[i], scratch_[i + rng_.below(scratch_.size() - i)]);
  scratch_.resize(n);
  return scratch_;
}

void TableDb::gossip_networks() {
  const std::size_t budget =
      node_.config().max_packet_size > 96 + self_.size() ? node_.config().max_packet_size - 96 - self_.size() : 0;
  for (auto it = network_queues_.begin(); it != network_queues_.end();) {
    BroadcastQueue& queue = it->second;
    if (queue.empty()) {
      it = network_queues_.erase(it);
      continue;
    }
    const auto members = members_by_network_.find(it->first);
    const std::size_t n = members == members_by_network_.end() ? 1 : members->second.size();
    const std::uint32_t limit = retransmit_limit(node_.config().retransmit_mult, n);
    const std::vector<std::string> targets = random_members(it->first, config_.network_gossip_nodes);
    if (targets.empty()) {
      queue.clear();  // nobody to tell: they sync when they join the network
    }
    for (const std::string& target : targets) {
      const auto m = node_.member(target);
      if (!m) continue;
      std::string payload;
      // Concatenated TablesMessage{events} values parse as one merged message.
      queue.get_each(0, budget, limit, [&payload](const std::string& item) { payload += item; });
      if (payload.empty()) break;
      if (node_.send_user(m->address, payload)) count(TablesCounter::gossip_sent);
    }
    ++it;
  }
}

void TableDb::sync_now(const std::string& network) {
  for (const std::string& peer : random_members(network, 1)) start_sync(peer, {network});
}

void TableDb::start_sync(const std::string& peer, const std::vector<std::string>& networks) {
  v1::TablesMessage msg;
  auto* req = msg.mutable_sync_request();
  req->set_node(self_);
  for (const std::string& net : networks) {
    auto* d = req->add_digests();
    d->set_network(net);
    d->set_digest(store_.network_digest(net));
  }
  if (request(peer, RequestKind::kSync, msg.SerializeAsString()) != 0) count(TablesCounter::sync_started);
}

std::uint64_t TableDb::request(const std::string& peer, RequestKind kind, std::string payload) {
  const auto m = node_.member(peer);
  if (!m) return 0;
  const std::uint64_t id = node_.user_request(m->address, std::move(payload));
  requests_[id] = PendingRequest{kind, peer};
  return id;
}

std::string TableDb::serve_sync(const v1::TablesMessage& msg) {
  count(TablesCounter::sync_served);
  v1::TablesMessage reply;
  auto* resp = reply.mutable_sync_response();
  for (const auto& d : msg.sync_request().digests()) {
    if (!in_network(d.network())) continue;
    if (store_.network_digest(d.network()) == d.digest()) continue;
    resp->add_mismatched(d.network());
    store_.for_each_in(d.network(), [&](const TableKey& key, const StoredEntry& e) {
      to_proto(key, e.version, e.purged, *resp->add_entries());
    });
  }
  return reply.SerializeAsString();
}

// --- Delegate ---------------------------------------------------------------

void TableDb::get_broadcasts(size_t overhead_per_item, size_t byte_budget, std::vector<std::string>& out) {
  if (global_queue_.empty()) return;
  global_queue_.get(overhead_per_item, byte_budget, node_.retransmit_limit(), out);
}

void TableDb::notify_user_msg(std::string_view from_name, Bytes payload) {
  (void)from_name;
  v1::TablesMessage msg;
  if (!parse(msg, payload) || msg.body_case() != v1::TablesMessage::kEvents) {
    count(TablesCounter::malformed);
    return;
  }
  for (const auto& e : msg.events().entries()) receive(e, true);
}

std::string TableDb::local_state(bool join) {
  (void)join;
  v1::TablesState state;
  state.set_node(self_);
  auto add = [&](const std::string& net) {
    auto* d = state.add_digests();
    d->set_network(net);
    d->set_digest(store_.network_digest(net));
  };
  add("");
  for (const std::string& net : my_networks_) add(net);
  return state.SerializeAsString();
}

void TableDb::merge_remote_state(Bytes data, bool join) {
  v1::TablesState state;
  if (!state.ParseFromArray(data.data(), static_cast<int>(data.size())) || state.node().empty()) {
    if (!data.empty()) count(TablesCounter::malformed);
    return;
  }
  if (state.node() == self_) return;
  // Both sides see both states; one exchange repairs both, so only the
  // smaller name starts it (on join both do: the joiner needs it now).
  if (!join && self_ > state.node()) return;
  std::vector<std::string> differing;
  for (const auto& d : state.digests()) {
    if (in_network(d.network()) && store_.network_digest(d.network()) != d.digest()) {
      differing.push_back(d.network());
    }
  }
  if (!differing.empty()) start_sync(state.node(), differing);
}

std::string TableDb::handle_user_request(std::string_view from_name, Bytes request) {
  (void)from_name;
  v1::TablesMessage msg;
  if (!parse(msg, request)) {
    count(TablesCounter::malformed);
    return {};
  }
  v1::TablesMessage ack;
  ack.set_ack(true);
  switch (msg.body_case()) {
    case v1::TablesMessage::kSyncRequest:
      return serve_sync(msg);
    case v1::TablesMessage::kSyncPush:
      for (const auto& e : msg.sync_push().entries()) receive(e, false);
      return ack.SerializeAsString();
    case v1::TablesMessage::kPurged:
      for (const auto& e : msg.purged().entries()) {
        if (e.owner() != self_ || !in_network(e.network()) || e.lamport() == 0) continue;
        const TableKey key{e.network(), e.table(), e.key()};
        const Version v{e.lamport(), e.owner(), e.deleted(), e.value()};
        const StoredEntry* stored = store_.find(key);
        if (stored != nullptr && stored->version.supersedes(v)) continue;  // newer already spreading
        own_conflict(key, v.lamport);
      }
      return ack.SerializeAsString();
    default:
      count(TablesCounter::malformed);
      return {};
  }
}

void TableDb::notify_user_response(uint64_t request_id, const Result<std::string>& response) {
  auto it = requests_.find(request_id);
  if (it == requests_.end()) return;
  const PendingRequest pending = it->second;
  requests_.erase(it);
  if (!response) {
    if (pending.kind == RequestKind::kSync) count(TablesCounter::sync_failed);
    return;
  }
  if (pending.kind != RequestKind::kSync) return;
  v1::TablesMessage msg;
  if (!msg.ParseFromString(*response) || msg.body_case() != v1::TablesMessage::kSyncResponse) {
    count(TablesCounter::malformed);
    return;
  }
  const auto& resp = msg.sync_response();
  std::map<TableKey, Version> theirs;
  for (const auto& e : resp.entries()) {
    receive(e, false);
    theirs.emplace(TableKey{e.network(), e.table(), e.key()}, Version{e.lamport(), e.owner(), e.deleted(), e.value()});
  }
  // Send back what the peer lacks or holds older, for the networks that differed.
  v1::TablesMessage push;
  auto* entries = push.mutable_sync_push();
  for (const std::string& net : resp.mismatched()) {
    if (!in_network(net)) continue;
    count(TablesCounter::sync_networks_repaired);
    store_.for_each_in(net, [&](const TableKey& key, const StoredEntry& e) {
      auto t = theirs.find(key);
      if (t == theirs.end() || e.version.supersedes(t->second)) {
        to_proto(key, e.version, e.purged, *entries->add_entries());
      }
    });
  }
  if (entries->entries_size() > 0) request(pending.peer, RequestKind::kPush, push.SerializeAsString());
}

void TableDb::notify_join(const MemberInfo& info) {
  if (info.name == self_) return;
  if (kept_.erase(info.name) > 0) {
    spdlog::info("owner {} is back: its entries were kept while it was away", info.name);
    kept_since_.erase(info.name);
  }
  if (pending_purges_.erase(info.name) > 0) count(TablesCounter::purge_cancelled);
  if (store_.owner_purged(info.name)) {
    store_.set_owner_purged(info.name, false, store_now());
    send_purged_notice(info.name);
  }
}

void TableDb::notify_update(const MemberInfo& info) {
  // A restart faster than failure detection (new boot_id) needs nothing here:
  // the restarted node tombstones its stale entries when it syncs.
  (void)info;
}

void TableDb::notify_leave(const MemberInfo& info) {
  if (info.name == self_ || store_.owner_purged(info.name)) return;
  pending_purges_.try_emplace(info.name, clock_.now() + config_.owner_grace);
}

TimePoint TableDb::next_deadline() const {
  TimePoint t = std::min({next_gossip_, next_reap_, next_sync_});
  for (const auto& [owner, when] : pending_purges_) t = std::min(t, when);
  return t;
}

void TableDb::tick(TimePoint now) {
  if (now >= next_gossip_) {
    gossip_networks();
    next_gossip_ = network_queues_.empty() ? kNever : now + node_.config().gossip_interval;
  }
  for (auto it = pending_purges_.begin(); it != pending_purges_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    const std::string& owner = it->first;
    if (member_alive(owner)) {
      count(TablesCounter::purge_cancelled);
    } else if (keep_owner_ && keep_owner_(owner)) {
      if (kept_.insert(owner).second) {
        count(TablesCounter::owners_kept);
        kept_since_[owner] = now;
        spdlog::info("owner {} is dead but its data plane answers: its {} entries are kept", owner,
                     store_.keys_owned_by(owner).size());
      }
      it->second = now + config_.keep_recheck;
      ++it;
      continue;
    } else {
      if (kept_.erase(owner) > 0) {
        const auto kept_for = std::chrono::duration_cast<std::chrono::milliseconds>(now - kept_since_[owner]);
        kept_since_.erase(owner);
        spdlog::info("owner {}: its entries are purged now, after being kept {:.1f} s", owner,
                     static_cast<double>(kept_for.count()) / 1000.0);
      }
      purge_owner(owner);
    }
    it = pending_purges_.erase(it);
  }
  if (now >= next_reap_) {
    count(TablesCounter::tombstones_reaped,
          store_.reap(store_now(), std::chrono::duration_cast<StoreTime>(config_.tombstone_ttl)));
    next_reap_ = now + config_.reap_interval;
  }
  if (now >= next_sync_) {
    sync_now("");
    for (const std::string& net : my_networks_) sync_now(net);
    next_sync_ = now + config_.network_sync_interval;
  }
}

}  // namespace ferry::gossip
