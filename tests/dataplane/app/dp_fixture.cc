#include "tests/dataplane/app/dp_fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string_view>
#include <thread>

#include "dataplane/api/port_types.h"

#ifndef FERRY_DATAPLANE_BIN
#error "FERRY_DATAPLANE_BIN must name the ferry-dataplane executable"
#endif
#ifndef FERRY_CTL_BIN
#error "FERRY_CTL_BIN must name the ferryctl executable"
#endif

// The bounded-transfer tool (tests/dataplane/app/tcp_count.cc); binaries
// that do not define it cannot use transfer().
#ifndef FERRY_TCP_COUNT_BIN
#define FERRY_TCP_COUNT_BIN ""
#endif

namespace ferry::dptest {
namespace {

// tcp_count recv's report, "received N bad M", into its two numbers.
bool parse_received_bad(std::string_view text, std::uint64_t& received, std::uint64_t& bad) {
  constexpr std::string_view kReceived = "received ";
  constexpr std::string_view kBad = " bad ";
  if (!text.starts_with(kReceived)) return false;
  const char* const end = text.data() + text.size();
  const auto first = std::from_chars(text.data() + kReceived.size(), end, received);
  if (first.ec != std::errc() || !std::string_view(first.ptr, end).starts_with(kBad)) return false;
  return std::from_chars(first.ptr + kBad.size(), end, bad).ec == std::errc();
}

}  // namespace

Result<std::unique_ptr<Background>> Background::start(const std::vector<std::string>& argv,
                                                      const std::string& log_path) {
  std::unique_ptr<Background> bg(new Background());
  bg->log_path_ = log_path;
  // `ip netns exec NS ferry-agent ...`: named after the Ferry program it runs.
  for (const std::string& arg : argv) {
    const std::string base = std::filesystem::path(arg).filename();
    if (bg->name_.empty() || base.rfind("ferry-", 0) == 0) bg->name_ = base;
    if (base.rfind("ferry-", 0) == 0) break;
  }
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return make_sys_error(errno, "open {}", log_path);
  }
  std::vector<char*> args;
  std::vector<std::string> copy(argv);
  args.reserve(copy.size() + 1);
  for (auto& a : copy) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return make_sys_error(errno, "fork");
  }
  if (pid == 0) {
    setpgid(0, 0);
    const int null_fd = open("/dev/null", O_RDONLY);
    dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(log_fd);
  setpgid(pid, pid);
  bg->pid_ = pid;
  return bg;
}

bool Background::running() {
  if (reaped_) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    reaped_ = true;
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return false;
  }
  return true;
}

int Background::stop(std::chrono::milliseconds grace) {
  if (!running()) return status_;
  kill(-pid_, SIGTERM);
  const auto signalled = std::chrono::steady_clock::now();
  const bool exited = harness::wait_until([this] { return !running(); }, grace);
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - signalled).count();
  std::cout << "[exit] " << name_ << " (pid " << pid_ << ") " << (exited ? "exited " : "still running ") << took
            << " ms after SIGTERM" << (exited ? "" : ": killed") << std::endl;
  if (!exited) {
    kill(-pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    status_ = -1;
  }
  return status_;
}

Background::~Background() { stop(); }

std::string Background::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void DataplaneTest::TearDown() {
  others_.clear();
  for (auto& [host, dp] : dataplanes_) {
    const int rc = dp->stop();
    EXPECT_EQ(rc, 0) << "ferry-dataplane on host " << host << " did not exit cleanly:\n" << dp->log();
    if (::testing::Test::HasFailure()) {
      std::cerr << "---- ferry-dataplane host " << host << " log ----\n" << dp->log() << "\n";
    }
  }
  // Logs of a passing test are of no further use; failing ones stay in /tmp.
  if (!::testing::Test::HasFailure()) {
    for (const auto& path : logs_) std::remove(path.c_str());
  }
  dataplanes_.clear();
  endpoint_drivers_.clear();
  harness::TopologyTest::TearDown();
}

std::string DataplaneTest::vtep_ip(int host) const { return topo_->config().subnet + "." + std::to_string(100 + host); }

