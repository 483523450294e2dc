// The programming API's transport: a ZeroMQ REP socket bound to ipc://PATH,
// served from the control thread between its other chores (poll with a
// timeout, answer, return). A stale socket file left by a dead process is
// reused; a path a live process listens on is refused.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "common/result.h"

namespace ferry::dataplane::app {

// What is at `path`: nothing, a socket nobody listens on (stale), or a live
// listener. Errors for a path that exists and is not a socket.
enum class SocketPathState { kFree, kStale, kLive };
Result<SocketPathState> probe_socket_path(const std::string& path);

class ApiServer {
 public:
  // Turns request bytes into reply bytes.
  using Handler = std::function<std::string(std::span<const std::uint8_t>)>;

  // Binds ipc://path (creating the parent directory if needed).
  static Result<std::unique_ptr<ApiServer>> bind(const std::string& path);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Waits up to `timeout` for a request and answers every one that is
  // queued. Returns the number handled (0 on timeout or EINTR).
  Result<int> serve(std::chrono::milliseconds timeout, const Handler& handler);

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  ApiServer() = default;

  void* ctx_ = nullptr;
  void* socket_ = nullptr;
  std::string path_;
  std::uint64_t inode_ = 0;  // the socket file we created (removed on close if still ours)
};

}  // namespace ferry::dataplane::app
