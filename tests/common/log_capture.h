// LogCapture: records what spdlog writes, for tests that check log lines.
// While one exists it is the default logger (the agent's and the real
// transport's lines land in it) and the previous default comes back when it
// goes; logger(name) makes loggers for objects that take their own (the
// simulator's nodes), writing to the same record.
#pragma once

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::testing {

struct LogLine {
  spdlog::level::level_enum level;
  std::string logger;
  std::string text;
};

class CaptureSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  [[nodiscard]] std::vector<LogLine> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  void clear() {
    std::lock_guard lock(mutex_);
    lines_.clear();
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    lines_.push_back(LogLine{msg.level, std::string(msg.logger_name.data(), msg.logger_name.size()),
                             std::string(msg.payload.data(), msg.payload.size())});
  }
  void flush_() override {}

 private:
  std::vector<LogLine> lines_;
};

class LogCapture {
 public:
  explicit LogCapture(spdlog::level::level_enum level = spdlog::level::trace)
      : sink_(std::make_shared<CaptureSink>()), level_(level), previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(logger("default"));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  [[nodiscard]] std::shared_ptr<spdlog::logger> logger(const std::string& name) const {
    auto l = std::make_shared<spdlog::logger>(name, sink_);
    l->set_level(level_);
    return l;
  }
  [[nodiscard]] std::shared_ptr<CaptureSink> sink() const { return sink_; }
  [[nodiscard]] std::vector<LogLine> lines() const { return sink_->lines(); }
  void clear() { sink_->clear(); }

  // Lines at `level` whose text holds every one of `parts` (and, when
  // `logger` is not empty, written by that logger).
  [[nodiscard]] std::vector<LogLine> find(spdlog::level::level_enum level,
                                          std::initializer_list<std::string_view> parts,
                                          std::string_view logger = {}) const {
    std::vector<LogLine> out;
    for (auto& line : lines()) {
      if (line.level != level || (!logger.empty() && line.logger != logger)) continue;
      bool all = true;
      for (std::string_view p : parts) all = all && line.text.find(p) != std::string::npos;
      if (all) out.push_back(std::move(line));
    }
    return out;
  }
  // Everything captured, one line each, for failure messages.
  [[nodiscard]] std::string dump() const {
    std::string out;
    for (const auto& line : lines()) {
      const auto level = spdlog::level::to_string_view(line.level);
      out.append(level.data(), level.size()).append(" ").append(line.logger).append(": ").append(line.text);
      out += '\n';
    }
    return out;
  }

 private:
  std::shared_ptr<CaptureSink> sink_;
  spdlog::level::level_enum level_;
  std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace ferry::testing
