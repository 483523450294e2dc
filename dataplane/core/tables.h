// Forwarding tables: networks (VNI), endpoint ports, MAC table, neighbour
// tables ((VNI, IPv4) -> MAC and (VNI, IPv6) -> MAC), flood lists, remote VTEPs with prebuilt outer headers.
//
// Concurrency contract (see docs/dataplane-pipeline.md, "RCU"):
// - Every method not marked "worker" is CONTROL-ONLY: one control thread at a
//   time (the API server thread). They are not thread-safe among themselves.
// - Workers read lock-free. Hash tables are rte_hash with
//   RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF and RCU QSBR reclamation; records
//   (networks, ports, VTEPs) are immutable once published and replaced by
//   pointer, the old copy freed only after every registered worker has
//   reported a quiescent state (rte_rcu_qsbr). A worker must not hold a
//   record pointer across a quiescent state.
// - Control methods never block on workers, except synchronize().
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "dataplane/core/counters.h"
#include "dataplane/core/types.h"

struct rte_hash;
struct rte_rcu_qsbr;

namespace ferry::dataplane {

inline constexpr std::size_t kMaxTablesName = 12;

struct TablesConfig {
  // Capacity of the MAC table (all networks together), entries. Memory is
  // about 40 bytes per entry (rte_hash with 8-byte keys), allocated up front.
  std::uint32_t mac_capacity = 1u << 20;
  // Capacity of the neighbour (VNI, IPv4) -> MAC table, entries.
  std::uint32_t neighbour_capacity = 1u << 16;
  // Capacity of the IPv6 neighbour (VNI, IPv6) -> MAC table (ND proxy),
  // entries. Allocated up front: about 93 bytes per entry (20-byte keys),
  // 5.8 MiB at the default.
  std::uint32_t neighbour6_capacity = 1u << 16;
  // Most distinct remote VTEPs referenced at once.
  std::uint32_t vtep_capacity = 4096;
  // Most worker threads that read the tables (RCU QSBR thread ids 0..n-1).
  std::uint32_t max_workers = 16;
  // NUMA socket for the tables' memory (SOCKET_ID_ANY = -1).
  int socket_id = -1;
  // Unique name prefix for the DPDK objects (hashes, rings: names are
  // process-global), at most kMaxTablesName characters.
  std::string name = "ferry";

  [[nodiscard]] Result<void> validate() const;
};

// What the encapsulation needs about us; fixed at start-up.
struct UnderlayConfig {
  Ipv4Addr vtep_ip;               // our VTEP address (outer source IP)
  MacAddr uplink_mac;             // outer source MAC
  std::uint16_t udp_port = 4789;  // VXLAN destination UDP port (IANA 4789)
  std::uint8_t ttl = 64;          // outer IPv4 TTL
  bool dont_fragment = true;      // outer IPv4 DF bit
  std::uint8_t dscp = 0;          // outer IPv4 DSCP (ECN bits always 0)

  [[nodiscard]] Result<void> validate() const;
};

// An endpoint port as the control thread describes it.
struct EndpointPort {
  EndpointPort() = default;
  // Brace-initialisable with or without IPv6 addresses: {port, vni, mac, {ips}}.
  EndpointPort(PortId port_id, Vni vni_id, const MacAddr& mac_addr, std::vector<Ipv4Addr> ipv4 = {},
               std::vector<Ipv6Addr> ipv6 = {})
      : port(port_id), vni(vni_id), mac(mac_addr), ips(std::move(ipv4)), ips6(std::move(ipv6)) {}

