# shellcheck shell=bash
# Shell functions that run Ferry hosts (ferry-dataplane + ferry-agent) in the
# namespace hosts made by topo.sh. Source it; it defines functions and
# FERRY_* variables only, never exits and sets no shell options or traps.
#
#   source tests/harness/ferry-host.sh
#   ferry_hosts_init BUILD_DIR PREFIX RUNDIR   binaries, run directory, cluster key
#   ferry_dp_start H                   ferry-dataplane on PREFIX-hH's ul0 (VTEP ferry_vtep H)
#   ferry_mgmt_up H                    management link mg0 in PREFIX-hH (ferry_gossip H;
#                                      not made with the UDP uplink mode)
#   ferry_agent_start H [ARGS...]      ferry-agent in PREFIX-hH, gossiping on mg0 (made if
#                                      missing); H > 1 joins through host 1
#   ferry_dp_wait H / ferry_agent_wait H    until it answers (FERRY_WAIT_S, default 15 s, at most;
#                                      1 if not, or it died)
#   ferry_dp H ARGS...                 ferryctl dp ARGS against host H's data plane
#   ferry_ctl H ARGS...                ferryctl ARGS against host H's agent
#   ferry_hosts_stop                   SIGTERM the agents, then the data planes (SIGKILL after 10 s)
#   ferry_wait_until SECONDS CMD...    polls CMD (output discarded) every 100 ms; 1 when time is up
#   ferry_all_alive N                  hosts 1..N each see N alive gossip members
#   ferry_net_active NET H...          network NET is active on every host H
#   ferry_vtep H, ferry_gossip H       host H's VTEP (172.31.0.100+H) and gossip address
#                                      (the VTEP on ul0 in udp mode; 172.31.1.H on mg0)
#   ferry_plugin_socket H              host H's Docker plugin socket (in RUNDIR)
#   ferry_underlay_offload             on|off: the underlay TX checksum offload the
#                                      uplink mode needs (`topo.sh up ... --offload`)
#
# The hosts run as users run them (make demo, dist/config): the kernel owns
# the underlay (--uplink-mode auto: the tap uplink where the kernel has
# tunnel GSO on taps, Linux >= 6.17, the kernel-UDP uplink elsewhere) and
# vnet endpoint ports (containers keep the kernel's default offloads). The VTEP address goes on ul0 (the kernel owns
# it) and the agents gossip on it too, with no management link; bring the
# topology up with `topo.sh up ... --offload "$(ferry_underlay_offload)"`
# (on: UDP_SEGMENT needs TX checksum offload on ul0).
#
# FERRY_DP_UPLINK_MODE=udp or tap names the kernel uplink instead of auto.
# Opting out, for every host: FERRY_DP_UPLINK_MODE=dpdk runs a DPDK uplink on
# ul0 (af_xdp with hugepages, af_packet with --no-huge or by
# --uplink-driver); the agents then gossip on a management link and the
# underlay offloads are off. FERRY_DP_ARGS naming --endpoint-driver
# (af_packet, af_xdp) replaces vnet.
#
# Logs: RUNDIR/dp-hH.log, RUNDIR/agent-hH.log. Extra arguments for every host:
# FERRY_DP_ARGS (e.g. "--no-huge --endpoint-driver af_packet"), FERRY_AGENT_ARGS;
# FERRY_DP_IDLE_SLEEP_US sets the data planes' idle back-off (default 200 us).
# The data plane takes hugepages unless FERRY_DP_ARGS says --no-huge
# (scripts/setup-hugepages); vnet ports and the UDP uplink need none.
# Addresses are for topo.sh's default underlay subnet 172.31.0.0/24.
#
# Why gossip has its own link with a DPDK uplink: an af_xdp uplink takes
# every frame arriving on ul0, so the kernel on ul0 never sees gossip; on a
# NIC bound to vfio-pci the kernel does not see the NIC at all. So each host
# gets a management link, as real hosts have: mg0 (172.31.1.H/24) on a
# second bridge br1 in PREFIX-fab, used by the agents and nothing else. With
# the UDP uplink the kernel keeps ul0 and gossip shares it.

