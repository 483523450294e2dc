#include "control/agent/local_state.h"

#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "control/agent/state_file.h"

namespace ferry::agent {

namespace {

std::string path_in(const std::string& dir) { return dir + "/state.json"; }

// The file's text forms: an error names the field and the text.
template <class T>
T must(Result<T> value, const char* field) {
  if (!value) throw std::invalid_argument(fmt::format("{}: {}", field, value.error().message));
  return std::move(*value);
}

nlohmann::json address_list(const std::set<IpAddress>& addresses) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& a : addresses) out.push_back(a.to_string());
  return out;
}

}  // namespace

std::string LocalState::encode() const {
  nlohmann::json j{
      {"version", kStateVersion}, {"networks", nlohmann::json::array()}, {"endpoints", nlohmann::json::array()}};
  for (const auto& [name, n] : networks) j["networks"].push_back(nlohmann::json::parse(n.encode()));
  for (const auto& [name, e] : endpoints) {
    j["endpoints"].push_back({{"id", e.id},
                              {"name", e.name},
                              {"network", e.network},
                              {"mac", e.mac.to_string()},
                              {"ip", e.ip.to_string()},
                              {"ip6", e.ip6 ? e.ip6->to_string() : std::string()},
                              {"host_ifname", e.host_ifname},
                              {"container_ifname", e.container_ifname},
                              {"netns", e.netns_path},
                              {"mtu", e.mtu},
                              {"container_offloads", e.container_offloads},
                              {"docker", e.docker},
                              {"docker_network", e.docker_network},
                              {"joined", e.joined},
                              {"owner", e.owner}});
  }
  j["docker_networks"] = nlohmann::json::array();
  for (const auto& [id, d] : docker_networks) {
    j["docker_networks"].push_back(
        {{"id", d.id}, {"network", d.network}, {"pool_id", d.pool_id}, {"pool6_id", d.pool6_id}});
  }
  j["pools"] = nlohmann::json::array();
  for (const auto& [id, p] : pools) {
    nlohmann::json unclaimed = nlohmann::json::object();
    for (const auto& [a, ms] : p.unclaimed) unclaimed[a.to_string()] = ms;
    j["pools"].push_back({{"id", p.id},
                          {"subnet", p.subnet.to_string()},
                          {"refs", p.refs},
                          {"addresses", address_list(p.addresses)},
                          {"unclaimed", unclaimed},
                          {"serial", p.serial}});
  }
  return j.dump(2) + "\n";
}

Result<LocalState> LocalState::decode(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error("state file is not a JSON object");
  LocalState s;
  try {
    const int version = j.at("version").get<int>();
    if (version < 1 || version > kStateVersion) {
      return make_error("state file version {} is not one this agent reads (1..{}): written by a newer ferry-agent?",
                        version, kStateVersion);
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
      ep.mac = must(parse_mac(e.at("mac").get<std::string>()), "mac");
      ep.ip = must(parse_prefix(e.at("ip").get<std::string>()), "ip");
      if (const std::string ip6 = e.value("ip6", std::string()); !ip6.empty()) {
        ep.ip6 = must(parse_prefix(ip6), "ip6");
      }
      ep.host_ifname = e.at("host_ifname").get<std::string>();
      ep.container_ifname = e.at("container_ifname").get<std::string>();
      ep.netns_path = e.at("netns").get<std::string>();
      ep.mtu = e.at("mtu").get<unsigned>();
      ep.container_offloads = e.value("container_offloads", false);
      ep.docker = e.value("docker", false);
      ep.docker_network = e.value("docker_network", std::string());
      ep.joined = e.value("joined", true);
      ep.owner = e.value("owner", std::string());
      s.endpoints[ep.name] = ep;
    }
    if (j.contains("docker_networks")) {
      for (const auto& d : j.at("docker_networks")) {
        DockerNetwork dn{d.at("id").get<std::string>(), d.at("network").get<std::string>(),
                         d.at("pool_id").get<std::string>(), d.value("pool6_id", std::string())};
        s.docker_networks[dn.id] = dn;
      }
    }
    if (j.contains("pools")) {
      for (const auto& p : j.at("pools")) {
        IpamPool pool;
        pool.id = p.at("id").get<std::string>();
        pool.subnet = must(parse_prefix(p.at("subnet").get<std::string>()), "pool subnet");
        pool.refs = p.at("refs").get<std::uint32_t>();
        for (const auto& a : p.at("addresses")) {
          pool.addresses.insert(must(parse_ip(a.get<std::string>()), "pool address"));
        }
        if (p.contains("unclaimed")) {
          for (const auto& [a, ms] : p.at("unclaimed").items()) {
            pool.unclaimed[must(parse_ip(a), "pool reservation")] = ms.get<std::int64_t>();
          }
        }
        pool.serial = p.value("serial", false);
        s.pools[pool.id] = pool;
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return make_error("state file: {}", e.what());
  } catch (const std::invalid_argument& e) {
    return make_error("state file: {}", e.what());
  }
  return s;
}

const LocalEndpoint* LocalState::find_endpoint_id(const std::string& id) const {
  for (const auto& [name, ep] : endpoints) {
    if (ep.id == id) return &ep;
  }
  return nullptr;
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
