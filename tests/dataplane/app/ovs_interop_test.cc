// Wire compatibility with Open vSwitch. Host 1 runs ferry-dataplane as users
// run it (the kernel-UDP uplink, a vnet endpoint port, the container with the
// kernel's default offloads); host 2 runs Open vSwitch's userspace datapath
// as Debian's openvswitch-switch ships it (ovs-vswitchd with
// datapath_type=netdev; this kernel has no openvswitch module): bridge br-phy
// holds the underlay (ul0 as an afxdp port, the host's underlay address on
// br-phy's own port, which OVS's tunnel routing uses) and br-int the
// container's veth (afxdp) and a VXLAN port towards Ferry's VTEP, with OVS's
// default NORMAL (learning) flow. ARP crosses by Ferry's flood list and OVS's
// flooding; ping and byte-checked TCP both ways.
//
// OVS 3.1's userspace datapath does no TSO on tunnels, so the OVS-side
// container has TX checksum offload off (what a userspace switch without
// offloads needs) and the default MTU 1450.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "tests/dataplane/app/dp_fixture.h"

namespace ferry::dptest {
namespace {

using namespace std::chrono_literals;

constexpr std::uint32_t kVni = 5001;

// ovsdb-server and ovs-vswitchd in one host namespace, with a database and
// run directory of their own (nothing shared with a system OVS), stopped
// when the test ends however it ends.
class OvsHost {
 public:
  OvsHost(std::string ns, std::string dir) : ns_(std::move(ns)), dir_(std::move(dir)) {}

  void start() {
    std::filesystem::create_directories(dir_);
    ASSERT_TRUE(run({"ovsdb-tool", "create", dir_ + "/conf.db", "/usr/share/openvswitch/vswitch.ovsschema"}));
    auto db = Background::start(env({"ovsdb-server", dir_ + "/conf.db", "--remote=punix:" + dir_ + "/db.sock",
                                     "--unixctl=" + dir_ + "/ovsdb-server.ctl", "--no-chdir"}),
                                dir_ + "/ovsdb-server.out");
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    ASSERT_TRUE(harness::wait_until([&] { return std::filesystem::exists(dir_ + "/db.sock"); }, 10s, 50ms))
        << db_->log();
    ASSERT_TRUE(vsctl({"--no-wait", "init"}));
    // One PMD thread that sleeps when idle: two data paths share two cores here.
    ASSERT_TRUE(vsctl(
        {"--no-wait", "set", "Open_vSwitch", ".", "other_config:pmd-cpu-mask=0x2", "other_config:pmd-maxsleep=100"}));
    auto sw =
        Background::start(env({"ovs-vswitchd", "unix:" + dir_ + "/db.sock", "--unixctl=" + dir_ + "/ovs-vswitchd.ctl",
                               "--no-chdir", "--log-file=" + dir_ + "/ovs-vswitchd.log"}),
                          dir_ + "/ovs-vswitchd.out");
    ASSERT_TRUE(sw) << sw.error().message;
    switchd_ = std::move(*sw);
  }

  ~OvsHost() {
    if (switchd_) switchd_->stop(10s);
    if (db_) db_->stop(5s);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  OvsHost(const OvsHost&) = delete;
  OvsHost& operator=(const OvsHost&) = delete;

  // ovs-vsctl against this host's database; the output on failure.
  ::testing::AssertionResult vsctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"ovs-vsctl", "--db=unix:" + dir_ + "/db.sock", "--timeout=30"});
    return run(args);
  }

  std::string log() const {
    auto r = harness::run_command({"tail", "-20", dir_ + "/ovs-vswitchd.log"});
    return r ? r->output : "";
  }

