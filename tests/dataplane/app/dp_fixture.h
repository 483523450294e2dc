// Integration fixture for ferry-dataplane: a harness Topology (hosts on one
// underlay bridge), a ferry-dataplane per host started inside the host's
// namespace, containers wired to hosts with veth pairs, and helpers to drive
// `ferryctl dp` and measure with ping/iperf3. Everything is torn down by the
// destructors (processes first, then namespaces), also when a test fails; the
// harness's signal handler covers SIGINT/SIGTERM.
//
// The data planes run as users run them (make demo, the example
// configuration): the kernel-UDP uplink and vnet endpoint ports, with the
// underlay offloads that mode needs and containers that keep the kernel's
// default offloads. A fixture about the DPDK uplink or af_packet/af_xdp
// endpoint ports says so by overriding dataplane_mode() (dpdk_mode()), or a
// single start_dataplane() call by naming --uplink-mode/--uplink-driver or
// --endpoint-driver itself.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "tests/harness/command.h"
#include "tests/harness/topology.h"

namespace ferry::dptest {

// A child process in its own process group, output to a log file; SIGTERM
// (then SIGKILL after the grace, 20 s by default) on destruction. How long
// each exit took after SIGTERM is printed, so a slow shutdown shows in the
// test's output before it becomes a failure.
class Background {
 public:
  static Result<std::unique_ptr<Background>> start(const std::vector<std::string>& argv, const std::string& log_path);
  ~Background();
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  // Stops it and returns its exit status (-1 if killed by a signal, or still
  // running `grace` after SIGTERM: then SIGKILLed).
  int stop(std::chrono::milliseconds grace = kStopGrace);
  [[nodiscard]] bool running();
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] std::string log() const;

  static constexpr std::chrono::milliseconds kStopGrace{20000};

 private:
  Background() = default;
  std::string name_;  // the program, for the exit-time line
  pid_t pid_ = -1;
  int status_ = -1;
  bool reaped_ = false;
  std::string log_path_;
};

struct Container {
  std::string ns;     // namespace name
  std::string iface;  // host-side veth name
  std::string mac;
  std::string ip;  // without prefix length
  int host = 0;
};

// Prints a throughput figure ("[ measure  ] what: N Mbit/s") and records it
// as a test property.
void report_throughput(const std::string& what, double bits_per_second);

// A value of `ferryctl dp stats --json`: section "counters" or "drops"; 0
// when the data plane did not report it (zero counters are left out).
std::uint64_t stat_value(const nlohmann::json& stats, const char* section, const std::string& name);

// How a fixture runs its data planes unless a start_dataplane() call says
// otherwise.
struct DataplaneMode {
  // The kernel owns the VTEP address (on ul0, next to SUBNET.N) and the
  // data plane reaches it through kernel UDP sockets (--uplink-mode
  // kernel_uplink_mode below); the underlay veths keep TX checksum offload
  // on (UDP_SEGMENT needs it) and agents gossip on the VTEP address. false: a
  // DPDK port owns ul0 (af_packet with --no-huge, af_xdp with --hugepages);
  // TX checksum offload off on the underlay veths (a userspace reader of the
  // peer must see complete checksums) and agents gossip on SUBNET.N.
  bool udp_uplink = true;
  // --endpoint-driver: vnet (containers keep the kernel's default offloads),
  // af_packet or af_xdp (TX checksum offload off in the container).
  std::string endpoint_driver = "vnet";
  // With udp_uplink: the --uplink-mode. auto (what users run): tap (the UDP
  // uplink plus a tunnel-GSO tap) where the kernel has tunnel GSO on taps,
  // Linux >= 6.17, udp elsewhere. Tests about the UDP uplink's own counters
  // name udp.
  std::string kernel_uplink_mode = "auto";
};

// The DPDK uplink with af_packet endpoint ports: for tests about those.
inline DataplaneMode dpdk_mode() { return DataplaneMode{false, "af_packet"}; }
// The tap uplink with vnet endpoint ports.
inline DataplaneMode tap_mode() { return DataplaneMode{true, "vnet", "tap"}; }
// The kernel-UDP uplink (no tap) with `endpoint_driver` ports.
inline DataplaneMode udp_mode(const std::string& endpoint_driver = "vnet") {
  return DataplaneMode{true, endpoint_driver, "udp"};
}

class DataplaneTest : public harness::TopologyTest {
 public:  // helpers are public so free test functions can share them
  // The mode of this fixture's data planes (default: UDP uplink, vnet ports).
  [[nodiscard]] virtual DataplaneMode dataplane_mode() const { return {}; }
  // The default topology with the underlay offloads of dataplane_mode().
  // Fixtures that change the topology start from this one.
  [[nodiscard]] harness::TopologyConfig topology_config() const override;
  void TearDown() override;

  // Underlay address ferry-dataplane uses on host i: SUBNET.(100+i). The
  // kernel keeps SUBNET.i on ul0 for itself (kernel VTEPs, debugging).
  [[nodiscard]] std::string vtep_ip(int host) const;
  [[nodiscard]] std::string api(int host) const;

  // Where host i's agent gossips: the VTEP address with a UDP uplink (the
  // same interface and address as VXLAN), SUBNET.i otherwise.
  [[nodiscard]] std::string gossip_address(int host) const;

