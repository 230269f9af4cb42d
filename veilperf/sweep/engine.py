"""Plan and run sweeps: load every experiment, expand and validate its points on the executor,
skip finished points, run the rest in batches on the same executor, store each finished batch at
once, compact, summarise.

Library entry points: :func:`plan` (no side effects; what ``--dry-run`` shows) and
:func:`run_sweep`. After a sweep (not a shard), ``runs.parquet`` holds exactly the experiment's
current points: rows of points the experiment no longer has (an axis value edited away, other
``--set`` values) are dropped, as the manifest now describes the new run.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from veilperf.config.loader import Experiment, load_experiment
from veilperf.errors import ConfigError
from veilperf.sweep.batching import Batcher
from veilperf.sweep.executors import InProcessExecutor, open_executor
from veilperf.sweep.manifest import git_commit, manifest_text
from veilperf.sweep.options import Shard, SweepError, check_executor, default_jobs
from veilperf.sweep.points import Point, combinations, distinct
from veilperf.sweep.progress import progress_bar
from veilperf.sweep.store import ResultsStore
from veilperf.sweep.worker import Runner, expand_chunk, run_batch

__all__ = ["ExperimentPlan", "ExperimentSummary", "SweepSummary", "load_experiments", "plan", "plan_loaded",
           "run_sweep", "describe_points", "summary_lines"]

CHUNKS_PER_WORKER = 4  # expansion and validation are spread over the workers in this many chunks each


@dataclass
class ExperimentPlan:
    """One experiment of a sweep: its points, this shard's share, and what is left to run."""

    exp: Experiment
    text: str
    store: ResultsStore
    points: list[Point]
    selected: list[Point]
    todo: list[Point]


@dataclass
class ExperimentSummary:
    name: str
    directory: Path
    points: int
    run: int = 0
    cached: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (point_id, error)


@dataclass
class SweepSummary:
    experiments: list[ExperimentSummary]
    wall_s: float
    shard: Shard | None = None
    changed: bool = False  # some runs.parquet was written (new rows, or rows dropped)

    @property
    def failed(self) -> int:
        return sum(len(e.failures) for e in self.experiments)


def load_experiments(files: Sequence[str | Path], overrides: Sequence[str] = ()) -> list[tuple[Experiment, str]]:
    """Each experiment with its file text; ConfigError for a bad file or two files with one name."""
    loaded: list[tuple[Experiment, str]] = []
    for file in files:
        exp = load_experiment(file, overrides)
        for other, _ in loaded:
            if other.name == exp.name:
                raise ConfigError(file, "name", f"experiment name {exp.name!r} is also used by {other.file}; "
                                                "results would collide in one directory")
        loaded.append((exp, Path(file).read_text(encoding="utf-8")))
    return loaded


def plan(files: Sequence[str | Path], overrides: Sequence[str] = (), *, results_dir: str | Path = "results",
         shard: Shard | None = None, force: bool = False) -> list[ExperimentPlan]:
    """Load and plan ``files`` in this process (see :func:`plan_loaded`). Writes nothing."""
    return plan_loaded(load_experiments(files, overrides), results_dir=results_dir, shard=shard, force=force)


def plan_loaded(loaded: list[tuple[Experiment, str]], *, results_dir: str | Path, shard: Shard | None = None,
                force: bool = False, pool: Executor | None = None, workers: int = 1) -> list[ExperimentPlan]:
    """Expand every experiment, read what is cached, and validate every point that will run (cached
    points were validated when they ran) -- all before anything runs. The work is spread over
    ``pool`` in chunks of combinations. Raises ConfigError (naming file and key) for the first bad
    point in experiment order. Writes nothing."""
    pool = pool or InProcessExecutor()
    submitted = []
    for exp, text in loaded:
        store = ResultsStore(Path(results_dir) / exp.name)
        finished = frozenset() if force else frozenset(store.finished_ids())
        combos = combinations(exp)
        size = max(1, math.ceil(len(combos) / (workers * CHUNKS_PER_WORKER)))
        futures = [pool.submit(expand_chunk, exp, combos[i:i + size], finished, shard)
                   for i in range(0, len(combos), size)]
        submitted.append((exp, text, store, finished, futures))
    plans = []
    try:
        for exp, text, store, finished, futures in submitted:
            points: list[Point] = []
            for future in futures:
                chunk, error = future.result()
                if error is not None:
                    raise ConfigError(*error)
                points += chunk
            points = distinct(points)
            selected = [p for p in points if shard is None or shard.holds(p.point_id)]
            todo = [p for p in selected if p.point_id not in finished]
            plans.append(ExperimentPlan(exp, text, store, points, selected, todo))
    finally:
        for *_, futures in submitted:
            for future in futures:
                future.cancel()
    return plans


