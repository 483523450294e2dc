// The programming API's transport: a ZeroMQ ROUTER socket bound to
// ipc://PATH that speaks to REQ clients, served from the control thread
// between its other chores (poll with a timeout, answer, return). A stale
// socket file left by a dead process is reused; a path a live process
// listens on is refused.
//
// ROUTER, not REP: the server reads each message whole and answers only a
// request framed as a REQ client frames it ([empty delimiter][request]);
// anything else is dropped and counted. A REP socket keeps routing state
// across messages: libzmq (4.3.4, and its master) leaves its reply routing
// in the middle of a message when it rolls back a malformed envelope from a
// connection that has already closed, so the next client's reply went
// nowhere. Random bytes on the socket produce exactly that (libzmq reads
// them as ZMTP 1.0 frames), and well-formed clients got no answers.
//
// Messages are bounded (ZMQ_MAXMSGSIZE): ZeroMQ cuts the connection of a
// client that announces a larger one before buffering it; the client sees no
// reply (a REQ client reconnects and sends the message again, and is cut
// again, until it gives up). ZeroMQ reports the cut only as a disconnection
// on a socket monitor, so the server counts "cut" connections: accepted,
// through the ZMTP handshake, and closed without delivering a request. An
// over-size message is the usual cause; a client that connects and leaves
// without sending is counted too. A connection that never completes the
// handshake (a bare connect and close, as clients probe the path with) is
// not: libzmq reports a failed handshake immediately before that
// connection's disconnection, on its single I/O thread.
//
// The socket file's mode is set explicitly, never left to the umask: it is
// bound under a temporary name with umask 0177, given its mode (0600, or
// 0660 and a group) and only then renamed onto PATH, so no client can reach
// it before its permissions are final.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/log.h"
#include "common/result.h"

namespace ferry::dataplane::app {

// What is at `path`: nothing, a socket nobody listens on (stale), or a live
// listener. Errors for a path that exists and is not a socket.
enum class SocketPathState { kFree, kStale, kLive };
Result<SocketPathState> probe_socket_path(const std::string& path);

// Waits up to `patience` for a live listener on `path` to go away (a killed
// process whose memory the kernel is still releasing keeps its sockets until
// then). Ok once the path is free or stale; an error naming the path after.
Result<void> wait_for_api_path(const std::string& path, std::chrono::milliseconds patience);

class ApiServer {
 public:
  // Turns request bytes into reply bytes.
  using Handler = std::function<std::string(std::span<const std::uint8_t>)>;

  static constexpr std::int64_t kDefaultMaxMessageBytes = 1 << 20;

  struct Access {
    mode_t mode = 0600;          // permission bits of the socket file
    std::optional<gid_t> group;  // chown the socket file to this group when set
  };

  // Binds ipc://path (creating the parent directory if needed); messages
  // above `max_message_bytes` are refused by ZeroMQ.
  static Result<std::unique_ptr<ApiServer>> bind(const std::string& path, const Access& access,
                                                 std::int64_t max_message_bytes = kDefaultMaxMessageBytes);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Waits up to `timeout` for a request and answers every one that is
  // queued. Returns the number handled (0 on timeout or EINTR).
  Result<int> serve(std::chrono::milliseconds timeout, const Handler& handler);

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] mode_t mode() const;  // the socket file's mode bits now
  // Connections closed before they delivered a request (over-size messages
  // among them), since bind.
  [[nodiscard]] std::uint64_t cut_connections() const { return cut_; }
  // Messages dropped unanswered because they are not framed as a REQ
  // client's request (no empty delimiter after the routing id), since bind.
  [[nodiscard]] std::uint64_t unframed_messages() const { return unframed_; }

 private:
  ApiServer() = default;
  // Reads the monitor's pending events (connections opened and closed).
  void drain_monitor();
  // A request arrived on connection `fd`.
  void delivered(int fd);

  void* ctx_ = nullptr;
  void* socket_ = nullptr;
  void* monitor_ = nullptr;
  std::map<int, bool> connections_;  // accepted connections by fd: delivered a request yet?
  bool handshake_failed_ = false;    // the next disconnection is of a connection that failed its handshake
  std::uint64_t cut_ = 0;
  std::int64_t max_message_ = 0;
  log::RateLimiter cut_log_{1.0, 5.0};
  std::uint64_t unframed_ = 0;
  log::RateLimiter unframed_log_{1.0, 5.0};
  std::string path_;
  std::uint64_t inode_ = 0;  // the socket file we created (removed on close if still ours)
};

struct Config;
// The API socket's access from the configuration: 0600, or 0660 and the gid
// of --api-group (an unknown group is an error).
Result<ApiServer::Access> api_access(const Config& config);

}  // namespace ferry::dataplane::app
