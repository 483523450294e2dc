#include "bench/rtt/rtt.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <vector>

#include "common/ip_address.h"

namespace ferry::bench::rtt {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::uint32_t kMaxSize = 65507;  // largest UDP payload over IPv4
constexpr std::uint32_t kSeqBytes = 8;     // the sequence number opens the payload

// A socket closed when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

Result<sockaddr_in> make_address(const std::string& ip, std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  const auto parsed = parse_ip(ip);  // common/ip_address.h
  if (!parsed || parsed->family != Family::kIPv4) return make_error("'{}' is not an IPv4 address", ip);
  std::memcpy(&sa.sin_addr, parsed->bytes.data(), 4);
  return sa;
}

// Waits until fd is readable or `wait` has passed; true when readable.
Result<bool> wait_readable(int fd, std::chrono::nanoseconds wait) {
  if (wait.count() < 0) wait = std::chrono::nanoseconds(0);
  pollfd p{fd, POLLIN, 0};
  const timespec ts{static_cast<time_t>(wait.count() / 1'000'000'000), static_cast<long>(wait.count() % 1'000'000'000)};
  const int n = ::ppoll(&p, 1, &ts, nullptr);
  if (n < 0) {
    if (errno == EINTR) return false;
    return make_sys_error(errno, "poll");
  }
  return n > 0;
}

std::uint64_t read_seq(const std::uint8_t* data) {
  std::uint64_t seq = 0;
  std::memcpy(&seq, data, sizeof(seq));
  return seq;
}

double us(double ns) { return std::round(ns / 10.0) / 100.0; }

}  // namespace

Result<void> RttConfig::validate() const {
  if (address.empty()) {
    return make_error("{}",
                      role == Role::kServer ? "--bind is required" : "--to is required (the server's IPv4 address)");
  }
  if (auto a = make_address(address, port); !a) return a.error().wrap(role == Role::kServer ? "--bind" : "--to");
  if (port == 0) return make_error("--port must be 1..65535");
  if (!(duration_s > 0.0 && duration_s <= 3600.0)) {
    return make_error("--duration {} out of range: (0, 3600] s", duration_s);
  }
  if (size < kSeqBytes || size > kMaxSize) {
    return make_error("--size {} out of range: {}..{} bytes", size, kSeqBytes, kMaxSize);
  }
  if (timeout_ms == 0 || timeout_ms > 10'000) return make_error("--timeout-ms {} out of range: 1..10000", timeout_ms);
  return ok();
}

Result<CommandLine> parse_command_line(int argc, char** argv) {
  CommandLine line;
  RttConfig& c = line.config;
  CLI::App app{"UDP round-trip latency, one request in flight", "ferry-bench rtt"};
  app.require_subcommand(1);
  auto* server = app.add_subcommand("server", "echo every datagram back");
  server->add_option("--bind", c.address, "IPv4 address to listen on")->required();
  server->add_option("-p,--port", c.port, "UDP port")->capture_default_str();
  server->add_option("-d,--duration", c.duration_s, "seconds to serve")->capture_default_str();
  auto* client = app.add_subcommand("client", "send requests one at a time, time the echoes");
  client->add_option("--to", c.address, "the server's IPv4 address")->required();
  client->add_option("-p,--port", c.port, "the server's UDP port")->capture_default_str();
  client->add_option("-d,--duration", c.duration_s, "seconds to run")->capture_default_str();
  client->add_option("-n,--count", c.count, "stop after this many recorded round trips (0: no limit)");
  client->add_option("-s,--size", c.size, "UDP payload bytes (18: 64-byte frames)")->capture_default_str();
  client->add_option("--timeout-ms", c.timeout_ms, "a request unanswered this long is lost")->capture_default_str();
  client->add_option("--warmup", c.warmup, "round trips sent first and not recorded")->capture_default_str();
  client->add_flag("--json", c.json, "one JSON object on stdout");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    line.help = true;
    line.help_text = app.help();
    return line;
  } catch (const CLI::ParseError& e) {
    return make_error("{}", e.what());
  }
  c.role = server->parsed() ? Role::kServer : Role::kClient;
  if (auto valid = c.validate(); !valid) return valid.error();
  return line;
}

Result<std::uint64_t> run_server(const RttConfig& config, const std::atomic<bool>& stop, std::atomic<bool>* ready) {
  auto sa = make_address(config.address, config.port);
  if (!sa) return sa.error();
  Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return make_sys_error(errno, "socket");
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*sa), sizeof(*sa)) != 0) {
    return make_sys_error(errno, "bind {}:{}", config.address, config.port);
  }
  if (ready != nullptr) ready->store(true);
  std::vector<std::uint8_t> buffer(kMaxSize);
  const auto end =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(config.duration_s));
  std::uint64_t echoed = 0;
  while (!stop.load(std::memory_order_relaxed) && Clock::now() < end) {
    auto readable = wait_readable(fd.get(), std::chrono::milliseconds(100));
    if (!readable) return readable.error();
    if (!*readable) continue;
    sockaddr_in from{};
    socklen_t from_len = sizeof(from);
    const ssize_t n =
        ::recvfrom(fd.get(), buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) continue;
    if (::sendto(fd.get(), buffer.data(), static_cast<std::size_t>(n), 0, reinterpret_cast<const sockaddr*>(&from),
                 from_len) == n) {
      ++echoed;
    }
  }
  return echoed;
}

