#include "plugins/docker/call_log.h"

#include <fmt/format.h>

namespace ferry::plugins::docker {

std::string CallLog::cut(std::string_view body) const {
  // Docker ends every body with a newline: not worth showing.
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
  if (body.size() <= config_.max_body) return std::string(body);
  return fmt::format("{}...({} bytes)", body.substr(0, config_.max_body), body.size());
}

void CallLog::record(std::int64_t unix_ms, std::string_view method, std::string_view request, unsigned status,
                     std::string_view reply, std::uint32_t micros) {
  PluginCall call{0, unix_ms, std::string(method), cut(request), status, cut(reply), micros};
  const std::lock_guard<std::mutex> lock(mutex_);
  call.seq = next_seq_++;
  if (config_.capacity == 0) return;
  if (calls_.size() == config_.capacity) calls_.pop_front();
  calls_.push_back(std::move(call));
}

std::vector<PluginCall> CallLog::recent(std::size_t limit) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  const std::size_t n = limit == 0 || limit > calls_.size() ? calls_.size() : limit;
  return {calls_.end() - static_cast<std::ptrdiff_t>(n), calls_.end()};
}

std::uint64_t CallLog::total() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return next_seq_ - 1;
}

}  // namespace ferry::plugins::docker
