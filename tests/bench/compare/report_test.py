#!/usr/bin/env python3
"""Unit test of bench/compare/report.py: TCP table with ratios, rounds, goals,
SVG, history row and the A/B report, from fixed comparisons (no root, no
network)."""

import contextlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPORT = os.path.join(HERE, "..", "..", "..", "bench", "compare", "report.py")
_spec = importlib.util.spec_from_file_location("report", REPORT)
report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)


def run_main(*args):
    """report.py's main() in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = [REPORT, *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = report.main()
    finally:
        sys.argv = argv
    return code, out.getvalue(), err.getvalue()


def window(rounds, busy=4.0):
    """A TCP case as compare aggregates it: median and per-round Gbit/s."""
    s = sorted(rounds)
    return {"gbps": s[len(s) // 2], "gbps_rounds": rounds, "cpu_s_per_gbit": busy / max(s[len(s) // 2], 0.01) / 3,
            "cpu": {"busy_s": busy, "softirq_s": 0.5, "dataplane_s": 1.0, "iperf3_s": 0.3, "datapath_s": 1.5}}


def path_result(kind, g1f, g1r, g4f, g4r, busy_per_gbit, pps=None, p50=None):
    r = {
        "tcp": {"1_fwd": window([g1f * 0.9, g1f, g1f * 1.1]), "1_rev": window([g1r, g1r, g1r]),
                "4_fwd": window([g4f, g4f * 1.2, g4f * 0.8]), "4_rev": window([g4r, g4r, g4r])},
        "cpu_per_gbit": {"busy_s": busy_per_gbit, "softirq_s": busy_per_gbit / 4, "dataplane_s": busy_per_gbit / 2,
                         "iperf3_s": 0.1, "gbit": 10.0},
        "settings": {"type": kind},
    }
    r["tcp_1"], r["tcp_4"] = r["tcp"]["1_fwd"], r["tcp"]["4_fwd"]
    if pps is not None:
        r["rate_64"] = {"rx_pps": pps, "tx_pps": pps * 2, "loss_ratio": 0.5, "cpu_us_per_frame": 4.0,
                        "rx_pps_rounds": [pps * 0.9, pps, pps * 1.1]}
    if p50 is not None:
        r["rtt"] = {"p50_us": p50, "p99_us": p50 * 10, "round_trips_per_s": 1e6 / p50,
                    "p50_us_rounds": [p50, p50 * 1.1, p50 * 0.9], "p99_us_rounds": [p50 * 10] * 3}
    return r


COMPARE = {
    "load_avg_start": "1.00 0.50 0.20",
    "idle_busy_cpus": 0.05,
    "round_busy_cpus": [0.05, 0.1, 0.08],
    "cpus": 2,
    "durations_s": {"tcp": 3, "gen": 5, "rtt": 3},
    "rounds": 3,
    "rounds_done": 3,
    "paths": ["ferry", "ferry-udp", "ferry-vnet", "ovs", "kernel", "plain"],
    "ferry": path_result("ferry", 1.0, 1.2, 1.1, 1.3, 2.0, pps=200e3, p50=50.0),
    "ferry-udp": path_result("ferry-udp", 2.0, 2.0, 2.0, 2.0, 1.5),
    "ferry-vnet": path_result("ferry-vnet", 8.0, 9.0, 10.0, 11.0, 0.4),
    "ovs": path_result("ovs", 1.0, 1.0, 2.0, 2.0, 3.0),
    "kernel": path_result("kernel", 10.0, 10.0, 12.5, 11.0, 0.25, pps=50e3, p50=25.0),
    "plain": {"error": "set-up failed"},
}

DOC = {"date": "2026-12-07T20:00:00Z", "machine": "2 vCPU test", "commit": "abc1234", "compare": COMPARE}


class ReportTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.json = os.path.join(self.dir.name, "latest.json")
        self.write(DOC)

    def tearDown(self):
        self.dir.cleanup()

    def write(self, doc):
        with open(self.json, "w", encoding="utf-8") as f:
            json.dump(doc, f)

    def run_report(self, *args):
        code, out, err = run_main(self.json, *args)
        self.assertEqual(code, 0, err)
        return out

    def test_tcp_table_has_medians_ratios_and_cpu(self):
        out = self.run_report()
        # Ferry: 1.0 / 1.2 / 1.1 / 1.3 Gbit/s against the kernel's 10 / 10 / 12.5 / 11.
        self.assertRegex(out, r"\nFerry\s+1\.00\s+1\.20\s+1\.10\s+1\.30\s+0\.10 0\.12 0\.09 0\.12\s+2\.00\s+0\.50\s+1\.00\s+0\.10")
        self.assertRegex(out, r"\nFerry, vnet \+ UDP uplink\s+8\.00\s+9\.00\s+10\.0\s+11\.0\s+0\.80 0\.90 0\.80 1\.00\s+0\.40")
        self.assertRegex(out, r"\nOVS userspace \(afxdp\)\s+1\.00\s+1\.00\s+2\.00\s+2\.00\s+0\.10 0\.10 0\.16 0\.18\s+3\.00")
        self.assertRegex(out, r"\nkernel overlay\s+10\.0\s+10\.0\s+12\.5\s+11\.0\s+1\.00 1\.00 1\.00 1\.00\s+0\.25")
        self.assertRegex(out, r"\nplain bridge\s+n/a\s+n/a\s+n/a\s+n/a\s+n/a n/a n/a n/a\s+n/a")

    def test_every_round_is_listed(self):
        out = self.run_report()
        # 4 streams forward of Ferry: 1.1, 1.32, 0.88 in run order.
        self.assertRegex(out, r"  Ferry\s+1→ 0\.90 1\.00 1\.10\s+1← 1\.20 1\.20 1\.20\s+4→ 1\.10 1\.32 0\.88")

    def test_goals_and_ovs_ratio(self):
        out = self.run_report()
        self.assertRegex(out, r"Ferry: TCP >= 0\.75x kernel overlay \(all 4\)\s+NOT met\s+worst 0\.09x")
        self.assertRegex(out, r"Ferry, vnet \+ UDP uplink: TCP >= 0\.75x kernel overlay \(all 4\)\s+met\s+worst 0\.80x")
        self.assertRegex(out, r"Ferry, vnet \+ UDP uplink / OVS, TCP\s+1→ 1← 4→ 4←: 8\.00 9\.00 5\.00 5\.50")
        self.assertRegex(out, r"Ferry: 64 B rate >= 2x kernel overlay\s+met\s+4\.00x")
        self.assertRegex(out, r"Ferry: round trip p50 <= kernel overlay\s+NOT met\s+50\.0 vs 25\.0 us")
        self.assertIn("plain bridge: set-up failed", out)
        self.assertNotIn("note: the machine kept", out)

    def test_errors_are_listed_once_with_their_count(self):
        vnet = path_result("ferry-vnet", 0, 0, 0, 0, 1.0)
        vnet["tcp"]["1_fwd"]["errors"] = ["unable to connect", "unable to connect", "other"]
        self.write(dict(DOC, compare=dict(COMPARE, **{"ferry-vnet": vnet})))
        out = self.run_report()
        self.assertIn("Ferry, vnet + UDP uplink, TCP 1→: unable to connect (2 rounds)\n", out)
        self.assertIn("Ferry, vnet + UDP uplink, TCP 1→: other\n", out)

    def test_busy_machine_is_flagged(self):
        self.write(dict(DOC, compare=dict(COMPARE, round_busy_cpus=[0.1, 1.5, 0.2])))
        self.assertIn("note: the machine kept 1.50 CPUs busy without this run", self.run_report())

    def test_64_byte_and_round_trip_table(self):
        out = self.run_report()
        self.assertRegex(out, r"\nFerry\s+200\s+400\s+50\s+4\.00\s+50\.0\s+500\s+4\.00 2\.00")

    def test_svg_is_well_formed(self):
        svg = os.path.join(self.dir.name, "chart.svg")
        self.run_report("--svg", svg)
        root = ET.parse(svg).getroot()
        self.assertTrue(root.tag.endswith("svg"))
        with open(svg, encoding="utf-8") as f:
            text = f.read()
        for want in ("TCP throughput", "CPU per Gbit", "64-byte frames", "round trip", "kernel overlay",
                     "OVS userspace", "abc1234"):
            self.assertIn(want, text)

    def test_history_row_has_the_ratios(self):
        md = os.path.join(self.dir.name, "bench.md")
        with open(md, "w", encoding="utf-8") as f:
            f.write("# x\n\n| a |\n|---|\n<!-- bench-ratios:end -->\ntail\n")
        self.run_report("--docs", md)
        self.run_report("--docs", md)
        with open(md, encoding="utf-8") as f:
            lines = f.read().splitlines()
        end = lines.index("<!-- bench-ratios:end -->")
        row = lines[end - 1]
        self.assertTrue(row.startswith("| 2026-12-07 20:00 | 2 vCPU test | abc1234 | 1.00 / 0.05 | 3 |"), row)
        self.assertIn("| 10.0 / 10.0 / 12.5 / 11.0 |", row)
        self.assertIn("| 0.10 / 0.12 / 0.09 / 0.12 |", row)
        self.assertIn("| 0.80 / 0.90 / 0.80 / 1.00 |", row)
        self.assertIn("| 8.00 / 9.00 / 5.00 / 5.50 (ferry-vnet) |", row)
        self.assertIn("| 2.00 / 1.50 / 0.40 / 3.00 / 0.25 |", row)
        self.assertTrue(lines[end - 2].startswith("| 2026-12-07 20:00 |"))
        self.assertEqual(lines[-1], "tail")

    def test_compare_output_alone_is_accepted(self):
        self.write(COMPARE)
        self.assertIn("kernel overlay", self.run_report())

    def test_old_results_still_render(self):
        old = {"compare": {"load_avg_start": "1 1 1", "durations_s": {"tcp": 5},
                           "ferry": {"tcp_1": {"gbps": 1.0}, "tcp_4": {"gbps": 2.0}},
                           "kernel": {"tcp_1": {"gbps": 4.0}, "tcp_4": {"gbps": 4.0}}}}
        self.write(old)
        self.assertRegex(self.run_report(), r"\nFerry\s+1\.00\s+n/a\s+2\.00\s+n/a\s+0\.25 n/a 0\.50 n/a")

    def test_no_comparison_is_an_error(self):
        self.write({"compare": {"skipped": "needs root"}})
        self.assertEqual(run_main(self.json)[0], 1)

    def test_runs_as_a_program(self):
        r = subprocess.run([sys.executable, REPORT, self.json], capture_output=True, text=True, check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("kernel overlay", r.stdout)


class AbTest(unittest.TestCase):
    def run_ab(self, base, new):
        ab = {"load_avg_start": "1 1 1", "rounds_done": 3, "paths": ["base", "new"], "base": base, "new": new}
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(ab, f)
        try:
            code, out, err = run_main("--ab", f.name)
        finally:
            os.unlink(f.name)
        self.assertEqual(code, 0, err)
        return out

    def test_change_in_percent_and_within_10_percent(self):
        base = dict(path_result("ferry", 1, 1, 1, 1, 1, pps=100e3, p50=40.0), settings={"type": "ferry", "commit": "aaa"})
        new = dict(path_result("ferry", 1, 1, 1, 1, 1, pps=95e3, p50=42.0), settings={"type": "ferry", "commit": "bbb"})
        out = self.run_ab(base, new)
        self.assertIn("aaa (base) against bbb (new)", out)
        self.assertRegex(out, r"UDP round trip p50\s+us\s+40\.0\s+42\.0\s+\+5\.0 %\s+lower\s+40\.0 44\.0 36\.0 \| 42\.0 46\.2 37\.8")
        self.assertRegex(out, r"64 B delivered\s+kpps\s+100\s+95\.0\s+-5\.0 %\s+higher")
        self.assertRegex(out, r"at most 10 % worse \(round trip p50, 64 B delivered\): met")

    def test_more_than_10_percent_worse_is_not_met(self):
        base = path_result("ferry", 1, 1, 1, 1, 1, pps=100e3, p50=40.0)
        new = path_result("ferry", 1, 1, 1, 1, 1, pps=85e3, p50=40.0)
        out = self.run_ab(base, new)
        self.assertRegex(out, r"NOT met \(64 B delivered -15\.0 %\)")

    def test_missing_side_is_not_met(self):
        out = self.run_ab(path_result("ferry", 1, 1, 1, 1, 1, pps=100e3, p50=40.0), {"error": "set-up failed"})
        self.assertIn("new: set-up failed", out)
        self.assertIn("NOT met (figures missing)", out)


if __name__ == "__main__":
    unittest.main()
