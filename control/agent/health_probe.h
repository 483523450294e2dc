// A non-blocking health call to ferry-dataplane, so the agent's loop (and
// with it gossip's timing) never waits for a data plane that is down:
// start() sends the request and returns at once, poll() picks the reply up
// when it is there, or gives a timeout error once the deadline has passed.
// One ZeroMQ REQ socket per probe (a REQ socket cannot recover from a lost
// reply), on one context kept for the agent's life.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/result.h"
#include "dataplane/api/request.h"

namespace ferry::agent {

class HealthProbe {
 public:
  HealthProbe(std::string endpoint, std::chrono::milliseconds timeout);
  ~HealthProbe();
  HealthProbe(const HealthProbe&) = delete;
  HealthProbe& operator=(const HealthProbe&) = delete;

  // Sends a health request (dropping one still in flight). `now` is any
  // monotonic time; the deadline is now + timeout.
  void start(std::chrono::steady_clock::time_point now);
  [[nodiscard]] bool in_flight() const { return socket_ != nullptr; }

  // The reply (or the failure) once known; nullopt while still waiting.
  std::optional<Result<dp_api::v1::Reply>> poll(std::chrono::steady_clock::time_point now);

 private:
  void close_socket();

  std::string endpoint_;
  std::chrono::milliseconds timeout_;
  void* context_ = nullptr;
  void* socket_ = nullptr;
  std::chrono::steady_clock::time_point deadline_{};
};

}  // namespace ferry::agent
