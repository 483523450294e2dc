// One node, driven by hand: every message type in, what comes out, and what
// state changes (or, for bad input, does not).
#include "control/gossip/node.h"

#include <gtest/gtest.h>

#include <deque>
#include <set>

#include "control/gossip/gossip.pb.h"
#include "tests/common/log_capture.h"

namespace ferry::gossip {
namespace {

using namespace std::chrono_literals;

class FakeTransport final : public Transport {
 public:
  struct Sent {
    Address to;
    v1::Packet packet;
  };
  struct Request {
    Address to;
    uint64_t id;
    std::string data;
  };
  [[nodiscard]] Address local_address() const override { return Address{0x0a000001, 7946}; }
  void send_packet(const Address& to, std::string data) override {
    Sent s{to, {}};
    EXPECT_TRUE(s.packet.ParseFromString(data));
    EXPECT_LE(data.size(), Config{}.max_packet_size);
    sent.push_back(std::move(s));
  }
  void request(const Address& to, uint64_t id, std::string data) override {
    requests.push_back(Request{to, id, std::move(data)});
  }
  std::deque<Sent> sent;
  std::deque<Request> requests;
};

class RecordingDelegate final : public Delegate {
 public:
  void notify_join(const MemberInfo& i) override { joins.push_back(i); }
  void notify_update(const MemberInfo& i) override { updates.push_back(i); }
  void notify_leave(const MemberInfo& i) override { leaves.push_back(i); }
  void notify_user_msg(std::string_view from, Bytes payload) override {
    user.emplace_back(std::string(from), std::string(payload.begin(), payload.end()));
  }
  void get_broadcasts(size_t overhead, size_t budget, std::vector<std::string>& out) override {
    if (!outgoing.empty() && outgoing.size() + overhead <= budget) out.push_back(outgoing);
  }
  std::string local_state(bool join) override { return join ? "state-join" : "state"; }
  void merge_remote_state(Bytes state, bool join) override {
    merged.emplace_back(std::string(state.begin(), state.end()), join);
  }
  std::vector<MemberInfo> joins, updates, leaves;
  std::vector<std::pair<std::string, std::string>> user;
  std::vector<std::pair<std::string, bool>> merged;
  std::string outgoing;
};

const Address kPeer{0x0a000002, 7946};
const Address kPeer2{0x0a000003, 7946};
const Address kPeer3{0x0a000004, 7946};

class NodeTest : public ::testing::Test {
 protected:
  NodeTest() : node_(Config{}, "me", clock_, transport_, 42, &delegate_, nullptr, 1000) {
    node_.set_logger(log_.logger("me"));
    node_.start();
  }

  void deliver(const v1::Packet& p, Address from = kPeer) { node_.on_packet(from, as_bytes(p.SerializeAsString())); }
  static v1::Packet packet(const std::string& from = "peer") {
    v1::Packet p;
    p.set_from(from);
    return p;
  }
  void add_alive(const std::string& name, uint32_t inc, Address addr, uint64_t boot = 7) {
    auto p = packet();
    auto* a = p.add_alive();
    a->set_name(name);
    a->set_incarnation(inc);
    a->set_ip(addr.ip);
    a->set_port(addr.port);
    a->set_boot_id(boot);
    deliver(p);
  }
  // Runs the clock forward in small steps, ticking the node.
  void advance(Duration d) {
    const TimePoint end = clock_.now() + d;
    while (clock_.now() < end) {
      const TimePoint next = std::min(end, std::max(node_.next_deadline(), clock_.now()));
      clock_.set(next == clock_.now() ? std::min(end, next + 1ms) : next);
      node_.tick();
    }
  }
  // Broadcasts carried by the next packets the node sends.
  bool any_sent_alive(const std::string& name, uint32_t inc) {
    for (const auto& s : transport_.sent) {
      for (const auto& a : s.packet.alive()) {
        if (a.name() == name && a.incarnation() == inc) return true;
      }
    }
    return false;
  }

