#include "plugins/cni/config.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace ferry::cni {

using nlohmann::json;

namespace {

CniError error(int code, std::string msg, std::string details) {
  return CniError{code, std::move(msg), std::move(details)};
}

// The spec's CNI_CONTAINERID: an alphanumeric, then alphanumerics, '_', '.', '-'.
bool valid_container_id(std::string_view id) {
  if (id.empty() || std::isalnum(static_cast<unsigned char>(id.front())) == 0) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '-';
  });
}

// The kernel's interface-name rules (dev_valid_name).
bool valid_ifname(std::string_view name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isgraph(static_cast<unsigned char>(c)) != 0 && c != '/' && c != ':'; });
}

Command command_of(std::string_view text, bool& known) {
  known = true;
  if (text == "ADD") return Command::kAdd;
  if (text == "DEL") return Command::kDel;
  if (text == "CHECK") return Command::kCheck;
  if (text == "VERSION") return Command::kVersion;
  if (text == "GC") return Command::kGc;
  if (text == "STATUS") return Command::kStatus;
  known = false;
  return Command::kVersion;
}

// A string field: absent is `fallback`; another type is an error.
std::optional<CniError> string_field(const json& j, const char* key, std::string& out) {
  if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
  if (!j.at(key).is_string()) {
    return error(kInvalidConfig, "invalid network configuration",
                 fmt::format("\"{}\" must be a string, not {}", key, j.at(key).dump()));
  }
  out = j.at(key).get<std::string>();
  return std::nullopt;
}

}  // namespace

int compare_versions(std::string_view a, std::string_view b) {
  auto parts = [](std::string_view v) {
    std::vector<unsigned long> out;
    std::size_t start = 0;
    while (start <= v.size()) {
      const std::size_t dot = std::min(v.find('.', start), v.size());
      out.push_back(std::strtoul(std::string(v.substr(start, dot - start)).c_str(), nullptr, 10));
      start = dot + 1;
    }
    while (out.size() < 3) out.push_back(0);
    return out;
  };
  const auto pa = parts(a);
  const auto pb = parts(b);
  if (pa < pb) return -1;
  return pa == pb ? 0 : 1;
}

std::optional<CniError> parse_env(const std::function<const char*(const char*)>& getenv, Env& out) {
  auto var = [&](const char* name) {
    const char* v = getenv(name);
    return v == nullptr ? std::string() : std::string(v);
  };
  const std::string command = var("CNI_COMMAND");
  bool known = false;
  out.command = command_of(command, known);
  if (!known) {
    return error(kInvalidEnvironment, "invalid CNI_COMMAND",
                 command.empty()
                     ? "CNI_COMMAND is not set (ADD, DEL, CHECK, GC, STATUS or VERSION)"
                     : fmt::format("CNI_COMMAND={} is not ADD, DEL, CHECK, GC, STATUS or VERSION", command));
  }
  out.container_id = var("CNI_CONTAINERID");
  out.netns = var("CNI_NETNS");
  out.ifname = var("CNI_IFNAME");
  out.args = var("CNI_ARGS");
  out.path = var("CNI_PATH");
  const bool add_or_check = out.command == Command::kAdd || out.command == Command::kCheck;
  const bool needs_id = add_or_check || out.command == Command::kDel;
  std::vector<std::string> bad;
  if (needs_id && !valid_container_id(out.container_id)) {
    bad.push_back(out.container_id.empty()
                      ? "CNI_CONTAINERID is not set"
                      : fmt::format("CNI_CONTAINERID={} is not an alphanumeric followed by alphanumerics, '_', "
                                    "'.' or '-'",
                                    out.container_id));
  }
  if (add_or_check && out.netns.empty()) bad.emplace_back("CNI_NETNS is not set");
  if (needs_id && !valid_ifname(out.ifname)) {
    bad.push_back(out.ifname.empty()
                      ? "CNI_IFNAME is not set"
                      : fmt::format("CNI_IFNAME={} is not a valid interface name (1..15 bytes, no '/', ':' or spaces)",
                                    out.ifname));
  }
  if (!bad.empty()) {
    std::string details;
    for (const auto& b : bad) details += (details.empty() ? "" : "; ") + b;
    return error(kInvalidEnvironment, "invalid CNI environment variables", details);
  }
  return std::nullopt;
}

std::string reply_version(std::string_view text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_object() && j.contains("cniVersion") && j.at("cniVersion").is_string()) {
    auto v = j.at("cniVersion").get<std::string>();
    if (std::find(kSupportedVersions.begin(), kSupportedVersions.end(), v) != kSupportedVersions.end()) return v;
  }
  return std::string(kNewestVersion);
}

