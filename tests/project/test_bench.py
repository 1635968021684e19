"""The benchmarks run and print the figures issues 3 and 7 ask for (tiny sizes: a smoke test, no timings)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def run_bench(script: str, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, str(BENCH / script), *args], capture_output=True, text=True, check=True, timeout=300
    ).stdout
    assert out.count("\n") == 1, "one JSON object on one line"
    return json.loads(out)


def test_negotiation_bench_prints_cycle_speedup_and_scaling():
    r = run_bench(
        "negotiation.py",
        *("--jobs", "4000", "--cores", "4000", "--autoclusters", "40", "--submitters", "10"),
        *("--sample-autoclusters", "5", "--sample-slots", "200", "--scaling-jobs", "2000,4000", "--json"),
    )
    for key in ("wall_s", "peak_rss_mb", "matches", "autoclusters", "speedup_vs_classad2"):
        assert key in r, key
    assert r["jobs"] == 4000 and 0 < r["matches"] <= 4000
    assert r["matching_subsample"]["pairs"] == 5 * 200
    rows = {row["jobs"]: row for row in r["scaling"]}
    assert set(rows) == {2000, 4000}
    assert rows[4000]["wall_s"] == r["wall_s"], "the run's own size is its own cycle, not run again"
    assert rows[2000]["autoclusters"] <= 40, "a scaling child keeps the run's generator settings"


def test_simulate_bench_completes_every_job():
    r = run_bench("simulate.py", "--jobs", "3000", "--days", "0.2")
    assert r["jobs"] == r["completed"] == 3000
    for key in ("wall_s", "peak_rss_mb", "cycles", "cost", "utilization"):
        assert key in r, key
