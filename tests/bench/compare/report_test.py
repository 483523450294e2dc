#!/usr/bin/env python3
"""Unit test of bench/compare/report.py: table, goals, SVG and history row
from a fixed comparison (no root, no network)."""

import json
import os
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPORT = os.path.join(HERE, "..", "..", "..", "bench", "compare", "report.py")


def path_result(tcp1, pps, p50, cpu64, rx_packets):
    return {
        "tcp_1": {"gbps": tcp1, "cpu": {"datapath_s": 1.0}},
        "tcp_4": {"gbps": tcp1 * 1.1, "cpu": {"datapath_s": 1.2}},
        "rate_64": {"rx_pps": pps, "tx_pps": pps * 2, "rx_packets": rx_packets, "loss_ratio": 0.5,
                    "cpu": {"datapath_s": cpu64}},
        "rtt": {"p50_us": p50, "p99_us": p50 * 10, "cpu": {"datapath_s": 0.1}},
    }


DOC = {
    "date": "2026-11-29T20:00:00Z",
    "machine": "2 vCPU test",
    "commit": "abc1234",
    "compare": {
        "load_avg_start": "1.00 0.50 0.20",
        "durations_s": {"tcp": 5, "gen": 5, "rtt": 3},
        "ferry": dict(path_result(1.0, 200e3, 50.0, 2.0, 1_000_000), settings={"idle_sleep_us": 100}),
        "ferry-busy": path_result(0.8, 150e3, 20.0, 3.0, 750_000),
        "kernel": path_result(5.0, 50e3, 25.0, 1.0, 250_000),
        "plain": {"error": "set-up failed"},
    },
}


class ReportTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.json = os.path.join(self.dir.name, "latest.json")
        with open(self.json, "w", encoding="utf-8") as f:
            json.dump(DOC, f)

    def tearDown(self):
        self.dir.cleanup()

    def run_report(self, *args):
        r = subprocess.run([sys.executable, REPORT, self.json, *args], capture_output=True, text=True, check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_table_ratios_and_goals(self):
        out = self.run_report()
        self.assertIn("64 B delivered", out)
        self.assertRegex(out, r"64 B delivered\s+kpps\s+200\s+150\s+50\.0\s+n/a\s+4\.00x")
        self.assertRegex(out, r"TCP, 1 stream\s+Gbit/s\s+1\.00\s+0\.80\s+5\.00\s+n/a\s+0\.20x")
        # CPU per frame: 2.0 s / 1 M frames = 2 us; kernel 1.0 s / 250 k = 4 us.
        self.assertRegex(out, r"per delivered 64 B frame\s+us\s+2\.00\s+4\.00\s+4\.00\s+n/a\s+0\.50x")
        self.assertRegex(out, r"64 B rate >= 2x kernel overlay\s+met")
        self.assertRegex(out, r"round trip p50 <= kernel overlay\s+NOT met\s+50\.0 vs 25\.0 us")
        self.assertIn("plain bridge: set-up failed", out)

    def test_svg_is_well_formed(self):
        svg = os.path.join(self.dir.name, "chart.svg")
        self.run_report("--svg", svg)
        root = ET.parse(svg).getroot()
        self.assertTrue(root.tag.endswith("svg"))
        with open(svg, encoding="utf-8") as f:
            text = f.read()
        for want in ("TCP throughput", "64-byte frames", "round trip", "CPU seconds", "kernel overlay", "abc1234"):
            self.assertIn(want, text)

    def test_history_row_goes_before_the_end_marker(self):
        md = os.path.join(self.dir.name, "bench.md")
        with open(md, "w", encoding="utf-8") as f:
            f.write("# x\n\n| a |\n|---|\n<!-- bench-history:end -->\ntail\n")
        self.run_report("--docs", md)
        self.run_report("--docs", md)
        with open(md, encoding="utf-8") as f:
            lines = f.read().splitlines()
        end = lines.index("<!-- bench-history:end -->")
        self.assertTrue(lines[end - 1].startswith("| 2026-11-29 20:00 | 2 vCPU test | abc1234 | 1.00 |"))
        self.assertTrue(lines[end - 2].startswith("| 2026-11-29 20:00 |"))
        self.assertIn("| 1.00 / 5.00 / n/a |", lines[end - 1])
        self.assertEqual(lines[-1], "tail")

    def test_no_comparison_is_an_error(self):
        with open(self.json, "w", encoding="utf-8") as f:
            json.dump({"compare": {"skipped": "needs root"}}, f)
        r = subprocess.run([sys.executable, REPORT, self.json], capture_output=True, text=True, check=False)
        self.assertEqual(r.returncode, 1)


if __name__ == "__main__":
    unittest.main()
