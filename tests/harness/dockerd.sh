#!/usr/bin/env bash
# A real Docker engine (Debian's docker.io, dockerd 20.10) for one Ferry
# namespace host, isolated from everything else on the machine, including a
# user's own docker.service and system containerd (see docs/plugin.md,
# "Running Ferry under a real dockerd").
#
# One dockerd per NAME (e.g. PREFIX-h2), in the host's network namespace:
#   - its own data root, exec root, API socket, pidfile and config file
#     (DIR/root, DIR/exec, DIR/docker.sock, DIR/dockerd.pid, DIR/daemon.json:
#     /etc/docker/daemon.json is never read);
#   - its own mount namespace, kept by a holder process across dockerd
#     restarts (live restore needs the sandboxes' netns mounts): tmpfs over
#     /run/docker and /run/containerd there, so dockerd finds exactly one
#     plugin (/run/docker/plugins/ferry.sock -> PLUGIN_SOCKET), never the
#     system containerd (it starts its own, in DIR/exec/containerd), and
#     containerd's shim sockets stay private; mounts copied from the machine
#     that would pin other namespaces (nsfs, Docker's and containerd's) are
#     detached;
#   - --containerd-namespace ferry-NAME, --cgroup-parent /ferry-NAME: every
#     process it ever starts (holder, dockerd, containerd, shims, containers)
#     lives under the cgroup ferry-NAME, which is how `down` finds them all;
#   - --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false
#     --bridge=none: it changes nothing in the host's firewall or sysctls.
# Debian's client is always called as /usr/bin/docker (another docker CLI may
# come first on PATH).
#
# Usage:
#   dockerd.sh image                     path of the busybox image tarball (made
#                                        from busybox-static once, then cached)
#   dockerd.sh start NAME NETNS DIR PLUGIN_SOCKET [--live-restore] [--log-level L]
#                                        start (or restart) dockerd, wait until it
#                                        answers, import the image busybox:ferry if
#                                        missing; prints one line: the versions
#   dockerd.sh docker DIR ARGS...        /usr/bin/docker against that dockerd
#   dockerd.sh stop NAME DIR [--signal TERM|KILL]
#                                        stop dockerd only (containers and shims
#                                        stay as dockerd leaves them); waits
#   dockerd.sh down NAME DIR             remove everything: containers, dockerd,
#                                        containerd, shims, holder, mounts,
#                                        cgroups, DIR; idempotent
#   dockerd.sh down-prefix PREFIX        down every NAME PREFIX-* still running
#                                        (processes and cgroups; DIR unknown)
#   dockerd.sh gc                        down-prefix every fy<pid>* prefix whose
#                                        owner pid is gone
#
# Containers: run them with --init (busybox sh as PID 1 ignores SIGTERM, and
# every stop would cost 10 s) or --stop-timeout 1. Names: two characters at
# least. Environment: FERRY_CACHE (default /var/cache/ferry) holds the image.
set -euo pipefail

DOCKER=/usr/bin/docker
DOCKERD=/usr/sbin/dockerd
IMAGE=busybox:ferry
# Directories under /run this script had to create (mount points).
CREATED=/run/ferry/dockerd-created-dirs

die() { echo "dockerd.sh: $*" >&2; exit 1; }

# The cgroup hierarchy that tracks the processes: v1's pids controller, or
# the v2 root.
track_root() {
  if [[ -d /sys/fs/cgroup/pids ]]; then echo /sys/fs/cgroup/pids; else echo /sys/fs/cgroup; fi
}
check_name() { [[ "$1" =~ ^[a-z0-9][a-z0-9-]{1,40}$ ]] || die "bad NAME '$1' (lowercase letters, digits, '-')"; }

# Every process in cgroup ferry-NAME (any depth).
cg_pids() {
  local top
  top="$(track_root)/ferry-$1"
  [[ -d "$top" ]] || return 0
  find "$top" -name cgroup.procs -exec cat {} + 2>/dev/null || true
}

