#!/usr/bin/env bash
# Multi-host test topology from network namespaces (see docs/netns.md).
#
#   PREFIX-fab   the "fabric": a Linux bridge br0 = the underlay L2 segment
#   PREFIX-hN    host N: ul0 (a veth whose peer pN is a port of br0) with
#                172.31.0.N/24 (--subnet), MTU 1500 (--mtu), TX checksum
#                offload off (--offload) so userspace readers of the peer see
#                complete checksums
#   PREFIX-NAME  a container namespace (lo up); wiring it is the caller's job
#                (the netns library, ferryctl attach)
#
# Everything lives in namespaces named PREFIX-*, so runs with different
# prefixes overlap freely and `down PREFIX` finds all of it. A prefix made by
# `prefix` embeds its owner's pid (fy<pid><letters>) so `gc` can remove the
# leftovers of owners that died (SIGKILL, crash) without touching live runs.
#
# Usage:
#   topo.sh prefix [OWNER_PID]            print a fresh prefix (owner: the caller)
#   topo.sh up PREFIX NHOSTS [--mtu N] [--subnet A.B.C] [--offload on|off]
#   topo.sh container PREFIX NAME         make namespace PREFIX-NAME, print its path
#   topo.sh wire PREFIX HOST NAME ADDR/LEN [--gw IP] [--host-addr ADDR/LEN] [--mtu N]
#                [--offload on|off]       plain ip(8) wiring for shell users and
#                                         baselines: veth v-NAME in PREFIX-hHOST,
#                                         eth0 in PREFIX-NAME with TX checksum
#                                         offload off (default: what af_packet
#                                         and af_xdp endpoint ports need) or on
#                                         (the kernel's defaults: vnet ports)
#   topo.sh exec PREFIX NODE CMD...       run CMD in PREFIX-NODE (fab, h1, NAME)
#   topo.sh down PREFIX                   kill what runs inside (Docker engines of
#                                         dockerd.sh first), delete all; idempotent
#   topo.sh list [PREFIX]                 namespaces of PREFIX (default: all fy* runs)
#   topo.sh gc                            down every fy<pid>* prefix whose pid is gone
#   topo.sh run NHOSTS [up options] [--timeout SECONDS] -- CMD...
#                                         up a fresh prefix, run CMD with
#                                         FERRY_TOPO_PREFIX set, always down after
set -euo pipefail

die() { echo "topo.sh: $*" >&2; exit 1; }

check_prefix() {
  [[ "$1" =~ ^[a-z][a-z0-9]{1,19}$ ]] || die "bad prefix '$1' (lowercase letters/digits, 2-20 chars)"
}

netns_names() { ip netns list 2>/dev/null | awk '{print $1}'; }

ns_of_prefix() { netns_names | grep -E "^$1-" || true; }

cmd_prefix() {
  local owner="${1:-$PPID}" letters=abcdefghijklmnopqrstuvwxyz p i
  for ((i = 0; i < 100; i++)); do
    p="fy${owner}${letters:RANDOM%26:1}${letters:RANDOM%26:1}"
    if [[ -z "$(ns_of_prefix "$p")" ]]; then echo "$p"; return 0; fi
  done
  die "no free prefix for owner $owner"
}

# Docker engines of this prefix (tests/harness/dockerd.sh) go first: their
# processes (dockerd, containerd, shims, containers) are tracked by cgroup,
# and killing them one by one from here would leave the cgroups behind.
dockerd_down_prefix() {
  local cg
  for cg in /sys/fs/cgroup/pids/ferry-"$1"-* /sys/fs/cgroup/ferry-"$1"-*; do
    if [[ -d "$cg" ]]; then
      "$(dirname "${BASH_SOURCE[0]}")/dockerd.sh" down-prefix "$1" || true
      return
    fi
  done
}

cmd_down() {
  local prefix="$1" ns pids deadline
  check_prefix "$prefix"
  dockerd_down_prefix "$prefix"
  local all
  all="$(ns_of_prefix "$prefix")"
  [[ -z "$all" ]] && return 0
  # Processes inside keep a namespace alive after `ip netns del`: stop them.
  for ns in $all; do
    pids="$(ip netns pids "$ns" 2>/dev/null || true)"
    [[ -n "$pids" ]] && kill -TERM $pids 2>/dev/null || true
  done
  deadline=$((SECONDS + 5))
  for ns in $all; do
    while pids="$(ip netns pids "$ns" 2>/dev/null || true)"; [[ -n "$pids" ]]; do
      if ((SECONDS >= deadline)); then kill -KILL $pids 2>/dev/null || true; fi
      sleep 0.05
    done
  done
  # Deleting a namespace destroys its interfaces; veths die with either end.
  for ns in $all; do ip netns del "$ns" 2>/dev/null || true; done
  [[ -z "$(ns_of_prefix "$prefix")" ]] || die "down $prefix: some namespaces remain"
}