  // Starts ferry-dataplane on host i (with --no-huge unless `extra` says
  // --hugepages) in dataplane_mode() and waits until its API answers.
  // `extra` naming --uplink-mode or --uplink-driver decides the uplink
  // alone (nothing is added for it, not even the VTEP address on ul0);
  // naming --endpoint-driver, the endpoint port type.
  void start_dataplane(int host, std::vector<std::string> extra = {});
  // With --uplink-mode udp whatever the fixture's mode: host i's kernel gets
  // the VTEP address on ul0 first (it owns it in that mode). UDP_SEGMENT
  // needs TX checksum offload on ul0 (TopologyConfig::underlay_tx_checksum).
  void start_udp_dataplane(int host, std::vector<std::string> extra = {});
  // Puts host i's VTEP address on its ul0 (idempotent): the kernel owns it
  // with a UDP uplink.
  void own_vtep_address(int host);
  // Stops it with SIGTERM; returns the exit status.
  int stop_dataplane(int host);

  // Runs `ferryctl dp --api <host's API> args...`.
  harness::CommandResult ctl(int host, const std::vector<std::string>& args);
  // Same, and fails the test unless it exits 0.
  void ctl_ok(int host, const std::vector<std::string>& args);

  // A container namespace NAME on `host` with eth0 (MAC, IP/24, MTU `mtu`)
  // whose host end is `iface` in the host namespace (MTU `host_mtu`; 0 = mtu
  // + 50, the underlay MTU). eth0's offloads are what an endpoint port of type
  // `driver` needs (dp_api::container_keeps_offloads): TX checksum off for
  // af_packet and af_xdp, the kernel's defaults for vnet. An empty `driver`
  // is the endpoint type of the data plane running on `host` (the fixture's
  // when none runs there).
  Container add_container(const std::string& name, int host, const std::string& iface, const std::string& mac,
                          const std::string& ip, unsigned mtu = 1450, unsigned host_mtu = 0,
                          const std::string& driver = "");

  // The pair most tests start from: container a (veth va, 02:00:00:00:01:01,
  // 10.0.0.1) on host 1 and b (vb, 02:00:00:00:02:01, 10.0.0.2) on host 2,
  // network 100 added on both data planes (which must be running), each
  // programmed with the other. `driver` as add_container()'s.
  struct TwoContainers {
    Container a;
    Container b;
  };
  TwoContainers two_containers_on_two_hosts(const std::string& driver = "");

  // a and b (at the fixture's MTU of 1450) reach each other both ways, with
  // the largest unfragmented ping (1 422 bytes of payload, DF) too.
  void ping_both_ways(const Container& a, const Container& b);

  // A counter of `ferryctl dp stats --json` (0 when not reported).
  static std::uint64_t counter(const nlohmann::json& stats, const std::string& name) {
    return stat_value(stats, "counters", name);
  }

  // Programs `host`'s data plane: port for `local`, and for every remote
  // container (on other hosts, same VNI) its MAC, neighbour entry and flood
  // list entry for its host.
  void program(int host, std::uint32_t vni, const Container& local, const std::vector<Container>& remotes);

  // Runs argv in namespace ns.
  harness::CommandResult exec(const std::string& ns, const std::vector<std::string>& argv,
                              std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // TCP throughput client -> server (iperf3, `seconds` long, `streams`
  // parallel connections), bits/s; fails the test on error.
  double iperf(const Container& client, const Container& server, int seconds, bool reverse, int streams = 1);

  // iperf3 -s (one test) in `server`'s namespace on port 5201, once it listens.
  std::unique_ptr<Background> start_iperf_server(const Container& server);

  // A bounded TCP transfer (tcp_count, port 5202): exactly `bytes` of a
  // known pattern client -> server (server -> client with `reverse`); the
  // bytes the receiver got and the rate (for reporting only). Fails the test
  // unless every byte arrived, unchanged.
  struct Transfer {
    std::uint64_t bytes_received = 0;
    double bits_per_second = 0;
  };
  Transfer transfer(const Container& client, const Container& server, std::uint64_t bytes, bool reverse);

  // `ferryctl dp ARGS --json` on a host, parsed (fails the test when it cannot).
  nlohmann::json ctl_json(int host, std::vector<std::string> args);
  nlohmann::json stats_json(int host) { return ctl_json(host, {"stats"}); }
  nlohmann::json health_json(int host) { return ctl_json(host, {"health"}); }

  // Makes kernel_side's host a Linux kernel VTEP for `vni` (vxlan device at
  // `vxlan_mtu` in a bridge with kernel_side's veth, static FDB towards
  // ferry_side's data plane) and programs ferry_side's data plane towards it
  // (port, FDB entry and flood entry, no neighbour entry: ARP crosses by
  // head-end replication). Fails the test when a step fails.
  void peer_with_kernel_vtep(const Container& ferry_side, const Container& kernel_side, std::uint32_t vni,
                             unsigned vxlan_mtu);

  // rx_packets of a container's eth0.
  std::uint64_t rx_packets(const Container& c);

  std::map<int, std::unique_ptr<Background>> dataplanes_;
  std::map<int, std::string> endpoint_drivers_;  // --endpoint-driver of each running data plane
  std::vector<std::unique_ptr<Background>> others_;
  std::vector<std::string> logs_;  // removed when the test passes
};

// A fixture whose data planes run the DPDK uplink with af_packet endpoint
// ports (tests about those).
class DpdkUplinkTest : public DataplaneTest {
 public:
  [[nodiscard]] DataplaneMode dataplane_mode() const override { return dpdk_mode(); }
};

// Two hosts, each with a ferry-dataplane running from the start.
class TwoHosts : public DataplaneTest {
 protected:
  void SetUp() override {
    DataplaneTest::SetUp();
    if (HasFatalFailure()) return;
    start_dataplane(1);
    start_dataplane(2);
  }
};

// The same with the DPDK uplink and af_packet endpoint ports.
class TwoHostsDpdk : public TwoHosts {
 public:
  [[nodiscard]] DataplaneMode dataplane_mode() const override { return dpdk_mode(); }
};

}  // namespace ferry::dptest
