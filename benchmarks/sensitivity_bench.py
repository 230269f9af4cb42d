"""Benchmark: a Morris sensitivity study against the full sweep, and what the studies find.

Measures in one run, on 2 workers, from empty results: (1) the full ``veilperf sweep
configs/*.yaml`` (simulation only, no figures), (2) a Morris study of ``configs/enclave.yaml`` over
all its assumed costs (``--trajectories``, default 10), and their ratio (target, issue 15: at most
3x). Then a Morris study of ``configs/boot.yaml`` (its cost is reported too), and for the boot claim
and each shipped workload's enclave overhead: the dominant assumptions and the 5-95% range.
It asserts nothing. Run: ``python benchmarks/sensitivity_bench.py [--jobs 2] [--trajectories 10]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from veilperf.commands.sensitivity import summary_lines
from veilperf.sensitivity.runner import run_sensitivity
from veilperf.sweep.engine import run_sweep

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--trajectories", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="veilperf-sens-bench-") as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        sweep = run_sweep(sorted(CONFIGS.glob("*.yaml")), results_dir=root / "sweep", jobs=args.jobs)
        sweep_s = time.perf_counter() - start
        points = sum(e.points for e in sweep.experiments)
        print(f"full sweep configs/*.yaml: {points} points in {sweep_s:.1f} s on {args.jobs} workers")

        studies = {}
        for name in ("enclave", "boot"):
            start = time.perf_counter()
            studies[name] = run_sensitivity(CONFIGS / f"{name}.yaml", method="morris", samples=args.trajectories,
                                            results_dir=root / "sens", jobs=args.jobs)
            seconds = time.perf_counter() - start
            result = studies[name]
            print(f"Morris study of configs/{name}.yaml: {args.trajectories} trajectories x "
                  f"{len(result.study.plan.assumptions) + 1} points, {result.sweep.experiments[0].points} runs "
                  f"in {seconds:.1f} s on {args.jobs} workers ({seconds / sweep_s:.2f}x the full sweep)")
            if name == "enclave":
                print(f"ratio enclave study / full sweep: {seconds / sweep_s:.2f} (target <= 3)")
        for name, result in studies.items():
            print()
            print("\n".join(summary_lines(result)))


if __name__ == "__main__":
    main()
