// Every pipeline counter and drop reason, defined once (X-macro): the enum,
// the names used by stats/metrics and the help text all come from this list
// (counter_list.h, the shape every counter list of the data plane has).
//
// Counters are per lcore, plain uint64_t bumped without atomics by the one
// worker that owns them, and summed by readers (stats API) with relaxed loads.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "dataplane/core/counter_list.h"
#include "dataplane/core/types.h"

namespace ferry::dataplane {

// X(kind, name, help). kind is Count (something happened) or Drop (a frame
// was freed without being sent: exactly one Drop counter per dropped frame;
// flooding also counts each copy it could not make or send).
#define FERRY_DP_COUNTERS(X)                                                                                       \
  X(Count, rx_uplink, "frames received from the uplink")                                                           \
  X(Count, rx_endpoint, "frames received from endpoint ports")                                                     \
  X(Count, decap, "VXLAN frames decapsulated and delivered to at least one local port")                            \
  X(Count, encap, "frames encapsulated towards a remote VTEP (one per copy)")                                      \
  X(Count, local_switched, "frames switched from one endpoint port to another (one per copy)")                     \
  X(Count, flooded, "broadcast/multicast/unknown frames replicated (one per ingress frame)")                       \
  X(Count, flood_copies, "extra copies made for flooding (local ports + flood-list VTEPs)")                        \
  X(Count, arp_proxied, "ARP requests from endpoints answered by the data plane")                                  \
  X(Count, nd_proxied, "IPv6 Neighbor Solicitations from endpoints answered by the data plane")                    \
  X(Count, arp_proxied_stale,                                                                                      \
    "ARP requests answered that were unicast to another MAC than the known one (a stale neighbour entry)")         \
  X(Count, nd_proxied_stale,                                                                                       \
    "Neighbor Solicitations answered that were unicast to another MAC than the known one (a stale entry)")         \
  X(Count, pmtu_answered,                                                                                          \
    "unicast frames too big for the underlay answered with ICMP Fragmentation Needed / Packet Too Big")            \
  X(Count, slow_path, "uplink frames (ARP for the VTEP IP, VTEP echo) handed to the control thread")               \
  X(Count, vtep_echo, "VTEP echo frames (the management VNI) handed to the control thread, never to a port")       \
  X(Count, injected, "frames from the control thread sent (uplink ARP; neighbour announcements to endpoints)")     \
  X(Count, tx, "frames accepted by a TX queue")                                                                    \
  X(Count, linearized, "multi-segment frames (scattered RX) made contiguous on ingress")                           \
  X(Count, superframes_in, "super-frames (TCP or UDP GSO) split into segments in software")                        \
  X(Count, gso_segments, "segments (TCP segments, UDP datagrams) made by software segmentation")                   \
  X(Count, superframes_out, "super-frames made by coalescing two or more TCP segments")                            \
  X(Count, coalesced, "TCP segments merged into super-frames (every segment of each)")                             \
  X(Count, sw_csum_bytes, "bytes summed in software to make, complete or verify L4 checksums")                     \
  X(Count, gro_bad_checksum, "TCP segments with a wrong TCP/IPv4 checksum seen by coalescing (passed on)")         \
  X(Drop, truncated, "frame too short for the headers it claims (outer or inner)")                                 \
  X(Drop, bad_ip_header, "outer IPv4 header malformed (version, IHL, total length)")                               \
  X(Drop, bad_ip_checksum, "outer IPv4 header checksum wrong")                                                     \
  X(Drop, ip_fragment, "outer IPv4 fragment (VTEPs never fragment; reassembly unsupported)")                       \
  X(Drop, not_for_us, "uplink frame not addressed to our uplink MAC / VTEP IP")                                    \
  X(Drop, not_vxlan, "uplink frame that is not IPv4/UDP to the VXLAN port (nor ARP)")                              \
  X(Drop, bad_vxlan_flags, "VXLAN header without the I flag")                                                      \
  X(Drop, unknown_vni, "VXLAN frame for a VNI we do not serve")                                                    \
  X(Drop, unknown_src_vtep, "VXLAN frame from a VTEP that is not a peer of that network")                          \
  X(Drop, unknown_inner_dst, "decapsulated frame whose inner destination MAC is not a local port")                 \
  X(Drop, ecn_ce_not_ect, "VXLAN frame marked CE outside whose inner packet is not ECN-capable (RFC 6040)")        \
  X(Drop, arp_not_for_us, "ARP on the uplink not targeting our VTEP IP")                                           \
  X(Drop, slow_path_full, "slow-path ring full (control thread not draining)")                                     \
  X(Drop, unknown_port, "frame from a port that is not (or no longer) an endpoint")                                \
  X(Drop, spoofed_src_mac,                                                                                         \
    "endpoint frame whose source MAC (Ethernet, ARP sender, ND link-layer option) is not the endpoint's")          \
  X(Drop, spoofed_src_ip, "endpoint IPv4/ARP frame whose source IPv4 is not the endpoint's")                       \
  X(Drop, vlan_tagged, "802.1Q/802.1ad-tagged frame from an endpoint (would bypass IPv4 anti-spoofing)")           \
  X(Drop, bad_arp, "malformed ARP from an endpoint")                                                               \
  X(Drop, spoofed_src_ip6, "endpoint IPv6 frame (or NA target) not from the endpoint's own, link-local or ::")     \
  X(Drop, bad_nd, "malformed Neighbor Discovery from an endpoint (hop limit, code, length, options, addresses)")   \
  X(Drop, bad_nd_checksum, "Neighbor Discovery message from an endpoint with a wrong ICMPv6 checksum")             \
  X(Drop, ra_guard, "Router Advertisement or Redirect from an endpoint (RA guard: containers are not routers)")    \
  X(Drop, unknown_unicast, "unicast to an unknown MAC in a network that does not flood")                           \
  X(Drop, hairpin, "frame whose destination is the port it came from")                                             \
  X(Drop, flood_no_target, "broadcast/multicast/unknown frame with no other port and no flood VTEP to go to")      \
  X(Drop, vtep_unresolved, "frame (or flood copy) to a remote VTEP whose next-hop MAC is not resolved yet")        \
  X(Drop, mtu_exceeded, "frame (or flood copy) larger than the underlay MTU once encapsulated (never fragmented)") \
  X(Drop, no_headroom, "mbuf without the 50 bytes of headroom encapsulation needs")                                \
  X(Drop, no_mbuf, "mempool empty while copying a frame (flooding, linearizing)")                                  \
  X(Drop, chain_too_long, "multi-segment frame larger than one mbuf of the pool: cannot be made contiguous")       \
  X(Drop, gso_bad_header,                                                                                          \
    "offload frame whose headers disagree with its metadata (flags, l2/l3/l4 lengths, version, protocol, "         \
    "length fields)")                                                                                              \
  X(Drop, gso_bad_mss, "super-frame with segment size 0, or needing more segments than the output holds")          \
  X(Drop, gso_too_big, "super-frame whose IPv4 total or IPv6 payload length would exceed 65 535")                  \
  X(Drop, gso_unsupported,                                                                                         \
    "offload not done in software (tunnel other than VXLAN, IPv6 fragment/unknown extension header, SCTP)")        \
  X(Drop, gso_headers_split, "offload frame whose headers span mbufs and cannot be gathered in the first")         \
  X(Drop, inject_no_port, "frames from the control thread whose port was removed before they were sent")           \
  X(Drop, tx_full, "frames a TX queue did not accept")

enum class Counter : std::uint16_t { FERRY_DP_COUNTERS(FERRY_COUNTER_ENUM) };

inline constexpr auto kCounterInfo = std::to_array<CounterInfo>({FERRY_DP_COUNTERS(FERRY_COUNTER_INFO)});
inline constexpr std::size_t kCounterCount = kCounterInfo.size();

[[nodiscard]] constexpr std::string_view counter_name(Counter c) {
  return kCounterInfo[static_cast<std::size_t>(c)].name;
}

// Per-port counters (index = PortId), kept by the pipeline for RX and TX.
#define FERRY_DP_PORT_COUNTERS(X)              \
  X(rx_packets, "frames received on the port") \
  X(rx_bytes, "bytes received on the port")    \
  X(tx_packets, "frames sent on the port")     \
  X(tx_bytes, "bytes sent on the port")        \
  X(tx_dropped, "frames the port's TX queue did not accept")

enum class PortCounter : std::uint8_t {
#define FERRY_DP_X(name, help) name,
  FERRY_DP_PORT_COUNTERS(FERRY_DP_X)
#undef FERRY_DP_X
};
inline constexpr std::size_t kPortCounterCount = 5;
inline constexpr std::array<std::string_view, kPortCounterCount> kPortCounterNames = {
#define FERRY_DP_X(name, help) #name,
    FERRY_DP_PORT_COUNTERS(FERRY_DP_X)
#undef FERRY_DP_X
};

// Per-network counters (index = the network's stats slot, see NetworkInfo).
#define FERRY_DP_NET_COUNTERS(X)                                     \
  X(from_endpoints, "frames received from this network's endpoints") \
  X(to_endpoints, "frames delivered to this network's endpoints")    \
  X(encap, "frames encapsulated for this network")                   \
  X(decap, "frames decapsulated for this network")                   \
  X(dropped, "frames of this network dropped (any reason)")

enum class NetCounter : std::uint8_t {
#define FERRY_DP_X(name, help) name,
  FERRY_DP_NET_COUNTERS(FERRY_DP_X)
#undef FERRY_DP_X
};
inline constexpr std::size_t kNetCounterCount = 5;
inline constexpr std::array<std::string_view, kNetCounterCount> kNetCounterNames = {
#define FERRY_DP_X(name, help) #name,
    FERRY_DP_NET_COUNTERS(FERRY_DP_X)
#undef FERRY_DP_X
};

// Most networks (VNIs) one data plane serves at a time.
inline constexpr std::size_t kMaxNetworks = 1024;

// One lcore's counters. Written only by its worker; read by anyone with
// relaxed loads (a reader may see a value one burst old, never a torn one).
struct alignas(64) LcoreCounters {
  std::array<std::uint64_t, kCounterCount> counters{};
  std::array<std::array<std::uint64_t, kPortCounterCount>, kMaxPorts> ports{};
  std::array<std::array<std::uint64_t, kNetCounterCount>, kMaxNetworks> networks{};
};

// A snapshot summed over lcores (or one lcore's copy).
struct Stats {
  std::array<std::uint64_t, kCounterCount> counters{};
  std::array<std::array<std::uint64_t, kPortCounterCount>, kMaxPorts> ports{};
  std::array<std::array<std::uint64_t, kNetCounterCount>, kMaxNetworks> networks{};

  [[nodiscard]] std::uint64_t operator[](Counter c) const { return counters[static_cast<std::size_t>(c)]; }
  [[nodiscard]] std::uint64_t port(PortId p, PortCounter c) const { return ports[p][static_cast<std::size_t>(c)]; }
  [[nodiscard]] std::uint64_t network(std::uint16_t stats_slot, NetCounter c) const {
    return networks[stats_slot][static_cast<std::size_t>(c)];
  }
  // Sum of all Drop counters.
  [[nodiscard]] std::uint64_t total_drops() const;
  // Adds `c` to this snapshot (relaxed loads).
  void add(const LcoreCounters& c);
};

}  // namespace ferry::dataplane