cmd_up() {
  local prefix="$1" nhosts="$2"; shift 2
  local mtu=1500 subnet=172.31.0 offload=off
  while (($#)); do
    case "$1" in
      --mtu) mtu="$2"; shift 2 ;;
      --subnet) subnet="$2"; shift 2 ;;
      --offload) offload="$2"; shift 2 ;;
      *) die "up: unknown option $1" ;;
    esac
  done
  check_prefix "$prefix"
  [[ "$nhosts" =~ ^[0-9]+$ ]] && ((nhosts <= 250)) || die "up: NHOSTS must be 0..250"
  [[ "$mtu" =~ ^[0-9]+$ ]] && ((mtu >= 68 && mtu <= 65535)) || die "up: --mtu must be 68..65535"
  [[ "$subnet" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "up: --subnet takes three octets, e.g. 172.31.0"
  [[ "$offload" == on || "$offload" == off ]] || die "up: --offload on|off"
  [[ -z "$(ns_of_prefix "$prefix")" ]] || die "up: prefix $prefix is in use (topo.sh down $prefix)"

  # Any failure half-way removes what was made.
  UP_PREFIX="$prefix"
  trap 'cmd_down "$UP_PREFIX" || true' ERR
  local fab="$prefix-fab" i host
  ip netns add "$fab"
  ip -n "$fab" link set lo up
  ip -n "$fab" link add br0 type bridge stp_state 0 forward_delay 0
  ip -n "$fab" link set br0 mtu "$mtu" up
  for ((i = 1; i <= nhosts; i++)); do
    host="$prefix-h$i"
    ip netns add "$host"
    ip -n "$host" link set lo up
    # Created in the fabric with its peer born inside the host: no name ever
    # appears in the caller's namespace.
    ip -n "$fab" link add "p$i" mtu "$mtu" type veth peer name ul0 netns "$host"
    ip -n "$fab" link set "p$i" master br0 up
    ip -n "$host" link set ul0 mtu "$mtu" address "$(printf '02:fe:00:00:%02x:%02x' $((i / 256)) $((i % 256)))" up
    ip -n "$host" addr add "$subnet.$i/24" dev ul0
    if [[ "$offload" == off ]]; then
      ip netns exec "$host" ethtool -K ul0 tx off >/dev/null
      ip netns exec "$fab" ethtool -K "p$i" tx off >/dev/null
    fi
  done
  trap - ERR
}

cmd_container() {
  local prefix="$1" name="$2"
  check_prefix "$prefix"
  [[ "$name" =~ ^[a-z0-9][a-z0-9_]{0,30}$ ]] || die "container: bad name '$name'"
  [[ "$name" != fab && ! "$name" =~ ^h[0-9]+$ ]] || die "container: '$name' is reserved for fabric/hosts"
  local ns="$prefix-$name"
  if ! netns_names | grep -qx "$ns"; then
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  fi
  echo "/var/run/netns/$ns"
}

cmd_wire() {
  local prefix="$1" host="$2" name="$3" addr="$4"; shift 4
  local gw="" host_addr="" mtu=1500 offload=off
  while (($#)); do
    case "$1" in
      --gw) gw="$2"; shift 2 ;;
      --host-addr) host_addr="$2"; shift 2 ;;
      --mtu) mtu="$2"; shift 2 ;;
      --offload) offload="$2"; shift 2 ;;
      *) die "wire: unknown option $1" ;;
    esac
  done
  [[ "$offload" == on || "$offload" == off ]] || die "wire: --offload on|off"
  check_prefix "$prefix"
  [[ "$host" =~ ^[0-9]+$ ]] || die "wire: HOST is a host number (1 for $prefix-h1)"
  ((${#name} <= 13)) || die "wire: NAME '$name' too long for v-NAME (15 characters)"
  local hns="$prefix-h$host" cns="$prefix-$name"
  netns_names | grep -qx "$cns" || cmd_container "$prefix" "$name" >/dev/null
  ip -n "$hns" link add "v-$name" mtu "$mtu" type veth peer name eth0 mtu "$mtu" netns "$cns"
  [[ "$offload" == on ]] || ip netns exec "$cns" ethtool -K eth0 tx off >/dev/null
  ip -n "$cns" addr add "$addr" dev eth0
  ip -n "$cns" link set eth0 up
  ip -n "$hns" link set "v-$name" up
  [[ -z "$host_addr" ]] || ip -n "$hns" addr add "$host_addr" dev "v-$name"
  [[ -z "$gw" ]] || ip -n "$cns" route add default via "$gw" dev eth0
}

cmd_exec() {
  local prefix="$1" node="$2"; shift 2
  check_prefix "$prefix"
  exec ip netns exec "$prefix-$node" "$@"
}

cmd_list() {
  if (($#)); then
    check_prefix "$1"
    ns_of_prefix "$1"
  else
    netns_names | grep -E '^fy[0-9]+[a-z]*-' || true
  fi
}

cmd_gc() {
  local p pid
  "$(dirname "${BASH_SOURCE[0]}")/dockerd.sh" gc || true
  for p in $(netns_names | sed -nE 's/^(fy([0-9]+)[a-z]*)-.*/\1/p' | sort -u); do
    pid="$(sed -E 's/^fy([0-9]+).*/\1/' <<<"$p")"
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "topo.sh gc: removing $p (owner $pid is gone)" >&2
      cmd_down "$p"
    fi
  done
}

stop_child() {
  if [[ -n "${RUN_CHILD:-}" ]]; then
    kill -TERM "$RUN_CHILD" 2>/dev/null || true
    wait "$RUN_CHILD" 2>/dev/null || true
  fi
}

cmd_run() {
  local nhosts="$1"; shift
  local up_args=() timeout=0
  while (($#)); do
    case "$1" in
      --timeout) timeout="$2"; shift 2 ;;
      --) shift; break ;;
      *) up_args+=("$1"); shift ;;
    esac
  done
  (($#)) || die "run: no command after --"
  # Global: the EXIT trap runs after this function has returned.
  RUN_PREFIX="$(cmd_prefix $$)"
  # Teardown on every way out: success, failure, Ctrl-C, TERM, timeout.
  trap 'cmd_down "$RUN_PREFIX"' EXIT
  RUN_CHILD=""
  trap 'stop_child; exit 130' INT
  trap 'stop_child; exit 143' TERM
  cmd_up "$RUN_PREFIX" "$nhosts" "${up_args[@]}"
  local -a cmd=("$@")
  ((timeout > 0)) && cmd=(timeout "$timeout" "$@")
  # In the background so a signal to this script runs its trap at once (bash
  # delays traps until a foreground child ends); stdin passed on explicitly.
  FERRY_TOPO_PREFIX="$RUN_PREFIX" "${cmd[@]}" <&0 &
  RUN_CHILD=$!
  local rc=0
  wait "$RUN_CHILD" || rc=$?
  RUN_CHILD=""
  return "$rc"
}

(($#)) || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }
[[ $EUID -eq 0 ]] || [[ "$1" == prefix ]] || die "needs root (network namespaces)"
sub="$1"; shift
case "$sub" in
  prefix) cmd_prefix "$@" ;;
  up) (($# >= 2)) || die "usage: up PREFIX NHOSTS [--mtu N] [--subnet A.B.C] [--offload on|off]"; cmd_up "$@" ;;
  container) (($# == 2)) || die "usage: container PREFIX NAME"; cmd_container "$@" ;;
  wire) (($# >= 4)) || die "usage: wire PREFIX HOST NAME ADDR/LEN [--gw IP] [--host-addr ADDR/LEN] [--mtu N] [--offload on|off]"; cmd_wire "$@" ;;
  exec) (($# >= 3)) || die "usage: exec PREFIX NODE CMD..."; cmd_exec "$@" ;;
  down) (($# == 1)) || die "usage: down PREFIX"; cmd_down "$@" ;;
  list) cmd_list "$@" ;;
  gc) cmd_gc ;;
  run) (($# >= 3)) || die "usage: run NHOSTS [options] -- CMD..."; cmd_run "$@" ;;
  *) die "unknown subcommand '$sub' (run without arguments for help)" ;;
esac
