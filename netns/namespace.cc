#include "netns/namespace.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace ferry::netns {

Result<Namespace> Namespace::open(std::string_view path) {
  if (path.empty()) return make_error("network namespace path is empty");
  std::string p(path);
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return make_sys_error(err, "network namespace {} does not exist", p);
    return make_sys_error(err, "cannot open network namespace {}", p);
  }
  // NS_GET_NSTYPE answers only on nsfs files: ENOTTY means a plain file (for
  // example a /var/run/netns entry whose namespace is gone), another type
  // means the wrong kind of namespace (/proc/PID/ns/uts).
  const int type = ioctl(fd, NS_GET_NSTYPE);
  if (type < 0) {
    const int err = errno;
    ::close(fd);
    if (err == ENOTTY || err == EINVAL) {
      return make_error("{} is not a namespace file (expected /var/run/netns/NAME or /proc/PID/ns/net)", p);
    }
    return make_sys_error(err, "cannot query namespace type of {}", p);
  }
  if (type != CLONE_NEWNET) {
    ::close(fd);
    return make_error("{} is a namespace but not a network namespace", p);
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return make_sys_error(err, "cannot stat namespace {}", p);
  }
  return Namespace(fd, std::move(p), st.st_dev, st.st_ino);
}

Result<Namespace> Namespace::current() {
  // thread-self, not self: the namespace is per thread.
  return open("/proc/thread-self/ns/net");
}

Namespace::Namespace(Namespace&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)), dev_(other.dev_), inode_(other.inode_) {}

Namespace& Namespace::operator=(Namespace&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    dev_ = other.dev_;
    inode_ = other.inode_;
  }
  return *this;
}

Namespace::~Namespace() {
  if (fd_ >= 0) ::close(fd_);
}

Result<void> Namespace::enter_on_this_thread() const {
  if (setns(fd_, CLONE_NEWNET) != 0) {
    const int err = errno;
    if (err == EPERM) return make_sys_error(err, "cannot enter network namespace {} (needs CAP_SYS_ADMIN)", path_);
    return make_sys_error(err, "cannot enter network namespace {}", path_);
  }
  return ok();
}

}  // namespace ferry::netns
