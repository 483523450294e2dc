#!/usr/bin/env python3
"""Renders the side-by-side comparison of bench/results/latest.json.

    bench/compare/report.py LATEST_JSON [--svg OUT.svg] [--docs docs/benchmarks.md]
    bench/compare/report.py --ab AB_JSON

Prints the TCP table (per data path: Gbit/s, median of the interleaved rounds,
1 and 4 streams in both directions, the ratio to the kernel overlay, CPU
seconds per Gbit from whole-machine busy time and its split), the figures of
every round, the 64-byte rate and round-trip table, and the goals; writes a
chart as SVG (directly: no plotting package) and, with --docs, appends a dated
row with the ratios to the history table of docs/benchmarks.md (before the
marker `<!-- bench-ratios:end -->`). LATEST_JSON is the whole `make bench`
result or bench/compare/compare's own output.

--ab: the A/B comparison written by bench/compare/ab (paths `base` and `new`):
round trip and 64 B rate of both, the change in percent, and the check that
`new` is at most 10 % worse. Standard library only.
"""

import argparse
import html
import json
import math
import sys

# Known path names: (label, colour). Anything else is shown by its name.
LABELS = {
    "ferry": ("Ferry", "#1f77b4"),
    "ferry-udp": ("Ferry, UDP uplink", "#17becf"),
    "ferry-vnet": ("Ferry, vnet + UDP uplink", "#2ca02c"),
    "ferry-busy": ("Ferry busy-poll", "#6baed6"),
    "ovs": ("OVS userspace (afxdp)", "#ff7f0e"),
    "kernel": ("kernel overlay", "#d62728"),
    "plain": ("plain bridge", "#7f7f7f"),
}
EXTRA_COLORS = ["#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#9ecae1", "#c6dbef"]
LEGACY_ORDER = ["ferry", "ferry-busy", "kernel", "plain"]

# The TCP cases: (key in .tcp, short label).
CASES = [("1_fwd", "1 stream →"), ("1_rev", "1 stream ←"), ("4_fwd", "4 streams →"), ("4_rev", "4 streams ←")]
SHORT = {"1_fwd": "1→", "1_rev": "1←", "4_fwd": "4→", "4_rev": "4←"}
GOAL_RATIO = 0.75
AB_WORSE_LIMIT = 10.0


def get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or d.get(k) is None:
            return None
        d = d[k]
    return d


def label(name, cmp=None):
    if name in LABELS:
        return LABELS[name][0]
    if name.startswith("ferry-idle") and name[10:].isdigit():
        return f"Ferry idle-sleep {name[10:]}"
    if name.startswith("ferry-spin") and name[10:].isdigit():
        return f"Ferry idle-spin {name[10:]}"
    return name


def is_ferry(name, cmp):
    t = get(cmp, name, "settings", "type") or name
    return t.startswith("ferry")


def paths_of(cmp):
    """Path names in run order: .paths (compare's own list), else the old fixed order."""
    if isinstance(cmp.get("paths"), list):
        names = [p for p in cmp["paths"] if isinstance(cmp.get(p), dict)]
    else:
        names = [p for p in LEGACY_ORDER if isinstance(cmp.get(p), dict)]
        names[1:1] = sorted((k for k in cmp if k.startswith("ferry-idle") and isinstance(cmp[k], dict)))
    return names


def colors(names):
    out, extra = {}, 0
    for n in names:
        if n in LABELS:
            out[n] = LABELS[n][1]
        else:
            out[n] = EXTRA_COLORS[extra % len(EXTRA_COLORS)]
            extra += 1
    return out


def ok(cmp, name):
    r = cmp.get(name)
    return isinstance(r, dict) and "error" not in r


def tcp(cmp, name, case):
    """Median Gbit/s of one TCP case (old results: tcp_1 / tcp_4 are the forward cases)."""
    if not ok(cmp, name):
        return None
    v = get(cmp, name, "tcp", case, "gbps")
    if v is None and case in ("1_fwd", "4_fwd"):
        v = get(cmp, name, "tcp_1" if case == "1_fwd" else "tcp_4", "gbps")
    return v


def tcp_rounds(cmp, name, case):
    return get(cmp, name, "tcp", case, "gbps_rounds") or []


def cpu_per_gbit(cmp, name, part="busy_s"):
    return get(cmp, name, "cpu_per_gbit", part) if ok(cmp, name) else None


def metric(cmp, name, *keys):
    return get(cmp, name, *keys) if ok(cmp, name) else None


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