  PortId port = kInvalidPort;
  Vni vni = 0;
  MacAddr mac;
  std::vector<Ipv4Addr> ips;  // at most kMaxEndpointIps; may be empty (then no IPv4/ARP is accepted from it)
  // At most kMaxEndpointIps6, each Ipv6Addr::is_endpoint_unicast(); may be
  // empty (then only :: and fe80::/10 sources are accepted from it).
  std::vector<Ipv6Addr> ips6;
};
inline constexpr std::size_t kMaxEndpointIps = 4;
inline constexpr std::size_t kMaxEndpointIps6 = 4;

// ---------------------------------------------------------------------------
// Records read by workers (immutable once published).

// Outer Ethernet + IPv4 + UDP + VXLAN header, 50 bytes, wire order.
inline constexpr std::size_t kEncapHeaderSize = 14 + 20 + 8 + 8;

struct VtepRecord {
  Ipv4Addr ip;
  bool resolved = false;  // next_hop valid; when false frames are dropped (vtep_unresolved)
  MacAddr next_hop;
  // Prebuilt outer headers: IPv4 total length, IPv4 checksum, UDP source port,
  // UDP length and VNI are patched per packet. IPv4 id is 0 (DF set: atomic
  // datagram, RFC 6864); UDP checksum 0 (RFC 7348 §5 allows it over IPv4).
  alignas(64) std::uint8_t header[64] = {};
  // One's-complement sum of the IPv4 header with total length and checksum
  // zero: per packet, checksum = ~fold(ip_sum_base + total_length).
  std::uint32_t ip_sum_base = 0;
};

struct PortRecord {
  PortId port = kInvalidPort;
  Vni vni = 0;
  std::uint32_t network_slot = 0;  // index into the network slots
  MacAddr mac;
  std::uint64_t mac_u64 = 0;                   // mac.to_u64(), compared per packet
  std::uint32_t ips_be[kMaxEndpointIps] = {};  // network byte order, ip_count used
  std::uint32_t ip_count = 0;
  std::uint32_t ip6_count = 0;
  // IPv6 addresses as two 8-byte words each, loaded from wire order (memcpy),
  // so a source address compares with two loads; ip6_count used.
  std::uint64_t ips6[kMaxEndpointIps6][2] = {};
};

struct NetworkRecord {
  Vni vni = 0;
  std::uint32_t slot = 0;  // network slot; also the per-network stats index
  bool flood_unknown = false;
  std::vector<PortId> ports;         // local endpoint ports, ascending
  std::vector<std::uint32_t> flood;  // VTEP slots of the flood list
};

// MAC table value (64-bit rte_hash data): what a (VNI, MAC) resolves to.
struct MacDest {
  static constexpr std::uint64_t kLocal = 1ull << 62;
  static constexpr std::uint64_t kRemote = 2ull << 62;
  static constexpr std::uint64_t kKindMask = 3ull << 62;
  static std::uint64_t local(PortId p) { return kLocal | p; }
  static std::uint64_t remote(std::uint32_t vtep_slot) { return kRemote | vtep_slot; }
};

// Packs the MAC table's 8-byte key: (network slot << 48) | MAC. The key holds
// the network's slot, not its VNI: a 24-bit VNI does not fit beside a 48-bit
// MAC, and truncating it let networks whose VNIs share their low 16 bits see
// each other's MACs. A slot names one live network; it is handed out again only
// after del_network has removed every key of it and an RCU grace period has
// passed, so a worker still holding the old network's records cannot find the
// next owner's entries.
inline constexpr unsigned kMacKeySlotShift = 48;
static_assert(kMaxNetworks <= (std::size_t{1} << (64 - kMacKeySlotShift)), "a network slot must fit above the MAC");
inline constexpr std::uint64_t mac_key(std::uint32_t network_slot, std::uint64_t mac48) {
  return (std::uint64_t{network_slot} << kMacKeySlotShift) | mac48;
}

// The IPv6 neighbour table's 20-byte key: VNI (host order), address (wire order).
struct Neighbour6Key {
  std::uint32_t vni = 0;
  std::uint8_t ip[16] = {};
};
static_assert(sizeof(Neighbour6Key) == 20, "no padding: the key is hashed and compared as bytes");

// Dumps for the API (`show`).
struct NetworkInfo {
  Vni vni;
  std::uint32_t stats_slot;
  bool flood_unknown;
  std::vector<PortId> ports;
  std::vector<Ipv4Addr> flood;
};
struct MacEntryInfo {
  Vni vni;
  MacAddr mac;
  bool local;
  PortId port;    // local
  Ipv4Addr vtep;  // remote
};
struct NeighbourInfo {
  Vni vni;
  Ipv4Addr ip;
  MacAddr mac;
  bool from_port;  // implied by an endpoint port's own IP
};
struct Neighbour6Info {
  Vni vni;
  Ipv6Addr ip;
  MacAddr mac;
  bool from_port;  // implied by an endpoint port's own IPv6
};
struct VtepInfo {
  Ipv4Addr ip;
  bool resolved;
  MacAddr next_hop;
  std::uint32_t references;  // MAC entries + flood-list memberships
};

class Tables {
 public:
  // Allocates everything (rte_hash, RCU variable). Needs EAL initialised.
  static Result<std::unique_ptr<Tables>> create(const TablesConfig& config, const UnderlayConfig& underlay);
  ~Tables();
  Tables(const Tables&) = delete;
  Tables& operator=(const Tables&) = delete;

