// What this host owns and must survive a restart: the networks it created
// and its local endpoints. Saved as one JSON file in the state directory
// (state.json), replaced atomically before a request is answered.
#pragma once

#include <map>
#include <string>

#include "common/result.h"
#include "control/agent/network.h"

namespace ferry::agent {

struct LocalEndpoint {
  std::string id;       // cluster-unique endpoint id (random hex)
  std::string name;     // operator's name, unique on this host
  std::string network;  // cluster network name
  std::string mac;      // container side
  std::string ip_cidr;  // "10.10.0.18/24"
  std::string host_ifname;
  std::string container_ifname = "eth0";
  std::string netns_path;  // the container's namespace
  unsigned mtu = 1450;
  bool operator==(const LocalEndpoint&) const = default;
};

struct LocalState {
  std::map<std::string, NetworkRecord> networks;   // created here, by name
  std::map<std::string, LocalEndpoint> endpoints;  // by name

  [[nodiscard]] std::string encode() const;
  static Result<LocalState> decode(std::string_view text);

  // state_dir/state.json; a missing file is an empty state.
  static Result<LocalState> load(const std::string& state_dir);
  [[nodiscard]] Result<void> save(const std::string& state_dir) const;
  bool operator==(const LocalState&) const = default;
};

}  // namespace ferry::agent