ferry_hosts_init() {
  FERRY_BUILD="$1"
  FERRY_PREFIX="$2"
  FERRY_RUNDIR="$3"
  FERRY_DP_BIN="$FERRY_BUILD/dataplane/app/ferry-dataplane"
  FERRY_AGENT_BIN="$FERRY_BUILD/control/agent/ferry-agent"
  FERRY_CTL_BIN="$FERRY_BUILD/control/ferryctl/ferryctl"
  FERRY_DP_PIDS=()
  FERRY_AGENT_PIDS=()
  local bin
  for bin in "$FERRY_DP_BIN" "$FERRY_AGENT_BIN" "$FERRY_CTL_BIN"; do
    [[ -x "$bin" ]] || { echo "ferry-host: $bin missing (build it first)" >&2; return 1; }
  done
  mkdir -p "$FERRY_RUNDIR" || return 1
  # One cluster key for every host, owner-only (the agent refuses anything else).
  (umask 077 && head -c 32 /dev/urandom | base64 >"$FERRY_RUNDIR/cluster.key") || return 1
}

ferry_vtep() { echo "172.31.0.$((100 + $1))"; }
# auto, udp and tap (the UDP uplink plus a tunnel-GSO tap) all leave ul0 to the kernel.
ferry_udp_mode() { [[ "${FERRY_DP_UPLINK_MODE:-auto}" != dpdk ]]; }
ferry_underlay_offload() { if ferry_udp_mode; then echo on; else echo off; fi; }
ferry_gossip() { if ferry_udp_mode; then ferry_vtep "$1"; else echo "172.31.1.$1"; fi; }
ferry_dp_api() { echo "ipc://$FERRY_RUNDIR/dp-h$1.sock"; }
ferry_agent_socket() { echo "$FERRY_RUNDIR/agent-h$1.sock"; }
ferry_plugin_socket() { echo "$FERRY_RUNDIR/plugin-h$1.sock"; }

ferry_dp() {
  local h="$1"
  shift
  "$FERRY_CTL_BIN" dp --api "$(ferry_dp_api "$h")" "$@"
}

ferry_ctl() {
  local h="$1"
  shift
  FERRY_AGENT_SOCKET="$(ferry_agent_socket "$h")" "$FERRY_CTL_BIN" "$@"
}

ferry_dp_start() {
  local h="$1" extra=()
  read -r -a extra <<<"${FERRY_DP_ARGS:-}"
  [[ "${FERRY_DP_ARGS:-}" == *--endpoint-driver* ]] || extra+=(--endpoint-driver vnet)
  # In auto/udp/tap mode the kernel owns the VTEP address on ul0, in dpdk mode the
  # data plane does (af_xdp, or af_packet as a fall-back); a 200 us idle
  # back-off lets several share a few cores.
  if ferry_udp_mode; then
    ip -n "$FERRY_PREFIX-h$h" addr replace "$(ferry_vtep "$h")/24" dev ul0 || return 1
    extra+=(--uplink-mode "${FERRY_DP_UPLINK_MODE:-auto}")
  fi
  ip netns exec "$FERRY_PREFIX-h$h" "$FERRY_DP_BIN" --uplink ul0 --vtep-ip "$(ferry_vtep "$h")/24" \
    --api "$(ferry_dp_api "$h")" --idle-sleep-us "${FERRY_DP_IDLE_SLEEP_US:-200}" --log-level info "${extra[@]}" \
    </dev/null >"$FERRY_RUNDIR/dp-h$h.log" 2>&1 &
  FERRY_DP_PIDS[h]=$!
}

