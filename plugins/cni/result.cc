#include "plugins/cni/result.h"

#include "plugins/cni/config.h"

namespace ferry::cni {

using nlohmann::json;

Attached Attached::from_agent(const json& e) {
  Attached a;
  a.container_ifname = e.value("container_ifname", "eth0");
  a.mac = e.value("mac", "");
  a.mtu = e.value("mtu", 0U);
  a.ip = e.value("ip", "");
  a.gateway = e.value("gateway", "");
  a.ip6 = e.value("ip6", "");
  a.gateway6 = e.value("gateway6", "");
  a.host_ifname = e.value("host_ifname", "");
  a.host_mac = e.value("host_mac", "");
  return a;
}

json empty_result(const std::string& cni_version) {
  return json{{"cniVersion", cni_version},
              {"interfaces", json::array()},
              {"ips", json::array()},
              {"routes", json::array()},
              {"dns", json::object()}};
}

json encode_result(const std::string& cni_version, const Attached& ep, const std::string& sandbox,
                   const std::optional<json>& prev_result) {
  const bool with_mtu = compare_versions(cni_version, "1.1.0") >= 0;
  const bool with_ip_version = compare_versions(cni_version, "1.0.0") < 0;
  json out = empty_result(cni_version);
  if (prev_result) {
    for (const char* key : {"interfaces", "ips", "routes"}) {
      if (prev_result->contains(key) && prev_result->at(key).is_array()) out[key] = prev_result->at(key);
    }
    if (prev_result->contains("dns") && prev_result->at("dns").is_object()) out["dns"] = prev_result->at("dns");
  }
  json host{{"name", ep.host_ifname}};
  if (!ep.host_mac.empty()) host["mac"] = ep.host_mac;
  if (with_mtu && ep.mtu != 0) host["mtu"] = ep.mtu;
  json container{{"name", ep.container_ifname}, {"mac", ep.mac}, {"sandbox", sandbox}};
  if (with_mtu && ep.mtu != 0) container["mtu"] = ep.mtu;
  out["interfaces"].push_back(host);
  const std::size_t index = out["interfaces"].size();
  out["interfaces"].push_back(container);
  auto add_ip = [&](const std::string& address, const std::string& gateway, bool v6) {
    if (address.empty()) return;
    json ip{{"address", address}, {"interface", index}};
    if (with_ip_version) ip["version"] = v6 ? "6" : "4";
    const bool gateway_is_self = address.substr(0, address.find('/')) == gateway;
    if (!gateway.empty() && !gateway_is_self) {
      ip["gateway"] = gateway;
      out["routes"].push_back({{"dst", v6 ? "::/0" : "0.0.0.0/0"}, {"gw", gateway}});
    }
    out["ips"].push_back(ip);
  };
  add_ip(ep.ip, ep.gateway, false);
  add_ip(ep.ip6, ep.gateway6, true);
  return out;
}

}  // namespace ferry::cni
