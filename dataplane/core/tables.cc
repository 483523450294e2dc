#include "dataplane/core/tables.h"

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <unordered_map>

#include "dataplane/core/counters.h"

namespace ferry::dataplane {

namespace {

constexpr std::uint64_t kNeighbourFromPort = 1ull << 63;
constexpr std::uint64_t kMac48 = (1ull << 48) - 1;
constexpr std::uint32_t kPeerCapacity = 1u << 16;

std::uint64_t peer_key(Vni vni, Ipv4Addr ip) { return (std::uint64_t{vni} << 32) | ip.value; }
std::uint64_t neighbour_key(Vni vni, Ipv4Addr ip) { return (std::uint64_t{vni} << 32) | ip.value; }
Neighbour6Key neighbour6_key(Vni vni, const Ipv6Addr& ip) {
  Neighbour6Key k;
  k.vni = vni;
  std::memcpy(k.ip, ip.bytes.data(), sizeof(k.ip));
  return k;
}
Ipv6Addr ipv6_of(const std::uint64_t (&words)[2]) {
  Ipv6Addr a;
  std::memcpy(a.bytes.data(), words, 16);
  return a;
}

void* as_data(std::uint64_t v) { return reinterpret_cast<void*>(static_cast<std::uintptr_t>(v)); }
std::uint64_t from_data(void* p) { return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(p)); }

std::size_t heap_allocated_bytes() {
  std::size_t total = 0;
  for (unsigned s = 0; s < RTE_MAX_NUMA_NODES; ++s) {
    rte_malloc_socket_stats stats{};
    if (rte_malloc_get_socket_stats(static_cast<int>(s), &stats) == 0) total += stats.heap_allocsz_bytes;
  }
  return total;
}

// Writes the 50-byte outer header template and its checksum base.
void build_vtep_header(VtepRecord& r, const UnderlayConfig& u) {
  std::uint8_t* h = r.header;
  std::memset(h, 0, sizeof(r.header));
  std::memcpy(h, r.next_hop.bytes.data(), 6);
  std::memcpy(h + 6, u.uplink_mac.bytes.data(), 6);
  h[12] = 0x08;  // IPv4
  h[13] = 0x00;
  std::uint8_t* ip = h + 14;
  ip[0] = 0x45;
  ip[1] = static_cast<std::uint8_t>(u.dscp << 2);
  // [2..3] total length: per packet; [4..5] id 0
  ip[6] = u.dont_fragment ? 0x40 : 0x00;
  ip[8] = u.ttl;
  ip[9] = 17;  // UDP
  // [10..11] checksum: per packet
  const std::uint32_t src = u.vtep_ip.value;
  const std::uint32_t dst = r.ip.value;
  for (int i = 0; i < 4; ++i) {
    ip[12 + i] = static_cast<std::uint8_t>(src >> (24 - 8 * i));
    ip[16 + i] = static_cast<std::uint8_t>(dst >> (24 - 8 * i));
  }
  std::uint8_t* udp = ip + 20;
  // [0..1] source port: per packet
  udp[2] = static_cast<std::uint8_t>(u.udp_port >> 8);
  udp[3] = static_cast<std::uint8_t>(u.udp_port);
  // [4..5] length: per packet; [6..7] checksum 0
  std::uint8_t* vx = udp + 8;
  vx[0] = 0x08;  // I flag; VNI at [4..6] per packet
  std::uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += static_cast<std::uint32_t>(ip[i] << 8 | ip[i + 1]);
  r.ip_sum_base = sum;
}

}  // namespace

Result<void> TablesConfig::validate() const {
  if (mac_capacity < 8) return make_error("mac_capacity {} too small (at least 8)", mac_capacity);
  if (neighbour_capacity < 8) return make_error("neighbour_capacity {} too small (at least 8)", neighbour_capacity);
  if (neighbour6_capacity < 8) {
    return make_error("neighbour6_capacity {} too small (at least 8)", neighbour6_capacity);
  }
  if (vtep_capacity < 1 || vtep_capacity > (1u << 24)) {
    return make_error("vtep_capacity {} out of range 1..16777216", vtep_capacity);
  }
  if (max_workers < 1 || max_workers > 1024) return make_error("max_workers {} out of range 1..1024", max_workers);
  // DPDK object names are short: the longest derived one, the RCU defer
  // queue's ring "HASH_RCU_<name>_neigh6", must fit RTE_RING_NAMESIZE.
  if (name.empty() || name.size() > kMaxTablesName) {
    return make_error("tables name '{}' must be 1..{} characters", name, kMaxTablesName);
  }
  return ok();
}