 private:
  std::vector<std::string> env(std::vector<std::string> argv) const {
    argv.insert(argv.begin(),
                {"ip", "netns", "exec", ns_, "env", "OVS_RUNDIR=" + dir_, "OVS_DBDIR=" + dir_, "OVS_LOGDIR=" + dir_});
    return argv;
  }
  static ::testing::AssertionResult run(const std::vector<std::string>& argv) {
    auto r = harness::run_command(argv);
    if (r && r->succeeded()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << harness::join_argv(argv) << ": " << (r ? r->output : r.error().message);
  }

  std::string ns_;
  std::string dir_;
  std::unique_ptr<Background> db_;
  std::unique_ptr<Background> switchd_;
};

class OvsInterop : public DataplaneTest {};

TEST_F(OvsInterop, FerryAndOpenVswitchCarryArpPingAndTcpBothWays) {
  if (!std::filesystem::exists("/usr/sbin/ovs-vswitchd") ||
      !std::filesystem::exists("/usr/share/openvswitch/vswitch.ovsschema")) {
    GTEST_SKIP() << "Open vSwitch is not installed (Debian: openvswitch-switch; scripts/install-deps installs it)";
  }
  start_dataplane(1);
  ASSERT_FALSE(HasFailure());
  auto a = add_container("a", 1, "va", "02:00:00:00:01:01", "10.0.0.1");
  auto b = add_container("b", 2, "vb", "02:00:00:00:02:01", "10.0.0.2", 1450, 0, "af_packet");

  const std::string ns2 = topo_->host(2);
  const std::string ovs_vtep = topo_->underlay_address(2);
  OvsHost ovs(ns2, "/tmp/ferry-test-" + topo_->prefix() + "-ovs");
  ASSERT_NO_FATAL_FAILURE(ovs.start());
  // The underlay: ul0 into br-phy, its address onto br-phy's own port.
  auto flush = exec(ns2, {"ip", "addr", "flush", "dev", "ul0"});
  ASSERT_TRUE(flush.succeeded()) << flush.output;
  ASSERT_TRUE(ovs.vsctl({"add-br", "br-phy", "--", "set", "bridge", "br-phy", "datapath_type=netdev"}));
  ASSERT_TRUE(ovs.vsctl({"add-port", "br-phy", "ul0", "--", "set", "interface", "ul0", "type=afxdp"})) << ovs.log();
  for (const std::vector<std::string>& step :
       {std::vector<std::string>{"ip", "addr", "add", ovs_vtep + "/24", "dev", "br-phy"},
        {"ip", "link", "set", "br-phy", "up"}}) {
    auto r = exec(ns2, step);
    ASSERT_TRUE(r.succeeded()) << harness::join_argv(step) << ": " << r.output;
  }
  ASSERT_TRUE(ovs.vsctl({"add-br", "br-int", "--", "set", "bridge", "br-int", "datapath_type=netdev"}));
  ASSERT_TRUE(ovs.vsctl({"add-port", "br-int", "vx0", "--", "set", "interface", "vx0", "type=vxlan",
                         "options:remote_ip=" + vtep_ip(1), "options:local_ip=" + ovs_vtep,
                         "options:key=" + std::to_string(kVni)}));
  ASSERT_TRUE(ovs.vsctl({"add-port", "br-int", b.iface, "--", "set", "interface", b.iface, "type=afxdp"})) << ovs.log();

  // Ferry's UDP uplink leaves the outer UDP checksum to the NIC (UDP_SEGMENT
  // needs checksum offload). A veth passes it on unfinished, and OVS, which
  // reads frames raw through AF_XDP, verifies it and drops the frame. A NIC
  // completes it on the wire; the fabric's port towards OVS does here (with
  // TX checksum offload off, the kernel completes it as it forwards).
  auto wire = harness::run_command({"ip", "netns", "exec", topo_->fabric(), "ethtool", "-K", "p2", "tx", "off"});
  ASSERT_TRUE(wire && wire->succeeded()) << (wire ? wire->output : wire.error().message);

  // Ferry's side: the network, a's port, b's MAC behind OVS's VTEP, OVS's VTEP in the flood list.
  const std::string v = std::to_string(kVni);
  ctl_ok(1, {"net", "add", "--vni", v});
  ctl_ok(1, {"port", "add", "--vni", v, "--iface", a.iface, "--mac", a.mac, "--ip", a.ip + "/24"});
  ctl_ok(1, {"fdb", "add", "--vni", v, "--mac", b.mac, "--vtep", ovs_vtep});
  ctl_ok(1, {"flood", "add", "--vni", v, "--vtep", ovs_vtep});
  ASSERT_FALSE(HasFailure());

  // The afxdp ports take a few seconds to open: the first ping may wait.
  ASSERT_TRUE(topo_->ping(a.ns, b.ip, 30s)) << ctl(1, {"stats"}).output << ovs.log();
  ASSERT_TRUE(topo_->ping(b.ns, a.ip, 10s)) << ctl(1, {"stats"}).output << ovs.log();
  for (const auto* c : {&a, &b}) {
    auto ping =
        exec(c->ns, {"ping", "-n", "-q", "-c", "5", "-i", "0.05", "-M", "do", "-s", "1422", c == &a ? b.ip : a.ip});
    EXPECT_NE(ping.output.find(" 0% packet loss"), std::string::npos) << ping.output;
  }
  const auto ab = transfer(a, b, 32u << 20, false);
  const auto ba = transfer(a, b, 32u << 20, true);
  report_throughput("ovs_interop_ferry_to_ovs", ab.bits_per_second);
  report_throughput("ovs_interop_ovs_to_ferry", ba.bits_per_second);
  const auto stats = stats_json(1);
  EXPECT_EQ(stat_value(stats, "drops", "unknown_src_vtep"), 0U) << stats["drops"].dump();
  EXPECT_EQ(stat_value(stats, "drops", "bad_vxlan_flags"), 0U) << stats["drops"].dump();
  EXPECT_GT(stat_value(stats, "counters", "decap"), 0U) << stats.dump(1);
}

}  // namespace
}  // namespace ferry::dptest
