"""Plan and run sweeps: load every experiment, expand and validate its points on the executor,
skip finished points, run the rest in batches on the same executor, store each finished batch at
once, compact, summarise.

Library entry points: :func:`plan` (no side effects; what ``--dry-run`` shows) and
:func:`run_sweep`. After a sweep (not a shard), ``runs.parquet`` holds exactly the experiment's
current points: rows of points the experiment no longer has (an axis value edited away, other
``--set`` values) are moved to ``superseded/`` and the sweep says how many and why; stored points
of another experiment file of the same name are refused unless ``replace``
(:mod:`veilperf.sweep.supersede`).

A sweep holds the results root's lock (:mod:`veilperf.sweep.lock`) from planning to compaction,
writes nothing to an experiment with nothing to run or drop, and on Ctrl-C (or SIGTERM, SIGHUP:
:mod:`veilperf.interrupts`) stops the workers and raises :class:`SweepInterrupted` saying what is
saved.
"""

from __future__ import annotations

import math
import signal
import time
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from veilperf.config.bounds import check_sweep_size
from veilperf.config.loader import Experiment, load_experiment
from veilperf.config.set_axes import value_text
from veilperf.config.yaml_file import read_text
from veilperf.errors import ConfigError
from veilperf.interrupts import signal_word
from veilperf.sweep.batching import Batcher
from veilperf.sweep.executors import InProcessExecutor, open_executor, result_of, wait_first
from veilperf.sweep.lock import results_lock
from veilperf.sweep.manifest import git_commit, manifest_data, manifest_text
from veilperf.sweep.options import ClusterOptions, Shard, SweepError, check_executor, default_jobs
from veilperf.sweep.paths import ResultsIOError, refuse_inputs
from veilperf.sweep.points import Point, axis_values, combinations, distinct
from veilperf.sweep.progress import progress_bar
from veilperf.sweep.store import ResultsStore
from veilperf.sweep.supersede import StoreCheck, check_store, raise_refusals
from veilperf.sweep.worker import Runner, expand_chunk, run_batch

