// Logging: leveled, one line per event, to stderr (daemons never own a
// terminal; the service manager collects stderr). Built on spdlog.
//
// The packet path logs nothing above debug; where a data-path event must be
// visible (a malformed frame) it is counted, and at most logged through
// RateLimiter below.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace ferry::log {

// Sets up the process-wide logger: `program` names the process in each line,
// `level` is one of trace, debug, info, warn, error, off.
Result<void> init(std::string_view program, std::string_view level = "info");

// Parses a level name; error names the accepted values.
Result<spdlog::level::level_enum> parse_level(std::string_view name);

// Token bucket: allows `burst` events, refilled at `per_second`. Not
// thread-safe: one per thread (OVS's vlog_rate_limit idea).
class RateLimiter {
 public:
  RateLimiter(double per_second, double burst) : rate_(per_second), burst_(burst), tokens_(burst) {}

  // True when an event at `now` may be logged; counts the ones suppressed.
  bool allow(std::chrono::steady_clock::time_point now);
  [[nodiscard]] std::uint64_t suppressed() const { return suppressed_; }

 private:
  double rate_;
  double burst_;
  double tokens_;
  std::chrono::steady_clock::time_point last_{};
  std::uint64_t suppressed_ = 0;
};

}  // namespace ferry::log
