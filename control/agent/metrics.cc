#include "control/agent/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>

#include <fmt/format.h>

namespace ferry::agent {

namespace {

std::string escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

void MetricsWriter::family(const std::string& name, const char* type, const std::string& help) {
  out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void MetricsWriter::sample(const std::string& name, const Labels& labels, double value) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    for (std::size_t i = 0; i < labels.size(); ++i) {
      out_ += fmt::format("{}{}=\"{}\"", i == 0 ? "" : ",", labels[i].first, escape(labels[i].second));
    }
    out_ += '}';
  }
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    out_ += fmt::format(" {}\n", static_cast<long long>(value));
  } else {
    out_ += fmt::format(" {}\n", value);
  }
}

MetricsServer::~MetricsServer() {
  for (auto& [fd, conn] : conns_) ::close(fd);
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

Result<int> MetricsServer::open() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_sys_error(errno, "socket");
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(address_.port);
  sa.sin_addr.s_addr = htonl(address_.ip);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 16) != 0) {
    const int err = errno;
    ::close(fd);
    return make_sys_error(err, "listen on {}", address_.to_string());
  }
  socklen_t len = sizeof sa;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0) address_.port = ntohs(sa.sin_port);
  listen_fd_ = fd;
  return fd;
}

std::vector<int> MetricsServer::accept_all() {
  std::vector<int> out;
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) break;
    conns_[fd] = Conn{{}, std::chrono::steady_clock::now()};
    out.push_back(fd);
  }
  return out;
}

void MetricsServer::respond(int fd, int status, const char* reason, const std::string& body) {
  const std::string head = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\n"
      "Connection: close\r\n\r\n",
      status, reason, body.size());
  const std::string all = head + body;
  std::size_t off = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (off < all.size() && std::chrono::steady_clock::now() < deadline) {
    const ssize_t n = ::send(fd, all.data() + off, all.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 100);
    } else {
      break;
    }
  }
  ::close(fd);
  conns_.erase(fd);
}

bool MetricsServer::on_readable(int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return false;
  char buf[2048];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      it->second.buffer.append(buf, static_cast<std::size_t>(n));
      if (it->second.buffer.size() > kMaxRequestSize) {
        respond(fd, 431, "Request Header Fields Too Large", "request too large\n");
        return false;
      }
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    ::close(fd);
    conns_.erase(it);
    return false;
  }
  const std::string& req = it->second.buffer;
  if (req.find("\r\n\r\n") == std::string::npos && req.find("\n\n") == std::string::npos) return true;
  if (req.rfind("GET /metrics ", 0) == 0 || req.rfind("GET /metrics?", 0) == 0) {
    respond(fd, 200, "OK", render_());
  } else if (req.rfind("GET ", 0) == 0) {
    respond(fd, 404, "Not Found", "only /metrics is served\n");
  } else {
    respond(fd, 405, "Method Not Allowed", "GET only\n");
  }
  return false;
}

std::vector<int> MetricsServer::expire() {
  std::vector<int> out;
  const auto now = std::chrono::steady_clock::now();
  for (auto it = conns_.begin(); it != conns_.end();) {
    if (now - it->second.opened > std::chrono::seconds(5)) {
      ::close(it->first);
      out.push_back(it->first);
      it = conns_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

}  // namespace ferry::agent
