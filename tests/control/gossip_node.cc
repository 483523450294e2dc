// gossip_node: one gossip node with replicated tables on real sockets; the
// control channel is stdin/stdout (see control/gossip/node_runner.h). Used by
// the multi-process tests; the same runner is the core of ferry-agent.
#include <csignal>
#include <cstdio>
#include <span>

#include "common/log.h"
#include "control/gossip/node_runner.h"

namespace {
ferry::gossip::NodeRunner* g_runner = nullptr;
void on_signal(int) {
  if (g_runner != nullptr) g_runner->stop();
}
}  // namespace

int main(int argc, char** argv) {
  auto options = ferry::gossip::parse_runner_args(std::span<char* const>(argv, static_cast<std::size_t>(argc)));
  if (!options) {
    std::fprintf(stderr, "gossip_node: %s\n", options.error().message.c_str());
    return 2;
  }
  if (auto r = ferry::log::init("gossip_node:" + options->name, options->log_level); !r) {
    std::fprintf(stderr, "gossip_node: %s\n", r.error().message.c_str());
    return 2;
  }
  auto runner = ferry::gossip::NodeRunner::create(std::move(*options));
  if (!runner) {
    std::fprintf(stderr, "gossip_node: %s\n", runner.error().message.c_str());
    return 1;
  }
  g_runner = runner->get();
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  const int rc = (*runner)->run(0, 1);
  g_runner = nullptr;
  return rc;
}
