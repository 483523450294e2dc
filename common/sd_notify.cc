#include "common/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

namespace ferry::sd {

Result<void> notify(std::string_view state) {
  const char* env = std::getenv("NOTIFY_SOCKET");  // NOLINT(concurrency-mt-unsafe): nobody sets it
  if (env == nullptr || env[0] == '\0') {
    return ok();
  }
  const std::string path = env;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if ((path[0] != '/' && path[0] != '@') || path.size() >= sizeof addr.sun_path) {
    return make_error("NOTIFY_SOCKET '{}' is neither an absolute path nor an @abstract name that fits", path);
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (path[0] == '@') {
    addr.sun_path[0] = '\0';
  }
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return make_sys_error(errno, "notify socket");
  }
  const ssize_t sent =
      ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr), length);
  const int err = errno;
  ::close(fd);
  if (sent != static_cast<ssize_t>(state.size())) {
    return make_sys_error(err, "notify {}", path);
  }
  return ok();
}

}  // namespace ferry::sd
