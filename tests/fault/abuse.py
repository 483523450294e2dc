#!/usr/bin/env python3
"""Hostile clients for the fault suite's API scenarios (tests/fault/run).

    abuse.py plugin SOCKET SECONDS   the Docker plugin socket (HTTP over unix)
    abuse.py dpapi SOCKET SECONDS    the data plane's API socket (ZeroMQ ipc)

For SECONDS it keeps up, on a unix socket of this machine only:

  plugin: 160 idle connections (more than the server's 128; each one the
          server closes is opened again), 16 slow ones that send a request
          a byte every 0.5 s, and every 0.1-0.5 s a connection sending
          4 KiB of random bytes, a request cut short (Content-Length 1000,
          10 bytes sent, then held), a body announced as 100 MiB (256 KiB
          sent) and a 20 KiB header. Meanwhile it asks what dockerd asks
          first (Plugin.Activate, NetworkDriver.GetCapabilities,
          IpamDriver.GetDefaultAddressSpaces on one keep-alive connection,
          the bytes Docker 20.10's client sends) every 0.2 s, and records
          how long each round took to be answered.
  dpapi:  100 idle connections, connections cut inside the ZMTP greeting
          (held open), 4 KiB of random bytes per connection every 0.1 s,
          and ZMTP peers that complete the handshake and announce a
          100 MiB message (64 KiB sent, then held).

Prints one JSON object: what was sent, how often the server closed a
connection on us, and for `plugin` the probe rounds (answered, failed,
slowest and median time in ms). Exit 0 unless the socket was never there.
"""
import json
import multiprocessing
import os
import select
import socket
import statistics
import sys
import time

DOCKER_HEADERS = ("Host: plugin\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: 0\r\n"
                  "Accept: application/vnd.docker.plugins.v1.2+json\r\nAccept-Encoding: gzip\r\n\r\n")
PROBE_METHODS = ("/Plugin.Activate", "/NetworkDriver.GetCapabilities", "/IpamDriver.GetDefaultAddressSpaces")


