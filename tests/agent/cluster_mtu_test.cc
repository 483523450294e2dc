// ClusterMtu (control/agent/cluster_mtu.h): hosts publish their endpoint MTU
// in gossip; a network's new endpoints get the smallest among its hosts.
#include "control/agent/cluster_mtu.h"

#include <gtest/gtest.h>

#include "control/gossip/node.h"
#include "control/gossip/tables.pb.h"

namespace ferry::agent {
namespace {

class NullTransport final : public gossip::Transport {
 public:
  [[nodiscard]] gossip::Address local_address() const override { return gossip::Address{0x0a000001, 7946}; }
  void send_packet(const gossip::Address& /*to*/, std::string /*data*/) override {}
  void request(const gossip::Address& /*to*/, uint64_t /*id*/, std::string /*data*/) override {}
};

struct Host {
  gossip::ManualClock clock;
  NullTransport transport;
  gossip::Node node{gossip::Config::lan(), "self", clock, transport, 1};
  gossip::TableDb db{gossip::TablesConfig{}, node, clock, 2};
  ClusterMtu mtu{db, "self"};
  gossip::Lamport t = 100;

  Host() {
    node.start();
    EXPECT_TRUE(db.join_network("blue"));
  }
  // A peer's entry as gossip delivers it.
  void deliver(const std::string& table, const std::string& key, const std::string& owner, const std::string& value) {
    gossip::v1::TablesMessage msg;
    auto* e = msg.mutable_events()->add_entries();
    e->set_network("");
    e->set_table(table);
    e->set_key(key);
    e->set_owner(owner);
    e->set_lamport(++t);
    e->set_value(value);
    const std::string bytes = msg.SerializeAsString();
    db.notify_user_msg(owner, gossip::as_bytes(bytes));
  }
  void peer_mtu(const std::string& peer, const std::string& value) { deliver(kMtuTable, peer, peer, value); }
  void peer_joins(const std::string& peer, const std::string& network) {
    gossip::v1::NetworkAttachment att;
    att.set_node(peer);
    att.set_network(network);
    deliver(gossip::TableDb::kAttachTable, peer + '\x1f' + network, peer, att.SerializeAsString());
  }
};

TEST(ClusterMtu, PublishedValuesAreParsedStrictly) {
  EXPECT_EQ(parse_published_mtu("1450"), 1450u);
  EXPECT_EQ(parse_published_mtu("1280"), 1280u);
  EXPECT_EQ(parse_published_mtu("9166"), 9166u);
  for (const char* bad : {"", "1279", "9167", "14 50", "1450x", "-1450", "0x5aa", "99999999999999999999"}) {
    EXPECT_FALSE(parse_published_mtu(bad)) << bad;
  }
}

TEST(ClusterMtu, PublishesItsOwnOnlyOnceKnownAndWhenChanged) {
  Host h;
  ASSERT_TRUE(h.mtu.publish(0));
  EXPECT_FALSE(h.db.get("", kMtuTable, "self")) << "nothing before the data plane answered";
  ASSERT_TRUE(h.mtu.publish(1450));
  EXPECT_EQ(h.db.get("", kMtuTable, "self"), "1450");
  const auto lamport = h.db.store().find("", kMtuTable, "self")->version.lamport;
  ASSERT_TRUE(h.mtu.publish(1450));
  EXPECT_EQ(h.db.store().find("", kMtuTable, "self")->version.lamport, lamport) << "unchanged: not written again";
  ASSERT_TRUE(h.mtu.publish(8950));
  EXPECT_EQ(h.db.get("", kMtuTable, "self"), "8950");
}

TEST(ClusterMtu, ANetworkGetsTheSmallestOfItsHosts) {
  Host h;
  ASSERT_TRUE(h.mtu.publish(8950));
  EXPECT_EQ(h.mtu.for_network("blue", 8950), 8950u) << "alone";
  h.peer_mtu("jumbo", "8950");
  h.peer_mtu("small", "1450");
  h.peer_joins("jumbo", "blue");
  EXPECT_EQ(h.mtu.for_network("blue", 8950), 8950u) << "the small host is not in blue";
  h.peer_joins("small", "blue");
  EXPECT_EQ(h.mtu.for_network("blue", 8950), 1450u);
  EXPECT_EQ(h.mtu.for_network("red", 8950), 8950u) << "another network";
  EXPECT_EQ(h.mtu.for_network("blue", 1400), 1400u) << "this host's own is smaller still";
  const auto hosts = h.mtu.hosts();
  EXPECT_EQ(hosts.size(), 3u);
  EXPECT_EQ(hosts.at("small"), 1450u);
}

TEST(ClusterMtu, GarbageFromAPeerIsIgnored) {
  Host h;
  h.peer_mtu("odd", "12");
  h.peer_mtu("worse", "not a number");
  h.peer_joins("odd", "blue");
  h.peer_joins("worse", "blue");
  EXPECT_EQ(h.mtu.for_network("blue", 1450), 1450u);
  EXPECT_TRUE(h.mtu.hosts().empty());
}

}  // namespace
}  // namespace ferry::agent
