// ferry-agent: the per-host daemon. Flags -> Config (config.h), then Agent.
// Never reads stdin; SIGTERM/SIGINT leave the cluster gracefully and exit 0.
#include <signal.h>
#include <sodium.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>

#include <spdlog/spdlog.h>

#include "common/log.h"
#include "common/sd_notify.h"
#include "control/agent/agent.h"
#include "control/agent/config.h"

int main(int argc, char** argv) {
  using namespace ferry::agent;
  ParseOutcome outcome;
  auto config = parse_config(std::span<char* const>(argv, static_cast<std::size_t>(argc)), outcome);
  if (outcome.help_requested) {
    std::fputs(outcome.help.c_str(), stdout);
    return 0;
  }
  if (!config) {
    std::fprintf(stderr, "ferry-agent: %s\n", config.error().message.c_str());
    return 2;
  }
  if (auto r = ferry::log::init("ferry-agent", config->log_level); !r) {
    std::fprintf(stderr, "ferry-agent: --log-level: %s\n", r.error().message.c_str());
    return 2;
  }
  if (sodium_init() < 0) {
    std::fprintf(stderr, "ferry-agent: libsodium failed to initialise\n");
    return 1;
  }
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  // Before any thread exists: single-threaded here.
  if (::sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) {  // NOLINT(concurrency-mt-unsafe)
    std::perror("ferry-agent: sigprocmask");
    return 1;
  }
  const int sfd = ::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) {
    std::perror("ferry-agent: signalfd");
    return 1;
  }
  auto agent = Agent::create(std::move(*config));
  if (!agent) {
    std::fprintf(stderr, "ferry-agent: %s\n", agent.error().message.c_str());
    return 1;
  }
  // The admin and plugin sockets accept from here on: tell systemd (Type=notify).
  if (auto told = ferry::sd::notify("READY=1"); !told) spdlog::warn("{}", told.error().message);
  const int rc = (*agent)->run(sfd);
  (void)ferry::sd::notify("STOPPING=1");
  agent->reset();
  ::close(sfd);
  return rc;
}
