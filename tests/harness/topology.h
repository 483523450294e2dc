// Topology: the multi-host test topology of tests/harness/topo.sh, owned by
// a C++ object (RAII). The shell script is the single definition of what is
// built; this class drives it, so shell users (demo, benchmarks) and
// GoogleTest suites get the same thing:
//
//   PREFIX-fab  a bridge br0 (the underlay L2 segment)
//   PREFIX-hN   host N with ul0 = SUBNET.N/24 (veth; its peer pN is a br0 port)
//   PREFIX-NAME container namespaces (add_container)
//
// Every Topology gets a fresh prefix (fy<pid><letters>), so test binaries
// and shell runs overlap freely. The destructor tears everything down; a
// SIGINT/SIGTERM handler does the same for live topologies before the
// process dies, and create() first garbage-collects prefixes whose owner
// process is gone (a crashed or SIGKILLed run).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "tests/harness/command.h"

namespace ferry::harness {

struct TopologyConfig {
  int hosts = 2;                    // 0..250
  unsigned underlay_mtu = 1500;     // bytes, on ul0, the fabric ports and br0
  std::string subnet = "172.31.0";  // host N gets SUBNET.N/24
  bool underlay_tx_checksum =
      false;           // TX checksum offload on ul0/pN (off: see topo.sh; DataplaneTest sets it per uplink mode)
  std::string prefix;  // empty: unique_prefix()
};

// A prefix no other live process uses: "fy" + pid + two letters.
std::string unique_prefix();

// The path of a named namespace: /var/run/netns/NAME.
std::string netns_path(std::string_view ns);

class Topology {
 public:
  static Result<std::unique_ptr<Topology>> create(TopologyConfig config = {});
  ~Topology();
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;

  [[nodiscard]] const std::string& prefix() const { return config_.prefix; }
  [[nodiscard]] const TopologyConfig& config() const { return config_; }
  [[nodiscard]] int hosts() const { return config_.hosts; }

  // Namespace names (pass to exec(), or netns_path() for the netns library).
  [[nodiscard]] std::string fabric() const { return config_.prefix + "-fab"; }
  [[nodiscard]] std::string host(int i) const;  // 1-based
  [[nodiscard]] std::string container(std::string_view name) const { return config_.prefix + "-" + std::string(name); }

  [[nodiscard]] static std::string underlay_ifname() { return "ul0"; }
  [[nodiscard]] std::string underlay_address(int i) const;  // "172.31.0.1"
  [[nodiscard]] std::string underlay_cidr(int i) const;     // "172.31.0.1/24"

  // Makes the container namespace PREFIX-NAME (lo up); returns its name.
  Result<std::string> add_container(std::string_view name);

  // Runs argv inside namespace `ns` (ip netns exec).
  Result<CommandResult> exec(std::string_view ns, const std::vector<std::string>& argv,
                             std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;

  // Pings `address` from `ns` until one reply comes back or `timeout` passes.
  Result<void> ping(std::string_view ns, std::string_view address,
                    std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

  // The namespaces of this topology as they exist now.
  [[nodiscard]] std::vector<std::string> namespaces() const;

  // Tears everything down now (the destructor does it otherwise). Idempotent.
  Result<void> down();

  // The topo.sh this build uses ($FERRY_TOPO_SH overrides).
  static std::string script();

 private:
  explicit Topology(TopologyConfig config) : config_(std::move(config)) {}
  TopologyConfig config_;
  bool down_ = false;
};

// GoogleTest fixture: a fresh topology per test. Override topology_config()
// to change the shape.
class TopologyTest : public ::testing::Test {
 protected:
  virtual TopologyConfig topology_config() const { return {}; }
  void SetUp() override {
    auto made = Topology::create(topology_config());
    ASSERT_TRUE(made) << made.error().message;
    topo_ = std::move(*made);
  }
  void TearDown() override { topo_.reset(); }

  std::unique_ptr<Topology> topo_;
};

}  // namespace ferry::harness
