#include "control/agent/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace ferry::agent {

namespace {

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Result<void> ensure_dir(const std::string& dir) {
  if (dir.empty()) return make_error("empty directory name");
  std::string partial;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    partial = dir.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) return make_sys_error(errno, "mkdir {}", partial);
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return make_sys_error(errno, "stat {}", dir);
  if (!S_ISDIR(st.st_mode)) return make_error("{} is not a directory", dir);
  return ok();
}

Result<void> write_file_atomic(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    Fd f(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (f.fd < 0) return make_sys_error(errno, "open {}", tmp);
    std::size_t off = 0;
    while (off < content.size()) {
      const ssize_t n = ::write(f.fd, content.data() + off, content.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        return make_sys_error(errno, "write {}", tmp);
      }
      off += static_cast<std::size_t>(n);
    }
    if (::fsync(f.fd) != 0) return make_sys_error(errno, "fsync {}", tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return make_sys_error(errno, "rename {} to {}", tmp, path);
  const std::string dir = parent_of(path);
  Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.fd < 0) return make_sys_error(errno, "open {}", dir);
  if (::fsync(d.fd) != 0) return make_sys_error(errno, "fsync {}", dir);
  return ok();
}

Result<std::optional<std::string>> read_file(const std::string& path) {
  Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>{};
    return make_sys_error(errno, "open {}", path);
  }
  std::string out;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_sys_error(errno, "read {}", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return std::optional<std::string>(std::move(out));
}

}  // namespace ferry::agent
