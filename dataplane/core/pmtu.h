// Path MTU discovery for frames that do not fit the underlay once
// encapsulated. Ferry never fragments (the outer header carries DF), so a
// container whose frame is too big would otherwise see its packets vanish
// and TCP would stall on a black hole. Like the kernel's vxlan device on a
// bridge (net/ipv4/ip_tunnel_core.c, "PMTU discovery for directly bridged
// IP packets"), the data plane answers such a frame itself with the ICMP
// error the container's stack acts on:
//   - IPv4 with DF set (and not a fragment): Destination Unreachable /
//     Fragmentation Needed (RFC 1191) carrying the next-hop MTU;
//   - IPv6: Packet Too Big (RFC 8201).
// The answer looks as if it came from the original destination (addresses
// and MACs swapped), so the sender caches the smaller MTU for that
// destination only. It carries as much of the original packet as fits a
// 576-byte IPv4 datagram or a 1 280-byte IPv6 packet, and is never sent for
// what RFC 1122/4443 forbid answering (ICMP errors, broadcast or multicast
// destinations, unspecified/loopback/multicast sources, later fragments).
//
// No allocation, no system calls: runs on the packet path.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

namespace ferry::dataplane {

// The smallest MTUs an answer may announce: below them the kernel sends no
// ICMP either (IPv4 576 as ip_tunnel_core.c; IPv6's minimum link MTU).
inline constexpr std::uint32_t kPmtuMinIpv4 = 576;
inline constexpr std::uint32_t kPmtuMinIpv6 = 1280;

// Turns the Ethernet frame in m (its headers in the first segment) into the
// ICMP/ICMPv6 error telling its sender that packets over `mtu` bytes (the
// inner IP MTU) do not pass, in place: headers are prepended in the
// headroom, the original packet is cut to what the error may quote, the
// rest of a chain is freed and the offload requests are cleared. Returns
// false, with m untouched, when no answer is due (see above) or the mbuf
// has no headroom for the new headers.
[[nodiscard]] bool make_too_big_reply(rte_mbuf* m, std::uint32_t mtu);

}  // namespace ferry::dataplane