Result<void> UnderlayConfig::validate() const {
  if (vtep_ip.value == 0) return make_error("VTEP IP is not set");
  if (uplink_mac.is_zero() || uplink_mac.is_multicast()) {
    return make_error("uplink MAC {} is not a unicast address", uplink_mac.to_string());
  }
  if (udp_port == 0) return make_error("VXLAN UDP port must not be 0");
  if (ttl == 0) return make_error("outer TTL must not be 0");
  if (dscp > 63) return make_error("DSCP {} out of range 0..63", dscp);
  return ok();
}

// Control-side bookkeeping. Only the control thread touches it.
struct Tables::Impl {
  struct NetState {
    std::uint32_t slot = 0;
    bool flood_unknown = false;
    std::set<PortId> ports;
    std::set<Ipv4Addr> flood;
  };
  struct VtepState {
    std::uint32_t slot = 0;
    std::uint32_t refs = 0;
  };
  struct Retired {
    std::uint64_t token;
    std::function<void()> release;
  };

  std::unordered_map<Vni, NetState> networks;
  std::unordered_map<std::uint32_t, VtepState> vteps;    // by IPv4
  std::unordered_map<std::uint32_t, MacAddr> next_hops;  // resolution state, by IPv4
  std::map<std::uint64_t, std::uint32_t> peer_refs;      // peer_key -> references
  std::vector<std::uint32_t> free_network_slots;
  std::vector<std::uint32_t> free_vtep_slots;
  std::vector<Retired> retired;
  std::size_t hash_bytes = 0;
  std::size_t mac_entries = 0;  // rte_hash_count also counts deleted keys awaiting their grace period

  // Frees `release` after the current grace period.
  void retire(Tables& t, std::function<void()> release);
  // A reference from (vni) to remote VTEP `ip`: VTEP slot + peer entry.
  Result<std::uint32_t> ref_remote(Tables& t, Vni vni, Ipv4Addr ip);
  void unref_remote(Tables& t, Vni vni, Ipv4Addr ip);
  // Rebuilds and publishes the record of network `vni` from its NetState.
  void publish_network(Tables& t, Vni vni);
  // Rebuilds and publishes VTEP `ip`'s record (next-hop change).
  void publish_vtep(Tables& t, Ipv4Addr ip, std::uint32_t slot);
};

Tables::Tables(const TablesConfig& config, const UnderlayConfig& underlay)
    : config_(config), underlay_(underlay), impl_(std::make_unique<Impl>()) {}

Tables::~Tables() {
  // No worker may run any more: free everything now.
  if (rcu_ != nullptr && impl_) {
    for (auto& r : impl_->retired) r.release();
    impl_->retired.clear();
  }
  if (ports_) {
    for (std::size_t i = 0; i < kMaxPorts; ++i) delete ports_[i].load();
  }
  if (networks_) {
    for (std::size_t i = 0; i < kMaxNetworks; ++i) delete networks_[i].load();
  }
  if (vteps_) {
    for (std::size_t i = 0; i < config_.vtep_capacity; ++i) delete vteps_[i].load();
  }
  rte_hash_free(mac_hash_);
  rte_hash_free(peer_hash_);
  rte_hash_free(vni_hash_);
  rte_hash_free(neighbour_hash_);
  rte_hash_free(neighbour6_hash_);
  rte_free(rcu_);
}

