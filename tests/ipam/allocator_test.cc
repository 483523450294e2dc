// Allocator on one host: allocation rules, persistence and its failures,
// restore, and every kind of bad input from the wire (dropped, counted, no
// state change). Multi-host behaviour is in sim_ipam_test.cc.
#include "control/ipam/allocator.h"

#include <gtest/gtest.h>

#include <functional>

#include "control/gossip/node.h"
#include "control/gossip/sim_cluster.h"
#include "control/ipam/ipam.pb.h"

namespace ferry::ipam {
namespace {

using gossip::SimCluster;

constexpr Addr kNet = 0x0a000000;  // 10.0.0.0/24

class AllocatorTest : public testing::Test {
 protected:
  AllocatorTest() : sim_(gossip::Config::lan(), {}, 11) {
    sim_.add_nodes(1);
    alloc_ = std::make_unique<Allocator>(Config{}, sim_.node(0), sim_.clock(), 1);
    sim_.node(0).set_delegate(alloc_.get());
    alloc_->set_persist([this](const std::string& s) -> Result<void> {
      if (fail_persist_) return make_error("disk full");
      disk_ = s;
      return ok();
    });
    EXPECT_TRUE(alloc_->ensure_pool("net", kNet, 24, self()));
  }
  ~AllocatorTest() override { sim_.node(0).set_delegate(nullptr); }

  std::string self() { return sim_.node(0).name(); }

  Result<Addr> alloc(const std::string& handle, std::optional<Addr> want = std::nullopt) {
    std::optional<Result<Addr>> out;
    alloc_->allocate("net", handle, want, [&](Result<Addr> r) { out = std::move(r); });
    EXPECT_TRUE(out.has_value()) << "allocation did not complete at once";
    return out ? *out : Result<Addr>(make_error("pending"));
  }

  static std::string update(
      const std::string& pool, Addr subnet, std::uint32_t len, std::uint32_t block_size, const std::string& genesis,
      const std::vector<std::tuple<std::uint32_t, std::uint32_t, std::string, std::uint64_t, bool>>& runs) {
    v1::IpamMessage msg;
    auto* pr = msg.mutable_update()->add_pools();
    auto* spec = pr->mutable_spec();
    spec->set_name(pool);
    spec->set_subnet(subnet);
    spec->set_prefix_len(len);
    spec->set_block_size(block_size);
    spec->set_genesis(genesis);
    for (const auto& [first, count, owner, version, reclaimed] : runs) {
      auto* r = pr->add_runs();
      r->set_first(first);
      r->set_count(count);
      r->set_owner(owner);
      r->set_version(version);
      r->set_reclaimed(reclaimed);
    }
    return msg.SerializeAsString();
  }
  void deliver(const std::string& payload) { alloc_->notify_user_msg("node-9", gossip::as_bytes(payload)); }

