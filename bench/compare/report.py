#!/usr/bin/env python3
"""Renders the side-by-side comparison of bench/results/latest.json.

    bench/compare/report.py LATEST_JSON [--svg OUT.svg] [--docs docs/benchmarks.md]

Prints one aligned table (absolute figures per data path and the ratio
Ferry / kernel overlay), checks the issue's goals, writes a chart as SVG
(written directly: no plotting package needed) and, with --docs, appends a
dated row to the history table of docs/benchmarks.md (between the markers
`<!-- bench-history:begin -->` and `<!-- bench-history:end -->`).
Standard library only.
"""

import argparse
import html
import json
import math
import sys

BASE_PATHS = [
    ("ferry", "Ferry", "#1f77b4"),
    ("ferry-busy", "Ferry busy-poll", "#6baed6"),
    ("kernel", "kernel overlay", "#d62728"),
    ("plain", "plain bridge", "#7f7f7f"),
]
IDLE_COLORS = ["#9ecae1", "#c6dbef", "#4292c6"]
PATHS = list(BASE_PATHS)


def find_paths(cmp):
    """BASE_PATHS plus any ferry-idleN runs (after ferry-busy), in that order."""
    idle = sorted((k for k in cmp if k.startswith("ferry-idle") and k[10:].isdigit()), key=lambda k: int(k[10:]))
    extra = [(k, f"Ferry idle-sleep {k[10:]}", IDLE_COLORS[i % len(IDLE_COLORS)]) for i, k in enumerate(idle)]
    return BASE_PATHS[:2] + extra + BASE_PATHS[2:]


def get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or d.get(k) is None:
            return None
        d = d[k]
    return d


def per_packet_us(r):
    cpu, n = get(r, "rate_64", "cpu", "datapath_s"), get(r, "rate_64", "rx_packets")
    return cpu * 1e6 / n if cpu is not None and n else None


def scaled(f, k):
    return lambda r: None if f(r) is None else f(r) * k


# (key, label, unit, getter, better): better is "high", "low" or None (context only).
METRICS = [
    ("tcp1", "TCP, 1 stream", "Gbit/s", lambda r: get(r, "tcp_1", "gbps"), "high"),
    ("tcp4", "TCP, 4 streams", "Gbit/s", lambda r: get(r, "tcp_4", "gbps"), "high"),
    ("pps", "64 B delivered", "kpps", scaled(lambda r: get(r, "rate_64", "rx_pps"), 1e-3), "high"),
    ("offered", "64 B offered by the sender", "kpps", scaled(lambda r: get(r, "rate_64", "tx_pps"), 1e-3), None),
    ("loss", "64 B lost", "%", scaled(lambda r: get(r, "rate_64", "loss_ratio"), 100), "low"),
    ("p50", "UDP round trip p50", "us", lambda r: get(r, "rtt", "p50_us"), "low"),
    ("p99", "UDP round trip p99", "us", lambda r: get(r, "rtt", "p99_us"), "low"),
    ("cpu_tcp1", "data path CPU, TCP 1 stream run", "s", lambda r: get(r, "tcp_1", "cpu", "datapath_s"), "low"),
    ("cpu_64", "data path CPU, 64 B run", "s", lambda r: get(r, "rate_64", "cpu", "datapath_s"), "low"),
    ("cpu_pkt", "data path CPU per delivered 64 B frame", "us", per_packet_us, "low"),
    ("cpu_rtt", "data path CPU, round-trip run", "s", lambda r: get(r, "rtt", "cpu", "datapath_s"), "low"),
]


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if unit == "%" or abs(v) >= 100:
        return f"{v:,.0f}".replace(",", " ")
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def table(cmp):
    present = [(k, name) for k, name, _ in PATHS if isinstance(cmp.get(k), dict)]
    header = ["metric", "unit"] + [name for _, name in present] + ["Ferry / kernel"]
    rows = []
    for key, label, unit, getter, _ in METRICS:
        vals = [getter(cmp[k]) if "error" not in cmp[k] else None for k, _ in present]
        f, kern = get_metric(cmp, "ferry", getter), get_metric(cmp, "kernel", getter)
        r = ratio(f, kern)
        rows.append([label, unit] + [fmt(v, unit) for v in vals] + ["n/a" if r is None else f"{r:.2f}x"])
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    lines = []
    for n, row in enumerate([header] + rows):
        cells = [str(c).ljust(widths[i]) if i < 2 else str(c).rjust(widths[i]) for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def get_metric(cmp, path, getter):
    r = cmp.get(path)
    if not isinstance(r, dict) or "error" in r:
        return None
    return getter(r)


def goals(cmp):
    m = {key: getter for key, _, _, getter, _ in METRICS}
    out = []
    f, k = get_metric(cmp, "ferry", m["pps"]), get_metric(cmp, "kernel", m["pps"])
    r = ratio(f, k)
    out.append(("64 B rate >= 2x kernel overlay", r is not None and r >= 2.0,
                "n/a" if r is None else f"{r:.2f}x ({fmt(f)} vs {fmt(k)} kpps)"))
    f, k = get_metric(cmp, "ferry", m["p50"]), get_metric(cmp, "kernel", m["p50"])
    out.append(("round trip p50 <= kernel overlay", f is not None and k is not None and f <= k,
                "n/a" if f is None or k is None else f"{fmt(f)} vs {fmt(k)} us"))
    for key, name, _ in PATHS:
        if key.startswith("ferry-"):
            fb = get_metric(cmp, key, m["p50"])
            if fb is not None and k is not None:
                out.append((f"  ({name}: round trip p50 <= kernel)", fb <= k, f"{fmt(fb)} vs {fmt(k)} us"))
    f, k = get_metric(cmp, "ferry", m["tcp1"]), get_metric(cmp, "kernel", m["tcp1"])
    r = ratio(f, k)
    out.append(("TCP 1 stream (reported, no goal)", None, "n/a" if r is None else f"{r:.2f}x of the kernel overlay"))
    return out


# ---- SVG ---------------------------------------------------------------

def nice_max(v):
    if v <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(v))
    for m in (1, 1.2, 1.6, 2, 3, 4, 6, 8, 10):
        if m * e >= v:
            return m * e
    return 10 * e