Result<std::unique_ptr<Tables>> Tables::create(const TablesConfig& config, const UnderlayConfig& underlay) {
  if (auto v = config.validate(); !v) return v.error().wrap("tables config");
  if (auto v = underlay.validate(); !v) return v.error().wrap("underlay config");
  std::unique_ptr<Tables> t(new Tables(config, underlay));
  const std::size_t heap_before = heap_allocated_bytes();

  const std::size_t rcu_size = rte_rcu_qsbr_get_memsize(config.max_workers);
  t->rcu_ =
      static_cast<rte_rcu_qsbr*>(rte_zmalloc_socket("ferry_rcu", rcu_size, RTE_CACHE_LINE_SIZE, config.socket_id));
  if (t->rcu_ == nullptr) {
    return make_error("cannot allocate the RCU variable ({} bytes): out of DPDK memory", rcu_size);
  }
  if (rte_rcu_qsbr_init(t->rcu_, config.max_workers) != 0) {
    return make_sys_error(rte_errno, "rte_rcu_qsbr_init");
  }

  auto make_hash = [&](const char* what, std::uint32_t entries, std::uint32_t key_len, rte_hash** out) -> Result<void> {
    const std::string name = config.name + "_" + what;
    rte_hash_parameters params{};
    params.name = name.c_str();
    params.entries = entries;
    params.key_len = key_len;
    params.hash_func = rte_hash_crc;
    params.hash_func_init_val = 0;
    params.socket_id = config.socket_id;
    params.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
    rte_hash* h = rte_hash_create(&params);
    if (h == nullptr) {
      return make_error("cannot create hash table {} ({} entries): {} (out of DPDK memory, or name in use)", name,
                        entries, rte_strerror(rte_errno));
    }
    *out = h;
    rte_hash_rcu_config rcu{};
    rcu.v = t->rcu_;
    rcu.mode = RTE_HASH_QSBR_MODE_DQ;
    if (rte_hash_rcu_qsbr_add(h, &rcu) != 0) {
      return make_error("cannot attach RCU to hash table {}: {}", name, rte_strerror(rte_errno));
    }
    return ok();
  };
  if (auto r = make_hash("mac", config.mac_capacity, 8, &t->mac_hash_); !r) return r.error();
  if (auto r = make_hash("peer", kPeerCapacity, 8, &t->peer_hash_); !r) return r.error();
  if (auto r = make_hash("vni", kMaxNetworks, 4, &t->vni_hash_); !r) return r.error();
  if (auto r = make_hash("neigh", config.neighbour_capacity, 8, &t->neighbour_hash_); !r) return r.error();
  if (auto r = make_hash("neigh6", config.neighbour6_capacity, sizeof(Neighbour6Key), &t->neighbour6_hash_); !r) {
    return r.error();
  }
  t->impl_->hash_bytes = heap_allocated_bytes() - heap_before;

  t->ports_ = std::make_unique<std::atomic<const PortRecord*>[]>(kMaxPorts);
  t->networks_ = std::make_unique<std::atomic<const NetworkRecord*>[]>(kMaxNetworks);
  t->vteps_ = std::make_unique<std::atomic<const VtepRecord*>[]>(config.vtep_capacity);
  for (std::uint32_t i = kMaxNetworks; i > 0; --i) t->impl_->free_network_slots.push_back(i - 1);
  for (std::uint32_t i = config.vtep_capacity; i > 0; --i) t->impl_->free_vtep_slots.push_back(i - 1);
  return t;
}

// ---------------------------------------------------------------------------
// RCU

void Tables::reclaim() {
  auto& retired = impl_->retired;
  std::size_t done = 0;
  // Tokens are increasing: stop at the first one still in its grace period.
  while (done < retired.size() && rte_rcu_qsbr_check(rcu_, retired[done].token, false) == 1) {
    retired[done].release();
    ++done;
  }
  retired.erase(retired.begin(), retired.begin() + static_cast<std::ptrdiff_t>(done));
}

void Tables::synchronize() {
  rte_rcu_qsbr_synchronize(rcu_, RTE_QSBR_THRID_INVALID);
  reclaim();
}

void Tables::Impl::retire(Tables& t, std::function<void()> release) {
  retired.push_back(Retired{rte_rcu_qsbr_start(t.rcu_), std::move(release)});
}

void Tables::Impl::publish_vtep(Tables& t, Ipv4Addr ip, std::uint32_t slot) {
  auto* r = new VtepRecord();
  r->ip = ip;
  if (auto it = next_hops.find(ip.value); it != next_hops.end()) {
    r->resolved = true;
    r->next_hop = it->second;
  }
  build_vtep_header(*r, t.underlay_);
  const VtepRecord* old = t.vteps_[slot].exchange(r, std::memory_order_acq_rel);
  if (old != nullptr) retire(t, [old] { delete old; });
}

Result<std::uint32_t> Tables::Impl::ref_remote(Tables& t, Vni vni, Ipv4Addr ip) {
  if (ip.value == 0 || ip == t.underlay_.vtep_ip) {
    return make_error("VTEP {} is not a remote VTEP address", ip.to_string());
  }
  const std::uint32_t first = ip.value >> 24;
  if (first == 0 || first == 127 || first >= 224) {
    return make_error("VTEP {} is not a unicast address", ip.to_string());
  }
  auto net = networks.find(vni);
  if (net == networks.end()) return make_error("network {} does not exist", vni);
  // Peer entry first (it can fail on capacity); then the VTEP slot.
  const std::uint64_t pk = peer_key(vni, ip);
  auto pref = peer_refs.find(pk);
  if (pref == peer_refs.end()) {
    if (int rc = rte_hash_add_key_data(t.peer_hash_, &pk, as_data(net->second.slot)); rc != 0) {
      return make_error("peer table full ({} entries): {}", kPeerCapacity, rte_strerror(-rc));
    }
  }
  auto v = vteps.find(ip.value);
  if (v == vteps.end()) {
    if (free_vtep_slots.empty()) {
      if (pref == peer_refs.end()) rte_hash_del_key(t.peer_hash_, &pk);
      return make_error("too many remote VTEPs (capacity {})", t.config_.vtep_capacity);
    }
    const std::uint32_t slot = free_vtep_slots.back();
    free_vtep_slots.pop_back();
    v = vteps.emplace(ip.value, VtepState{slot, 0}).first;
    publish_vtep(t, ip, slot);
  }
  ++v->second.refs;
  ++peer_refs[pk];
  return v->second.slot;
}

