#!/usr/bin/env bash
# topo.sh from the shell: up/wire/exec/down, idempotent down, teardown on
# failure, timeout and SIGTERM, gc of dead owners. Exit 77 (skip) without root.
set -euo pipefail
[[ $EUID -eq 0 ]] || { echo "SKIP: needs root"; exit 77; }
T="$(cd "$(dirname "$0")" && pwd)/topo.sh"
P="$("$T" prefix $$)"
trap '"$T" down "$P"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
gone() { [[ -z "$("$T" list "$1")" ]]; }

"$T" up "$P" 3 --mtu 1600
[[ "$("$T" list "$P" | wc -l)" -eq 4 ]] || fail "expected 4 namespaces"
"$T" exec "$P" h3 ping -n -c1 -W2 -M do -s 1572 172.31.0.1 >/dev/null || fail "h3 -> h1 at MTU 1600"
"$T" up "$P" 1 2>/dev/null && fail "up on a used prefix must fail"
"$T" wire "$P" 2 app 10.60.0.2/24 --gw 10.60.0.1 --host-addr 10.60.0.1/24
"$T" exec "$P" app ping -n -c1 -W2 10.60.0.1 >/dev/null || fail "container -> host"
"$T" down "$P"
gone "$P" || fail "down left namespaces"
"$T" down "$P" || fail "down is not idempotent"

# run: teardown after success, failure, timeout and SIGTERM.
out="$("$T" run 2 -- bash -c 'echo $FERRY_TOPO_PREFIX')"
gone "$out" || fail "run left $out behind"
set +e
out="$("$T" run 1 -- bash -c 'echo $FERRY_TOPO_PREFIX; exit 7')"; rc=$?
set -e
[[ $rc -eq 7 ]] || fail "run must pass the command's exit status (got $rc)"
gone "$out" || fail "run left $out behind after failure"
set +e
"$T" run 1 --timeout 1 -- sleep 30; rc=$?
set -e
[[ $rc -eq 124 ]] || fail "timeout exit status (got $rc)"
"$T" run 1 -- sleep 30 &
runner=$!
for _ in $(seq 100); do [[ -n "$("$T" list | grep "^fy$runner" || true)" ]] && break; sleep 0.05; done
[[ -n "$("$T" list | grep "^fy$runner" || true)" ]] || fail "run did not come up"
kill -TERM "$runner"
wait "$runner" || true
[[ -z "$("$T" list | grep "^fy$runner" || true)" ]] || fail "SIGTERM left namespaces"

# gc: a prefix whose owner pid is dead goes, our own (live) one stays.
bash -c 'exit 0' &
dead=$!
wait "$dead"
"$T" up "fy${dead}zz" 1
"$T" up "$P" 1
"$T" gc 2>/dev/null
gone "fy${dead}zz" || fail "gc kept a dead owner's run"
gone "$P" && fail "gc removed a live owner's run"
echo "PASS"
