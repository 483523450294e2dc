#include "control/agent/local_state.h"

#include <nlohmann/json.hpp>

#include "control/agent/state_file.h"

namespace ferry::agent {

namespace {
constexpr int kStateVersion = 1;
std::string path_in(const std::string& dir) { return dir + "/state.json"; }
}  // namespace

std::string LocalState::encode() const {
  nlohmann::json j{
      {"version", kStateVersion}, {"networks", nlohmann::json::array()}, {"endpoints", nlohmann::json::array()}};
  for (const auto& [name, n] : networks) j["networks"].push_back(nlohmann::json::parse(n.encode()));
  for (const auto& [name, e] : endpoints) {
    j["endpoints"].push_back({{"id", e.id},
                              {"name", e.name},
                              {"network", e.network},
                              {"mac", e.mac},
                              {"ip", e.ip_cidr},
                              {"host_ifname", e.host_ifname},
                              {"container_ifname", e.container_ifname},
                              {"netns", e.netns_path},
                              {"mtu", e.mtu}});
  }
  return j.dump(2) + "\n";
}

Result<LocalState> LocalState::decode(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error("state file is not a JSON object");
  LocalState s;
  try {
    if (j.at("version").get<int>() != kStateVersion) {
      return make_error("state file version {} is not {}", j.at("version").get<int>(), kStateVersion);
    }
    for (const auto& n : j.at("networks")) {
      auto r = NetworkRecord::decode(n.dump());
      if (!r) return r.error().wrap("state file network");
      s.networks[r->name] = *r;
    }
    for (const auto& e : j.at("endpoints")) {
      LocalEndpoint ep;
      ep.id = e.at("id").get<std::string>();
      ep.name = e.at("name").get<std::string>();
      ep.network = e.at("network").get<std::string>();
      ep.mac = e.at("mac").get<std::string>();
      ep.ip_cidr = e.at("ip").get<std::string>();
      ep.host_ifname = e.at("host_ifname").get<std::string>();
      ep.container_ifname = e.at("container_ifname").get<std::string>();
      ep.netns_path = e.at("netns").get<std::string>();
      ep.mtu = e.at("mtu").get<unsigned>();
      s.endpoints[ep.name] = ep;
    }
  } catch (const nlohmann::json::exception& e) {
    return make_error("state file: {}", e.what());
  }
  return s;
}

Result<LocalState> LocalState::load(const std::string& state_dir) {
  auto content = read_file(path_in(state_dir));
  if (!content) return content.error();
  if (!*content) return LocalState{};
  auto s = decode(**content);
  if (!s) return s.error().wrap(path_in(state_dir));
  return s;
}

Result<void> LocalState::save(const std::string& state_dir) const {
  return write_file_atomic(path_in(state_dir), encode());
}

}  // namespace ferry::agent
