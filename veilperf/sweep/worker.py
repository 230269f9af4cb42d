"""What runs on a worker: one batch of points of one experiment, each to a record.

Batches keep per-point overhead low: the experiment is shipped once per batch and each point's raw
config is rebuilt on the worker from its small :class:`~veilperf.sweep.points.Point`. A point that
raises becomes a record with an ``error`` (exception type and message); the batch goes on.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from veilperf.sweep.points import Point, raw_point

__all__ = ["Runner", "run_batch"]

Runner = Callable[[dict], dict]
"""Simulates one raw point and returns its flat record (default: ``veilperf.run.run_resolved``)."""


def run_batch(runner: Runner | None, exp: Any, points: list[Point]) -> list[dict]:
    """Run ``points`` one after the other; return one record per point, in order."""
    if runner is None:
        from veilperf.run import run_resolved as runner
    records = []
    for point in points:
        raw = raw_point(exp, point)
        start = time.perf_counter()
        try:
            record = dict(runner(raw))
            record["error"] = ""
        except Exception as exc:  # a failing point is recorded and the sweep goes on
            record = _failure_record(raw, exc)
        record.setdefault("wall_s", time.perf_counter() - start)  # the run layer's own is simulation only
        records.append(record)
    return records


def _failure_record(raw: dict, exc: Exception) -> dict:
    workload = raw.get("workload") or {}
    return {
        "workload": workload.get("name", "boot") if isinstance(workload, dict) else "boot",
        "mode": (raw.get("setup") or {}).get("mode", "veil"),
        "error": f"{type(exc).__name__}: {exc}",
    }
