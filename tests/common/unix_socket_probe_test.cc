// Unix socket probing: each state from a real path (missing, a file, a
// socket nobody listens on, a listener, one not ours to use), and the
// message each state gives.
#include "common/unix_socket_probe.h"

#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/result.h"

namespace ferry {
namespace {

// A directory of its own, traversable by anyone (the permission check runs
// as another user), removed at the end.
class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "ferry-probe-XXXXXX").string();
    path_ = ::mkdtemp(templ.data());
    ::chmod(path_.c_str(), 0755);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A unix stream socket bound at `path`; listening unless told otherwise.
int bound_socket(const std::string& path, bool listening) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << errno_string(errno);
  if (listening) {
    EXPECT_EQ(::listen(fd, 4), 0);
  }
  return fd;
}

TEST(UnixSocketProbe, ClassifiesConnectErrors) {
  struct Row {
    int err;
    UnixSocketState state;
  };
  for (const Row& r : {Row{0, UnixSocketState::kAccepting}, Row{ENOENT, UnixSocketState::kMissing},
                       Row{ENOTDIR, UnixSocketState::kMissing}, Row{EACCES, UnixSocketState::kNoPermission},
                       Row{EPERM, UnixSocketState::kNoPermission}, Row{ECONNREFUSED, UnixSocketState::kRefused},
                       Row{ENOTSOCK, UnixSocketState::kNotSocket}, Row{EPROTOTYPE, UnixSocketState::kNotSocket},
                       Row{EIO, UnixSocketState::kOther}}) {
    EXPECT_EQ(classify_connect_errno(r.err), r.state) << errno_string(r.err);
  }
}

TEST(UnixSocketProbe, ProbesRealPaths) {
  TempDir dir;
  EXPECT_EQ(probe_unix_socket(dir.file("none.sock")).state, UnixSocketState::kMissing);
  EXPECT_EQ(probe_unix_socket(dir.file("no-dir/x.sock")).state, UnixSocketState::kMissing);
  std::ofstream(dir.file("plain")) << "x";
  EXPECT_EQ(probe_unix_socket(dir.file("plain")).state, UnixSocketState::kNotSocket);
  EXPECT_EQ(probe_unix_socket(dir.file("plain/x.sock")).state, UnixSocketState::kMissing);  // ENOTDIR
  const int stale = bound_socket(dir.file("stale.sock"), /*listening=*/false);
  ::close(stale);  // the file stays, nobody listens
  const auto refused = probe_unix_socket(dir.file("stale.sock"));
  EXPECT_EQ(refused.state, UnixSocketState::kRefused);
  EXPECT_EQ(refused.err, ECONNREFUSED);
  const int live = bound_socket(dir.file("live.sock"), /*listening=*/true);
  EXPECT_EQ(probe_unix_socket(dir.file("live.sock")).state, UnixSocketState::kAccepting);
  ::close(live);
}

// A listener whose backlog is full (it accepts nobody): the probe answers at
// once that a server is there. Run in a child that an alarm ends, so a probe
// that waited for room in the backlog fails the test instead of hanging it.
TEST(UnixSocketProbe, FullBacklogAnswersWithoutWaiting) {
  TempDir dir;
  const std::string path = dir.file("busy.sock");
  const int live = bound_socket(path, /*listening=*/false);
  ASSERT_EQ(::listen(live, 0), 0);
  // Fill the backlog: non-blocking clients until the listener refuses more.
  int queued = 0;
  for (; queued < 64; ++queued) {
    const int c = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    const int rc = ::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    const int err = errno;
    ::close(c);
    if (rc != 0) {
      ASSERT_EQ(err, EAGAIN) << errno_string(err);
      break;
    }
  }
  ASSERT_GT(queued, 0);
  ASSERT_LT(queued, 64) << "the backlog never filled";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::alarm(30);  // a probe blocked in connect() dies of SIGALRM
    _exit(static_cast<int>(probe_unix_socket(path).state));
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the probe waited on the full backlog";
  EXPECT_EQ(WEXITSTATUS(status), static_cast<int>(UnixSocketState::kAccepting));
  ::close(live);
}

// A listening socket with mode 0600, probed by a user that is not its owner:
// as root, a child process that becomes nobody; otherwise this user with the
// mode at 0000.
TEST(UnixSocketProbe, SocketNotOursIsPermissionDenied) {
  TempDir dir;
  const std::string path = dir.file("private.sock");
  const int live = bound_socket(path, /*listening=*/true);
  if (::geteuid() != 0) {
    ASSERT_EQ(::chmod(path.c_str(), 0), 0);
    const auto probe = probe_unix_socket(path);
    EXPECT_EQ(probe.state, UnixSocketState::kNoPermission);
    EXPECT_EQ(probe.err, EACCES);
    ::close(live);
    return;
  }
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  passwd entry{};
  passwd* nobody = nullptr;
  std::array<char, 4096> buffer{};
  ASSERT_EQ(::getpwnam_r("nobody", &entry, buffer.data(), buffer.size(), &nobody), 0);
  ASSERT_NE(nobody, nullptr) << "no user nobody";
  const uid_t uid = nobody->pw_uid;
  const gid_t gid = nobody->pw_gid;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(gid, gid, gid) != 0 || ::setresuid(uid, uid, uid) != 0) _exit(100);
    _exit(static_cast<int>(probe_unix_socket(path).state));
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), static_cast<int>(UnixSocketState::kNoPermission));
  // Root itself is let in whatever the mode.
  EXPECT_EQ(probe_unix_socket(path).state, UnixSocketState::kAccepting);
  ::close(live);
}

TEST(UnixSocketProbe, EachStateSaysWhatToDo) {
  const std::string p = "/run/ferry/dataplane.sock";
  auto say = [&](UnixSocketState s, int err, long long timeout_ms = 0) {
    return explain_unreachable(p, UnixSocketProbe{s, err}, "ferry-dataplane", "--api", "--api-group", timeout_ms);
  };
  EXPECT_EQ(say(UnixSocketState::kNoPermission, EACCES),
            "permission denied on /run/ferry/dataplane.sock: run as root or as a member of ferry-dataplane's "
            "--api-group");
  EXPECT_EQ(say(UnixSocketState::kMissing, ENOENT),
            "no socket at /run/ferry/dataplane.sock: ferry-dataplane is not running, or it was started with another "
            "--api");
  EXPECT_NE(say(UnixSocketState::kRefused, ECONNREFUSED).find("nothing listens on /run/ferry/dataplane.sock"),
            std::string::npos);
  EXPECT_NE(say(UnixSocketState::kNotSocket, 0).find("is not a socket"), std::string::npos);
  const std::string timeout = say(UnixSocketState::kAccepting, 0, 3000);
  EXPECT_NE(timeout.find("no reply from /run/ferry/dataplane.sock within 3000 ms"), std::string::npos) << timeout;
  EXPECT_NE(timeout.find("accepted the connection"), std::string::npos) << timeout;
  EXPECT_NE(say(UnixSocketState::kOther, EIO).find("Input/output error"), std::string::npos);
  EXPECT_EQ(explain_unreachable(p, UnixSocketProbe{UnixSocketState::kNoPermission, EACCES}, "srv", "--path", "", 0),
            "permission denied on /run/ferry/dataplane.sock: run as root");
}

}  // namespace
}  // namespace ferry
