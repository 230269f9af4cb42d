"""Benchmark: `veilperf plot` + `veilperf report` from stored results against the simulation time of
the full sweep with 2 workers, in one run on one machine.

Target (issue 13): plot + report take at most 0.3x the simulation time. Steps: (1) simulate every
shipped experiment into an empty results folder with 2 workers (the sweep engine alone: no
figures, no report); (2) `veilperf plot` into an empty figure folder (every figure drawn), then
`veilperf report` (figures current: reused; report and overheads.csv written), each as its own
process so interpreter start and imports count; (3) the same two commands again, nothing changed
(what a rerun costs); (4) whether a forced redraw gives byte-identical figures; (5) `veilperf
report` alone from the results only (what refreshing the whole product costs in one command).
Beside each wall time, the CPU seconds it used (all processes): on a shared machine the CPU ratio
moves less than the wall ratio. Prints figures, asserts nothing.
Run: ``python benchmarks/plot_bench.py [--jobs 2] [--results DIR]``.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from veilperf.sweep.engine import run_sweep

ROOT = Path(__file__).resolve().parents[1]


def cpu_seconds() -> float:
    """User + system CPU of this process and of every child it has waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(*args: str) -> tuple[float, float]:
    """Wall and CPU seconds of one `veilperf` command in a fresh interpreter (its drawing processes
    included)."""
    start, cpu = time.perf_counter(), cpu_seconds()
    subprocess.run([sys.executable, "-m", "veilperf.cli", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, cpu_seconds() - cpu


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.png"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--results", type=Path, help="results folder (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        results = args.results or Path(scratch) / "results"
        cpu = cpu_seconds()
        summary = run_sweep(sorted(ROOT.glob("configs/*.yaml")), results_dir=results, jobs=args.jobs, force=True)
        simulation, simulation_cpu = summary.wall_s, cpu_seconds() - cpu
        runs = sum(e.points for e in summary.experiments)
        print(f"(1) simulation, {runs} points, {args.jobs} workers: {simulation:.1f} s (CPU {simulation_cpu:.1f} s)")

        figures = results / "figures"
        for step, what in (("(2)", "plot (all drawn)"), ("(3)", "nothing changed: plot")):
            (plot, plot_cpu), (report, report_cpu) = (timed("plot", str(results), "--out", str(figures)),
                                                      timed("report", str(results)))
            wall, cpu = plot + report, plot_cpu + report_cpu
            reuse = " (figures reused)" if step == "(2)" else ""
            print(f"{step} {what} {plot:.1f} s + report{reuse} {report:.1f} s = {wall:.1f} s"
                  f" -> {wall / simulation:.2f}x the simulation time" + (" (target <= 0.3x)" if step == "(2)" else "")
                  + f"; CPU {plot_cpu:.1f} + {report_cpu:.1f} = {cpu:.1f} s -> {cpu / simulation_cpu:.2f}x")

        before = snapshot(figures)
        timed("plot", str(results), "--out", str(figures), "--force")
        same = before == snapshot(figures)
        print(f"(4) {len(before)} figures redrawn with --force: {'byte-identical' if same else 'DIFFERENT'}")

        shutil.rmtree(figures)
        for written in (results / "REPORT.md", results / "overheads.csv"):
            written.unlink()
        alone, alone_cpu = timed("report", str(results))
        print(f"(5) report alone from the results only (figures drawn, report written, one command):"
              f" {alone:.1f} s -> {alone / simulation:.2f}x; CPU {alone_cpu:.1f} s")


if __name__ == "__main__":
    main()