  // Like advance(), but every member not in `down` acks this node's pings.
  void advance_answering(Duration d, const std::set<std::string>& down) {
    const TimePoint end = clock_.now() + d;
    while (clock_.now() < end) {
      advance(std::min<Duration>(10ms, end - clock_.now()));
      while (!transport_.sent.empty()) {
        const auto sent = std::move(transport_.sent.front());
        transport_.sent.pop_front();
        for (const auto& ping : sent.packet.ping()) {
          if (down.count(ping.target()) != 0) continue;
          auto ack = packet(ping.target());
          ack.add_ack()->set_seq(ping.seq());
          deliver(ack, sent.to);
        }
      }
    }
  }
  void suspect(const std::string& name, uint32_t inc, const std::string& from) {
    auto p = packet(from);
    auto* s = p.add_suspect();
    s->set_name(name);
    s->set_incarnation(inc);
    s->set_from(from);
    deliver(p);
  }
  // Lines at `level` holding all of `parts`.
  size_t lines(spdlog::level::level_enum level, std::initializer_list<std::string_view> parts) const {
    return log_.find(level, parts).size();
  }

  testing::LogCapture log_;
  ManualClock clock_;
  FakeTransport transport_;
  RecordingDelegate delegate_;
  Node node_;
};

TEST_F(NodeTest, AnswersPingForItsNameOnly) {
  auto p = packet();
  auto* ping = p.add_ping();
  ping->set_seq(77);
  ping->set_target("me");
  deliver(p);
  ASSERT_EQ(transport_.sent.size(), 1u);
  EXPECT_EQ(transport_.sent[0].to, kPeer);
  ASSERT_EQ(transport_.sent[0].packet.ack_size(), 1);
  EXPECT_EQ(transport_.sent[0].packet.ack(0).seq(), 77u);
  EXPECT_EQ(transport_.sent[0].packet.from(), "me");

  transport_.sent.clear();
  ping->set_target("someone-else");
  deliver(p);
  EXPECT_TRUE(transport_.sent.empty());
  EXPECT_EQ(node_.counters()[Counter::ping_wrong_target], 1u);
}

TEST_F(NodeTest, AliveAddsMemberOnceAndIgnoresOlderIncarnations) {
  add_alive("a", 3, kPeer);
  ASSERT_EQ(node_.num_members(), 2u);
  EXPECT_EQ(node_.num_alive(), 2u);
  ASSERT_EQ(delegate_.joins.size(), 1u);
  EXPECT_EQ(delegate_.joins[0].name, "a");
  EXPECT_EQ(delegate_.joins[0].address, kPeer);
  add_alive("a", 2, kPeer2);  // older: ignored
  add_alive("a", 3, kPeer2);  // same: ignored
  EXPECT_EQ(node_.member("a")->address, kPeer);
  add_alive("a", 4, kPeer2);  // newer: address moves, update event
  EXPECT_EQ(node_.member("a")->address, kPeer2);
  EXPECT_EQ(delegate_.updates.size(), 1u);
  EXPECT_EQ(delegate_.joins.size(), 1u);
}

TEST_F(NodeTest, SuspectThenTimeoutDeclaresDead) {
  add_alive("a", 1, kPeer);
  auto p = packet("b");
  auto* s = p.add_suspect();
  s->set_name("a");
  s->set_incarnation(1);
  s->set_from("b");
  deliver(p);
  EXPECT_EQ(node_.state_of("a"), MemberState::kSuspect);
  EXPECT_TRUE(delegate_.leaves.empty());
  // Two members alive: min = 4 * 1 * 200 ms = 800 ms, max = 6 * min = 4.8 s;
  // no confirmations: dead after the max.
  advance(4700ms);
  EXPECT_EQ(node_.state_of("a"), MemberState::kSuspect);
  advance(200ms);
  EXPECT_EQ(node_.state_of("a"), MemberState::kDead);
  ASSERT_EQ(delegate_.leaves.size(), 1u);
  EXPECT_EQ(delegate_.leaves[0].state, MemberState::kDead);
}

TEST_F(NodeTest, ConfirmationsShortenSuspicion) {
  add_alive("a", 1, kPeer);
  add_alive("b", 1, kPeer2);
  add_alive("c", 1, kPeer3);
  for (const char* from : {"b", "c", "me"}) {
    auto p = packet(from);
    auto* s = p.add_suspect();
    s->set_name("a");
    s->set_incarnation(1);
    s->set_from(from);
    deliver(p);
  }
  // k = suspicion_mult - 2 = 2 confirmations (c, me) after b: the timeout
  // drops to min = 800 ms.
  advance(900ms);
  EXPECT_EQ(node_.state_of("a"), MemberState::kDead);
}

TEST_F(NodeTest, RefutesSuspicionOfItself) {
  const uint32_t before = node_.incarnation();
  auto p = packet();
  auto* s = p.add_suspect();
  s->set_name("me");
  s->set_incarnation(before);
  s->set_from("peer");
  deliver(p);
  EXPECT_EQ(node_.incarnation(), before + 1);
  EXPECT_EQ(node_.counters()[Counter::refutes], 1u);
  EXPECT_EQ(node_.health_score(), 1u);  // Lifeguard: suspected -> less sure of ourselves
  // The refutation rides on the next packet.
  add_alive("a", 1, kPeer);
  transport_.sent.clear();
  auto ping_pkt = packet();
  auto* ping = ping_pkt.add_ping();
  ping->set_seq(1);
  ping->set_target("me");
  deliver(ping_pkt);
  EXPECT_TRUE(any_sent_alive("me", before + 1));
}

TEST_F(NodeTest, RestartedNodeJumpsAboveItsPreviousLife) {
  // Others still gossip our previous boot at incarnation 9.
  add_alive("me", 9, Address{0x0a000001, 7946}, /*boot=*/555);
  EXPECT_EQ(node_.incarnation(), 10u);
}

TEST_F(NodeTest, DeadAndLeft) {
  add_alive("a", 1, kPeer);
  add_alive("b", 1, kPeer2);
  auto p = packet();
  auto* d = p.add_dead();
  d->set_name("a");
  d->set_incarnation(1);
  d->set_from("peer");
  auto* l = p.add_dead();
  l->set_name("b");
  l->set_incarnation(1);
  l->set_from("b");  // from itself: a graceful leave
  deliver(p);
  EXPECT_EQ(node_.state_of("a"), MemberState::kDead);
  EXPECT_EQ(node_.state_of("b"), MemberState::kLeft);
  ASSERT_EQ(delegate_.leaves.size(), 2u);
  EXPECT_EQ(node_.num_alive(), 1u);
  // A higher incarnation brings a dead node back.
  add_alive("a", 2, kPeer);
  EXPECT_EQ(node_.state_of("a"), MemberState::kAlive);
  EXPECT_EQ(delegate_.joins.size(), 3u);
}

TEST_F(NodeTest, RefutesOwnDeath) {
  auto p = packet();
  auto* d = p.add_dead();
  d->set_name("me");
  d->set_incarnation(node_.incarnation());
  d->set_from("peer");
  const uint32_t before = node_.incarnation();
  deliver(p);
  EXPECT_GT(node_.incarnation(), before);
}

TEST_F(NodeTest, UserMessagesReachTheDelegate) {
  auto p = packet("peer");
  p.add_user("hello");
  p.add_user(std::string("\0bin", 4));
  deliver(p);
  ASSERT_EQ(delegate_.user.size(), 2u);
  EXPECT_EQ(delegate_.user[0], std::make_pair(std::string("peer"), std::string("hello")));
  EXPECT_EQ(delegate_.user[1].second, std::string("\0bin", 4));
}

TEST_F(NodeTest, DelegateBroadcastsArePiggybacked) {
  delegate_.outgoing = "table-event";
  auto p = packet();
  auto* ping = p.add_ping();
  ping->set_seq(1);
  ping->set_target("me");
  deliver(p);
  ASSERT_EQ(transport_.sent.size(), 1u);
  ASSERT_EQ(transport_.sent[0].packet.user_size(), 1);
  EXPECT_EQ(transport_.sent[0].packet.user(0), "table-event");
}

TEST_F(NodeTest, MalformedInputChangesNothing) {
  add_alive("a", 1, kPeer);
  const auto members = node_.num_members();
  const auto inc = node_.incarnation();
  transport_.sent.clear();
  const std::string garbage[] = {std::string("\xff\xff\xff\xff", 4), std::string("\x0a\x05zz", 4),
                                 std::string(1, '\x32'), std::string("\x32\x80", 2)};
  for (const auto& g : garbage) node_.on_packet(kPeer, as_bytes(g));
  EXPECT_EQ(node_.counters()[Counter::malformed], 4u);
  // Decodable but invalid: empty names, port 0, no sender.
  auto p = packet();
  p.add_alive()->set_name("");
  auto* a = p.add_alive();
  a->set_name("x");
  a->set_port(0);
  p.add_suspect()->set_name("a");  // no from
  deliver(p);
  auto nameless = packet("");
  nameless.add_ping()->set_target("me");
  deliver(nameless);
  EXPECT_EQ(node_.counters()[Counter::invalid_msg], 4u);
  EXPECT_EQ(node_.num_members(), members);
  EXPECT_EQ(node_.state_of("a"), MemberState::kAlive);
  EXPECT_EQ(node_.incarnation(), inc);
  EXPECT_TRUE(transport_.sent.empty());
}

TEST_F(NodeTest, UnknownFieldsAreCountedAndIgnored) {
  auto p = packet();
  auto* ping = p.add_ping();
  ping->set_seq(5);
  ping->set_target("me");
  std::string bytes = p.SerializeAsString();
  bytes += std::string("\xf8\x01\x01", 3);  // field 31, varint 1
  node_.on_packet(kPeer, as_bytes(bytes));
  EXPECT_EQ(node_.counters()[Counter::unknown_fields], 1u);
  EXPECT_EQ(transport_.sent.size(), 1u);  // the ping was still answered
}

TEST_F(NodeTest, IndirectPingRelaysAckOrNacks) {
  auto p = packet("requester");
  auto* ip = p.add_indirect_ping();
  ip->set_seq(900);
  ip->set_target("t");
  ip->set_target_ip(kPeer2.ip);
  ip->set_target_port(kPeer2.port);
  ip->set_nack(true);
  deliver(p, kPeer);
  ASSERT_EQ(transport_.sent.size(), 1u);
  EXPECT_EQ(transport_.sent[0].to, kPeer2);
  ASSERT_EQ(transport_.sent[0].packet.ping_size(), 1);
  const uint32_t relay_seq = transport_.sent[0].packet.ping(0).seq();
  transport_.sent.clear();
  // The target answers: the ack goes back to the requester with its seq.
  auto ack = packet("t");
  ack.add_ack()->set_seq(relay_seq);
  deliver(ack, kPeer2);
  ASSERT_EQ(transport_.sent.size(), 1u);
  EXPECT_EQ(transport_.sent[0].to, kPeer);
  ASSERT_EQ(transport_.sent[0].packet.ack_size(), 1);
  EXPECT_EQ(transport_.sent[0].packet.ack(0).seq(), 900u);
  transport_.sent.clear();

  // Second request, target silent: a nack after 80% of the probe timeout.
  ip->set_seq(901);
  deliver(p, kPeer);
  transport_.sent.clear();
  advance(90ms);
  bool nacked = false;
  for (const auto& s : transport_.sent) {
    for (const auto& n : s.packet.nack()) nacked |= s.to == kPeer && n.seq() == 901;
  }
  EXPECT_TRUE(nacked);
}

TEST_F(NodeTest, ProbeFailureLeadsToSuspicion) {
  add_alive("a", 1, kPeer);
  add_alive("b", 1, kPeer2);
  add_alive("c", 1, kPeer3);
  transport_.sent.clear();
  // Within one probe interval the node pings someone; nobody answers.
  advance(200ms);
  std::string target;
  for (const auto& s : transport_.sent) {
    for (const auto& ping : s.packet.ping()) target = ping.target();
  }
  ASSERT_FALSE(target.empty());
  advance(120ms);  // probe timeout: indirect probes to the two others
  size_t indirect = 0;
  for (const auto& s : transport_.sent) indirect += static_cast<size_t>(s.packet.indirect_ping_size());
  EXPECT_EQ(indirect, 2u);
  advance(400ms);  // end of the (awareness-stretched) interval: suspect
  EXPECT_EQ(node_.state_of(target), MemberState::kSuspect);
  EXPECT_GE(node_.counters()[Counter::suspect_raised], 1u);
  EXPECT_GT(node_.health_score(), 0u);  // helpers never nacked: our own health suffers
}

TEST_F(NodeTest, LateTimersLowerLocalHealth) {
  add_alive("a", 1, kPeer);
  advance(1s);
  // Acked probes keep the score at 0.
  for (auto& s : transport_.sent) {
    for (const auto& ping : s.packet.ping()) {
      auto ack = packet("a");
      ack.add_ack()->set_seq(ping.seq());
      deliver(ack);
    }
  }
  const uint32_t before = node_.health_score();
  clock_.advance(2s);  // the process was frozen for 2 s
  node_.tick();
  EXPECT_GT(node_.health_score(), before);
}

TEST_F(NodeTest, PushPullMergesBothWays) {
  v1::StreamRequest req;
  req.set_from("peer");
  auto* pp = req.mutable_push_pull();
  pp->set_join(true);
  pp->set_user_state("their-tables");
  auto* r = pp->add_members();
  r->set_name("peer");
  r->set_incarnation(4);
  r->set_ip(kPeer.ip);
  r->set_port(kPeer.port);
  r->set_status(v1::ALIVE);
  auto* d = pp->add_members();
  d->set_name("me");
  d->set_incarnation(6);  // they think an older life of ours is dead at 6
  d->set_ip(0x0a000001);
  d->set_port(7946);
  d->set_status(v1::DEAD);
  const std::string resp_bytes = node_.on_stream_request(kPeer, as_bytes(req.SerializeAsString()));
  EXPECT_EQ(node_.state_of("peer"), MemberState::kAlive);
  EXPECT_EQ(node_.incarnation(), 7u);  // refuted in the same exchange
  ASSERT_EQ(delegate_.merged.size(), 1u);
  EXPECT_EQ(delegate_.merged[0], std::make_pair(std::string("their-tables"), true));
  v1::StreamResponse resp;
  ASSERT_TRUE(resp.ParseFromString(resp_bytes));
  ASSERT_TRUE(resp.has_push_pull());
  EXPECT_EQ(resp.push_pull().user_state(), "state-join");
  bool me_alive_at_7 = false;
  for (const auto& m : resp.push_pull().members()) {
    me_alive_at_7 |= m.name() == "me" && m.incarnation() == 7 && m.status() == v1::ALIVE;
  }
  EXPECT_TRUE(me_alive_at_7);
  // Garbage stream frames are refused without a response.
  EXPECT_TRUE(node_.on_stream_request(kPeer, as_bytes(std::string("\xff\xff", 2))).empty());
}

TEST_F(NodeTest, JoinRetriesUntilASeedAnswers) {
  node_.join({kPeer, Address{0x0a000001, 7946}});  // our own address is skipped
  ASSERT_EQ(transport_.requests.size(), 1u);
  EXPECT_EQ(transport_.requests[0].to, kPeer);
  node_.on_stream_response(transport_.requests[0].id, make_error("connection refused"));
  EXPECT_FALSE(node_.joined());
  advance(1100ms);
  ASSERT_EQ(transport_.requests.size(), 2u);
  v1::StreamResponse resp;
  auto* r = resp.mutable_push_pull()->add_members();
  r->set_name("peer");
  r->set_incarnation(1);
  r->set_ip(kPeer.ip);
  r->set_port(kPeer.port);
  node_.on_stream_response(transport_.requests[1].id, resp.SerializeAsString());
  EXPECT_TRUE(node_.joined());
  EXPECT_EQ(node_.state_of("peer"), MemberState::kAlive);
  advance(3s);
  EXPECT_EQ(transport_.requests.size(), 2u);  // no more join attempts
  node_.join({kPeer});                        // joining again is harmless
  EXPECT_TRUE(node_.joined());
}

TEST_F(NodeTest, LeaveIsAnnouncedAsDeadFromItself) {
  add_alive("a", 1, kPeer);
  node_.leave();
  transport_.sent.clear();
  advance(300ms);
  bool announced = false;
  for (const auto& s : transport_.sent) {
    for (const auto& d : s.packet.dead()) announced |= d.name() == "me" && d.from() == "me";
  }
  EXPECT_TRUE(announced);
  for (const auto& s : transport_.sent) EXPECT_EQ(s.packet.ping_size(), 0);  // no more probing
}

// ------------------------------------------------------------------ logging

TEST_F(NodeTest, EveryMembershipChangeIsLoggedAtInfo) {
  using spdlog::level::info;
  add_alive("a", 1, kPeer);
  add_alive("b", 1, kPeer2);
  add_alive("c", 1, kPeer3);
  EXPECT_EQ(lines(info, {"member a (10.0.0.2:7946) joined", "incarnation 1"}), 1u) << log_.dump();
  suspect("a", 1, "b");
  EXPECT_EQ(lines(info, {"member a (10.0.0.2:7946) suspected by b", "incarnation 1"}), 1u) << log_.dump();
  advance_answering(5s, {"a"});
  ASSERT_EQ(node_.state_of("a"), MemberState::kDead);
  EXPECT_EQ(lines(info, {"member a (10.0.0.2:7946) confirmed dead", "no refutation"}), 1u) << log_.dump();
  add_alive("a", 2, kPeer, /*boot=*/8);
  EXPECT_EQ(lines(info, {"member a (10.0.0.2:7946) is alive again", "was dead", "incarnation 2", "restarted"}), 1u)
      << log_.dump();
  suspect("c", 1, "b");
  add_alive("c", 2, kPeer3);
  EXPECT_EQ(lines(info, {"member c (10.0.0.4:7946) refuted the suspicion", "incarnation 2"}), 1u) << log_.dump();
  auto p = packet();
  auto* d = p.add_dead();
  d->set_name("b");
  d->set_incarnation(1);
  d->set_from("b");
  auto* dead = p.add_dead();
  dead->set_name("c");
  dead->set_incarnation(2);
  dead->set_from("peer");
  deliver(p);
  EXPECT_EQ(lines(info, {"member b (10.0.0.3:7946) left the cluster"}), 1u) << log_.dump();
  EXPECT_EQ(lines(info, {"member c (10.0.0.4:7946) declared dead by peer", "was alive"}), 1u) << log_.dump();
  // This node's own suspicion and its refutation.
  suspect("me", node_.incarnation(), "a");
  EXPECT_EQ(lines(info, {"this node is suspected by a", "refuting"}), 1u) << log_.dump();
  // Nothing above info for single-member events, and no partition.
  EXPECT_TRUE(log_.find(spdlog::level::warn, {}).empty()) << log_.dump();
}

TEST_F(NodeTest, ManyMembersUnreachableAtOnceIsLoggedAsAPartitionAndItsEnd) {
  add_alive("a", 1, kPeer);
  add_alive("b", 1, kPeer2);
  add_alive("c", 1, kPeer3);
  suspect("a", 1, "peer");
  EXPECT_TRUE(log_.find(spdlog::level::warn, {}).empty());  // one member: a host failure, not a partition
  suspect("b", 1, "peer");
  EXPECT_EQ(lines(spdlog::level::warn, {"2 of 3 members unreachable at once (a, b)", "partition"}), 1u) << log_.dump();
  advance_answering(6s, {"a", "b"});  // both declared dead: still the same episode
  EXPECT_EQ(lines(spdlog::level::warn, {"unreachable at once"}), 1u);
  add_alive("a", 2, kPeer);
  EXPECT_EQ(lines(spdlog::level::info, {"partition over after 6 s", "1 members back", "1 still unreachable"}), 1u)
      << log_.dump();
  add_alive("b", 2, kPeer2);
  EXPECT_EQ(lines(spdlog::level::info, {"partition over"}), 1u);
}

TEST_F(NodeTest, UndecodableDatagramsFloodMakesAFewLinesWithTheCount) {
  const Address garbage_source{0x0a0000fe, 5555};
  const std::string junk("\xff\xff\xff\xff", 4);
  for (int i = 0; i < 10'000; ++i) {
    node_.on_packet(i == 9'999 ? garbage_source : kPeer, as_bytes(junk));
    clock_.advance(100us);  // 10 000 in one second
  }
  EXPECT_EQ(node_.counters()[Counter::malformed], 10'000u);
  auto warns = log_.find(spdlog::level::warn, {"did not decode"});
  ASSERT_EQ(warns.size(), 1u) << log_.dump();
  EXPECT_NE(warns[0].text.find("from 10.0.0.2:7946"), std::string::npos) << warns[0].text;
  advance(10s);  // the node's timers flush the rest
  warns = log_.find(spdlog::level::warn, {"did not decode"});
  ASSERT_EQ(warns.size(), 2u) << log_.dump();
  EXPECT_NE(warns[1].text.find("9999 messages that did not decode dropped"), std::string::npos) << warns[1].text;
  EXPECT_NE(warns[1].text.find("last from 10.0.0.254:5555"), std::string::npos) << warns[1].text;
}

TEST_F(NodeTest, FailingJoinIsReportedEveryTenSecondsNotEveryAttempt) {
  node_.join({kPeer});
  for (int i = 0; i < 30; ++i) {  // a seed that never answers, 30 attempts
    node_.on_stream_response(transport_.requests.back().id, make_error("connection refused"));
    advance(1s);
  }
  EXPECT_EQ(node_.counters()[Counter::join_failed], 30u);
  const auto warns = log_.find(spdlog::level::warn, {"join attempt"});
  EXPECT_GE(warns.size(), 3u) << log_.dump();
  EXPECT_LE(warns.size(), 4u) << log_.dump();
  EXPECT_NE(warns.back().text.find("seed 10.0.0.2:7946"), std::string::npos) << warns.back().text;
}

}  // namespace
}  // namespace ferry::gossip
