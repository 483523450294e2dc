// The data plane's programmable state as plain values: what the agent wants
// (compute_desired) and what ferry-dataplane holds (from_dump), and the
// ordered operations that turn one into the other (diff). Pure functions,
// tested with tables; the Reconciler sends the operations.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/ip_address.h"
#include "common/mac_address.h"
#include "common/result.h"
#include "control/gossip/endpoint_table.h"
#include "dataplane/api/reply.h"
#include "dataplane/api/request.h"

namespace ferry::agent {

struct PortSpec {
  std::uint32_t vni = 0;
  std::string mac;               // canonical lower-case text
  std::vector<std::string> ips;  // canonical CIDR text, sorted
  bool operator==(const PortSpec&) const = default;
};

using VniKey = std::pair<std::uint32_t, std::string>;  // (vni, MAC or IP or VTEP text)

struct DpState {
  std::set<std::uint32_t> networks;
  std::map<std::string, PortSpec> ports;  // host-side iface -> port
  std::map<VniKey, std::string> fdb;      // (vni, MAC) -> remote VTEP
  std::map<VniKey, std::string> neigh;    // (vni, IP) -> MAC
  std::set<VniKey> flood;                 // (vni, VTEP)
  bool operator==(const DpState&) const = default;
  [[nodiscard]] std::size_t size() const {
    return networks.size() + ports.size() + fdb.size() + neigh.size() + flood.size();
  }
};

// One local endpoint port as the reconciler needs it, typed as the agent's
// endpoint records hold it.
struct LocalPort {
  std::string iface;
  std::string network;
  MacAddress mac;
  std::optional<IpPrefix> ip;     // interface address with the subnet's length
  std::optional<IpPrefix> ip6{};  // absent: no IPv6
};

struct DesiredInputs {
  std::map<std::string, std::uint32_t> networks;  // active cluster networks: name -> VNI
  std::vector<LocalPort> local_ports;
  std::vector<gossip::EndpointRecord> remote_endpoints;  // other hosts' records
  std::string self_vtep;                                 // records with this VTEP are skipped
};

DpState compute_desired(const DesiredInputs& in);

// The data plane's dump as a DpState. Neighbour entries that the data plane
// derives from its own ports (same VNI and MAC as a port) are left out.
DpState from_dump(const dp_api::Dump& dump);

enum class OpKind : std::uint8_t {
  kPortDel,
  kFdbDel,
  kNeighDel,
  kFloodDel,
  kNetworkDel,
  kNetworkAdd,
  kPortAdd,
  kFdbAdd,
  kNeighAdd,
  kFloodAdd,
};
const char* op_kind_name(OpKind kind);

struct Op {
  OpKind kind;
  std::uint32_t vni = 0;
  std::string key;    // iface (ports), MAC (fdb), IP (neigh), VTEP (flood)
  std::string value;  // VTEP (fdb add), MAC (neigh add)
  PortSpec port;      // port add
  bool operator==(const Op&) const = default;
};

// Operations that turn `actual` into `desired`, removals first (ports before
// networks), then additions (networks before ports). Changed entries are a
// removal plus an addition.
std::vector<Op> diff(const DpState& desired, const DpState& actual);

// The effect of a successful `op` on `state`.
void apply_op(DpState& state, const Op& op);

// What differs between what the agent believes the data plane holds
// (`believed`) and what it holds (`actual`), counted per kind: "<table>_extra"
// (there, not believed), "<table>_missing" (believed, not there) and
// "<table>_changed" (both, another value), tables being network, port, fdb,
// neigh and flood. `examples` gets up to `max_examples` lines naming entries.
std::map<std::string, std::uint64_t> drift(const DpState& believed, const DpState& actual,
                                           std::vector<std::string>* examples = nullptr, std::size_t max_examples = 8);

// The data-plane command for `op`, checked as the data plane checks it (an
// entry the data plane would refuse is an error here, and is not sent).
Result<dp_api::Command> to_command(const Op& op);
std::string describe(const Op& op);

}  // namespace ferry::agent