def fmt_ratio(r):
    return "n/a" if r is None else f"{r:.2f}"


def ratios(cmp, name, ref):
    return [ratio(tcp(cmp, name, c), tcp(cmp, ref, c)) for c, _ in CASES]


def render(header, rows, left=1):
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    lines = []
    for n, row in enumerate([header] + rows):
        cells = [str(c).ljust(widths[i]) if i < left else str(c).rjust(widths[i]) for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def tcp_table(cmp):
    names = paths_of(cmp)
    header = ["path"] + [f"{SHORT[c]} Gbit/s" for c, _ in CASES] + ["x kernel 1→ 1← 4→ 4←", "CPU s/Gbit",
                                                                     "softirq s/Gbit", "data path s/Gbit", "iperf3 s/Gbit"]
    rows = []
    for n in names:
        rs = ratios(cmp, n, "kernel")
        rows.append([label(n)] + [fmt(tcp(cmp, n, c)) for c, _ in CASES]
                    + [" ".join(fmt_ratio(r) for r in rs), fmt(cpu_per_gbit(cmp, n)),
                       fmt(cpu_per_gbit(cmp, n, "softirq_s")), fmt(cpu_per_gbit(cmp, n, "dataplane_s")),
                       fmt(cpu_per_gbit(cmp, n, "iperf3_s"))])
    return render(header, rows)


def rounds_lines(cmp):
    out = []
    for n in paths_of(cmp):
        if not ok(cmp, n):
            continue
        parts = []
        for c, _ in CASES:
            rs = tcp_rounds(cmp, n, c)
            if rs:
                parts.append(f"{SHORT[c]} " + " ".join(fmt(v) for v in rs))
        if parts:
            out.append(f"  {label(n):<26} " + "   ".join(parts))
    return out


def small_table(cmp):
    names = [n for n in paths_of(cmp) if metric(cmp, n, "rate_64") is not None or metric(cmp, n, "rtt") is not None]
    if not names:
        return None
    header = ["path", "64 B delivered kpps", "offered kpps", "lost %", "CPU us/frame", "RTT p50 us", "RTT p99 us",
              "x kernel (64 B, p50)"]
    rows = []
    for n in names:
        pps = metric(cmp, n, "rate_64", "rx_pps")
        p50 = metric(cmp, n, "rtt", "p50_us")
        loss = metric(cmp, n, "rate_64", "loss_ratio")
        per_frame = metric(cmp, n, "rate_64", "cpu_us_per_frame")
        if per_frame is None:  # older results: datapath CPU of the run / frames delivered
            c, f = metric(cmp, n, "rate_64", "cpu", "datapath_s"), metric(cmp, n, "rate_64", "rx_packets")
            per_frame = c * 1e6 / f if c is not None and f else None
        rp = ratio(pps, metric(cmp, "kernel", "rate_64", "rx_pps"))
        rl = ratio(p50, metric(cmp, "kernel", "rtt", "p50_us"))
        rows.append([label(n), fmt(None if pps is None else pps / 1e3),
                     fmt(None if metric(cmp, n, "rate_64", "tx_pps") is None else metric(cmp, n, "rate_64", "tx_pps") / 1e3),
                     fmt(None if loss is None else loss * 100, "%"), fmt(per_frame), fmt(p50),
                     fmt(metric(cmp, n, "rtt", "p99_us")), f"{fmt_ratio(rp)} {fmt_ratio(rl)}"])
    return render(header, rows)


def goals(cmp):
    out = []
    names = paths_of(cmp)
    for n in names:
        if not is_ferry(n, cmp) or n in ("ferry-busy",) or n.startswith(("ferry-idle", "ferry-spin")):
            continue
        rs = ratios(cmp, n, "kernel")
        if all(r is None for r in rs):
            out.append((f"{label(n)}: TCP >= {GOAL_RATIO}x kernel overlay", None, "n/a"))
            continue
        worst = min((r for r in rs if r is not None), default=None)
        met = None not in rs and worst >= GOAL_RATIO
        out.append((f"{label(n)}: TCP >= {GOAL_RATIO}x kernel overlay (all 4)", met,
                    f"worst {fmt_ratio(worst)}x; 1→ 1← 4→ 4←: " + " ".join(fmt_ratio(r) for r in rs)))
    if "ovs" in names:
        for n in names:
            if is_ferry(n, cmp) and n not in ("ferry-busy",) and not n.startswith(("ferry-idle", "ferry-spin")):
                rs = ratios(cmp, n, "ovs")
                out.append((f"{label(n)} / OVS, TCP", None, "1→ 1← 4→ 4←: " + " ".join(fmt_ratio(r) for r in rs)))
    f, k = metric(cmp, "ferry", "rate_64", "rx_pps"), metric(cmp, "kernel", "rate_64", "rx_pps")
    if f is not None or k is not None:
        r = ratio(f, k)
        out.append(("Ferry: 64 B rate >= 2x kernel overlay", r is not None and r >= 2.0,
                    "n/a" if r is None else f"{r:.2f}x ({fmt(f / 1e3)} vs {fmt(k / 1e3)} kpps)"))
    f, k = metric(cmp, "ferry", "rtt", "p50_us"), metric(cmp, "kernel", "rtt", "p50_us")
    if f is not None or k is not None:
        out.append(("Ferry: round trip p50 <= kernel overlay", f is not None and k is not None and f <= k,
                    "n/a" if f is None or k is None else f"{fmt(f)} vs {fmt(k)} us"))
    return out


def counted(items):
    """Distinct items in first-seen order, with " (N rounds)" when repeated."""
    seen = {}
    for i in items:
        seen[i] = seen.get(i, 0) + 1
    return [i if k == 1 else f"{i} ({k} rounds)" for i, k in seen.items()]


def error_lines(cmp):
    out = []
    for n in paths_of(cmp):
        if not ok(cmp, n):
            out.append(f"  {label(n)}: {cmp[n]['error']}")
        for e in counted(get(cmp, n, "round_errors") or []):
            out.append(f"  {label(n)}: a round failed: {e}")
        for c, _ in CASES:
            for e in counted(get(cmp, n, "tcp", c, "errors") or []):
                out.append(f"  {label(n)}, TCP {SHORT[c]}: {e}")
    return out


def noise_note(cmp):
    busy = [b for b in [cmp.get("idle_busy_cpus")] + list(cmp.get("round_busy_cpus") or []) if isinstance(b, (int, float))]
    if busy and max(busy) > 0.2:
        return (f"note: the machine kept {max(busy):.2f} CPUs busy without this run (of {cmp.get('cpus', '?')}): "
                "CPU s/Gbit is inflated by other work; compare ratios within this run only")
    return None


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
    bw = min(34, (gw - 8) / max(1, len(present)))
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
    names = [n for n in paths_of(cmp) if ok(cmp, n)]
    col = colors(paths_of(cmp))
    present = [(n, label(n), col[n]) for n in names]

    def vals(f):
        return {n: f(n) for n in names}

    W, H, pw, ph = 1100, 720, 540, 310
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
           'font-family="DejaVu Sans, Helvetica, Arial, sans-serif">',
           '<style>.t{font-size:15px;font-weight:bold;text-anchor:middle}.n{font-size:11px;fill:#555;'
           'text-anchor:middle}.a{font-size:10px;fill:#555;text-anchor:end}.u{font-size:11px;fill:#555;'
           'text-anchor:middle}.v{font-size:9px;text-anchor:middle}.l{font-size:12px;text-anchor:middle}'
           '.g{stroke:#ddd}.x{stroke:#333}.h{font-size:18px;font-weight:bold}.s{font-size:12px;fill:#444}</style>',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           '<text x="20" y="28" class="h">Ferry, Open vSwitch and the Docker-style kernel overlay, container to '
           'container across two namespace hosts</text>',
           f'<text x="20" y="48" class="s">{html.escape(subtitle(doc))}</text>']
    lx = 20
    for _, name, color in present:
        out.append(f'<rect x="{lx}" y="58" width="12" height="12" fill="{color}"/>')
        out.append(f'<text x="{lx + 16}" y="69" class="s">{html.escape(name)}</text>')
        lx += 30 + 7 * len(name)
    d = cmp.get("durations_s", {})
    rounds = cmp.get("rounds_done", cmp.get("rounds", 1))
    out += panel(10, 80, pw, ph, "TCP throughput (iperf3), median of the rounds", "Gbit/s",
                 [(short, vals(lambda n, c=c: tcp(cmp, n, c))) for c, short in CASES], present,
                 f"{d.get('tcp')} s per run, {rounds} interleaved round(s); higher is better")
    out += panel(550, 80, pw, ph, "CPU per Gbit/s moved (all TCP runs)", "CPU s per Gbit",
                 [("whole machine", vals(lambda n: cpu_per_gbit(cmp, n))),
                  ("softirq", vals(lambda n: cpu_per_gbit(cmp, n, "softirq_s"))),
                  ("data path processes", vals(lambda n: cpu_per_gbit(cmp, n, "dataplane_s")))], present,
                 "/proc/stat busy time over each run / Gbit received; lower is better")
    out += panel(10, 400, pw, ph, "64-byte frames delivered to the receiver", "kpps",
                 [("delivered", vals(lambda n: None if metric(cmp, n, "rate_64", "rx_pps") is None
                                     else metric(cmp, n, "rate_64", "rx_pps") / 1e3)),
                  ("offered by sender", vals(lambda n: None if metric(cmp, n, "rate_64", "tx_pps") is None
                                             else metric(cmp, n, "rate_64", "tx_pps") / 1e3))], present,
                 f"ferry-bench gen tx as fast as it can, {d.get('gen')} s; counted on the receiver's eth0")
    out += panel(550, 400, pw, ph, "UDP round trip, one request in flight", "microseconds (log scale)",
                 [("p50", vals(lambda n: metric(cmp, n, "rtt", "p50_us"))),
                  ("p99", vals(lambda n: metric(cmp, n, "rtt", "p99_us")))], present,
                 f"ferry-bench rtt, {d.get('rtt')} s; lower is better", log=True)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def subtitle(doc):
    cmp = doc["compare"]
    idle = get(cmp, "ferry", "settings", "idle_sleep_us")
    busy = cmp.get("idle_busy_cpus")
    return (f'{doc.get("date", "?")}, {doc.get("machine", "?")}, commit {doc.get("commit", "?")}, '
            f'load average {cmp.get("load_avg_start", "?")} at start'
            + ("" if busy is None else f", {busy} CPUs busy without us")
            + ("" if idle is None else f"; Ferry --idle-sleep-us {idle}"))


