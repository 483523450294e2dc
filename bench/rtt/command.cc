// ferry-bench rtt: the process around bench/rtt/rtt.h (signals, output).
#include <csignal>
#include <cstdio>

#include "bench/command.h"
#include "bench/rtt/rtt.h"

namespace ferry::bench::rtt {

namespace {

std::atomic<bool> g_stop{false};

extern "C" void rtt_on_signal(int /*signal*/) { g_stop.store(true, std::memory_order_relaxed); }

int run_rtt(int argc, char** argv) {
  auto line = parse_command_line(argc, argv);
  if (!line) {
    std::fprintf(stderr, "ferry-bench rtt: %s\n", line.error().message.c_str());
    return 2;
  }
  if (line->help) {
    std::fputs(line->help_text.c_str(), stdout);
    return 0;
  }
  std::signal(SIGINT, rtt_on_signal);
  std::signal(SIGTERM, rtt_on_signal);
  const RttConfig& config = line->config;
  if (config.role == Role::kServer) {
    auto echoed = run_server(config, g_stop);
    if (!echoed) {
      std::fprintf(stderr, "ferry-bench rtt server: %s\n", echoed.error().message.c_str());
      return 1;
    }
    std::fprintf(stderr, "ferry-bench rtt server: echoed %llu datagrams\n", static_cast<unsigned long long>(*echoed));
    return 0;
  }
  auto report = run_client(config, g_stop);
  if (!report) {
    std::fprintf(stderr, "ferry-bench rtt client: %s\n", report.error().message.c_str());
    return 1;
  }
  const std::string out = config.json ? to_json(*report, config).dump() + "\n" : to_text(*report, config);
  std::fputs(out.c_str(), stdout);
  return report->received > 0 ? 0 : 1;
}

}  // namespace

FERRY_BENCH_COMMAND(rtt, "UDP round-trip latency, one request in flight (kernel sockets)", run_rtt);

}  // namespace ferry::bench::rtt
