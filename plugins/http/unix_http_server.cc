#include "plugins/http/unix_http_server.h"

// g++ 12 with sanitizers reports a false -Wmaybe-uninitialized inside
// Beast's parser (boost::optional in basic_parser.hpp); the warning lands in
// the header's lines, so it is silenced for everything this file includes.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <exception>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_set>

#include "common/log.h"

namespace ferry::plugins {

namespace net = boost::asio;
namespace http = boost::beast::http;
using Local = net::local::stream_protocol;
using boost::system::error_code;

namespace {

std::string error_body(std::string_view message) {
  return nlohmann::json{{"Err", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void set_cloexec(int fd) {
  const int flags = fcntl(fd, F_GETFD);
  if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

}  // namespace

Result<void> UnixHttpServerConfig::validate() const {
  if (socket_path.empty()) return make_error("socket path is empty");
  if (socket_path.size() >= sizeof(sockaddr_un::sun_path)) {
    return make_error("socket path \"{}\" is longer than {} bytes", socket_path, sizeof(sockaddr_un::sun_path) - 1);
  }
  if ((socket_mode & ~mode_t{0777}) != 0) return make_error("socket mode {:o} has bits beyond 0777", socket_mode);
  if (max_body_size == 0) return make_error("max body size must be positive");
  if (max_header_size < 1024) return make_error("max header size must be at least 1024 bytes");
  if (request_timeout.count() <= 0 || idle_timeout.count() <= 0 || write_timeout.count() <= 0) {
    return make_error("timeouts must be positive");
  }
  if (max_connections == 0) return make_error("max connections must be positive");
  if (content_type.empty()) return make_error("reply content type is empty");
  return ok();
}

bool acceptable_content_type(std::string_view content_type) {
  // Media type only, parameters (";charset=utf-8") ignored, case-insensitive.
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && content_type.back() == ' ') content_type.remove_suffix(1);
  while (!content_type.empty() && content_type.front() == ' ') content_type.remove_prefix(1);
  std::string lower(content_type);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.empty() || lower == "application/json") return true;
  constexpr std::string_view kDockerV1 = "application/vnd.docker.plugins.v1";
  if (!lower.starts_with(kDockerV1)) return false;
  // v1, v1.1, v1.2 ... each optionally followed by "+json".
  std::string_view rest = std::string_view(lower).substr(kDockerV1.size());
  if (rest.ends_with("+json")) rest.remove_suffix(5);
  if (rest.empty()) return true;
  if (rest.front() != '.' || rest.size() == 1) return false;
  for (const char c : rest.substr(1)) {
    if (std::isdigit(static_cast<unsigned char>(c)) == 0) return false;
  }
  return true;
}

Result<void> remove_stale_socket(const std::string& path) {
  struct stat info {};
  if (lstat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return ok();
    return make_sys_error(errno, "stat {}", path);
  }
  if (!S_ISSOCK(info.st_mode)) {
    return make_error("{} exists and is not a socket; remove it or choose another socket path", path);
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_sys_error(errno, "socket");
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  path.copy(address.sun_path, sizeof(address.sun_path) - 1);
  const int rc = connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  const int err = errno;
  close(fd);
  if (rc == 0) return make_error("{} is in use: another process is serving it (is another ferry-agent running?)", path);
  if (err != ECONNREFUSED) return make_sys_error(err, "probe existing socket {}", path);
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return make_sys_error(errno, "remove stale socket {}", path);
  spdlog::info("removed stale socket {}", path);
  return ok();
}

// ---- one connection ----

class Session;

class UnixHttpServer::Impl {
 public:
  Impl(UnixHttpServerConfig config, Handler handler)
      : config_(std::move(config)), handler_(std::move(handler)), acceptor_(io_) {}

  Result<void> listen();
  void run_thread();
  void stop();

  void accept();
  void add(Session* session) {
    sessions_.insert(session);
    connections_.store(sessions_.size(), std::memory_order_relaxed);
  }
  void remove(Session* session) {
    sessions_.erase(session);
    connections_.store(sessions_.size(), std::memory_order_relaxed);
  }
  HttpResponse call_handler(const HttpRequest& request);
  // Makes room for one more connection at the limit: closes the connection
  // that has waited longest for its next request. False when every
  // connection is in the middle of a request (those are never cut).
  bool evict_idle();
  std::uint64_t next_idle_mark() { return ++idle_marks_; }
  void count_idle(int delta) {
    idle_connections_.fetch_add(static_cast<std::size_t>(delta), std::memory_order_relaxed);
  }
  std::size_t idle_count() const { return idle_connections_.load(std::memory_order_relaxed); }

  const UnixHttpServerConfig& config() const { return config_; }
  std::size_t connection_count() const { return connections_.load(std::memory_order_relaxed); }
  std::uint64_t evicted() const { return evicted_.load(std::memory_order_relaxed); }

 private:
  UnixHttpServerConfig config_;
  Handler handler_;
  net::io_context io_;
  Local::acceptor acceptor_;
  std::thread thread_;
  std::unordered_set<Session*> sessions_;  // io thread only
  std::uint64_t idle_marks_ = 0;           // io thread only
  std::atomic<std::size_t> connections_{0};
  std::atomic<std::uint64_t> evicted_{0};
  std::atomic<std::size_t> idle_connections_{0};
  std::atomic<bool> stopped_{false};
  dev_t socket_dev_ = 0;
  ino_t socket_ino_ = 0;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(UnixHttpServer::Impl& server, Local::socket socket)
      : server_(server), socket_(std::move(socket)), timer_(socket_.get_executor()) {
    server_.add(this);
  }
  ~Session() {
    set_idle(false);
    server_.remove(this);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() { wait_for_request(); }
  void set_idle(bool idle) {
    if (idle != idle_) server_.count_idle(idle ? 1 : -1);
    idle_ = idle;
  }
  // Waiting for the first byte of a request (none buffered, none in the
  // socket), since idle_mark(). A client that has already sent its next
  // request is not idle even before the read handler has run.
  [[nodiscard]] bool idle() const {
    if (!idle_) return false;
    error_code ec;
    return socket_.available(ec) == 0 && !ec;
  }
  [[nodiscard]] std::uint64_t idle_mark() const { return idle_mark_; }

  void close() {
    set_idle(false);  // a closed session is never chosen for eviction again
    error_code ignored;
    timer_.cancel();
    socket_.shutdown(Local::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  // Closes the socket when the timer fires; re-arming cancels the old wait.
  void arm_timer(std::chrono::milliseconds timeout, const char* phase) {
    timer_.expires_after(timeout);
    timer_.async_wait([self = shared_from_this(), phase](error_code ec) {
      if (ec) return;  // cancelled or re-armed
      spdlog::info("plugin socket: closing a connection: {} timeout", phase);
      error_code ignored;
      self->socket_.close(ignored);
    });
  }

  // Keep-alive: wait (idle timeout) until the next request starts arriving.
  void wait_for_request() {
    if (buffer_.size() > 0) {  // a pipelined request is already buffered
      read_request();
      return;
    }
    arm_timer(server_.config().idle_timeout, "idle");
    set_idle(true);
    idle_mark_ = server_.next_idle_mark();
    socket_.async_wait(Local::socket::wait_read, [self = shared_from_this()](error_code ec) {
      self->set_idle(false);
      if (ec) {
        self->close();
        return;
      }
      self->read_request();
    });
  }

  void read_request() {
    parser_.emplace();
    parser_->body_limit(server_.config().max_body_size);
    parser_->header_limit(static_cast<std::uint32_t>(server_.config().max_header_size));
    arm_timer(server_.config().request_timeout, "request");
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    timer_.cancel();
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted || ec == net::error::eof ||
        ec == net::error::bad_descriptor) {
      close();
      return;
    }
    if (ec == http::error::body_limit) {
      respond(413, error_body(fmt::format("request body larger than {} bytes", server_.config().max_body_size)), false);
      return;
    }
    if (ec == http::error::header_limit) {
      respond(431, error_body("request header too large"), false);
      return;
    }
    if (ec) {
      // A broken request leaves the stream at an unknown position: answer and close.
      respond(400, error_body(fmt::format("bad HTTP request: {}", ec.message())), false);
      return;
    }
    const auto& message = parser_->get();
    const bool keep_alive = message.keep_alive();
    if (message.method() != http::verb::post) {
      respond(405, error_body(fmt::format("method {} not allowed, use POST", std::string(message.method_string()))),
              keep_alive);
      return;
    }
    if (const auto it = message.find(http::field::content_type);
        it != message.end() && !acceptable_content_type(std::string_view(it->value().data(), it->value().size()))) {
      respond(415, error_body(fmt::format("unsupported Content-Type \"{}\"", std::string(it->value()))), keep_alive);
      return;
    }
    HttpRequest request{std::string(message.method_string()), std::string(message.target()), message.body()};
    HttpResponse response = server_.call_handler(request);
    respond(response.status, std::move(response.body), keep_alive);
  }

  void respond(unsigned status, std::string body, bool keep_alive) {
    response_ = {};
    response_.version(11);
    response_.result(status);
    response_.set(http::field::content_type, server_.config().content_type);
    response_.body() = std::move(body);
    response_.keep_alive(keep_alive);
    response_.prepare_payload();
    arm_timer(server_.config().write_timeout, "write");
    http::async_write(socket_, response_, [self = shared_from_this(), keep_alive](error_code ec, std::size_t) {
      self->timer_.cancel();
      if (ec || !keep_alive) {
        self->close();
        return;
      }
      self->wait_for_request();
    });
  }

  UnixHttpServer::Impl& server_;
  bool idle_ = false;
  std::uint64_t idle_mark_ = 0;
  Local::socket socket_;
  net::steady_timer timer_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
};

// ---- the server ----

Result<void> UnixHttpServer::Impl::listen() {
  const std::string& path = config_.socket_path;
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code fs_error;
    std::filesystem::create_directories(parent, fs_error);
    if (fs_error) return make_sys_error(fs_error.value(), "create directory {} for the socket", parent.string());
  }
  if (auto removed = remove_stale_socket(path); !removed) return removed;

  error_code ec;
  acceptor_.open(Local(), ec);
  if (ec) return make_error("socket for {}: {}", path, ec.message());
  set_cloexec(acceptor_.native_handle());
  acceptor_.bind(Local::endpoint(path), ec);
  if (ec) return make_error("bind {}: {}", path, ec.message());
  // From here on a failure removes the socket file it leaves behind.
  const auto fail = [&](Error error) {
    error_code ignored;
    acceptor_.close(ignored);
    unlink(path.c_str());
    return error;
  };
  // Permissions are set before listen(): nobody can connect in between.
  if (chmod(path.c_str(), config_.socket_mode) != 0) return fail(make_sys_error(errno, "chmod {}", path));
  if (config_.socket_group && chown(path.c_str(), static_cast<uid_t>(-1), *config_.socket_group) != 0) {
    return fail(make_sys_error(errno, "chown {} to group {}", path, *config_.socket_group));
  }
  struct stat info {};
  if (stat(path.c_str(), &info) == 0) {
    socket_dev_ = info.st_dev;
    socket_ino_ = info.st_ino;
  }
  acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail(make_error("listen on {}: {}", path, ec.message()));
  accept();
  thread_ = std::thread([this] { run_thread(); });
  spdlog::info("serving HTTP on unix socket {} (mode {:o})", path, config_.socket_mode);
  return ok();
}

void UnixHttpServer::Impl::run_thread() {
  for (;;) {
    try {
      io_.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("plugin socket {}: unexpected exception: {}", config_.socket_path, e.what());
    }
  }
}

void UnixHttpServer::Impl::accept() {
  acceptor_.async_accept([this](error_code ec, Local::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      set_cloexec(socket.native_handle());
      if (sessions_.size() >= config_.max_connections && !evict_idle()) {
        spdlog::warn("plugin socket {}: {} connections open, all mid-request; refusing another", config_.socket_path,
                     sessions_.size());
        error_code ignored;
        socket.close(ignored);
      } else {
        std::make_shared<Session>(*this, std::move(socket))->start();
      }
    } else {
      spdlog::warn("plugin socket {}: accept: {}", config_.socket_path, ec.message());
    }
    accept();
  });
}

bool UnixHttpServer::Impl::evict_idle() {
  Session* oldest = nullptr;
  for (Session* s : sessions_) {
    if (s->idle() && (oldest == nullptr || s->idle_mark() < oldest->idle_mark())) oldest = s;
  }
  if (oldest == nullptr) return false;
  ++evicted_;
  spdlog::debug("plugin socket {}: {} connections open, closing the longest idle one", config_.socket_path,
                sessions_.size());
  // Its pending wait completes with an error and the session goes away; the
  // count drops once that handler has run.
  oldest->close();
  return true;
}

HttpResponse UnixHttpServer::Impl::call_handler(const HttpRequest& request) {
  try {
    return handler_(request);
  } catch (const std::exception& e) {
    spdlog::error("plugin socket: handler for {} threw: {}", request.target, e.what());
    return HttpResponse{500, error_body(fmt::format("internal error: {}", e.what()))};
  } catch (...) {
    spdlog::error("plugin socket: handler for {} threw", request.target);
    return HttpResponse{500, error_body("internal error")};
  }
}

void UnixHttpServer::Impl::stop() {
  if (stopped_.exchange(true)) return;
  if (thread_.joinable()) {
    net::post(io_, [this] {
      error_code ignored;
      acceptor_.close(ignored);
      // Closing a session drops its pending operations; it is destroyed
      // (and removes itself from sessions_) once their handlers have run.
      const std::vector<Session*> open(sessions_.begin(), sessions_.end());
      for (Session* session : open) session->close();
    });
    thread_.join();
  }
  // Remove the socket file only if it is still the one we created.
  struct stat info {};
  if (socket_ino_ != 0 && stat(config_.socket_path.c_str(), &info) == 0 && info.st_dev == socket_dev_ &&
      info.st_ino == socket_ino_) {
    unlink(config_.socket_path.c_str());
  }
}

Result<std::unique_ptr<UnixHttpServer>> UnixHttpServer::start(UnixHttpServerConfig config, Handler handler) {
  if (auto valid = config.validate(); !valid) return valid.error().wrap("plugin socket config");
  if (!handler) return make_error("plugin socket: no handler");
  auto impl = std::make_unique<Impl>(std::move(config), std::move(handler));
  if (auto listening = impl->listen(); !listening) return listening.error();
  return std::unique_ptr<UnixHttpServer>(new UnixHttpServer(std::move(impl)));
}

UnixHttpServer::UnixHttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

UnixHttpServer::~UnixHttpServer() { stop(); }

void UnixHttpServer::stop() { impl_->stop(); }

std::size_t UnixHttpServer::connection_count() const { return impl_->connection_count(); }
std::uint64_t UnixHttpServer::evicted_count() const { return impl_->evicted(); }
std::size_t UnixHttpServer::idle_count() const { return impl_->idle_count(); }

}  // namespace ferry::plugins
