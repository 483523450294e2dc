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
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "dataplane/api/reply.h"
#include "dataplane/api/request.h"
#include "dataplane/app/announce.h"
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
  // Queues a whole Ethernet frame the data plane built out of `port`; false
  // when it could not be queued (no buffer, ring full).
  using FrameSender = std::function<bool(std::span<const std::uint8_t> frame, PortId port)>;

  Service(const Config& config, Pipeline& pipeline, PortBackend& ports, UnderlayResolver& resolver, Identity identity);

  // Where neighbour announcements go (announce.h); without one none are sent.
  void set_frame_sender(FrameSender sender) { send_frame_ = std::move(sender); }

  // Request bytes in, reply bytes out; never throws. A refusal's message
  // (logged at info, and the reply's) quotes a bad field only printable and
  // short (log::printable), and a request above dp_api::kMaxRequestBytes is
  // refused unparsed; both are counted (api_requests_refused,
  // api_requests_oversize in stats).
  std::string handle_bytes(std::span<const std::uint8_t> bytes);

  // Ownership: a request that names a client (an agent) makes that client
  // the data plane's owner for kOwnerLease after it; while the lease runs,
  // changes from any other sender are refused (FAILED_PRECONDITION, code
  // busy, a message naming the owner and --force) unless they are forced
  // (then logged at info). Reads (stats, dump, health, version) are never
  // refused, whoever asks.
  static constexpr std::chrono::seconds kOwnerLease{10};
  // The lease's clock (steady_clock by default; tests move it).
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  void set_clock(Clock clock) { clock_ = std::move(clock); }

  // Where stats read the transport's count of connections cut before they
  // delivered a request (ApiServer::cut_connections); none by default.
  void set_cut_connections(std::function<std::uint64_t()> count) { cut_connections_ = std::move(count); }
  // Where stats read the transport's count of messages dropped because they
  // are not framed as a request (ApiServer::unframed_messages); none by
  // default.
  void set_unframed_messages(std::function<std::uint64_t()> count) { unframed_messages_ = std::move(count); }
  // What answers vtep_status (the daemon's VTEP echo); without it the
  // request is refused as unsupported here.
  void set_vtep_status(std::function<dp_api::VtepStatus()> status) { vtep_status_ = std::move(status); }
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
  dp_api::Reply on(const dp_api::VtepStatusCmd& cmd);

  [[nodiscard]] const NetworkInfo* find_network(std::uint32_t vni, std::vector<NetworkInfo>& scratch) const;
  [[nodiscard]] std::vector<PortId> polled_ports() const;
  [[nodiscard]] std::string port_name(PortId port) const;
  [[nodiscard]] std::string port_driver(PortId port) const;
  // Neighbour bookkeeping around table changes (announce.h): an address that
  // moved to another MAC is announced to the network's local ports.
  void neighbour_removed(std::uint32_t vni, const NeighbourMoves::Address& ip, const MacAddress& mac);
  void neighbour_added(std::uint32_t vni, const NeighbourMoves::Address& ip, const MacAddress& mac,
                       std::optional<MacAddress> before, PortId except);
  [[nodiscard]] std::optional<MacAddress> neighbour_mac(std::uint32_t vni, const NeighbourMoves::Address& ip) const;

  const Config& config_;
  Pipeline& pipeline_;
  PortBackend& ports_;
  UnderlayResolver& resolver_;
  Identity identity_;
  std::map<std::string, Endpoint> endpoints_;  // by iface
  FrameSender send_frame_;
  NeighbourMoves moves_;
  std::uint64_t announced_ = 0;        // announcement frames queued
  std::uint64_t announce_failed_ = 0;  // ... that could not be queued
  std::string owner_;                  // the client holding the lease ("" = none yet)
  std::chrono::steady_clock::time_point owner_seen_{};
  std::uint64_t requests_refused_ = 0;
  std::uint64_t requests_not_owner_ = 0;
  std::uint64_t requests_oversize_ = 0;
  std::function<std::uint64_t()> cut_connections_;
  std::function<std::uint64_t()> unframed_messages_;
  std::function<dp_api::VtepStatus()> vtep_status_;
  Clock clock_ = [] { return std::chrono::steady_clock::now(); };
};

// Longest refusal message a reply carries (and the log line quotes).
inline constexpr std::size_t kMaxRefusalMessage = 512;

}  // namespace ferry::dataplane::app
