// A handle on a network namespace, and the way into it.
//
// setns(2) switches the namespace of the calling THREAD only, and a thread
// that has switched stays switched: running netlink code on the caller's
// thread after setns would leave that thread (and anything it later opens)
// in the wrong namespace. So Namespace::run() starts a short-lived thread,
// joins the namespace there, runs the function and ends the thread.
//
// Sockets keep the namespace they were created in, whichever thread uses
// them later. The netns library therefore only creates its sockets (netlink,
// the ethtool ioctl socket) inside run() and does the rest of its work on the
// caller's thread: see netns/rtnl.h.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>

#include "common/result.h"

namespace ferry::netns {

class Namespace {
 public:
  // Opens a namespace file (`/var/run/netns/NAME`, `/proc/PID/ns/net`, or
  // `/proc/self/task/TID/ns/net`) and checks that it really is a network
  // namespace (NS_GET_NSTYPE), so a stale or wrong path fails here with a
  // clear message rather than later inside setns().
  static Result<Namespace> open(std::string_view path);

  // The calling thread's current network namespace.
  static Result<Namespace> current();

  Namespace(Namespace&& other) noexcept;
  Namespace& operator=(Namespace&& other) noexcept;
  Namespace(const Namespace&) = delete;
  Namespace& operator=(const Namespace&) = delete;
  ~Namespace();

  [[nodiscard]] int fd() const { return fd_; }
  [[nodiscard]] const std::string& path() const { return path_; }
  // The namespace's identity (nsfs inode number), as `ls -i`/`lsns` show it.
  [[nodiscard]] ino_t inode() const { return inode_; }
  [[nodiscard]] bool same_as(const Namespace& other) const { return dev_ == other.dev_ && inode_ == other.inode_; }

  // Runs `fn` (returning some Result<T>) on a dedicated thread inside this
  // namespace and returns its result. The caller's thread never changes
  // namespace. Blocks until `fn` returns.
  template <typename F>
  auto run(F&& fn) const -> std::invoke_result_t<F&> {
    using R = std::invoke_result_t<F&>;
    std::optional<R> out;
    try {
      std::thread worker([&] {
        if (auto entered = enter_on_this_thread(); !entered) {
          out.emplace(std::move(entered).error());
          return;
        }
        out.emplace(fn());
      });
      worker.join();
    } catch (const std::system_error& e) {
      return R(make_error("namespace {}: cannot start a thread: {}", path_, e.what()));
    }
    return std::move(*out);
  }

 private:
  Namespace(int fd, std::string path, dev_t dev, ino_t inode)
      : fd_(fd), path_(std::move(path)), dev_(dev), inode_(inode) {}

  // setns(fd_, CLONE_NEWNET) on the calling thread: only run() calls it.
  [[nodiscard]] Result<void> enter_on_this_thread() const;

  int fd_ = -1;
  std::string path_;
  dev_t dev_ = 0;
  ino_t inode_ = 0;
};

}  // namespace ferry::netns
