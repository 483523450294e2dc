// The v1 codec both ways: every command and every reply survives encode ->
// decode unchanged, through the wire message and through its bytes; bad
// bytes, wrong wire types, oversize strings and bad addresses are clear
// errors (short ones), never a crash.
#include <gtest/gtest.h>

#include <set>

#include "dataplane/api/reply.h"
#include "dataplane/api/request.h"
#include "dataplane/api/typed.h"

namespace ferry::dp_api {
namespace {

std::span<const std::uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

MacAddress mac(const char* text) { return parse_mac(text).value(); }
Ipv4 v4(const char* text) { return parse_ipv4(text).value(); }
Ipv6 v6(const char* text) { return parse_ipv6(text).value(); }
Ipv4Prefix v4p(const char* text) { return parse_ipv4_prefix(text).value(); }
Ipv6Prefix v6p(const char* text) { return parse_ipv6_prefix(text).value(); }

std::vector<Command> every_command() {
  const auto m = mac("02:42:0a:00:00:02");
  return {
      NetworkAddCmd{1, false},
      NetworkAddCmd{kMaxVni, true},
      NetworkDelCmd{4242},
      NetworkSetFloodCmd{4242, true},
      NetworkSetFloodCmd{4242, false},
      PortAddCmd{"veth1", 4242, m, {}, {}, EndpointDriver::kDefault},
      PortAddCmd{"fyabcdef0123",
                 7,
                 m,
                 {v4p("10.0.0.2/24"), v4p("10.0.1.2/32")},
                 {v6p("fd00:10::2/64"), v6p("2001:db8::2/128")},
                 EndpointDriver::kAfPacket},
      PortAddCmd{"v", 7, m, {v4p("192.168.9.1/0")}, {}, EndpointDriver::kAfXdp},
      PortDelCmd{"veth1"},
      FdbAddCmd{4242, m, v4("172.31.0.102")},
      FdbDelCmd{4242, m},
      NeighAddCmd{4242, IpAddress{v4("10.0.0.3")}, m},
      NeighAddCmd{4242, IpAddress{v6("fd00:10::3")}, m},
      NeighDelCmd{4242, IpAddress{v4("10.0.0.3")}},
      NeighDelCmd{4242, IpAddress{v6("2001:db8:1:2:3:4:5:6")}},
      FloodAddCmd{4242, v4("172.31.0.102")},
      FloodDelCmd{4242, v4("172.31.0.102")},
      StatsCmd{},
      DumpCmd{},
      HealthCmd{},
      VersionCmd{},
      VtepStatusCmd{},
  };
}

TEST(RequestCodec, EveryCommandRoundTrips) {
  std::set<std::size_t> kinds;
  for (const Command& command : every_command()) {
    kinds.insert(command.index());
    const v1::Request wire = encode_request(command);
    EXPECT_EQ(wire.api_version(), kApiVersion);
    auto back = parse_request(wire);
    ASSERT_TRUE(std::holds_alternative<Command>(back)) << wire.ShortDebugString();
    EXPECT_EQ(std::get<Command>(back), command) << wire.ShortDebugString();
    const std::string bytes = encode_request_bytes(command);
    auto from_bytes = parse_request_bytes(as_bytes(bytes));
    ASSERT_TRUE(std::holds_alternative<Command>(from_bytes)) << wire.ShortDebugString();
    EXPECT_EQ(std::get<Command>(from_bytes), command);
  }
  EXPECT_EQ(kinds.size(), std::variant_size_v<Command>) << "a command kind is missing from the table";
}

TEST(RequestCodec, BuildersApplyTheServersRules) {
  // Same text in, same command out as the server would parse.
  const std::vector<std::string> ips{"10.0.0.2/24", "FD00:10:0::2/64", "10.0.1.2"};
  auto port = make_port_add("veth1", 42, "02:42:0A:00:00:02", ips, "af_xdp");
  ASSERT_TRUE(port) << port.error().message;
  EXPECT_EQ(*port, (PortAddCmd{"veth1",
                               42,
                               mac("02:42:0a:00:00:02"),
                               {v4p("10.0.0.2/24"), v4p("10.0.1.2/32")},
                               {v6p("fd00:10::2/64")},
                               EndpointDriver::kAfXdp}));
  EXPECT_EQ(encode_request(*port).port_add().ips(1), "10.0.1.2/32") << "canonical text on the wire";
  EXPECT_EQ(encode_request(*port).port_add().ips(2), "fd00:10::2/64");
  // Refusals name the problem.
  const struct {
    Result<PortAddCmd> got;
    const char* says;
  } refused[] = {
      {make_port_add("", 42, "02:42:0a:00:00:02", {}, ""), "interface"},
      {make_port_add("veth1", 0, "02:42:0a:00:00:02", {}, ""), "VNI"},
      {make_port_add("veth1", 42, "01:00:5e:00:00:01", {}, ""), "multicast"},
      {make_port_add("veth1", 42, "02:42:0a:00:00:02", std::vector<std::string>{"fe80::1/64"}, ""), "link-local"},
      {make_port_add("veth1", 42, "02:42:0a:00:00:02", std::vector<std::string>{"10.0.0.2", "10.0.0.2/24"}, ""),
       "twice"},
      {make_port_add("veth1", 42, "02:42:0a:00:00:02", {}, "pcap"), "driver"},
  };
  for (const auto& r : refused) {
    ASSERT_FALSE(r.got);
    EXPECT_NE(r.got.error().message.find(r.says), std::string::npos) << r.got.error().message;
  }
  EXPECT_FALSE(make_fdb_add(42, "02:42:0a:00:00:02", "224.0.0.1"));
  EXPECT_FALSE(make_neigh_add(42, "fe80::2", "02:42:0a:00:00:02"));
  EXPECT_FALSE(make_flood_del(42, "fd00::1")) << "VTEPs are IPv4";
  EXPECT_FALSE(make_network_set_flood(kMaxVni + 1, true));
}

// The typed builders (the agent's) make the same commands from values as
// the text ones from text, and refuse what the server refuses.
TEST(RequestCodec, TypedBuildersMatchTheTextOnes) {
  const auto ip = [](const char* text) { return ferry::parse_ip(text).value(); };
  const auto prefix = [](const char* text) { return ferry::parse_prefix(text).value(); };
  const std::vector<std::string> text_ips{"10.0.0.2/24", "fd00:10::2/64"};
  const std::vector<ferry::IpPrefix> typed_ips{prefix("10.0.0.2/24"), prefix("fd00:10::2/64")};
  EXPECT_EQ(make_port_add("veth1", 42, mac("02:42:0a:00:00:02"), typed_ips, EndpointDriver::kDefault).value(),
            make_port_add("veth1", 42, "02:42:0a:00:00:02", text_ips, "").value());
  EXPECT_EQ(make_fdb_add(42, mac("02:42:0a:00:00:02"), ip("172.31.0.2")).value(),
            make_fdb_add(42, "02:42:0a:00:00:02", "172.31.0.2").value());
  EXPECT_EQ(make_fdb_del(42, mac("02:42:0a:00:00:02")).value(), make_fdb_del(42, "02:42:0a:00:00:02").value());
  EXPECT_EQ(make_neigh_add(42, ip("fd00::2"), mac("02:42:0a:00:00:02")).value(),
            make_neigh_add(42, "fd00::2", "02:42:0a:00:00:02").value());
  EXPECT_EQ(make_neigh_del(42, ip("10.0.0.2")).value(), make_neigh_del(42, "10.0.0.2").value());
  EXPECT_EQ(make_flood_add(42, ip("172.31.0.2")).value(), make_flood_add(42, "172.31.0.2").value());
  EXPECT_EQ(make_flood_del(42, ip("172.31.0.2")).value(), make_flood_del(42, "172.31.0.2").value());

  const std::vector<ferry::IpPrefix> twice{prefix("10.0.0.2/32"), prefix("10.0.0.2/24")};
  const std::vector<ferry::IpPrefix> link_local{prefix("fe80::1/64")};
  const struct {
    Result<PortAddCmd> got;
    const char* says;
  } refused[] = {
      {make_port_add("", 42, mac("02:42:0a:00:00:02"), {}, EndpointDriver::kDefault), "interface"},
      {make_port_add("veth1", 0, mac("02:42:0a:00:00:02"), {}, EndpointDriver::kDefault), "VNI"},
      {make_port_add("veth1", 42, mac("01:00:5e:00:00:01"), {}, EndpointDriver::kDefault), "multicast"},
      {make_port_add("veth1", 42, MacAddress{}, {}, EndpointDriver::kDefault), "all zero"},
      {make_port_add("veth1", 42, mac("02:42:0a:00:00:02"), link_local, EndpointDriver::kDefault), "link-local"},
      {make_port_add("veth1", 42, mac("02:42:0a:00:00:02"), twice, EndpointDriver::kDefault), "twice"},
  };
  for (const auto& r : refused) {
    ASSERT_FALSE(r.got);
    EXPECT_NE(r.got.error().message.find(r.says), std::string::npos) << r.got.error().message;
  }
  EXPECT_FALSE(make_fdb_add(42, mac("02:42:0a:00:00:02"), ip("224.0.0.1")));
  EXPECT_FALSE(make_fdb_add(42, mac("02:42:0a:00:00:02"), ip("0.0.0.0")));
  EXPECT_FALSE(make_neigh_add(42, ip("fe80::2"), mac("02:42:0a:00:00:02")));
  EXPECT_FALSE(make_neigh_del(42, ip("::1")));
  EXPECT_FALSE(make_flood_del(42, ip("fd00::1"))) << "VTEPs are IPv4";
  EXPECT_FALSE(make_flood_add(kMaxVni + 1, ip("172.31.0.2")));
}

std::vector<Reply> every_reply() {
  Stats stats;
  stats.ports = {PortStats{0, "uplink", 0, 1, 2, 3, 4, 5, 6, "net_af_xdp"},
                 PortStats{3, "veth1", 42, 7, 8, 9, 10, 11, 12, "vnet"}};
  stats.vnis = {VniStats{42, {{"decap", 5}, {"encap", 6}}}, VniStats{43, {}}};
  stats.drops = {DropStat{"no_route", 9, "no VTEP for the MAC"}, DropStat{"tx_full", 0, "queue full"}};
  stats.lcores = {LcoreStats{1, 2, 3, 4, 5, 6}, LcoreStats{2, 0, 0, 0, 0, 0}};
  stats.counters = {{"drops_total", 9}, {"mac_entries", UINT64_MAX}};

  const auto m = mac("02:42:0a:00:00:02");
  Dump dump;
  dump.networks = {NetworkEntry{42, true, {v4("172.31.0.102"), v4("172.31.0.103")}}, NetworkEntry{43, false, {}}};
  dump.ports = {PortEntry{3,
                          "veth1",
                          42,
                          m,
                          {v4p("10.0.0.2/24")},
                          {v6p("fd00::2/64"), v6p("fd00:1::2/128")},
                          "vnet",
                          false,
                          {"vnet_hdr", "rx_gso", "tx_gso"}}};
  dump.fdb = {FdbEntry{42, m, std::nullopt, "veth1"}, FdbEntry{42, mac("02:42:0a:00:00:09"), v4("10.9.9.9"), ""}};
  dump.neighbors = {NeighEntry{42, IpAddress{v4("10.0.0.9")}, m}, NeighEntry{42, IpAddress{v6("fd00::9")}, m}};
  dump.underlay = {UnderlayNeighbor{v4("172.31.0.1"), mac("02:fe:00:00:00:01"), "stale", {v4("10.1.1.1")}},
                   UnderlayNeighbor{v4("172.31.0.2"), std::nullopt, "failed", {}},
                   UnderlayNeighbor{std::nullopt, std::nullopt, "no route", {v4("192.0.2.1"), v4("192.0.2.2")}}};

  Health health;
  health.boot_id = "0123456789abcdef";
  health.start_time_unix_ms = 1;
  health.uptime_ms = 2;
  health.uplink = "0000:00:08.0";
  health.uplink_driver = "net_ice";
  health.uplink_link_up = true;
  health.vtep_ip = v4p("172.31.0.101/24");
  health.gateway = v4("172.31.0.1");
  health.workers = 2;
  health.ports = 3;
  health.networks = 4;
  health.pid = 5;
  health.underlay_mtu = 9000;
  health.endpoint_mtu = 8950;
  Health bare;  // no VTEP address, no gateway: both optional on the wire

  VtepStatus vteps;
  vteps.interval_ms = 1000;
  vteps.echo_vni = 0xffffff;
  vteps.alive_intervals = 3;
  vteps.vteps = {VtepEchoEntry{v4("172.31.0.2"), true, 10, 9, 8, 0, 1500, 120, true},
                 VtepEchoEntry{v4("172.31.0.3"), false, 0, 0, 0, std::nullopt, std::nullopt, 0, false}};
  vteps.counters = {{"requests_sent", 10}, {"unknown_source", 2}};

  std::vector<Reply> out{
      ok_reply(""),
      ok_reply("network 42 added"),
      ok_reply("port veth1 attached", PortAdded{3, "af_packet"}),
      ok_reply("", stats),
      ok_reply("", Stats{}),
      ok_reply("", dump),
      ok_reply("", Dump{}),
      ok_reply("", health),
      ok_reply("", bare),
      ok_reply("", Version{"0.1.0", 1, "DPDK 22.11.11"}),
      ok_reply("", vteps),
      ok_reply("", VtepStatus{}),
  };
  for (ErrorCode code :
       {ErrorCode::kNotFound, ErrorCode::kExists, ErrorCode::kInvalid, ErrorCode::kBusy, ErrorCode::kInternal}) {
    out.push_back(error_reply(code, std::string("refused: ") + error_code_name(code)));
  }
  out.push_back(error_reply(ErrorCode::kInvalid, v1::STATUS_MALFORMED, "not a Request"));
  out.push_back(error_reply(ErrorCode::kInvalid, v1::STATUS_UNSUPPORTED_VERSION, "api_version 9"));
  out.push_back(error_reply(ErrorCode::kInvalid, v1::STATUS_FAILED_PRECONDITION, "MTU 9000 too big"));
  return out;
}

TEST(ReplyCodec, EveryReplyRoundTrips) {
  std::set<std::size_t> kinds;
  for (const Reply& reply : every_reply()) {
    kinds.insert(reply.result.index());
    const v1::Reply wire = encode_reply(reply);
    EXPECT_EQ(wire.code() == v1::ERROR_CODE_NONE, reply.ok()) << wire.ShortDebugString();
    auto back = parse_reply(wire);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, reply) << wire.ShortDebugString();
    auto from_bytes = parse_reply_bytes(as_bytes(encode_reply_bytes(reply)));
    ASSERT_TRUE(from_bytes) << from_bytes.error().message;
    EXPECT_EQ(*from_bytes, reply);
  }
  EXPECT_EQ(kinds.size(), std::variant_size_v<ReplyResult>) << "a result kind is missing from the table";
}

TEST(ReplyCodec, CodeAndStatusGoTogether) {
  for (ErrorCode code :
       {ErrorCode::kNotFound, ErrorCode::kExists, ErrorCode::kInvalid, ErrorCode::kBusy, ErrorCode::kInternal}) {
    EXPECT_EQ(code_for_status(status_for_code(code)), code) << error_code_name(code);
    EXPECT_EQ(error_reply(code, "x").status, status_for_code(code));
  }
  // A reply without a code (an older server) gets it from its status; an
  // OK reply has none whatever the wire says; a code newer than this build
  // falls back to the status too.
  v1::Reply wire;
  wire.set_status(v1::STATUS_NOT_FOUND);
  EXPECT_EQ(parse_reply(wire)->code, ErrorCode::kNotFound);
  wire.set_code(static_cast<v1::ErrorCode>(77));
  EXPECT_EQ(parse_reply(wire)->code, ErrorCode::kNotFound);
  wire.set_code(v1::ERROR_CODE_BUSY);
  EXPECT_EQ(parse_reply(wire)->code, ErrorCode::kBusy) << "the code wins over the status when set";
  wire.set_status(v1::STATUS_OK);
  EXPECT_EQ(parse_reply(wire)->code, ErrorCode::kNone);
  wire.set_status(static_cast<v1::Status>(99));
  wire.clear_code();
  EXPECT_EQ(parse_reply(wire)->code, ErrorCode::kInternal) << "an unknown status is a failure";
  EXPECT_FALSE(parse_reply(wire)->ok());
}

// ---- malformed input ---------------------------------------------------------

std::string request_error(const std::string& bytes) {
  auto parsed = parse_request_bytes(as_bytes(bytes));
  if (!std::holds_alternative<RequestError>(parsed)) return {};
  return std::get<RequestError>(parsed).message;
}

TEST(RequestCodec, TruncatedRequestsNeverCrash) {
  for (const Command& command : every_command()) {
    const std::string bytes = encode_request_bytes(command);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      auto parsed = parse_request_bytes(as_bytes(bytes.substr(0, n)));
      if (const auto* error = std::get_if<RequestError>(&parsed)) {
        EXPECT_FALSE(error->message.empty());
        EXPECT_LT(error->message.size(), 200U);
      }
    }
  }
  EXPECT_EQ(std::get<RequestError>(parse_request_bytes(as_bytes(std::string("\x0a\xff\xff\xff\xff\xff")))).status,
            v1::STATUS_MALFORMED);
}