  SimCluster sim_;
  std::unique_ptr<Allocator> alloc_;
  std::string disk_;
  bool fail_persist_ = false;
};

TEST(IpamConfig, DefaultsAreValidAndBadValuesNamed) {
  EXPECT_TRUE(Config{}.validate());
  Config c;
  c.max_blocks = 1000;
  EXPECT_FALSE(c.validate());
  c = Config{};
  c.fence_after = c.reclaim_after;
  auto r = c.validate();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("fence_after"), std::string::npos);
  c = Config{};
  c.fence_after = std::chrono::milliseconds(0);
  EXPECT_FALSE(c.validate());
  c.reclaim_after = std::chrono::milliseconds(0);
  EXPECT_TRUE(c.validate());  // no reclaim, no fencing: safe
  c = Config{};
  c.donate_fraction = 0;
  EXPECT_FALSE(c.validate());
  c = Config{};
  c.max_wire_blocks = c.max_blocks / 2;
  EXPECT_FALSE(c.validate());
}

TEST_F(AllocatorTest, LowestFreeSkipsReservedAndReusesReleased) {
  EXPECT_EQ(*alloc("a"), kNet + 2);  // .0 network, .1 gateway
  EXPECT_EQ(*alloc("b"), kNet + 3);
  EXPECT_EQ(*alloc("a"), kNet + 2);  // same handle, same address
  ASSERT_TRUE(alloc_->release("net", kNet + 2));
  EXPECT_FALSE(alloc_->release("net", kNet + 2));
  EXPECT_EQ(*alloc("c"), kNet + 2);
  EXPECT_EQ(alloc_->free_addresses("net"), 253U - 2U);
  EXPECT_EQ(alloc_->owned_ranges("net"), (std::vector<AddressRange>{{kNet, kNet + 255}}));
}

// Docker's serial order (libnetwork's bitseq "serial"): a released address
// is not handed out again until the cursor wraps; the cursor is persisted,
// moved by first-free allocations too, and never by a wanted address.
TEST_F(AllocatorTest, SerialOrderSkipsReleasedAddressesUntilItWraps) {
  ASSERT_TRUE(alloc_->ensure_pool("small", "10.1.0.0/29", self()));  // .2 to .6
  constexpr Addr kSmall = 0x0a010000;
  auto take = [&](const std::string& handle, Order order, std::optional<Addr> want = std::nullopt) {
    std::optional<Result<Addr>> out;
    alloc_->allocate(
        "small", handle, want, [&](Result<Addr> r) { out = std::move(r); }, order);
    EXPECT_TRUE(out.has_value()) << "allocation did not complete at once";
    return out ? *out : Result<Addr>(make_error("pending"));
  };
  EXPECT_EQ(alloc_->serial_cursor("small"), 0U);
  EXPECT_EQ(*take("a", Order::kSerial), kSmall + 2);
  EXPECT_EQ(*take("b", Order::kSerial), kSmall + 3);
  ASSERT_TRUE(alloc_->release("small", kSmall + 2));
  EXPECT_EQ(*take("c", Order::kSerial), kSmall + 4);  // first-free would give .2 again
  ASSERT_TRUE(alloc_->release("small", kSmall + 4));
  EXPECT_EQ(*take("w", Order::kSerial, kSmall + 6), kSmall + 6);  // a wanted address leaves the cursor
  EXPECT_EQ(alloc_->serial_cursor("small"), kSmall + 5);
  EXPECT_EQ(*take("d", Order::kSerial), kSmall + 5);
  // Nothing free after the cursor (.6 is taken): it wraps to the lowest.
  EXPECT_EQ(*take("e", Order::kSerial), kSmall + 2);
  EXPECT_EQ(*take("f", Order::kSerial), kSmall + 4);
  auto full = take("g", Order::kSerial);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().message, "no free address in 10.1.0.0/29");
  ASSERT_TRUE(alloc_->check_invariants());

  // The cursor survives a restart (it is in the snapshot).
  ASSERT_TRUE(alloc_->release("small", kSmall + 3));
  ASSERT_TRUE(alloc_->release("small", kSmall + 6));
  const std::string saved = disk_;
  sim_.node(0).set_delegate(nullptr);
  alloc_ = std::make_unique<Allocator>(Config{}, sim_.node(0), sim_.clock(), 2);
  ASSERT_TRUE(alloc_->restore(saved));
  EXPECT_EQ(alloc_->serial_cursor("small"), kSmall + 5);
  EXPECT_EQ(*take("h", Order::kSerial), kSmall + 6);
  // First-free still takes the lowest, and moves the cursor as Docker's does.
  EXPECT_EQ(*take("i", Order::kFirstFree), kSmall + 3);
  EXPECT_EQ(alloc_->serial_cursor("small"), kSmall + 4);

