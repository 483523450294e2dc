#!/bin/sh
# systemd-analyze verify of ferry-dataplane.service and ferry-agent.service as
# this build configures them (programs from the build directory), then the
# settings the units promise. Usage: units_test.sh BUILD/dist
# Skips (77) when systemd-analyze is missing (Debian package systemd).
set -eu
dir="${1:?usage: units_test.sh BUILD_DIR/dist}"

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "SKIP: systemd-analyze not found (apt-get install systemd): units not verified"
    exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for unit in ferry-dataplane ferry-agent; do
    cp "$dir/test-$unit.service" "$tmp/$unit.service"
done

# verify exits 0 on some problems it only prints: any line naming our units
# fails. --man=no: the man pages are checked where they are installed
# (make deb-check), not in a build tree.
out=$(systemd-analyze verify --man=no "$tmp/ferry-dataplane.service" "$tmp/ferry-agent.service" 2>&1) || {
    echo "$out"
    echo "FAIL: systemd-analyze verify"
    exit 1
}
if printf '%s\n' "$out" | grep -q 'ferry-'; then
    echo "$out"
    echo "FAIL: systemd-analyze verify complained about a Ferry unit"
    exit 1
fi

fail=0
expect() {  # expect UNIT LINE: the unit has exactly this line
    if ! grep -qxF "$2" "$tmp/$1.service"; then
        echo "FAIL: $1.service lacks '$2'"
        fail=1
    fi
}
for unit in ferry-dataplane ferry-agent; do
    expect "$unit" "Type=notify"
    expect "$unit" "Restart=on-failure"
    expect "$unit" "RestartPreventExitStatus=2"
    expect "$unit" "RuntimeDirectory=ferry"
    expect "$unit" "RuntimeDirectoryPreserve=yes"
    expect "$unit" "WantedBy=multi-user.target"
done
expect ferry-dataplane "After=network-online.target dev-hugepages.mount"
expect ferry-agent "Requires=ferry-dataplane.service"
expect ferry-agent "After=ferry-dataplane.service network-online.target"
expect ferry-agent "Before=docker.service"
expect ferry-agent "StateDirectory=ferry"
[ "$fail" -eq 0 ] || exit 1
echo "ok: both units verified"
