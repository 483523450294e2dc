#include "dataplane/app/announce.h"

#include <algorithm>
#include <cstring>

#include "dataplane/core/checksum.h"

namespace ferry::dataplane::app {

namespace {

constexpr std::uint16_t kEtherArp = 0x0806;
constexpr std::uint16_t kEtherIpv6 = 0x86dd;
constexpr std::uint8_t kProtoIcmpv6 = 58;
constexpr std::uint8_t kNeighborAdvertisement = 136;
constexpr std::uint8_t kNaOverride = 0x20;
constexpr std::uint8_t kOptTargetLinkLayer = 2;
constexpr std::size_t kIpv6HeaderSize = 40;
constexpr std::size_t kNaSize = 32;  // 24 + the 8-byte target link-layer option

void put_be16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

void put_be32(std::uint8_t* p, std::uint32_t v) {
  put_be16(p, static_cast<std::uint16_t>(v >> 16));
  put_be16(p + 2, static_cast<std::uint16_t>(v));
}

}  // namespace

void build_gratuitous_arp(std::span<std::uint8_t, kGarpFrameSize> out, const MacAddress& mac, dp_api::Ipv4 ip) {
  std::uint8_t* p = out.data();
  std::memset(p, 0, out.size());
  std::memset(p, 0xff, 6);  // to broadcast
  std::memcpy(p + 6, mac.bytes.data(), 6);
  put_be16(p + 12, kEtherArp);
  std::uint8_t* arp = p + 14;
  put_be16(arp, 1);  // Ethernet
  put_be16(arp + 2, 0x0800);
  arp[4] = 6;
  arp[5] = 4;
  put_be16(arp + 6, 1);  // request (RFC 5227 §3: the form every stack takes)
  std::memcpy(arp + 8, mac.bytes.data(), 6);
  put_be32(arp + 14, ip.value);
  // target hardware address stays zero
  put_be32(arp + 24, ip.value);
}

void build_unsolicited_na(std::span<std::uint8_t, kUnsolicitedNaFrameSize> out, const MacAddress& mac,
                          const dp_api::Ipv6& ip) {
  std::uint8_t* p = out.data();
  std::memset(p, 0, out.size());
  static constexpr std::uint8_t kAllNodesMac[6] = {0x33, 0x33, 0, 0, 0, 1};
  std::memcpy(p, kAllNodesMac, 6);
  std::memcpy(p + 6, mac.bytes.data(), 6);
  put_be16(p + 12, kEtherIpv6);
  std::uint8_t* ip6 = p + 14;
  ip6[0] = 0x60;
  put_be16(ip6 + 4, static_cast<std::uint16_t>(kNaSize));
  ip6[6] = kProtoIcmpv6;
  ip6[7] = 255;  // hop limit: receivers drop ND with any other
  std::memcpy(ip6 + 8, ip.bytes.data(), 16);
  ip6[24] = 0xff;  // ff02::1
  ip6[25] = 0x02;
  ip6[39] = 0x01;
  std::uint8_t* na = ip6 + kIpv6HeaderSize;
  na[0] = kNeighborAdvertisement;
  na[4] = kNaOverride;  // not Solicited (RFC 4861 §7.2.6), not Router
  std::memcpy(na + 8, ip.bytes.data(), 16);
  na[24] = kOptTargetLinkLayer;
  na[25] = 1;  // 8 bytes
  std::memcpy(na + 26, mac.bytes.data(), 6);
  const std::uint64_t sum = csum_add(pseudo_header_ipv6(ip6, kProtoIcmpv6, kNaSize), csum_bytes(na, kNaSize));
  store16(na + 2, static_cast<std::uint16_t>(~csum_fold(sum)));
}

void NeighbourMoves::removed(std::uint32_t vni, const Address& address, const MacAddress& mac, Clock::time_point now) {
  if (config_.capacity == 0) return;
  if (removed_.size() >= config_.capacity && removed_.count(Key{vni, address}) == 0) {
    expire(now);
    if (removed_.size() >= config_.capacity) {
      auto oldest = std::min_element(removed_.begin(), removed_.end(),
                                     [](const auto& a, const auto& b) { return a.second.at < b.second.at; });
      removed_.erase(oldest);
    }
  }
  removed_[Key{vni, address}] = Removed{mac, now};
}

bool NeighbourMoves::added(std::uint32_t vni, const Address& address, const MacAddress& mac,
                           std::optional<MacAddress> before, Clock::time_point now) {
  auto it = removed_.find(Key{vni, address});
  if (it != removed_.end()) {
    if (!before && now - it->second.at <= config_.window) before = it->second.mac;
    removed_.erase(it);
  }
  return before.has_value() && *before != mac;
}

void NeighbourMoves::expire(Clock::time_point now) {
  std::erase_if(removed_, [&](const auto& entry) { return now - entry.second.at > config_.window; });
}

}  // namespace ferry::dataplane::app
