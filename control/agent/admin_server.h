// The admin API's transport: a unix stream socket (mode 0600). A client
// sends one JSON object on one line, gets one JSON object on one line back,
// and the server closes the connection. Requests over 64 KiB, malformed
// JSON and idle connections (5 s by default) get an error or are dropped; none of them
// affects the agent. Single-threaded: the agent's poll loop calls in.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "control/agent/conn_table.h"

namespace ferry::agent {

class AdminServer {
 public:
  using Handler = std::function<nlohmann::json(const nlohmann::json& request)>;
  // A handler that may answer later (an address allocation waiting for a
  // donation): it calls `respond` exactly once, now or from a later loop turn.
  using Respond = std::function<void(const nlohmann::json& reply)>;
  using AsyncHandler = std::function<void(const nlohmann::json& request, const Respond& respond)>;
  static constexpr std::size_t kMaxRequestSize = 64 * 1024;
  static constexpr std::chrono::seconds kIdleTimeout{5};

  // `idle`: a connection without a complete request is closed after this
  // long; `reply`: a client that does not read its reply is given up after.
  AdminServer(std::string path, Handler handler);
  AdminServer(std::string path, AsyncHandler handler, std::chrono::milliseconds idle = kIdleTimeout,
              std::chrono::milliseconds reply = ConnTable::kReplyTimeout)
      : path_(std::move(path)), handler_(std::move(handler)), conns_(kMaxRequestSize, idle, reply) {}
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and listens (replacing a stale socket file); returns the listening fd.
  Result<int> open();
  // Accepts pending connections; returns their fds (the caller watches them).
  std::vector<int> accept_all();
  // Reads from a connection; answers and closes it once a line is complete.
  // Returns false when the connection is closed (the caller unwatches it).
  bool on_readable(int fd);
  // Closes connections idle longer than the idle timeout (not those waiting for
  // a deferred answer); returns their fds.
  std::vector<int> expire();

 private:
  void reply_and_close(int fd, const nlohmann::json& reply);

  std::string path_;
  AsyncHandler handler_;
  bool listening_ = false;  // the socket file is ours to remove
  ConnTable conns_;
};

// Client side, for ferryctl and tests: one request, one reply.
Result<nlohmann::json> admin_call(const std::string& path, const nlohmann::json& request,
                                  std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

}  // namespace ferry::agent
