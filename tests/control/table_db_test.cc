// TableDb's message handlers on one node: garbage and invalid messages change
// nothing, foreign networks are ignored, a node defends its own entries, the
// owner purge respects the grace period. The endpoint record helpers too.
#include "control/gossip/table_db.h"

#include <gtest/gtest.h>

#include <random>

#include "control/gossip/endpoint_table.h"
#include "control/gossip/node.h"
#include "control/gossip/tables.pb.h"

namespace ferry::gossip {
namespace {

using namespace std::chrono_literals;

class RecordingTransport final : public Transport {
 public:
  [[nodiscard]] Address local_address() const override { return Address{0x0a000001, 7946}; }
  void send_packet(const Address& to, std::string data) override { packets.emplace_back(to, std::move(data)); }
  void request(const Address& to, uint64_t id, std::string data) override {
    requests.push_back({to, id, std::move(data)});
  }
  struct Req {
    Address to;
    uint64_t id;
    std::string data;
  };
  std::vector<std::pair<Address, std::string>> packets;
  std::vector<Req> requests;
};

struct One {
  ManualClock clock;
  RecordingTransport transport;
  Node node{Config::lan(), "self", clock, transport, 1};
  TableDb db{TablesConfig{}, node, clock, 2};
  One() {
    node.start();
    EXPECT_TRUE(db.join_network("net1"));
  }
  void deliver(const v1::TablesMessage& msg) {
    const std::string bytes = msg.SerializeAsString();
    db.notify_user_msg("peer", as_bytes(bytes));
  }
  std::uint64_t digest() const { return db.store().network_digest("net1") ^ db.store().network_digest(""); }
};

v1::TablesMessage event(const std::string& net, const std::string& key, const std::string& owner, Lamport t,
                        const std::string& value = "v", bool deleted = false) {
  v1::TablesMessage msg;
  auto* e = msg.mutable_events()->add_entries();
  e->set_network(net);
  e->set_table("ep");
  e->set_key(key);
  e->set_owner(owner);
  e->set_lamport(t);
  if (!deleted) e->set_value(value);
  e->set_deleted(deleted);
  return msg;
}

TEST(TableDb, ReceivesAndAdvancesLamport) {
  One n;
  n.deliver(event("net1", "k", "peer", 41));
  EXPECT_EQ(n.db.get("net1", "ep", "k"), "v");
  EXPECT_GE(n.db.lamport(), 41u);
  ASSERT_TRUE(n.db.put("net1", "ep", "mine", "x"));
  EXPECT_GT(n.db.store().find(TableKey{"net1", "ep", "mine"})->version.lamport, 41u);
  // Duplicate and older copies are stale.
  n.deliver(event("net1", "k", "peer", 41));
  n.deliver(event("net1", "k", "peer", 40, "old"));
  EXPECT_EQ(n.db.counter(TablesCounter::events_stale), 2u);
  EXPECT_EQ(n.db.get("net1", "ep", "k"), "v");
}

TEST(TableDb, GarbageAndInvalidMessagesChangeNothing) {
  One n;
  n.deliver(event("net1", "k", "peer", 5));
  const std::uint64_t before = n.digest();
  const Lamport lamport = n.db.lamport();
  std::mt19937_64 rng(3);
  for (int i = 0; i < 5000; ++i) {
    std::string junk(rng() % 64, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    n.db.notify_user_msg("peer", as_bytes(junk));
    (void)n.db.handle_user_request("peer", as_bytes(junk));
    n.db.merge_remote_state(as_bytes(junk), false);
  }
  // Well-formed protobuf, invalid content.
  n.deliver(event("net1", "", "peer", 9));                            // empty key
  n.deliver(event("net1", "k2", "", 9));                              // no owner
  n.deliver(event("net1", "k2", "peer", 0));                          // Lamport 0
  n.deliver(event("net1", std::string(4096, 'k'), "peer", 9));        // name too long
  n.deliver(event("net1", "k2", "peer", 9, std::string(5000, 'v')));  // value too big
  auto tomb_with_value = event("net1", "k", "peer", 99);
  tomb_with_value.mutable_events()->mutable_entries(0)->set_deleted(true);
  n.deliver(tomb_with_value);
  EXPECT_EQ(n.digest(), before);
  EXPECT_GT(n.db.counter(TablesCounter::malformed), 5u);
  EXPECT_EQ(n.db.lamport(), lamport);
  EXPECT_EQ(n.db.get("net1", "ep", "k"), "v");
}

TEST(TableDb, IgnoresNetworksItIsNotIn) {
  One n;
  n.deliver(event("other", "k", "peer", 5));
  EXPECT_FALSE(n.db.get("other", "ep", "k"));
  EXPECT_EQ(n.db.counter(TablesCounter::events_foreign_network), 1u);
  EXPECT_FALSE(n.db.put("other", "ep", "k", "v"));
  EXPECT_FALSE(n.db.put("", TableDb::kAttachTable, "k", "v"));  // reserved
}

TEST(TableDb, DefendsItsOwnEntries) {
  One n;
  ASSERT_TRUE(n.db.put("net1", "ep", "mine", "current"));
  // A copy "from a previous life" with a later Lamport time: reasserted.
  n.deliver(event("net1", "mine", "self", 500, "stale"));
  const StoredEntry* e = n.db.store().find(TableKey{"net1", "ep", "mine"});
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->version.value, "current");
  EXPECT_GT(e->version.lamport, 500u);
  EXPECT_EQ(n.db.counter(TablesCounter::reasserted), 1u);
  // An entry of ours we do not hold at all: tombstoned.
  n.deliver(event("net1", "ghost", "self", 700));
  const StoredEntry* g = n.db.store().find(TableKey{"net1", "ep", "ghost"});
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(g->version.deleted);
  EXPECT_GT(g->version.lamport, 700u);
  EXPECT_EQ(n.db.counter(TablesCounter::stale_own_deleted), 1u);
  // A purged notice for our live entry: reasserted again.
  v1::TablesMessage notice;
  auto* pe = notice.mutable_purged()->add_entries();
  pe->set_network("net1");
  pe->set_table("ep");
  pe->set_key("mine");
  pe->set_owner("self");
  pe->set_lamport(e->version.lamport);
  pe->set_value("current");
  pe->set_purged(true);
  const Lamport was = e->version.lamport;
  const std::string bytes = notice.SerializeAsString();
  EXPECT_FALSE(n.db.handle_user_request("peer", as_bytes(bytes)).empty());
  EXPECT_GT(n.db.store().find(TableKey{"net1", "ep", "mine"})->version.lamport, was);
}

TEST(TableDb, UnknownOwnersArePurgedAfterGrace) {
  One n;
  std::size_t deletes = 0;
  n.db.subscribe(TableFilter::of("net1", "ep"), [&](const Change& c) { deletes += c.kind == ChangeKind::kDelete; });
  n.deliver(event("net1", "k", "ghost-node", 5));
  EXPECT_TRUE(n.db.get("net1", "ep", "k"));
  n.clock.advance(n.db.config().owner_grace - 1ms);
  n.db.tick(n.clock.now());
  EXPECT_TRUE(n.db.get("net1", "ep", "k"));
  n.clock.advance(2ms);
  n.db.tick(n.clock.now());
  EXPECT_FALSE(n.db.get("net1", "ep", "k"));
  EXPECT_EQ(deletes, 1u);
  EXPECT_EQ(n.db.counter(TablesCounter::owners_purged), 1u);
  // The same version again stays hidden; tombstones go after the TTL.
  n.deliver(event("net1", "k", "ghost-node", 5));
  EXPECT_FALSE(n.db.get("net1", "ep", "k"));
  n.clock.advance(n.db.config().tombstone_ttl + n.db.config().reap_interval);
  n.db.tick(n.clock.now());
  EXPECT_EQ(n.db.store().find(TableKey{"net1", "ep", "k"}), nullptr);
}

TEST(TableDb, KeepOwnerHookDefersThePurgeUntilItSaysNo) {
  One n;
  bool keep = true;
  std::vector<std::string> asked;
  n.db.set_keep_owner([&](const std::string& owner) {
    asked.push_back(owner);
    return keep;
  });
  n.deliver(event("net1", "k", "ghost-node", 5));
  n.clock.advance(n.db.config().owner_grace + 1ms);
  n.db.tick(n.clock.now());
  // Due, but kept: asked once, still live, asked again every keep_recheck.
  ASSERT_EQ(asked, std::vector<std::string>{"ghost-node"});
  EXPECT_TRUE(n.db.get("net1", "ep", "k"));
  EXPECT_EQ(n.db.counter(TablesCounter::owners_kept), 1u);
  EXPECT_EQ(n.db.kept_owners().count("ghost-node"), 1u);
  n.clock.advance(n.db.config().keep_recheck - 1ms);
  n.db.tick(n.clock.now());
  EXPECT_EQ(asked.size(), 1u);
  for (int i = 0; i < 5; ++i) {
    n.clock.advance(n.db.config().keep_recheck);
    n.db.tick(n.clock.now());
  }
  EXPECT_EQ(asked.size(), 6u);
  EXPECT_TRUE(n.db.get("net1", "ep", "k"));
  EXPECT_EQ(n.db.counter(TablesCounter::owners_kept), 1u);  // once per death
  EXPECT_EQ(n.db.counter(TablesCounter::owners_purged), 0u);
  // The hook lets go: purged at the next recheck.
  keep = false;
  n.clock.advance(n.db.config().keep_recheck);
  n.db.tick(n.clock.now());
  EXPECT_FALSE(n.db.get("net1", "ep", "k"));
  EXPECT_EQ(n.db.counter(TablesCounter::owners_purged), 1u);
  EXPECT_TRUE(n.db.kept_owners().empty());
}

TEST(TableDb, SyncServesOnlyDifferingNetworks) {
  One n;
  n.deliver(event("net1", "k", "peer", 5));
  v1::TablesMessage req;
  auto* r = req.mutable_sync_request();
  r->set_node("peer");
  auto* same = r->add_digests();
  same->set_network("net1");
  same->set_digest(n.db.store().network_digest("net1"));
  auto* other = r->add_digests();
  other->set_network("notmine");
  other->set_digest(1);
  const std::string bytes = req.SerializeAsString();
  v1::TablesMessage resp;
  ASSERT_TRUE(resp.ParseFromString(n.db.handle_user_request("peer", as_bytes(bytes))));
  EXPECT_EQ(resp.sync_response().mismatched_size(), 0);
  same->set_digest(12345);
  const std::string bytes2 = req.SerializeAsString();
  ASSERT_TRUE(resp.ParseFromString(n.db.handle_user_request("peer", as_bytes(bytes2))));
  ASSERT_EQ(resp.sync_response().mismatched_size(), 1);
  EXPECT_EQ(resp.sync_response().entries_size(), 1);
}

TEST(TablesConfig, Validate) {
  EXPECT_TRUE(TablesConfig{}.validate());
  TablesConfig c;
  c.tombstone_ttl = c.owner_grace;
  EXPECT_FALSE(c.validate());
  c = {};
  c.network_gossip_nodes = 0;
  EXPECT_FALSE(c.validate());
  c = {};
  c.max_value_size = 0;
  EXPECT_FALSE(c.validate());
}

TEST(EndpointRecord, RoundTripAndValidation) {
  auto r = EndpointRecord::from_strings("net1", "ep1", "02:42:0a:00:00:02", "10.0.0.2/24", "fd00::2/64", "192.168.1.5",
                                        "host-a");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->mac_string(), "02:42:0a:00:00:02");
  EXPECT_EQ(r->ipv4_string(), "10.0.0.2/24");
  EXPECT_EQ(r->ipv6_string(), "fd00::2/64");
  EXPECT_EQ(r->vtep_string(), "192.168.1.5");
  auto back = EndpointRecord::decode(r->encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, *r);
  EXPECT_FALSE(EndpointRecord::from_strings("n", "e", "02:42:0a:00:00", "", "", "1.2.3.4", ""));
  for (const char* bad : {"02:42:0a:00:00:0g", "02-42:0a-00:00-02", "02:42:0a:00:00:02:", "2:42:0a:00:00:002",
                          "+2:42:0a:00:00:02", "02:42:0a:00:00:2 "}) {
    EXPECT_FALSE(EndpointRecord::from_strings("n", "e", bad, "", "", "1.2.3.4", "")) << bad;
  }
  auto upper = EndpointRecord::from_strings("n", "e", "02:42:0A:FF:00:02", "", "", "1.2.3.4", "");
  ASSERT_TRUE(upper) << upper.error().message;
  EXPECT_EQ(upper->mac_string(), "02:42:0a:ff:00:02");
  EXPECT_FALSE(EndpointRecord::from_strings("n", "e", "02:42:0a:00:00:02", "10.0.0.2/33", "", "1.2.3.4", ""));
  EXPECT_FALSE(EndpointRecord::from_strings("n", "e", "02:42:0a:00:00:02", "", "", "not-an-ip", ""));
  EXPECT_FALSE(EndpointRecord::decode("garbage\xff"));
  EXPECT_FALSE(EndpointRecord::decode(""));  // no endpoint id
}

TEST(EndpointTable, TypedPutGetListSubscribe) {
  One n;
  EndpointTable eps(n.db);
  std::vector<std::string> seen;
  eps.subscribe("net1", [&](ChangeKind k, const EndpointRecord& r) {
    seen.push_back(std::string(change_kind_name(k)) + ":" + r.endpoint_id);
  });
  auto r = EndpointRecord::from_strings("net1", "ep1", "02:00:00:00:00:01", "10.0.0.1/24", "", "192.168.0.1", "");
  ASSERT_TRUE(r);
  ASSERT_TRUE(eps.put(*r));
  auto got = eps.get("net1", "ep1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->owner, "self");
  EXPECT_EQ(eps.list("net1").size(), 1u);
  ASSERT_TRUE(eps.remove("net1", "ep1"));
  EXPECT_FALSE(eps.get("net1", "ep1"));
  EXPECT_EQ(seen, (std::vector<std::string>{"create:ep1", "delete:ep1"}));
}

}  // namespace
}  // namespace ferry::gossip
