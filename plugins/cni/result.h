// The ADD (and CHECK/DEL pass-through) result in the version the network
// configuration asks for (spec "ADD Success"):
//  - interfaces: the host side (no sandbox), then the container side with
//    sandbox = CNI_NETNS; `mtu` only from 1.1.0 on;
//  - ips: the container's addresses with their gateway and the container
//    interface's index; 0.3.x and 0.4.0 also need "version": "4" or "6";
//  - routes: a default route per family through the gateway.
// With a prevResult (another interface plugin ran first) its interfaces,
// addresses and routes come first and Ferry's indexes follow them.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace ferry::cni {

// What the agent made (its cni-add reply's "endpoint").
struct Attached {
  std::string container_ifname;
  std::string mac;
  unsigned mtu = 0;
  std::string ip;  // with its prefix length: 10.20.0.5/24
  std::string gateway;
  std::string ip6;  // "" when the network has no IPv6 subnet
  std::string gateway6;
  std::string host_ifname;
  std::string host_mac;  // "" when unknown (left out)

  static Attached from_agent(const nlohmann::json& endpoint);
};

nlohmann::json encode_result(const std::string& cni_version, const Attached& ep, const std::string& sandbox,
                             const std::optional<nlohmann::json>& prev_result = std::nullopt);

// An empty result in `cni_version` (a DEL or CHECK without prevResult to pass on).
nlohmann::json empty_result(const std::string& cni_version);

}  // namespace ferry::cni
