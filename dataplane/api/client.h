// A blocking client for the v1 API: one fresh ZeroMQ REQ socket per call,
// with send/receive timeouts and linger 0, so a dead or wedged server costs
// at most `timeout` and never hangs the caller (REQ sockets cannot recover
// from a lost reply, hence one per call).
//
// For an ipc:// endpoint the socket file is probed first
// (common/unix_socket_probe.h): a missing socket, a refused connection or a
// permission denied fails at once and says so; a timeout after that says the
// server accepted but did not answer.
#pragma once

#include <chrono>
#include <string>

#include "common/result.h"
#include "dataplane/api/reply.h"
#include "dataplane/api/request.h"

namespace ferry::dp_api {

class Client {
 public:
  explicit Client(std::string endpoint, std::chrono::milliseconds timeout = std::chrono::milliseconds(3000),
                  RequestMeta meta = {})
      : endpoint_(std::move(endpoint)), timeout_(timeout), meta_(std::move(meta)) {}

  // Sends `command` and returns the typed reply, whatever its status. Errors
  // only for transport failures (no reply in time) and replies that are not
  // a Reply or carry an address that does not parse.
  Result<Reply> call(const Command& command) const;

  // The wire form: sends `request` (api_version filled in, and the client's
  // RequestMeta unless the request names a client itself) and returns the
  // reply, whatever its status. Errors only for transport failures (no reply
  // in time, or a reply that is not a Reply).
  Result<v1::Reply> call(v1::Request request) const;

  // Raw form for tests: sends arbitrary bytes.
  Result<v1::Reply> call_raw(const std::string& bytes) const;

  [[nodiscard]] const std::string& endpoint() const { return endpoint_; }

  // A descriptor the caller owns (an eventfd, a pipe's read end): once it is
  // readable, a call waiting for its reply, and every later call, fails at
  // once instead of waiting out the timeout. For a caller that must stop
  // promptly (the agent's data-plane thread on SIGTERM).
  void set_cancel_fd(int fd) { cancel_fd_ = fd; }

 private:
  [[nodiscard]] bool cancelled() const;
  std::string endpoint_;
  std::chrono::milliseconds timeout_;
  RequestMeta meta_;
  int cancel_fd_ = -1;
};

}  // namespace ferry::dp_api
