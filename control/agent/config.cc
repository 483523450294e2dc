#include "control/agent/config.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <optional>

#include "common/config_file.h"
#include "common/log.h"
#include "dataplane/api/addr.h"

namespace ferry::agent {

namespace {

Result<void> check_path(const std::string& value, const char* flag) {
  if (value.empty()) return make_error("{}: must not be empty", flag);
  if (value.front() != '/') return make_error("{}: '{}' must be an absolute path", flag, value);
  return ok();
}

// A duration flag given in milliseconds, bound to `field`: its value goes
// straight into the field and --help shows the field's default, as an
// integer flag would.
CLI::Option* add_ms_option(CLI::App& app, const std::string& name, std::chrono::milliseconds& field,
                           const std::string& description) {
  CLI::Option* option = app.add_option_function<std::int64_t>(
      name, [&field](const std::int64_t& ms) { field = std::chrono::milliseconds(ms); }, description);
  option->default_function([&field] { return std::to_string(field.count()); });
  return option->capture_default_str();
}

}  // namespace

Result<void> Config::validate() {
  if (node_name.empty()) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0) node_name = host;
  }
  if (node_name.empty()) return make_error("--name: missing (and the host name is empty)");
  if (node_name.size() > 64) return make_error("--name: '{}' is longer than 64 bytes", node_name);
  for (char c : node_name) {
    if (c <= ' ' || c == '/' || c == 0x7f) {
      return make_error("--name: '{}' has a space, '/' or control byte", node_name);
    }
  }
  if (advertise_address.empty()) return make_error("--advertise: missing (this host's VTEP IPv4 address)");
  auto vtep = dp_api::parse_unicast_ipv4(advertise_address);
  if (!vtep) return make_error("--advertise: {}", vtep.error().message);
  if (gossip_bind.empty()) gossip_bind = advertise_address + ":7946";
  auto bind = gossip::Address::parse(gossip_bind);
  if (!bind) return make_error("--gossip-bind: {}", bind.error().message);
  if (bind->ip == 0) return make_error("--gossip-bind: '{}' must be a concrete address, not 0.0.0.0", gossip_bind);
  bind_address = *bind;
  seed_addresses.clear();
  for (const std::string& s : seeds) {
    auto a = gossip::Address::parse(s);
    if (!a) return make_error("--seeds: {}", a.error().message);
    if (!(*a == bind_address)) seed_addresses.push_back(*a);
  }
  if (key_file.empty()) return make_error("--key-file: missing (one base64 32-byte key per line)");
  if (::access(key_file.c_str(), R_OK) != 0) return make_error("--key-file: cannot read '{}'", key_file);
  if (dataplane_api.rfind("ipc://", 0) != 0 || dataplane_api.size() <= 6) {
    return make_error("--dataplane-api: '{}' must be ipc://PATH", dataplane_api);
  }
  if (!plugin_socket.empty()) {
    if (auto r = check_path(plugin_socket, "--plugin-socket"); !r) return r;
    if (plugin_socket.size() >= 108) {
      return make_error("--plugin-socket: '{}' is too long for a unix socket", plugin_socket);
    }
  }
  if (auto r = check_path(admin_socket, "--admin-socket"); !r) return r;
  if (admin_socket.size() >= 108) return make_error("--admin-socket: '{}' is too long for a unix socket", admin_socket);
  if (auto r = check_path(state_dir, "--state-dir"); !r) return r;
  auto metrics = gossip::Address::parse(metrics_address);
  if (!metrics) return make_error("--metrics: {}", metrics.error().message);
  metrics_bind = *metrics;
  if (auto lvl = log::parse_level(log_level); !lvl) return make_error("--log-level: {}", lvl.error().message);
  if (ipam_timeout.count() < 100) return make_error("--ipam-timeout-ms: {} is below 100", ipam_timeout.count());
  if (ipam_timeout >= plugin_timeout) {
    return make_error("--ipam-timeout-ms: {} must be below --plugin-timeout-ms ({})", ipam_timeout.count(),
                      plugin_timeout.count());
  }
  if (ipam_reclaim.count() < 0 || ipam_fence.count() < 0) {
    return make_error("--ipam-reclaim-ms/--ipam-fence-ms: must not be negative");
  }
  if (ipam_reclaim.count() > 0 && (ipam_fence.count() == 0 || ipam_fence >= ipam_reclaim)) {
    return make_error("--ipam-fence-ms: {} must be above 0 and below --ipam-reclaim-ms ({})", ipam_fence.count(),
                      ipam_reclaim.count());
  }
  if (endpoint_mtu != 0 && (endpoint_mtu < 1280 || endpoint_mtu > 9166)) {
    return make_error("--endpoint-mtu: {} is outside 1280..9166 (0: the data plane's)", endpoint_mtu);
  }
  if (docker_claim_timeout.count() < 0) return make_error("--docker-claim-ms: must not be negative");
  if (docker_orphan_timeout.count() < 0) return make_error("--docker-orphan-ms: must not be negative");
  if (docker_unseen_orphan_grace.count() < 0) return make_error("--docker-unseen-orphan-ms: must not be negative");
  if (client_idle_timeout.count() < 100) {
    return make_error("--client-idle-ms: {} is below 100", client_idle_timeout.count());
  }
  if (client_reply_timeout.count() < 10 || client_reply_timeout > std::chrono::seconds(10)) {
    return make_error("--client-reply-ms: {} is outside 10..10000", client_reply_timeout.count());
  }
  if (resync_interval.count() < 10) return make_error("--resync-ms: {} is below 10", resync_interval.count());
  if (dataplane_timeout.count() < 10) {
    return make_error("--dataplane-timeout-ms: {} is below 10", dataplane_timeout.count());
  }
  if (owner_grace.count() < 0) return make_error("--owner-grace-ms: must not be negative");
  if (audit_interval.count() != 0 && audit_interval.count() < 100) {
    return make_error("--audit-ms: {} is below 100 (0: no audit)", audit_interval.count());
  }
  if (dataplane_hold.count() < 0) return make_error("--dataplane-hold-ms: must not be negative");
  if (vtep_poll.count() < 10) return make_error("--vtep-poll-ms: {} is below 10", vtep_poll.count());
  if (vtep_alive_intervals < 1 || vtep_alive_intervals > 100) {
    return make_error("--vtep-alive-intervals: {} is outside 1..100", vtep_alive_intervals);
  }
  if (vtep_keep.count() < -1) return make_error("--vtep-keep-ms: {} (-1: the IPAM reclaim period)", vtep_keep.count());
  if (push_pull.count() < 100) return make_error("--push-pull-ms: {} is below 100", push_pull.count());
  if (plugin_timeout.count() < 10) return make_error("--plugin-timeout-ms: {} is below 10", plugin_timeout.count());
  if (rejoin_interval.count() < 100) return make_error("--rejoin-ms: {} is below 100", rejoin_interval.count());
  if (network_sync_interval.count() < 100) {
    return make_error("--network-sync-ms: {} is below 100", network_sync_interval.count());
  }
  if (leave_timeout.count() < 0) return make_error("--leave-timeout-ms: must not be negative");
  if (hand_over_timeout.count() < 0) return make_error("--hand-over-timeout-ms: must not be negative");
  if (dataplane_poll_interval.count() < 1 || dataplane_poll_interval > dataplane_timeout) {
    return make_error("--dataplane-poll-ms: {} must be 1 up to --dataplane-timeout-ms ({})",
                      dataplane_poll_interval.count(), dataplane_timeout.count());
  }
  return ok();
}

