// What the runtime hands the CNI plugin `ferry`: the CNI_* environment and
// the network configuration on stdin (docs/cni.md lists every field).
//
//   {"cniVersion": "1.0.0", "name": "blue", "type": "ferry",
//    "network": "blue", "subnet": "10.20.0.0/24", "socket": "/run/ferry/agent.sock"}
//
// Only parsing and checking here: no I/O, so every refusal is unit-tested.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "plugins/cni/error.h"

namespace ferry::cni {

// The spec versions this plugin speaks, oldest first (VERSION lists them).
// 0.1.0 and 0.2.0 results have another shape and are refused.
inline const std::vector<std::string> kSupportedVersions{"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
inline constexpr std::string_view kNewestVersion = "1.1.0";

// -1, 0, 1 as `a` is older, the same, newer than `b` ("0.3.1" < "1.0.0").
int compare_versions(std::string_view a, std::string_view b);

enum class Command : std::uint8_t { kAdd, kDel, kCheck, kVersion, kGc, kStatus };

struct Env {
  Command command = Command::kVersion;
  std::string container_id;
  std::string netns;
  std::string ifname;
  std::string args;  // CNI_ARGS (read, not used)
  std::string path;  // CNI_PATH
};

// CNI_COMMAND and what it requires: ADD and CHECK need CNI_CONTAINERID,
// CNI_NETNS and CNI_IFNAME, DEL the first and the last. The error names the
// variables that are missing or malformed (code 4).
std::optional<CniError> parse_env(const std::function<const char*(const char*)>& getenv, Env& out);

struct Attachment {
  std::string container_id;
  std::string ifname;
};

struct NetConf {
  std::string cni_version;
  std::string name;     // the configuration's name: owner of its attachments
  std::string type;     // "ferry"
  std::string network;  // the Ferry network; default: name
  std::string subnet;   // create the network with these when it does not exist
  std::string subnet6;
  std::uint32_t vni = 0;
  std::string socket = "/run/ferry/agent.sock";  // the agent's admin socket
  unsigned timeout_ms = 30000;                   // for the agent's answer
  std::optional<nlohmann::json> prev_result;
  // runtimeConfig "ips" (the "ips" capability: podman run --ip): at most one
  // per family, without or with a prefix length.
  std::string ip;
  std::string ip6;
  std::vector<Attachment> valid_attachments;  // GC: cni.dev/valid-attachments
};

// Parses and checks the configuration for `command`: JSON (code 6), a
// version this plugin speaks that knows the command (1: CHECK needs 0.4.0,
// GC and STATUS 1.1.0), required fields and their forms (7), fields for
// other plugins that Ferry cannot honour ("ipam": 2).
std::optional<CniError> parse_config(std::string_view text, Command command, NetConf& out);

// The version a reply is written in when the configuration could not be
// read: its cniVersion if that much parses, else the newest.
std::string reply_version(std::string_view text);

}  // namespace ferry::cni
