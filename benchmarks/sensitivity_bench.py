"""Benchmark: a Morris sensitivity study against the full sweep, and what the studies find.

Measures in one run, on 2 workers, from empty results: (1) the full ``veilperf sweep
configs/*.yaml`` (simulation only, no figures), (2) a Morris study of ``configs/enclave.yaml`` over
all its assumed costs (``--trajectories``, default 10), and their ratio (target, issue 15: at most
3x), in wall time and in CPU time of this process and its workers (the CPU ratio does not move
when other jobs share the machine; the wall ratio does). Then a Morris study of ``configs/boot.yaml`` (its cost is reported too), and for the boot claim
and each shipped workload's enclave overhead: the dominant assumptions and the 5-95% range.
It asserts nothing. Run: ``python benchmarks/sensitivity_bench.py [--jobs 2] [--trajectories 10]``.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from veilperf.commands.sensitivity import summary_lines
from veilperf.sensitivity.runner import run_sensitivity
from veilperf.sweep.engine import run_sweep

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def cpu_seconds() -> float:
    """CPU time of this process and its finished workers (a pool's workers are reaped at its end)."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--trajectories", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="veilperf-sens-bench-") as tmp:
        root = Path(tmp)
        start, cpu = time.perf_counter(), cpu_seconds()
        sweep = run_sweep(sorted(CONFIGS.glob("*.yaml")), results_dir=root / "sweep", jobs=args.jobs)
        sweep_s, sweep_cpu = time.perf_counter() - start, cpu_seconds() - cpu
        points = sum(e.points for e in sweep.experiments)
        print(f"full sweep configs/*.yaml: {points} points in {sweep_s:.1f} s wall, {sweep_cpu:.1f} s CPU "
              f"on {args.jobs} workers")

        studies = {}
        for name in ("enclave", "boot"):
            start, cpu = time.perf_counter(), cpu_seconds()
            studies[name] = run_sensitivity(CONFIGS / f"{name}.yaml", method="morris", samples=args.trajectories,
                                            results_dir=root / "sens", jobs=args.jobs)
            seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
            result = studies[name]
            print(f"Morris study of configs/{name}.yaml: {args.trajectories} trajectories x "
                  f"{len(result.study.plan.assumptions) + 1} points, {result.sweep.experiments[0].points} runs "
                  f"in {seconds:.1f} s wall, {cpu:.1f} s CPU on {args.jobs} workers")
            print(f"  ratio to the full sweep: {seconds / sweep_s:.2f} wall, {cpu / sweep_cpu:.2f} CPU"
                  + (" (target <= 3)" if name == "enclave" else ""))
        for result in studies.values():
            print()
            print("\n".join(summary_lines(result)))


if __name__ == "__main__":
    main()