  // A snapshot written before the cursor existed restores to 0: the next
  // serial allocation starts from the lowest free address.
  v1::Snapshot old;
  ASSERT_TRUE(old.ParseFromString(alloc_->snapshot()));
  for (auto& pool : *old.mutable_pools()) pool.clear_next();
  sim_.node(0).set_delegate(nullptr);
  alloc_ = std::make_unique<Allocator>(Config{}, sim_.node(0), sim_.clock(), 3);
  ASSERT_TRUE(alloc_->restore(old.SerializeAsString()));
  EXPECT_EQ(alloc_->serial_cursor("small"), 0U);
  ASSERT_TRUE(alloc_->release("small", kSmall + 2));
  EXPECT_EQ(*take("j", Order::kSerial), kSmall + 2);
}

TEST_F(AllocatorTest, SpecificAddressRules) {
  EXPECT_EQ(*alloc("x", kNet + 77), kNet + 77);
  auto again = alloc("y", kNet + 77);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("in use"), std::string::npos);
  EXPECT_FALSE(alloc("z", kNet + 1));    // gateway
  EXPECT_FALSE(alloc("z", kNet + 255));  // broadcast
  EXPECT_FALSE(alloc("z", 0x0b000005));  // outside
  EXPECT_FALSE(alloc("x", kNet + 78));   // x already holds .77
  std::optional<Result<Addr>> out;
  alloc_->allocate("nope", "h", std::nullopt, [&](Result<Addr> r) { out = std::move(r); });
  ASSERT_TRUE(out && !*out);
}

TEST_F(AllocatorTest, APoolThatIsAllThisHostsSaysItIsFullAtOnce) {
  ASSERT_TRUE(alloc_->ensure_pool("small", "10.1.0.0/29", self()));
  auto take = [&](const std::string& handle) {
    std::optional<Result<Addr>> out;
    alloc_->allocate("small", handle, std::nullopt, [&](Result<Addr> r) { out = std::move(r); });
    EXPECT_TRUE(out.has_value()) << "allocation did not complete at once";
    return out ? *out : Result<Addr>(make_error("pending"));
  };
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(take("ep-" + std::to_string(i)));  // .2 to .6
  auto full = take("one-too-many");
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().message, "no free address in 10.1.0.0/29");
}

TEST_F(AllocatorTest, AllocationIsPersistedBeforeItIsReturnedAndRolledBackOnFailure) {
  ASSERT_TRUE(alloc("a"));
  v1::Snapshot snap;
  ASSERT_TRUE(snap.ParseFromString(disk_));
  ASSERT_EQ(snap.pools_size(), 1);
  ASSERT_EQ(snap.pools(0).allocations_size(), 1);
  fail_persist_ = true;
  auto r = alloc("b");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("save"), std::string::npos);
  EXPECT_EQ(alloc_->allocations("net").size(), 1U);
  EXPECT_FALSE(alloc_->release("net", kNet + 2));  // cannot persist: stays allocated
  EXPECT_EQ(alloc_->allocations("net").size(), 1U);
  EXPECT_EQ(alloc_->counter(Counter::persist_failed), 2U);
  fail_persist_ = false;
  EXPECT_EQ(*alloc("b"), kNet + 3);
}

TEST_F(AllocatorTest, RestoreBringsBackBlocksAndAllocations) {
  ASSERT_TRUE(alloc("a"));
  ASSERT_TRUE(alloc("b", kNet + 100));
  const std::string saved = disk_;
  sim_.node(0).set_delegate(nullptr);
  alloc_ = std::make_unique<Allocator>(Config{}, sim_.node(0), sim_.clock(), 2);
  ASSERT_TRUE(alloc_->restore(saved));
  EXPECT_EQ(alloc_->lookup("net", "a"), kNet + 2);
  EXPECT_EQ(alloc_->lookup("net", "b"), kNet + 100);
  EXPECT_EQ(alloc_->snapshot(), saved);
  EXPECT_FALSE(alloc_->restore("garbage\xff"));
  v1::Snapshot other;
  ASSERT_TRUE(other.ParseFromString(saved));
  other.set_host("someone-else");
  auto r = alloc_->restore(other.SerializeAsString());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("someone-else"), std::string::npos);
  other.set_host(self());
  other.mutable_pools(0)->mutable_runs()->Add()->set_first(999);  // outside the pool
  EXPECT_FALSE(alloc_->restore(other.SerializeAsString()));
  EXPECT_EQ(alloc_->snapshot(), saved);
}

