#include "dataplane/api/client.h"

#include <fmt/format.h>
#include <zmq.h>

#include <cerrno>
#include <memory>

namespace ferry::dp_api {
namespace {

struct ContextDeleter {
  void operator()(void* ctx) const { zmq_ctx_term(ctx); }
};
struct SocketDeleter {
  void operator()(void* socket) const { zmq_close(socket); }
};

}  // namespace

Result<Reply> Client::call(const Command& command) const {
  auto reply = call(encode_request(command));
  if (!reply) return std::move(reply).error();
  auto typed = parse_reply(*reply);
  if (!typed) return typed.error().wrap(fmt::format("the reply from {}", endpoint_));
  return typed;
}

Result<v1::Reply> Client::call(v1::Request request) const {
  request.set_api_version(kApiVersion);
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
  if (zmq_connect(socket.get(), endpoint_.c_str()) != 0) {
    return make_error("cannot connect to {}: {}", endpoint_, zmq_strerror(zmq_errno()));
  }
  if (zmq_send(socket.get(), bytes.data(), bytes.size(), 0) < 0) {
    return make_error("cannot send to {}: {} (is ferry-dataplane running there?)", endpoint_,
                      zmq_strerror(zmq_errno()));
  }
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  if (zmq_msg_recv(&msg, socket.get(), 0) < 0) {
    const int err = zmq_errno();
    zmq_msg_close(&msg);
    if (err == EAGAIN) {
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
