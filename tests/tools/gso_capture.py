#!/usr/bin/env python3
"""Captures golden GSO data from the running kernel: TCP and UDP super-frames
as a sender's kernel makes them, and the segments the kernel's own software
GSO (tcp_gso_segment / __udp_gso_segment) cuts from the very same frames.

    sudo tests/tools/gso_capture.py tests/data/gso

Needs root (network namespaces), iproute2, ethtool. Some cases depend on the
sizes the kernel's TCP picks (a FIN riding on a super-frame); when one is
missing the script says so: run it again. Sends nothing outside the
namespaces it creates, and deletes them on exit (even on failure).

How it works (five namespaces, named fgso<pid>{a,m,r,k,v}):

  a (sender, 10.77.0.1 / fd77::1) --veth-- m (forwarder) --veth-- r (receiver)

  * a and r are hosts with default offloads (TSO, GSO, TX checksum on), MTU
    1450 (a Ferry container's), ECN on. A TCP client in a writes chosen
    patterns to a server in r: a bulk transfer, a write with a short last
    segment, an exact multiple of the MSS, writes after an ECN congestion
    signal (CWR), a large write on a fresh connection shut down at once (FIN
    on a super-frame); a UDP socket
    with UDP_SEGMENT sends a UDP GSO batch. Over IPv4 and IPv6.
  * m forwards between the two veths with AF_PACKET + PACKET_VNET_HDR (as
    Ferry's endpoint port does), so super-frames cross whole; it records every
    frame a sends with its virtio-net header, and sets ECN CE on one data
    frame when asked, so that r echoes ECE and a's next super-frame carries
    CWR (this kernel has no ECN-marking qdisc).
  * k: a veth pair k0/k1 with TX checksum (hence SG, TSO) off on k0. Each
    chosen super-frame is sent on k0 through AF_PACKET + PACKET_VNET_HDR with
    the header it was captured with; the kernel segments it in software
    (validate_xmit_skb -> skb_gso_segment) with full checksums, and the
    segments are read on k1.

  * v: kernel VXLAN devices (IPv4 outer without UDP checksum, IPv6 outer
    with it) over a veth with TX checksum off: five of the super-frames are
    sent into them and the kernel's VXLAN segments read from the peer veth.

Output in OUT_DIR: superframes.pcap (the super-frames, Ethernet, partial
checksums as sent), segments.pcap (the kernel's segments), index.txt (one
line per super-frame: its virtio-net header and which segments are its),
vxlan-segments.pcap and vxlan-index.txt (the VXLAN ones).
"""

import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

SOL_PACKET = 263
PACKET_VNET_HDR = 15
PACKET_IGNORE_OUTGOING = 23
ETH_P_ALL = 3
SOL_UDP = 17
UDP_SEGMENT = 103
VNET = struct.Struct("<BBHHHH")  # flags, gso_type, hdr_len, gso_size, csum_start, csum_offset
GSO_NAMES = {1: "tcpv4", 3: "udp", 4: "tcpv6", 5: "udp_l4"}
MARK_PORT = 9
PHASE = b"FERRY-PHASE "
MTU = 1450


def sh(*args, ns=None, check=True, **kw):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    return subprocess.run(cmd, check=check, **kw)


def packet_socket(ifname, vnet):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    if vnet:
        s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    s.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE
    s.bind((ifname, ETH_P_ALL))
    return s


def ip_checksum(header):
    total = 0
    for i in range(0, len(header), 2):
        total += header[i] << 8 | header[i + 1]
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def tcp_info(frame):
    """(ipv6, src ip, tcp flags, payload size) of an Ethernet/IP/TCP frame, else None."""
    etype = frame[12] << 8 | frame[13]
    if etype == 0x0800 and frame[23] == 6:
        ihl = (frame[14] & 0x0F) * 4
        l4 = 14 + ihl
        total = frame[16] << 8 | frame[17]
        return False, frame[26:30], frame[l4 + 13], 14 + total - l4 - (frame[l4 + 12] >> 4) * 4
    if etype == 0x86DD and frame[20] == 6:
        l4 = 54
        plen = frame[18] << 8 | frame[19]
        return True, frame[22:38], frame[l4 + 13], plen - (frame[l4 + 12] >> 4) * 4
    return None


