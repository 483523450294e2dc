// The data plane's programmable state as plain typed values (MacAddress,
// IpAddress, IpPrefix; text only where it is logged): what the agent wants
// (compute_desired, from the endpoint records' typed fields) and what
// ferry-dataplane holds (from_dump, from the API's typed dump), and the
// ordered operations that turn one into the other (diff), which become the
// API's typed commands (to_command). Pure functions, tested with tables;
// the Reconciler sends the operations.
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
#include "dataplane/api/typed.h"

namespace ferry::agent {

struct PortSpec {
  std::uint32_t vni = 0;
  MacAddress mac;
  std::vector<IpPrefix> ips;  // interface addresses, sorted (IPv4 first)
  bool operator==(const PortSpec&) const = default;
};

using MacKey = std::pair<std::uint32_t, MacAddress>;  // (vni, MAC)
using IpKey = std::pair<std::uint32_t, IpAddress>;    // (vni, neighbour IP or VTEP)

struct DpState {
  std::set<std::uint32_t> networks;
  std::map<std::string, PortSpec> ports;  // host-side iface -> port
  std::map<MacKey, IpAddress> fdb;        // (vni, MAC) -> remote VTEP (IPv4)
  std::map<IpKey, MacAddress> neigh;      // (vni, IP) -> MAC
  std::set<IpKey> flood;                  // (vni, VTEP)
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
  std::optional<IpAddress> self_vtep;                    // records with this VTEP are skipped
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

// One change to the data plane. The entry it adds or removes is named by
// `iface` (ports), (vni, mac) (fdb), (vni, ip) (neigh) or (vni, vtep)
// (flood); an addition also carries its value: `port`, the fdb entry's
// `vtep`, the neighbour's `mac`. Fields a kind does not use stay default.
struct Op {
  OpKind kind;
  std::uint32_t vni = 0;
  std::string iface;  // port del/add
  MacAddress mac;     // fdb del/add (key), neigh add (value)
  IpAddress ip;       // neigh del/add (key)
  IpAddress vtep;     // flood del/add (key), fdb add (value)
  PortSpec port;      // port add
  bool operator==(const Op&) const = default;
};

// The entry `op` adds or removes, without the value an addition sets: a
// removal and the addition that replaces its entry have the same one
// (ports by iface alone: a port may move to another network).
[[nodiscard]] Op entry_of(const Op& op);

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

// The data-plane command for `op` (typed, no text), checked as the data
// plane checks it (an entry the data plane would refuse is an error here,
// and is not sent).
Result<dp_api::Command> to_command(const Op& op);
std::string describe(const Op& op);

}  // namespace ferry::agent