std::string DataplaneTest::api(int host) const {
  return "ipc:///tmp/ferry-test-" + topo_->prefix() + "-h" + std::to_string(host) + ".sock";
}

harness::TopologyConfig DataplaneTest::topology_config() const {
  harness::TopologyConfig c;
  c.underlay_tx_checksum = dataplane_mode().udp_uplink;
  return c;
}

std::string DataplaneTest::gossip_address(int host) const {
  return dataplane_mode().udp_uplink ? vtep_ip(host) : topo_->underlay_address(host);
}

void DataplaneTest::own_vtep_address(int host) {
  auto r = exec(topo_->host(host), {"ip", "addr", "replace", vtep_ip(host) + "/24", "dev", "ul0"});
  ASSERT_TRUE(r.succeeded()) << r.output;
}

void DataplaneTest::start_dataplane(int host, std::vector<std::string> extra) {
  const DataplaneMode mode = dataplane_mode();
  const auto names = [&](const char* flag) { return std::find(extra.begin(), extra.end(), flag) != extra.end(); };
  if (!names("--uplink-mode") && !names("--uplink-driver") && mode.udp_uplink) {
    ASSERT_NO_FATAL_FAILURE(own_vtep_address(host));
    extra.insert(extra.begin(), {"--uplink-mode", mode.kernel_uplink_mode});
  } else if (!names("--uplink-mode") && !mode.udp_uplink) {
    extra.insert(extra.begin(), {"--uplink-mode", "dpdk"});
  }
  if (!names("--endpoint-driver")) extra.insert(extra.end(), {"--endpoint-driver", mode.endpoint_driver});
  const auto driver = std::find(extra.begin(), extra.end(), "--endpoint-driver") + 1;
  endpoint_drivers_[host] = driver != extra.end() ? *driver : mode.endpoint_driver;
  std::vector<std::string> argv{"ip",       "netns", "exec",      topo_->host(host),     FERRY_DATAPLANE_BIN,
                                "--uplink", "ul0",   "--vtep-ip", vtep_ip(host) + "/24", "--api",
                                api(host)};
  bool huge = false;
  for (const auto& e : extra) huge = huge || e == "--hugepages";
  std::erase(extra, std::string("--hugepages"));
  if (!huge) argv.emplace_back("--no-huge");
  argv.insert(argv.end(), extra.begin(), extra.end());
  const std::string log = "/tmp/ferry-test-" + topo_->prefix() + "-h" + std::to_string(host) + ".log";
  logs_.push_back(log);
  auto bg = Background::start(argv, log);
  ASSERT_TRUE(bg) << bg.error().message;
  auto* proc = bg->get();
  dataplanes_[host] = std::move(*bg);
  const bool up = harness::wait_until([&] { return !proc->running() || ctl(host, {"health"}).succeeded(); },
                                      std::chrono::seconds(20), std::chrono::milliseconds(100));
  ASSERT_TRUE(up && proc->running()) << "ferry-dataplane on host " << host << " did not come up:\n" << proc->log();
}

void DataplaneTest::start_udp_dataplane(int host, std::vector<std::string> extra) {
  ASSERT_NO_FATAL_FAILURE(own_vtep_address(host));
  extra.insert(extra.begin(), {"--uplink-mode", "udp"});
  start_dataplane(host, std::move(extra));
}

int DataplaneTest::stop_dataplane(int host) {
  auto it = dataplanes_.find(host);
  if (it == dataplanes_.end()) return -1;
  const int rc = it->second->stop();
  dataplanes_.erase(it);
  endpoint_drivers_.erase(host);
  return rc;
}

