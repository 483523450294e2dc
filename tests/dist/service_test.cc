// ferry-dataplane and ferry-agent run the way their systemd units run them:
// the unit's ExecStart= (this build's programs, --config FILE), stdin from
// /dev/null and NOTIFY_SOCKET naming a datagram socket this test listens on,
// as systemd's Type=notify does. READY=1 must come only once the daemon's
// sockets accept: on READY=1 the test freezes the daemon (SIGSTOP) and only
// then probes, so a daemon that told systemd too early cannot catch up.
// A bad configuration file: exit 2, no READY=1, no socket.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "common/unix_socket_probe.h"
#include "tests/harness/topology.h"

namespace ferry {
namespace {

// The ExecStart= words of a unit file, with --config's value replaced.
std::vector<std::string> exec_start(const std::string& unit, const std::string& config) {
  std::ifstream in(unit);
  std::string line;
  std::vector<std::string> words;
  while (std::getline(in, line)) {
    if (line.rfind("ExecStart=", 0) != 0) continue;
    std::istringstream split(line.substr(10));
    for (std::string w; split >> w;) words.push_back(w);
  }
  for (std::size_t i = 0; i + 1 < words.size(); ++i) {
    if (words[i] == "--config") words[i + 1] = config;
  }
  return words;
}

class ServiceTest : public harness::TopologyTest {
 protected:
  harness::TopologyConfig topology_config() const override {
    harness::TopologyConfig c;
    c.hosts = 1;
    return c;
  }

  void SetUp() override {
    harness::TopologyTest::SetUp();
    std::string pattern = (std::filesystem::temp_directory_path() / "ferry-service-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    notify_path_ = dir_ + "/notify.sock";
    notify_fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(notify_fd_, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, notify_path_.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(notify_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0)
        << std::error_code(errno, std::generic_category()).message();
  }

  void TearDown() override {
    for (pid_t pid : pids_) {
      ::kill(pid, SIGCONT);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (notify_fd_ >= 0) ::close(notify_fd_);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    harness::TopologyTest::TearDown();
  }

  std::string write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  // Starts `argv` in host 1's namespace as systemd would start the unit.
  pid_t start(const std::vector<std::string>& argv) {
    std::vector<std::string> all{"ip", "netns", "exec", topo_->host(1)};
    all.insert(all.end(), argv.begin(), argv.end());
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int null = ::open("/dev/null", O_RDONLY);
      ::dup2(null, STDIN_FILENO);
      // NOLINTNEXTLINE(concurrency-mt-unsafe): the forked child has one thread
      ::setenv("NOTIFY_SOCKET", notify_path_.c_str(), 1);
      std::vector<char*> args;
      args.reserve(all.size() + 1);
      for (auto& a : all) args.push_back(a.data());
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    pids_.push_back(pid);
    return pid;
  }

  // The next datagram on the notify socket, or "" once `pid` has exited
  // (its status in `status`) or a minute passed (a hung daemon).
  std::string next_notification(pid_t pid, int& status) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{notify_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) == 1) {
        char buffer[512];
        const ssize_t n = ::recv(notify_fd_, buffer, sizeof buffer, 0);
        if (n > 0) return std::string(buffer, static_cast<std::size_t>(n));
      }
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        std::erase(pids_, pid);
        return "";
      }
    }
    return "";
  }

  std::string dataplane_toml() const {
    return "uplink = \"ul0\"\n"
           "vtep-ip = \"" +
           topo_->underlay_cidr(1) +
           "\"\n"
           "uplink-mode = \"udp\"\n"
           "no-huge = true\n"
           "api = \"ipc://" +
           dir_ + "/dataplane.sock\"\n";
  }

  std::string dir_;
  std::string notify_path_;
  int notify_fd_ = -1;
  std::vector<pid_t> pids_;
};

TEST_F(ServiceTest, ReadyOnlyOnceTheSocketsAccept) {
  const std::string units = FERRY_TEST_UNITS_DIR;
  const auto dp_argv = exec_start(units + "/test-ferry-dataplane.service", write("dataplane.toml", dataplane_toml()));
  ASSERT_EQ(dp_argv.size(), 3U);
  EXPECT_EQ(dp_argv[0], FERRY_DATAPLANE_BIN);

  const pid_t dp = start(dp_argv);
  int status = 0;
  const std::string dp_said = next_notification(dp, status);
  ASSERT_EQ(dp_said, "READY=1") << "ferry-dataplane exited with status " << status;
  ASSERT_EQ(::kill(dp, SIGSTOP), 0);
  EXPECT_EQ(probe_unix_socket(dir_ + "/dataplane.sock").state, UnixSocketState::kAccepting);
  ASSERT_EQ(::kill(dp, SIGCONT), 0);

  {
    std::ofstream key(dir_ + "/cluster.key");
    key << "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
  }
  std::filesystem::permissions(dir_ + "/cluster.key", std::filesystem::perms::owner_read);
  const std::string agent_toml =
      "advertise = \"" + topo_->underlay_address(1) + "\"\nkey-file = \"" + dir_ +
      "/cluster.key\"\ndataplane-api = \"ipc://" + dir_ + "/dataplane.sock\"\nplugin-socket = \"" + dir_ +
      "/docker-plugin.sock\"\nadmin-socket = \"" + dir_ + "/agent.sock\"\nstate-dir = \"" + dir_ + "/state\"\n";
  const auto agent_argv = exec_start(units + "/test-ferry-agent.service", write("agent.toml", agent_toml));
  ASSERT_EQ(agent_argv.size(), 3U);
  EXPECT_EQ(agent_argv[0], FERRY_AGENT_BIN);
  const pid_t agent = start(agent_argv);
  const std::string agent_said = next_notification(agent, status);
  ASSERT_EQ(agent_said, "READY=1") << "ferry-agent exited with status " << status;
  ASSERT_EQ(::kill(agent, SIGSTOP), 0);
  EXPECT_EQ(probe_unix_socket(dir_ + "/agent.sock").state, UnixSocketState::kAccepting);
  EXPECT_EQ(probe_unix_socket(dir_ + "/docker-plugin.sock").state, UnixSocketState::kAccepting);
  ASSERT_EQ(::kill(agent, SIGCONT), 0);

  // systemctl stop: SIGTERM; both say STOPPING=1 and exit 0.
  for (pid_t pid : {agent, dp}) {
    ASSERT_EQ(::kill(pid, SIGTERM), 0);
    EXPECT_EQ(next_notification(pid, status), "STOPPING=1");
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    std::erase(pids_, pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  }
}

TEST_F(ServiceTest, BadConfigurationStartsNothing) {
  const std::string units = FERRY_TEST_UNITS_DIR;
  const auto argv = exec_start(units + "/test-ferry-dataplane.service",
                               write("dataplane.toml", dataplane_toml() + "vxlan-prot = 1\n"));
  const pid_t dp = start(argv);
  int status = 0;
  EXPECT_EQ(next_notification(dp, status), "");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << "status " << status;
  EXPECT_EQ(probe_unix_socket(dir_ + "/dataplane.sock").state, UnixSocketState::kMissing);
}

}  // namespace
}  // namespace ferry
