#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <array>
#include <string>

namespace ferry::log {

Result<spdlog::level::level_enum> parse_level(std::string_view name) {
  struct Entry {
    std::string_view name;
    spdlog::level::level_enum level;
  };
  static constexpr std::array<Entry, 7> kLevels{{
      {"trace", spdlog::level::trace},
      {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},
      {"warn", spdlog::level::warn},
      {"warning", spdlog::level::warn},
      {"error", spdlog::level::err},
      {"off", spdlog::level::off},
  }};
  for (const auto& entry : kLevels) {
    if (entry.name == name) {
      return entry.level;
    }
  }
  return make_error("unknown log level '{}' (use trace, debug, info, warn, error or off)", name);
}

Result<void> init(std::string_view program, std::string_view level) {
  auto parsed = parse_level(level);
  if (!parsed) {
    return parsed.error();
  }
  const std::string name(program);
  spdlog::drop(name);  // init() may run again (tests); spdlog refuses duplicate names
  auto logger = spdlog::stderr_logger_mt(name);
  logger->set_pattern(fmt::format("%Y-%m-%dT%H:%M:%S.%e %^%l%$ {}: %v", program));
  logger->set_level(*parsed);
  spdlog::set_default_logger(logger);
  return ok();
}

bool RateLimiter::allow(std::chrono::steady_clock::time_point now) {
  if (last_ != std::chrono::steady_clock::time_point{}) {
    const std::chrono::duration<double> elapsed = now - last_;
    tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
  }
  last_ = now;
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return true;
  }
  ++suppressed_;
  return false;
}

}  // namespace ferry::log