TEST_F(AllocatorTest, BadWireInputIsDroppedAndCounted) {
  ASSERT_TRUE(alloc("a"));
  const std::string before = alloc_->snapshot();
  deliver("\xff\xff\xff garbage");
  EXPECT_EQ(alloc_->counter(Counter::malformed), 1U);
  // Blocks outside the pool, overlapping runs, unsorted runs.
  deliver(update("net", kNet, 24, 1, self(), {{250, 10, "node-9", 1, false}}));
  deliver(update("net", kNet, 24, 1, self(), {{10, 5, "node-9", 1, false}, {12, 1, "node-8", 1, false}}));
  deliver(update("net", kNet, 24, 1, self(), {{20, 1, "node-9", 1, false}, {12, 1, "node-8", 1, false}}));
  EXPECT_EQ(alloc_->counter(Counter::bad_range), 3U);
  // Same pool name, another definition.
  deliver(update("net", 0x0b000000, 24, 1, self(), {}));
  EXPECT_EQ(alloc_->counter(Counter::pool_mismatch), 1U);
  // A bad pool name, a bad spec.
  deliver(update("bad name", kNet, 24, 1, self(), {}));
  deliver(update("other", kNet + 1, 24, 1, self(), {}));
  EXPECT_EQ(alloc_->counter(Counter::malformed), 3U);
  // Requests of the wrong kind on the request channel.
  EXPECT_TRUE(alloc_->handle_user_request("node-9", gossip::as_bytes(std::string("\x01\x02"))).empty());
  EXPECT_EQ(alloc_->snapshot(), before);
  EXPECT_FALSE(alloc_->has_pool("other"));
}

TEST_F(AllocatorTest, ForgedTakeoverIsDroppedWholeAndReasserted) {
  ASSERT_TRUE(alloc("a"));
  // Block 40 would go to node-9 without this host writing it; block 50 in
  // the same message is an innocent-looking change of our block too.
  deliver(update("net", kNet, 24, 1, self(), {{40, 1, "node-9", 3, false}, {50, 1, "node-8", 1, false}}));
  EXPECT_EQ(alloc_->counter(Counter::forged), 1U);
  EXPECT_EQ(alloc_->counter(Counter::reasserted), 2U);
  const BlockMap* m = alloc_->map("net");
  EXPECT_EQ(m->owner(40), self());
  EXPECT_EQ(m->at(40).version, 4U);
  EXPECT_EQ(m->owner(50), self());
  EXPECT_EQ(m->at(50).version, 2U);
  EXPECT_EQ(alloc_->counter(Counter::records_applied), 0U);
  // A reclaim record is not a forgery: the host yields and reports.
  ASSERT_TRUE(alloc("b", kNet + 60));
  deliver(update("net", kNet, 24, 1, self(), {{60, 1, "node-9", 1, true}}));
  EXPECT_EQ(m->owner(60), "node-9");
  ASSERT_EQ(alloc_->conflicts().size(), 1U);
  EXPECT_EQ(alloc_->conflicts()[0].address, kNet + 60);
  EXPECT_EQ(alloc_->conflicts()[0].handle, "b");
  EXPECT_FALSE(alloc_->lookup("net", "b"));
}