void Tables::Impl::unref_remote(Tables& t, Vni vni, Ipv4Addr ip) {
  const std::uint64_t pk = peer_key(vni, ip);
  if (auto p = peer_refs.find(pk); p != peer_refs.end() && --p->second == 0) {
    rte_hash_del_key(t.peer_hash_, &pk);
    peer_refs.erase(p);
  }
  auto v = vteps.find(ip.value);
  if (v == vteps.end() || --v->second.refs > 0) return;
  const std::uint32_t slot = v->second.slot;
  vteps.erase(v);
  const VtepRecord* old = t.vteps_[slot].exchange(nullptr, std::memory_order_acq_rel);
  // The slot is reused only after readers that looked it up are done.
  retire(t, [this, old, slot] {
    delete old;
    free_vtep_slots.push_back(slot);
  });
}

void Tables::Impl::publish_network(Tables& t, Vni vni) {
  const NetState& st = networks.at(vni);
  auto* r = new NetworkRecord();
  r->vni = vni;
  r->slot = st.slot;
  r->flood_unknown = st.flood_unknown;
  r->ports.assign(st.ports.begin(), st.ports.end());
  for (const Ipv4Addr& ip : st.flood) r->flood.push_back(vteps.at(ip.value).slot);
  const NetworkRecord* old = t.networks_[st.slot].exchange(r, std::memory_order_acq_rel);
  if (old != nullptr) retire(t, [old] { delete old; });
}

// ---------------------------------------------------------------------------
// Networks

Result<void> Tables::add_network(Vni vni, bool flood_unknown) {
  reclaim();
  if (vni > kMaxVni) return make_error("VNI {} out of range 0..{}", vni, kMaxVni);
  auto& nets = impl_->networks;
  if (auto it = nets.find(vni); it != nets.end()) {
    if (it->second.flood_unknown != flood_unknown) {
      it->second.flood_unknown = flood_unknown;
      impl_->publish_network(*this, vni);
    }
    return ok();
  }
  if (impl_->free_network_slots.empty()) return make_error("too many networks (at most {})", kMaxNetworks);
  const std::uint32_t slot = impl_->free_network_slots.back();
  Impl::NetState st;
  st.slot = slot;
  st.flood_unknown = flood_unknown;
  nets.emplace(vni, std::move(st));
  impl_->publish_network(*this, vni);
  const std::uint32_t key = vni;
  if (int rc = rte_hash_add_key_data(vni_hash_, &key, as_data(slot)); rc != 0) {
    const NetworkRecord* old = networks_[slot].exchange(nullptr);
    impl_->retire(*this, [old] { delete old; });
    nets.erase(vni);
    return make_error("cannot add network {}: {}", vni, rte_strerror(-rc));
  }
  impl_->free_network_slots.pop_back();
  return ok();
}

Result<void> Tables::del_network(Vni vni) {
  reclaim();
  auto& nets = impl_->networks;
  auto it = nets.find(vni);
  if (it == nets.end()) return make_error("network {} does not exist", vni);
  if (!it->second.ports.empty()) {
    return make_error("network {} still has {} endpoint port(s); remove them first", vni, it->second.ports.size());
  }
  // Unpublish the VNI first so no new frame enters the network.
  const std::uint32_t key = vni;
  rte_hash_del_key(vni_hash_, &key);
  for (const auto& m : macs(vni)) (void)del_remote_mac(vni, m.mac);
  for (const auto& n : neighbours(vni)) (void)del_neighbour(vni, n.ip);
  for (const auto& n : neighbours6(vni)) (void)del_neighbour(vni, n.ip);
  const std::set<Ipv4Addr> flood = it->second.flood;
  for (const Ipv4Addr& ip : flood) (void)del_flood_vtep(vni, ip);
  const std::uint32_t slot = it->second.slot;
  nets.erase(it);
  const NetworkRecord* old = networks_[slot].exchange(nullptr, std::memory_order_acq_rel);
  impl_->retire(*this, [this, old, slot] {
    delete old;
    impl_->free_network_slots.push_back(slot);
  });
  return ok();
}

