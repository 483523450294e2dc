// The API's semantics against real core tables (EAL in --no-huge, no ports,
// no workers) and a fake port backend: every refused request leaves the
// tables exactly as they were; ports are detached only after they stopped
// being polled.
#include "dataplane/app/service.h"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <set>

#include "dataplane/app/run_loop.h"
#include "tests/dataplane/app/eal_env.h"

namespace ferry::dataplane::app {
namespace {

class FakePorts final : public PortBackend {
 public:
  std::set<std::string> interfaces{"veth1", "veth2", "veth3"};
  std::set<std::string> unfit;   // refused like an interface whose MTU is too large
  std::set<std::string> broken;  // refused like a failed probe
  std::vector<std::string> log;
  PortId next = 1;

  Result<OpenedPort> attach(const std::string& iface, PortDriver driver) override {
    if (interfaces.count(iface) == 0) {
      return make_error("interface '{}' does not exist in this network namespace", iface)
          .with_code(ErrorCode::kNotFound);
    }
    if (unfit.count(iface) != 0) {
      return make_error("interface {} has MTU 9000, above the underlay MTU 1500", iface).with_code(ErrorCode::kInvalid);
    }
    if (broken.count(iface) != 0) return make_error("attach {}: probe failed", iface);
    log.push_back(fmt::format("attach {}", iface));
    const PortId id = next++;
    drivers[id] = driver;
    return OpenedPort{id, fmt::format("fake:{}", iface), driver_name(driver)};
  }
  void set_polled(const std::vector<PortId>& ports) override {
    std::string entry = "poll";
    for (auto p : ports) entry += fmt::format(" {}", p);
    log.push_back(entry);
  }
  void detach(const OpenedPort& port) override { log.push_back(fmt::format("detach {}", port.id)); }
  [[nodiscard]] PortCounters counters(PortId) const override { return {}; }
  [[nodiscard]] bool link_up(PortId) const override { return true; }
  [[nodiscard]] PortOffloads offloads(PortId port) const override {
    auto it = drivers.find(port);
    return it != drivers.end() && it->second == PortDriver::kVnet ? PortOffloads{true, true, true, true, true}
                                                                  : PortOffloads{};
  }
  [[nodiscard]] std::vector<NamedCounter> type_counters() const override {
    return {{"fake_bad", "a fake port type's drop", true, 7}, {"fake_frames", "a fake count", false, 3}};
  }
  [[nodiscard]] std::vector<WorkerInfo> workers() const override { return {}; }
  std::map<PortId, PortDriver> drivers;
};

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::eal_up()) GTEST_SKIP() << "EAL could not start (--no-huge) here";
    auto parsed_vtep = dp_api::parse_ipv4_prefix("172.31.0.101/24");
    config_.uplink = "ul0";
    config_.vtep = *parsed_vtep;
    config_.api_path = "/tmp/unused";
    config_.api_endpoint = "ipc:///tmp/unused";
    PipelineConfig pc;
    pc.underlay.vtep_ip = Ipv4Addr{config_.vtep.addr.value};
    pc.underlay.uplink_mac = *parse_mac("02:fe:00:00:00:01");
    pc.uplink_port = 0;
    pc.tables.mac_capacity = 1024;
    pc.tables.neighbour_capacity = 1024;
    pc.tables.vtep_capacity = 64;
    pc.tables.max_workers = 1;
    pc.tables.name = fmt::format("svc{}", counter_++);
    auto pipeline = Pipeline::create(pc);
    ASSERT_TRUE(pipeline) << pipeline.error().message;
    pipeline_ = std::move(*pipeline);
    UnderlayResolver::Params params;
    params.local = config_.vtep;
    resolver_ = std::make_unique<UnderlayResolver>(params);
    Identity identity;
    identity.boot_id = "0123";
    identity.uplink = OpenedPort{0, "ul0", "af_packet"};
    service_ = std::make_unique<Service>(config_, *pipeline_, ports_, *resolver_, identity);
  }

  v1::Reply call(const v1::Request& request) {
    std::string bytes;
    request.SerializeToString(&bytes);
    v1::Reply reply;
    const auto out = service_->handle_bytes({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
    EXPECT_TRUE(reply.ParseFromString(out));
    return reply;
  }

  std::string dump() {
    v1::Request r;
    r.mutable_dump_get();
    return call(r).dump().SerializeAsString();
  }

  static v1::Request net_add(std::uint32_t vni) {
    v1::Request r;
    r.mutable_network_add()->set_vni(vni);
    return r;
  }
  static v1::Request port_add(const std::string& iface, std::uint32_t vni, const std::string& mac) {
    v1::Request r;
    auto* p = r.mutable_port_add();
    p->set_iface(iface);
    p->set_vni(vni);
    p->set_mac(mac);
    p->add_ips("10.0.0.1/24");
    return r;
  }
  static v1::Request port_del(const std::string& iface) {
    v1::Request r;
    r.mutable_port_del()->set_iface(iface);
    return r;
  }
  static v1::Request fdb_add(std::uint32_t vni, const std::string& mac, const std::string& vtep) {
    v1::Request r;
    r.mutable_fdb_add()->set_vni(vni);
    r.mutable_fdb_add()->set_mac(mac);
    r.mutable_fdb_add()->set_vtep(vtep);
    return r;
  }
  static v1::Request flood_add(std::uint32_t vni, const std::string& vtep) {
    v1::Request r;
    r.mutable_flood_add()->set_vni(vni);
    r.mutable_flood_add()->set_vtep(vtep);
    return r;
  }

  static inline int counter_ = 0;
  Config config_;
  FakePorts ports_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<UnderlayResolver> resolver_;
  std::unique_ptr<Service> service_;
};

TEST_F(ServiceTest, RefusedRequestsChangeNothing) {
  ASSERT_EQ(call(net_add(100)).status(), v1::STATUS_OK);
  ASSERT_EQ(call(port_add("veth1", 100, "02:00:00:00:00:01")).status(), v1::STATUS_OK);
  ASSERT_EQ(call(fdb_add(100, "02:00:00:00:00:02", "172.31.0.102")).status(), v1::STATUS_OK);
  ASSERT_EQ(call(flood_add(100, "172.31.0.102")).status(), v1::STATUS_OK);
  const std::string before = dump();
  const auto log_before = ports_.log;

  struct Case {
    v1::Request request;
    v1::Status status;
  };
  v1::Request net_del_busy;
  net_del_busy.mutable_network_del()->set_vni(100);
  v1::Request net_del_unknown;
  net_del_unknown.mutable_network_del()->set_vni(7);
  v1::Request fdb_del_missing;
  fdb_del_missing.mutable_fdb_del()->set_vni(100);
  fdb_del_missing.mutable_fdb_del()->set_mac("02:00:00:00:00:99");
  v1::Request neigh_del_missing;
  neigh_del_missing.mutable_neigh_del()->set_vni(100);
  neigh_del_missing.mutable_neigh_del()->set_ip("10.9.9.9");
  v1::Request flood_del_missing;
  flood_del_missing.mutable_flood_del()->set_vni(100);
  flood_del_missing.mutable_flood_del()->set_vtep("172.31.0.77");
  v1::Request bad_vni = net_add(0);
  const std::vector<Case> cases{
      {net_add(100), v1::STATUS_ALREADY_EXISTS},
      {bad_vni, v1::STATUS_INVALID_ARGUMENT},
      {net_del_busy, v1::STATUS_FAILED_PRECONDITION},
      {net_del_unknown, v1::STATUS_NOT_FOUND},
      {port_add("veth1", 100, "02:00:00:00:00:05"), v1::STATUS_ALREADY_EXISTS},  // iface attached
      {port_add("veth2", 100, "02:00:00:00:00:01"), v1::STATUS_ALREADY_EXISTS},  // MAC taken
      {port_add("veth2", 7, "02:00:00:00:00:05"), v1::STATUS_NOT_FOUND},         // no network
      {port_add("nosuch", 100, "02:00:00:00:00:05"), v1::STATUS_NOT_FOUND},      // no interface
      {port_add("ul0", 100, "02:00:00:00:00:05"), v1::STATUS_INVALID_ARGUMENT},  // the uplink
      {port_del("veth3"), v1::STATUS_NOT_FOUND},
      {fdb_add(7, "02:00:00:00:00:03", "172.31.0.102"), v1::STATUS_NOT_FOUND},
      {fdb_add(100, "02:00:00:00:00:01", "172.31.0.102"), v1::STATUS_FAILED_PRECONDITION},  // local MAC
      {fdb_add(100, "02:00:00:00:00:03", "172.31.0.101"), v1::STATUS_INVALID_ARGUMENT},     // our VTEP
      {fdb_del_missing, v1::STATUS_NOT_FOUND},
      {neigh_del_missing, v1::STATUS_NOT_FOUND},
      {flood_add(100, "172.31.0.102"), v1::STATUS_ALREADY_EXISTS},
      {flood_add(100, "172.31.0.101"), v1::STATUS_INVALID_ARGUMENT},
      {flood_del_missing, v1::STATUS_NOT_FOUND},
  };
  for (const auto& c : cases) {
    const auto reply = call(c.request);
    EXPECT_EQ(reply.status(), c.status) << c.request.ShortDebugString() << " -> " << reply.message();
    EXPECT_FALSE(reply.message().empty());
    EXPECT_EQ(dump(), before) << c.request.ShortDebugString() << " changed the tables";
  }
  // Malformed bytes.
  const std::uint8_t garbage[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0xff};
  v1::Reply reply;
  ASSERT_TRUE(reply.ParseFromString(service_->handle_bytes(garbage)));
  EXPECT_EQ(reply.status(), v1::STATUS_MALFORMED);
  EXPECT_EQ(dump(), before);
  EXPECT_EQ(ports_.log, log_before) << "a refused request touched a port";
}

// Each refusal carries the kind a client acts on, in the reply's code beside
// the status it always had; the kind comes from the check or from the backend
// or table that failed, not from the words of its message.
TEST_F(ServiceTest, RefusalsCarryTheirKind) {
  ASSERT_EQ(call(net_add(100)).status(), v1::STATUS_OK);
  const auto added = call(port_add("veth1", 100, "02:00:00:00:00:01"));
  ASSERT_EQ(added.status(), v1::STATUS_OK);
  EXPECT_EQ(added.code(), v1::ERROR_CODE_NONE);
  ports_.unfit.insert("veth2");
  ports_.broken.insert("veth3");
  auto fdb_del = [](const char* mac) {
    v1::Request r;
    r.mutable_fdb_del()->set_vni(100);
    r.mutable_fdb_del()->set_mac(mac);
    return r;
  };
  v1::Request net_del_busy;
  net_del_busy.mutable_network_del()->set_vni(100);
  struct Case {
    v1::Request request;
    v1::Status status;
    v1::ErrorCode code;
  };
  const std::vector<Case> cases{
      {net_add(100), v1::STATUS_ALREADY_EXISTS, v1::ERROR_CODE_EXISTS},
      {net_add(0), v1::STATUS_INVALID_ARGUMENT, v1::ERROR_CODE_INVALID},
      {net_del_busy, v1::STATUS_FAILED_PRECONDITION, v1::ERROR_CODE_BUSY},
      {port_add("nosuch", 100, "02:00:00:00:00:05"), v1::STATUS_NOT_FOUND, v1::ERROR_CODE_NOT_FOUND},
      {port_add("veth2", 100, "02:00:00:00:00:05"), v1::STATUS_FAILED_PRECONDITION, v1::ERROR_CODE_INVALID},
      {port_add("veth3", 100, "02:00:00:00:00:06"), v1::STATUS_INTERNAL, v1::ERROR_CODE_INTERNAL},
      {fdb_del("02:00:00:00:00:01"), v1::STATUS_FAILED_PRECONDITION, v1::ERROR_CODE_BUSY},  // a local port's
      {fdb_del("02:00:00:00:00:99"), v1::STATUS_NOT_FOUND, v1::ERROR_CODE_NOT_FOUND},
  };
  for (const auto& c : cases) {
    const auto reply = call(c.request);
    EXPECT_EQ(reply.status(), c.status) << c.request.ShortDebugString() << " -> " << reply.message();
    EXPECT_EQ(reply.code(), c.code) << c.request.ShortDebugString() << " -> " << reply.message();
  }
  const std::uint8_t garbage[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0xff};
  v1::Reply reply;
  ASSERT_TRUE(reply.ParseFromString(service_->handle_bytes(garbage)));
  EXPECT_EQ(reply.status(), v1::STATUS_MALFORMED);
  EXPECT_EQ(reply.code(), v1::ERROR_CODE_INVALID);
}

// Loopback is never an endpoint port: the check reads the kernel (lo exists
// in every network namespace) before the backend is asked.
TEST_F(ServiceTest, LoopbackIsRefusedSayingWhy) {
  ASSERT_EQ(call(net_add(100)).status(), v1::STATUS_OK);
  ports_.interfaces.insert("lo");
  const auto reply = call(port_add("lo", 100, "02:00:00:00:00:05"));
  EXPECT_EQ(reply.status(), v1::STATUS_FAILED_PRECONDITION) << reply.message();
  EXPECT_EQ(reply.code(), v1::ERROR_CODE_INVALID);
  EXPECT_NE(reply.message().find("loopback"), std::string::npos) << reply.message();
  EXPECT_TRUE(ports_.log.empty()) << "the backend was asked to attach lo";
}

// Bad input is answered short and printable, and counted: a request above
// the size bound unparsed, a field with control bytes escaped.
TEST_F(ServiceTest, OversizeAndUnprintableInputIsAnsweredShortAndCounted) {
  v1::Request huge = port_add(std::string(10 << 20, 'x'), 100, "02:00:00:00:00:05");
  auto reply = call(huge);
  EXPECT_EQ(reply.status(), v1::STATUS_MALFORMED) << reply.message().substr(0, 200);
  EXPECT_LT(reply.message().size(), 200U);
  v1::Request long_field = port_add(std::string(60000, 'x'), 100, "02:00:00:00:00:05");
  reply = call(long_field);
  EXPECT_EQ(reply.status(), v1::STATUS_INVALID_ARGUMENT);
  EXPECT_LT(reply.message().size(), 200U) << reply.message().substr(0, 200);
  v1::Request escape = port_add(std::string("ve\x1b[2J\n"), 100, "02:00:00:00:00:05");
  reply = call(escape);
  EXPECT_EQ(reply.status(), v1::STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(reply.message().find('\x1b'), std::string::npos) << reply.message();
  EXPECT_EQ(reply.message().find('\n'), std::string::npos) << reply.message();
  v1::Request stats;
  stats.mutable_stats_get();
  const auto counters = call(stats).stats().counters();
  EXPECT_EQ(counters.at("api_requests_oversize"), 1U);
  EXPECT_EQ(counters.at("api_requests_refused"), 3U);
}

// Ownership: a client that names itself (an agent) holds a lease; while it
// runs, an operator's change is refused naming the owner and --force, a
// forced one goes through, reads always work; once the lease has run out
// (the agent stopped calling), operators change it again.
TEST_F(ServiceTest, OwnerLeaseRefusesOthersChangesButNeverTheirReads) {
  auto now = std::chrono::steady_clock::now();
  service_->set_clock([&now] { return now; });
  const auto as = [](v1::Request r, const std::string& client, bool force = false) {
    r.set_client(client);
    r.set_force(force);
    return r;
  };
  // Nobody owns it yet: an operator's change is taken.
  ASSERT_EQ(call(net_add(100)).status(), v1::STATUS_OK);
  ASSERT_EQ(call(as(net_add(101), "ferry-agent h1")).status(), v1::STATUS_OK);
  now += std::chrono::seconds(9);
  auto refused = call(fdb_add(100, "02:00:00:00:00:0a", "172.31.0.102"));
  EXPECT_EQ(refused.status(), v1::STATUS_FAILED_PRECONDITION) << refused.message();
  EXPECT_EQ(refused.code(), v1::ERROR_CODE_BUSY);
  EXPECT_NE(refused.message().find("ferry-agent h1 owns this data plane"), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find("--force"), std::string::npos) << refused.message();
  EXPECT_EQ(dump().find("02:00:00:00:00:0a"), std::string::npos) << "a refused change was applied";
  // Reads are never refused.
  v1::Request stats;
  stats.mutable_stats_get();
  v1::Request health;
  health.mutable_health_get();
  v1::Request dump_request;
  dump_request.mutable_dump_get();
  for (const auto& read : {stats, health, dump_request}) {
    EXPECT_EQ(call(read).status(), v1::STATUS_OK) << read.op_case();
  }
  // Forced: applied.
  EXPECT_EQ(call(as(fdb_add(100, "02:00:00:00:00:0a", "172.31.0.102"), "", true)).status(), v1::STATUS_OK);
  EXPECT_NE(dump().find("02:00:00:00:00:0a"), std::string::npos);
  // The owner's own calls renew the lease; another agent taking over is the
  // new owner.
  ASSERT_EQ(call(as(health, "ferry-agent h2")).status(), v1::STATUS_OK);
  now += std::chrono::seconds(9);
  refused = call(net_add(102));
  EXPECT_NE(refused.message().find("ferry-agent h2 owns"), std::string::npos) << refused.message();
  // The lease runs out 10 s after the owner's last call.
  now += std::chrono::seconds(1);
  EXPECT_EQ(call(net_add(102)).status(), v1::STATUS_OK);
  EXPECT_EQ(call(stats).stats().counters().at("api_requests_not_owner"), 2U);
}

TEST_F(ServiceTest, PortLifecyclePollsBeforeAndDetachesAfter) {
  ASSERT_EQ(call(net_add(100)).status(), v1::STATUS_OK);
  auto added = call(port_add("veth1", 100, "02:00:00:00:00:01"));
  ASSERT_EQ(added.status(), v1::STATUS_OK) << added.message();
  EXPECT_EQ(added.port_added().port_id(), 1U);
  auto second = call(port_add("veth2", 100, "02:00:00:00:00:02"));
  ASSERT_EQ(second.status(), v1::STATUS_OK) << second.message();
  EXPECT_EQ(ports_.log, (std::vector<std::string>{"attach veth1", "poll 1", "attach veth2", "poll 1 2"}));

  v1::Request d;
  d.mutable_dump_get();
  auto dumped = call(d).dump();
  ASSERT_EQ(dumped.ports_size(), 2);
  EXPECT_EQ(dumped.ports(0).iface(), "veth1");
  EXPECT_EQ(dumped.ports(0).ips(0), "10.0.0.1/24");
  bool local_entry = false;
  for (const auto& f : dumped.fdb()) {
    local_entry = local_entry || (f.iface() == "veth1" && f.mac() == "02:00:00:00:00:01");
  }
  EXPECT_TRUE(local_entry);

  ports_.log.clear();
  ASSERT_EQ(call(port_del("veth1")).status(), v1::STATUS_OK);
  // Not polled any more, then (after the grace period) closed.
  EXPECT_EQ(ports_.log, (std::vector<std::string>{"poll 2", "detach 1"}));
  EXPECT_EQ(call(d).dump().ports_size(), 1);

  service_->detach_all();
  EXPECT_EQ(call(d).dump().ports_size(), 0);
  v1::Request del;
  del.mutable_network_del()->set_vni(100);
  EXPECT_EQ(call(del).status(), v1::STATUS_OK);
}

TEST_F(ServiceTest, Ipv6AddressesAndNeighboursRoundTrip) {
  ASSERT_EQ(call(net_add(100)).status(), v1::STATUS_OK);
  v1::Request add = port_add("veth1", 100, "02:00:00:00:00:01");
  add.mutable_port_add()->add_ips("FD00:10:0::1/64");
  add.mutable_port_add()->add_ips("2001:db8::1");
  auto added = call(add);
  ASSERT_EQ(added.status(), v1::STATUS_OK) << added.message();
  v1::Request neigh;
  neigh.mutable_neigh_add()->set_vni(100);
  neigh.mutable_neigh_add()->set_ip("fd00:10:0:0:0:0:0:2");
  neigh.mutable_neigh_add()->set_mac("02:00:00:00:00:02");
  auto n = call(neigh);
  ASSERT_EQ(n.status(), v1::STATUS_OK) << n.message();
  EXPECT_NE(n.message().find("fd00:10::2"), std::string::npos) << n.message();

  v1::Request d;
  d.mutable_dump_get();
  auto dumped = call(d).dump();
  ASSERT_EQ(dumped.ports_size(), 1);
  const auto& ips = dumped.ports(0).ips();
  EXPECT_EQ(std::vector<std::string>(ips.begin(), ips.end()),
            (std::vector<std::string>{"10.0.0.1/24", "fd00:10::1/64", "2001:db8::1/128"}));
  std::set<std::string> neighbours;
  for (const auto& e : dumped.neighbors()) neighbours.insert(e.ip() + " " + e.mac());
  EXPECT_EQ(neighbours, (std::set<std::string>{"10.0.0.1 02:00:00:00:00:01", "fd00:10::1 02:00:00:00:00:01",
                                               "2001:db8::1 02:00:00:00:00:01", "fd00:10::2 02:00:00:00:00:02"}));
  EXPECT_EQ(pipeline_->tables().port(1)->ip6_count, 2U);

  // Removing it; removing it again is NOT_FOUND; too many IPv6 addresses on a port.
  v1::Request del;
  del.mutable_neigh_del()->set_vni(100);
  del.mutable_neigh_del()->set_ip("fd00:10::2");
  EXPECT_EQ(call(del).status(), v1::STATUS_OK);
  EXPECT_EQ(call(del).status(), v1::STATUS_NOT_FOUND);
  v1::Request many = port_add("veth2", 100, "02:00:00:00:00:03");
  for (int i = 1; i <= 5; ++i) many.mutable_port_add()->add_ips(fmt::format("fd00:10::{}:1", i));
  const std::string before = dump();
  auto refused = call(many);
  EXPECT_EQ(refused.status(), v1::STATUS_INVALID_ARGUMENT) << refused.message();
  EXPECT_EQ(dump(), before);
}

// An address that moves to another MAC is announced on the network's other
// local ports (gratuitous ARP, unsolicited NA), whether the entry changes in
// place or is removed and added back; a first entry or the same MAC is not.
TEST_F(ServiceTest, MovedNeighboursAreAnnouncedOnLocalPorts) {
  std::vector<std::pair<PortId, std::vector<std::uint8_t>>> sent;
  service_->set_frame_sender([&](std::span<const std::uint8_t> frame, PortId port) {
    sent.emplace_back(port, std::vector<std::uint8_t>(frame.begin(), frame.end()));
    return true;
  });
  const auto neigh = [](bool add, const std::string& ip, const std::string& mac) {
    v1::Request r;
    auto* n = add ? r.mutable_neigh_add() : nullptr;
    if (add) {
      n->set_vni(100);
      n->set_ip(ip);
      n->set_mac(mac);
    } else {
      r.mutable_neigh_del()->set_vni(100);
      r.mutable_neigh_del()->set_ip(ip);
    }
    return r;
  };
  ASSERT_EQ(call(net_add(100)).status(), v1::STATUS_OK);
  ASSERT_EQ(call(net_add(200)).status(), v1::STATUS_OK);
  ASSERT_EQ(call(port_add("veth1", 100, "02:00:00:00:00:01")).status(), v1::STATUS_OK);
  ASSERT_EQ(call(port_add("veth3", 200, "02:00:00:00:00:03")).status(), v1::STATUS_OK);
  ASSERT_EQ(call(neigh(true, "10.0.0.9", "02:00:00:00:00:09")).status(), v1::STATUS_OK);
  EXPECT_TRUE(sent.empty()) << "a first entry is not a move";
  ASSERT_EQ(call(neigh(true, "10.0.0.9", "02:00:00:00:00:09")).status(), v1::STATUS_OK);
  EXPECT_TRUE(sent.empty()) << "same MAC";
  ASSERT_EQ(call(neigh(true, "10.0.0.9", "02:00:00:00:00:0a")).status(), v1::STATUS_OK);
  ASSERT_EQ(sent.size(), 1u) << "only network 100's port";
  EXPECT_EQ(sent[0].first, PortId{1});
  std::array<std::uint8_t, kGarpFrameSize> garp{};
  build_gratuitous_arp(garp, *parse_mac("02:00:00:00:00:0a"), dp_api::Ipv4{0x0a000009});
  EXPECT_EQ(sent[0].second, std::vector<std::uint8_t>(garp.begin(), garp.end()));
  sent.clear();
  // Removed, then back with another MAC: a move too.
  ASSERT_EQ(call(neigh(false, "10.0.0.9", "")).status(), v1::STATUS_OK);
  ASSERT_EQ(call(neigh(true, "10.0.0.9", "02:00:00:00:00:0b")).status(), v1::STATUS_OK);
  ASSERT_EQ(sent.size(), 1u);
  sent.clear();
  // IPv6: an unsolicited NA.
  ASSERT_EQ(call(neigh(true, "fd00::9", "02:00:00:00:00:09")).status(), v1::STATUS_OK);
  ASSERT_EQ(call(neigh(true, "fd00::9", "02:00:00:00:00:0c")).status(), v1::STATUS_OK);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].second.size(), kUnsolicitedNaFrameSize);
  sent.clear();
  // A local endpoint re-created with the same IP and a new MAC: announced on
  // the network's other ports, not on its own.
  v1::Request p2 = port_add("veth2", 100, "02:00:00:00:00:02");
  p2.mutable_port_add()->clear_ips();
  p2.mutable_port_add()->add_ips("10.0.0.2/24");
  ASSERT_EQ(call(p2).status(), v1::STATUS_OK);
  EXPECT_TRUE(sent.empty());
  ASSERT_EQ(call(port_del("veth2")).status(), v1::STATUS_OK);
  p2.mutable_port_add()->set_mac("02:00:00:00:00:22");
  ASSERT_EQ(call(p2).status(), v1::STATUS_OK);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].first, PortId{1});
  v1::Request stats;
  stats.mutable_stats_get();
  EXPECT_EQ(call(stats).stats().counters().at("neighbour_announcements"), 4u);
}

