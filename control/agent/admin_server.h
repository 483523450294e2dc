// The admin API's transport: a unix stream socket (mode 0600). A client
// sends one JSON object on one line, gets one JSON object on one line back,
// and the server closes the connection. Requests over 64 KiB, malformed
// JSON and idle connections (5 s by default) get an error or are dropped; none of them
// affects the agent. Replies never make the loop wait: a client that reads
// slowly gets the rest as its socket takes it (ConnTable), and one that does
// not read within the reply timeout is cut and counted (cut()).
// Single-threaded: the agent's poll loop calls in.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "control/agent/conn_table.h"

namespace ferry::agent {

// File descriptors that came with a request (SCM_RIGHTS: a CNI plugin hands
// over a container's network namespace), closed when the last reference
// goes, so they stay open for an answer that comes on a later loop turn.
class PassedFds {
 public:
  explicit PassedFds(std::vector<int> fds) : fds_(std::move(fds)) {}
  ~PassedFds();
  PassedFds(const PassedFds&) = delete;
  PassedFds& operator=(const PassedFds&) = delete;
  [[nodiscard]] const std::vector<int>& fds() const { return fds_; }

 private:
  std::vector<int> fds_;
};

class AdminServer {
 public:
  using Handler = std::function<nlohmann::json(const nlohmann::json& request)>;
  // A handler that may answer later (an address allocation waiting for a
  // donation): it calls `respond` exactly once, now or from a later loop turn.
  using Respond = std::function<void(const nlohmann::json& reply)>;
  using AsyncHandler = std::function<void(const nlohmann::json& request, const Respond& respond)>;
  // The same with the file descriptors passed along (none: an empty set).
  using FdHandler = std::function<void(const nlohmann::json& request, const std::shared_ptr<const PassedFds>& fds,
                                       const Respond& respond)>;
  static constexpr std::size_t kMaxRequestSize = 64 * 1024;
  static constexpr std::chrono::seconds kIdleTimeout{5};

  // `idle`: a connection without a complete request is closed after this
  // long; `reply`: a client that does not read its reply is given up after.
  AdminServer(std::string path, Handler handler);
  AdminServer(std::string path, AsyncHandler handler, std::chrono::milliseconds idle = kIdleTimeout,
              std::chrono::milliseconds reply = ConnTable::kReplyTimeout);
  AdminServer(std::string path, FdHandler handler, std::chrono::milliseconds idle = kIdleTimeout,
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
  // a deferred answer) or not reading their reply; returns their fds.
  std::vector<int> expire();
  // Which fds have a reply left to write (ConnTable::WriteWatcher), and the
  // call when one is writable.
  void set_write_watcher(ConnTable::WriteWatcher watcher) { conns_.set_write_watcher(std::move(watcher)); }
  void on_writable(int fd) { conns_.on_writable(fd); }
  [[nodiscard]] std::uint64_t cut() const { return conns_.cut(); }

 private:
  void reply_and_close(int fd, const nlohmann::json& reply);

  std::string path_;
  FdHandler handler_;
  bool listening_ = false;  // the socket file is ours to remove
  ConnTable conns_;
};

// Client side, for ferryctl, the CNI plugin and tests: one request, one
// reply; `pass_fd` (>= 0) goes along with the request (SCM_RIGHTS).
Result<nlohmann::json> admin_call(const std::string& path, const nlohmann::json& request,
                                  std::chrono::milliseconds timeout = std::chrono::milliseconds(10000),
                                  int pass_fd = -1);

}  // namespace ferry::agent
