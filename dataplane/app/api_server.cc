#include "dataplane/app/api_server.h"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <zmq.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>
#include <utility>
#include <vector>

#include "common/log.h"
#include "dataplane/app/config.h"

namespace ferry::dataplane::app {

Result<SocketPathState> probe_socket_path(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return SocketPathState::kFree;
    }
    return make_sys_error(errno, "API path {}", path);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return make_error("API path {} exists and is not a socket", path);
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return make_error("API path {} is too long for a unix socket", path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return make_sys_error(errno, "socket");
  }
  const int rc = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const int err = errno;
  close(fd);
  if (rc == 0) {
    return SocketPathState::kLive;
  }
  if (err == ECONNREFUSED) {
    return SocketPathState::kStale;
  }
  return make_sys_error(err, "probing API path {}", path);
}

Result<void> wait_for_api_path(const std::string& path, std::chrono::milliseconds patience) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  bool told = false;
  for (;;) {
    auto state = probe_socket_path(path);
    if (!state) {
      return state.error();
    }
    if (*state != SocketPathState::kLive) {
      return ok();
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return make_error("API path {} is in use by a running process (another ferry-dataplane?){}", path,
                        told ? fmt::format("; still in use after {} ms", patience.count()) : "");
    }
    if (!told) {
      spdlog::info("API path {} is in use; waiting up to {} ms for the process serving it to exit", path,
                   patience.count());
      told = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

Result<ApiServer::Access> api_access(const Config& config) {
  ApiServer::Access access;
  if (config.api_group.empty()) {
    return access;
  }
  group entry{};
  group* found = nullptr;
  std::vector<char> buffer(16384);
  const int rc = getgrnam_r(config.api_group.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (rc != 0) {
    return make_sys_error(rc, "--api-group {}: looking up the group", config.api_group);
  }
  if (found == nullptr) {
    return make_error("--api-group {}: no such group", config.api_group);
  }
  access.mode = 0660;
  access.group = entry.gr_gid;
  return access;
}

mode_t ApiServer::mode() const {
  struct stat st {};
  return stat(path_.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

Result<std::unique_ptr<ApiServer>> ApiServer::bind(const std::string& path, const Access& access,
                                                   std::int64_t max_message_bytes) {
  auto state = probe_socket_path(path);
  if (!state) {
    return state.error();
  }
  if (*state == SocketPathState::kLive) {
    return make_error("API path {} is in use by a running process (another ferry-dataplane?)", path);
  }
  if (*state == SocketPathState::kStale) {
    spdlog::info("removing stale API socket {}", path);
    unlink(path.c_str());
  }
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return make_error("cannot create directory {} for the API socket: {}", parent.string(), ec.message());
    }
  }
  std::unique_ptr<ApiServer> server(new ApiServer());
  server->path_ = path;
  server->max_message_ = max_message_bytes;
  server->ctx_ = zmq_ctx_new();
  if (server->ctx_ == nullptr) {
    return make_sys_error(errno, "zmq_ctx_new");
  }
  server->socket_ = zmq_socket(server->ctx_, ZMQ_ROUTER);
  if (server->socket_ == nullptr) {
    return make_sys_error(zmq_errno(), "zmq_socket");
  }
  const int linger = 0;
  zmq_setsockopt(server->socket_, ZMQ_LINGER, &linger, sizeof linger);
  if (zmq_setsockopt(server->socket_, ZMQ_MAXMSGSIZE, &max_message_bytes, sizeof max_message_bytes) != 0) {
    return make_error("ZMQ_MAXMSGSIZE {}: {}", max_message_bytes, zmq_strerror(zmq_errno()));
  }
  const std::string monitor = fmt::format("inproc://ferry-api-monitor-{}", static_cast<const void*>(server.get()));
  // ACCEPTED carries the connection's fd (HANDSHAKE_SUCCEEDED carries 0);
  // a failed handshake comes just before that connection's DISCONNECTED.
  constexpr int kEvents = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                          ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                          ZMQ_EVENT_DISCONNECTED;
  if (zmq_socket_monitor(server->socket_, monitor.c_str(), kEvents) != 0) {
    return make_error("zmq_socket_monitor: {}", zmq_strerror(zmq_errno()));
  }
  server->monitor_ = zmq_socket(server->ctx_, ZMQ_PAIR);
  if (server->monitor_ == nullptr || zmq_connect(server->monitor_, monitor.c_str()) != 0) {
    return make_error("API socket monitor: {}", zmq_strerror(zmq_errno()));
  }
  zmq_setsockopt(server->monitor_, ZMQ_LINGER, &linger, sizeof linger);
  // Bind under a private name with no access for anyone but the owner, set
  // the final mode and group, then move it into place.
  const std::string temporary = fmt::format("{}.{}.tmp", path, getpid());
  unlink(temporary.c_str());
  const std::string endpoint = "ipc://" + temporary;
  const mode_t old_umask = umask(0177);
  const int bound = zmq_bind(server->socket_, endpoint.c_str());
  const int bind_errno = zmq_errno();
  umask(old_umask);
  if (bound != 0) {
    return make_error("cannot bind the API socket {}: {}", endpoint, zmq_strerror(bind_errno));
  }
  const auto undo = [&](Error e) {
    unlink(temporary.c_str());
    return e;
  };
  if (chmod(temporary.c_str(), access.mode) != 0) {
    return undo(make_sys_error(errno, "chmod {:o} {}", access.mode, temporary));
  }
  if (access.group && chown(temporary.c_str(), static_cast<uid_t>(-1), *access.group) != 0) {
    return undo(make_sys_error(errno, "chown {} to group {}", temporary, *access.group));
  }
  if (rename(temporary.c_str(), path.c_str()) != 0) {
    return undo(make_sys_error(errno, "rename {} to {}", temporary, path));
  }
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) {
    server->inode_ = st.st_ino;
  }
  return server;
}

ApiServer::~ApiServer() {
  if (monitor_ != nullptr) {
    zmq_close(monitor_);
  }
  if (socket_ != nullptr) {
    zmq_close(socket_);
  }
  if (ctx_ != nullptr) {
    zmq_ctx_term(ctx_);
  }
  // libzmq removes the file it bound; make sure, but never remove a file a
  // newer process created in the meantime.
  struct stat st {};
  if (inode_ != 0 && stat(path_.c_str(), &st) == 0 && st.st_ino == inode_) {
    unlink(path_.c_str());
  }
}

void ApiServer::drain_monitor() {
  for (;;) {
    // Two frames per event: 16-bit event and 32-bit value (the fd), then the
    // endpoint.
    zmq_msg_t event;
    zmq_msg_init(&event);
    if (zmq_msg_recv(&event, monitor_, ZMQ_DONTWAIT) < 0) {
      zmq_msg_close(&event);
      return;
    }
    std::uint16_t id = 0;
    std::uint32_t value = 0;
    if (zmq_msg_size(&event) >= sizeof id + sizeof value) {
      std::memcpy(&id, zmq_msg_data(&event), sizeof id);
      std::memcpy(&value, static_cast<const char*>(zmq_msg_data(&event)) + sizeof id, sizeof value);
    }
    const bool more = zmq_msg_more(&event) != 0;
    zmq_msg_close(&event);
    if (more) {
      zmq_msg_t endpoint;
      zmq_msg_init(&endpoint);
      zmq_msg_recv(&endpoint, monitor_, 0);
      zmq_msg_close(&endpoint);
    }
    const int fd = static_cast<int>(value);
    if (id == ZMQ_EVENT_ACCEPTED) {
      connections_[fd] = false;
    } else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL || id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
               id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
      handshake_failed_ = true;
    } else if (id == ZMQ_EVENT_DISCONNECTED) {
      const bool never_spoke = std::exchange(handshake_failed_, false);
      auto it = connections_.find(fd);
      if (it != connections_.end()) {
        if (!it->second && !never_spoke) {
          ++cut_;
          if (cut_log_.allow(std::chrono::steady_clock::now())) {
            spdlog::warn(
                "API: a connection closed before a whole request arrived ({} so far; a request above {} "
                "bytes is cut unread)",
                cut_, max_message_);
          }
        }
        connections_.erase(it);
      }
    }
  }
}

void ApiServer::delivered(int fd) {
  // The monitor reports a connection's handshake before any of its messages
  // can be read: read what it has first, so the fd is that connection's.
  drain_monitor();
  if (auto it = connections_.find(fd); it != connections_.end()) {
    it->second = true;
  }
}

namespace {

// One received message part; closed when it goes out of scope.
class Part {
 public:
  Part() { zmq_msg_init(&msg_); }
  ~Part() { zmq_msg_close(&msg_); }
  Part(const Part&) = delete;
  Part& operator=(const Part&) = delete;
  zmq_msg_t* get() { return &msg_; }
  [[nodiscard]] std::size_t size() { return zmq_msg_size(&msg_); }
  [[nodiscard]] const std::uint8_t* data() { return static_cast<const std::uint8_t*>(zmq_msg_data(&msg_)); }
  [[nodiscard]] bool more() const { return zmq_msg_more(&msg_) != 0; }

 private:
  zmq_msg_t msg_{};
};

}  // namespace

Result<int> ApiServer::serve(std::chrono::milliseconds timeout, const Handler& handler) {
  zmq_pollitem_t items[2] = {{socket_, 0, ZMQ_POLLIN, 0}, {monitor_, 0, ZMQ_POLLIN, 0}};
  const int ready = zmq_poll(items, 2, static_cast<long>(timeout.count()));
  if (ready < 0) {
    if (zmq_errno() == EINTR) {
      return 0;
    }
    return make_error("zmq_poll: {}", zmq_strerror(zmq_errno()));
  }
  drain_monitor();
  int handled = 0;
  while (true) {
    // A message is [routing id][empty delimiter][request]: the ROUTER socket
    // puts the connection's routing id first, a REQ client the delimiter.
    // ZeroMQ hands a message over whole, so once its first part is here the
    // others are too.
    Part routing;
    if (zmq_msg_recv(routing.get(), socket_, ZMQ_DONTWAIT) < 0) {
      const int err = zmq_errno();
      if (err == EAGAIN || err == EINTR) {
        return handled;
      }
      return make_error("API receive: {}", zmq_strerror(err));
    }
    Part delimiter;
    Part request;
    int parts = 1;
    bool more = routing.more();
    if (more) {
      zmq_msg_recv(delimiter.get(), socket_, 0);
      more = delimiter.more();
      ++parts;
    }
    if (more) {
      zmq_msg_recv(request.get(), socket_, 0);
      more = request.more();
      ++parts;
    }
    // A multi-part request is malformed: drain the extra parts and answer
    // with what the handler says about empty input.
    const bool multipart = more;
    while (more) {
      Part extra;
      zmq_msg_recv(extra.get(), socket_, 0);
      more = extra.more();
      ++parts;
    }
    if (parts < 3 || delimiter.size() != 0) {
      // Not from a REQ client (random bytes read as ZMTP 1.0 frames come
      // here): nobody waits for an answer. Dropped, never answered.
      ++unframed_;
      if (unframed_log_.allow(std::chrono::steady_clock::now())) {
        spdlog::warn("API: dropped a message that is not a request ({} so far; {} part(s), no empty delimiter)",
                     unframed_, parts);
      }
      continue;
    }
    delivered(zmq_msg_get(request.get(), ZMQ_SRCFD));
    const std::string reply = multipart
                                  ? handler(std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(nullptr), 0))
                                  : handler(std::span<const std::uint8_t>(request.data(), request.size()));
    // The reply goes back the same way; to a connection that is gone or
    // whose queue is full, ZeroMQ drops it (a ROUTER never blocks a send).
    if (zmq_send(socket_, zmq_msg_data(routing.get()), routing.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(socket_, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(socket_, reply.data(), reply.size(), ZMQ_DONTWAIT) < 0) {
      spdlog::warn("API reply not sent: {}", zmq_strerror(zmq_errno()));
    }
    ++handled;
  }
}

}  // namespace ferry::dataplane::app
