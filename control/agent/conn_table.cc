#include "control/agent/conn_table.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace ferry::agent {

ConnTable::~ConnTable() {
  for (auto& [fd, conn] : conns_) ::close(fd);
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

std::vector<int> ConnTable::accept_all() {
  std::vector<int> out;
  if (listen_fd_ < 0) return out;
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) break;
    conns_[fd] = Conn{{}, std::chrono::steady_clock::now(), next_serial_++, false};
    out.push_back(fd);
  }
  return out;
}

ConnTable::ReadStatus ConnTable::read(int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return ReadStatus::kClosed;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
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

bool ConnTable::reply_and_close(int fd, std::string_view reply) {
  const bool delivered = write_all(fd, reply, reply_timeout_);
  close_conn(fd);
  return delivered;
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
    if (!conn.answering && now - conn.opened > idle_timeout_) out.push_back(fd);
  }
  for (int fd : out) close_conn(fd);
  return out;
}

void ConnTable::close_conn(int fd) {
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
