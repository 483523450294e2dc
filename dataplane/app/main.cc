// ferry-dataplane: see docs/dataplane.md. Never reads stdin; logs to stderr;
// SIGTERM/SIGINT stop it cleanly (ports stopped, API socket removed).
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>

#include "common/log.h"
#include "common/sd_notify.h"
#include "dataplane/app/config.h"
#include "dataplane/app/daemon.h"

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true); }

}  // namespace

int main(int argc, char** argv) {
  using namespace ferry::dataplane::app;
  auto parsed = parse_args(argc, argv);
  if (!parsed) {
    std::fprintf(stderr, "ferry-dataplane: %s\n", parsed.error().message.c_str());
    return 2;
  }
  if (parsed->help) {
    std::fputs(parsed->help->c_str(), stdout);
    return 0;
  }
  const Config& config = parsed->config;
  if (auto logged = ferry::log::init("ferry-dataplane", config.log_level); !logged) {
    std::fprintf(stderr, "ferry-dataplane: %s\n", logged.error().message.c_str());
    return 2;
  }
  // A daemon owns no terminal: stdin is /dev/null, whatever the caller left.
  if (int fd = open("/dev/null", O_RDONLY | O_CLOEXEC); fd >= 0) {
    dup2(fd, STDIN_FILENO);
    close(fd);
  }
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto daemon = Daemon::start(config);
  if (!daemon) {
    spdlog::error("cannot start: {}", daemon.error().message);
    return 1;
  }
  // The API socket accepts from here on: tell systemd (Type=notify).
  if (auto told = ferry::sd::notify("READY=1"); !told) {
    spdlog::warn("{}", told.error().message);
  }
  const int rc = (*daemon)->run(g_stop);
  (void)ferry::sd::notify("STOPPING=1");
  daemon->reset();
  spdlog::info("stopped");
  return rc;
}