  // ---- control: networks
  // Adds a network, or updates its flood flag when it exists.
  Result<void> add_network(Vni vni, bool flood_unknown);
  // Removes a network and every MAC, neighbour and flood entry of it. Fails
  // while endpoint ports are still attached to it.
  Result<void> del_network(Vni vni);

  // ---- control: endpoint ports
  // Attaches a port to a network (VNI must exist): its MAC becomes a local
  // MAC entry and its IPs neighbour entries (ARP and ND are answered for them).
  // Fails if the port is already attached or the MAC is taken in that VNI.
  Result<void> add_port(const EndpointPort& port);
  // Detaches a port. When this returns, new lookups no longer find it; call
  // synchronize() before stopping/closing the DPDK port so no worker is still
  // sending to it.
  Result<void> del_port(PortId port);

  // ---- control: remote MACs, neighbours, flood lists
  // Adds or replaces (VNI, MAC) -> remote VTEP. Fails for a local port's MAC
  // or a multicast MAC.
  Result<void> add_remote_mac(Vni vni, const MacAddr& mac, Ipv4Addr vtep);
  // Fails with ErrorCode::kNotFound when there is no such entry, kBusy when
  // the MAC is a local port's.
  Result<void> del_remote_mac(Vni vni, const MacAddr& mac);
  // Adds or replaces (VNI, IPv4) -> MAC for the ARP proxy.
  Result<void> add_neighbour(Vni vni, Ipv4Addr ip, const MacAddr& mac);
  Result<void> del_neighbour(Vni vni, Ipv4Addr ip);
  // Adds or replaces (VNI, IPv6) -> MAC for the ND proxy. The address must be
  // Ipv6Addr::is_endpoint_unicast().
  Result<void> add_neighbour(Vni vni, const Ipv6Addr& ip, const MacAddr& mac);
  Result<void> del_neighbour(Vni vni, const Ipv6Addr& ip);
  // Head-end replication list of a network. A VTEP in a network's flood list
  // or referenced by one of its MAC entries is a "peer" of that network:
  // VXLAN frames of that VNI are accepted only from peers.
  Result<void> add_flood_vtep(Vni vni, Ipv4Addr vtep);
  Result<void> del_flood_vtep(Vni vni, Ipv4Addr vtep);

  // ---- control: underlay next hops (the control thread's ARP state machine)
  // Sets the next-hop MAC for a remote VTEP (its own MAC if on-link, the
  // gateway's otherwise). Remembered even before the VTEP is referenced.
  Result<void> set_vtep_next_hop(Ipv4Addr vtep, const MacAddr& next_hop);
  // Marks it unresolved again (ARP expired): its frames are dropped, counted
  // as vtep_unresolved, until set_vtep_next_hop is called again.
  Result<void> clear_vtep_next_hop(Ipv4Addr vtep);

