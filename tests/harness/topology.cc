#include "tests/harness/topology.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>

#ifndef FERRY_TOPO_SH
#error "FERRY_TOPO_SH must name tests/harness/topo.sh (set in tests/harness/meson.build)"
#endif

namespace ferry::harness {
namespace {

// Live prefixes, for the signal handler. Fixed storage: the handler may
// only read plain memory and call async-signal-safe functions (fork, execv,
// waitpid, raise).
constexpr std::size_t kMaxLive = 64;
struct LiveSlot {
  std::atomic<bool> used{false};
  char prefix[32] = {};
};
std::array<LiveSlot, kMaxLive> g_live;
char g_script[4096] = {};
std::mutex g_live_mutex;

void cleanup_on_signal(int sig) {
  for (auto& slot : g_live) {
    if (!slot.used.load()) continue;
    const pid_t pid = fork();
    if (pid == 0) {
      char bash[] = "/bin/bash";
      char down[] = "down";
      char* argv[] = {bash, g_script, down, slot.prefix, nullptr};
      execv(bash, argv);
      _exit(127);
    }
    if (pid > 0) waitpid(pid, nullptr, 0);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

void register_live(const std::string& prefix) {
  std::lock_guard lock(g_live_mutex);
  static bool installed = false;
  if (!installed) {
    const std::string script = Topology::script();
    std::strncpy(g_script, script.c_str(), sizeof(g_script) - 1);
    struct sigaction sa {};
    sa.sa_handler = cleanup_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    installed = true;
  }
  for (auto& slot : g_live) {
    if (slot.used.load()) continue;
    std::strncpy(slot.prefix, prefix.c_str(), sizeof(slot.prefix) - 1);
    slot.used.store(true);
    return;
  }
}

void unregister_live(const std::string& prefix) {
  std::lock_guard lock(g_live_mutex);
  for (auto& slot : g_live) {
    if (slot.used.load() && prefix == slot.prefix) {
      slot.used.store(false);
      return;
    }
  }
}

Result<void> run_script(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{"/bin/bash", Topology::script()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_command(argv, timeout);
  if (!r) return r.error();
  if (!r->succeeded()) {
    return make_error("{} failed ({}): {}", join_argv(argv),
                      r->timed_out ? "timed out" : "exit " + std::to_string(r->exit_code), r->output);
  }
  return ok();
}

}  // namespace

std::string unique_prefix() {
  static std::atomic<unsigned> counter{0};
  const unsigned n = counter++;
  std::string out = "fy" + std::to_string(getpid());
  out += static_cast<char>('a' + (n / 26) % 26);
  out += static_cast<char>('a' + n % 26);
  return out;
}

std::string netns_path(std::string_view ns) { return "/var/run/netns/" + std::string(ns); }

std::string Topology::script() {
  // Nothing in the tests calls setenv, so reading the environment is safe here.
  const char* env = std::getenv("FERRY_TOPO_SH");  // NOLINT(concurrency-mt-unsafe)
  if (env != nullptr && *env != '\0') return env;
  return FERRY_TOPO_SH;
}

Result<std::unique_ptr<Topology>> Topology::create(TopologyConfig config) {
  if (config.prefix.empty()) config.prefix = unique_prefix();
  // Leftovers of dead owners first (best effort): they hold addresses and
  // memory, and a crashed run cannot clean up after itself.
  (void)run_script({"gc"}, std::chrono::seconds(30));
  std::unique_ptr<Topology> topo(new Topology(config));
  register_live(config.prefix);
  std::vector<std::string> args{"up",
                                config.prefix,
                                std::to_string(config.hosts),
                                "--mtu",
                                std::to_string(config.underlay_mtu),
                                "--subnet",
                                config.subnet,
                                "--offload",
                                config.underlay_tx_checksum ? "on" : "off"};
  if (auto up = run_script(args, std::chrono::seconds(60)); !up) return up.error();  // ~Topology cleans up
  return topo;
}

Topology::~Topology() { (void)down(); }

Result<void> Topology::down() {
  if (down_) return ok();
  auto r = run_script({"down", config_.prefix}, std::chrono::seconds(30));
  if (r) {
    down_ = true;
    unregister_live(config_.prefix);
  }
  return r;
}

std::string Topology::host(int i) const { return config_.prefix + "-h" + std::to_string(i); }

std::string Topology::underlay_address(int i) const { return config_.subnet + "." + std::to_string(i); }

std::string Topology::underlay_cidr(int i) const { return underlay_address(i) + "/24"; }

Result<std::string> Topology::add_container(std::string_view name) {
  if (auto r = run_script({"container", config_.prefix, std::string(name)}, std::chrono::seconds(10)); !r) {
    return r.error();
  }
  return container(name);
}

Result<CommandResult> Topology::exec(std::string_view ns, const std::vector<std::string>& argv,
                                     std::chrono::milliseconds timeout) const {
  std::vector<std::string> full{"ip", "netns", "exec", std::string(ns)};
  full.insert(full.end(), argv.begin(), argv.end());
  return run_command(full, timeout);
}

Result<void> Topology::ping(std::string_view ns, std::string_view address, std::chrono::milliseconds timeout) const {
  std::string last;
  const bool ok_reply = wait_until(
      [&] {
        auto r = exec(ns, {"ping", "-n", "-c", "1", "-W", "1", std::string(address)}, std::chrono::seconds(3));
        if (!r) {
          last = r.error().message;
          return false;
        }
        last = r->output;
        return r->succeeded();
      },
      timeout, std::chrono::milliseconds(50));
  if (!ok_reply) return make_error("no ping reply from {} in {} within {} ms: {}", address, ns, timeout.count(), last);
  return ok();
}

std::vector<std::string> Topology::namespaces() const {
  std::vector<std::string> out;
  auto r = run_command({"ip", "netns", "list"}, std::chrono::seconds(10));
  if (!r) return out;
  std::istringstream lines(r->output);
  std::string line;
  const std::string want = config_.prefix + "-";
  while (std::getline(lines, line)) {
    const std::string name = line.substr(0, line.find(' '));
    if (name.rfind(want, 0) == 0) out.push_back(name);
  }
  return out;
}

}  // namespace ferry::harness
