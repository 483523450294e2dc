// The data plane's own underlay ARP: it owns the VTEP IP, so it answers ARP
// for it and resolves the next hop of every remote VTEP (the VTEP itself when
// on-link, else the gateway) without the kernel.
//
// UnderlayResolver is pure logic with the time passed in (tests drive it with
// made-up time points); the control loop feeds it ARP frames from the slow
// path, sends the probes it asks for and programs the resolved MACs into the
// core's tables.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dataplane/api/addr.h"

namespace ferry::dataplane::app {

inline constexpr std::uint16_t kArpRequest = 1;
inline constexpr std::uint16_t kArpReply = 2;
inline constexpr std::size_t kArpFrameSize = 60;  // 14 + 28, padded to the Ethernet minimum

struct ArpPacket {
  std::uint16_t op = 0;
  MacAddress eth_src;
  MacAddress sender_mac;
  dp_api::Ipv4 sender_ip;
  MacAddress target_mac;
  dp_api::Ipv4 target_ip;
};

// Parses an Ethernet II frame carrying IPv4-over-Ethernet ARP; nullopt for
// anything else (VLAN tags included).
std::optional<ArpPacket> parse_arp(std::span<const std::uint8_t> frame);

// Writes a 60-byte ARP frame.
void build_arp(std::span<std::uint8_t, kArpFrameSize> out, const MacAddress& eth_dst, const ArpPacket& arp);

// A broadcast who-has `target` from (our_mac, our_ip).
void build_arp_request(std::span<std::uint8_t, kArpFrameSize> out, const MacAddress& our_mac, dp_api::Ipv4 our_ip,
                       dp_api::Ipv4 target);

// The reply to `request` (whose target is our_ip) saying our_ip is-at our_mac.
void build_arp_reply(std::span<std::uint8_t, kArpFrameSize> out, const MacAddress& our_mac, dp_api::Ipv4 our_ip,
                     const ArpPacket& request);

class UnderlayResolver {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;

  struct Params {
    dp_api::Ipv4Prefix local;                                // our VTEP address and its subnet
    std::optional<dp_api::Ipv4> gateway;                     // next hop for VTEPs outside `local`
    Duration reachable = std::chrono::seconds(300);          // an answer is trusted this long
    Duration probe_interval = std::chrono::seconds(1);       // between probes while resolving/refreshing
    std::uint32_t fast_probes = 3;                           // probes at probe_interval before backing off
    Duration slow_probe_interval = std::chrono::seconds(5);  // after that ("failed")
  };

  explicit UnderlayResolver(Params params) : params_(params) {}

  // The underlay next hop towards `vtep`: itself when on-link, else the
  // gateway; nullopt when off-link without a gateway.
  [[nodiscard]] std::optional<dp_api::Ipv4> next_hop_for(dp_api::Ipv4 vtep) const;

  // The VTEPs that must stay resolved (the core's referenced VTEPs). Next hops
  // no VTEP needs any more are forgotten.
  void set_vteps(const std::vector<dp_api::Ipv4>& vteps);

  // An ARP packet (request or reply) from `ip` at `mac`. Returns true when
  // `ip` is a tracked next hop (its entry is then confirmed).
  bool on_arp(dp_api::Ipv4 ip, const MacAddress& mac, TimePoint now);

  // Expires old answers and returns the next hops to probe now.
  std::vector<dp_api::Ipv4> due_probes(TimePoint now);

  // The MAC frames to `vtep` should go to now, if resolved.
  [[nodiscard]] std::optional<MacAddress> resolved_mac(dp_api::Ipv4 vtep, TimePoint now) const;

  struct EntryView {
    dp_api::Ipv4 ip;
    std::optional<MacAddress> mac;
    std::string state;  // incomplete, reachable, stale (refreshing), failed
    std::vector<dp_api::Ipv4> vteps;
  };
  [[nodiscard]] std::vector<EntryView> entries(TimePoint now) const;
  // VTEPs that have no next hop at all (off-link and no gateway).
  [[nodiscard]] const std::vector<dp_api::Ipv4>& unroutable() const { return unroutable_; }

 private:
  struct Entry {
    std::optional<MacAddress> mac;
    TimePoint confirmed{};
    std::optional<TimePoint> last_probe;
    std::uint32_t probes = 0;  // since the last answer
    std::vector<dp_api::Ipv4> vteps;
  };
  [[nodiscard]] Duration refresh_window() const;
  [[nodiscard]] bool usable(const Entry& entry, TimePoint now) const;

  Params params_;
  std::map<dp_api::Ipv4, Entry> entries_;  // by next-hop IP
  std::vector<dp_api::Ipv4> unroutable_;
};

}  // namespace ferry::dataplane::app