  // ---- control: dumps
  [[nodiscard]] std::vector<NetworkInfo> networks() const;
  [[nodiscard]] std::vector<EndpointPort> ports() const;
  [[nodiscard]] std::vector<MacEntryInfo> macs(std::optional<Vni> vni = std::nullopt) const;
  [[nodiscard]] std::vector<NeighbourInfo> neighbours(std::optional<Vni> vni = std::nullopt) const;
  [[nodiscard]] std::vector<Neighbour6Info> neighbours6(std::optional<Vni> vni = std::nullopt) const;
  // The MAC a neighbour entry names now, if there is one.
  [[nodiscard]] std::optional<MacAddr> neighbour_mac(Vni vni, Ipv4Addr ip) const;
  [[nodiscard]] std::optional<MacAddr> neighbour_mac(Vni vni, const Ipv6Addr& ip) const;
  // Every remote VTEP currently referenced (the ones the control thread must
  // keep resolved), with its next-hop state.
  [[nodiscard]] std::vector<VtepInfo> vteps() const;
  [[nodiscard]] std::size_t mac_count() const;
  // Bytes allocated for the tables (hashes, records), for stats and the bench.
  [[nodiscard]] std::size_t memory_bytes() const;

  // ---- control: RCU
  // Frees retired records whose grace period has passed (non-blocking).
  // Control methods call it themselves; call it from a timer too.
  void reclaim();
  // Blocks until every online worker has passed a quiescent state, then
  // reclaims. Use before closing a port removed with del_port.
  void synchronize();
  // The QSBR variable workers report to (see LcoreContext).
  [[nodiscard]] rte_rcu_qsbr* rcu() const { return rcu_; }
  [[nodiscard]] const UnderlayConfig& underlay() const { return underlay_; }
  [[nodiscard]] const TablesConfig& config() const { return config_; }

  // ---- worker: lookups (lock-free; valid until the caller's next quiescent state)
  [[nodiscard]] const PortRecord* port(PortId p) const {
    return p < kMaxPorts ? ports_[p].load(std::memory_order_acquire) : nullptr;
  }
  [[nodiscard]] const NetworkRecord* network_at(std::uint32_t slot) const {
    return networks_[slot].load(std::memory_order_acquire);
  }
  [[nodiscard]] const VtepRecord* vtep_at(std::uint32_t slot) const {
    return vteps_[slot].load(std::memory_order_acquire);
  }
  // MAC table: keys are mac_key(network slot, mac); values MacDest-encoded.
  [[nodiscard]] rte_hash* mac_hash() const { return mac_hash_; }
  // Peer table: key (VNI << 32 | VTEP IPv4 host order) -> network slot (low 32 bits).
  [[nodiscard]] rte_hash* peer_hash() const { return peer_hash_; }
  // Network table: key VNI (uint32) -> network slot.
  [[nodiscard]] rte_hash* vni_hash() const { return vni_hash_; }
  // Neighbour table: key (VNI << 32 | IPv4 host order) -> MAC (low 48 bits; bit 63 = from a port).
  [[nodiscard]] rte_hash* neighbour_hash() const { return neighbour_hash_; }
  // IPv6 neighbour table: key Neighbour6Key -> MAC (low 48 bits; bit 63 = from a port).
  [[nodiscard]] rte_hash* neighbour6_hash() const { return neighbour6_hash_; }

 private:
  struct Impl;
  Tables(const TablesConfig& config, const UnderlayConfig& underlay);

  TablesConfig config_;
  UnderlayConfig underlay_;
  rte_rcu_qsbr* rcu_ = nullptr;
  rte_hash* mac_hash_ = nullptr;
  rte_hash* peer_hash_ = nullptr;
  rte_hash* vni_hash_ = nullptr;
  rte_hash* neighbour_hash_ = nullptr;
  rte_hash* neighbour6_hash_ = nullptr;
  std::unique_ptr<std::atomic<const PortRecord*>[]> ports_;
  std::unique_ptr<std::atomic<const NetworkRecord*>[]> networks_;
  std::unique_ptr<std::atomic<const VtepRecord*>[]> vteps_;
  std::unique_ptr<Impl> impl_;  // control-side bookkeeping (refcounts, free slots, retire list)
};

}  // namespace ferry::dataplane
