// IPv6 containers on two Ferry hosts (the underlay stays IPv4): ping6 both
// ways with each data plane's ND proxy answering the containers' Neighbor
// Solicitations, and a container sending from an IPv6 address it was not
// given is dropped and counted. Needs root (integration suite); --no-huge.
#include <gtest/gtest.h>

#include "tests/dataplane/app/dp_fixture.h"

namespace ferry::dptest {
namespace {

using namespace std::chrono_literals;

class Ipv6TwoHosts : public TwoHosts {
 protected:
  // add_container() turns IPv6 off in the container; turn it back on and
  // give eth0 `ip6` without duplicate address detection (a fresh address
  // would otherwise be tentative for a second or two).
  void enable_ipv6(const Container& c, const std::string& ip6) {
    for (const auto& argv : std::vector<std::vector<std::string>>{
             {"sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0"},
             {"sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=0"},
             {"sysctl", "-qw", "net.ipv6.conf.eth0.disable_ipv6=0"},
             {"ip", "-6", "addr", "add", ip6 + "/64", "dev", "eth0", "nodad"},
         }) {
      const auto r = exec(c.ns, argv);
      ASSERT_TRUE(r.succeeded()) << harness::join_argv(argv) << " in " << c.ns << ": " << r.output;
    }
  }

  // ICMPv6 echo requests the container's kernel received (/proc/net/snmp6 is per namespace).
  std::uint64_t icmp6_in_echos(const Container& c) {
    const auto r = exec(c.ns, {"cat", "/proc/net/snmp6"});
    const auto at = r.output.find("Icmp6InEchos ");
    return at == std::string::npos ? 0 : std::stoull(r.output.substr(at + 13));
  }

  // Port with both addresses, the remote's MAC, IPv4 and IPv6 neighbour
  // entries, and its host in the flood list: what the agent programs.
  void program_dual(int host, const Container& local, const std::string& local_ip6, const Container& remote,
                    const std::string& remote_ip6) {
    ctl_ok(host, {"net", "add", "--vni", "100"});
    ctl_ok(host, {"port", "add", "--vni", "100", "--iface", local.iface, "--mac", local.mac, "--ip", local.ip + "/24",
                  "--ip", local_ip6 + "/64"});
    ctl_ok(host, {"fdb", "add", "--vni", "100", "--mac", remote.mac, "--vtep", vtep_ip(remote.host)});
    ctl_ok(host, {"neigh", "add", "--vni", "100", "--ip", remote.ip, "--mac", remote.mac});
    ctl_ok(host, {"neigh", "add", "--vni", "100", "--ip", remote_ip6, "--mac", remote.mac});
    ctl_ok(host, {"flood", "add", "--vni", "100", "--vtep", vtep_ip(remote.host)});
  }
};

TEST_F(Ipv6TwoHosts, Ping6WithTheNdProxyAndSpoofedSourcesDropped) {
  const std::string a6 = "fd00:100::1";
  const std::string b6 = "fd00:100::2";
  auto a = add_container("a", 1, "va", "02:00:00:00:01:01", "10.0.0.1");
  auto b = add_container("b", 2, "vb", "02:00:00:00:02:01", "10.0.0.2");
  ASSERT_NO_FATAL_FAILURE(enable_ipv6(a, a6));
  ASSERT_NO_FATAL_FAILURE(enable_ipv6(b, b6));
  program_dual(1, a, a6, b, b6);
  program_dual(2, b, b6, a, a6);
  ASSERT_FALSE(HasFailure());

  // The dump shows the IPv6 addresses in canonical text.
  const auto show = ctl_json(1, {"show"});
  EXPECT_NE(show.dump().find("\"fd00:100::1/64\""), std::string::npos) << show.dump();
  EXPECT_NE(show.dump().find("\"fd00:100::2\""), std::string::npos) << show.dump();

  ASSERT_TRUE(topo_->ping(a.ns, b6, 10s)) << ctl(1, {"stats"}).output;
  ASSERT_TRUE(topo_->ping(b.ns, a6, 5s));
  auto ping = exec(a.ns, {"ping", "-6", "-n", "-q", "-c", "20", "-i", "0.01", b6});
  EXPECT_NE(ping.output.find(" 0% packet loss"), std::string::npos) << ping.output;
  // 1400 bytes of payload + 48 of headers fit the 1450 MTU, unfragmented.
  auto big = exec(a.ns, {"ping", "-6", "-n", "-q", "-c", "3", "-i", "0.05", "-s", "1400", "-M", "do", b6});
  EXPECT_NE(big.output.find(" 0% packet loss"), std::string::npos) << big.output;
  // IPv4 still works beside it.
  EXPECT_TRUE(topo_->ping(a.ns, b.ip, 5s));

  // Each data plane answered its container's solicitation; each container
  // learnt the other's MAC from that answer.
  for (int host : {1, 2}) {
    const auto stats = stats_json(host);
    EXPECT_GT(stat_value(stats, "counters", "nd_proxied"), 0u) << "host " << host << ": " << stats.dump();
    EXPECT_EQ(stat_value(stats, "drops", "bad_nd"), 0u) << stats.dump();
    EXPECT_EQ(stat_value(stats, "drops", "bad_nd_checksum"), 0u) << stats.dump();
    EXPECT_EQ(stat_value(stats, "drops", "spoofed_src_ip6"), 0u) << stats.dump();
  }
  auto neigh = exec(a.ns, {"ip", "-6", "neigh", "show", b6});
  EXPECT_NE(neigh.output.find(b.mac), std::string::npos) << neigh.output;

  // A source address a was not given: every echo request is dropped at
  // host 1 and counted. (The neighbour is pinned so the kernel sends the
  // echo requests themselves, not solicitations from that address.)
  ASSERT_TRUE(exec(a.ns, {"ip", "-6", "addr", "add", "fd00:100::99/64", "dev", "eth0", "nodad"}).succeeded());
  ASSERT_TRUE(
      exec(a.ns, {"ip", "-6", "neigh", "replace", b6, "lladdr", b.mac, "dev", "eth0", "nud", "permanent"}).succeeded());
  const auto spoofed_before = stat_value(stats_json(1), "drops", "spoofed_src_ip6");
  const auto echoes_before = icmp6_in_echos(b);
  auto spoofed = exec(a.ns, {"ping", "-6", "-n", "-q", "-c", "3", "-i", "0.05", "-W", "1", "-I", "fd00:100::99", b6});
  EXPECT_FALSE(spoofed.succeeded()) << spoofed.output;
  EXPECT_GE(stat_value(stats_json(1), "drops", "spoofed_src_ip6") - spoofed_before, 3u);
  EXPECT_EQ(icmp6_in_echos(b), echoes_before) << "a spoofed echo request reached b";
  // Without that address (the kernel may pick it as the source for b6 too:
  // same /64) the real one still works.
  ASSERT_TRUE(exec(a.ns, {"ip", "-6", "addr", "del", "fd00:100::99/64", "dev", "eth0"}).succeeded());
  EXPECT_TRUE(topo_->ping(a.ns, b6, 5s));
  EXPECT_GT(icmp6_in_echos(b), echoes_before);
}

}  // namespace
}  // namespace ferry::dptest