def set_ce(frame):
    f = bytearray(frame)
    if f[12:14] == b"\x08\x00":
        f[15] |= 0x03
        f[24:26] = b"\x00\x00"
        f[24:26] = ip_checksum(f[14:14 + (f[14] & 0x0F) * 4]).to_bytes(2, "big")
    else:
        f[15] |= 0x30
    return bytes(f)


# ---------------------------------------------------------------- roles


def role_forward(left, right, out_path):
    """Forwards left<->right with vnet headers; records left->right frames."""
    a = packet_socket(left, True)
    b = packet_socket(right, True)
    records = []
    label = "none"
    mark_ce = False
    done = False
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    while not stop and not done:
        ready, _, _ = select.select([a, b], [], [], 0.2)
        for s in ready:
            data = s.recv(1 << 18)
            hdr, frame = data[:10], data[10:]
            if s is a:
                # A phase marker: UDP over IPv4 to port 9.
                if frame[12:14] == b"\x08\x00" and frame[23] == 17:
                    l4 = 14 + (frame[14] & 0x0F) * 4
                    dport = frame[l4 + 2] << 8 | frame[l4 + 3]
                    body = frame[l4 + 8:]
                    if dport == MARK_PORT and body.startswith(PHASE):
                        word = body[len(PHASE):].decode().strip()
                        if word == "mark-ce":
                            mark_ce = True
                        elif word == "end":
                            done = True
                        else:
                            label = word
                        continue
                records.append((label, hdr, frame))
                info = tcp_info(frame)
                if mark_ce and info and info[3] > 0:
                    frame = set_ce(frame)
                    mark_ce = False
                b.send(hdr + frame)
            else:
                a.send(hdr + frame)
    with open(out_path, "wb") as out:
        for label, hdr, frame in records:
            lb = label.encode()
            out.write(struct.pack("<HI", len(lb), len(frame)) + lb + hdr + frame)


def role_serve():
    socks = []
    for family, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((addr, 5201))
        s.listen(8)
        socks.append(s)
    conns = []
    while True:
        ready, _, _ = select.select(socks + conns, [], [], 1.0)
        for s in ready:
            if s in socks:
                c, _ = s.accept()
                conns.append(c)
            else:
                data = s.recv(1 << 20)
                if not data:
                    conns.remove(s)
                    s.close()


def role_client(dst4, dst6):
    def phase(word):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.sendto(PHASE + word.encode(), (dst4, MARK_PORT))
        u.close()
        time.sleep(0.05)

    for family, dst, tag in ((socket.AF_INET, dst4, "v4"), (socket.AF_INET6, dst6, "v6")):
        c = socket.socket(family, socket.SOCK_STREAM)
        c.connect((dst, 5201))
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        phase(tag + "-bulk")
        block = bytes(range(256)) * 256
        for _ in range(64):  # 4 MiB: the window opens, super-frames reach 64 KB
            c.sendall(block)
        time.sleep(0.3)
        phase(tag + "-tail")
        c.sendall(bytes((i * 13) & 0xFF for i in range(10000)))
        time.sleep(0.2)
        phase(tag + "-exact")
        mss = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
        c.sendall(bytes((i * 5) & 0xFF for i in range(mss * 8)))
        time.sleep(0.2)
        phase(tag + "-cwr")
        phase("mark-ce")
        c.sendall(bytes(20000))
        time.sleep(0.1)
        c.sendall(bytes((i * 3) & 0xFF for i in range(20000)))
        time.sleep(0.2)
        c.close()
        # FIN on a super-frame: on a fresh connection (slow start, 10 segments
        # in flight) a 100 KB write is mostly still queued when shutdown()
        # adds the FIN to the last queued skb, which leaves later as a
        # super-frame with FIN (and PSH).
        # Whether the last skb holds more than one MSS depends on the sizes the
        # stack chose, so a few sizes are tried (the first FIN super-frame is kept).
        phase(tag + "-fin")
        for size in (100000, 150001, 77777, 123456, 50000):
            c = socket.socket(family, socket.SOCK_STREAM)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
            c.connect((dst, 5201))
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c.sendall(bytes((i * 11) & 0xFF for i in range(size)))
            c.shutdown(socket.SHUT_WR)
            time.sleep(0.3)
            c.close()
        phase(tag + "-udp")
        u = socket.socket(family, socket.SOCK_DGRAM)
        u.setsockopt(SOL_UDP, UDP_SEGMENT, 1400)
        u.sendto(bytes((i * 7) & 0xFF for i in range(14000 + 123)), (dst, 9000))
        u.close()
        time.sleep(0.2)
    phase("end")