std::optional<CniError> parse_config(std::string_view text, Command command, NetConf& out) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return error(kDecodeFailure, "cannot decode the network configuration",
                 "stdin is not a JSON object (the runtime passes the network configuration there)");
  }
  if (auto e = string_field(j, "cniVersion", out.cni_version)) return e;
  if (out.cni_version.empty()) {
    return error(kInvalidConfig, "invalid network configuration", "\"cniVersion\" is missing");
  }
  if (std::find(kSupportedVersions.begin(), kSupportedVersions.end(), out.cni_version) == kSupportedVersions.end()) {
    std::string list;
    for (const auto& v : kSupportedVersions) list += (list.empty() ? "" : ", ") + v;
    return error(kIncompatibleVersion, "incompatible CNI version",
                 fmt::format("cniVersion {} is not one Ferry speaks ({})", out.cni_version, list));
  }
  const char* needs = nullptr;
  if (command == Command::kCheck && compare_versions(out.cni_version, "0.4.0") < 0) needs = "0.4.0";
  if ((command == Command::kGc || command == Command::kStatus) && compare_versions(out.cni_version, "1.1.0") < 0) {
    needs = "1.1.0";
  }
  if (needs != nullptr) {
    return error(kIncompatibleVersion, "incompatible CNI version",
                 fmt::format("{} needs cniVersion {} or later; the configuration says {}",
                             command == Command::kCheck ? "CHECK"
                             : command == Command::kGc  ? "GC"
                                                        : "STATUS",
                             needs, out.cni_version));
  }
  for (const char* key : {"name", "type", "network", "subnet", "subnet6", "socket"}) {
    std::string value;
    if (auto e = string_field(j, key, value)) return e;
    if (std::string_view(key) == "name") out.name = value;
    if (std::string_view(key) == "type") out.type = value;
    if (std::string_view(key) == "network") out.network = value;
    if (std::string_view(key) == "subnet") out.subnet = value;
    if (std::string_view(key) == "subnet6") out.subnet6 = value;
    if (std::string_view(key) == "socket" && !value.empty()) out.socket = value;
  }
  if (out.name.empty()) return error(kInvalidConfig, "invalid network configuration", "\"name\" is missing");
  if (out.network.empty()) out.network = out.name;
  if (out.network.size() > 64) {
    return error(kInvalidConfig, "invalid network configuration",
                 fmt::format("\"network\" {} is longer than 64 bytes", out.network));
  }
  if (!out.subnet6.empty() && out.subnet.empty()) {
    return error(kInvalidConfig, "invalid network configuration",
                 "\"subnet6\" needs \"subnet\" as well (a Ferry network always has an IPv4 subnet)");
  }
  if (j.contains("vni")) {
    const json& v = j.at("vni");
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() < 1 || v.get<std::uint64_t>() > 16777215) {
      return error(kInvalidConfig, "invalid network configuration",
                   fmt::format("\"vni\" must be a number in 1..16777215, not {}", v.dump()));
    }
    if (out.subnet.empty()) {
      return error(kInvalidConfig, "invalid network configuration",
                   "\"vni\" only applies when the configuration creates the network: give \"subnet\" too");
    }
    out.vni = v.get<std::uint32_t>();
  }
  if (j.contains("timeoutMs")) {
    const json& t = j.at("timeoutMs");
    if (!t.is_number_unsigned() || t.get<std::uint64_t>() < 100 || t.get<std::uint64_t>() > 600000) {
      return error(kInvalidConfig, "invalid network configuration",
                   fmt::format("\"timeoutMs\" must be a number in 100..600000, not {}", t.dump()));
    }
    out.timeout_ms = t.get<unsigned>();
  }
  if (j.contains("ipam") && !j.at("ipam").is_null() && !(j.at("ipam").is_object() && j.at("ipam").empty())) {
    return error(kUnsupportedField, "unsupported field in the network configuration",
                 fmt::format("\"ipam\": {} (Ferry assigns addresses itself, from the network's subnet: remove "
                             "\"ipam\"; a fixed address goes in runtimeConfig \"ips\")",
                             j.at("ipam").dump()));
  }
  if (j.contains("prevResult") && j.at("prevResult").is_object()) out.prev_result = j.at("prevResult");
  if (j.contains("runtimeConfig") && j.at("runtimeConfig").is_object() && j.at("runtimeConfig").contains("ips")) {
    const json& ips = j.at("runtimeConfig").at("ips");
    if (!ips.is_array()) {
      return error(kInvalidConfig, "invalid network configuration", "runtimeConfig \"ips\" must be a list");
    }
    for (const auto& ip : ips) {
      if (!ip.is_string()) {
        return error(kInvalidConfig, "invalid network configuration",
                     fmt::format("runtimeConfig \"ips\": {} is not a string", ip.dump()));
      }
      std::string text = ip.get<std::string>();
      text = text.substr(0, text.find('/'));  // the network's prefix length applies
      std::string& slot = text.find(':') != std::string::npos ? out.ip6 : out.ip;
      if (!slot.empty()) {
        return error(kInvalidConfig, "invalid network configuration",
                     fmt::format("runtimeConfig \"ips\" has two addresses of one family ({} and {})", slot, text));
      }
      slot = text;
    }
  }
  if (command == Command::kGc) {
    const char* key = "cni.dev/valid-attachments";
    if (!j.contains(key)) {
      // Without the list every attachment would look stale: refuse.
      return error(kInvalidConfig, "invalid network configuration",
                   fmt::format("GC needs \"{}\" (the attachments still in use)", key));
    }
    {
      if (!j.at(key).is_array()) {
        return error(kInvalidConfig, "invalid network configuration", fmt::format("\"{}\" must be a list", key));
      }
      for (const auto& a : j.at(key)) {
        if (!a.is_object() || !a.contains("containerID") || !a.at("containerID").is_string() || !a.contains("ifname") ||
            !a.at("ifname").is_string()) {
          return error(kInvalidConfig, "invalid network configuration",
                       fmt::format("\"{}\": {} needs string \"containerID\" and \"ifname\"", key, a.dump()));
        }
        out.valid_attachments.push_back({a.at("containerID").get<std::string>(), a.at("ifname").get<std::string>()});
      }
    }
  }
  return std::nullopt;
}

}  // namespace ferry::cni
