#!/usr/bin/env bash
# scripts/demo (make demo) with 2 hosts, through tests/harness/ferry-host.sh:
# a full run succeeds with every pair reachable, shows ferryctl's tables, the
# real Docker engine's commands and the plugin calls it made, the Podman
# container's (CNI plugin), and leaves
# nothing behind (namespaces, processes, the Docker engine, run directory); a
# run stopped by SIGTERM half-way exits 143 and leaves nothing behind either.
# Exit 77 (skip) without root.
#
#   tests/harness/demo_test.sh BUILD_DIR
set -euo pipefail
[[ $EUID -eq 0 ]] || { echo "SKIP: needs root"; exit 77; }
build="${1:?usage: demo_test.sh BUILD_DIR}"
demo="$(cd "$(dirname "$0")/../.." && pwd)/scripts/demo"
work="$(mktemp -d /tmp/ferry-demo-test.XXXXXX)"
out="$work/demo.log"
pid=""
cleanup() {
  [[ -z "$pid" ]] || { kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  echo "FAIL: $*" >&2
  if [[ -f "$out" ]]; then
    sed 's/^/  | /' "$out" >&2
  else
    echo "  (the demo's output $out is gone; $work holds: $(ls -A "$work" 2>&1))" >&2
  fi
  exit 1
}

# Nothing of run PREFIX is left: namespaces, processes using its run
# directory, its Docker engine (cgroups, shims), the run directory itself.
left_behind() {
  local prefix="$1"
  [[ -n "$prefix" ]] || { echo "no prefix in the output"; return 0; }
  ip netns list | grep -q "^$prefix-" && { echo "namespaces $prefix-*"; return 0; }
  { compgen -G "/sys/fs/cgroup/*/ferry-$prefix-*" || compgen -G "/sys/fs/cgroup/ferry-$prefix-*"; } >/dev/null \
    && { echo "Docker cgroups ferry-$prefix-*"; return 0; }
  pgrep -f -- "-namespace ferry-$prefix-" >/dev/null && { echo "containerd shims of $prefix"; return 0; }
  pgrep -f "/run/ferry/demo-$prefix/" >/dev/null && { echo "processes of $prefix"; return 0; }
  [[ -e "/run/ferry/demo-$prefix" ]] && { echo "/run/ferry/demo-$prefix"; return 0; }
  return 1
}
prefix_of() { grep -o 'prefix fy[0-9a-z]*' "$out" 2>/dev/null | head -1 | cut -d' ' -f2; }

# 1. A whole run.
rc=0
"$demo" "$build" 2 >"$out" 2>&1 || rc=$?
((rc == 0)) || fail "demo exited $rc"
[[ "$(tail -1 "$out")" == "20/20 pairs reachable" ]] || fail "last line is not '20/20 pairs reachable'"
for want in "gossip: every host sees 2 alive members" "== ferryctl members (h1)" "== ferryctl endpoints (h2)" \
  "Docker on h2: docker 20.10" "dockerd 20.10" "docker network create -d ferry --ipam-driver ferry" \
  "NetworkDriver.Join -> 200" "IpamDriver.RequestAddress -> 200" "containers: 2 started on h2 by Docker" \
  "docker exec ... ping" "TCP Mbit/s" "NetworkDriver.Leave -> 200" "gossip: h1 no longer lists h2's endpoints" \
  "Podman on h1: podman run --network ferrynet (CNI plugin ferry" "podman exec ... ping" \
  "Podman on h1: podman rm -f p11"; do
  grep -qF -- "$want" "$out" || fail "output lacks '$want'"
done
if what="$(left_behind "$(prefix_of)")"; then fail "left behind after a run: $what"; fi
echo "ok: full run, $(grep -o '^\[ *[0-9.]*s\] tearing down' "$out")"

# 2. SIGTERM once the containers are up: exit 143, everything removed.
"$demo" "$build" 2 >"$out" 2>&1 &
pid=$!
deadline=$((SECONDS + 120))
until grep -q "gossip: every host knows all" "$out"; do
  kill -0 "$pid" 2>/dev/null || fail "demo ended before the containers were up"
  ((SECONDS < deadline)) || fail "containers not up within 120 s"
  sleep 0.1
done
# Read now, while the run is known to be up: what to look for afterwards.
prefix="$(prefix_of)"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
((rc == 143)) || fail "demo exited $rc after SIGTERM, not 143"
if what="$(left_behind "$prefix")"; then fail "left behind after SIGTERM: $what"; fi
echo "ok: SIGTERM tears down"
