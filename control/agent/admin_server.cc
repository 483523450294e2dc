#include "control/agent/admin_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "control/agent/state_file.h"

namespace ferry::agent {

namespace {

Result<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return make_error("socket path '{}' is too long", path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// Writes all of `data` to a non-blocking socket, waiting up to `timeout`.
bool write_all(int fd, const std::string& data, std::chrono::milliseconds timeout) {
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

}  // namespace

AdminServer::AdminServer(std::string path, Handler handler)
    : path_(std::move(path)), handler_([h = std::move(handler)](const nlohmann::json& request, const Respond& respond) {
        respond(h(request));
      }) {}

AdminServer::~AdminServer() {
  for (auto& [fd, conn] : conns_) ::close(fd);
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    ::unlink(path_.c_str());
  }
}

Result<int> AdminServer::open() {
  auto addr = unix_address(path_);
  if (!addr) return addr.error();
  const auto slash = path_.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    if (auto r = ensure_dir(path_.substr(0, slash)); !r) return r.error();
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_sys_error(errno, "socket");
  // A socket file left by a killed agent: nobody answers on it, replace it.
  ::unlink(path_.c_str());
  const mode_t old = ::umask(0177);
  const int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr);
  ::umask(old);
  if (rc != 0) {
    const int err = errno;
    ::close(fd);
    return make_sys_error(err, "bind {}", path_);
  }
  ::chmod(path_.c_str(), 0600);
  if (::listen(fd, 64) != 0) {
    const int err = errno;
    ::close(fd);
    return make_sys_error(err, "listen {}", path_);
  }
  listen_fd_ = fd;
  return fd;
}

std::vector<int> AdminServer::accept_all() {
  std::vector<int> out;
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) break;
    conns_[fd] = Conn{{}, std::chrono::steady_clock::now(), next_serial_++, false};
    out.push_back(fd);
  }
  return out;
}

void AdminServer::reply_and_close(int fd, const nlohmann::json& reply) {
  const std::string text = reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (!write_all(fd, text, std::chrono::milliseconds(1000))) spdlog::debug("admin: reply on fd {} not delivered", fd);
  ::close(fd);
  conns_.erase(fd);
}

bool AdminServer::on_readable(int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return false;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) {
      ::close(fd);
      conns_.erase(it);
      return false;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      ::close(fd);
      conns_.erase(it);
      return false;
    }
    it->second.buffer.append(buf, static_cast<std::size_t>(n));
    if (it->second.buffer.size() > kMaxRequestSize) {
      reply_and_close(fd, {{"ok", false}, {"error", "request too large"}});
      return false;
    }
  }
  const auto nl = it->second.buffer.find('\n');
  if (nl == std::string::npos) return true;
  auto request = nlohmann::json::parse(it->second.buffer.substr(0, nl), nullptr, false);
  if (request.is_discarded() || !request.is_object()) {
    reply_and_close(fd, {{"ok", false}, {"error", "request is not a JSON object"}});
    return false;
  }
  it->second.answering = true;
  const std::uint64_t serial = it->second.serial;
  // The answer may come now or later; it is for this connection only if the
  // fd was not closed and reused in between.
  Respond respond = [this, fd, serial](const nlohmann::json& reply) {
    auto c = conns_.find(fd);
    if (c == conns_.end() || c->second.serial != serial) return;
    reply_and_close(fd, reply);
  };
  try {
    handler_(request, respond);
  } catch (const std::exception& e) {  // wrongly typed fields: nlohmann throws
    respond({{"ok", false}, {"error", std::string("bad request: ") + e.what()}});
  }
  return false;  // no more reads: the answer closes it
}

std::vector<int> AdminServer::expire() {
  std::vector<int> out;
  const auto now = std::chrono::steady_clock::now();
  for (auto it = conns_.begin(); it != conns_.end();) {
    if (!it->second.answering && now - it->second.opened > kIdleTimeout) {
      ::close(it->first);
      out.push_back(it->first);
      it = conns_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

Result<nlohmann::json> admin_call(const std::string& path, const nlohmann::json& request,
                                  std::chrono::milliseconds timeout) {
  auto addr = unix_address(path);
  if (!addr) return addr.error();
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_sys_error(errno, "socket");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {
    return make_sys_error(errno, "connect {} (is ferry-agent running?)", path);
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
  if (!write_all(fd, request.dump() + "\n", timeout)) return make_error("sending to {} failed", path);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string in;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      in.append(buf, static_cast<std::size_t>(n));
      if (in.find('\n') != std::string::npos) break;
      continue;
    }
    if (n == 0) break;
    if (errno != EAGAIN && errno != EINTR) return make_sys_error(errno, "recv {}", path);
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return make_error("no reply from {} within {} ms", path, timeout.count());
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
  auto reply = nlohmann::json::parse(in.substr(0, in.find('\n')), nullptr, false);
  if (reply.is_discarded() || !reply.is_object()) return make_error("reply from {} is not a JSON object", path);
  return reply;
}

}  // namespace ferry::agent