# ---- history ---------------------------------------------------------------

HISTORY_END = "<!-- bench-ratios:end -->"


def history_row(doc):
    cmp = doc["compare"]

    def four(name, ref):
        rs = ratios(cmp, name, ref)
        return "n/a" if all(r is None for r in rs) else " / ".join(fmt_ratio(r) for r in rs)

    kern = "n/a" if not ok(cmp, "kernel") else " / ".join(fmt(tcp(cmp, "kernel", c)) for c, _ in CASES)
    ferries = [n for n in ("ferry", "ferry-udp", "ferry-vnet") if ok(cmp, n)]
    best = max(ferries, key=lambda n: tcp(cmp, n, "1_fwd") or 0, default=None)
    vs_ovs = "n/a" if best is None else f"{four(best, 'ovs')} ({best})"
    cpu = " / ".join(fmt(cpu_per_gbit(cmp, n)) for n in ("ferry", "ferry-udp", "ferry-vnet", "ovs", "kernel"))
    load = (cmp.get("load_avg_start") or "?").split()[0]
    busy = cmp.get("idle_busy_cpus")
    return (f'| {doc.get("date", "?")[:16].replace("T", " ")} | {doc.get("machine", "?")} | {doc.get("commit", "?")} | '
            f'{load} / {fmt(busy)} | {cmp.get("rounds_done", cmp.get("rounds", "?"))} | {kern} | '
            f'{four("ferry", "kernel")} | {four("ferry-udp", "kernel")} | {four("ferry-vnet", "kernel")} | '
            f'{four("ovs", "kernel")} | {vs_ovs} | {cpu} |')