def describe_points(plans: list[ExperimentPlan]) -> list[str]:
    """Lines listing every selected point: id, role, status, workload, replication, axis values."""
    lines = []
    for planned in plans:
        todo = {p.point_id for p in planned.todo}
        roles = [p.role for p in planned.selected]
        lines.append(f"{planned.exp.name}: {len(planned.selected)} points ({roles.count('treatment')} treatment, "
                     f"{roles.count('baseline')} baseline), {len(todo)} to run -> {planned.store.directory}")
        for p in planned.selected:
            axes = " ".join(f"{path}={value}" for path, value in p.assignments.items())
            status = "new" if p.point_id in todo else "cached"
            line = f"  {p.point_id}  {p.role:<9}  {status:<6}  {p.workload}  rep={p.replication}  {axes}"
            lines.append(line.rstrip())
    return lines


def run_sweep(files: Sequence[str | Path], overrides: Sequence[str] = (), *, results_dir: str | Path = "results",
              jobs: int | None = None, executor: str = "local", scheduler: str | None = None,
              shard: Shard | None = None, force: bool = False, runner: Runner | None = None) -> SweepSummary:
    """Run the unfinished points of every experiment in ``files`` and store them under
    ``results_dir``; everything is validated before anything runs, a point that raises is recorded
    with its error. ``jobs`` defaults to all cores; ``runner`` to ``veilperf.run.run_resolved`` (a
    replacement must be picklable for process and Dask workers)."""
    check_executor(executor, scheduler)
    start = time.perf_counter()
    loaded = load_experiments(files, overrides)
    commit = git_commit()
    with open_executor(executor, jobs or default_jobs(), scheduler) as (pool, workers):
        plans = plan_loaded(loaded, results_dir=results_dir, shard=shard, force=force, pool=pool, workers=workers)
        summaries = {p.exp.name: ExperimentSummary(p.exp.name, p.store.directory, len(p.selected),
                                                   run=len(p.todo), cached=len(p.selected) - len(p.todo))
                     for p in plans}
        _write_manifests(plans, shard, commit)
        if any(p.todo for p in plans):
            _execute(pool, workers, plans, summaries, runner, commit)
    changed = False
    if shard is None:
        for planned in plans:
            changed |= planned.store.compact(keep={p.point_id for p in planned.points})
    return SweepSummary(list(summaries.values()), time.perf_counter() - start, shard, changed)


def _write_manifests(plans: list[ExperimentPlan], shard: Shard | None, commit: str) -> None:
    for planned in plans:
        planned.store.write_manifest(manifest_text(planned.exp, planned.text, points=len(planned.points),
                                                   shard=str(shard) if shard else None, commit=commit))


def _execute(pool: Executor, workers: int, plans: list[ExperimentPlan], summaries: dict[str, ExperimentSummary],
             runner: Runner | None, commit: str) -> None:
    """Keep up to two batches per worker in flight; store each finished batch at once."""
    batcher = Batcher(plans, workers)
    window = 1 if isinstance(pool, InProcessExecutor) else 2 * workers
    pending: dict[Future, ExperimentPlan] = {}

    def refill() -> None:
        while len(pending) < window:
            batch = batcher.next()
            if batch is None:
                return
            planned, points = batch
            pending[pool.submit(run_batch, runner, planned.exp, points, commit)] = planned

    refill()
    with progress_bar(sum(len(p.todo) for p in plans)) as progress:
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    planned = pending.pop(future)
                    rows, seconds = _store_batch(planned, future, summaries[planned.exp.name])
                    batcher.record(planned, rows, seconds)
                    progress.advance(rows)
                refill()
        finally:
            for future in pending:
                future.cancel()


def _store_batch(planned: ExperimentPlan, future: Future, summary: ExperimentSummary) -> tuple[int, float]:
    """Write a finished batch's part file; returns its rows and the seconds its worker spent."""
    try:
        table, seconds = future.result()
    except Exception as exc:
        raise SweepError(f"a worker failed while running {planned.exp.name} ({type(exc).__name__}: {exc}); "
                         "finished points are saved: run the sweep again to resume") from exc
    planned.store.write_part(table)
    for point_id, error in zip(table.column("point_id").to_pylist(), table.column("error").to_pylist()):
        if error:
            summary.failures.append((point_id, error))
    return table.num_rows, seconds


def summary_lines(summary: SweepSummary, max_failures: int = 20) -> list[str]:
    """Human summary: per experiment run / cached / failed and where results went, then failures."""
    lines = []
    for e in summary.experiments:
        where = (f"{e.directory}/parts (merge shards with `veilperf collect`)" if summary.shard
                 else f"{e.directory}/runs.parquet")
        lines.append(f"{e.name}: {e.points} points: {e.run - len(e.failures)} run, {e.cached} cached, "
                     f"{len(e.failures)} failed -> {where}")
    total = sum(e.points for e in summary.experiments)
    shard = f" (shard {summary.shard})" if summary.shard else ""
    lines.append(f"sweep{shard}: {total} points in {summary.wall_s:.1f} s wall, {summary.failed} failed")
    failures = [(e.name, pid, err) for e in summary.experiments for pid, err in e.failures]
    for name, point_id, error in failures[:max_failures]:
        lines.append(f"  failed {name} {point_id}: {error}")
    if len(failures) > max_failures:
        lines.append(f"  ... and {len(failures) - max_failures} more (the error column of runs.parquet has all)")
    return lines
