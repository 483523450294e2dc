#include "control/agent/cluster_mtu.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

namespace ferry::agent {

std::optional<unsigned> parse_published_mtu(std::string_view value) {
  unsigned mtu = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), mtu);
  if (ec != std::errc{} || end != value.data() + value.size()) return std::nullopt;
  if (mtu < kMinEndpointMtu || mtu > kMaxEndpointMtu) return std::nullopt;
  return mtu;
}

Result<void> ClusterMtu::publish(unsigned local) {
  if (local == 0) return ok();
  if (local != published_) {
    if (auto r = tables_.put("", kMtuTable, self_, std::to_string(local)); !r) {
      return r.error().wrap("publish the endpoint MTU");
    }
    published_ = local;
  }
  warn_on_mismatch(local);
  return ok();
}

std::map<std::string, unsigned> ClusterMtu::hosts() const {
  std::map<std::string, unsigned> out;
  tables_.store().for_each_in("", [&](const gossip::TableKey& key, const gossip::StoredEntry& e) {
    if (key.table != kMtuTable || !e.live()) return;
    if (auto mtu = parse_published_mtu(e.version.value)) out[key.key] = *mtu;
  });
  return out;
}

unsigned ClusterMtu::for_network(const std::string& network, unsigned local) const {
  unsigned mtu = local;
  for (const auto& member : tables_.network_members(network)) {
    if (member == self_) continue;
    auto value = tables_.get("", kMtuTable, member);
    if (!value) continue;
    if (auto m = parse_published_mtu(*value)) mtu = std::min(mtu, *m);
  }
  return mtu;
}

void ClusterMtu::warn_on_mismatch(unsigned local) {
  std::string others;
  for (const auto& [host, mtu] : hosts()) {
    if (host == self_ || mtu == local) continue;
    others += fmt::format("{}{} {}", others.empty() ? "" : ", ", host, mtu);
  }
  if (others == warned_) return;
  warned_ = others;
  if (others.empty()) {
    spdlog::info("every host publishes endpoint MTU {}", local);
    return;
  }
  spdlog::warn(
      "endpoint MTU differs between hosts: this host {}, {}; new endpoints get the smallest of their network's hosts, "
      "and frames too big for an underlay are answered with ICMP Fragmentation Needed",
      local, others);
}

}  // namespace ferry::agent