TEST(RequestCodec, WrongWireTypesAreClearErrors) {
  // Field 10 (network_add) as a varint instead of a message: an unknown
  // field, so no operation at all.
  std::string no_op("\x08\x01\x50\x05", 4);
  EXPECT_NE(request_error(no_op).find("no operation"), std::string::npos) << request_error(no_op);
  // network_add { vni as a string } -> vni 0, refused as a VNI.
  std::string vni_as_text("\x52\x04\x0a\x02\x34\x32", 6);
  EXPECT_NE(request_error(vni_as_text).find("VNI 0"), std::string::npos) << request_error(vni_as_text);
  // fdb_add { mac as a varint } -> no MAC.
  std::string mac_as_number("\xf2\x01\x06\x08\x2a\x10\x01\x18\x02", 9);
  EXPECT_NE(request_error(mac_as_number).find("MAC"), std::string::npos) << request_error(mac_as_number);
}

TEST(RequestCodec, OversizeStringsAreRefusedWithoutEchoingThem) {
  const std::string huge(1 << 20, 'a');
  auto expect_short_refusal = [](const v1::Request& request, const char* field) {
    auto parsed = parse_request(request);
    ASSERT_TRUE(std::holds_alternative<RequestError>(parsed)) << field;
    const auto& error = std::get<RequestError>(parsed);
    EXPECT_EQ(error.status, v1::STATUS_INVALID_ARGUMENT);
    EXPECT_LT(error.message.size(), 200U) << field;
    EXPECT_NE(error.message.find(field), std::string::npos) << error.message;
  };
  v1::Request r;
  auto* port = r.mutable_port_add();
  port->set_iface(huge);
  port->set_vni(42);
  expect_short_refusal(r, "iface");
  port->set_iface("veth1");
  port->set_mac(huge);
  expect_short_refusal(r, "mac");
  port->set_mac("02:42:0a:00:00:02");
  port->add_ips(huge);
  expect_short_refusal(r, "ips");
  port->clear_ips();
  port->set_driver(huge);
  expect_short_refusal(r, "driver");
  port->set_driver("");
  for (int i = 0; i < 100000; ++i) port->add_ips("10.0.0.1/24");
  expect_short_refusal(r, "addresses");

  v1::Request fdb;
  fdb.mutable_fdb_add()->set_vni(42);
  fdb.mutable_fdb_add()->set_mac("02:42:0a:00:00:02");
  fdb.mutable_fdb_add()->set_vtep(huge);
  expect_short_refusal(fdb, "vtep");
  v1::Request neigh;
  neigh.mutable_neigh_del()->set_vni(42);
  neigh.mutable_neigh_del()->set_ip(huge);
  expect_short_refusal(neigh, "ip");
}

