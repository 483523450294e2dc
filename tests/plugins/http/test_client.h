// A minimal blocking HTTP/1.1 client over a unix socket for the plugin
// tests: send raw bytes (to reproduce exactly what Docker writes, or to
// misbehave on purpose) and read one response with a deadline.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::plugins::testing {

struct ParsedResponse {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

class UnixClient {
 public:
  UnixClient() = default;
  ~UnixClient();
  UnixClient(const UnixClient&) = delete;
  UnixClient& operator=(const UnixClient&) = delete;

  // False (and errno set) when the connection fails.
  bool connect(const std::string& path);
  bool send(std::string_view bytes);
  // Reads one response; nullopt on EOF, error or deadline.
  std::optional<ParsedResponse> read_response(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // True when the server closed the connection (EOF or reset) within `timeout`.
  bool wait_closed(std::chrono::milliseconds timeout);
  void close();

  // POSTs `body` to `target` the way Docker does (Accept header, no
  // Content-Type, keep-alive) and reads the response.
  std::optional<ParsedResponse> post(std::string_view target, std::string_view body);

 private:
  // Reads at least one more byte into buffer_; false on EOF/error/deadline.
  bool fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;
};

// The request bytes Docker's plugin client writes for one call.
std::string docker_request(std::string_view target, std::string_view body);

}  // namespace ferry::plugins::testing