# Kills every process of ferry-NAME (SIGKILL, until none is left; 10 s at
# most) and removes its cgroups in every hierarchy.
cg_down() {
  local name="$1" pids deadline=$((SECONDS + 10)) d
  while pids="$(cg_pids "$name")"; [[ -n "$pids" ]]; do
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    ((SECONDS < deadline)) || die "down $name: processes survive SIGKILL: $pids"
    sleep 0.05
  done
  for d in /sys/fs/cgroup/*/"ferry-$name" /sys/fs/cgroup/"ferry-$name"; do
    [[ -d "$d" ]] || continue
    # Children first; a cgroup is gone once its last task is.
    deadline=$((SECONDS + 5))
    until find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; [[ ! -d "$d" ]]; do
      ((SECONDS < deadline)) || die "down $name: cannot remove $d"
      sleep 0.05
    done
  done
}

alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }
# The process in PIDFILE, if it still runs and belongs to ferry-NAME.
owned_pid() {
  local name="$1" file="$2" pid
  [[ -f "$file" ]] || return 1
  pid="$(cat "$file" 2>/dev/null)"
  alive "$pid" && cg_pids "$name" | grep -qx "$pid" && echo "$pid"
}

cmd_image() {
  local cache="${FERRY_CACHE:-/var/cache/ferry}" bb=/bin/busybox sum tar tmp c
  if ! [[ -x "$bb" ]] || ! file -L "$bb" 2>/dev/null | grep -q 'statically linked'; then
    die "$bb is not a static busybox (apt-get install busybox-static)"
  fi
  sum="$(sha256sum "$bb" | cut -c1-16)"
  tar="$cache/busybox-$sum.tar"
  if [[ ! -s "$tar" ]]; then
    mkdir -p "$cache"
    tmp="$(mktemp -d "$cache/.busybox.XXXXXX")"
    mkdir -p "$tmp/root/bin" "$tmp/root/etc" "$tmp/root/tmp" "$tmp/root/proc" "$tmp/root/sys" "$tmp/root/dev"
    cp "$bb" "$tmp/root/bin/busybox"
    for c in $("$bb" --list); do [[ "$c" == busybox ]] || ln -s busybox "$tmp/root/bin/$c"; done
    tar -C "$tmp/root" -cf "$tmp/image.tar" . && mv "$tmp/image.tar" "$tar"
    rm -rf "$tmp"
  fi
  echo "$tar"
}

docker_at() {
  local dir="$1"
  shift
  "$DOCKER" -H "unix://$dir/docker.sock" "$@"
}

# The holder: a process in the host's network namespace and a private mount
# namespace of its own, prepared for dockerd; dockerd (re)starts inside it.
start_holder() {
  local name="$1" netns="$2" dir="$3" plugin="$4" cg pid deadline
  cg="$(track_root)/ferry-$name/daemon"
  mkdir -p "$cg"
  rm -f "$dir/holder.ready"
  # Mount points under /run made here are removed again once no dockerd of
  # this script runs (remove_created_dirs).
  for d in /run/docker /run/containerd; do
    [[ -d "$d" ]] || { mkdir -p "$d" "${CREATED%/*}" && echo "$d" >>"$CREATED"; }
  done
  setsid nsenter --net="$netns" -- unshare --mount --propagation private -- sh -c '
    set -e
    echo $$ >"$1/cgroup.procs"
    # Copies of the machine'"'"'s mounts that would keep other namespaces or
    # another Docker'"'"'s layers alive while this one runs: detach them here.
    awk '"'"'$9 == "nsfs" || $5 ~ "^(/var)?/run/(docker|containerd|netns)(/|$)" ||
           $5 ~ "^/var/lib/(docker|containerd)(/|$)" { print $5 }'"'"' /proc/self/mountinfo |
      sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    mount -t tmpfs -o mode=0711 ferry-dockerd /run/docker
    mount -t tmpfs -o mode=0711 ferry-dockerd /run/containerd
    mkdir -p /run/docker/plugins
    ln -s "$2" /run/docker/plugins/ferry.sock
    touch "$3/holder.ready"
    exec sleep infinity
  ' ferry-dockerd-holder "$cg" "$plugin" "$dir" </dev/null >>"$dir/holder.log" 2>&1 &
  pid=$!
  deadline=$((SECONDS + 10))
  until [[ -f "$dir/holder.ready" ]]; do
    alive "$pid" || die "start $name: the mount-namespace holder failed: $(tail -3 "$dir/holder.log")"
    ((SECONDS < deadline)) || die "start $name: the mount-namespace holder did not come up"
    sleep 0.02
  done
  echo "$pid" >"$dir/holder.pid"
}

cmd_start() {
  local name="$1" netns="$2" dir="$3" plugin="$4"
  shift 4
  local live=false level=info
  while (($#)); do
    case "$1" in
      --live-restore) live=true; shift ;;
      --log-level) level="$2"; shift 2 ;;
      *) die "start: unknown option $1" ;;
    esac
  done
  check_name "$name"
  [[ -x "$DOCKERD" && -x "$DOCKER" ]] || die "Debian's docker.io is missing (apt-get install docker.io)"
  [[ -e "$netns" ]] || die "start $name: no network namespace $netns"
  [[ "$plugin" == /* ]] || die "start $name: PLUGIN_SOCKET must be an absolute path"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  cmd_gc
  if owned_pid "$name" "$dir/dockerd.pid" >/dev/null; then die "start $name: dockerd is already running"; fi
  local holder
  if ! holder="$(owned_pid "$name" "$dir/holder.pid")"; then
    start_holder "$name" "$netns" "$dir" "$plugin"
    holder="$(cat "$dir/holder.pid")"
  fi
  echo '{}' >"$dir/daemon.json"
  rm -f "$dir/dockerd.pid"
  local cg
  cg="$(track_root)/ferry-$name/daemon"
  local args=(--config-file "$dir/daemon.json" --data-root "$dir/root" --exec-root "$dir/exec"
    --pidfile "$dir/dockerd.pid" -H "unix://$dir/docker.sock" --storage-driver vfs
    --containerd-namespace "ferry-$name" --containerd-plugins-namespace "ferry-$name-plugins"
    --cgroup-parent "/ferry-$name" --exec-opt native.cgroupdriver=cgroupfs
    --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false --bridge=none
    --userland-proxy=false --log-level "$level" --live-restore="$live")
  echo "==== $(date -u +%FT%TZ) dockerd ${args[*]}" >>"$dir/dockerd.log"
  setsid nsenter --net="$netns" --mount="/proc/$holder/ns/mnt" -- sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' \
    ferry-dockerd "$cg" "$DOCKERD" "${args[@]}" </dev/null >>"$dir/dockerd.log" 2>&1 &
  local pid=$! deadline=$((SECONDS + 60))
  until docker_at "$dir" version >/dev/null 2>&1; do
    alive "$pid" || die "start $name: dockerd exited: $(tail -5 "$dir/dockerd.log")"
    ((SECONDS < deadline)) || die "start $name: dockerd did not answer within 60 s: $(tail -5 "$dir/dockerd.log")"
    sleep 0.1
  done
  docker_at "$dir" version >"$dir/docker-version.log" 2>&1
  if ! docker_at "$dir" image inspect "$IMAGE" >/dev/null 2>&1; then
    docker_at "$dir" import "$(cmd_image)" "$IMAGE" >/dev/null || die "start $name: cannot import $IMAGE"
  fi
  docker_at "$dir" version --format \
    'docker {{.Client.Version}} ('"$DOCKER"'), dockerd {{.Server.Version}} (API {{.Server.APIVersion}}), live-restore '"$live"
}

cmd_stop() {
  local name="$1" dir="$2" sig=TERM pid deadline
  shift 2
  while (($#)); do
    case "$1" in
      --signal) sig="$2"; shift 2 ;;
      *) die "stop: unknown option $1" ;;
    esac
  done
  [[ "$sig" == TERM || "$sig" == KILL ]] || die "stop: --signal TERM|KILL"
  pid="$(owned_pid "$name" "$dir/dockerd.pid")" || return 0
  kill -"$sig" "$pid"
  # dockerd stops its containers on TERM (unless live restore): up to the
  # containers' stop timeouts, then its own shutdown.
  deadline=$((SECONDS + 45))
  while alive "$pid"; do
    ((SECONDS < deadline)) || { kill -KILL "$pid" 2>/dev/null || true; }
    sleep 0.05
  done
  # Its containerd follows it (parent-death signal); wait for that too.
  deadline=$((SECONDS + 10))
  while [[ -f "$dir/exec/containerd/containerd.pid" ]] && alive "$(cat "$dir/exec/containerd/containerd.pid")"; do
    ((SECONDS < deadline)) || { kill -KILL "$(cat "$dir/exec/containerd/containerd.pid")" 2>/dev/null || true; }
    sleep 0.05
  done
}

cmd_down() {
  local name="$1" dir="${2:-}"
  check_name "$name"
  if [[ -n "$dir" && -d "$dir" ]]; then
    dir="$(cd "$dir" && pwd)"
    if owned_pid "$name" "$dir/dockerd.pid" >/dev/null; then
      # Containers first, so the network driver hears Leave and DeleteEndpoint.
      local ids
      ids="$(timeout 10 "$DOCKER" -H "unix://$dir/docker.sock" ps -aq 2>/dev/null || true)"
      # shellcheck disable=SC2086
      [[ -z "$ids" ]] || timeout 30 "$DOCKER" -H "unix://$dir/docker.sock" rm -f $ids >/dev/null 2>&1 || true
      cmd_stop "$name" "$dir" --signal TERM || true
    fi
  fi
  # Whatever is left (shims, containers after a SIGKILL, the holder): killed;
  # with the last process of the mount namespace go its mounts and the
  # containers' network namespaces.
  cg_down "$name"
  remove_created_dirs
  [[ -z "$dir" || ! -d "$dir" ]] || rm -rf "$dir"
}

# The mount points this script created go when no dockerd of it is left (a
# directory removed under another one's private mount would detach it
# there) and only if empty (someone else may use them now).
remove_created_dirs() {
  local d
  [[ -f "$CREATED" ]] || return 0
  for d in "$(track_root)"/ferry-*/daemon; do
    [[ -d "$d" ]] && return 0
  done
  sort -u "$CREATED" | while read -r d; do rmdir "$d" 2>/dev/null || true; done
  rm -f "$CREATED"
}