TEST_F(AllocatorTest, ServesDonationsFromTheTopOfItsFreeSpace) {
  ASSERT_TRUE(alloc("a"));
  v1::IpamMessage req;
  auto* dr = req.mutable_donation_request();
  const PoolSpec spec = *alloc_->spec("net");
  dr->mutable_spec()->set_name(spec.name);
  dr->mutable_spec()->set_subnet(spec.subnet);
  dr->mutable_spec()->set_prefix_len(spec.prefix_len);
  dr->mutable_spec()->set_block_size(spec.block_size);
  dr->mutable_spec()->set_genesis(spec.genesis);
  v1::IpamMessage resp;
  ASSERT_TRUE(resp.ParseFromString(alloc_->handle_user_request("node-9", gossip::as_bytes(req.SerializeAsString()))));
  ASSERT_EQ(resp.donation_response().runs_size(), 1);
  const auto& run = resp.donation_response().runs(0);
  EXPECT_EQ(run.owner(), "node-9");
  EXPECT_EQ(run.first() + run.count(), 256U);  // the top blocks
  EXPECT_EQ(run.count(), 127U);                // half of the 255 free ones (block 2 holds "a")
  EXPECT_EQ(alloc_->map("net")->count_of("node-9"), 127U);
  // A specific address that is allocated here is refused as in use.
  dr->set_specific(true);
  dr->set_address(kNet + 2);
  ASSERT_TRUE(resp.ParseFromString(alloc_->handle_user_request("node-9", gossip::as_bytes(req.SerializeAsString()))));
  EXPECT_EQ(resp.donation_response().runs_size(), 0);
  EXPECT_TRUE(resp.donation_response().address_in_use());
  // Persist failure: nothing given.
  fail_persist_ = true;
  dr->set_specific(false);
  ASSERT_TRUE(resp.ParseFromString(alloc_->handle_user_request("node-9", gossip::as_bytes(req.SerializeAsString()))));
  EXPECT_EQ(resp.donation_response().runs_size(), 0);
  EXPECT_EQ(alloc_->map("net")->count_of("node-9"), 127U);
}

TEST_F(AllocatorTest, Ipv6PoolAllocatesInItsWindow) {
  auto spec = alloc_->ensure_pool("v6", "fd00:1::/64", self());
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_TRUE(alloc_->ensure_pool("v6", "fd00:1::/64", self()));  // idempotent
  auto other = alloc_->ensure_pool("v6", "fd00:2::/64", self());
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("fd00:1::/64"), std::string::npos) << other.error().message;
  EXPECT_FALSE(alloc_->ensure_pool("v6b", "fd00::/127", self()));
  auto get = [&](const std::string& handle, std::optional<Addr> want = std::nullopt) {
    std::optional<Result<Addr>> out;
    alloc_->allocate("v6", handle, want, [&](Result<Addr> r) { out = std::move(r); });
    EXPECT_TRUE(out.has_value());
    return out ? *out : Result<Addr>(make_error("pending"));
  };
  EXPECT_EQ(spec->format(*get("a")), "fd00:1::2");
  EXPECT_EQ(spec->format(*get("b")), "fd00:1::3");
  const Addr want = *spec->parse("fd00:1::ab:cdef");
  EXPECT_EQ(*get("c", want), want);
  auto taken = get("d", want);
  ASSERT_FALSE(taken);
  EXPECT_NE(taken.error().message.find("fd00:1::ab:cdef"), std::string::npos) << taken.error().message;
  auto reserved = get("d", *spec->parse("fd00:1::ff:ffff"));
  ASSERT_FALSE(reserved);
  EXPECT_NE(reserved.error().message.find("window"), std::string::npos) << reserved.error().message;
  EXPECT_FALSE(get("d", 0x01000000));  // past the window
  ASSERT_TRUE(alloc_->release("v6", want));
  EXPECT_EQ(alloc_->free_addresses("v6"), (1U << 24) - 3 - 2);
  EXPECT_TRUE(alloc_->check_invariants());

  // Persisted with its IPv6 network; a restart brings it back as it was.
  const std::string saved = disk_;
  sim_.node(0).set_delegate(nullptr);
  alloc_ = std::make_unique<Allocator>(Config{}, sim_.node(0), sim_.clock(), 2);
  ASSERT_TRUE(alloc_->restore(saved));
  ASSERT_NE(alloc_->spec("v6"), nullptr);
  EXPECT_EQ(*alloc_->spec("v6"), *spec);
  EXPECT_EQ(alloc_->lookup("v6", "b"), 3U);
  EXPECT_EQ(alloc_->snapshot(), saved);
}