// ---------------------------------------------------------------------------
// Endpoint ports

Result<void> Tables::add_port(const EndpointPort& p) {
  reclaim();
  if (p.port >= kMaxPorts) return make_error("port id {} out of range 0..{}", p.port, kMaxPorts - 1);
  auto net = impl_->networks.find(p.vni);
  if (net == impl_->networks.end()) return make_error("network {} does not exist", p.vni);
  if (ports_[p.port].load() != nullptr) return make_error("port {} is already an endpoint", p.port);
  if (p.mac.is_zero() || p.mac.is_multicast()) {
    return make_error("endpoint MAC {} is not a unicast address", p.mac.to_string());
  }
  if (p.ips.size() > kMaxEndpointIps) {
    return make_error("endpoint has {} IPv4 addresses, at most {}", p.ips.size(), kMaxEndpointIps);
  }
  if (p.ips6.size() > kMaxEndpointIps6) {
    return make_error("endpoint has {} IPv6 addresses, at most {}", p.ips6.size(), kMaxEndpointIps6);
  }
  for (const Ipv6Addr& ip : p.ips6) {
    if (!ip.is_endpoint_unicast()) {
      return make_error("endpoint IPv6 {} is not a global or unique-local unicast address", ip.to_string());
    }
  }
  const std::uint64_t key = mac_key(net->second.slot, p.mac.to_u64());
  void* existing = nullptr;
  if (rte_hash_lookup_data(mac_hash_, &key, &existing) >= 0) {
    return make_error("MAC {} is already in use in network {}", p.mac.to_string(), p.vni);
  }
  if (int rc = rte_hash_add_key_data(mac_hash_, &key, as_data(MacDest::local(p.port))); rc != 0) {
    return make_error("MAC table full: {}", rte_strerror(-rc));
  }
  ++impl_->mac_entries;
  auto* r = new PortRecord();
  r->port = p.port;
  r->vni = p.vni;
  r->network_slot = net->second.slot;
  r->mac = p.mac;
  r->mac_u64 = p.mac.to_u64();
  for (const Ipv4Addr& ip : p.ips) {
    r->ips_be[r->ip_count++] = rte_cpu_to_be_32(ip.value);
    // The port's own IPs are answered by the ARP proxy.
    const std::uint64_t nk = neighbour_key(p.vni, ip);
    (void)rte_hash_add_key_data(neighbour_hash_, &nk, as_data(kNeighbourFromPort | r->mac_u64));
  }
  for (const Ipv6Addr& ip : p.ips6) {
    std::memcpy(r->ips6[r->ip6_count++], ip.bytes.data(), 16);
    // And by the ND proxy.
    const Neighbour6Key nk = neighbour6_key(p.vni, ip);
    (void)rte_hash_add_key_data(neighbour6_hash_, &nk, as_data(kNeighbourFromPort | r->mac_u64));
  }
  ports_[p.port].store(r, std::memory_order_release);
  net->second.ports.insert(p.port);
  impl_->publish_network(*this, p.vni);
  return ok();
}

Result<void> Tables::del_port(PortId port) {
  reclaim();
  if (port >= kMaxPorts || ports_[port].load() == nullptr) return make_error("port {} is not an endpoint", port);
  const PortRecord* r = ports_[port].exchange(nullptr, std::memory_order_acq_rel);
  const std::uint64_t key = mac_key(r->network_slot, r->mac_u64);
  rte_hash_del_key(mac_hash_, &key);
  --impl_->mac_entries;
  for (std::uint32_t i = 0; i < r->ip_count; ++i) {
    const std::uint64_t nk = neighbour_key(r->vni, Ipv4Addr{rte_be_to_cpu_32(r->ips_be[i])});
    void* data = nullptr;
    if (rte_hash_lookup_data(neighbour_hash_, &nk, &data) >= 0 &&
        from_data(data) == (kNeighbourFromPort | r->mac_u64)) {
      rte_hash_del_key(neighbour_hash_, &nk);
    }
  }
  for (std::uint32_t i = 0; i < r->ip6_count; ++i) {
    const Neighbour6Key nk = neighbour6_key(r->vni, ipv6_of(r->ips6[i]));
    void* data = nullptr;
    if (rte_hash_lookup_data(neighbour6_hash_, &nk, &data) >= 0 &&
        from_data(data) == (kNeighbourFromPort | r->mac_u64)) {
      rte_hash_del_key(neighbour6_hash_, &nk);
    }
  }
  if (auto net = impl_->networks.find(r->vni); net != impl_->networks.end()) {
    net->second.ports.erase(port);
    impl_->publish_network(*this, r->vni);
  }
  impl_->retire(*this, [r] { delete r; });
  return ok();
}