def panel(x0, y0, w, h, title, unit, groups, present, note="", log=False):
    """groups: list of (label, {path: value}); bars per path inside each group.
    log: logarithmic value axis (powers of ten), for figures spanning decades."""
    out = []
    out.append(f'<text x="{x0 + w / 2}" y="{y0 + 16}" class="t">{html.escape(title)}</text>')
    if note:
        out.append(f'<text x="{x0 + w / 2}" y="{y0 + 32}" class="n">{html.escape(note)}</text>')
    top, bottom, left = y0 + 44, y0 + h - 36, x0 + 48
    vals = [v for _, g in groups for v in g.values() if v is not None]
    vmax = nice_max(max(vals) if vals else 1)
    if log:
        lo = math.floor(math.log10(max(min([v for v in vals if v > 0] or [1]), 1e-3)))
        hi = max(lo + 1, math.ceil(math.log10(max(vals or [10]))))

        def height(v):
            return (bottom - top) * (math.log10(max(v, 10 ** lo)) - lo) / (hi - lo)

        ticks = [(10 ** e, bottom - (bottom - top) * (e - lo) / (hi - lo)) for e in range(lo, hi + 1)]
    else:
        def height(v):
            return (bottom - top) * min(v, vmax) / vmax

        ticks = [(vmax * i / 4, bottom - (bottom - top) * i / 4) for i in range(5)]
    for v, y in ticks:
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{x0 + w - 8}" y2="{y:.1f}" class="g"/>')
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" class="a">{v:g}</text>')
    out.append(f'<text x="{x0 + 12}" y="{(top + bottom) / 2}" class="u" '
               f'transform="rotate(-90 {x0 + 12} {(top + bottom) / 2})">{html.escape(unit)}</text>')
    gw = (x0 + w - 8 - left) / max(1, len(groups))
    bw = min(34, (gw - 16) / max(1, len(present)))
    for gi, (glabel, g) in enumerate(groups):
        gx = left + gi * gw + (gw - bw * len(present)) / 2
        for pi, (key, _, color) in enumerate(present):
            v = g.get(key)
            x = gx + pi * bw
            if v is None:
                out.append(f'<text x="{x + bw / 2:.1f}" y="{bottom - 4}" class="v">n/a</text>')
                continue
            bh = height(v)
            out.append(f'<rect x="{x + 1:.1f}" y="{bottom - bh:.1f}" width="{bw - 2:.1f}" height="{bh:.1f}" '
                       f'fill="{color}"><title>{html.escape(glabel)}: {fmt(v)} {html.escape(unit)}</title></rect>')
            out.append(f'<text x="{x + bw / 2:.1f}" y="{bottom - bh - 3:.1f}" class="v">{fmt(v)}</text>')
        out.append(f'<text x="{left + gi * gw + gw / 2:.1f}" y="{bottom + 16}" class="l">{html.escape(glabel)}</text>')
    out.append(f'<line x1="{left}" y1="{bottom}" x2="{x0 + w - 8}" y2="{bottom}" class="x"/>')
    return out


