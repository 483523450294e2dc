#include "dataplane/api/client.h"

#include <fmt/format.h>
#include <poll.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>

#include "common/unix_socket_probe.h"

namespace ferry::dp_api {
namespace {

// The socket path of an ipc:// endpoint; empty for other transports and
// abstract names, which have no file to look at.
std::string socket_path(const std::string& endpoint) {
  if (endpoint.rfind("ipc://", 0) != 0 || endpoint.size() <= 6 || endpoint[6] == '@') return {};
  return endpoint.substr(6);
}

// Why the data plane at `path` cannot be used, in words that say what to do.
std::string explain(const std::string& path, const UnixSocketProbe& probe, long long timeout_ms) {
  return explain_unreachable(path, probe, "ferry-dataplane", "--api", "--api-group", timeout_ms);
}

struct ContextDeleter {
  void operator()(void* ctx) const { zmq_ctx_term(ctx); }
};
struct SocketDeleter {
  void operator()(void* socket) const { zmq_close(socket); }
};

}  // namespace

bool Client::cancelled() const {
  if (cancel_fd_ < 0) return false;
  pollfd p{cancel_fd_, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

Result<Reply> Client::call(const Command& command) const {
  auto reply = call(encode_request(command));
  if (!reply) return std::move(reply).error();
  auto typed = parse_reply(*reply);
  if (!typed) return typed.error().wrap(fmt::format("the reply from {}", endpoint_));
  return typed;
}

Result<v1::Reply> Client::call(v1::Request request) const {
  request.set_api_version(kApiVersion);
  if (request.client().empty()) {
    set_meta(request, meta_);
  }
  std::string bytes;
  if (!request.SerializeToString(&bytes)) {
    return make_error("cannot serialize the request");
  }
  return call_raw(bytes);
}

Result<v1::Reply> Client::call_raw(const std::string& bytes) const {
  if (endpoint_.rfind("ipc://", 0) != 0 && endpoint_.rfind("tcp://", 0) != 0) {
    return make_error("bad API endpoint '{}': expected ipc://PATH", endpoint_);
  }
  if (cancelled()) return make_error("call to {} cancelled", endpoint_);
  // A socket that is missing, refused or not ours to use fails at once, with
  // the reason, instead of after the timeout (ZeroMQ connects in the
  // background and would only time out).
  const std::string path = socket_path(endpoint_);
  if (!path.empty()) {
    if (const UnixSocketProbe probe = probe_unix_socket(path); probe.state != UnixSocketState::kAccepting) {
      return make_error("{}", explain(path, probe, 0));
    }
  }
  std::unique_ptr<void, ContextDeleter> ctx(zmq_ctx_new());
  if (!ctx) {
    return make_sys_error(errno, "zmq_ctx_new");
  }
  // Declared after ctx so it closes first (zmq_ctx_term waits for sockets).
  std::unique_ptr<void, SocketDeleter> socket(zmq_socket(ctx.get(), ZMQ_REQ));
  if (!socket) {
    return make_sys_error(errno, "zmq_socket");
  }
  const int timeout_ms = static_cast<int>(timeout_.count());
  const int linger = 0;
  zmq_setsockopt(socket.get(), ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms);
  zmq_setsockopt(socket.get(), ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
  zmq_setsockopt(socket.get(), ZMQ_LINGER, &linger, sizeof linger);
  const std::int64_t max_reply = kMaxReplyBytes;
  zmq_setsockopt(socket.get(), ZMQ_MAXMSGSIZE, &max_reply, sizeof max_reply);
  if (zmq_connect(socket.get(), endpoint_.c_str()) != 0) {
    return make_error("cannot connect to {}: {}", endpoint_, zmq_strerror(zmq_errno()));
  }
  if (zmq_send(socket.get(), bytes.data(), bytes.size(), 0) < 0) {
    const int err = zmq_errno();
    if (err == EAGAIN && !path.empty()) return make_error("{}", explain(path, probe_unix_socket(path), timeout_ms));
    return make_error("cannot send to {}: {}", endpoint_, zmq_strerror(err));
  }
  // With a cancel descriptor, wait on it and the socket together; the
  // receive below then only takes what is there.
  int recv_flags = 0;
  if (cancel_fd_ >= 0) {
    zmq_pollitem_t items[2] = {{socket.get(), 0, ZMQ_POLLIN, 0}, {nullptr, cancel_fd_, ZMQ_POLLIN, 0}};
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      const int ready = zmq_poll(items, 2, std::max<long>(0, static_cast<long>(left.count())));
      if (ready >= 0 || zmq_errno() != EINTR || left.count() <= 0) break;
    }
    if ((items[1].revents & ZMQ_POLLIN) != 0) return make_error("call to {} cancelled", endpoint_);
    recv_flags = ZMQ_DONTWAIT;
  }
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  if (zmq_msg_recv(&msg, socket.get(), recv_flags) < 0) {
    const int err = zmq_errno();
    zmq_msg_close(&msg);
    if (err == EAGAIN) {
      // Tell a data plane that went away (or a socket replaced) meanwhile from one that is there and silent.
      if (!path.empty()) return make_error("{}", explain(path, probe_unix_socket(path), timeout_ms));
      return make_error("no reply from {} within {} ms (is ferry-dataplane running there?)", endpoint_, timeout_ms);
    }
    return make_error("cannot receive from {}: {}", endpoint_, zmq_strerror(err));
  }
  v1::Reply reply;
  const bool parsed = reply.ParseFromArray(zmq_msg_data(&msg), static_cast<int>(zmq_msg_size(&msg)));
  zmq_msg_close(&msg);
  if (!parsed) {
    return make_error("the reply from {} is not a ferry.dataplane.v1.Reply", endpoint_);
  }
  return reply;
}

}  // namespace ferry::dp_api
