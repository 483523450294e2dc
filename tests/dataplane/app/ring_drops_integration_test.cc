// rx_missed counts what the kernel drops in a port's socket rings (DPDK
// 22.11's PMDs do not: af_packet never reads PACKET_STATISTICS, af_xdp
// leaves out XDP_STATISTICS.rx_ring_full). The data plane is stopped
// (SIGSTOP, always continued again by a guard) while a raw socket sends far
// more frames than the ring holds into the port; afterwards every frame sent
// is either received or counted missed.
#include <gtest/gtest.h>
#include <signal.h>

#include "tests/dataplane/app/dp_fixture.h"

namespace ferry::dptest {
namespace {

using namespace std::chrono_literals;

constexpr int kFrames = 20000;  // the af_packet ring holds 4096 per queue, af_xdp's 2048

// Stops a process until destroyed (or for at most the test's life).
class Stopped {
 public:
  explicit Stopped(pid_t pid) : pid_(pid) { ok_ = kill(pid_, SIGSTOP) == 0; }
  ~Stopped() { kill(pid_, SIGCONT); }
  Stopped(const Stopped&) = delete;
  Stopped& operator=(const Stopped&) = delete;
  [[nodiscard]] bool ok() const { return ok_; }

 private:
  pid_t pid_;
  bool ok_ = false;
};

// Sends `count` 64-byte frames dst -> src on `iface` in namespace `ns` from a
// raw packet socket; returns how many the kernel took (-1 on failure).
int blast(DataplaneTest& t, const std::string& ns, const std::string& iface, const std::string& dst,
          const std::string& src, int count) {
  const std::string script =
      "import socket,sys\n"
      "s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\n"
      "s.bind((sys.argv[1], 0))\n"
      "f = bytes.fromhex(sys.argv[2].replace(':', '') + sys.argv[3].replace(':', '')) + b'\\x88\\xb5' + bytes(46)\n"
      "n = 0\n"
      "for _ in range(int(sys.argv[4])):\n"
      "    n += s.send(f) == len(f)\n"
      "print(n)\n";
  const auto r = t.exec(ns, {"python3", "-c", script, iface, dst, src, std::to_string(count)});
  if (!r.succeeded()) {
    ADD_FAILURE() << r.output;
    return -1;
  }
  return std::stoi(r.output);
}

nlohmann::json port_stats(DataplaneTest& t, int host, const std::string& name) {
  const auto stats = t.stats_json(host);
  for (const auto& p : stats["ports"]) {
    if (p["name"] == name) return p;
  }
  return nlohmann::json::object();
}

std::uint64_t field(const nlohmann::json& port, const char* name) {
  return port.contains(name) ? port[name].get<std::uint64_t>() : 0;
}

// Stops host 1's data plane, sends kFrames into port `name` (through `ns`'s
// `iface`), continues it and waits until rx_packets + rx_missed has grown by
// what was sent. Tolerance: 1 % for frames the kernel itself sends meanwhile.
void overrun_and_account(DataplaneTest& t, const std::string& name, const std::string& ns, const std::string& iface,
                         const std::string& dst, const std::string& src) {
  const auto before = port_stats(t, 1, name);
  ASSERT_FALSE(before.empty()) << t.stats_json(1).dump();
  int sent = 0;
  {
    Stopped stopped(t.dataplanes_.at(1)->pid());
    ASSERT_TRUE(stopped.ok());
    sent = blast(t, ns, iface, dst, src, kFrames);
  }
  ASSERT_GT(sent, kFrames / 2);
  std::uint64_t rx = 0;
  std::uint64_t missed = 0;
  const auto accounted = [&] {
    const auto now = port_stats(t, 1, name);
    rx = field(now, "rx_packets") - field(before, "rx_packets");
    missed = field(now, "rx_missed") - field(before, "rx_missed");
    return rx + missed >= static_cast<std::uint64_t>(sent);
  };
  const bool all = harness::wait_until(accounted, 10s, 100ms);
  std::printf("[ measure  ] %s: sent %d, rx_packets +%llu, rx_missed +%llu\n", name.c_str(), sent,
              static_cast<unsigned long long>(rx), static_cast<unsigned long long>(missed));
  EXPECT_TRUE(all) << "sent " << sent << ", received " << rx << ", missed " << missed;
  EXPECT_GT(missed, 0U);
  EXPECT_GE(missed, static_cast<std::uint64_t>(sent) / 2) << "the ring holds a few thousand frames at most";
  EXPECT_LE(rx + missed, static_cast<std::uint64_t>(sent) + static_cast<std::uint64_t>(sent) / 100);
}

TEST_F(DpdkUplinkTest, AfPacketRingDropsAreCountedAsRxMissed) {
  start_dataplane(1);
  ASSERT_FALSE(HasFailure());
  auto a = add_container("a", 1, "va", "02:00:00:00:01:01", "10.0.0.1");
  ctl_ok(1, {"net", "add", "--vni", "100"});
  program(1, 100, a, {});
  ASSERT_FALSE(HasFailure());
  overrun_and_account(*this, "va", a.ns, "eth0", "02:00:00:00:09:09", a.mac);
  // Once running again, frames get through as before and nothing more is missed.
  const auto before = port_stats(*this, 1, "va");
  const int sent = blast(*this, a.ns, "eth0", "02:00:00:00:09:09", a.mac, 500);
  std::uint64_t rx = 0;
  EXPECT_TRUE(harness::wait_until(
      [&] {
        rx = field(port_stats(*this, 1, "va"), "rx_packets") - field(before, "rx_packets");
        return rx >= static_cast<std::uint64_t>(sent);
      },
      10s, 100ms))
      << rx << " of " << sent;
  EXPECT_EQ(field(port_stats(*this, 1, "va"), "rx_missed"), field(before, "rx_missed"));
}

TEST_F(DpdkUplinkTest, AfXdpRingFullDropsAreCountedAsRxMissed) {
  start_dataplane(1, {"--hugepages"});
  if (HasFailure()) return;
  if (health_json(1)["uplink_driver"] != "af_xdp") GTEST_SKIP() << "no af_xdp uplink here (hugepages short?)";
  // Frames to the uplink's MAC from host 2's kernel (no data plane there).
  const auto mac = exec(topo_->host(1), {"cat", "/sys/class/net/ul0/address"});
  const auto src = exec(topo_->host(2), {"cat", "/sys/class/net/ul0/address"});
  ASSERT_TRUE(mac.succeeded() && src.succeeded());
  const auto trim = [](const std::string& s) { return s.substr(0, s.find_first_of(" \n")); };
  overrun_and_account(*this, "uplink", topo_->host(2), "ul0", trim(mac.output), trim(src.output));
}

}  // namespace
}  // namespace ferry::dptest