TEST_F(ServiceTest, StatsHealthVersion) {
  ASSERT_EQ(call(net_add(4242)).status(), v1::STATUS_OK);
  v1::Request s;
  s.mutable_stats_get();
  auto stats = call(s);
  ASSERT_EQ(stats.status(), v1::STATUS_OK);
  EXPECT_EQ(stats.stats().vnis_size(), 1);
  EXPECT_EQ(stats.stats().vnis(0).vni(), 4242U);
  std::set<std::string> drops;
  for (const auto& d : stats.stats().drops()) drops.insert(d.reason());
  EXPECT_TRUE(drops.count("unknown_vni"));
  EXPECT_TRUE(drops.count("vtep_unresolved"));
  EXPECT_EQ(stats.stats().ports_size(), 1);  // the uplink
  EXPECT_EQ(stats.stats().ports(0).name(), "uplink");
  EXPECT_EQ(stats.stats().ports(0).driver(), "af_packet");
  // Port-type counters: drops with their help, counted in drops_total; the rest as counters.
  bool fake_drop = false;
  for (const auto& d : stats.stats().drops()) {
    fake_drop = fake_drop || (d.reason() == "fake_bad" && d.packets() == 7 && !d.help().empty());
  }
  EXPECT_TRUE(fake_drop);
  EXPECT_EQ(stats.stats().counters().at("fake_frames"), 3U);
  EXPECT_GE(stats.stats().counters().at("drops_total"), 7U);

  v1::Request h;
  h.mutable_health_get();
  auto health = call(h);
  EXPECT_EQ(health.health().boot_id(), "0123");
  EXPECT_EQ(health.health().vtep_ip(), "172.31.0.101/24");
  EXPECT_EQ(health.health().networks(), 1U);
  EXPECT_EQ(health.health().endpoint_driver(), "af_packet");
  v1::Request v;
  v.mutable_version_get();
  auto version = call(v);
  EXPECT_EQ(version.version().api_version(), dp_api::kApiVersion);
  EXPECT_NE(version.version().dpdk().find("22.11"), std::string::npos);
}

