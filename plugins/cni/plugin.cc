#include "plugins/cni/plugin.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include <fmt/format.h>

#include "control/agent/admin_server.h"
#include "plugins/cni/result.h"

namespace ferry::cni {

using nlohmann::json;

namespace {

int fail(std::ostream& out, const std::string& version, const CniError& e) {
  out << e.to_json(version).dump() << '\n';
  return 1;
}

struct Fd {
  int fd = -1;
  Fd() = default;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// CNI_NETNS opened for handing over: gone is "container unknown" (3).
std::optional<CniError> open_netns(const std::string& path, Fd& out) {
  out.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (out.fd >= 0) return std::nullopt;
  const int err = errno;
  if (err == ENOENT) {
    return CniError{kContainerUnknown, "container network namespace does not exist",
                    fmt::format("CNI_NETNS={}: no such file (the container is gone?)", path)};
  }
  return CniError{kIoFailure, "cannot open the container network namespace",
                  fmt::format("CNI_NETNS={}: {}", path, errno_string(err))};
}

// One request to the agent. Unreachable: `unreachable_code` (11, or 50 for
// STATUS); a refusal: the agent's code, else `refused_code`.
std::optional<CniError> call_agent(const NetConf& conf, const json& request, int fd, int unreachable_code,
                                   int refused_code, json& reply) {
  auto r = agent::admin_call(conf.socket, request, std::chrono::milliseconds(conf.timeout_ms), fd);
  if (!r) {
    return CniError{unreachable_code, "ferry-agent is not reachable",
                    fmt::format("{} (is ferry-agent running? `systemctl status ferry-agent`; the socket is "
                                "\"socket\" in the network configuration)",
                                r.error().message)};
  }
  reply = std::move(*r);
  if (reply.value("ok", false)) return std::nullopt;
  return CniError{reply.value("code", refused_code), "ferry-agent refused the request",
                  reply.value("error", std::string("no reason given"))};
}

json base_request(const char* op, const NetConf& conf, const Env& env) {
  json req{{"op", op}, {"config", conf.name}, {"net", conf.network}};
  if (!env.container_id.empty()) req["container_id"] = env.container_id;
  if (!env.ifname.empty()) req["ifname"] = env.ifname;
  if (!env.netns.empty()) req["netns"] = env.netns;
  return req;
}

int add(const Env& env, const NetConf& conf, std::ostream& out) {
  Fd ns;
  if (auto e = open_netns(env.netns, ns)) return fail(out, conf.cni_version, *e);
  json req = base_request("cni-add", conf, env);
  if (!conf.subnet.empty()) req["subnet"] = conf.subnet;
  if (!conf.subnet6.empty()) req["subnet6"] = conf.subnet6;
  if (conf.vni != 0) req["vni"] = conf.vni;
  if (!conf.ip.empty()) req["ip"] = conf.ip;
  if (!conf.ip6.empty()) req["ip6"] = conf.ip6;
  json reply;
  if (auto e = call_agent(conf, req, ns.fd, kTryAgainLater, kAgentRefused, reply)) {
    return fail(out, conf.cni_version, *e);
  }
  const Attached ep = Attached::from_agent(reply.at("endpoint"));
  out << encode_result(conf.cni_version, ep, env.netns, conf.prev_result).dump() << '\n';
  return 0;
}

int del(const Env& env, const NetConf& conf, std::ostream& out) {
  json reply;
  if (auto e = call_agent(conf, base_request("cni-del", conf, env), -1, kTryAgainLater, kAgentRefused, reply)) {
    return fail(out, conf.cni_version, *e);
  }
  return 0;
}

// prevResult names the container interface with the MAC and addresses the
// agent holds for it.
std::optional<CniError> check_prev_result(const Env& env, const NetConf& conf, const Attached& ep) {
  if (!conf.prev_result) {
    return CniError{kInvalidConfig, "invalid network configuration",
                    "CHECK needs \"prevResult\" (the result of the ADD)"};
  }
  const json& prev = *conf.prev_result;
  std::optional<std::size_t> index;
  if (prev.contains("interfaces") && prev.at("interfaces").is_array()) {
    const json& ifs = prev.at("interfaces");
    for (std::size_t i = 0; i < ifs.size(); ++i) {
      if (ifs[i].value("name", "") == env.ifname && ifs[i].value("sandbox", "") == env.netns) index = i;
    }
  }
  if (!index) {
    return CniError{kInterfaceChanged, "interface missing from prevResult",
                    fmt::format("prevResult has no interface {} in {}", env.ifname, env.netns)};
  }
  const std::string mac = prev.at("interfaces")[*index].value("mac", "");
  if (mac != ep.mac) {
    return CniError{kInterfaceChanged, "interface changed",
                    fmt::format("interface {} has MAC {} now; prevResult says {}", env.ifname, ep.mac, mac)};
  }
  for (const std::string& want : {ep.ip, ep.ip6}) {
    if (want.empty()) continue;
    bool found = false;
    for (const auto& ip : prev.value("ips", json::array())) {
      found = found || (ip.value("address", "") == want && ip.value("interface", std::size_t{0}) == *index);
    }
    if (!found) {
      return CniError{kInterfaceChanged, "address changed",
                      fmt::format("interface {} holds {}, which prevResult does not list", env.ifname, want)};
    }
  }
  return std::nullopt;
}

int check(const Env& env, const NetConf& conf, std::ostream& out) {
  Fd ns;
  if (auto e = open_netns(env.netns, ns)) return fail(out, conf.cni_version, *e);
  json reply;
  if (auto e =
          call_agent(conf, base_request("cni-check", conf, env), ns.fd, kTryAgainLater, kInterfaceChanged, reply)) {
    return fail(out, conf.cni_version, *e);
  }
  if (auto e = check_prev_result(env, conf, Attached::from_agent(reply.at("endpoint")))) {
    return fail(out, conf.cni_version, *e);
  }
  return 0;
}

int gc(const Env& env, const NetConf& conf, std::ostream& out) {
  json req = base_request("cni-gc", conf, env);
  req["valid"] = json::array();
  for (const auto& a : conf.valid_attachments) {
    req["valid"].push_back({{"container_id", a.container_id}, {"ifname", a.ifname}});
  }
  json reply;
  if (auto e = call_agent(conf, req, -1, kTryAgainLater, kAgentRefused, reply)) return fail(out, conf.cni_version, *e);
  return 0;
}

int status(const Env& env, const NetConf& conf, std::ostream& out) {
  json req = base_request("cni-status", conf, env);
  if (!conf.subnet.empty()) req["subnet"] = conf.subnet;
  json reply;
  if (auto e = call_agent(conf, req, -1, kNotAvailable, kNotAvailable, reply)) return fail(out, conf.cni_version, *e);
  return 0;
}

}  // namespace

int run(const Env& env, std::string_view stdin_text, std::ostream& out) {
  if (env.command == Command::kVersion) {
    std::string version(kNewestVersion);
    auto j = json::parse(stdin_text, nullptr, false);
    if (j.is_object() && j.contains("cniVersion") && j.at("cniVersion").is_string()) {
      version = j.at("cniVersion").get<std::string>();
    }
    out << json{{"cniVersion", version}, {"supportedVersions", kSupportedVersions}}.dump() << '\n';
    return 0;
  }
  NetConf conf;
  if (auto e = parse_config(stdin_text, env.command, conf)) return fail(out, reply_version(stdin_text), *e);
  switch (env.command) {
    case Command::kAdd:
      return add(env, conf, out);
    case Command::kDel:
      return del(env, conf, out);
    case Command::kCheck:
      return check(env, conf, out);
    case Command::kGc:
      return gc(env, conf, out);
    case Command::kStatus:
      return status(env, conf, out);
    case Command::kVersion:
      break;
  }
  return 0;
}

int run(const std::function<const char*(const char*)>& getenv, std::string_view stdin_text, std::ostream& out) {
  Env env;
  if (auto e = parse_env(getenv, env)) return fail(out, reply_version(stdin_text), *e);
  return run(env, stdin_text, out);
}

}  // namespace ferry::cni
