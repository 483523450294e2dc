// The v1 API's semantics: turns checked commands into table and port changes
// and answers with typed replies (dataplane/api/reply.h). Runs on the control
// thread only. Every request is checked in full (dp_api::parse_request, then
// existence/duplicates here) before anything changes, so a refused request
// leaves no trace. A refusal's code comes from the check that refused it, or
// from the error code of the table or port backend that failed; never from
// the words of a message.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "dataplane/api/reply.h"
#include "dataplane/api/request.h"
#include "dataplane/app/arp.h"
#include "dataplane/app/config.h"
#include "dataplane/app/ports.h"
#include "dataplane/core/pipeline.h"

namespace ferry::dataplane::app {

namespace v1 = ::ferry::dataplane::v1;

// How endpoint ports come and go; the daemon's one opens ports of any type
// into its PortTable and updates the run loop, tests use a fake. PortIds are
// Ferry's (PortTable), not DPDK ethdev ids.
class PortBackend {
 public:
  virtual ~PortBackend() = default;
  // Opens and starts `iface`; it is not polled yet.
  virtual Result<OpenedPort> attach(const std::string& iface, PortDriver driver) = 0;
  // The endpoint ports workers poll from now on; returns after a grace period.
  virtual void set_polled(const std::vector<PortId>& ports) = 0;
  // Closes a port no worker polls or sends to any more.
  virtual void detach(const OpenedPort& port) = 0;
  [[nodiscard]] virtual PortCounters counters(PortId port) const = 0;
  [[nodiscard]] virtual bool link_up(PortId port) const = 0;
  [[nodiscard]] virtual PortOffloads offloads(PortId /*port*/) const { return {}; }
  // Port-type counters summed over every port there is and was (each name
  // once, drops first); stats add them to the pipeline's.
  [[nodiscard]] virtual std::vector<NamedCounter> type_counters() const { return {}; }
  // Per-worker run-loop counters (may be empty).
  [[nodiscard]] virtual std::vector<struct WorkerInfo> workers() const = 0;
  // Counters of the port types in use beyond the pipeline's (the kernel-UDP
  // uplink's), added to stats' counters by name.
  [[nodiscard]] virtual std::vector<std::pair<std::string, std::uint64_t>> extra_counters() const { return {}; }
};

struct Identity {
  std::string boot_id;
  std::uint64_t start_time_unix_ms = 0;
  std::chrono::steady_clock::time_point started;
  OpenedPort uplink;
  std::uint32_t underlay_mtu = 1500;  // the pipeline's; endpoints get this - 50
};

class Service {
 public:
  Service(const Config& config, Pipeline& pipeline, PortBackend& ports, UnderlayResolver& resolver, Identity identity);

  // Request bytes in, reply bytes out; never throws.
  std::string handle_bytes(std::span<const std::uint8_t> bytes);
  dp_api::Reply handle(const dp_api::Command& command);

  // Detaches every endpoint port (shutdown).
  void detach_all();

  [[nodiscard]] std::size_t endpoint_count() const { return endpoints_.size(); }

 private:
  struct Endpoint {
    OpenedPort port;
    std::uint32_t vni;
    MacAddress mac;
    std::vector<dp_api::Ipv4Prefix> ips;
    std::vector<dp_api::Ipv6Prefix> ips6;
  };

  dp_api::Reply on(const dp_api::NetworkAddCmd& cmd);
  dp_api::Reply on(const dp_api::NetworkDelCmd& cmd);
  dp_api::Reply on(const dp_api::NetworkSetFloodCmd& cmd);
  dp_api::Reply on(const dp_api::PortAddCmd& cmd);
  dp_api::Reply on(const dp_api::PortDelCmd& cmd);
  dp_api::Reply on(const dp_api::FdbAddCmd& cmd);
  dp_api::Reply on(const dp_api::FdbDelCmd& cmd);
  dp_api::Reply on(const dp_api::NeighAddCmd& cmd);
  dp_api::Reply on(const dp_api::NeighDelCmd& cmd);
  dp_api::Reply on(const dp_api::FloodAddCmd& cmd);
  dp_api::Reply on(const dp_api::FloodDelCmd& cmd);
  dp_api::Reply on(const dp_api::StatsCmd& cmd);
  dp_api::Reply on(const dp_api::DumpCmd& cmd);
  dp_api::Reply on(const dp_api::HealthCmd& cmd);
  dp_api::Reply on(const dp_api::VersionCmd& cmd);

  [[nodiscard]] const NetworkInfo* find_network(std::uint32_t vni, std::vector<NetworkInfo>& scratch) const;
  [[nodiscard]] std::vector<PortId> polled_ports() const;
  [[nodiscard]] std::string port_name(PortId port) const;
  [[nodiscard]] std::string port_driver(PortId port) const;

  const Config& config_;
  Pipeline& pipeline_;
  PortBackend& ports_;
  UnderlayResolver& resolver_;
  Identity identity_;
  std::map<std::string, Endpoint> endpoints_;  // by iface
};

}  // namespace ferry::dataplane::app
