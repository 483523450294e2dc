#include "control/agent/dp_probe.h"

#include <zmq.h>

#include <cerrno>

namespace ferry::agent {

DpProbe::DpProbe(std::string endpoint, std::chrono::milliseconds timeout)
    : endpoint_(std::move(endpoint)), timeout_(timeout), context_(zmq_ctx_new()) {}

DpProbe::~DpProbe() {
  close_socket();
  if (context_ != nullptr) zmq_ctx_term(context_);
}

void DpProbe::close_socket() {
  if (socket_ != nullptr) zmq_close(socket_);
  socket_ = nullptr;
}

void DpProbe::start(dp_api::v1::Request request, std::chrono::steady_clock::time_point now) {
  close_socket();
  deadline_ = now + timeout_;
  if (context_ == nullptr) return;
  socket_ = zmq_socket(context_, ZMQ_REQ);
  if (socket_ == nullptr) return;
  const int linger = 0;
  zmq_setsockopt(socket_, ZMQ_LINGER, &linger, sizeof linger);
  request.set_api_version(dp_api::kApiVersion);
  const std::string bytes = request.SerializeAsString();
  if (zmq_connect(socket_, endpoint_.c_str()) != 0 || zmq_send(socket_, bytes.data(), bytes.size(), ZMQ_DONTWAIT) < 0) {
    // Reported by poll() as a timeout once the deadline passes; the next
    // probe tries again.
    close_socket();
  }
}

std::optional<Result<dp_api::v1::Reply>> DpProbe::poll(std::chrono::steady_clock::time_point now) {
  if (socket_ != nullptr) {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, socket_, ZMQ_DONTWAIT) >= 0) {
      dp_api::v1::Reply reply;
      const bool parsed = reply.ParseFromArray(zmq_msg_data(&msg), static_cast<int>(zmq_msg_size(&msg)));
      zmq_msg_close(&msg);
      close_socket();
      if (!parsed) return Result<dp_api::v1::Reply>(make_error("the reply from {} is not a Reply", endpoint_));
      return Result<dp_api::v1::Reply>(std::move(reply));
    }
    zmq_msg_close(&msg);
  }
  if (now < deadline_) return std::nullopt;
  const bool sent = socket_ != nullptr;
  close_socket();
  if (!sent) {
    return Result<dp_api::v1::Reply>(make_error("cannot send to {} (is ferry-dataplane running there?)", endpoint_));
  }
  return Result<dp_api::v1::Reply>(
      make_error("no reply from {} within {} ms (is ferry-dataplane running?)", endpoint_, timeout_.count()));
}

}  // namespace ferry::agent