// ---------------------------------------------------------------------------
// Remote MACs, neighbours, flood lists

Result<void> Tables::add_remote_mac(Vni vni, const MacAddr& mac, Ipv4Addr vtep) {
  reclaim();
  const auto net = impl_->networks.find(vni);
  if (net == impl_->networks.end()) return make_error("network {} does not exist", vni);
  if (mac.is_zero() || mac.is_multicast()) return make_error("MAC {} is not a unicast address", mac.to_string());
  const std::uint64_t key = mac_key(net->second.slot, mac.to_u64());
  void* existing = nullptr;
  std::optional<Ipv4Addr> old_vtep;
  if (rte_hash_lookup_data(mac_hash_, &key, &existing) >= 0) {
    const std::uint64_t v = from_data(existing);
    if ((v & MacDest::kKindMask) == MacDest::kLocal) {
      return make_error("MAC {} belongs to local port {} in network {}", mac.to_string(), v & 0xffff, vni);
    }
    const VtepRecord* rec = vteps_[v & 0xffffffffu].load();
    if (rec != nullptr && rec->ip == vtep) return ok();
    if (rec != nullptr) old_vtep = rec->ip;
  }
  auto slot = impl_->ref_remote(*this, vni, vtep);
  if (!slot) return slot.error();
  if (int rc = rte_hash_add_key_data(mac_hash_, &key, as_data(MacDest::remote(*slot))); rc != 0) {
    impl_->unref_remote(*this, vni, vtep);
    return make_error("MAC table full ({} entries): {}", config_.mac_capacity, rte_strerror(-rc));
  }
  if (old_vtep) {
    impl_->unref_remote(*this, vni, *old_vtep);
  } else {
    ++impl_->mac_entries;
  }
  return ok();
}

Result<void> Tables::del_remote_mac(Vni vni, const MacAddr& mac) {
  reclaim();
  const auto net = impl_->networks.find(vni);
  if (net == impl_->networks.end()) return make_error("network {} does not exist", vni).with_code(ErrorCode::kNotFound);
  const std::uint64_t key = mac_key(net->second.slot, mac.to_u64());
  void* existing = nullptr;
  if (rte_hash_lookup_data(mac_hash_, &key, &existing) < 0) {
    return make_error("no MAC {} in network {}", mac.to_string(), vni).with_code(ErrorCode::kNotFound);
  }
  const std::uint64_t v = from_data(existing);
  if ((v & MacDest::kKindMask) != MacDest::kRemote) {
    return make_error("MAC {} in network {} is a local port's; remove the port instead", mac.to_string(), vni)
        .with_code(ErrorCode::kBusy);
  }
  const VtepRecord* rec = vteps_[v & 0xffffffffu].load();
  rte_hash_del_key(mac_hash_, &key);
  --impl_->mac_entries;
  if (rec != nullptr) impl_->unref_remote(*this, vni, rec->ip);
  return ok();
}

Result<void> Tables::add_neighbour(Vni vni, Ipv4Addr ip, const MacAddr& mac) {
  reclaim();
  if (impl_->networks.count(vni) == 0) return make_error("network {} does not exist", vni);
  if (mac.is_zero() || mac.is_multicast()) return make_error("MAC {} is not a unicast address", mac.to_string());
  if (ip.value == 0) return make_error("neighbour IP 0.0.0.0 is not valid");
  const std::uint64_t key = neighbour_key(vni, ip);
  if (int rc = rte_hash_add_key_data(neighbour_hash_, &key, as_data(mac.to_u64())); rc != 0) {
    return make_error("neighbour table full ({} entries): {}", config_.neighbour_capacity, rte_strerror(-rc));
  }
  return ok();
}

Result<void> Tables::del_neighbour(Vni vni, Ipv4Addr ip) {
  reclaim();
  const std::uint64_t key = neighbour_key(vni, ip);
  if (rte_hash_del_key(neighbour_hash_, &key) < 0) {
    return make_error("no neighbour {} in network {}", ip.to_string(), vni);
  }
  return ok();
}