TEST_F(ServiceTest, PortTypeIsChosenPerPortAndShownWithItsOffloads) {
  ASSERT_EQ(call(net_add(100)).status(), v1::STATUS_OK);
  v1::Request vnet = port_add("veth1", 100, "02:00:00:00:00:01");
  vnet.mutable_port_add()->set_driver("vnet");
  auto added = call(vnet);
  ASSERT_EQ(added.status(), v1::STATUS_OK) << added.message();
  EXPECT_EQ(added.port_added().driver(), "vnet");
  auto plain = call(port_add("veth2", 100, "02:00:00:00:00:02"));  // the default: af_packet here
  ASSERT_EQ(plain.status(), v1::STATUS_OK) << plain.message();
  EXPECT_EQ(plain.port_added().driver(), "af_packet");

  v1::Request d;
  d.mutable_dump_get();
  const auto dumped = call(d).dump();
  ASSERT_EQ(dumped.ports_size(), 2);
  EXPECT_EQ(dumped.ports(0).driver(), "vnet");
  EXPECT_EQ(std::vector<std::string>(dumped.ports(0).offloads().begin(), dumped.ports(0).offloads().end()),
            (std::vector<std::string>{"vnet_hdr", "rx_gso", "tx_gso", "rx_csum_partial", "tx_csum_partial"}));
  EXPECT_EQ(dumped.ports(1).offloads_size(), 0);
  v1::Request s;
  s.mutable_stats_get();
  const auto stats = call(s).stats();
  std::map<std::string, std::string> drivers;
  for (const auto& p : stats.ports()) drivers[p.name()] = p.driver();
  EXPECT_EQ(drivers["veth1"], "vnet");
  EXPECT_EQ(drivers["veth2"], "af_packet");
  service_->detach_all();
}

TEST_F(ServiceTest, UnderlayNextHopsAppearInTheDump) {
  ASSERT_EQ(call(net_add(100)).status(), v1::STATUS_OK);
  ASSERT_EQ(call(flood_add(100, "172.31.0.102")).status(), v1::STATUS_OK);
  ASSERT_EQ(call(flood_add(100, "10.99.0.1")).status(), v1::STATUS_OK);  // off-link, no gateway
  std::vector<dp_api::Ipv4> vteps;
  for (const auto& v : pipeline_->tables().vteps()) vteps.push_back(dp_api::Ipv4{v.ip.value});
  resolver_->set_vteps(vteps);
  v1::Request d;
  d.mutable_dump_get();
  auto dumped = call(d).dump();
  ASSERT_EQ(dumped.underlay_size(), 2);
  EXPECT_EQ(dumped.underlay(0).ip(), "172.31.0.102");
  EXPECT_EQ(dumped.underlay(0).state(), "incomplete");
  EXPECT_NE(dumped.underlay(1).state().find("no route"), std::string::npos);
}

}  // namespace
}  // namespace ferry::dataplane::app
