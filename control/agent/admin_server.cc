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

}  // namespace

PassedFds::~PassedFds() {
  for (int fd : fds_) ::close(fd);
}

AdminServer::AdminServer(std::string path, Handler handler)
    : path_(std::move(path)),
      handler_([h = std::move(handler)](const nlohmann::json& request, const std::shared_ptr<const PassedFds>& /*fds*/,
                                        const Respond& respond) { respond(h(request)); }),
      conns_(kMaxRequestSize, kIdleTimeout) {}

AdminServer::AdminServer(std::string path, AsyncHandler handler, std::chrono::milliseconds idle,
                         std::chrono::milliseconds reply)
    : path_(std::move(path)),
      handler_([h = std::move(handler)](const nlohmann::json& request, const std::shared_ptr<const PassedFds>& /*fds*/,
                                        const Respond& respond) { h(request, respond); }),
      conns_(kMaxRequestSize, idle, reply) {}

AdminServer::~AdminServer() {
  if (listening_) ::unlink(path_.c_str());  // conns_ closes the sockets
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
  conns_.set_listener(fd);
  listening_ = true;
  return fd;
}

std::vector<int> AdminServer::accept_all() { return conns_.accept_all(); }

void AdminServer::reply_and_close(int fd, const nlohmann::json& reply) {
  const std::string text = reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (conns_.reply_and_close(fd, text) == ConnTable::WriteStatus::kCut) {
    spdlog::debug("admin: reply on fd {} not delivered", fd);
  }
}

bool AdminServer::on_readable(int fd) {
  switch (conns_.read(fd)) {
    case ConnTable::ReadStatus::kClosed:
      return false;
    case ConnTable::ReadStatus::kTooLarge:
      reply_and_close(fd, {{"ok", false}, {"error", "request too large"}});
      return false;
    case ConnTable::ReadStatus::kOpen:
      break;
  }
  const std::string& buffer = conns_.request(fd);
  const auto nl = buffer.find('\n');
  if (nl == std::string::npos) return true;
  auto request = nlohmann::json::parse(buffer.substr(0, nl), nullptr, false);
  if (request.is_discarded() || !request.is_object()) {
    reply_and_close(fd, {{"ok", false}, {"error", "request is not a JSON object"}});
    return false;
  }
  conns_.set_answering(fd);
  const auto fds = std::make_shared<const PassedFds>(conns_.take_fds(fd));
  // The answer may come now or later; it is for this connection only if the
  // fd was not closed and reused in between.
  const Respond respond = [this, fd, serial = conns_.serial(fd)](const nlohmann::json& reply) {
    if (conns_.open(fd, serial)) reply_and_close(fd, reply);
  };
  try {
    handler_(request, fds, respond);
  } catch (const std::exception& e) {  // wrongly typed fields: nlohmann throws
    respond({{"ok", false}, {"error", std::string("bad request: ") + e.what()}});
  }
  return false;  // no more reads: the answer closes it
}

std::vector<int> AdminServer::expire() { return conns_.expire(); }

namespace {

// The request's first bytes with `fd` attached (blocking socket, before the
// rest goes non-blocking through write_all); returns how many bytes went.
Result<std::size_t> send_with_fd(int sock, const std::string& data, int fd) {
  iovec iov{const_cast<char*>(data.data()), data.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  for (;;) {
    const ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return make_sys_error(errno, "sending a file descriptor");
  }
}

}  // namespace

Result<nlohmann::json> admin_call(const std::string& path, const nlohmann::json& request,
                                  std::chrono::milliseconds timeout, int pass_fd) {
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
  const std::string text = request.dump() + "\n";
  std::size_t sent = 0;
  if (pass_fd >= 0) {
    auto n = send_with_fd(fd, text, pass_fd);
    if (!n) return n.error().wrap(path);
    sent = *n;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
  if (!write_all(fd, std::string_view(text).substr(sent), timeout)) return make_error("sending to {} failed", path);
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
