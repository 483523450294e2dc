#include "tests/harness/dockerd.h"

#include <signal.h>

#include <cstdlib>

#ifndef FERRY_DOCKERD_SH
#error "FERRY_DOCKERD_SH must name tests/harness/dockerd.sh (set in tests/harness/meson.build)"
#endif

namespace ferry::harness {

namespace {

Result<CommandResult> run_script(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{"/bin/bash", Dockerd::script()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, timeout);
}

std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  const auto nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

}  // namespace

std::string Dockerd::script() {
  // Nothing in the tests calls setenv, so reading the environment is safe here.
  const char* env = std::getenv("FERRY_DOCKERD_SH");  // NOLINT(concurrency-mt-unsafe)
  if (env != nullptr && *env != '\0') return env;
  return FERRY_DOCKERD_SH;
}

Result<std::unique_ptr<Dockerd>> Dockerd::start(DockerdConfig config) {
  std::unique_ptr<Dockerd> d(new Dockerd(std::move(config)));
  if (auto r = d->launch(); !r) return r.error();  // ~Dockerd cleans up
  return d;
}

Result<void> Dockerd::launch() {
  std::vector<std::string> args{"start", config_.name, config_.netns, config_.dir, config_.plugin_socket};
  if (config_.live_restore) args.emplace_back("--live-restore");
  auto r = run_script(args, std::chrono::seconds(120));
  if (!r) return r.error();
  if (!r->succeeded()) return make_error("dockerd.sh start {}: {}", config_.name, r->output);
  version_ = last_line(r->output);
  return ok();
}

Dockerd::~Dockerd() { (void)down(); }

CommandResult Dockerd::docker(const std::vector<std::string>& args, std::chrono::milliseconds timeout) const {
  std::vector<std::string> argv{"/usr/bin/docker", "-H", "unix://" + config_.dir + "/docker.sock"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_command(argv, timeout);
  if (!r) return CommandResult{-1, false, r.error().message};
  return *r;
}

CommandResult Dockerd::run_container(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"run", "-d", "--init"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {kImage, "sleep", "3600"});
  return docker(argv);
}

Result<void> Dockerd::stop(int signal) {
  if (signal != SIGTERM && signal != SIGKILL) return make_error("Dockerd::stop: SIGTERM or SIGKILL");
  auto r = run_script({"stop", config_.name, config_.dir, "--signal", signal == SIGTERM ? "TERM" : "KILL"},
                      std::chrono::seconds(90));
  if (!r) return r.error();
  if (!r->succeeded()) return make_error("dockerd.sh stop {}: {}", config_.name, r->output);
  return ok();
}

Result<void> Dockerd::restart(bool live_restore) {
  config_.live_restore = live_restore;
  return launch();
}

Result<void> Dockerd::down() {
  if (down_) return ok();
  down_ = true;
  auto r = run_script({"down", config_.name, config_.dir}, std::chrono::seconds(120));
  if (!r) return r.error();
  if (!r->succeeded()) return make_error("dockerd.sh down {}: {}", config_.name, r->output);
  return ok();
}

}  // namespace ferry::harness
