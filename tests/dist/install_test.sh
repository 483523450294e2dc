#!/bin/sh
# `meson install` (what `make install DESTDIR=... PREFIX=...` runs) into a
# scratch DESTDIR: every file lands where docs/install.md says for the build's
# prefix, nothing else is installed, the units name the installed programs and
# configuration, and the installed programs run.
# Usage: install_test.sh BUILD_DIR
#
# Under prefix /usr: configuration in /etc, units in systemd's directory
# (/lib/systemd/system on Debian 12), the CNI plugin in /usr/lib/cni. Under
# any other prefix P: P/etc, P/lib/systemd/system, P/lib/cni.
set -eu
build="${1:?usage: install_test.sh BUILD_DIR}"
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

fail=0
bad() { echo "FAIL: $*"; fail=1; }

meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >"$dest.log" 2>&1 || {
    cat "$dest.log"; rm -f "$dest.log"; echo "FAIL: meson install"; exit 1; }
rm -f "$dest.log"
prefix=$(meson introspect "$build" --buildoptions | jq -r '.[] | select(.name == "prefix") | .value')
if [ "$prefix" = /usr ]; then
    etc=/etc
    units=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
else
    etc=$prefix/etc
    units=$prefix/lib/systemd/system
fi

expected=$(sort <<LIST
$prefix/sbin/ferry-dataplane
$prefix/sbin/ferry-agent
$prefix/bin/ferryctl
$prefix/bin/ferry-bench
$prefix/lib/cni/ferry
$units/ferry-dataplane.service
$units/ferry-agent.service
$etc/ferry/dataplane.toml
$etc/ferry/agent.toml
$etc/docker/plugins/ferry.spec
$prefix/share/doc/ferry/examples/ferry-hugepages.conf
$prefix/share/man/man8/ferry-dataplane.8
$prefix/share/man/man8/ferry-agent.8
$prefix/share/man/man1/ferryctl.1
$prefix/share/man/man1/ferry-bench.1
LIST
)
installed=$(cd "$dest" && find . -type f -o -type l | sed 's|^\.||' | sort)
if [ "$installed" != "$expected" ]; then
    printf '%s\n' "$expected" >"$dest/.expected"
    printf '%s\n' "$installed" >"$dest/.installed"
    echo "expected (-) and installed (+), prefix $prefix:"
    diff "$dest/.expected" "$dest/.installed" || true
    bad "the installed files differ from the documented layout"
fi

for p in sbin/ferry-dataplane sbin/ferry-agent bin/ferryctl bin/ferry-bench; do
    [ -x "$dest$prefix/$p" ] || { bad "$prefix/$p is not executable"; continue; }
    "$dest$prefix/$p" --help >/dev/null 2>&1 || bad "$prefix/$p --help fails"
done
CNI_COMMAND=VERSION "$dest$prefix/lib/cni/ferry" </dev/null 2>/dev/null | grep -q '"supportedVersions"' ||
    bad "$prefix/lib/cni/ferry does not answer VERSION"
for d in dataplane agent; do
    grep -qx "ExecStart=$prefix/sbin/ferry-$d --config $etc/ferry/$d.toml" "$dest$units/ferry-$d.service" ||
        bad "ferry-$d.service: ExecStart= is not '$prefix/sbin/ferry-$d --config $etc/ferry/$d.toml'"
done
grep -qx 'unix:///run/ferry/docker-plugin.sock' "$dest$etc/docker/plugins/ferry.spec" ||
    bad "ferry.spec does not name /run/ferry/docker-plugin.sock"
for m in man8/ferry-dataplane.8 man8/ferry-agent.8 man1/ferryctl.1 man1/ferry-bench.1; do
    grep -q '^\.SH DESCRIPTION' "$dest$prefix/share/man/$m" || bad "$m has no DESCRIPTION (help2man, from --help)"
done
# Every key of the example configuration is one the daemon knows (an unknown
# key stops it before --help is answered), once the host's own values are in.
sed -e 's|^#uplink = .*|uplink = "lo"|' -e 's|^#vtep-ip = .*|vtep-ip = "10.20.0.11/24"|' \
    "$dest$etc/ferry/dataplane.toml" >"$dest/dp.toml"
sed -e 's|^#advertise = .*|advertise = "10.20.0.11"|' "$dest$etc/ferry/agent.toml" >"$dest/agent.toml"
"$dest$prefix/sbin/ferry-dataplane" --config "$dest/dp.toml" --help >/dev/null 2>&1 ||
    bad "ferry-dataplane refuses its example configuration"
"$dest$prefix/sbin/ferry-agent" --config "$dest/agent.toml" --help >/dev/null 2>&1 ||
    bad "ferry-agent refuses its example configuration"

[ "$fail" -eq 0 ] || exit 1
echo "ok: $(echo "$expected" | wc -l) files installed under $prefix as documented"