cmd_down_prefix() {
  local prefix="$1" cg
  for cg in "$(track_root)"/ferry-"$prefix"-*; do
    [[ -d "$cg" ]] || continue
    cg_down "${cg##*/ferry-}"
  done
  remove_created_dirs
}

cmd_gc() {
  local cg prefix pid
  for cg in "$(track_root)"/ferry-fy*; do
    [[ -d "$cg" ]] || continue
    prefix="$(sed -nE 's|.*/ferry-(fy([0-9]+)[a-z]*)-.*|\1|p' <<<"$cg")"
    pid="$(sed -nE 's|.*/ferry-fy([0-9]+)[a-z]*-.*|\1|p' <<<"$cg")"
    [[ -n "$pid" ]] || continue
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "dockerd.sh gc: removing ${cg##*/} (owner $pid is gone)" >&2
      cmd_down_prefix "$prefix"
    fi
  done
}

(($#)) || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }
[[ $EUID -eq 0 ]] || die "needs root"
sub="$1"
shift
case "$sub" in
  image) cmd_image ;;
  start) (($# >= 4)) || die "usage: start NAME NETNS DIR PLUGIN_SOCKET [--live-restore] [--log-level L]"; cmd_start "$@" ;;
  docker) (($# >= 1)) || die "usage: docker DIR ARGS..."; dir="$1"; shift; exec "$DOCKER" -H "unix://$dir/docker.sock" "$@" ;;
  stop) (($# >= 2)) || die "usage: stop NAME DIR [--signal TERM|KILL]"; cmd_stop "$@" ;;
  down) (($# >= 1 && $# <= 2)) || die "usage: down NAME [DIR]"; cmd_down "$@" ;;
  down-prefix) (($# == 1)) || die "usage: down-prefix PREFIX"; cmd_down_prefix "$1" ;;
  gc) cmd_gc ;;
  *) die "unknown subcommand '$sub' (run without arguments for help)" ;;
esac
