// ferry-bench gen end to end (root): a veth pair in a fresh namespace, the
// real binary sending on one end and receiving on the other through
// net_af_packet (no hugepages needed) and net_af_xdp (when hugepages are
// free), checked through its --json output.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

std::string bench_binary() {
  const char* path = std::getenv("FERRY_BENCH");  // NOLINT(concurrency-mt-unsafe): read before any thread
  return path != nullptr ? path : "bench/ferry-bench";
}

// Runs a command to completion; true when it exits 0. For set-up only.
bool sh(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;  // NOLINT(concurrency-mt-unsafe): one thread
}

// The namespace this process created, for the signal handler.
char g_namespace_name[64] = {};

extern "C" void remove_namespace_and_exit(int signal) {
  if (g_namespace_name[0] != '\0') {
    const pid_t pid = fork();
    if (pid == 0) {
      const char* argv[] = {"ip", "netns", "del", g_namespace_name, nullptr};
      execvp("ip", const_cast<char* const*>(argv));
      _exit(127);
    }
    if (pid > 0) waitpid(pid, nullptr, 0);
  }
  ::signal(signal, SIG_DFL);
  raise(signal);
}

// A namespace holding veth pair ga <-> gb, removed in the destructor (and on
// SIGINT/SIGTERM, e.g. meson's timeout).
class VethNamespace {
 public:
  VethNamespace() {
    static int counter = 0;
    name_ = "ferrygen-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
    std::snprintf(g_namespace_name, sizeof(g_namespace_name), "%s", name_.c_str());
    struct sigaction action {};
    action.sa_handler = remove_namespace_and_exit;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    ok_ = sh("ip netns add " + name_) && sh("ip -n " + name_ + " link add ga type veth peer name gb") &&
          sh("ip -n " + name_ + " link set ga up") && sh("ip -n " + name_ + " link set gb up") &&
          // No IPv6 chatter (router solicitations, MLD) on the test link.
          sh("ip netns exec " + name_ + " sysctl -qw net.ipv6.conf.all.disable_ipv6=1");
  }
  ~VethNamespace() {
    sh("ip netns del " + name_);
    g_namespace_name[0] = '\0';
  }
  VethNamespace(const VethNamespace&) = delete;
  VethNamespace& operator=(const VethNamespace&) = delete;

  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  std::string name_;
  bool ok_ = false;
};

struct Outcome {
  int exit_code = -1;
  bool timed_out = false;
  std::string out;
  std::string err;
};

// A child process with stdout and stderr captured through pipes and stdin
// on /dev/null (the generator must never need it).
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    int out[2];
    int err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      dup2(err[1], 2);
      const int null = open("/dev/null", O_RDONLY);
      dup2(null, 0);
      std::vector<char*> args;
      args.reserve(argv.size() + 1);
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
    close(out[1]);
    close(err[1]);
    fds_[0] = out[0];
    fds_[1] = err[0];
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] const std::string& err() const { return text_[1]; }

  // Reads output until `done` holds (checked after each read) or the
  // deadline passes; false on timeout or when the child closed its pipes.
  bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    while (!done()) {
      if (Clock::now() >= deadline || !pump()) return false;
    }
    return true;
  }

  // Reads until both pipes close (the child exited) or the deadline passes, then reaps.
  Outcome finish(std::chrono::milliseconds limit, const std::function<void()>& on_output = {}) {
    Outcome o;
    const auto deadline = Clock::now() + limit;
    while ((fds_[0] >= 0 || fds_[1] >= 0) && Clock::now() < deadline) {
      pump();
      if (on_output) on_output();
    }
    if (fds_[0] >= 0 || fds_[1] >= 0) {
      o.timed_out = true;
      kill(pid_, SIGKILL);
    }
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    o.out = text_[0];
    o.err = text_[1];
    return o;
  }

 private:
  // One poll round (100 ms at most); false once both pipes are closed.
  bool pump() {
    pollfd fds[2] = {{fds_[0], POLLIN, 0}, {fds_[1], POLLIN, 0}};
    if (poll(fds, 2, 100) < 0) return false;
    for (int i = 0; i < 2; ++i) {
      if (fds_[i] < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      char buffer[4096];
      const ssize_t n = read(fds_[i], buffer, sizeof(buffer));
      if (n <= 0) {
        close(fds_[i]);
        fds_[i] = -1;
      } else {
        text_[i].append(buffer, static_cast<std::size_t>(n));
      }
    }
    return fds_[0] >= 0 || fds_[1] >= 0;
  }

  pid_t pid_ = -1;
  int fds_[2] = {-1, -1};
  std::string text_[2];
  bool reaped_ = false;
};

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