__all__ = ["ExperimentPlan", "ExperimentSummary", "SweepSummary", "SweepInterrupted", "load_experiments", "plan",
           "plan_loaded", "check_plans", "run_sweep", "describe_points", "summary_lines"]

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


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C, SIGTERM or SIGHUP (``signum``) during a sweep; the message says which points are
    saved (the CLI exits 128 + signum)."""

    def __init__(self, message: str, signum: int = signal.SIGINT) -> None:
        super().__init__(message)
        self.signum = signum


@dataclass
class ExperimentSummary:
    name: str
    directory: Path
    points: int
    run: int = 0
    cached: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (point_id, error)
    stored: int = 0  # rows of this sweep written so far
    note: str = ""  # stored rows dropped (how many, why, kept where) or a manifest written anew
    set_notes: tuple[str, ...] = ()  # --set values that replaced a sweep axis (Experiment.notes)


@dataclass
class SweepSummary:
    experiments: list[ExperimentSummary]
    wall_s: float
    shard: Shard | None = None
    changed: bool = False  # some runs.parquet was written (new rows, or rows dropped)

    @property
    def failed(self) -> int:
        return sum(len(e.failures) for e in self.experiments)


def load_experiments(files: Sequence[str | Path], overrides: Sequence[str] = (), *,
                     force_large: bool = False) -> list[tuple[Experiment, str]]:
    """Each experiment with its file text; ConfigError for a bad file, two files with one name, or
    a sweep above the point budget (``force_large`` lifts the budgets of ``config.bounds``)."""
    loaded: list[tuple[Experiment, str]] = []
    for file in files:
        exp = load_experiment(file, overrides, force_large=force_large)
        check_sweep_size(exp, force_large=force_large)
        for other, _ in loaded:
            if other.name == exp.name:
                raise ConfigError(file, "name", f"experiment name {exp.name!r} is also used by {other.file}; "
                                                "results would collide in one directory")
        loaded.append((exp, read_text(Path(file))))
    return loaded


def plan(files: Sequence[str | Path], overrides: Sequence[str] = (), *, results_dir: str | Path = "results",
         shard: Shard | None = None, force: bool = False, force_large: bool = False) -> list[ExperimentPlan]:
    """Load and plan ``files`` in this process (see :func:`plan_loaded`). Writes nothing."""
    return plan_loaded(load_experiments(files, overrides, force_large=force_large), results_dir=results_dir,
                       shard=shard, force=force)


def plan_loaded(loaded: list[tuple[Experiment, str]], *, results_dir: str | Path, shard: Shard | None = None,
                force: bool = False, pool: Executor | None = None, workers: int = 1) -> list[ExperimentPlan]:
    """Expand every experiment, read what is cached, and validate every point that will run (cached
    points were validated when they ran) -- all before anything runs. The work is spread over
    ``pool`` in chunks of combinations. Raises ConfigError (naming file and key) for the first bad
    point in experiment order. Writes nothing."""
    pool = pool or InProcessExecutor()
    submitted = []
    for exp, text in loaded:
        store = ResultsStore.of(results_dir, exp.name)
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
                chunk, error = result_of(pool, future)
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


def check_plans(plans: list[ExperimentPlan], *, shard: Shard | None = None, replace: bool = False,
                commit: str = "") -> dict[str, StoreCheck]:
    """What each plan would do to its stored rows (:func:`veilperf.sweep.supersede.check_store`);
    a shard drops nothing (``collect`` merges), but is refused as a sweep would be."""
    checks = {}
    for planned in plans:
        new = manifest_data(planned.exp, planned.text, points=len(planned.points),
                            shard=str(shard) if shard else None, commit=commit)
        check = check_store(planned.store, planned.exp.name, _keep(planned), new, replace=replace)
        if shard is not None and not check.refused:
            check.dropped = 0
        checks[planned.exp.name] = check
    return checks


def describe_points(plans: list[ExperimentPlan], checks: dict[str, StoreCheck] | None = None) -> list[str]:
    """Lines listing every selected point: id, role, status, workload, replication, the values it runs
    with at the axes (read from its resolved config: a baseline's own, a ``--set``'s); the ``--set``s
    that replaced a sweep axis; with ``checks``, what would happen to stored points the sweep no
    longer has."""
    lines = []
    for planned in plans:
        todo = {p.point_id for p in planned.todo}
        roles = [p.role for p in planned.selected]
        lines.append(f"{planned.exp.name}: {len(planned.selected)} points ({roles.count('treatment')} treatment, "
                     f"{roles.count('baseline')} baseline), {len(todo)} to run -> {planned.store.directory}")
        lines += [f"  note: {note}" for note in planned.exp.notes]
        check = (checks or {}).get(planned.exp.name)
        if check is not None and (check.refused or check.note()):
            lines.append(f"  refused without --replace: {check.refused}" if check.refused
                         else f"  would be said: {check.note()}")
        for p in planned.selected:
            axes = " ".join(f"{path}={value_text(value)}" for path, value in axis_values(planned.exp, p).items())
            status = "new" if p.point_id in todo else "cached"
            line = f"  {p.point_id}  {p.role:<9}  {status:<6}  {p.workload}  rep={p.replication}  {axes}"
            lines.append(line.rstrip())
    return lines


def run_sweep(files: Sequence[str | Path], overrides: Sequence[str] = (), *, results_dir: str | Path = "results",
              jobs: int | None = None, executor: str = "local", scheduler: str | None = None,
              shard: Shard | None = None, force: bool = False, runner: Runner | None = None,
              wait: bool = True, force_large: bool = False, replace: bool = False,
              cluster: ClusterOptions | None = None) -> SweepSummary:
    """Run the unfinished points of every experiment in ``files`` and store them under
    ``results_dir``, holding its lock (``wait=False``: LockBusy at once if another command holds
    it); everything is validated before anything runs, a point that raises is recorded with its
    error. Stored points of another experiment file of the same name (or of an unknown origin)
    are refused unless ``replace``; dropped rows are kept in ``superseded/`` and said in the
    summary's notes. ``jobs`` defaults to all cores; ``runner`` to ``veilperf.run.run_config`` (it
    gets the validated config; a replacement must be picklable for process and Dask workers);
    ``cluster`` bounds the waits on a Dask scheduler and its workers."""
    check_executor(executor, scheduler)
    start = time.perf_counter()
    loaded = load_experiments(files, overrides, force_large=force_large)
    _refuse_inputs(loaded, Path(results_dir))
    commit = git_commit()
    with (results_lock(results_dir, wait=wait) as lock,
          open_executor(executor, jobs or default_jobs(), scheduler, cluster) as (pool, workers)):
        plans = plan_loaded(loaded, results_dir=results_dir, shard=shard, force=force, pool=pool, workers=workers)
        checks = check_plans(plans, shard=shard, replace=replace, commit=commit)
        raise_refusals(list(checks.values()))
        summaries = {p.exp.name: ExperimentSummary(p.exp.name, p.store.directory, len(p.selected),
                                                   run=len(p.todo), cached=len(p.selected) - len(p.todo),
                                                   note=checks[p.exp.name].note(), set_notes=p.exp.notes)
                     for p in plans}
        writing = [p for p in plans if p.todo or checks[p.exp.name].rewrites_manifest
                   or (shard is None and p.store.needs_compaction(_keep(p)))]
        if writing and not lock.writable:
            raise ResultsIOError(f"{results_dir}: results folder is read-only, but {writing[0].exp.name} has "
                                 "points to store")
        _write_manifests(writing, shard, commit)
        if any(p.todo for p in plans):
            _execute(pool, workers, plans, summaries, runner, commit)
        changed = False
        for planned in writing if shard is None else []:
            done = planned.store.compact(keep=_keep(planned))
            changed |= done.changed
            summaries[planned.exp.name].note = checks[planned.exp.name].note(done.superseded)
    return SweepSummary(list(summaries.values()), time.perf_counter() - start, shard, changed)


def _refuse_inputs(loaded: list[tuple[Experiment, str]], root: Path) -> None:
    """No file the sweep writes (an experiment's manifest and table, the report and overhead table
    after it) may be one of the files it reads."""
    for exp, _ in loaded:
        store = ResultsStore(root / exp.name)
        refuse_inputs([store.manifest_path, store.runs_path, root / "REPORT.md", root / "overheads.csv"],
                      [exp.file, *exp.platform_files.values(), *exp.workload_files], "")


def _keep(planned: ExperimentPlan) -> set[str]:
    return {p.point_id for p in planned.points}


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
            pending[pool.submit(run_batch, runner, points, commit)] = planned

    with progress_bar(sum(len(p.todo) for p in plans)) as progress:
        try:
            refill()
            while pending:
                done = wait_first(pool, pending)
                for future in done:
                    planned = pending.pop(future)
                    rows, seconds = _store_batch(planned, future, summaries[planned.exp.name])
                    batcher.record(planned, rows, seconds)
                    progress.advance(rows)
                refill()
        except KeyboardInterrupt as exc:
            raise SweepInterrupted(_saved_note(plans, summaries, signal_word(exc)),
                                   getattr(exc, "signum", signal.SIGINT)) from None
        finally:
            for future in pending:
                future.cancel()


def _saved_note(plans: list[ExperimentPlan], summaries: dict[str, ExperimentSummary], how: str) -> str:
    saved = [f"{s.stored} of {s.run} new points of {s.name} in {s.directory}/parts"
             for s in (summaries[p.exp.name] for p in plans if p.todo)]
    return f"{how}: saved {', '.join(saved)}; run the same command again to resume"


def _store_batch(planned: ExperimentPlan, future: Future, summary: ExperimentSummary) -> tuple[int, float]:
    """Write a finished batch's part file; returns its rows and the seconds its worker spent."""
    try:
        table, seconds = future.result()
    except Exception as exc:
        raise SweepError(f"a worker failed while running {planned.exp.name} ({type(exc).__name__}: {exc}); "
                         "finished points are saved: run the sweep again to resume") from exc
    planned.store.write_part(table)
    summary.stored += table.num_rows
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
        lines += [f"  note: {note}" for note in e.set_notes]
        if e.note:
            lines.append(f"  note: {e.note}")
    total = sum(e.points for e in summary.experiments)
    shard = f" (shard {summary.shard})" if summary.shard else ""
    lines.append(f"sweep{shard}: {total} points in {summary.wall_s:.1f} s wall, {summary.failed} failed")
    failures = [(e.name, pid, err) for e in summary.experiments for pid, err in e.failures]
    for name, point_id, error in failures[:max_failures]:
        lines.append(f"  failed {name} {point_id}: {error}")
    if len(failures) > max_failures:
        lines.append(f"  ... and {len(failures) - max_failures} more (the error column of runs.parquet has all)")
    return lines