Result<void> Tables::add_neighbour(Vni vni, const Ipv6Addr& ip, const MacAddr& mac) {
  reclaim();
  if (impl_->networks.count(vni) == 0) return make_error("network {} does not exist", vni);
  if (mac.is_zero() || mac.is_multicast()) return make_error("MAC {} is not a unicast address", mac.to_string());
  if (!ip.is_endpoint_unicast()) {
    return make_error("neighbour IPv6 {} is not a global or unique-local unicast address", ip.to_string());
  }
  const Neighbour6Key key = neighbour6_key(vni, ip);
  if (int rc = rte_hash_add_key_data(neighbour6_hash_, &key, as_data(mac.to_u64())); rc != 0) {
    return make_error("IPv6 neighbour table full ({} entries): {}", config_.neighbour6_capacity, rte_strerror(-rc));
  }
  return ok();
}

Result<void> Tables::del_neighbour(Vni vni, const Ipv6Addr& ip) {
  reclaim();
  const Neighbour6Key key = neighbour6_key(vni, ip);
  if (rte_hash_del_key(neighbour6_hash_, &key) < 0) {
    return make_error("no neighbour {} in network {}", ip.to_string(), vni);
  }
  return ok();
}

Result<void> Tables::add_flood_vtep(Vni vni, Ipv4Addr vtep) {
  reclaim();
  auto net = impl_->networks.find(vni);
  if (net == impl_->networks.end()) return make_error("network {} does not exist", vni);
  if (net->second.flood.count(vtep) != 0) return ok();
  auto slot = impl_->ref_remote(*this, vni, vtep);
  if (!slot) return slot.error();
  net->second.flood.insert(vtep);
  impl_->publish_network(*this, vni);
  return ok();
}

Result<void> Tables::del_flood_vtep(Vni vni, Ipv4Addr vtep) {
  reclaim();
  auto net = impl_->networks.find(vni);
  if (net == impl_->networks.end()) return make_error("network {} does not exist", vni);
  if (net->second.flood.erase(vtep) == 0) {
    return make_error("VTEP {} is not in the flood list of network {}", vtep.to_string(), vni);
  }
  impl_->publish_network(*this, vni);  // before the VTEP slot can be released
  impl_->unref_remote(*this, vni, vtep);
  return ok();
}

// ---------------------------------------------------------------------------
// Next hops

Result<void> Tables::set_vtep_next_hop(Ipv4Addr vtep, const MacAddr& next_hop) {
  reclaim();
  if (next_hop.is_zero() || next_hop.is_multicast()) {
    return make_error("next-hop MAC {} is not a unicast address", next_hop.to_string());
  }
  auto [it, inserted] = impl_->next_hops.try_emplace(vtep.value, next_hop);
  if (!inserted) {
    if (it->second == next_hop) return ok();
    it->second = next_hop;
  }
  if (auto v = impl_->vteps.find(vtep.value); v != impl_->vteps.end()) {
    impl_->publish_vtep(*this, vtep, v->second.slot);
  }
  return ok();
}

Result<void> Tables::clear_vtep_next_hop(Ipv4Addr vtep) {
  reclaim();
  if (impl_->next_hops.erase(vtep.value) == 0) return ok();
  if (auto v = impl_->vteps.find(vtep.value); v != impl_->vteps.end()) {
    impl_->publish_vtep(*this, vtep, v->second.slot);
  }
  return ok();
}

// ---------------------------------------------------------------------------
// Dumps

std::vector<NetworkInfo> Tables::networks() const {
  std::vector<NetworkInfo> out;
  for (const auto& [vni, st] : impl_->networks) {
    NetworkInfo info{vni, st.slot, st.flood_unknown, {st.ports.begin(), st.ports.end()}, {}};
    info.flood.assign(st.flood.begin(), st.flood.end());
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.vni < b.vni; });
  return out;
}

