"""What runs on a worker: expanding and validating a chunk of an experiment's combinations, and
running one batch of points of one experiment to one Arrow table.

Each point is resolved and validated once, while planning; the validated config travels with its
:class:`~veilperf.sweep.points.Point` (points of a batch share their platform and workload models,
so a batch ships each once) and the worker runs it as it is. The records become a table on the
worker (in parallel), so the main process only writes it. A point that raises becomes a row with
an ``error`` (exception type and message); the batch goes on.
"""

from __future__ import annotations

import time
from typing import Callable

import pyarrow as pa

from veilperf import __version__
from veilperf.config.loader import Experiment
from veilperf.config.run_config import RunConfig
from veilperf.errors import ConfigError
from veilperf.sweep.options import Shard
from veilperf.sweep.points import Combination, Point, expand_combinations
from veilperf.sweep.table import records_to_table

__all__ = ["Runner", "expand_chunk", "run_batch", "identity_columns"]

Runner = Callable[[RunConfig], dict]
"""Simulates one validated point and returns its flat record (default: ``veilperf.run.run_config``)."""


def expand_chunk(exp: Experiment, combos: list[Combination], finished: frozenset[str],
                 shard: Shard | None) -> tuple[list[Point], tuple[str, str, str] | None]:
    """The points of ``combos``, validating those that will run (not ``finished``, in ``shard``).
    A bad point comes back as ``(file, key_path, message)`` for the main process to raise."""
    def will_run(point_id: str) -> bool:
        return point_id not in finished and (shard is None or shard.holds(point_id))

    try:
        return expand_combinations(exp, combos, will_run), None
    except ConfigError as exc:
        return [], (exc.file, exc.key_path, exc.message)


def identity_columns(point: Point, commit: str) -> dict:
    """The columns that say which run a row is."""
    return {"experiment": point.experiment, "point_id": point.point_id, "pair_key": point.pair_key,
            "role": point.role, "replication": point.replication, "seed": point.seed,
            "veilperf_version": __version__, "git_commit": commit}


def run_batch(runner: Runner | None, points: list[Point], commit: str) -> tuple[pa.Table, float]:
    """Run ``points`` (validated while planning) one after the other: one row per point, in order,
    and the seconds it took."""
    if runner is None:
        from veilperf.run import run_config as runner
    batch_start = time.perf_counter()
    records = []
    for point in points:
        start = time.perf_counter()
        try:
            record = dict(runner(point.config))
            record["error"] = ""
        except Exception as exc:  # a failing point is recorded and the sweep goes on
            record = _failure_record(point, exc)
        record.setdefault("wall_s", time.perf_counter() - start)  # the run layer's own is simulation only
        record.update(identity_columns(point, commit))
        records.append(record)
    return records_to_table(records), time.perf_counter() - batch_start


def _failure_record(point: Point, exc: Exception) -> dict:
    return {"workload": point.workload, "mode": point.config.setup.mode, "error": f"{type(exc).__name__}: {exc}"}