harness::CommandResult DataplaneTest::ctl(int host, const std::vector<std::string>& args) {
  std::vector<std::string> argv{FERRY_CTL_BIN, "dp", "--api", api(host), "--timeout-ms", "5000"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = harness::run_command(argv, std::chrono::seconds(20));
  if (!r) return harness::CommandResult{-1, false, r.error().message};
  return *r;
}

void DataplaneTest::ctl_ok(int host, const std::vector<std::string>& args) {
  const auto r = ctl(host, args);
  ASSERT_TRUE(r.succeeded()) << "ferryctl dp " << harness::join_argv(args) << " (host " << host
                             << ") failed: " << r.output;
}

harness::CommandResult DataplaneTest::exec(const std::string& ns, const std::vector<std::string>& argv,
                                           std::chrono::milliseconds timeout) {
  auto r = topo_->exec(ns, argv, timeout);
  if (!r) return harness::CommandResult{-1, false, r.error().message};
  return *r;
}

Container DataplaneTest::add_container(const std::string& name, int host, const std::string& iface,
                                       const std::string& mac, const std::string& ip, unsigned mtu, unsigned host_mtu,
                                       const std::string& driver) {
  if (driver.empty()) {
    const auto started = endpoint_drivers_.find(host);
    const std::string chosen = started != endpoint_drivers_.end() ? started->second : dataplane_mode().endpoint_driver;
    return add_container(name, host, iface, mac, ip, mtu, host_mtu, chosen);
  }
  Container c;
  auto ns = topo_->add_container(name);
  EXPECT_TRUE(ns) << ns.error().message;
  c.ns = ns ? *ns : "";
  c.iface = iface;
  c.mac = mac;
  c.ip = ip;
  c.host = host;
  const std::string h = topo_->host(host);
  std::vector<std::vector<std::string>> steps{
      {"ip", "-n", h, "link", "add", iface, "type", "veth", "peer", "name", "eth0", "netns", c.ns},
      {"ip", "-n", h, "link", "set", iface, "mtu", std::to_string(host_mtu != 0 ? host_mtu : mtu + 50), "up"},
      {"ip", "netns", "exec", h, "sysctl", "-qw", "net.ipv6.conf." + iface + ".disable_ipv6=1"},
      {"ip", "netns", "exec", c.ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"},
      {"ip", "-n", c.ns, "link", "set", "eth0", "address", mac, "mtu", std::to_string(mtu), "up"},
      {"ip", "-n", c.ns, "addr", "add", ip + "/24", "dev", "eth0"},
  };
  if (!dp_api::container_keeps_offloads(driver)) {
    // FACTS.md: TCP through a forwarder without virtio-net headers needs
    // complete checksums.
    steps.push_back({"ip", "netns", "exec", c.ns, "ethtool", "-K", "eth0", "tx", "off"});
  }
  for (const auto& step : steps) {
    auto r = harness::run_command(step);
    EXPECT_TRUE(r && r->succeeded()) << harness::join_argv(step) << ": " << (r ? r->output : r.error().message);
  }
  return c;
}

void DataplaneTest::ping_both_ways(const Container& a, const Container& b) {
  ASSERT_TRUE(topo_->ping(a.ns, b.ip, std::chrono::seconds(10))) << ctl(a.host, {"stats"}).output;
  ASSERT_TRUE(topo_->ping(b.ns, a.ip, std::chrono::seconds(5)));
  for (const auto* c : {&a, &b}) {
    const auto ping =
        exec(c->ns, {"ping", "-n", "-q", "-c", "3", "-i", "0.05", "-M", "do", "-s", "1422", c == &a ? b.ip : a.ip});
    EXPECT_NE(ping.output.find(" 0% packet loss"), std::string::npos) << ping.output;
  }
}

DataplaneTest::TwoContainers DataplaneTest::two_containers_on_two_hosts(const std::string& driver) {
  TwoContainers pair{add_container("a", 1, "va", "02:00:00:00:01:01", "10.0.0.1", 1450, 0, driver),
                     add_container("b", 2, "vb", "02:00:00:00:02:01", "10.0.0.2", 1450, 0, driver)};
  ctl_ok(1, {"net", "add", "--vni", "100"});
  ctl_ok(2, {"net", "add", "--vni", "100"});
  program(1, 100, pair.a, {pair.b});
  program(2, 100, pair.b, {pair.a});
  return pair;
}

void DataplaneTest::program(int host, std::uint32_t vni, const Container& local,
                            const std::vector<Container>& remotes) {
  const std::string v = std::to_string(vni);
  ctl_ok(host, {"port", "add", "--vni", v, "--iface", local.iface, "--mac", local.mac, "--ip", local.ip + "/24"});
  std::vector<int> flood_hosts;
  for (const auto& r : remotes) {
    ctl_ok(host, {"fdb", "add", "--vni", v, "--mac", r.mac, "--vtep", vtep_ip(r.host)});
    ctl_ok(host, {"neigh", "add", "--vni", v, "--ip", r.ip, "--mac", r.mac});
    if (std::find(flood_hosts.begin(), flood_hosts.end(), r.host) == flood_hosts.end()) {
      flood_hosts.push_back(r.host);
      ctl_ok(host, {"flood", "add", "--vni", v, "--vtep", vtep_ip(r.host)});
    }
  }
}

// iperf3 -s for one test, listening in `server`'s namespace on 5201.
std::unique_ptr<Background> DataplaneTest::start_iperf_server(const Container& server) {
  const std::string server_log = "/tmp/ferry-test-" + topo_->prefix() + "-iperf3-server.log";
  logs_.push_back(server_log);
  auto srv = Background::start({"ip", "netns", "exec", server.ns, "iperf3", "-s", "-1", "-p", "5201"}, server_log);
  EXPECT_TRUE(srv) << srv.error().message;
  if (!srv) return nullptr;
  const bool listening = harness::wait_until(
      [&] {
        auto r = exec(server.ns, {"ss", "-ltnH", "sport = :5201"});
        return r.succeeded() && r.output.find("5201") != std::string::npos;
      },
      std::chrono::seconds(5), std::chrono::milliseconds(50));
  EXPECT_TRUE(listening) << (*srv)->log();
  return std::move(*srv);
}

DataplaneTest::Transfer DataplaneTest::transfer(const Container& client, const Container& server, std::uint64_t bytes,
                                                bool reverse) {
  const Container& from = reverse ? server : client;
  const Container& to = reverse ? client : server;
  const std::string tool = FERRY_TCP_COUNT_BIN;
  if (tool.empty()) {
    ADD_FAILURE() << "this test binary was built without FERRY_TCP_COUNT_BIN";
    return {};
  }
  const std::string log = "/tmp/ferry-test-" + topo_->prefix() + "-tcp-count.log";
  logs_.push_back(log);
  auto rx = Background::start({"ip", "netns", "exec", to.ns, tool, "recv", "5202"}, log);
  EXPECT_TRUE(rx) << rx.error().message;
  if (!rx) return {};
  const bool listening = harness::wait_until(
      [&] {
        auto r = exec(to.ns, {"ss", "-ltnH", "sport = :5202"});
        return r.succeeded() && r.output.find("5202") != std::string::npos;
      },
      std::chrono::seconds(5), std::chrono::milliseconds(50));
  EXPECT_TRUE(listening) << (*rx)->log();
  const auto start = std::chrono::steady_clock::now();
  auto r = exec(from.ns, {tool, "send", to.ip, "5202", std::to_string(bytes)}, std::chrono::seconds(120));
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  // The sender returns once the receiver has read everything and closed.
  harness::wait_until([&] { return !(*rx)->running(); }, std::chrono::seconds(5));
  const int rc = (*rx)->stop();
  EXPECT_TRUE(r.succeeded()) << "tcp_count send failed: " << r.output;
  EXPECT_EQ(rc, 0) << "tcp_count recv: " << (*rx)->log();
  Transfer t;
  // The receiver's last words: "received N bad M".
  std::uint64_t received = 0;
  std::uint64_t bad = 0;
  if (!parse_received_bad((*rx)->log(), received, bad)) {
    ADD_FAILURE() << "tcp_count recv said: " << (*rx)->log();
    return t;
  }
  t.bytes_received = received;
  t.bits_per_second = took.count() > 0 ? static_cast<double>(received) * 8 / took.count() : 0;
  EXPECT_EQ(t.bytes_received, bytes) << "sent " << bytes << " bytes";
  EXPECT_EQ(bad, 0U) << "bytes that arrived different from what was sent";
  return t;
}

double DataplaneTest::iperf(const Container& client, const Container& server, int seconds, bool reverse, int streams) {
  auto srv = start_iperf_server(server);
  if (!srv) return 0;
  std::vector<std::string> argv{"iperf3", "-c", server.ip, "-p", "5201", "-t", std::to_string(seconds), "-J"};
  if (reverse) argv.emplace_back("-R");
  if (streams > 1) {
    argv.emplace_back("-P");
    argv.push_back(std::to_string(streams));
  }
  auto r = exec(client.ns, argv, std::chrono::seconds(seconds + 20));
  srv->stop();
  EXPECT_TRUE(r.succeeded()) << "iperf3 failed: " << r.output;
  if (!r.succeeded()) return 0;
  auto json = nlohmann::json::parse(r.output, nullptr, false);
  if (json.is_discarded()) {
    ADD_FAILURE() << "iperf3 output is not JSON: " << r.output;
    return 0;
  }
  return json["end"]["sum_received"]["bits_per_second"].get<double>();
}

nlohmann::json DataplaneTest::ctl_json(int host, std::vector<std::string> args) {
  args.emplace_back("--json");
  const auto r = ctl(host, args);
  EXPECT_TRUE(r.succeeded()) << r.output;
  auto json = nlohmann::json::parse(r.output, nullptr, false);
  EXPECT_FALSE(json.is_discarded()) << r.output;
  return json.is_discarded() ? nlohmann::json::object() : json;
}

void DataplaneTest::peer_with_kernel_vtep(const Container& ferry_side, const Container& kernel_side, std::uint32_t vni,
                                          unsigned vxlan_mtu) {
  const std::string ns = topo_->host(kernel_side.host);
  const std::string kernel_vtep = topo_->underlay_address(kernel_side.host);
  const std::string ferry_vtep = vtep_ip(ferry_side.host);
  const std::string vx = "vx" + std::to_string(vni);
  const std::string br = "br" + std::to_string(vni);
  const std::vector<std::vector<std::string>> kernel{
      {"ip", "-n", ns, "link", "add", vx, "type", "vxlan", "id", std::to_string(vni), "local", kernel_vtep, "dstport",
       "4789", "nolearning", "dev", harness::Topology::underlay_ifname()},
      {"ip", "-n", ns, "link", "add", br, "type", "bridge"},
      {"ip", "-n", ns, "link", "set", vx, "master", br, "mtu", std::to_string(vxlan_mtu), "up"},
      {"ip", "-n", ns, "link", "set", kernel_side.iface, "master", br},
      {"ip", "-n", ns, "link", "set", br, "up"},
      {"ip", "netns", "exec", ns, "bridge", "fdb", "append", "00:00:00:00:00:00", "dev", vx, "dst", ferry_vtep},
      {"ip", "netns", "exec", ns, "bridge", "fdb", "add", ferry_side.mac, "dev", vx, "dst", ferry_vtep},
  };
  for (const auto& step : kernel) {
    auto r = harness::run_command(step);
    ASSERT_TRUE(r && r->succeeded()) << harness::join_argv(step) << ": " << (r ? r->output : "");
  }
  const int h = ferry_side.host;
  const std::string v = std::to_string(vni);
  ctl_ok(h, {"net", "add", "--vni", v});
  ctl_ok(h, {"port", "add", "--vni", v, "--iface", ferry_side.iface, "--mac", ferry_side.mac, "--ip",
             ferry_side.ip + "/24"});
  ctl_ok(h, {"fdb", "add", "--vni", v, "--mac", kernel_side.mac, "--vtep", kernel_vtep});
  ctl_ok(h, {"flood", "add", "--vni", v, "--vtep", kernel_vtep});
}

std::uint64_t DataplaneTest::rx_packets(const Container& c) {
  auto r = exec(c.ns, {"cat", "/sys/class/net/eth0/statistics/rx_packets"});
  return r.succeeded() ? std::stoull(r.output) : 0;
}

void report_throughput(const std::string& what, double bits_per_second) {
  std::printf("[ measure  ] %s: %.0f Mbit/s\n", what.c_str(), bits_per_second / 1e6);
  ::testing::Test::RecordProperty(what, std::to_string(static_cast<long long>(bits_per_second / 1e6)) + " Mbit/s");
}

std::uint64_t stat_value(const nlohmann::json& stats, const char* section, const std::string& name) {
  if (!stats.contains(section) || !stats[section].contains(name)) return 0;
  return stats[section][name].get<std::uint64_t>();
}

}  // namespace ferry::dptest
