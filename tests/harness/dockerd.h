// Dockerd: a real Docker engine (Debian's docker.io, dockerd 20.10) for one
// topology host, owned by a C++ object (RAII). tests/harness/dockerd.sh is
// the single definition of how it runs, fully isolated from the machine and
// from any docker.service (its own data root, exec root, socket, config,
// mount namespace, containerd, containerd namespace and cgroup; the only
// plugin it sees is the host's Ferry plugin socket); this class drives it
// the way Topology drives topo.sh. The destructor removes everything it made
// (containers through `docker rm -f` while dockerd answers, then every
// process, mount, cgroup and network namespace); so does `topo.sh down` of
// the topology's prefix, should a test die first.
//
//   auto d = Dockerd::start({.name = topo->host(2), .netns = netns_path(topo->host(2)),
//                            .dir = base + "/docker-h2", .plugin_socket = plugin});
//   (*d)->docker({"network", "create", "-d", "ferry", "--ipam-driver", "ferry", ...});
//   (*d)->run_container({"--name", "c1", "--network", "blue"});   // --init, image, sleep
//
// Containers run Dockerd::kImage (busybox-static, imported once and cached)
// with --init, so `docker stop` does not wait 10 s for a shell ignoring
// SIGTERM.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "tests/harness/command.h"

namespace ferry::harness {

struct DockerdConfig {
  std::string name;           // unique on the machine: the topology host's namespace name (PREFIX-hN)
  std::string netns;          // the host's network namespace path
  std::string dir;            // state directory (created; removed by down())
  std::string plugin_socket;  // that host's ferry-agent --plugin-socket (absolute)
  bool live_restore = false;  // --live-restore
};

class Dockerd {
 public:
  static constexpr const char* kImage = "busybox:ferry";

  // Starts dockerd and waits until it answers (and the image is there).
  static Result<std::unique_ptr<Dockerd>> start(DockerdConfig config);
  ~Dockerd();
  Dockerd(const Dockerd&) = delete;
  Dockerd& operator=(const Dockerd&) = delete;

  // `docker version`'s summary line from the last start.
  [[nodiscard]] const std::string& version() const { return version_; }
  [[nodiscard]] const DockerdConfig& config() const { return config_; }

  // /usr/bin/docker -H <this dockerd> ARGS.
  [[nodiscard]] CommandResult docker(const std::vector<std::string>& args,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(90)) const;
  // docker run -d --init ARGS kImage sleep 3600 (ARGS: --name, --network, ...).
  [[nodiscard]] CommandResult run_container(const std::vector<std::string>& args) const;

  // Stops dockerd alone with SIGTERM (it stops its containers unless live
  // restore is on) or SIGKILL (containers and shims stay); waits for it.
  Result<void> stop(int signal);
  // Starts it again (after stop()), with live restore as given.
  Result<void> restart(bool live_restore);
  // Removes everything now (the destructor does it otherwise). Idempotent.
  Result<void> down();

  // The dockerd.sh this build uses ($FERRY_DOCKERD_SH overrides).
  static std::string script();

 private:
  explicit Dockerd(DockerdConfig config) : config_(std::move(config)) {}
  Result<void> launch();

  DockerdConfig config_;
  std::string version_;
  bool down_ = false;
};

}  // namespace ferry::harness
