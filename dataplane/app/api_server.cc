#include "dataplane/app/api_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <zmq.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/log.h"

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

Result<std::unique_ptr<ApiServer>> ApiServer::bind(const std::string& path) {
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
  server->ctx_ = zmq_ctx_new();
  if (server->ctx_ == nullptr) {
    return make_sys_error(errno, "zmq_ctx_new");
  }
  server->socket_ = zmq_socket(server->ctx_, ZMQ_REP);
  if (server->socket_ == nullptr) {
    return make_sys_error(zmq_errno(), "zmq_socket");
  }
  const int linger = 0;
  zmq_setsockopt(server->socket_, ZMQ_LINGER, &linger, sizeof linger);
  const std::string endpoint = "ipc://" + path;
  if (zmq_bind(server->socket_, endpoint.c_str()) != 0) {
    return make_error("cannot bind the API socket {}: {}", endpoint, zmq_strerror(zmq_errno()));
  }
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) {
    server->inode_ = st.st_ino;
  }
  return server;
}

ApiServer::~ApiServer() {
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

Result<int> ApiServer::serve(std::chrono::milliseconds timeout, const Handler& handler) {
  zmq_pollitem_t item{socket_, 0, ZMQ_POLLIN, 0};
  const int ready = zmq_poll(&item, 1, static_cast<long>(timeout.count()));
  if (ready < 0) {
    if (zmq_errno() == EINTR) {
      return 0;
    }
    return make_error("zmq_poll: {}", zmq_strerror(zmq_errno()));
  }
  int handled = 0;
  while (true) {
    zmq_msg_t request;
    zmq_msg_init(&request);
    if (zmq_msg_recv(&request, socket_, ZMQ_DONTWAIT) < 0) {
      zmq_msg_close(&request);
      const int err = zmq_errno();
      if (err == EAGAIN || err == EINTR) {
        return handled;
      }
      return make_error("API receive: {}", zmq_strerror(err));
    }
    // A multi-part request is malformed; drain the extra parts so the REP
    // state machine stays in step, and answer with what the handler says
    // about empty input.
    int more = 0;
    std::size_t more_size = sizeof more;
    zmq_getsockopt(socket_, ZMQ_RCVMORE, &more, &more_size);
    bool multipart = false;
    while (more != 0) {
      multipart = true;
      zmq_msg_t part;
      zmq_msg_init(&part);
      zmq_msg_recv(&part, socket_, 0);
      zmq_msg_close(&part);
      zmq_getsockopt(socket_, ZMQ_RCVMORE, &more, &more_size);
    }
    const auto* data = static_cast<const std::uint8_t*>(zmq_msg_data(&request));
    const std::string reply = multipart
                                  ? handler(std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(nullptr), 0))
                                  : handler(std::span<const std::uint8_t>(data, zmq_msg_size(&request)));
    zmq_msg_close(&request);
    if (zmq_send(socket_, reply.data(), reply.size(), 0) < 0) {
      spdlog::warn("API reply not sent: {}", zmq_strerror(zmq_errno()));
    }
    ++handled;
  }
}

}  // namespace ferry::dataplane::app