namespace {

// parse_config without naming the --config file's line in errors.
Result<Config> parse_config_and_file(std::span<char* const> args, ParseOutcome& outcome,
                                     std::optional<config_file::File>& file) {
  Config c;
  CLI::App app{"ferry-agent: the Ferry host agent (gossip, networks, endpoints, data-plane reconciliation)"};
  app.name("ferry-agent");
  app.add_option("--name", c.node_name, "node name, unique in the cluster (default: host name)");
  app.add_option("--advertise", c.advertise_address, "this host's VTEP IPv4 address (ferry-dataplane --vtep-ip)");
  app.add_option("--gossip-bind", c.gossip_bind, "gossip UDP/TCP address IP:PORT (default ADVERTISE:7946)");
  app.add_option("--seeds", c.seeds, "members to join, IP:PORT")->delimiter(',');
  app.add_option("--key-file", c.key_file, "cluster key file (base64 32-byte keys, one per line)");
  app.add_option("--dataplane-api", c.dataplane_api, "ferry-dataplane API endpoint")->capture_default_str();
  app.add_option("--plugin-socket", c.plugin_socket, "Docker plugin socket (empty: not served)")->capture_default_str();
  add_ms_option(app, "--plugin-timeout-ms", c.plugin_timeout, "Docker call wait for the agent loop, ms");
  app.add_option("--admin-socket", c.admin_socket, "admin API unix socket")->capture_default_str();
  app.add_option("--state-dir", c.state_dir, "state directory")->capture_default_str();
  app.add_option("--metrics", c.metrics_address, "metrics HTTP address IP:PORT")->capture_default_str();
  app.add_option("--log-level", c.log_level, "trace|debug|info|warn|error|off")->capture_default_str();
  app.add_option("--endpoint-mtu", c.endpoint_mtu, "MTU of the veths made here (0: the data plane's endpoint MTU)")
      ->capture_default_str();
  add_ms_option(app, "--ipam-timeout-ms", c.ipam_timeout,
                "allocation waiting for another host's space fails after, ms");
  add_ms_option(app, "--ipam-reclaim-ms", c.ipam_reclaim,
                "a dead host's address space is reclaimed after, ms (0: never)");
  add_ms_option(app, "--ipam-fence-ms", c.ipam_fence, "no majority in sight this long: stop allocating, ms");
  add_ms_option(app, "--docker-claim-ms", c.docker_claim_timeout,
                "a Docker address reservation no endpoint uses is released after, ms");
  add_ms_option(app, "--docker-orphan-ms", c.docker_orphan_timeout,
                "a Docker endpoint out of any container this long (no Leave came) is removed, ms (0: never)");
  add_ms_option(app, "--docker-unseen-orphan-ms", c.docker_unseen_orphan_grace,
                "a Docker endpoint never seen in a container since start waits at least this long before, ms");
  app.add_option("--ipam-hand-over", c.ipam_hand_over,
                 "give free address space to other hosts on exit with no endpoints")
      ->capture_default_str();
  add_ms_option(app, "--resync-ms", c.resync_interval, "data-plane health check period, ms");
  add_ms_option(app, "--dataplane-timeout-ms", c.dataplane_timeout, "data-plane API call timeout, ms");
  add_ms_option(app, "--owner-grace-ms", c.owner_grace, "a dead host's entries are kept this long, ms");
  add_ms_option(app, "--push-pull-ms", c.push_pull, "gossip full-state sync period, ms");
  add_ms_option(app, "--rejoin-ms", c.rejoin_interval, "alone with seeds configured: join them again this often, ms");
  add_ms_option(app, "--network-sync-ms", c.network_sync_interval, "per-network gossip table sync period, ms");
  add_ms_option(app, "--leave-timeout-ms", c.leave_timeout,
                "on exit, wait at most this long for the leave to spread, ms");
  add_ms_option(app, "--hand-over-timeout-ms", c.hand_over_timeout,
                "on exit, wait at most this long for given address space to be confirmed, ms");
  add_ms_option(app, "--dataplane-poll-ms", c.dataplane_poll_interval,
                "a data-plane reply is looked for this often, ms");
  add_ms_option(app, "--client-idle-ms", c.client_idle_timeout,
                "admin/metrics connection without a request closed after, ms");
  add_ms_option(app, "--client-reply-ms", c.client_reply_timeout,
                "admin/metrics client not reading its reply given up after, ms");
  add_ms_option(app, "--audit-ms", c.audit_interval, "data-plane drift audit period, ms (0: none)");
  add_ms_option(app, "--dataplane-hold-ms", c.dataplane_hold,
                "after start, remove no data-plane entry until gossip synced, at most ms");
  add_ms_option(app, "--vtep-poll-ms", c.vtep_poll, "the data plane's VTEP echo status is read this often, ms");
  app.add_option("--vtep-alive-intervals", c.vtep_alive_intervals,
                 "a remote VTEP answers while its last echo reply is at most this many echo intervals old")
      ->capture_default_str();
  add_ms_option(app, "--vtep-keep-ms", c.vtep_keep,
                "a dead host whose data plane answers keeps its entries at most this long, ms (-1: "
                "--ipam-reclaim-ms; 0: never)");
  std::string config_path;
  app.add_option("--config", config_path, "TOML file of these options (keys: long names); flags override it");
  std::vector<std::string> words;
  for (std::size_t i = 1; i < args.size(); ++i) words.emplace_back(args[i]);
  auto merged = config_file::apply(app, words, file);
  if (!merged) return merged.error();
  std::vector<std::string> reversed(merged->rbegin(), merged->rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    outcome.help_requested = true;
    outcome.help = app.help();
    return make_error("help requested");
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    for (auto& ch : what) {
      if (ch == '\n') ch = ' ';
    }
    return make_error("{}", what);
  }
  if (auto r = c.validate(); !r) return r.error();
  return c;
}

}  // namespace

Result<Config> parse_config(std::span<char* const> args, ParseOutcome& outcome) {
  std::optional<config_file::File> file;
  auto config = parse_config_and_file(args, outcome, file);
  if (!config && file) return file->locate(config.error());
  return config;
}

}  // namespace ferry::agent
