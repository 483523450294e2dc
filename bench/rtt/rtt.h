// ferry-bench rtt: UDP round-trip latency, one request in flight (the
// request/response pattern of netperf's UDP_RR). A server echoes every
// datagram back; the client sends one, waits for its echo, records the round
// trip in nanoseconds and sends the next. Plain kernel sockets, so it runs in
// any namespace (a container of any overlay) and measures the path, not a
// userspace poll loop of its own.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <string>

#include "bench/gen/histogram.h"
#include "common/result.h"

namespace ferry::bench::rtt {

enum class Role { kServer, kClient };

struct RttConfig {
  Role role = Role::kClient;
  std::string address;             // server: address to bind; client: server to ping
  std::uint16_t port = 7007;       // UDP port of the server
  double duration_s = 3.0;         // client: how long to ping; server: how long to serve
  std::uint64_t count = 0;         // client: stop after this many round trips (0 = duration only)
  std::uint32_t size = 18;         // UDP payload bytes: 18 makes a 64-byte Ethernet frame with FCS
  std::uint32_t timeout_ms = 200;  // client: a request unanswered this long is lost
  std::uint64_t warmup = 100;      // client: round trips not recorded (ARP, caches)
  bool json = false;

  Result<void> validate() const;
};

// Parses `rtt server|client [options]` (argv[0] is "rtt"). `help` is set
// (with the text in `help_text`) when --help was asked.
struct CommandLine {
  RttConfig config;
  bool help = false;
  std::string help_text;
};
Result<CommandLine> parse_command_line(int argc, char** argv);

struct ClientReport {
  std::uint64_t sent = 0;
  std::uint64_t received = 0;  // recorded round trips (warm-up excluded)
  std::uint64_t lost = 0;      // requests that timed out (warm-up included)
  std::uint64_t stale = 0;     // late echoes of an earlier, timed-out request
  double seconds = 0.0;        // recorded part of the run
  gen::Histogram rtt_ns;
};

// Echoes datagrams on config.address:config.port until the duration ends or
// `stop` is set. Sets *ready (when given) once the socket is bound. Returns
// how many it echoed.
Result<std::uint64_t> run_server(const RttConfig& config, const std::atomic<bool>& stop,
                                 std::atomic<bool>* ready = nullptr);

// Pings the server until the duration or count is reached or *stop is set.
Result<ClientReport> run_client(const RttConfig& config, const std::atomic<bool>& stop);

nlohmann::json to_json(const ClientReport& report, const RttConfig& config);
std::string to_text(const ClientReport& report, const RttConfig& config);

}  // namespace ferry::bench::rtt
