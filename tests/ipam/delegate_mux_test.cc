// DelegateMux: the replicated tables and the IPAM share each simulated Node;
// table entries replicate, allocations take donations, push-pull carries
// both states, and neither layer sees the other's messages as malformed.
#include "control/ipam/delegate_mux.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "control/gossip/node.h"
#include "control/gossip/sim_cluster.h"
#include "control/gossip/table_db.h"

namespace ferry::ipam {
namespace {

using namespace std::chrono_literals;
using gossip::SimCluster;

struct Host {
  std::unique_ptr<gossip::TableDb> tables;
  std::unique_ptr<Allocator> ipam;
  std::unique_ptr<DelegateMux> mux;
};

TEST(DelegateMux, TablesAndIpamShareOneNode) {
  SimCluster sim(gossip::Config::lan(), gossip::SimNetConfig{.loss = 0.01}, 21);
  std::vector<Host> hosts(3);
  sim.set_node_hook([&](std::size_t i, gossip::Node& node) {
    hosts[i].tables = std::make_unique<gossip::TableDb>(gossip::TablesConfig{}, node, sim.clock(), 100 + i);
    hosts[i].ipam = std::make_unique<Allocator>(Config{}, node, sim.clock(), 200 + i);
    hosts[i].mux = std::make_unique<DelegateMux>(*hosts[i].tables, *hosts[i].ipam);
    node.set_delegate(hosts[i].mux.get());
  });
  sim.add_nodes(3);
  sim.join_all(0, 1s);
  ASSERT_TRUE(sim.run_until([&] { return sim.converged(); }, 30s));
  for (auto& h : hosts) ASSERT_TRUE(h.ipam->ensure_pool("net", 0x0a000000, 24, SimCluster::name_of(0)));

  ASSERT_TRUE(hosts[0].tables->put("", "t", "k", "v"));
  sim.reschedule(0);
  std::vector<std::optional<Result<Addr>>> got(3);
  for (std::size_t i = 0; i < 3; ++i) {
    hosts[i].ipam->allocate("net", "e", std::nullopt, [&got, i](Result<Addr> r) { got[i] = std::move(r); });
    sim.reschedule(i);
  }
  ASSERT_TRUE(
      sim.run_until([&] { return got[0] && got[1] && got[2] && hosts[2].tables->get("", "t", "k").has_value(); }, 30s));
  std::set<Addr> distinct;
  for (const auto& r : got) {
    ASSERT_TRUE(*r) << r->error().message;
    distinct.insert(**r);
  }
  EXPECT_EQ(distinct.size(), 3U);
  EXPECT_GE(hosts[1].ipam->counter(Counter::donations_received), 1U);

  // Past the first push-pull of every node (30-60 s) and a few IPAM syncs.
  sim.run_for(70s);
  for (const auto& h : hosts) {
    EXPECT_EQ(h.ipam->counter(Counter::malformed), 0U);
    EXPECT_EQ(h.tables->counter(gossip::TablesCounter::malformed), 0U);
    EXPECT_TRUE(*h.ipam->map("net") == *hosts[0].ipam->map("net"));
  }
  for (std::size_t i = 0; i < 3; ++i) sim.node(i).set_delegate(nullptr);
}

TEST(DelegateMux, StateWithoutMarkerGoesToTablesAndTruncatedStateIsDropped) {
  SimCluster sim(gossip::Config::lan(), {}, 22);
  sim.add_nodes(1);
  gossip::TableDb tables(gossip::TablesConfig{}, sim.node(0), sim.clock(), 1);
  Allocator ipam(Config{}, sim.node(0), sim.clock(), 2);
  DelegateMux mux(tables, ipam);
  sim.node(0).set_delegate(&mux);
  const std::string state = mux.local_state(false);
  ASSERT_TRUE(state.starts_with(DelegateMux::kStateMarker));
  mux.merge_remote_state(gossip::as_bytes(state), false);
  std::string truncated = state.substr(0, 4);
  mux.merge_remote_state(gossip::as_bytes(truncated), false);
  std::string bad_len = state;
  bad_len[2] = '\x7f';  // claims a longer tables state than there is
  mux.merge_remote_state(gossip::as_bytes(bad_len), false);
  EXPECT_EQ(ipam.counter(Counter::malformed), 0U);
  // An IPAM-prefixed user message that does not decode is the IPAM's to count.
  const std::string junk = std::string(DelegateMux::kIpamPrefix) + "\xff\xff";
  mux.notify_user_msg("node-9", gossip::as_bytes(junk));
  EXPECT_EQ(ipam.counter(Counter::malformed), 1U);
  sim.node(0).set_delegate(nullptr);
}

}  // namespace
}  // namespace ferry::ipam