def outer_udp_dport(frame):
    if frame[12:14] == b"\x08\x00" and frame[23] == 17:
        l4 = 14 + (frame[14] & 0x0F) * 4
    elif frame[12:14] == b"\x86\xdd" and frame[20] == 17:
        l4 = 54
    else:
        return None
    return frame[l4 + 2] << 8 | frame[l4 + 3]


def role_segment(in_path, out_path, tx_if, rx_if, dport=None):
    """Sends each super-frame through tx_if (software GSO) and reads its
    segments on rx_if (with `dport`: only UDP to that port, VXLAN)."""
    tx = packet_socket(tx_if, True)
    rx = packet_socket(rx_if, False)
    supers = read_records(in_path)
    with open(out_path, "wb") as out:
        for label, hdr, frame in supers:
            _, gso_type, _, gso_size, _, _ = VNET.unpack(hdr)
            l4 = VNET.unpack(hdr)[4]
            if gso_type & 0x7F == 5:
                payload = len(frame) - l4 - 8
            else:
                payload = len(frame) - l4 - (frame[l4 + 12] >> 4) * 4
            want = max(1, -(-payload // gso_size))
            tx.send(hdr + frame)
            got = []
            deadline = time.time() + 2
            while len(got) < want and time.time() < deadline:
                ready, _, _ = select.select([rx], [], [], 0.2)
                if ready:
                    seg = rx.recv(1 << 18)
                    if seg[12:14] not in (b"\x08\x00", b"\x86\xdd"):
                        continue
                    if dport is None or outer_udp_dport(seg) == int(dport):
                        got.append(seg)
            if len(got) != want:
                sys.exit(f"{label}: {len(got)} segments came out, {want} expected")
            lb = label.encode()
            out.write(struct.pack("<HI", len(lb), len(got)) + lb)
            for seg in got:
                out.write(struct.pack("<I", len(seg)) + seg)


def read_records(path):
    records = []
    with open(path, "rb") as f:
        data = f.read()
    at = 0
    while at < len(data):
        lb, size = struct.unpack_from("<HI", data, at)
        at += 6
        label = data[at:at + lb].decode()
        at += lb
        hdr = data[at:at + 10]
        frame = data[at + 10:at + 10 + size]
        at += 10 + size
        records.append((label, hdr, frame))
    return records


def read_segments(path):
    result = []
    with open(path, "rb") as f:
        data = f.read()
    at = 0
    while at < len(data):
        lb, count = struct.unpack_from("<HI", data, at)
        at += 6 + lb
        segs = []
        for _ in range(count):
            (size,) = struct.unpack_from("<I", data, at)
            segs.append(data[at + 4:at + 4 + size])
            at += 4 + size
        result.append(segs)
    return result


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        now = int(time.time())
        for i, frame in enumerate(frames):
            f.write(struct.pack("<IIII", now, i, len(frame), len(frame)))
            f.write(frame)


# ---------------------------------------------------------------- orchestration


# The super-frames also sent through a kernel VXLAN device: (label, outer IP version).
TUNNELED = (("v4-tail", 4), ("v4-cwr", 4), ("v6-fin", 4), ("v4-tail", 6), ("v6-cwr", 6))


def setup_vxlan(name):
    """Namespace `name`: veth u0/u1 (TX checksum off on u0, so the kernel
    segments tunnel super-frames in software), VXLAN devices vx4 (IPv4 outer,
    outer UDP checksum 0, port 4789) and vx6 (IPv6 outer, checksum on, port
    4790) over u0 towards a static peer."""
    sh("ip", "link", "add", "u0", "type", "veth", "peer", "name", "u1", ns=name)
    sh("sysctl", "-qw", "net.ipv6.conf.u1.disable_ipv6=1", ns=name)
    sh("ip", "link", "set", "u0", "mtu", "9000", "up", ns=name)
    sh("ip", "link", "set", "u1", "mtu", "9000", "promisc", "on", "up", ns=name)
    sh("ethtool", "-K", "u0", "tx", "off", ns=name, stdout=subprocess.DEVNULL)
    sh("ip", "addr", "add", "172.31.9.1/24", "dev", "u0", ns=name)
    sh("ip", "addr", "add", "fd31::1/64", "dev", "u0", "nodad", ns=name)
    sh("ip", "neigh", "add", "172.31.9.2", "lladdr", "02:00:00:00:09:02", "dev", "u0", "nud", "permanent", ns=name)
    sh("ip", "neigh", "add", "fd31::2", "lladdr", "02:00:00:00:09:02", "dev", "u0", "nud", "permanent", ns=name)
    sh("ip", "link", "add", "vx4", "type", "vxlan", "id", "4242", "local", "172.31.9.1", "remote", "172.31.9.2",
       "dstport", "4789", "dev", "u0", "noudpcsum", "nolearning", ns=name)
    sh("ip", "link", "add", "vx6", "type", "vxlan", "id", "4243", "local", "fd31::1", "remote", "fd31::2",
       "dstport", "4790", "dev", "u0", "noudp6zerocsumtx", "nolearning", ns=name)
    for dev in ("vx4", "vx6"):
        sh("sysctl", "-qw", f"net.ipv6.conf.{dev}.disable_ipv6=1", ns=name)
        sh("ip", "link", "set", dev, "up", ns=name)
    time.sleep(0.5)  # let u0's own IPv6 chatter (MLD, RS) pass before capturing


def choose(records):
    """The super-frames kept: per IP version the largest bulk one, the short
    tail, the exact multiple, the first with CWR, the one with FIN, UDP GSO."""
    chosen = []
    for tag in ("v4", "v6"):
        mine = [r for r in records if r[0].startswith(tag + "-") and VNET.unpack(r[1])[1] != 0]

        def pick(name, pred, key=None):
            cands = [r for r in mine if pred(r)]
            if not cands:
                sys.exit(f"no {tag} super-frame for '{name}' was captured; run again")
            r = max(cands, key=key) if key else cands[0]
            chosen.append((f"{tag}-{name}", r[1], r[2]))

        def flags(r):
            info = tcp_info(r[2])
            return info[2] if info else 0

        tcp = lambda r: VNET.unpack(r[1])[1] & 0x7F != 5
        pick("bulk", lambda r: r[0].endswith("-bulk") and tcp(r) and not flags(r) & 0x80, key=lambda r: len(r[2]))
        pick("tail", lambda r: r[0].endswith("-tail") and tcp(r))
        pick("exact", lambda r: r[0].endswith("-exact") and tcp(r))
        pick("cwr", lambda r: tcp(r) and flags(r) & 0x80)
        pick("fin", lambda r: tcp(r) and flags(r) & 0x01)
        pick("udp", lambda r: not tcp(r))
    return chosen


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--role":
        role = sys.argv[2]
        args = sys.argv[3:]
        {"forward": role_forward, "serve": role_serve, "client": role_client, "segment": role_segment}[role](*args)
        return
    if len(sys.argv) != 2 or os.geteuid() != 0:
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    me = os.path.abspath(__file__)
    base = f"fgso{os.getpid()}"
    ns = {k: base + k for k in "amrkv"}
    procs = []
    tmp = tempfile.mkdtemp(prefix="fgso")
    try:
        for name in ns.values():
            sh("ip", "netns", "add", name)
        for name in (ns["m"], ns["k"]):
            sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", ns=name)
            sh("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1", ns=name)
        sh("ip", "link", "add", "s0", "netns", ns["a"], "type", "veth", "peer", "name", "m0", "netns", ns["m"])
        sh("ip", "link", "add", "m1", "netns", ns["m"], "type", "veth", "peer", "name", "r0", "netns", ns["r"])
        sh("ip", "link", "add", "k0", "netns", ns["k"], "type", "veth", "peer", "name", "k1", "netns", ns["k"])
        for host, dev, v4, v6 in ((ns["a"], "s0", "10.77.0.1/24", "fd77::1/64"),
                                  (ns["r"], "r0", "10.77.0.2/24", "fd77::2/64")):
            sh("sysctl", "-qw", "net.ipv4.tcp_ecn=1", ns=host)
            sh("ip", "link", "set", dev, "mtu", str(MTU), "up", ns=host)
            sh("ip", "addr", "add", v4, "dev", dev, ns=host)
            sh("ip", "addr", "add", v6, "dev", dev, "nodad", ns=host)
            sh("ip", "link", "set", "lo", "up", ns=host)
        for dev in ("m0", "m1"):
            sh("ip", "link", "set", dev, "mtu", str(MTU), "promisc", "on", "up", ns=ns["m"])
        for dev in ("k0", "k1"):
            sh("ip", "link", "set", dev, "promisc", "on", "up", ns=ns["k"])
        sh("ethtool", "-K", "k0", "tx", "off", ns=ns["k"], stdout=subprocess.DEVNULL)

        raw = os.path.join(tmp, "raw.bin")
        fwd = subprocess.Popen(["ip", "netns", "exec", ns["m"], sys.executable, me, "--role", "forward", "m0", "m1", raw])
        srv = subprocess.Popen(["ip", "netns", "exec", ns["r"], sys.executable, me, "--role", "serve"])
        procs += [fwd, srv]
        time.sleep(0.5)
        sh(sys.executable, me, "--role", "client", "10.77.0.2", "fd77::2", ns=ns["a"])
        fwd.wait(timeout=30)

        records = read_records(raw)
        if os.environ.get("FGSO_DEBUG"):
            for label, hdr, frame in records:
                info = tcp_info(frame)
                print(label, VNET.unpack(hdr), len(frame), hex(info[2]) if info else "-", info[3] if info else "")
        chosen = choose(records)
        sel = os.path.join(tmp, "chosen.bin")
        with open(sel, "wb") as f:
            for label, hdr, frame in chosen:
                lb = label.encode()
                f.write(struct.pack("<HI", len(lb), len(frame)) + lb + hdr + frame)
        segs_path = os.path.join(tmp, "segs.bin")
        sh(sys.executable, me, "--role", "segment", sel, segs_path, "k0", "k1", ns=ns["k"])
        segments = read_segments(segs_path)

        write_pcap(os.path.join(out_dir, "superframes.pcap"), [c[2] for c in chosen])
        write_pcap(os.path.join(out_dir, "segments.pcap"), [s for segs in segments for s in segs])
        with open(os.path.join(out_dir, "index.txt"), "w") as f:
            f.write("# super-frame label flags gso_type hdr_len gso_size csum_start csum_offset "
                    "first_segment segments\n")
            first = 0
            for i, ((label, hdr, _), segs) in enumerate(zip(chosen, segments)):
                fl, gt, hl, gs, cs, co = VNET.unpack(hdr)
                f.write(f"{i} {label} {fl} {gt} {hl} {gs} {cs} {co} {first} {len(segs)}\n")
                first += len(segs)
        print(f"{len(chosen)} super-frames, {first} segments written to {out_dir}")

        # The same super-frames through the kernel's VXLAN devices.
        setup_vxlan(ns["v"])
        labels = [c[0] for c in chosen]
        tunnel_segments = []
        lines = []
        for label, outer in TUNNELED:
            i = labels.index(label)
            one = os.path.join(tmp, "one.bin")
            with open(one, "wb") as f:
                lb = label.encode()
                f.write(struct.pack("<HI", len(lb), len(chosen[i][2])) + lb + chosen[i][1] + chosen[i][2])
            out_one = os.path.join(tmp, "one-segs.bin")
            sh(sys.executable, me, "--role", "segment", one, out_one, f"vx{outer}", "u1",
               "4789" if outer == 4 else "4790", ns=ns["v"])
            segs = read_segments(out_one)[0]
            lines.append(f"{i} {label} {outer} {len(tunnel_segments)} {len(segs)}\n")
            tunnel_segments += segs
        write_pcap(os.path.join(out_dir, "vxlan-segments.pcap"), tunnel_segments)
        with open(os.path.join(out_dir, "vxlan-index.txt"), "w") as f:
            f.write("# super-frame label outer_ip_version first_segment segments\n")
            f.writelines(lines)
        print(f"{len(TUNNELED)} super-frames through VXLAN, {len(tunnel_segments)} segments")
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
        for name in ns.values():
            subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
