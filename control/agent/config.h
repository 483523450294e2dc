// ferry-agent's settings: one struct, filled from flags at the entry point
// (parse_config), checked by validate(). Every field documents its default.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "control/gossip/address.h"

namespace ferry::agent {

struct Config {
  std::string node_name;           // --name; default: the host name. Unique in the cluster.
  std::string advertise_address;   // --advertise: this host's VTEP IPv4 (ferry-dataplane's --vtep-ip, no length)
  std::string gossip_bind;         // --gossip-bind IP:PORT; default ADVERTISE:7946
  std::vector<std::string> seeds;  // --seeds IP:PORT,...: members to join (none: first node)
  std::string key_file;            // --key-file: cluster keys, one base64 32-byte key per line (required)
  std::string dataplane_api = "ipc:///run/ferry/dataplane.sock";  // --dataplane-api
  std::string plugin_socket = "/run/ferry/docker-plugin.sock";    // --plugin-socket (Docker; "" disables it)
  std::string admin_socket = "/run/ferry/agent.sock";             // --admin-socket (mode 0600)
  std::string state_dir = "/var/lib/ferry";                       // --state-dir
  std::string metrics_address = "127.0.0.1:9475";                 // --metrics (Prometheus text over HTTP)
  std::string log_level = "info";                                 // --log-level
  // --endpoint-mtu: the MTU of the endpoints (veths) this agent makes. 0
  // (default): the data plane's endpoint_mtu (its underlay MTU - 50, from
  // its health call), or 1450 while it has not answered yet.
  unsigned endpoint_mtu = 0;
  // Distributed IPAM (control/ipam, docs/ipam.md); the other settings keep
  // ipam::Config's defaults.
  // --ipam-timeout-ms: an allocation waiting for space from another host
  // fails after this long (below ferryctl's 10 s wait and --plugin-timeout-ms).
  std::chrono::milliseconds ipam_timeout{4000};
  // --ipam-reclaim-ms: a host dead this long (seen by a majority) loses its
  // address space to an heir; 0 never. --ipam-fence-ms: a host without a
  // majority in sight this long stops allocating; must be below the reclaim.
  std::chrono::milliseconds ipam_reclaim{30 * 60 * 1000};
  std::chrono::milliseconds ipam_fence{20 * 60 * 1000};
  // --docker-claim-ms: an address Docker reserved (IpamDriver.RequestAddress)
  // that no CreateEndpoint (nor a network's aux addresses) used within this
  // long is released: Docker never got the reply (it timed out, or dockerd
  // died in between) and would never release it. 0: never.
  std::chrono::milliseconds docker_claim_timeout{10 * 60 * 1000};
  // --docker-orphan-ms: a joined Docker endpoint whose interface has been
  // out of any container this long (both sides of its pair gone, or its
  // container side back in the host's namespace after the agent saw it in
  // its container: Docker removed the sandbox without a Leave, e.g. while
  // this agent was down) is withdrawn, forgotten and its addresses
  // released. One never seen in a container since the agent started (it
  // may be between Join and Docker's move) waits
  // --docker-unseen-orphan-ms at least. 0: never.
  std::chrono::milliseconds docker_orphan_timeout{10 * 1000};
  std::chrono::milliseconds docker_unseen_orphan_grace{5 * 60 * 1000};
  // --ipam-hand-over: on a clean exit (SIGTERM) with no endpoint left here,
  // give this host's free address blocks to the other hosts, so a host
  // taken out of service does not hold space until --ipam-reclaim-ms.
  bool ipam_hand_over = true;
  std::chrono::milliseconds resync_interval{1000};    // --resync-ms: data-plane health check period
  std::chrono::milliseconds dataplane_timeout{1000};  // --dataplane-timeout-ms: one API call
  std::chrono::milliseconds owner_grace{10'000};      // --owner-grace-ms: dead host's entries kept this long
  // --audit-ms: the drift audit's period (the data plane's dump compared with
  // what the agent applied; differences repaired, counted, logged). 0: none.
  std::chrono::milliseconds audit_interval{30'000};
  // --dataplane-hold-ms: after the agent starts, the data plane keeps every
  // entry (the agent adds and replaces, removes nothing) until the gossip
  // view has synced with a live member, or this long at most.
  std::chrono::milliseconds dataplane_hold{10'000};
  // VTEP liveness (docs/reliability.md): a dead host whose data plane still
  // answers the VTEP echo keeps its endpoints here. --vtep-poll-ms: how
  // often the data plane's vtep_status is read. --vtep-alive-intervals: a
  // VTEP answers while its last echo reply is at most this many echo
  // intervals old. --vtep-keep-ms: the longest a dead host's entries are kept
  // that way (-1: --ipam-reclaim-ms, or 30 min when reclaim is off; 0: never).
  std::chrono::milliseconds vtep_poll{1000};
  std::uint32_t vtep_alive_intervals = 3;
  std::chrono::milliseconds vtep_keep{-1};
  std::chrono::milliseconds push_pull{30'000};  // --push-pull-ms: gossip full-state exchange period
  // --plugin-timeout-ms: a Docker call waits this long for the agent's loop
  // to take it; past that it fails with {"Err"} and changes nothing.
  std::chrono::milliseconds plugin_timeout{5000};
  // --rejoin-ms: alone in the cluster with seeds configured (they were down
  // at start, or this host was cut off), join them again this often.
  std::chrono::milliseconds rejoin_interval{5000};
  // --network-sync-ms: the period of each cluster network's full table
  // exchange with one other member (gossip::TablesConfig).
  std::chrono::milliseconds network_sync_interval{5000};
  // --leave-timeout-ms: on exit, wait at most this long for the leave to
  // reach the other members.
  std::chrono::milliseconds leave_timeout{3000};
  // --hand-over-timeout-ms: on exit with --ipam-hand-over, wait at most this
  // long for the hosts given free address space to confirm.
  std::chrono::milliseconds hand_over_timeout{2000};
  // --dataplane-poll-ms: while a data-plane call is out (health, stats),
  // its reply is looked for this often; at most --dataplane-timeout-ms.
  std::chrono::milliseconds dataplane_poll_interval{10};
  // --client-idle-ms: an admin or metrics connection without a complete
  // request is closed after this long. --client-reply-ms: a client that does
  // not read its reply within this long is cut and counted (the reply is
  // written as its socket takes it; the loop never waits on it).
  std::chrono::milliseconds client_idle_timeout{5000};
  std::chrono::milliseconds client_reply_timeout{1000};

  // Fills in derived defaults (gossip_bind) and checks every field. The error
  // names the flag and what is wrong, on one line.
  [[nodiscard]] Result<void> validate();

  // Derived, valid after validate().
  gossip::Address bind_address;
  std::vector<gossip::Address> seed_addresses;
  gossip::Address metrics_bind;
};

// Parses argv (CLI11) into a Config and validates it. `--help` gives an
// error whose message is the help text and `help_requested` set.
struct ParseOutcome {
  bool help_requested = false;
  std::string help;
};
Result<Config> parse_config(std::span<char* const> args, ParseOutcome& outcome);

}  // namespace ferry::agent