TEST_F(AllocatorTest, Ipv6DefinitionsFromTheWireAreChecked) {
  ASSERT_TRUE(alloc_->ensure_pool("v6", "fd00:1::/120", self()));
  const PoolSpec spec = *alloc_->spec("v6");
  const std::string before = alloc_->snapshot();
  auto send = [&](const std::function<void(v1::PoolSpec&)>& edit) {
    v1::IpamMessage msg;
    auto* pr = msg.mutable_update()->add_pools();
    auto* s = pr->mutable_spec();
    s->set_name("v6");
    s->set_subnet(spec.subnet);
    s->set_prefix_len(spec.prefix_len);
    s->set_block_size(spec.block_size);
    s->set_genesis(spec.genesis);
    s->set_ipv6_network(spec.net6.data(), spec.net6.size());
    s->set_ipv6_prefix_len(spec.prefix6);
    auto* r = pr->add_runs();
    r->set_first(200);
    r->set_count(1);
    r->set_owner(self());  // this host's own record, as a peer would echo it
    r->set_version(1);
    edit(*s);
    deliver(msg.SerializeAsString());
  };
  send([](v1::PoolSpec& s) { s.mutable_ipv6_network()->resize(15); });
  send([](v1::PoolSpec& s) { s.clear_ipv6_network(); });               // prefix without network
  send([](v1::PoolSpec& s) { s.clear_ipv6_prefix_len(); });            // network without prefix
  send([](v1::PoolSpec& s) { s.set_ipv6_prefix_len(127); });           // window of 2
  send([](v1::PoolSpec& s) { s.set_prefix_len(23); });                 // window does not match /120
  send([](v1::PoolSpec& s) { (*s.mutable_ipv6_network())[15] = 1; });  // host bits
  send([](v1::PoolSpec& s) { s.set_subnet(0x00020000); });             // window start elsewhere
  EXPECT_EQ(alloc_->counter(Counter::malformed), 7U);
  // Valid, but another network under the same name: refused as a mismatch.
  send([](v1::PoolSpec& s) { (*s.mutable_ipv6_network())[1] = 0x02; });
  EXPECT_EQ(alloc_->counter(Counter::pool_mismatch), 1U);
  EXPECT_EQ(alloc_->snapshot(), before);
  // The genuine definition is accepted.
  send([](v1::PoolSpec&) {});
  EXPECT_EQ(alloc_->map("v6")->at(200).version, 1U);
  EXPECT_TRUE(alloc_->check_invariants());
}

// A snapshot written before IPv6 pools existed (encoded from the old
// ipam.proto with protoc --encode): IPv4 snapshots decode unchanged.
TEST(AllocatorRestore, SnapshotFromBeforeIpv6StillRestores) {
  const std::string hex =
      "0a066e6f64652d30124e0a160a036e65741080808050181820012a066e6f64652d30120f08800110401a066e6f64652d31200112"
      "0f08c00110401a066e6f64652d3220021a0b0882808050120465702d611a0508e7808050";
  std::string bytes;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  SimCluster sim(gossip::Config::lan(), {}, 3);
  sim.add_nodes(1);  // node-0
  Allocator alloc(Config{}, sim.node(0), sim.clock(), 1);
  auto r = alloc.restore(bytes);
  ASSERT_TRUE(r) << r.error().message;
  const PoolSpec* spec = alloc.spec("net");
  ASSERT_NE(spec, nullptr);
  EXPECT_FALSE(spec->is_v6());
  EXPECT_EQ(spec->cidr(), "10.0.0.0/24");
  EXPECT_EQ(alloc.lookup("net", "ep-a"), kNet + 2);
  EXPECT_EQ(alloc.allocations("net").size(), 2U);
  EXPECT_EQ(alloc.map("net")->count_of("node-1"), 64U);
  EXPECT_EQ(alloc.map("net")->owner(200), "node-2");
  EXPECT_TRUE(alloc.check_invariants());
  EXPECT_EQ(alloc.snapshot(), bytes);  // and is written back byte for byte
}

}  // namespace
}  // namespace ferry::ipam