std::vector<std::string> gen_in(const VethNamespace& ns, std::vector<std::string> args) {
  std::vector<std::string> argv = {"ip", "netns", "exec", ns.name(), bench_binary(), "gen"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

json parse_report(const Outcome& o) {
  EXPECT_FALSE(o.timed_out) << "stderr:\n" << o.err;
  EXPECT_EQ(o.exit_code, 0) << "stderr:\n" << o.err;
  try {
    return json::parse(o.out);
  } catch (const json::exception& e) {
    ADD_FAILURE() << "not JSON: " << e.what() << "\nstdout:\n" << o.out << "\nstderr:\n" << o.err;
    return json::object();
  }
}

// Loss-free delivery, sequence clean, latency percentiles present and ordered.
void expect_clean_run(const json& r, double rate, double seconds) {
  ASSERT_TRUE(r.contains("tx") && r.contains("rx")) << r.dump(2);
  const auto sent = r["tx"]["packets"].get<std::uint64_t>();
  EXPECT_GE(static_cast<double>(sent), 0.5 * rate * seconds) << r.dump(2);
  EXPECT_LE(static_cast<double>(sent), rate * seconds + 1) << r.dump(2);
  EXPECT_EQ(r["rx"]["packets"].get<std::uint64_t>(), sent) << r.dump(2);
  EXPECT_EQ(r["lost"].get<std::uint64_t>(), 0U) << r.dump(2);
  EXPECT_EQ(r["rx"]["gaps"].get<std::uint64_t>(), 0U) << r.dump(2);
  EXPECT_EQ(r["rx"]["duplicates"].get<std::uint64_t>(), 0U) << r.dump(2);
  EXPECT_EQ(r["rx"]["reordered"].get<std::uint64_t>(), 0U) << r.dump(2);
  const json& l = r["latency_ns"];
  EXPECT_EQ(l["samples"].get<std::uint64_t>(), sent);
  EXPECT_GT(l["min"].get<double>(), 0.0);
  EXPECT_LE(l["min"].get<double>(), l["p50"].get<double>());
  EXPECT_LE(l["p50"].get<double>(), l["p99"].get<double>());
  EXPECT_LE(l["p99"].get<double>(), l["p999"].get<double>());
  EXPECT_LE(l["p999"].get<double>(), l["max"].get<double>());
  EXPECT_LT(l["max"].get<double>(), 2e9) << "latency above 2 s: clock mix-up";
}

std::optional<long> free_hugepages() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  long value = 0;
  while (meminfo >> key >> value) {
    if (key == "HugePages_Free:") return value;
    meminfo.ignore(256, '\n');
  }
  return std::nullopt;
}

const std::vector<std::string> kNoHuge = {"--", "--no-huge", "-m", "512"};

TEST(GenIntegration, AfPacketFixedRateTwoLcores) {
  VethNamespace ns;
  ASSERT_TRUE(ns.ok());
  auto args =
      std::vector<std::string>{"txrx",   "--pmd", "af_packet",  "--tx-iface", "ga",      "--rx-iface", "gb",
                               "--rate", "5k",    "--duration", "2",          "--flows", "64",         "--json"};
  args.insert(args.end(), kNoHuge.begin(), kNoHuge.end());
  args.insert(args.end(), {"-l", "0-1"});
  Child child(gen_in(ns, args));
  const json r = parse_report(child.finish(std::chrono::seconds(20)));
  expect_clean_run(r, 5000, 2);
  EXPECT_EQ(r["rx"]["foreign"].get<std::uint64_t>(), 0U);
  EXPECT_FALSE(r["interrupted"].get<bool>());
}

TEST(GenIntegration, VxlanEncapsulatedOneLcore) {
  VethNamespace ns;
  ASSERT_TRUE(ns.ok());
  auto args = std::vector<std::string>{
      "txrx",       "--pmd", "af_packet", "--tx-iface", "ga",   "--rx-iface",       "gb",     "--rate", "5k",
      "--duration", "1",     "--vxlan",   "--vni",      "4242", "--outer-udp-csum", "--size", "200",    "--json"};
  args.insert(args.end(), kNoHuge.begin(), kNoHuge.end());
  args.insert(args.end(), {"-l", "0"});
  Child child(gen_in(ns, args));
  const json r = parse_report(child.finish(std::chrono::seconds(20)));
  expect_clean_run(r, 5000, 1);
  EXPECT_EQ(r["rx"]["encapsulated"].get<std::uint64_t>(), r["rx"]["packets"].get<std::uint64_t>());
  EXPECT_EQ(r["rx"]["bytes"].get<std::uint64_t>(), 200 * r["rx"]["packets"].get<std::uint64_t>());
}

TEST(GenIntegration, JumboFramesOverAfPacket) {
  VethNamespace ns;
  ASSERT_TRUE(ns.ok());
  ASSERT_TRUE(sh("ip -n " + ns.name() + " link set ga mtu 9000") && sh("ip -n " + ns.name() + " link set gb mtu 9000"));
  auto args = std::vector<std::string>{"txrx",   "--pmd", "af_packet",  "--tx-iface", "ga",     "--rx-iface", "gb",
                                       "--rate", "2k",    "--duration", "1",          "--size", "9000",       "--json"};
  args.insert(args.end(), kNoHuge.begin(), kNoHuge.end());
  args.insert(args.end(), {"-l", "0"});
  Child child(gen_in(ns, args));
  const json r = parse_report(child.finish(std::chrono::seconds(20)));
  expect_clean_run(r, 2000, 1);
  EXPECT_EQ(r["rx"]["bytes"].get<std::uint64_t>(), 9000 * r["rx"]["packets"].get<std::uint64_t>());
}

TEST(GenIntegration, AfXdpFixedRate) {
  const auto free_pages = free_hugepages();
  if (!free_pages || *free_pages < 64) {
    GTEST_SKIP() << "net_af_xdp needs hugepages: fewer than 64 free (scripts/setup-hugepages)";
  }
  VethNamespace ns;
  ASSERT_TRUE(ns.ok());
  Child child(gen_in(ns, {"txrx",   "--pmd",  "af_xdp",     "--tx-iface", "ga",        "--rx-iface", "gb",
                          "--rate", "5k",     "--duration", "2",          "--tx-pool", "4095",       "--rx-pool",
                          "4095",   "--json", "--",         "-l",         "0-1",       "-m",         "64"}));
  const json r = parse_report(child.finish(std::chrono::seconds(20)));
  expect_clean_run(r, 5000, 2);
}

TEST(GenIntegration, SeparateTxAndRxProcessesSideBySide) {
  VethNamespace ns;
  ASSERT_TRUE(ns.ok());
  // rx listens at most 10 s and stops 0.5 s after the last frame; tx sends a fixed count.
  auto rx_args = std::vector<std::string>{"rx", "--pmd",   "af_packet", "--rx-iface", "gb",  "--duration",
                                          "10", "--drain", "0.5",       "--interval", "0.1", "--json"};
  rx_args.insert(rx_args.end(), kNoHuge.begin(), kNoHuge.end());
  rx_args.insert(rx_args.end(), {"-l", "0"});
  Child rx(gen_in(ns, rx_args));
  // Its first progress line means its port is up and polling.
  ASSERT_TRUE(rx.wait_until([&] { return count_of(rx.err(), "] tx") >= 1; }, std::chrono::seconds(10))) << rx.err();
  auto tx_args = std::vector<std::string>{"tx",   "--pmd",  "af_packet", "--tx-iface", "ga", "--count",
                                          "3000", "--rate", "10k",       "--stream",   "7",  "--json"};
  tx_args.insert(tx_args.end(), kNoHuge.begin(), kNoHuge.end());
  tx_args.insert(tx_args.end(), {"-l", "1"});
  Child tx(gen_in(ns, tx_args));
  const json t = parse_report(tx.finish(std::chrono::seconds(20)));
  const json r = parse_report(rx.finish(std::chrono::seconds(20)));
  ASSERT_TRUE(t.contains("tx") && r.contains("rx"));
  EXPECT_EQ(t["tx"]["packets"].get<std::uint64_t>(), 3000U) << t.dump(2);
  EXPECT_TRUE(t["rx"].is_null());
  EXPECT_EQ(r["rx"]["packets"].get<std::uint64_t>(), 3000U) << r.dump(2);
  EXPECT_EQ(r["rx"]["missing"].get<std::uint64_t>(), 0U);
  EXPECT_TRUE(r["lost"].is_null()) << "rx alone cannot know what was sent";
  EXPECT_FALSE(r["interrupted"].get<bool>()) << "rx must stop by itself once traffic stops";
}

TEST(GenIntegration, SigintPrintsTheSummary) {
  VethNamespace ns;
  ASSERT_TRUE(ns.ok());
  auto args =
      std::vector<std::string>{"txrx",   "--pmd", "af_packet",  "--tx-iface", "ga",         "--rx-iface", "gb",
                               "--rate", "2k",    "--duration", "60",         "--interval", "0.1",        "--json"};
  args.insert(args.end(), kNoHuge.begin(), kNoHuge.end());
  args.insert(args.end(), {"-l", "0"});
  Child child(gen_in(ns, args));
  bool signalled = false;
  const auto started = Clock::now();
  const Outcome o = child.finish(std::chrono::seconds(20), [&] {
    // The second progress line: traffic is flowing. `ip netns exec` execs the
    // generator in place, so the child's pid is the generator's.
    if (!signalled && count_of(child.err(), "] tx") >= 2) {
      kill(child.pid(), SIGINT);
      signalled = true;
    }
  });
  ASSERT_TRUE(signalled) << o.err;
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(15));
  const json r = parse_report(o);
  EXPECT_TRUE(r["interrupted"].get<bool>());
  EXPECT_GT(r["tx"]["packets"].get<std::uint64_t>(), 0U);
  EXPECT_EQ(r["rx"]["gaps"].get<std::uint64_t>(), 0U);
}

TEST(GenIntegration, MissingPortIsAOneLineError) {
  VethNamespace ns;
  ASSERT_TRUE(ns.ok());
  Child child(gen_in(ns, {"tx", "--tx-port", "7", "--", "--no-huge", "-m", "64", "--no-pci"}));
  const Outcome o = child.finish(std::chrono::seconds(20));
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("ferry-bench gen: TX: port '7' not found"), std::string::npos) << o.err;
}

}  // namespace
