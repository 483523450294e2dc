// CallLog: the latest Docker plugin calls as ferry-agent's plugin server saw
// them (method, request body, status, reply body, time to answer), so an
// operator can see what dockerd sent without a proxy or a packet capture
// (`ferryctl plugin-calls`). A bounded ring: the oldest call goes when a new
// one arrives at capacity; bodies longer than max_body are cut (marked).
// Thread-safe: the plugin server's thread records, the agent's loop reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::plugins::docker {

struct PluginCall {
  std::uint64_t seq = 0;     // 1, 2, ... since the server started
  std::int64_t unix_ms = 0;  // wall-clock time the request arrived
  std::string method;        // "NetworkDriver.Join" (the request target without '/')
  std::string request;       // body as received (cut to max_body)
  unsigned status = 0;       // HTTP status of the reply
  std::string reply;         // body as sent (cut to max_body)
  std::uint32_t micros = 0;  // time to answer
};

struct CallLogConfig {
  std::size_t capacity = 256;   // calls kept
  std::size_t max_body = 4096;  // bytes kept per body
};

class CallLog {
 public:
  explicit CallLog(CallLogConfig config = {}) : config_(config) {}

  // Stores a call (seq assigned here); bodies are cut to max_body with a
  // trailing "...(N bytes)" marker.
  void record(std::int64_t unix_ms, std::string_view method, std::string_view request, unsigned status,
              std::string_view reply, std::uint32_t micros);
  // The latest `limit` calls (0: all kept), oldest first.
  [[nodiscard]] std::vector<PluginCall> recent(std::size_t limit = 0) const;
  [[nodiscard]] std::uint64_t total() const;

 private:
  [[nodiscard]] std::string cut(std::string_view body) const;

  CallLogConfig config_;
  mutable std::mutex mutex_;
  std::deque<PluginCall> calls_;
  std::uint64_t next_seq_ = 1;
};

}  // namespace ferry::plugins::docker
