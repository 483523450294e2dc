// A non-blocking call to ferry-dataplane (the periodic health check, the
// stats behind a metrics scrape), so the agent's loop (and with it gossip's
// timing) never waits for a data plane that is down or slow: start() sends
// the request and returns at once, poll() picks the reply up when it is
// there, or gives a timeout error once the deadline has passed.
// One ZeroMQ REQ socket per probe (a REQ socket cannot recover from a lost
// reply), on one context kept for the agent's life.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/result.h"
#include "dataplane/api/request.h"

namespace ferry::agent {

class DpProbe {
 public:
  DpProbe(std::string endpoint, std::chrono::milliseconds timeout);
  ~DpProbe();
  DpProbe(const DpProbe&) = delete;
  DpProbe& operator=(const DpProbe&) = delete;

  // Sends `request` (api_version is filled in), dropping one still in
  // flight. `now` is any monotonic time; the deadline is now + timeout.
  void start(dp_api::v1::Request request, std::chrono::steady_clock::time_point now);
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