def svg(doc):
    cmp = doc["compare"]
    present = [(k, name, c) for k, name, c in PATHS if isinstance(cmp.get(k), dict) and "error" not in cmp[k]]
    m = {key: getter for key, _, _, getter, _ in METRICS}

    def vals(key):
        return {k: m[key](cmp[k]) for k, _, _ in present}

    W, H, pw, ph = 1100, 720, 540, 310
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
           'font-family="DejaVu Sans, Helvetica, Arial, sans-serif">',
           '<style>.t{font-size:15px;font-weight:bold;text-anchor:middle}.n{font-size:11px;fill:#555;'
           'text-anchor:middle}.a{font-size:10px;fill:#555;text-anchor:end}.u{font-size:11px;fill:#555;'
           'text-anchor:middle}.v{font-size:10px;text-anchor:middle}.l{font-size:12px;text-anchor:middle}'
           '.g{stroke:#ddd}.x{stroke:#333}.h{font-size:18px;font-weight:bold}.s{font-size:12px;fill:#444}</style>',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           '<text x="20" y="28" class="h">Ferry vs the Docker-style kernel overlay, container to container '
           'across two namespace hosts</text>',
           f'<text x="20" y="48" class="s">{html.escape(subtitle(doc))}</text>']
    lx = 20
    for _, name, color in present:
        out.append(f'<rect x="{lx}" y="58" width="12" height="12" fill="{color}"/>')
        out.append(f'<text x="{lx + 16}" y="69" class="s">{html.escape(name)}</text>')
        lx += 40 + 7 * len(name)
    t, g, r = cmp.get("durations_s", {}).get("tcp"), cmp.get("durations_s", {}).get("gen"), \
        cmp.get("durations_s", {}).get("rtt")
    out += panel(10, 80, pw, ph, "TCP throughput (iperf3)", "Gbit/s",
                 [("1 stream", vals("tcp1")), ("4 streams", vals("tcp4"))], present, f"{t} s per run; higher is better")
    out += panel(550, 80, pw, ph, "64-byte frames delivered to the receiver", "kpps",
                 [("delivered", vals("pps")), ("offered by sender", vals("offered"))], present,
                 f"ferry-bench gen tx as fast as it can, {g} s; counted on the receiver's eth0")
    out += panel(10, 400, pw, ph, "UDP round trip, one request in flight", "microseconds (log scale)",
                 [("p50", vals("p50")), ("p99", vals("p99"))], present, f"ferry-bench rtt, {r} s; lower is better",
                 log=True)
    out += panel(550, 400, pw, ph, "Data path CPU seconds during each run", "CPU s",
                 [("TCP 1 stream", vals("cpu_tcp1")), ("64 B", vals("cpu_64")), ("round trips", vals("cpu_rtt"))],
                 present, "softirq (all CPUs) + ferry-dataplane processes; lower is better")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def subtitle(doc):
    cmp = doc["compare"]
    idle = get(cmp, "ferry", "settings", "idle_sleep_us")
    return (f'{doc.get("date", "?")}, {doc.get("machine", "?")}, commit {doc.get("commit", "?")}, '
            f'load average {cmp.get("load_avg_start", "?")} at start; Ferry --idle-sleep-us {idle}')


def history_row(doc):
    cmp = doc["compare"]
    m = {key: getter for key, _, _, getter, _ in METRICS}

    def trio(key):
        return " / ".join(fmt(get_metric(cmp, p, m[key])) for p in ("ferry", "kernel", "plain"))

    return (f'| {doc.get("date", "?")[:16].replace("T", " ")} | {doc.get("machine", "?")} | {doc.get("commit", "?")} | '
            f'{cmp.get("load_avg_start", "?").split()[0]} | {trio("tcp1")} | {trio("pps")} | {trio("p50")} | '
            f'{trio("p99")} | {trio("cpu_pkt")} | {fmt(get_metric(cmp, "ferry-busy", m["p50"]))} |')


def append_history(path, row):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    end = "<!-- bench-history:end -->"
    if end not in text:
        print(f"report: {path} has no '{end}' marker; row not added", file=sys.stderr)
        return False
    text = text.replace(end, row + "\n" + end, 1)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("latest")
    ap.add_argument("--svg")
    ap.add_argument("--docs")
    a = ap.parse_args()
    with open(a.latest, encoding="utf-8") as f:
        doc = json.load(f)
    cmp = doc.get("compare")
    if isinstance(cmp, dict):
        PATHS[:] = find_paths(cmp)
    if not isinstance(cmp, dict) or not any(isinstance(cmp.get(k), dict) for k, _, _ in PATHS):
        print("report: no comparison in", a.latest, file=sys.stderr)
        return 1
    print(subtitle(doc))
    print(table(cmp))
    print()
    for name, met, detail in goals(cmp):
        state = "" if met is None else ("met" if met else "NOT met")
        print(f"  {name:<56} {state:<8} {detail}")
    for k, name, _ in PATHS:
        if isinstance(cmp.get(k), dict) and "error" in cmp[k]:
            print(f"  {name}: {cmp[k]['error']}")
    if a.svg:
        with open(a.svg, "w", encoding="utf-8") as f:
            f.write(svg(doc))
        print(f"chart: {a.svg}")
    if a.docs and append_history(a.docs, history_row(doc)):
        print(f"history: row added to {a.docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
