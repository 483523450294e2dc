// Writes the golden v1 messages of tests/dataplane/api/golden/ (README.md
// there): every request as today's builders make it (the agent's
// to_request, ferryctl's and the client's own fields) and every reply as
// today's Service answers it, against real core tables (EAL --no-huge) and
// a fake port backend. Run once; the files are committed.
//
//   make_golden OUTPUT_DIR
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>

#include "control/agent/dp_state.h"
#include "dataplane/app/run_loop.h"
#include "dataplane/app/service.h"

namespace ferry::dataplane::app {
namespace {

class FakePorts final : public PortBackend {
 public:
  Result<OpenedPort> attach(const std::string& iface, PortDriver driver) override {
    if (iface == "broken0") return make_error("attach {}: probe failed: Input/output error", iface);
    if (iface == "nosuch0") return make_error("interface '{}' does not exist in this network namespace", iface);
    return OpenedPort{next++, "net_af_packet" + iface, driver == PortDriver::kAfXdp ? "af_xdp" : "af_packet"};
  }
  void set_polled(const std::vector<PortId>&) override {}
  void detach(const OpenedPort&) override {}
  [[nodiscard]] PortCounters counters(PortId port) const override {
    return PortCounters{100U + port, 6400U + port, 90U + port, 5760U + port, 3, 1};
  }
  [[nodiscard]] bool link_up(PortId) const override { return true; }
  [[nodiscard]] std::vector<WorkerInfo> workers() const override { return {WorkerInfo{0, 1000, 250, 700, 40, 2}}; }
  PortId next = 1;
};

std::string g_dir;

void write(const std::string& name, const std::string& bytes) {
  std::ofstream out(g_dir + "/" + name + ".bin", std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  std::printf("%s.bin %zu bytes\n", name.c_str(), bytes.size());
}

void write(const std::string& name, const google::protobuf::Message& m) { write(name, m.SerializeAsString()); }

// What the client sends: it sets api_version on every request.
v1::Request sent(v1::Request r) {
  r.set_api_version(dp_api::kApiVersion);
  return r;
}

int run() {
  using agent::Op;
  using agent::OpKind;
  using agent::to_request;
  std::map<std::string, v1::Request> requests;
  // The agent's reconciler (every mutation it sends).
  requests["request_network_add"] = to_request(Op{OpKind::kNetworkAdd, 4242, {}, {}, {}});
  requests["request_network_del"] = to_request(Op{OpKind::kNetworkDel, 7, {}, {}, {}});
  requests["request_port_add"] =
      to_request(Op{OpKind::kPortAdd,
                    4242,
                    "fyaaaa",
                    {},
                    agent::PortSpec{4242, "02:00:0a:00:00:02", {"10.0.0.2/24", "fd00:10::2/64"}}});
  requests["request_port_del"] = to_request(Op{OpKind::kPortDel, 4242, "fyaaaa", {}, {}});
  requests["request_fdb_add"] = to_request(Op{OpKind::kFdbAdd, 4242, "02:00:0a:00:00:03", "172.31.0.102", {}});
  requests["request_fdb_del"] = to_request(Op{OpKind::kFdbDel, 4242, "02:00:0a:00:00:03", {}, {}});
  requests["request_neigh_add"] = to_request(Op{OpKind::kNeighAdd, 4242, "10.0.0.3", "02:00:0a:00:00:03", {}});
  requests["request_neigh_add_ipv6"] = to_request(Op{OpKind::kNeighAdd, 4242, "fd00:10::3", "02:00:0a:00:00:03", {}});
  requests["request_neigh_del"] = to_request(Op{OpKind::kNeighDel, 4242, "10.0.0.3", {}, {}});
  requests["request_flood_add"] = to_request(Op{OpKind::kFloodAdd, 4242, "172.31.0.102", {}, {}});
  requests["request_flood_del"] = to_request(Op{OpKind::kFloodDel, 4242, "172.31.0.102", {}, {}});
  // ferryctl dp (its fields, then the client's api_version).
  {
    v1::Request r;
    r.mutable_network_add()->set_vni(100);
    r.mutable_network_add()->set_flood_unknown(true);
    requests["request_network_add_flood"] = sent(r);
  }
  {
    v1::Request r;
    r.mutable_network_set_flood()->set_vni(100);
    r.mutable_network_set_flood()->set_flood_unknown(true);
    requests["request_network_set_flood"] = sent(r);
  }
  {
    v1::Request r;
    auto* m = r.mutable_port_add();
    m->set_vni(100);
    m->set_iface("veth9");
    m->set_mac("02:00:00:00:00:09");
    m->add_ips("10.0.0.9/24");
    m->add_ips("10.0.1.9");
    m->add_ips("fd00::9/64");
    m->set_driver("af_xdp");
    requests["request_port_add_driver"] = sent(r);
  }
  {
    v1::Request r;
    r.mutable_stats_get();
    requests["request_stats_get"] = sent(r);
  }
  {
    v1::Request r;
    r.mutable_dump_get();
    requests["request_dump_get"] = sent(r);
  }
  {
    v1::Request r;
    r.mutable_health_get();
    requests["request_health_get"] = sent(r);
  }
  {
    v1::Request r;
    r.mutable_version_get();
    requests["request_version_get"] = sent(r);
  }
  for (const auto& [name, r] : requests) write(name, r);

  // Replies from a live Service.
  Config config;
  config.uplink = "ul0";
  config.vtep = *dp_api::parse_ipv4_prefix("172.31.0.101/24");
  config.api_path = "/tmp/unused";
  config.api_endpoint = "ipc:///tmp/unused";
  PipelineConfig pc;
  pc.underlay.vtep_ip = Ipv4Addr{config.vtep.addr.value};
  pc.underlay.uplink_mac = *MacAddr::parse("02:fe:00:00:00:01");
  pc.uplink_port = 0;
  pc.tables.mac_capacity = 1024;
  pc.tables.neighbour_capacity = 1024;
  pc.tables.vtep_capacity = 64;
  pc.tables.max_workers = 1;
  pc.tables.name = "golden";
  auto pipeline = Pipeline::create(pc);
  if (!pipeline) {
    std::fprintf(stderr, "%s\n", pipeline.error().message.c_str());
    return 1;
  }
  UnderlayResolver::Params params;
  params.local = config.vtep;
  UnderlayResolver resolver(params);
  const auto now = std::chrono::steady_clock::now();
  resolver.set_vteps(
      {*dp_api::parse_ipv4("172.31.0.102"), *dp_api::parse_ipv4("172.31.0.103"), *dp_api::parse_ipv4("192.0.2.50")});
  resolver.on_arp(*dp_api::parse_ipv4("172.31.0.102"), *dp_api::parse_mac("02:fe:00:00:00:02"), now);
  Identity identity;
  identity.boot_id = "5f0c1a2b3c4d5e6f";
  identity.start_time_unix_ms = 1765000000000ULL;
  identity.started = std::chrono::steady_clock::now();
  identity.uplink = OpenedPort{0, "net_af_packet_ul0", "net_af_packet"};
  identity.underlay_mtu = 1500;
  FakePorts ports;
  Service service(config, **pipeline, ports, resolver, identity);
  auto call = [&](const v1::Request& r) {
    const std::string in = r.SerializeAsString();
    return service.handle_bytes({reinterpret_cast<const std::uint8_t*>(in.data()), in.size()});
  };
  auto must_ok = [&](const v1::Request& r) {
    v1::Reply reply;
    reply.ParseFromString(call(r));
    if (reply.status() != v1::STATUS_OK) std::fprintf(stderr, "refused: %s\n", reply.message().c_str());
  };
  write("reply_ok", call(requests["request_network_add"]));  // network 4242 added
  write("reply_port_added", call(requests["request_port_add"]));
  must_ok(requests["request_fdb_add"]);
  must_ok(requests["request_neigh_add"]);
  must_ok(requests["request_neigh_add_ipv6"]);
  must_ok(requests["request_flood_add"]);
  must_ok(requests["request_network_add_flood"]);
  write("reply_dump", call(requests["request_dump_get"]));
  {
    // One registered worker context, so the stats have an lcore entry; it
    // is released before anything waits for a grace period.
    rte_mempool* pool = rte_pktmbuf_pool_create("golden", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    auto lcore = (*pipeline)->make_lcore(0, 0, pool);
    if (!lcore) {
      std::fprintf(stderr, "%s\n", lcore.error().message.c_str());
      return 1;
    }
    write("reply_stats", call(requests["request_stats_get"]));
    (*pipeline)->release_lcore(**lcore);
  }
  write("reply_health", call(requests["request_health_get"]));
  write("reply_version", call(requests["request_version_get"]));
  // Every refusal status.
  write("reply_already_exists", call(requests["request_network_add"]));
  write("reply_not_found", call(requests["request_network_del"]));  // network 7
  {
    v1::Request r;
    r.mutable_network_add()->set_vni(0);
    write("reply_invalid_argument", call(sent(r)));
  }
  {
    v1::Request r;
    r.mutable_network_del()->set_vni(4242);  // still has a port
    write("reply_failed_precondition", call(sent(r)));
  }
  write("reply_malformed", service.handle_bytes(std::vector<std::uint8_t>{0x0a, 0xff, 0xff, 0xff, 0xff, 0xff}));
  {
    v1::Request r;
    r.mutable_version_get();
    r.set_api_version(2);
    write("reply_unsupported_version", call(r));
  }
  {
    v1::Request r;
    auto* m = r.mutable_port_add();
    m->set_vni(4242);
    m->set_iface("broken0");
    m->set_mac("02:00:0a:00:00:0e");
    write("reply_internal", call(sent(r)));
  }
  service.detach_all();
  return 0;
}

}  // namespace
}  // namespace ferry::dataplane::app

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_golden OUTPUT_DIR\n");
    return 2;
  }
  ferry::dataplane::app::g_dir = argv[1];
  std::vector<std::string> args{"make_golden",
                                "--no-huge",
                                "-m",
                                "512",
                                "--no-pci",
                                "--no-shconf",
                                "--no-telemetry",
                                "--lcores=0",
                                "--log-level=error",
                                "--file-prefix=ferry-golden-" + std::to_string(getpid())};
  std::vector<char*> eal_argv;
  for (auto& a : args) eal_argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    std::fprintf(stderr, "EAL did not start\n");
    return 1;
  }
  const int rc = ferry::dataplane::app::run();
  rte_eal_cleanup();
  return rc;
}