std::vector<EndpointPort> Tables::ports() const {
  std::vector<EndpointPort> out;
  for (std::size_t p = 0; p < kMaxPorts; ++p) {
    const PortRecord* r = ports_[p].load();
    if (r == nullptr) continue;
    EndpointPort e{r->port, r->vni, r->mac, {}, {}};
    for (std::uint32_t i = 0; i < r->ip_count; ++i) e.ips.push_back(Ipv4Addr{rte_be_to_cpu_32(r->ips_be[i])});
    for (std::uint32_t i = 0; i < r->ip6_count; ++i) e.ips6.push_back(ipv6_of(r->ips6[i]));
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<MacEntryInfo> Tables::macs(std::optional<Vni> vni) const {
  std::vector<MacEntryInfo> out;
  const void* key = nullptr;
  void* data = nullptr;
  std::uint32_t next = 0;
  while (rte_hash_iterate(mac_hash_, &key, &data, &next) >= 0) {
    std::uint64_t k = 0;
    std::memcpy(&k, key, sizeof(k));
    // Every key's slot names a live network: del_network removes a network's
    // keys before its slot is released.
    const NetworkRecord* net = networks_[static_cast<std::uint32_t>(k >> kMacKeySlotShift)].load();
    if (net == nullptr) continue;
    const Vni v = net->vni;
    if (vni && *vni != v) continue;
    const std::uint64_t d = from_data(data);
    MacEntryInfo e{v, MacAddr::from_u64(k & kMac48), (d & MacDest::kKindMask) == MacDest::kLocal, kInvalidPort, {}};
    if (e.local) {
      e.port = static_cast<PortId>(d & 0xffff);
    } else if (const VtepRecord* r = vteps_[d & 0xffffffffu].load(); r != nullptr) {
      e.vtep = r->ip;
    }
    out.push_back(e);
  }
  return out;
}

std::vector<NeighbourInfo> Tables::neighbours(std::optional<Vni> vni) const {
  std::vector<NeighbourInfo> out;
  const void* key = nullptr;
  void* data = nullptr;
  std::uint32_t next = 0;
  while (rte_hash_iterate(neighbour_hash_, &key, &data, &next) >= 0) {
    std::uint64_t k = 0;
    std::memcpy(&k, key, sizeof(k));
    const Vni v = static_cast<Vni>(k >> 32);
    if (vni && *vni != v) continue;
    const std::uint64_t d = from_data(data);
    out.push_back(NeighbourInfo{v, Ipv4Addr{static_cast<std::uint32_t>(k)}, MacAddr::from_u64(d & kMac48),
                                (d & kNeighbourFromPort) != 0});
  }
  return out;
}

std::optional<MacAddr> Tables::neighbour_mac(Vni vni, Ipv4Addr ip) const {
  const std::uint64_t key = neighbour_key(vni, ip);
  void* data = nullptr;
  if (rte_hash_lookup_data(neighbour_hash_, &key, &data) < 0) return std::nullopt;
  return MacAddr::from_u64(from_data(data) & kMac48);
}

std::optional<MacAddr> Tables::neighbour_mac(Vni vni, const Ipv6Addr& ip) const {
  const Neighbour6Key key = neighbour6_key(vni, ip);
  void* data = nullptr;
  if (rte_hash_lookup_data(neighbour6_hash_, &key, &data) < 0) return std::nullopt;
  return MacAddr::from_u64(from_data(data) & kMac48);
}

std::vector<Neighbour6Info> Tables::neighbours6(std::optional<Vni> vni) const {
  std::vector<Neighbour6Info> out;
  const void* key = nullptr;
  void* data = nullptr;
  std::uint32_t next = 0;
  while (rte_hash_iterate(neighbour6_hash_, &key, &data, &next) >= 0) {
    Neighbour6Key k;
    std::memcpy(&k, key, sizeof(k));
    if (vni && *vni != k.vni) continue;
    Ipv6Addr ip;
    std::memcpy(ip.bytes.data(), k.ip, 16);
    const std::uint64_t d = from_data(data);
    out.push_back(Neighbour6Info{k.vni, ip, MacAddr::from_u64(d & kMac48), (d & kNeighbourFromPort) != 0});
  }
  return out;
}

std::vector<VtepInfo> Tables::vteps() const {
  std::vector<VtepInfo> out;
  for (const auto& [ip, st] : impl_->vteps) {
    VtepInfo info{Ipv4Addr{ip}, false, {}, st.refs};
    if (auto nh = impl_->next_hops.find(ip); nh != impl_->next_hops.end()) {
      info.resolved = true;
      info.next_hop = nh->second;
    }
    out.push_back(info);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.ip < b.ip; });
  return out;
}

std::size_t Tables::mac_count() const { return impl_->mac_entries; }

std::size_t Tables::memory_bytes() const {
  std::size_t total = impl_->hash_bytes;
  total += kMaxPorts * sizeof(void*) + kMaxNetworks * sizeof(void*) + config_.vtep_capacity * sizeof(void*);
  total += impl_->vteps.size() * (sizeof(VtepRecord) + 64);
  total += impl_->peer_refs.size() * 64;  // std::map node
  for (const auto& [vni, st] : impl_->networks) {
    total += sizeof(NetworkRecord) + 128 + (st.ports.size() + st.flood.size()) * 48;
  }
  return total;
}

}  // namespace ferry::dataplane
