#include "dataplane/app/arp.h"

#include <algorithm>
#include <cstring>

namespace ferry::dataplane::app {
namespace {

constexpr std::uint16_t kEtherTypeArp = 0x0806;
constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;

std::uint16_t load16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
std::uint32_t load32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
void store16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void store32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    p[i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
  }
}
MacAddress load_mac(const std::uint8_t* p) {
  MacAddress mac;
  std::memcpy(mac.bytes.data(), p, 6);
  return mac;
}

}  // namespace

std::optional<ArpPacket> parse_arp(std::span<const std::uint8_t> frame) {
  if (frame.size() < 14 + 28) {
    return std::nullopt;
  }
  const std::uint8_t* p = frame.data();
  if (load16(p + 12) != kEtherTypeArp) {
    return std::nullopt;
  }
  const std::uint8_t* a = p + 14;
  if (load16(a) != 1 || load16(a + 2) != kEtherTypeIpv4 || a[4] != 6 || a[5] != 4) {
    return std::nullopt;
  }
  ArpPacket arp;
  arp.op = load16(a + 6);
  arp.eth_src = load_mac(p + 6);
  arp.sender_mac = load_mac(a + 8);
  arp.sender_ip = dp_api::Ipv4{load32(a + 14)};
  arp.target_mac = load_mac(a + 18);
  arp.target_ip = dp_api::Ipv4{load32(a + 24)};
  if (arp.op != kArpRequest && arp.op != kArpReply) {
    return std::nullopt;
  }
  return arp;
}

void build_arp(std::span<std::uint8_t, kArpFrameSize> out, const MacAddress& eth_dst, const ArpPacket& arp) {
  std::uint8_t* p = out.data();
  std::memset(p, 0, kArpFrameSize);
  std::memcpy(p, eth_dst.bytes.data(), 6);
  std::memcpy(p + 6, arp.eth_src.bytes.data(), 6);
  store16(p + 12, kEtherTypeArp);
  std::uint8_t* a = p + 14;
  store16(a, 1);
  store16(a + 2, kEtherTypeIpv4);
  a[4] = 6;
  a[5] = 4;
  store16(a + 6, arp.op);
  std::memcpy(a + 8, arp.sender_mac.bytes.data(), 6);
  store32(a + 14, arp.sender_ip.value);
  std::memcpy(a + 18, arp.target_mac.bytes.data(), 6);
  store32(a + 24, arp.target_ip.value);
}

void build_arp_request(std::span<std::uint8_t, kArpFrameSize> out, const MacAddress& our_mac, dp_api::Ipv4 our_ip,
                       dp_api::Ipv4 target) {
  ArpPacket arp;
  arp.op = kArpRequest;
  arp.eth_src = our_mac;
  arp.sender_mac = our_mac;
  arp.sender_ip = our_ip;
  arp.target_ip = target;  // target MAC all zeros
  MacAddress broadcast;
  broadcast.bytes.fill(0xff);
  build_arp(out, broadcast, arp);
}

void build_arp_reply(std::span<std::uint8_t, kArpFrameSize> out, const MacAddress& our_mac, dp_api::Ipv4 our_ip,
                     const ArpPacket& request) {
  ArpPacket arp;
  arp.op = kArpReply;
  arp.eth_src = our_mac;
  arp.sender_mac = our_mac;
  arp.sender_ip = our_ip;
  arp.target_mac = request.sender_mac;
  arp.target_ip = request.sender_ip;
  build_arp(out, request.sender_mac, arp);
}

std::optional<dp_api::Ipv4> UnderlayResolver::next_hop_for(dp_api::Ipv4 vtep) const {
  if (params_.local.contains(vtep)) {
    return vtep;
  }
  return params_.gateway;
}

void UnderlayResolver::set_vteps(const std::vector<dp_api::Ipv4>& vteps) {
  for (auto& [ip, entry] : entries_) {
    entry.vteps.clear();
  }
  unroutable_.clear();
  for (const dp_api::Ipv4 vtep : vteps) {
    const auto hop = next_hop_for(vtep);
    if (!hop) {
      unroutable_.push_back(vtep);
      continue;
    }
    entries_[*hop].vteps.push_back(vtep);  // creates an unresolved entry when new
  }
  std::erase_if(entries_, [](const auto& item) { return item.second.vteps.empty(); });
}

bool UnderlayResolver::on_arp(dp_api::Ipv4 ip, const MacAddress& mac, TimePoint now) {
  auto it = entries_.find(ip);
  if (it == entries_.end() || mac.is_multicast() || mac.is_zero()) {
    return false;
  }
  it->second.mac = mac;
  it->second.confirmed = now;
  it->second.probes = 0;
  it->second.last_probe.reset();
  return true;
}

UnderlayResolver::Duration UnderlayResolver::refresh_window() const {
  return std::min<Duration>(params_.reachable / 4, std::chrono::seconds(30));
}

bool UnderlayResolver::usable(const Entry& entry, TimePoint now) const {
  return entry.mac && now < entry.confirmed + params_.reachable;
}

std::vector<dp_api::Ipv4> UnderlayResolver::due_probes(TimePoint now) {
  std::vector<dp_api::Ipv4> due;
  for (auto& [ip, entry] : entries_) {
    if (entry.mac && !usable(entry, now)) {
      entry.mac.reset();  // expired: resolve from scratch
      entry.probes = 0;
    }
    Duration interval;
    if (!entry.mac) {
      interval = entry.probes < params_.fast_probes ? params_.probe_interval : params_.slow_probe_interval;
    } else if (now >= entry.confirmed + params_.reachable - refresh_window()) {
      interval = params_.probe_interval;  // refresh before it expires
    } else {
      continue;
    }
    if (!entry.last_probe || now - *entry.last_probe >= interval) {
      entry.last_probe = now;
      ++entry.probes;
      due.push_back(ip);
    }
  }
  return due;
}

std::optional<MacAddress> UnderlayResolver::resolved_mac(dp_api::Ipv4 vtep, TimePoint now) const {
  const auto hop = next_hop_for(vtep);
  if (!hop) {
    return std::nullopt;
  }
  auto it = entries_.find(*hop);
  if (it == entries_.end() || !usable(it->second, now)) {
    return std::nullopt;
  }
  return it->second.mac;
}

std::vector<UnderlayResolver::EntryView> UnderlayResolver::entries(TimePoint now) const {
  std::vector<EntryView> out;
  for (const auto& [ip, entry] : entries_) {
    EntryView view{ip, std::nullopt, "", entry.vteps};
    if (usable(entry, now)) {
      view.mac = entry.mac;
      view.state = now >= entry.confirmed + params_.reachable - refresh_window() ? "stale" : "reachable";
    } else {
      view.state = entry.probes > params_.fast_probes ? "failed" : "incomplete";
    }
    out.push_back(std::move(view));
  }
  return out;
}

}  // namespace ferry::dataplane::app
