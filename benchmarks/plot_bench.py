"""Benchmark: `veilperf plot` + `veilperf report` from stored results against the simulation time of
the full sweep with 2 workers, in one run on one machine.

Target (issue 13): plot + report take at most 0.3x the simulation time. Steps: (1) simulate every
shipped experiment into an empty results folder with 2 workers (the sweep engine alone: no
figures, no report); (2) `veilperf plot` into an empty figure folder (every figure drawn), then
`veilperf report` (figures current: reused; report and overheads.csv written), each as its own
process so interpreter start and imports count; (3) the same two commands again, nothing changed
(what a rerun costs); (4) whether a forced redraw gives byte-identical figures. Prints figures,
asserts nothing. Run: ``python benchmarks/plot_bench.py [--jobs 2] [--results DIR]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from veilperf.sweep.engine import run_sweep

ROOT = Path(__file__).resolve().parents[1]


def timed(*args: str) -> float:
    """Wall seconds of one `veilperf` command in a fresh interpreter."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "veilperf.cli", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.png"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--results", type=Path, help="results folder (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        results = args.results or Path(scratch) / "results"
        summary = run_sweep(sorted(ROOT.glob("configs/*.yaml")), results_dir=results, jobs=args.jobs, force=True)
        simulation = summary.wall_s
        runs = sum(e.points for e in summary.experiments)
        print(f"(1) simulation, {runs} points, {args.jobs} workers: {simulation:.1f} s")

        figures = results / "figures"
        plot_cold = timed("plot", str(results), "--out", str(figures))
        report_cold = timed("report", str(results))
        cold = plot_cold + report_cold
        print(f"(2) plot (all drawn) {plot_cold:.1f} s + report (figures reused) {report_cold:.1f} s = {cold:.1f} s"
              f" -> {cold / simulation:.2f}x the simulation time (target <= 0.3x)")

        plot_warm = timed("plot", str(results), "--out", str(figures))
        report_warm = timed("report", str(results))
        warm = plot_warm + report_warm
        print(f"(3) nothing changed: plot {plot_warm:.1f} s + report {report_warm:.1f} s = {warm:.1f} s"
              f" -> {warm / simulation:.2f}x")

        before = snapshot(figures)
        timed("plot", str(results), "--out", str(figures), "--force")
        same = before == snapshot(figures)
        print(f"(4) {len(before)} figures redrawn with --force: {'byte-identical' if same else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
