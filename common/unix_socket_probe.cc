#include "common/unix_socket_probe.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/result.h"

namespace ferry {

UnixSocketState classify_connect_errno(int err) {
  switch (err) {
    case 0:
      return UnixSocketState::kAccepting;
    case ENOENT:
    case ENOTDIR:
      return UnixSocketState::kMissing;
    case EACCES:
    case EPERM:
      return UnixSocketState::kNoPermission;
    case ECONNREFUSED:
      return UnixSocketState::kRefused;
    case ENOTSOCK:
    case EPROTOTYPE:  // a socket of another type (datagram) at the path
      return UnixSocketState::kNotSocket;
    default:
      return UnixSocketState::kOther;
  }
}

UnixSocketProbe probe_unix_socket(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    return UnixSocketProbe{classify_connect_errno(err), err};
  }
  if (!S_ISSOCK(st.st_mode)) return UnixSocketProbe{UnixSocketState::kNotSocket, 0};
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return UnixSocketProbe{UnixSocketState::kOther, ENAMETOOLONG};
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  // Non-blocking: a unix stream connect() then completes or fails at once
  // (never EINPROGRESS), so the probe never waits on a server, whatever the
  // caller's timeout. A blocking one would wait for room in a full backlog.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return UnixSocketProbe{UnixSocketState::kOther, errno};
  int rc = 0;
  do {
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } while (rc != 0 && errno == EINTR);
  const int err = rc == 0 ? 0 : errno;
  ::close(fd);
  // EAGAIN: the listener's backlog is full. It is there, only busy.
  if (err == EAGAIN) return UnixSocketProbe{UnixSocketState::kAccepting, 0};
  return UnixSocketProbe{classify_connect_errno(err), err};
}

std::string explain_unreachable(std::string_view path, const UnixSocketProbe& probe, std::string_view server,
                                std::string_view path_flag, std::string_view group_flag, long long timeout_ms) {
  switch (probe.state) {
    case UnixSocketState::kMissing:
      return fmt::format("no socket at {}: {} is not running, or it was started with another {}", path, server,
                         path_flag);
    case UnixSocketState::kNotSocket:
      return fmt::format("{} is not a socket: not {}'s {} path", path, server, path_flag);
    case UnixSocketState::kNoPermission:
      return group_flag.empty() ? fmt::format("permission denied on {}: run as root", path)
                                : fmt::format("permission denied on {}: run as root or as a member of {}'s {}", path,
                                              server, group_flag);
    case UnixSocketState::kRefused:
      return fmt::format(
          "nothing listens on {} (connection refused): {} is not running (the socket file is left "
          "from an earlier run)",
          path, server);
    case UnixSocketState::kAccepting:
      if (timeout_ms > 0) {
        return fmt::format(
            "no reply from {} within {} ms: a server accepted the connection but did not answer "
            "({} busy or stuck, or another program on that path)",
            path, timeout_ms, server);
      }
      return fmt::format("{} accepts connections", path);
    case UnixSocketState::kOther:
      break;
  }
  return fmt::format("cannot connect to {}: {}", path, errno_string(probe.err));
}

}  // namespace ferry
