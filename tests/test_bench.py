"""The benchmark suite's harness and CLI (bench/): fast, no TensorFlow."""

import json
import os
import subprocess
import sys

import pytest

from bench import harness
from bench.__main__ import AREAS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_summarize_median_and_spread():
    s = harness.summarize([0.3, 0.1, 0.2, 0.5])
    assert s["median_s"] == pytest.approx(0.25)
    assert (s["min_s"], s["max_s"], s["n"]) == (0.1, 0.5, 4)
    assert s["spread"] == pytest.approx(0.4 / 0.25)


def test_time_uses_warmup_and_repeats_on_a_fake_clock(tmp_path):
    # A fake clock that advances by each call's "duration": the first call
    # (warm-up, as a compile would be) takes 10 s, the timed ones 1, 2, 3 s.
    durations = iter([10.0, 1.0, 3.0, 2.0])
    now = [0.0]
    pending = []

    def clock():
        if pending:
            now[0] += pending.pop()
        return now[0]

    def fn():
        pending.append(next(durations))

    lines = []
    bench = harness.Bench(repeats=3, warmup=1, log=lines.append)
    bench.area = "fake"
    result = bench.time("fake call", fn, clock=clock, size=64)
    assert result["first_s"] == 10.0
    assert result["times_s"] == [1.0, 3.0, 2.0]
    assert result["median_s"] == 2.0 and result["spread"] == 1.0
    assert result["params"] == {"size": 64} and result["area"] == "fake"
    bench.record("throughput", 42.0, "images/s")
    path = tmp_path / "out.json"
    bench.write_json(str(path))
    data = json.loads(path.read_text())
    assert [r["name"] for r in data["results"]] == ["fake call", "throughput"]
    assert data["results"][0]["median_s"] == 2.0
    machine = data["machine"]
    for key in ("cpu_model", "cpu_count", "cpu_flags", "load_average", "versions"):
        assert key in machine
    assert len(lines) == 2


def test_help_lists_every_area():
    out = subprocess.run([sys.executable, "-m", "bench", "--help"], cwd=REPO,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    for area in AREAS + ("all",):
        assert f"  {area}" in out
