// The golden v1 messages (golden/README.md: every request and reply as the
// agent, ferryctl and the data plane built them before the codec existed)
// decode with today's code to the values they were made from, and today's
// encoder writes the same messages back (plus the error code a refusal now
// carries).
#include <gtest/gtest.h>

#include <google/protobuf/util/message_differencer.h>
#include <fstream>
#include <iterator>

#include "dataplane/api/reply.h"
#include "dataplane/api/request.h"

#ifndef FERRY_GOLDEN_DIR
#error "FERRY_GOLDEN_DIR must name tests/dataplane/api/golden"
#endif

namespace ferry::dp_api {
namespace {

std::string golden(const std::string& name) {
  std::ifstream in(std::string(FERRY_GOLDEN_DIR) + "/" + name + ".bin", std::ios::binary);
  EXPECT_TRUE(in) << name;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::span<const std::uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

MacAddress mac(const char* text) { return parse_mac(text).value(); }
Ipv4 v4(const char* text) { return parse_ipv4(text).value(); }
Ipv6 v6(const char* text) { return parse_ipv6(text).value(); }
Ipv4Prefix v4p(const char* text) { return parse_ipv4_prefix(text).value(); }
Ipv6Prefix v6p(const char* text) { return parse_ipv6_prefix(text).value(); }

Command decoded_request(const std::string& name) {
  auto parsed = parse_request_bytes(as_bytes(golden(name)));
  if (auto* error = std::get_if<RequestError>(&parsed)) {
    ADD_FAILURE() << name << ": " << error->message;
    return Command{};
  }
  return std::get<Command>(parsed);
}

TEST(Golden, EveryRequestDecodesToWhatItWasMadeFrom) {
  const auto m2 = mac("02:00:0a:00:00:02");
  const auto m3 = mac("02:00:0a:00:00:03");
  const std::vector<std::pair<std::string, Command>> cases{
      {"request_network_add", NetworkAddCmd{4242, false}},
      {"request_network_add_flood", NetworkAddCmd{100, true}},
      {"request_network_del", NetworkDelCmd{7}},
      {"request_network_set_flood", NetworkSetFloodCmd{100, true}},
      {"request_port_add",
       PortAddCmd{"fyaaaa", 4242, m2, {v4p("10.0.0.2/24")}, {v6p("fd00:10::2/64")}, EndpointDriver::kDefault}},
      {"request_port_add_driver", PortAddCmd{"veth9",
                                             100,
                                             mac("02:00:00:00:00:09"),
                                             {v4p("10.0.0.9/24"), v4p("10.0.1.9/32")},
                                             {v6p("fd00::9/64")},
                                             EndpointDriver::kAfXdp}},
      {"request_port_del", PortDelCmd{"fyaaaa"}},
      {"request_fdb_add", FdbAddCmd{4242, m3, v4("172.31.0.102")}},
      {"request_fdb_del", FdbDelCmd{4242, m3}},
      {"request_neigh_add", NeighAddCmd{4242, IpAddress{v4("10.0.0.3")}, m3}},
      {"request_neigh_add_ipv6", NeighAddCmd{4242, IpAddress{v6("fd00:10::3")}, m3}},
      {"request_neigh_del", NeighDelCmd{4242, IpAddress{v4("10.0.0.3")}}},
      {"request_flood_add", FloodAddCmd{4242, v4("172.31.0.102")}},
      {"request_flood_del", FloodDelCmd{4242, v4("172.31.0.102")}},
      {"request_stats_get", StatsCmd{}},
      {"request_dump_get", DumpCmd{}},
      {"request_health_get", HealthCmd{}},
      {"request_version_get", VersionCmd{}},
  };
  for (const auto& [name, want] : cases) {
    const Command got = decoded_request(name);
    EXPECT_EQ(got, want) << name;
    // Today's encoder writes what the old builders wrote, byte for byte,
    // except that a bare address ("10.0.1.9") goes out as its host route.
    if (name != "request_port_add_driver") {
      EXPECT_EQ(encode_request_bytes(got), golden(name)) << name;
    }
    auto again = parse_request(encode_request(got));
    ASSERT_TRUE(std::holds_alternative<Command>(again)) << name;
    EXPECT_EQ(std::get<Command>(again), want) << name;
  }
}

Reply decoded_reply(const std::string& name) {
  auto reply = parse_reply_bytes(as_bytes(golden(name)));
  if (!reply) {
    ADD_FAILURE() << name << ": " << reply.error().message;
    return Reply{};
  }
  return *reply;
}

// Re-encoding gives the golden message back, with the code now added to a
// refusal.
void expect_reencodes(const std::string& name) {
  SCOPED_TRACE(name);
  v1::Reply original;
  ASSERT_TRUE(original.ParseFromString(golden(name)));
  const Reply typed = decoded_reply(name);
  v1::Reply again = encode_reply(typed);
  EXPECT_EQ(again.code() != v1::ERROR_CODE_NONE, original.status() != v1::STATUS_OK);
  again.clear_code();
  std::string diff;
  google::protobuf::util::MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differ.Compare(original, again)) << diff;
}

TEST(Golden, RefusalsGetTheirCodeFromTheirStatus) {
  const struct {
    const char* name;
    v1::Status status;
    ErrorCode code;
    const char* message;
  } cases[] = {
      {"reply_already_exists", v1::STATUS_ALREADY_EXISTS, ErrorCode::kExists, "network 4242 already exists"},
      {"reply_not_found", v1::STATUS_NOT_FOUND, ErrorCode::kNotFound, "network 7 does not exist"},
      {"reply_invalid_argument", v1::STATUS_INVALID_ARGUMENT, ErrorCode::kInvalid, "bad VNI 0: must be 1..16777215"},
      {"reply_failed_precondition", v1::STATUS_FAILED_PRECONDITION, ErrorCode::kBusy,
       "network 4242 still has ports (fyaaaa): remove them first"},
      {"reply_malformed", v1::STATUS_MALFORMED, ErrorCode::kInvalid, "request is not a ferry.dataplane.v1.Request"},
      {"reply_unsupported_version", v1::STATUS_UNSUPPORTED_VERSION, ErrorCode::kInvalid,
       "api_version 2 is newer than this server's 1"},
      {"reply_internal", v1::STATUS_INTERNAL, ErrorCode::kInternal, "attach broken0: probe failed: Input/output error"},
  };
  for (const auto& c : cases) {
    const Reply reply = decoded_reply(c.name);
    EXPECT_FALSE(reply.ok()) << c.name;
    EXPECT_EQ(reply.status, c.status) << c.name;
    EXPECT_EQ(reply.code, c.code) << c.name;
    EXPECT_EQ(reply.message, c.message) << c.name;
    EXPECT_TRUE(std::holds_alternative<std::monostate>(reply.result)) << c.name;
    expect_reencodes(c.name);
  }
}

TEST(Golden, PlainAndPortAddedReplies) {
  EXPECT_EQ(decoded_reply("reply_ok"), ok_reply("network 4242 added (unknown unicast dropped)"));
  EXPECT_EQ(decoded_reply("reply_port_added"),
            ok_reply("port fyaaaa attached as DPDK port 1 (af_packet)", PortAdded{1, "af_packet"}));
  expect_reencodes("reply_ok");
  expect_reencodes("reply_port_added");
}

TEST(Golden, DumpDecodesEveryKindOfEntry) {
  const Reply reply = decoded_reply("reply_dump");
  ASSERT_TRUE(reply.ok());
  const Dump* dump = reply.get<Dump>();
  ASSERT_NE(dump, nullptr);
  const auto m2 = mac("02:00:0a:00:00:02");
  const auto m3 = mac("02:00:0a:00:00:03");
  Dump want;
  want.networks = {NetworkEntry{100, true, {}}, NetworkEntry{4242, false, {v4("172.31.0.102")}}};
  want.ports = {PortEntry{1, "fyaaaa", 4242, m2, {v4p("10.0.0.2/24")}, {v6p("fd00:10::2/64")}, "af_packet", true, {}}};
  want.fdb = {FdbEntry{4242, m2, std::nullopt, "fyaaaa"}, FdbEntry{4242, m3, v4("172.31.0.102"), ""}};
  want.neighbors = {NeighEntry{4242, IpAddress{v4("10.0.0.2")}, m2}, NeighEntry{4242, IpAddress{v4("10.0.0.3")}, m3},
                    NeighEntry{4242, IpAddress{v6("fd00:10::2")}, m2},
                    NeighEntry{4242, IpAddress{v6("fd00:10::3")}, m3}};
  want.underlay = {
      UnderlayNeighbor{v4("172.31.0.102"), mac("02:fe:00:00:00:02"), "reachable", {v4("172.31.0.102")}},
      UnderlayNeighbor{v4("172.31.0.103"), std::nullopt, "incomplete", {v4("172.31.0.103")}},
      UnderlayNeighbor{std::nullopt, std::nullopt, "no route (off-link, no --gateway)", {v4("192.0.2.50")}},
  };
  EXPECT_EQ(*dump, want);
  expect_reencodes("reply_dump");
}

TEST(Golden, StatsHealthAndVersion) {
  const Reply stats_reply = decoded_reply("reply_stats");
  const Stats* stats = stats_reply.get<Stats>();
  ASSERT_NE(stats, nullptr);
  EXPECT_EQ(stats->ports, (std::vector<PortStats>{PortStats{0, "uplink", 0, 100, 6400, 90, 5760, 3, 1, ""},
                                                  PortStats{1, "fyaaaa", 4242, 101, 6401, 91, 5761, 3, 1, ""}}));
  ASSERT_EQ(stats->vnis.size(), 2U);
  EXPECT_EQ(stats->vnis[0].vni, 100U);
  EXPECT_EQ(stats->vnis[1].vni, 4242U);
  EXPECT_FALSE(stats->vnis[0].counters.empty());
  EXPECT_EQ(stats->lcores, (std::vector<LcoreStats>{LcoreStats{0, 0, 0, 1000, 250, 700}}));
  EXPECT_EQ(stats->counters.at("idle_spin_polls"), 40U);
  EXPECT_EQ(stats->counters.at("idle_spin_yields"), 2U);
  EXPECT_EQ(stats->counters.at("drops_total"), 0U);
  EXPECT_EQ(stats->drops.size(), 30U);
  EXPECT_EQ(stats->drops.back(), (DropStat{"tx_full", 0, "frames a TX queue did not accept"}));
  expect_reencodes("reply_stats");

  const Reply health_reply = decoded_reply("reply_health");
  const Health* health = health_reply.get<Health>();
  ASSERT_NE(health, nullptr);
  EXPECT_EQ(health->boot_id, "5f0c1a2b3c4d5e6f");
  EXPECT_EQ(health->start_time_unix_ms, 1765000000000ULL);
  EXPECT_EQ(health->uplink, "ul0");
  EXPECT_EQ(health->uplink_driver, "net_af_packet");
  EXPECT_TRUE(health->uplink_link_up);
  EXPECT_EQ(health->vtep_ip, v4p("172.31.0.101/24"));
  EXPECT_FALSE(health->gateway);
  EXPECT_EQ(health->workers, 1U);
  EXPECT_EQ(health->ports, 1U);
  EXPECT_EQ(health->networks, 2U);
  EXPECT_NE(health->pid, 0U);
  EXPECT_EQ(health->underlay_mtu, 1500U);
  EXPECT_EQ(health->endpoint_mtu, 1450U);
  expect_reencodes("reply_health");

  EXPECT_EQ(decoded_reply("reply_version"), ok_reply("", Version{"0.1.0", 1, "DPDK 22.11.11"}));
  expect_reencodes("reply_version");
}

}  // namespace
}  // namespace ferry::dp_api
