#!/usr/bin/env bash
# tests/harness/dockerd.sh end to end: a dockerd for a namespace host runs a
# container, survives SIGKILL with live restore, sees only its own plugin
# directory, and `down` leaves nothing behind: no process, cgroup, mount,
# shim socket, network namespace or state directory, and nothing of its own
# in the machine's /run/docker and /run/containerd. `topo.sh down` of the
# prefix does the same for a dockerd nobody stopped. It looks only at what
# this test made (its cgroups, directories, containerd namespace, container
# IDs and plugin socket), so other dockerds on the machine, such as another
# test's running at the same time, do not disturb it. Exit 77 (skip) without
# root or without Debian's docker.io.
#
#   tests/harness/dockerd_test.sh
set -euo pipefail
[[ $EUID -eq 0 ]] || { echo "SKIP: needs root"; exit 77; }
[[ -x /usr/sbin/dockerd && -x /usr/bin/docker ]] || { echo "SKIP: docker.io is not installed"; exit 77; }
here="$(cd "$(dirname "$0")" && pwd)"
dockerd="$here/dockerd.sh"
topo="$here/topo.sh"
prefix="$("$topo" prefix $$)"
work="$(mktemp -d /tmp/ferry-dockerd-test.XXXXXX)"
cleanup() {
  "$topo" down "$prefix" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*/dockerd.log; do [[ -f "$f" ]] && { echo "---- $f"; tail -20 "$f"; } >&2; done
  exit 1
}

# Container IDs this test made (their state would show up under the
# machine's /run if the engine were not isolated).
ids=()
# What of this test's own shows in the machine's /run/docker and
# /run/containerd (another dockerd may add or remove its own entries there
# meanwhile: those are not looked at): entries named after its containerd
# namespace or its containers, and links to its plugin socket.
own_traces() {
  local d args=(-name "*ferry-$1*") id
  for id in "${ids[@]}"; do args+=(-o -name "*$id*" -o -name "*${id:0:12}*"); done
  for d in /run/docker /run/containerd; do
    [[ -d "$d" ]] || continue
    find "$d" -maxdepth 6 \( "${args[@]}" -o -lname "$work/plugin.sock" \) -print 2>/dev/null
  done
}

# Nothing of NAME/DIR is left anywhere on the machine.
left_behind() {
  local name="$1" dir="$2"
  compgen -G "/sys/fs/cgroup/*/ferry-$name" >/dev/null && { echo "cgroups"; return 0; }
  [[ -d "/sys/fs/cgroup/ferry-$name" ]] && { echo "cgroups"; return 0; }
  pgrep -f -- "$dir" >/dev/null && { echo "processes using $dir"; return 0; }
  pgrep -f -- "-namespace ferry-$name " >/dev/null && { echo "containerd shims"; return 0; }
  grep -q -- "$dir" /proc/self/mountinfo && { echo "mounts under $dir"; return 0; }
  [[ -e "$dir" ]] && { echo "$dir"; return 0; }
  local traces
  traces="$(own_traces "$name")"
  [[ -z "$traces" ]] || { echo "in the machine's /run: $traces"; return 0; }
  return 1
}

"$topo" up "$prefix" 1 >/dev/null || fail "topology"
name="$prefix-h1"
dir="$work/d1"
# No agent behind it: a socket path that does not exist is enough here.
out="$("$dockerd" start "$name" "/var/run/netns/$name" "$dir" "$work/plugin.sock")" || fail "start: $out"
[[ "$out" == "docker 20.10"*"dockerd 20.10"*"live-restore false" ]] || fail "start did not report the versions: $out"
grep -q "Server:" "$dir/docker-version.log" || fail "docker version not logged"
d() { "$dockerd" docker "$dir" "$@"; }
cid="$(d run -d --init --network none --name c1 busybox:ferry sleep 600)" || fail "docker run"
ids+=("$cid")
[[ -z "$(own_traces "$name")" ]] || fail "the running engine shows in the machine's /run: $(own_traces "$name")"
[[ "$(d exec c1 echo hello)" == hello ]] || fail "docker exec"
# Its plugin directory holds Ferry's socket and nothing else.
[[ "$(nsenter --mount="/proc/$(cat "$dir/holder.pid")/ns/mnt" ls /run/docker/plugins)" == ferry.sock ]] \
  || fail "plugin directory is not private"
# Containers live in its cgroup.
[[ -d "/sys/fs/cgroup/pids/ferry-$name/$cid" || -d "/sys/fs/cgroup/ferry-$name/$cid" ]] \
  || fail "the container is not under --cgroup-parent /ferry-$name"
echo "ok: start, run, exec ($out)"

"$dockerd" stop "$name" "$dir" --signal KILL || fail "stop --signal KILL"
pgrep -f -- "-namespace ferry-$name " >/dev/null || fail "the shim did not survive dockerd's SIGKILL"
out="$("$dockerd" start "$name" "/var/run/netns/$name" "$dir" "$work/plugin.sock" --live-restore)" || fail "restart: $out"
[[ "$(d inspect -f '{{.State.Running}}' c1)" == true ]] || fail "c1 is not running after a live-restore restart"
[[ "$(d exec c1 echo again)" == again ]] || fail "docker exec after the restart"
echo "ok: SIGKILL, restart with live restore, container kept"

"$dockerd" down "$name" "$dir" || fail "down"
if what="$(left_behind "$name" "$dir")"; then fail "left behind by down: $what"; fi
echo "ok: down leaves nothing"

# A dockerd nobody stopped goes with its topology.
out="$("$dockerd" start "$name" "/var/run/netns/$name" "$dir" "$work/plugin.sock")" || fail "start again: $out"
cid="$(d run -d --init --network none --name c2 busybox:ferry sleep 600)" || fail "docker run c2"
ids+=("$cid")
"$topo" down "$prefix" || fail "topo.sh down"
rm -rf "$dir"  # the state directory is the caller's
if what="$(left_behind "$name" "$dir")"; then fail "left behind by topo.sh down: $what"; fi
echo "ok: topo.sh down removes a running dockerd"
