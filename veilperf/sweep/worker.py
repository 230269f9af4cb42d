"""What runs on a worker: planning a chunk of an experiment's combinations, and running one batch
of points of one experiment to one Arrow table.

Planning expands a range of combinations into points and validates every point that will run
(:class:`~veilperf.sweep.configs.Configs`), returning only the small
:class:`~veilperf.sweep.points.Point` identities: the driver never holds a config. A batch
carries the experiment without its sweep axes and, per point, its identity and combination; the
worker rebuilds and validates each config, runs it, leaves out the provenance the manifest holds
(:meth:`~veilperf.sweep.provenance.Provenance.lean`) and turns the records into a table (in
parallel), so the main process only writes it. A point that raises becomes a row with an
``error`` (exception type and message); the batch goes on.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Callable

import pyarrow as pa

from veilperf import __version__
from veilperf.config.loader import Experiment
from veilperf.config.run_config import RunConfig
from veilperf.errors import ConfigError
from veilperf.sweep.configs import Configs
from veilperf.sweep.options import Shard
from veilperf.sweep.points import Combination, Point, combinations, points_of, workload_name
from veilperf.sweep.provenance import Provenance
from veilperf.sweep.table import records_to_table

__all__ = ["Runner", "Batch", "plan_chunk", "run_batch", "identity_columns", "without_axes"]

Runner = Callable[[RunConfig], dict]
"""Simulates one validated point and returns its flat record (default: ``veilperf.run.run_config``)."""


def plan_chunk(exp: Experiment, start: int, stop: int, finished: frozenset[str],
               shard: Shard | None) -> tuple[list[Point], tuple[str, str, str] | None]:
    """The points of combinations ``start`` to ``stop`` (duplicates kept), validating those that
    will run (not ``finished``, in ``shard``). A bad point comes back as ``(file, key_path,
    message)`` for the main process to raise."""
    combos, configs = combinations(exp), Configs(exp)
    points: list[Point] = []
    try:
        for index in range(start, stop):
            combination = combos[index]
            for point, raw in points_of(exp, index, combination):
                if point.point_id not in finished and (shard is None or shard.holds(point.point_id)):
                    configs.validate(raw, point.role, combination)
                points.append(point)
    except ConfigError as exc:
        return [], (exc.file, exc.key_path, exc.message)
    return points, None


def without_axes(exp: Experiment) -> Experiment:
    """``exp`` as a batch ships it: each point brings its own axis values."""
    return dataclasses.replace(exp, grid={}, zip=[])


@dataclass(frozen=True)
class Batch:
    """Points of one experiment to run on a worker."""

    exp: Experiment  # without its sweep axes (:func:`without_axes`)
    provenance: Provenance  # what the manifest holds, left out of the rows
    points: list[tuple[Point, Combination]]


def identity_columns(experiment: str, point: Point, commit: str) -> dict:
    """The columns that say which run a row is."""
    return {"experiment": experiment, "point_id": point.point_id, "pair_key": point.pair_key,
            "role": point.role, "replication": point.replication, "seed": point.seed,
            "veilperf_version": __version__, "git_commit": commit}


def run_batch(runner: Runner | None, batch: Batch, commit: str) -> tuple[pa.Table, float]:
    """Run the points of ``batch`` one after the other: one row per point, in order, and the
    seconds it took."""
    if runner is None:
        from veilperf.run import run_config as runner
    batch_start = time.perf_counter()
    configs = Configs(batch.exp)
    records = []
    for point, combination in batch.points:
        start = time.perf_counter()
        config = None
        try:
            config = configs.build(point, combination)
            record = dict(runner(config))
            record["error"] = ""
        except Exception as exc:  # a failing point is recorded and the sweep goes on
            record = {"workload": workload_name(batch.exp, combination[0]),
                      "mode": config.setup.mode if config is not None else None,
                      "error": f"{type(exc).__name__}: {exc}"}
        record.setdefault("wall_s", time.perf_counter() - start)  # the run layer's own is simulation only
        record = batch.provenance.lean(record)
        record.update(identity_columns(batch.exp.name, point, commit))
        records.append(record)
    return records_to_table(records), time.perf_counter() - batch_start
