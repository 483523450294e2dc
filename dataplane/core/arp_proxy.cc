// ARP from an endpoint: validation, the sender checks (anti-spoofing) and the
// ARP proxy, which answers a request for a known address in place.
#include <rte_hash.h>

#include <cstring>

#include "dataplane/core/burst.h"
#include "dataplane/core/packet_util.h"

namespace ferry::dataplane {

using namespace wire;

namespace {

// Turns the ARP request in f into the reply naming `answer_mac`, in place
// (same mbuf, same size: padding kept).
void make_arp_reply(std::uint8_t* f, std::uint64_t answer_mac) {
  std::uint8_t* arp = f + kEthSize;
  std::uint8_t requester_mac[6];
  std::uint8_t requester_ip[4];
  std::uint8_t target_ip[4];
  std::memcpy(requester_mac, arp + 8, 6);
  std::memcpy(requester_ip, arp + 14, 4);
  std::memcpy(target_ip, arp + 24, 4);
  std::memcpy(f, requester_mac, 6);  // Ethernet destination
  store_mac(f + 6, answer_mac);      // Ethernet source
  store_be16(arp + 6, 2);            // op: reply
  store_mac(arp + 8, answer_mac);    // sender hardware address
  std::memcpy(arp + 14, target_ip, 4);
  std::memcpy(arp + 18, requester_mac, 6);
  std::memcpy(arp + 24, requester_ip, 4);
}

}  // namespace

// ARP (EtherType 0x0806, frame f of len bytes, the Ethernet source already
// checked): Ethernet/IPv4 ARP only (bad_arp), sender MAC and sender IP the
// endpoint's own (0.0.0.0 allowed: RFC 5227 probes). A request (not
// gratuitous) for an address in the neighbour table is answered (kReply)
// unless the answer would be the requester's own MAC; everything else is
// forwarded (an unknown target floods).
Verdict Pipeline::Burst::arp_from_endpoint(std::uint8_t* f, std::uint32_t len, const PortRecord& pr, Counter& why) {
  if (len < kEthSize + kArpSize) {
    why = Counter::truncated;
    return Verdict::kDrop;
  }
  const std::uint8_t* arp = f + kEthSize;
  if (load_be16(arp) != 1 || load_be16(arp + 2) != kEtherIpv4 || arp[4] != 6 || arp[5] != 4) {
    why = Counter::bad_arp;
    return Verdict::kDrop;
  }
  if (load_mac(arp + 8) != pr.mac_u64) {
    why = Counter::spoofed_src_mac;
    return Verdict::kDrop;
  }
  const std::uint32_t spa = load_u32(arp + 14);
  bool own = spa == 0;  // RFC 5227 probe
  for (std::uint32_t k = 0; k < pr.ip_count; ++k) own |= pr.ips_be[k] == spa;
  if (!own) {
    why = Counter::spoofed_src_ip;
    return Verdict::kDrop;
  }
  const std::uint16_t op = load_be16(arp + 6);
  const std::uint32_t tpa = load_u32(arp + 24);
  if (op != 1 || tpa == spa) return Verdict::kForward;
  // A request for a known IP is answered here; never flooded.
  const std::uint64_t nk = (std::uint64_t{pr.vni} << 32) | rte_be_to_cpu_32(tpa);
  void* data = nullptr;
  // Never answer an endpoint with its own MAC: that would fake an
  // address conflict for a duplicate-address probe (RFC 5227).
  if (rte_hash_lookup_data(t.neighbour_hash(), &nk, &data) < 0) return Verdict::kForward;
  const std::uint64_t mac = reinterpret_cast<std::uintptr_t>(data) & kNeighbourMacMask;
  if (mac == pr.mac_u64) return Verdict::kForward;
  // A request unicast to another MAC comes from a stale entry (the address
  // moved): answering it with the known MAC repairs the asker's cache.
  if ((f[0] & 1) == 0 && load_mac(f) != mac) count(Counter::arp_proxied_stale);
  make_arp_reply(f, mac);
  count(Counter::arp_proxied);
  return Verdict::kReply;
}

}  // namespace ferry::dataplane
