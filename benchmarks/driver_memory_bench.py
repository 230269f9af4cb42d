"""Benchmark: peak memory (RSS) and wall time of the process that drives a sensitivity study.

A Sobol study of ``configs/enclave.yaml`` over its 12 assumed costs: ``--samples 128`` plans
12,551 points, ``--samples 1024`` plans 100,359 (7 workloads x samples x 14, plus 7 baselines).
Each study runs in a fresh interpreter (``veilperf.sensitivity.run_sensitivity``, the library
entry point of ``veilperf sensitivity``, into an empty results folder) on local worker processes
or on a Dask ``LocalCluster`` (whose scheduler runs in the driving process, so it is counted);
that interpreter reports its own peak RSS (``ru_maxrss``: the driver only, never its workers)
and the wall time of each phase: building the study, planning (expanding and validating every
point on the workers; for Dask this includes starting the cluster), running, compacting (and
closing the workers), the outcomes. It also counts the part files the driver wrote: their bytes
per row.

What is measured, exactly: every point is planned, validated on the workers, batched, run on a
worker, written to part files, compacted into ``runs.parquet`` and read back for the outcomes, as
in a real study; only the simulation is replaced by a stand-in runner (issue 23's 46,599 simulated
enclave points took 2,810 s on 2 workers: 100,359 would take about 1.7 h). The stand-in returns the
point's own labels and config columns and the metrics of one real simulation of its workload and
mode (simulated once per worker), so rows have their real width, but the study's indices are
meaningless. ``--simulate`` runs the real simulation instead.

Run: ``python benchmarks/driver_memory_bench.py [--samples 128 1024] [--executor local dask]
[--jobs 2] [--simulate]``. It asserts nothing. The same script measures another checkout with
``PYTHONPATH=/path/to/checkout``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "enclave.yaml"

_MEASURED: dict[tuple, dict] = {}


def stand_in(config) -> dict:
    """A point's record without simulating it (see the module docstring)."""
    from veilperf import run

    key = (config.workload.name if config.workload is not None else "boot", config.setup.mode)
    if key not in _MEASURED:
        _MEASURED[key] = {k: v for k, v in run.run_config(config).items() if not k.startswith("cfg.")}
    return {**_MEASURED[key], **run.config_columns(config)}


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(samples: int, executor: str, jobs: int, simulate: bool) -> dict:
    """One study in this interpreter; returns what it measured: per phase, the driver's peak RSS
    (MiB) when it ended and its seconds; and the part files the driver wrote."""
    from functools import partial

    from veilperf.sensitivity import runner as study_runner
    from veilperf.sweep import engine
    from veilperf.sweep.store import ResultsStore

    import driver_memory_bench  # by module name, so that Dask workers import the stand-in rather than copy it

    start = last = time.perf_counter()
    phases: list[tuple[str, float, float]] = []
    parts = {"files": 0, "bytes": 0, "rows": 0}

    def mark(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        phases.append((name, _peak_mib(), now - last))
        last = now

    def marked(function, name: str):
        def wrapped(*args, **kwargs):
            result = function(*args, **kwargs)
            mark(name)
            return result
        return wrapped

    write_part = ResultsStore.write_part

    def counted_write_part(store, table):
        path = write_part(store, table)
        parts["files"] += 1
        parts["bytes"] += path.stat().st_size
        parts["rows"] += table.num_rows
        return path

    study_runner.build_study = marked(study_runner.build_study, "study built")
    engine.plan_loaded = marked(engine.plan_loaded, "planned")
    engine._execute = marked(engine._execute, "run")
    sweep = marked(engine.run_sweep, "compacted")
    engine.run_sweep = sweep if simulate else partial(sweep, runner=driver_memory_bench.stand_in)
    ResultsStore.write_part = counted_write_part
    warnings.simplefilter("ignore")  # SALib divides by the stand-in's zero variance
    with tempfile.TemporaryDirectory(prefix="veilperf-driver-bench-") as tmp:
        result = study_runner.run_sensitivity(CONFIG, method="sobol", samples=samples, results_dir=tmp,
                                              jobs=jobs, executor=executor, force_large=True)
        mark("outcomes")
    return {"points": result.sweep.experiments[0].points, "failed": result.sweep.failed,
            "wall_s": time.perf_counter() - start, "phases": phases, "parts": parts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, nargs="+", default=[128, 1024])
    parser.add_argument("--executor", nargs="+", default=["local", "dask"], choices=["local", "dask"])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--simulate", action="store_true", help="simulate every point (slow)")
    parser.add_argument("--child", nargs=3, metavar=("SAMPLES", "EXECUTOR", "JOBS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        samples, executor, jobs = args.child
        print(json.dumps(child(int(samples), executor, int(jobs), args.simulate)))
        return
    import veilperf

    print(f"driver of a Sobol study of configs/enclave.yaml ({Path(veilperf.__file__).parent}), {args.jobs} "
          f"workers, {'simulated' if args.simulate else 'stand-in runner'}")
    for samples in args.samples:
        for executor in args.executor:
            command = [sys.executable, __file__, "--child", str(samples), executor, str(args.jobs)]
            path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(Path(__file__).parent)) if p)
            done = subprocess.run(command + (["--simulate"] if args.simulate else []), capture_output=True,
                                  text=True, env=dict(os.environ, PYTHONPATH=path))
            if done.returncode != 0:
                print(f"  samples {samples}, {executor}: failed ({done.returncode}): {done.stderr.strip()[-600:]}")
                continue
            measured = json.loads(done.stdout.strip().splitlines()[-1])
            phases = ", ".join(f"{name} {mib:,.0f} MiB / {seconds:,.0f} s" for name, mib, seconds in measured["phases"])
            parts = measured["parts"]
            per_row = f"{parts['bytes'] / parts['rows']:,.0f} B/row" if parts["rows"] else "none"
            print(f"  {measured['points']:>7,} points, {executor:<5}: {measured['wall_s']:,.0f} s wall, "
                  f"{measured['failed']} failed; per phase, driver peak RSS at its end / its wall time: {phases}; "
                  f"part files: {parts['files']:,}, {parts['bytes'] / 2**20:,.1f} MiB, {per_row}", flush=True)


if __name__ == "__main__":
    main()
