#include "control/agent/conn_table.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace ferry::agent {

ConnTable::~ConnTable() {
  for (auto& [fd, conn] : conns_) {
    for (int passed : conn.fds) ::close(passed);
    ::close(fd);
  }
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

std::vector<int> ConnTable::accept_all() {
  std::vector<int> out;
  if (listen_fd_ < 0) return out;
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) break;
    Conn conn;
    conn.opened = std::chrono::steady_clock::now();
    conn.serial = next_serial_++;
    conns_[fd] = std::move(conn);
    out.push_back(fd);
  }
  return out;
}

ConnTable::ReadStatus ConnTable::read(int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return ReadStatus::kClosed;
  char buf[4096];
  for (;;) {
    // recvmsg: a request may carry file descriptors (a CNI plugin hands over
    // the container's network namespace).
    iovec iov{buf, sizeof buf};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    if (n >= 0) keep_fds(it->second, msg);
    if (n > 0) {
      it->second.buffer.append(buf, static_cast<std::size_t>(n));
      if (it->second.buffer.size() > max_request_size_) return ReadStatus::kTooLarge;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return ReadStatus::kOpen;
    close_conn(fd);  // 0: the peer closed; < 0: a real error
    return ReadStatus::kClosed;
  }
}

void ConnTable::keep_fds(Conn& conn, msghdr& msg) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int passed = -1;
      std::memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof passed);
      if (conn.fds.size() < kMaxPassedFds) {
        conn.fds.push_back(passed);
      } else {
        ::close(passed);
      }
    }
  }
}

std::vector<int> ConnTable::take_fds(int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return {};
  return std::exchange(it->second.fds, {});
}

ConnTable::WriteStatus ConnTable::reply_and_close(int fd, std::string_view reply) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return WriteStatus::kCut;
  it->second.out.assign(reply);
  return flush(fd, it->second);
}

ConnTable::WriteStatus ConnTable::on_writable(int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end() || !it->second.writing) return WriteStatus::kCut;
  return flush(fd, it->second);
}

ConnTable::WriteStatus ConnTable::flush(int fd, Conn& conn) {
  std::size_t off = 0;
  bool failed = false;
  while (off < conn.out.size()) {
    const ssize_t n = ::send(fd, conn.out.data() + off, conn.out.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    failed = n < 0 && errno != EAGAIN;
    break;
  }
  conn.out.erase(0, off);
  if (conn.out.empty() || failed || conn.out.size() > max_reply_buffer_) {
    const WriteStatus status = conn.out.empty() ? WriteStatus::kDone : WriteStatus::kCut;
    if (status == WriteStatus::kCut) ++cut_;
    close_conn(fd);
    return status;
  }
  if (!conn.writing) {
    conn.writing = true;
    conn.answering = true;
    conn.write_deadline = std::chrono::steady_clock::now() + reply_timeout_;
    if (watcher_) watcher_(fd, true);
  }
  return WriteStatus::kPending;
}

std::size_t ConnTable::writing() const {
  std::size_t n = 0;
  for (const auto& [fd, conn] : conns_) n += conn.writing ? 1 : 0;
  return n;
}

void ConnTable::set_answering(int fd) {
  if (auto it = conns_.find(fd); it != conns_.end()) it->second.answering = true;
}

std::uint64_t ConnTable::serial(int fd) const {
  auto it = conns_.find(fd);
  return it == conns_.end() ? 0 : it->second.serial;
}

bool ConnTable::open(int fd, std::uint64_t serial) const {
  auto it = conns_.find(fd);
  return it != conns_.end() && it->second.serial == serial;
}

std::vector<int> ConnTable::expire() {
  std::vector<int> out;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& [fd, conn] : conns_) {
    if (conn.writing ? now > conn.write_deadline : !conn.answering && now - conn.opened > idle_timeout_) {
      out.push_back(fd);
    }
  }
  for (int fd : out) {
    if (conns_.at(fd).writing) ++cut_;
    close_conn(fd);
  }
  return out;
}

void ConnTable::close_conn(int fd) {
  if (auto it = conns_.find(fd); it != conns_.end()) {
    for (int passed : it->second.fds) ::close(passed);
    if (it->second.writing && watcher_) watcher_(fd, false);
  }
  ::close(fd);
  conns_.erase(fd);
}

bool write_all(int fd, std::string_view data, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLOUT, 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
  return true;
}

}  // namespace ferry::agent