def append_history(path, row):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if HISTORY_END not in text:
        print(f"report: {path} has no '{HISTORY_END}' marker; row not added", file=sys.stderr)
        return False
    text = text.replace(HISTORY_END, row + "\n" + HISTORY_END, 1)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return True


# ---- A/B -----------------------------------------------------------------

# (label, getter, unit, better)
AB_METRICS = [
    ("UDP round trip p50", lambda c, n: metric(c, n, "rtt", "p50_us"), "us", "low", "p50_us_rounds"),
    ("UDP round trip p99", lambda c, n: metric(c, n, "rtt", "p99_us"), "us", "low", "p99_us_rounds"),
    ("round trips per second", lambda c, n: metric(c, n, "rtt", "round_trips_per_s"), "/s", "high", None),
    ("64 B delivered", lambda c, n: None if metric(c, n, "rate_64", "rx_pps") is None
     else metric(c, n, "rate_64", "rx_pps") / 1e3, "kpps", "high", "rx_pps_rounds"),
    ("64 B offered by the sender", lambda c, n: None if metric(c, n, "rate_64", "tx_pps") is None
     else metric(c, n, "rate_64", "tx_pps") / 1e3, "kpps", None, None),
    ("data path CPU per 64 B frame", lambda c, n: metric(c, n, "rate_64", "cpu_us_per_frame"), "us", "low", None),
]