Result<ClientReport> run_client(const RttConfig& config, const std::atomic<bool>& stop) {
  auto sa = make_address(config.address, config.port);
  if (!sa) return sa.error();
  Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return make_sys_error(errno, "socket");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*sa), sizeof(*sa)) != 0) {
    return make_sys_error(errno, "connect {}:{}", config.address, config.port);
  }
  std::vector<std::uint8_t> request(config.size, 0);
  std::vector<std::uint8_t> reply(kMaxSize);
  const std::chrono::nanoseconds timeout = std::chrono::milliseconds(config.timeout_ms);
  const auto run = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(config.duration_s));

  ClientReport report;
  const auto start = Clock::now();
  auto recorded_since = start;
  std::uint64_t seq = 0;
  while (!stop.load(std::memory_order_relaxed) && Clock::now() - start < run &&
         (config.count == 0 || report.received < config.count)) {
    ++seq;
    std::memcpy(request.data(), &seq, sizeof(seq));
    const auto sent_at = Clock::now();
    if (::send(fd.get(), request.data(), request.size(), 0) != static_cast<ssize_t>(request.size())) {
      // ECONNREFUSED: an ICMP port unreachable from a server not up yet.
      if (errno != ECONNREFUSED && errno != EINTR) return make_sys_error(errno, "send");
    }
    ++report.sent;
    bool answered = false;
    while (!answered) {
      const auto waited = Clock::now() - sent_at;
      if (waited >= timeout || stop.load(std::memory_order_relaxed)) break;
      auto readable = wait_readable(fd.get(), timeout - waited);
      if (!readable) return readable.error();
      if (!*readable) continue;
      const ssize_t n = ::recv(fd.get(), reply.data(), reply.size(), 0);
      const auto now = Clock::now();
      if (n < static_cast<ssize_t>(kSeqBytes)) continue;  // error (refused) or not ours
      if (read_seq(reply.data()) != seq) {
        ++report.stale;
        continue;
      }
      answered = true;
      if (seq == config.warmup) recorded_since = now;
      if (seq > config.warmup) {
        ++report.received;
        report.rtt_ns.record(static_cast<std::uint64_t>(std::chrono::nanoseconds(now - sent_at).count()));
      }
    }
    if (!answered) ++report.lost;
  }
  report.seconds = std::chrono::duration<double>(Clock::now() - recorded_since).count();
  return report;
}

nlohmann::json to_json(const ClientReport& r, const RttConfig& config) {
  const auto& h = r.rtt_ns;
  return {
      {"to", fmt::format("{}:{}", config.address, config.port)},
      {"size", config.size},
      {"sent", r.sent},
      {"received", r.received},
      {"lost", r.lost},
      {"stale", r.stale},
      {"seconds", r.seconds},
      {"round_trips_per_s", r.seconds > 0 ? static_cast<double>(r.received) / r.seconds : 0.0},
      {"min_us", us(static_cast<double>(h.min()))},
      {"mean_us", us(h.mean())},
      {"p50_us", us(static_cast<double>(h.percentile(50)))},
      {"p90_us", us(static_cast<double>(h.percentile(90)))},
      {"p99_us", us(static_cast<double>(h.percentile(99)))},
      {"p999_us", us(static_cast<double>(h.percentile(99.9)))},
      {"max_us", us(static_cast<double>(h.max()))},
  };
}

std::string to_text(const ClientReport& r, const RttConfig& config) {
  const auto& h = r.rtt_ns;
  return fmt::format(
      "ferry-bench rtt: {}:{}, {} B payload, {} round trips in {:.2f} s, {} lost, {} stale\n"
      "  round trip us: min {:.1f}  p50 {:.1f}  p90 {:.1f}  p99 {:.1f}  p99.9 {:.1f}  max {:.1f}  mean {:.1f}\n",
      config.address, config.port, config.size, r.received, r.seconds, r.lost, r.stale,
      us(static_cast<double>(h.min())), us(static_cast<double>(h.percentile(50))),
      us(static_cast<double>(h.percentile(90))), us(static_cast<double>(h.percentile(99))),
      us(static_cast<double>(h.percentile(99.9))), us(static_cast<double>(h.max())), us(h.mean()));
}

}  // namespace ferry::bench::rtt
