"""Native-time noise: the spread and the runs-needed formula in closed form, `record` warning about a
program whose runs spread beyond +/-15% and storing the spread, and `workload show` printing the
native time with its range, whole when piped, and as JSON."""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from veilperf import cli
from veilperf.trace.noise import Spread, noise_warning
from veilperf.trace.show import load_workload, native_time_text, summarize
from veilperf.units import parse_duration

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "workloads").glob("*.yaml"))


def test_spread_and_runs_needed_in_closed_form():
    """Runs of 100, 100, 100 and 140 ms: median 100, sample standard deviation 20 (mean 110,
    squares 3 x 100 + 900 over 3); 40% above the median, so noisy. The median's 95% half-width is
    1.96 x sqrt(pi/2) x 20 / (100 x sqrt 4) = 24.6%, and (1.96 x 1.2533 x 20 / 15)^2 = 10.9 -> 11 runs."""
    spread = Spread.of([100e6, 100e6, 100e6, 140e6])
    assert (spread.median, spread.low, spread.high, spread.runs) == (100e6, 100e6, 140e6, 4)
    assert spread.stdev == pytest.approx(20e6)
    assert (spread.below, spread.above, spread.noisy) == (0.0, pytest.approx(0.4), True)
    assert spread.median_uncertainty() == pytest.approx(1.96 * math.sqrt(math.pi / 2) * 20 / 200)
    assert spread.runs_needed() == 11
    warning = noise_warning(spread)
    assert "-0%/+40%" in warning and "about 11 runs" in warning and "1.96 x 1.2533" in warning


def test_quiet_runs_and_a_single_run():
    assert noise_warning(Spread.of([100e6, 101e6, 99e6, 102e6])) is None  # within +/-15%
    assert "unknown" in noise_warning(Spread.of([100e6]))  # one kept run cannot show its noise
    quiet_enough = Spread.of([100e6] * 30 + [120e6])  # one slow run in 31: the median is settled
    assert quiet_enough.noisy and "within +/-15%" in noise_warning(quiet_enough)


SLOWING = """import pathlib, time
counter = pathlib.Path({path!r})
n = int(counter.read_text()) if counter.exists() else 0
counter.write_text(str(n + 1))
time.sleep(0.1 * (n % 4 + 1))
"""
"""Runs sleep 100, 200, 300, 400 ms in turn (the warm-up 100): spread by design, far beyond what a
loaded machine adds to a Python start (tens of ms)."""


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_record_warns_about_noisy_runs_and_stores_their_spread(tmp_path, capsys):
    out = tmp_path / "noisy.yaml"
    program = SLOWING.format(path=str(tmp_path / "counter"))
    assert cli.main(["workload", "record", "--out", str(out), "--", sys.executable, "-c", program]) == 0
    err = capsys.readouterr().err
    warning = next(line for line in err.splitlines() if line.startswith("veilperf: warning: the native runs"))
    assert "beyond +/-15%" in warning and "runs (--runs" in warning
    data = yaml.safe_load(out.read_text())
    native = data["provenance"]["native"]
    low, wall, high = (parse_duration(native[k]) for k in ("low", "wall", "high"))
    assert max(wall - low, high - wall) > 0.15 * wall  # stored: the spread the warning is about
    assert parse_duration(native["stdev"]) > 0.1 * wall
    assert "noise: the native runs spread" in data["provenance"]["notes"]
    assert main_out(["workload", "show", str(out)], capsys).count("noisy: runs beyond +/-15%") == 1


def main_out(argv: list[str], capsys) -> str:
    capsys.readouterr()
    assert cli.main(argv) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_show_piped_prints_whole_values(path, capsys):
    """Piped (not a terminal), nothing is cut: no ellipsis, every top call's name and the
    footprint's source in full."""
    out = main_out(["workload", "show", str(path)], capsys)
    assert "…" not in out
    spec = load_workload(path)
    top = sorted(summarize(spec).by_call.items(), key=lambda kv: (-kv[1].calls, kv[0]))[:10]
    assert all(f" {name} " in out for name, _ in top)
    if spec.provenance.footprint_source:
        assert spec.provenance.footprint_source in out
    if spec.provenance.native is not None:
        assert native_time_text(spec) in out


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_show_json_carries_the_summary(path, capsys):
    shown = json.loads(main_out(["workload", "show", "--json", str(path)], capsys))
    spec = load_workload(path)
    summary = summarize(spec)
    assert shown["expected_run_ns"] == pytest.approx(summary.wall_ns)
    assert sum(c["calls"] for c in shown["syscalls"]) == pytest.approx(summary.calls)
    assert shown["threads"] == spec.threads and shown["name"] == spec.name
    raw = yaml.safe_load(path.read_text())["provenance"].get("native")
    if raw is None:
        assert shown["native"] is None
    else:
        assert shown["native"]["wall_ns"] == pytest.approx(parse_duration(raw["wall"]))
        assert shown["native"]["low_ns"] == pytest.approx(parse_duration(raw["low"]))
        low, wall, high = (parse_duration(raw[k]) for k in ("low", "wall", "high"))
        assert shown["native"]["noisy"] == (max(high / wall - 1, 1 - low / wall) > 0.15)