def ab_report(doc, base="base", new="new"):
    cmp = doc.get("compare", doc)
    lines = [f'A/B: {get(cmp, base, "settings", "commit") or base} (base) against '
             f'{get(cmp, new, "settings", "commit") or new} (new), path {get(cmp, new, "settings", "type") or "?"}, '
             f'{cmp.get("rounds_done", "?")} interleaved round(s), load average {cmp.get("load_avg_start", "?")} at start']
    rows, worse = [], []
    for name, getter, unit, better, rounds_key in AB_METRICS:
        a, b = getter(cmp, base), getter(cmp, new)
        change = None if a is None or b is None or a == 0 else (b - a) / a * 100
        if change is not None and better is not None:
            worse_pct = change if better == "low" else -change
            if name in ("UDP round trip p50", "64 B delivered") and worse_pct > AB_WORSE_LIMIT:
                worse.append(f"{name} {change:+.1f} %")
        per_round = ""
        if rounds_key:
            sect = "rtt" if rounds_key.startswith("p") else "rate_64"
            scale = 1e-3 if rounds_key == "rx_pps_rounds" else 1
            ra = [v * scale for v in (metric(cmp, base, sect, rounds_key) or []) if v is not None]
            rb = [v * scale for v in (metric(cmp, new, sect, rounds_key) or []) if v is not None]
            if ra or rb:
                per_round = " ".join(fmt(v) for v in ra) + " | " + " ".join(fmt(v) for v in rb)
        rows.append([name, unit, fmt(a), fmt(b), "n/a" if change is None else f"{change:+.1f} %",
                     {"low": "lower", "high": "higher", None: ""}[better], per_round])
    lines.append(render(["metric", "unit", "base", "new", "change", "better", "rounds (base | new)"], rows, left=2))
    for n in (base, new):
        if isinstance(cmp.get(n), dict) and "error" in cmp[n]:
            lines.append(f"  {n}: {cmp[n]['error']}")
    met = not worse and all(getter(cmp, p) is not None for p in (base, new)
                            for nm, getter, *_ in AB_METRICS if nm in ("UDP round trip p50", "64 B delivered"))
    lines.append(f"  new at most {AB_WORSE_LIMIT:.0f} % worse (round trip p50, 64 B delivered): "
                 + ("met" if met else "NOT met" + (f" ({', '.join(worse)})" if worse else " (figures missing)")))
    return "\n".join(lines), met


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("latest")
    ap.add_argument("--svg")
    ap.add_argument("--docs")
    ap.add_argument("--ab", action="store_true", help="the file is an A/B result of bench/compare/ab")
    a = ap.parse_args()
    with open(a.latest, encoding="utf-8") as f:
        doc = json.load(f)
    if "compare" not in doc and "paths" in doc:
        doc = {"compare": doc}
    if a.ab:
        text, _ = ab_report(doc)
        print(text)
        return 0
    cmp = doc.get("compare")
    if not isinstance(cmp, dict) or not paths_of(cmp):
        print("report: no comparison in", a.latest, file=sys.stderr)
        return 1
    print(subtitle(doc))
    print()
    print("TCP, container to container across two hosts (median of the rounds; → c1 to c2, ← c2 to c1):")
    print(tcp_table(cmp))
    lines = rounds_lines(cmp)
    if lines:
        print()
        print("Gbit/s in each round:")
        print("\n".join(lines))
    t = small_table(cmp)
    if t:
        print()
        print(t)
    print()
    for name, met, detail in goals(cmp):
        state = "" if met is None else ("met" if met else "NOT met")
        print(f"  {name:<64} {state:<8} {detail}")
    for line in error_lines(cmp):
        print(line)
    note = noise_note(cmp)
    if note:
        print("  " + note)
    if a.svg:
        with open(a.svg, "w", encoding="utf-8") as f:
            f.write(svg(doc))
        print(f"chart: {a.svg}")
    if a.docs and append_history(a.docs, history_row(doc)):
        print(f"history: row added to {a.docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