TEST(ReplyCodec, TruncatedAndGarbageRepliesNeverCrash) {
  for (const Reply& reply : every_reply()) {
    const std::string bytes = encode_reply_bytes(reply);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      auto parsed = parse_reply_bytes(as_bytes(bytes.substr(0, n)));
      if (!parsed) {
        EXPECT_FALSE(parsed.error().message.empty());
      }
    }
  }
  auto garbage = parse_reply_bytes(as_bytes(std::string("\x0a\xff\xff\xff\xff\xff")));
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.error().message.find("not a ferry.dataplane.v1.Reply"), std::string::npos);
}

TEST(ReplyCodec, BadAddressesInRepliesNameTheirPlace) {
  const struct {
    v1::Reply wire;
    const char* says;
  } cases[] = {
      {[] {
         v1::Reply r;
         auto* p = r.mutable_dump()->add_ports();
         p->set_port_id(3);
         p->set_mac("02:42:0a:00:00");
         return r;
       }(),
       "dump: port 3 mac"},
      {[] {
         v1::Reply r;
         auto* p = r.mutable_dump()->add_ports();
         p->set_mac("02:42:0a:00:00:01");
         p->add_ips("10.0.0.1/33");
         return r;
       }(),
       "ips"},
      {[] {
         v1::Reply r;
         auto* f = r.mutable_dump()->add_fdb();
         f->set_vni(42);
         f->set_mac("02:42:0a:00:00:01");
         f->set_vtep("10.0.0");
         return r;
       }(),
       "fdb entry of network 42 vtep"},
      {[] {
         v1::Reply r;
         auto* n = r.mutable_dump()->add_neighbors();
         n->set_ip("fd00::1::2");
         n->set_mac("02:42:0a:00:00:01");
         return r;
       }(),
       "neighbour"},
      {[] {
         v1::Reply r;
         r.mutable_dump()->add_networks()->add_flood_vteps("x");
         return r;
       }(),
       "flood_vteps"},
      {[] {
         v1::Reply r;
         r.mutable_dump()->add_underlay()->set_mac("zz");
         return r;
       }(),
       "underlay mac"},
      {[] {
         v1::Reply r;
         r.mutable_health()->set_vtep_ip(std::string(1 << 20, '1'));
         return r;
       }(),
       "health: vtep_ip"},
      {[] {
         v1::Reply r;
         r.mutable_health()->set_gateway("fd00::1");
         return r;
       }(),
       "health: gateway"},
  };
  for (const auto& c : cases) {
    auto parsed = parse_reply(c.wire);
    ASSERT_FALSE(parsed) << c.says;
    EXPECT_NE(parsed.error().message.find(c.says), std::string::npos) << parsed.error().message;
    EXPECT_LT(parsed.error().message.size(), 300U) << c.says;
  }
}

}  // namespace
}  // namespace ferry::dp_api