ferry_mgmt_up() {
  local h="$1" fab="$FERRY_PREFIX-fab" host="$FERRY_PREFIX-h$1"
  ip -n "$host" link show mg0 >/dev/null 2>&1 && return 0
  if ! ip -n "$fab" link show br1 >/dev/null 2>&1; then
    ip -n "$fab" link add br1 type bridge stp_state 0 forward_delay 0 && ip -n "$fab" link set br1 up || return 1
  fi
  ip -n "$fab" link add "m$h" type veth peer name mg0 netns "$host" &&
    ip -n "$fab" link set "m$h" master br1 up &&
    ip -n "$host" link set mg0 up &&
    ip -n "$host" addr add "$(ferry_gossip "$h")/24" dev mg0
}

ferry_agent_start() {
  local h="$1"
  shift
  local extra=() seeds=()
  read -r -a extra <<<"${FERRY_AGENT_ARGS:-}"
  ferry_udp_mode || ferry_mgmt_up "$h" || return 1
  ((h == 1)) || seeds=(--seeds "$(ferry_gossip 1):7946")
  ip netns exec "$FERRY_PREFIX-h$h" "$FERRY_AGENT_BIN" --name "h$h" --advertise "$(ferry_vtep "$h")" \
    --gossip-bind "$(ferry_gossip "$h"):7946" "${seeds[@]}" --key-file "$FERRY_RUNDIR/cluster.key" \
    --dataplane-api "$(ferry_dp_api "$h")" --admin-socket "$(ferry_agent_socket "$h")" \
    --plugin-socket "$(ferry_plugin_socket "$h")" --state-dir "$FERRY_RUNDIR/state-h$h" \
    --resync-ms 200 --log-level info "${extra[@]}" "$@" \
    </dev/null >"$FERRY_RUNDIR/agent-h$h.log" 2>&1 &
  FERRY_AGENT_PIDS[h]=$!
}

# ferry_wait_for PID WHAT CMD...: polls CMD every 50 ms for up to FERRY_WAIT_S (15) s while PID lives.
ferry_wait_for() {
  local pid="$1" what="$2" limit="${FERRY_WAIT_S:-15}"
  local deadline=$((SECONDS + limit))
  shift 2
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { echo "ferry-host: $what exited" >&2; return 1; }
    ((SECONDS < deadline)) || { echo "ferry-host: $what did not answer within $limit s" >&2; return 1; }
    sleep 0.05
  done
}

ferry_dp_wait() { ferry_wait_for "${FERRY_DP_PIDS[$1]:-}" "ferry-dataplane on h$1" ferry_dp "$1" health; }
ferry_agent_wait() { ferry_wait_for "${FERRY_AGENT_PIDS[$1]:-}" "ferry-agent on h$1" ferry_ctl "$1" status; }

# ferry_stop_pids PID...: SIGTERM, up to 10 s to exit, then SIGKILL; reaps them.
ferry_stop_pids() {
  local pid deadline=$((SECONDS + 10))
  (($#)) || return 0
  kill -TERM "$@" 2>/dev/null
  for pid in "$@"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
}

# Agents first (each announces its leave), then the data planes.
ferry_hosts_stop() {
  ferry_stop_pids "${FERRY_AGENT_PIDS[@]}"
  ferry_stop_pids "${FERRY_DP_PIDS[@]}"
  FERRY_AGENT_PIDS=()
  FERRY_DP_PIDS=()
}

# ferry_wait_until SECONDS CMD...: polls CMD every 100 ms until it succeeds;
# 1 when SECONDS pass first. CMD's output is discarded.
ferry_wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

ferry_alive_members() { ferry_ctl "$1" members --json 2>/dev/null | jq '[.[] | select(.state == "alive")] | length'; }

ferry_all_alive() {
  local h
  for h in $(seq 1 "$1"); do [[ "$(ferry_alive_members "$h")" == "$1" ]] || return 1; done
}

ferry_net_active() {
  local net="$1" h
  shift
  for h in "$@"; do
    ferry_ctl "$h" networks --json 2>/dev/null | jq -e --arg n "$net" 'any(.[]; .name == $n and .state == "active")' \
      >/dev/null || return 1
  done
}
