#include "control/agent/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
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

MetricsServer::~MetricsServer() = default;  // conns_ closes the sockets

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
  conns_.set_listener(fd);
  return fd;
}

std::vector<int> MetricsServer::accept_all() { return conns_.accept_all(); }

void MetricsServer::respond(int fd, int status, const char* reason, const std::string& body) {
  const std::string head = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\n"
      "Connection: close\r\n\r\n",
      status, reason, body.size());
  conns_.reply_and_close(fd, head + body);  // best effort: a scraper that went away retries
}

bool MetricsServer::on_readable(int fd) {
  switch (conns_.read(fd)) {
    case ConnTable::ReadStatus::kClosed:
      return false;
    case ConnTable::ReadStatus::kTooLarge:
      respond(fd, 431, "Request Header Fields Too Large", "request too large\n");
      return false;
    case ConnTable::ReadStatus::kOpen:
      break;
  }
  const std::string& req = conns_.request(fd);
  if (req.find("\r\n\r\n") == std::string::npos && req.find("\n\n") == std::string::npos) return true;
  if (req.rfind("GET /metrics ", 0) == 0 || req.rfind("GET /metrics?", 0) == 0) {
    conns_.set_answering(fd);
    // For this connection only if it was not closed and its fd reused since.
    render_([this, fd, serial = conns_.serial(fd)](const std::string& body) {
      if (conns_.open(fd, serial)) respond(fd, 200, "OK", body);
    });
  } else if (req.rfind("GET ", 0) == 0) {
    respond(fd, 404, "Not Found", "only /metrics is served\n");
  } else {
    respond(fd, 405, "Method Not Allowed", "GET only\n");
  }
  return false;
}

std::vector<int> MetricsServer::expire() { return conns_.expire(); }

}  // namespace ferry::agent
