// A small HTTP/1.1 server on a unix stream socket (Boost.Beast over Asio
// local sockets), for the Docker plugin API (and later the admin API).
//
// - The socket file is created with `socket_mode` (default 0660, owned by the
//   process's user: root for ferry-agent) and optionally chowned to a group.
//   A stale socket file (nobody listening) is replaced; a live one makes
//   start() fail with a message saying another process is serving it.
// - At most `max_connections` at once; at the limit the longest-idle
//   keep-alive connection is closed to admit a new one (never one in the
//   middle of a request).
// - Keep-alive; bodies over `max_body_size` get 413 and the connection is
//   closed; a request not fully read within `request_timeout` of its first
//   byte, or a connection idle for `idle_timeout`, is closed. Connections are
//   served concurrently by one thread's io_context (async I/O), so a slow
//   client never blocks the others.
// - Replies carry `content_type`. Requests must be POST and may carry no
//   Content-Type, application/json, or any application/vnd.docker.plugins.v1*
//   variant; anything else gets 415. Errors the server itself produces are
//   JSON bodies {"Err": "..."}.
//
// Threading contract: the handler runs on the server's thread, one request
// at a time. start()/stop()/the destructor may be called from any one
// other thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"

namespace ferry::plugins {

struct UnixHttpServerConfig {
  std::string socket_path;                            // e.g. /run/docker/plugins/ferry.sock (at most 107 bytes)
  mode_t socket_mode = 0660;                          // permission bits of the socket file
  std::optional<gid_t> socket_group;                  // chown the socket file to this group when set
  std::size_t max_body_size = 1 << 20;                // bytes; larger bodies get 413
  std::size_t max_header_size = 16 << 10;             // bytes; larger headers get 431
  std::chrono::milliseconds request_timeout{10'000};  // first byte of a request to its last byte
  std::chrono::milliseconds idle_timeout{120'000};    // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{10'000};    // to write one reply
  // At this many open connections a new one closes the connection that has
  // waited longest for its next request; only when all are mid-request is
  // the new one closed instead. Idle clients can never lock others out.
  std::size_t max_connections = 128;
  std::string content_type = "application/vnd.docker.plugins.v1.2+json";

  [[nodiscard]] Result<void> validate() const;
};

struct HttpRequest {
  std::string method;  // "POST"
  std::string target;  // "/Plugin.Activate"
  std::string body;
};

struct HttpResponse {
  unsigned status = 200;
  std::string body;
};

class UnixHttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  // Validates `config`, creates the socket and starts serving on a new
  // thread. The handler must not throw (a throw becomes a 500).
  [[nodiscard]] static Result<std::unique_ptr<UnixHttpServer>> start(UnixHttpServerConfig config, Handler handler);

  ~UnixHttpServer();
  UnixHttpServer(const UnixHttpServer&) = delete;
  UnixHttpServer& operator=(const UnixHttpServer&) = delete;

  // Closes the listening socket and every connection, joins the thread and
  // removes the socket file (if it is still ours). Idempotent.
  void stop();

  // Open connections right now (thread-safe; for tests and metrics).
  [[nodiscard]] std::size_t connection_count() const;
  // Idle connections closed to make room for new ones (thread-safe).
  [[nodiscard]] std::uint64_t evicted_count() const;
  // Connections waiting for their next request right now (thread-safe).
  [[nodiscard]] std::size_t idle_count() const;

  class Impl;

 private:
  explicit UnixHttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True for the request Content-Types the server accepts (see above).
[[nodiscard]] bool acceptable_content_type(std::string_view content_type);

// Removes `path` if it is a socket nobody is listening on; fails if someone
// is, or if it is not a socket. No-op when the path does not exist.
[[nodiscard]] Result<void> remove_stale_socket(const std::string& path);

}  // namespace ferry::plugins