def connect(path, timeout=2.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def closed_by_peer(s):
    """True when the server closed `s` (readable and at end of stream)."""
    try:
        r, _, _ = select.select([s], [], [], 0)
        if not r:
            return False
        return s.recv(65536, socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True


class Pool:
    """Keeps `size` connections made by `make` open; counts those the server closed."""

    def __init__(self, path, size, make):
        self.path, self.size, self.make = path, size, make
        self.socks = []
        self.closed = 0
        self.failed = 0

    def keep(self):
        alive = []
        for s in self.socks:
            if closed_by_peer(s):
                self.closed += 1
                s.close()
            else:
                alive.append(s)
        self.socks = alive
        while len(self.socks) < self.size:
            try:
                self.socks.append(self.make(self.path))
            except OSError:
                self.failed += 1
                break

    def close(self):
        for s in self.socks:
            s.close()
        self.socks = []


def one_shot(path, payload, stats, key):
    """Connects, sends `payload`, reads what comes back until close or 1 s."""
    try:
        s = connect(path, 1.0)
        try:
            s.sendall(payload)
            s.recv(65536)
        except OSError:
            pass
        s.close()
        stats[key] += 1
    except OSError:
        stats[key + "_failed"] += 1


# ---------------------------------------------------------------- plugin

def http_request(method):
    return ("POST %s HTTP/1.1\r\n%s" % (method, DOCKER_HEADERS)).encode()


def read_reply(s):
    """Reads one HTTP reply (headers and Content-Length body); returns the status."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise OSError("closed")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            raise OSError("closed")
        rest += chunk
    return status


def probe_plugin(path, until, out):
    """dockerd's first calls, one keep-alive connection per round, as Go's
    HTTP client makes them: a kept-alive connection the server has closed in
    the meantime (it closes the longest idle one when full) is noticed before
    reuse, or by the write failing, and the call goes out on a new one. A
    call that was sent and got no reply is a failure."""
    while time.monotonic() < until:
        t0 = time.monotonic()
        s = None
        try:
            s = connect(path, 5.0)
            ok = True
            for i, m in enumerate(PROBE_METHODS):
                request = http_request(m)
                if i > 0 and closed_by_peer(s):
                    s.close()
                    s = connect(path, 5.0)
                    out["redialed"] += 1
                try:
                    s.sendall(request)
                except (BrokenPipeError, ConnectionResetError):
                    if i == 0:
                        raise
                    s.close()
                    s = connect(path, 5.0)
                    out["redialed"] += 1
                    s.sendall(request)
                ok = ok and read_reply(s) == 200
            (out["times"] if ok else out["bad"]).append((time.monotonic() - t0) * 1000)
        except OSError as e:
            out["failed"] += 1
            if len(out["errors"]) < 5:
                out["errors"].append("%s: %s" % (type(e).__name__, e))
        finally:
            if s is not None:
                s.close()
        time.sleep(max(0.0, 0.2 - (time.monotonic() - t0)))


def probe_process(path, until, results):
    probe = {"times": [], "bad": [], "failed": 0, "redialed": 0, "errors": []}
    probe_plugin(path, until, probe)
    results.put(probe)


def slow_request(path):
    s = connect(path)
    s.setblocking(False)
    return s


def abuse_plugin(path, seconds):
    until = time.monotonic() + seconds
    # The probe is its own process, as dockerd is: a thread here would wait
    # for the interpreter lock between its connect and its request while the
    # abusers burst, which no real client does.
    results = multiprocessing.Queue()
    prober = multiprocessing.Process(target=probe_process, args=(path, until, results))
    prober.start()
    stats = {k: 0 for k in ("garbage", "garbage_failed", "truncated", "truncated_failed", "huge_body",
                            "huge_body_failed", "huge_header", "huge_header_failed", "slow_bytes")}
    idle = Pool(path, 160, connect)
    slow = Pool(path, 16, slow_request)
    slow_text = http_request("/Plugin.Activate")
    slow_pos = {}
    truncated = []
    tick = 0
    while time.monotonic() < until:
        idle.keep()
        slow.keep()
        if tick % 5 == 0:  # a byte every 0.5 s on each slow connection
            for s in slow.socks:
                pos = slow_pos.get(s.fileno(), 0) % len(slow_text)
                try:
                    s.send(slow_text[pos:pos + 1])
                    slow_pos[s.fileno()] = pos + 1
                    stats["slow_bytes"] += 1
                except OSError:
                    pass
        one_shot(path, os.urandom(4096), stats, "garbage")
        if tick % 2 == 0:
            try:
                s = connect(path, 1.0)
                s.sendall(b"POST /Plugin.Activate HTTP/1.1\r\nHost: plugin\r\nContent-Length: 1000\r\n\r\n0123456789")
                truncated.append(s)
                stats["truncated"] += 1
            except OSError:
                stats["truncated_failed"] += 1
            still = []
            for s in truncated:
                if closed_by_peer(s):
                    s.close()
                else:
                    still.append(s)
            truncated = still
        if tick % 5 == 0:
            one_shot(path, b"POST /Plugin.Activate HTTP/1.1\r\nHost: plugin\r\nContent-Length: 104857600\r\n\r\n"
                     + os.urandom(256 * 1024), stats, "huge_body")
            one_shot(path, b"POST /Plugin.Activate HTTP/1.1\r\nHost: plugin\r\nX-Filler: " + b"a" * 20480
                     + b"\r\n\r\n", stats, "huge_header")
        tick += 1
        time.sleep(0.1)
    probe = results.get()
    prober.join()
    idle.close()
    slow.close()
    for s in truncated:
        s.close()
    times = probe["times"]
    stats.update({
        "idle_closed_by_server": idle.closed, "idle_connect_failed": idle.failed,
        "slow_closed_by_server": slow.closed,
        "probes": len(times) + len(probe["bad"]) + probe["failed"], "probes_answered": len(times),
        "probes_bad_status": len(probe["bad"]), "probes_failed": probe["failed"],
        "probes_redialed": probe["redialed"], "probe_errors": probe["errors"],
        "probe_max_ms": round(max(times), 1) if times else None,
        "probe_median_ms": round(statistics.median(times), 1) if times else None,
    })
    return stats


# ---------------------------------------------------------------- dp API (ZMTP 3.0)

def zmtp_greeting():
    # signature, version 3.0, mechanism NULL, as-server 0, filler
    return b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\x00") + b"\x00" + b"\x00" * 31


def zmtp_ready(socket_type=b"REQ"):
    name = b"Socket-Type"
    body = b"\x05READY" + bytes([len(name)]) + name + len(socket_type).to_bytes(4, "big") + socket_type
    return b"\x04" + bytes([len(body)]) + body


def huge_message(path):
    s = connect(path)
    s.sendall(zmtp_greeting() + zmtp_ready())
    # A REQ peer's first frame is an empty delimiter (more), then the body
    # announced as 100 MiB (long frame), of which 64 KiB are sent.
    s.sendall(b"\x01\x00" + b"\x02" + (100 * 1024 * 1024).to_bytes(8, "big") + os.urandom(65536))
    s.setblocking(False)
    return s


def cut_greeting(path):
    s = connect(path)
    s.sendall(zmtp_greeting()[:10])
    return s


def abuse_dpapi(path, seconds, kinds):
    until = time.monotonic() + seconds
    stats = {"garbage": 0, "garbage_failed": 0}
    idle = Pool(path, 100 if "idle" in kinds else 0, connect)
    cut = Pool(path, 16 if "cut" in kinds else 0, cut_greeting)
    huge = Pool(path, 4 if "huge" in kinds else 0, huge_message)
    while time.monotonic() < until:
        idle.keep()
        cut.keep()
        huge.keep()
        if "garbage" in kinds:
            one_shot(path, os.urandom(4096), stats, "garbage")
        time.sleep(0.1)
    stats.update({"idle_closed_by_server": idle.closed, "cut_greeting_closed_by_server": cut.closed,
                  "huge_closed_by_server": huge.closed, "connect_failed": idle.failed + cut.failed + huge.failed})
    idle.close()
    cut.close()
    huge.close()
    return stats


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("plugin", "dpapi"):
        print(__doc__, file=sys.stderr)
        return 2
    kind, path, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    if not os.path.exists(path):
        print("abuse.py: no socket %s" % path, file=sys.stderr)
        return 1
    # FERRY_ABUSE_KINDS (dpapi): a comma-separated subset of idle,cut,huge,garbage.
    kinds = os.environ.get("FERRY_ABUSE_KINDS", "idle,cut,huge,garbage").split(",")
    stats = abuse_plugin(path, seconds) if kind == "plugin" else abuse_dpapi(path, seconds, kinds)
    print(json.dumps(stats, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
