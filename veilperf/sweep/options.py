"""Sweep options given on the command line, checked into one clear error each."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from veilperf.errors import VeilperfError

__all__ = ["SweepError", "Shard", "ClusterOptions", "parse_shard", "default_jobs", "parse_jobs", "parse_seconds",
           "check_executor", "add_cluster_arguments", "cluster_options", "EXECUTORS", "NO_WORKERS"]

EXECUTORS = ("local", "dask")
NO_WORKERS = ("exit", "wait")
"""What a sweep on a Dask cluster does once it has had no live worker for ``no_workers_timeout``."""


class SweepError(VeilperfError):
    """A sweep cannot start or go on (bad option, missing optional dependency, broken worker)."""


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``: the points whose id, as a number, is index-1 mod count."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, point_id: str) -> bool:
        """Whether the point with this id belongs to this shard (stable: depends on the id only)."""
        return int(point_id, 16) % self.count == self.index - 1


@dataclass(frozen=True)
class ClusterOptions:
    """How long a sweep waits for a Dask cluster.

    ``scheduler_timeout``: seconds to connect to the scheduler and hear it answer as one (an
    endpoint that accepts TCP but is not a Dask scheduler is refused after at most this long).
    ``no_workers_timeout``: seconds without any live worker after which the sweep says so and,
    as ``no_workers`` says, stops (``exit``: finished points are saved, exit 2) or keeps waiting."""

    scheduler_timeout: float = 10.0
    no_workers_timeout: float = 60.0
    no_workers: str = "exit"

    def __post_init__(self) -> None:
        if self.no_workers not in NO_WORKERS:
            raise SweepError(f"--no-workers {self.no_workers}: expected one of {', '.join(NO_WORKERS)}")


def parse_seconds(flag: str, text: str) -> float:
    """A positive number of seconds given to ``flag`` (``10``, ``2.5``); SweepError otherwise."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise SweepError(f"{flag} {text}: expected a positive number of seconds, for example {flag} 30")
    return seconds


def parse_shard(text: str) -> Shard:
    """``"K/N"`` with ``1 <= K <= N`` -> :class:`Shard`; SweepError otherwise."""
    index_text, sep, count_text = text.partition("/")
    try:
        index, count = int(index_text), int(count_text)
    except ValueError:
        index = count = 0
    if not sep or count < 1 or not 1 <= index <= count:
        raise SweepError(f"--shard {text}: expected K/N with 1 <= K <= N, for example --shard 1/4")
    return Shard(index, count)


def default_jobs() -> int:
    """Number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def parse_jobs(text: str) -> int:
    """``--jobs`` must be a positive whole number of workers."""
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise SweepError(f"--jobs {text}: expected a positive number of workers")
    return jobs


def check_executor(executor: str, scheduler: str | None) -> None:
    """``executor`` is known, and ``--scheduler`` comes only with the Dask executor."""
    if executor not in EXECUTORS:
        raise SweepError(f"--executor {executor}: expected one of {', '.join(EXECUTORS)}")
    if scheduler is not None and executor != "dask":
        raise SweepError("--scheduler needs --executor dask")


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """The Dask cluster's time limits, shared by ``sweep`` and ``sensitivity``."""
    defaults = ClusterOptions()
    parser.add_argument("--scheduler-timeout", metavar="SECONDS",
                        help=f"with --executor dask: give up connecting to the scheduler, or hearing it answer as "
                             f"a Dask scheduler, after this long (default {defaults.scheduler_timeout:g})")
    parser.add_argument("--no-workers-timeout", metavar="SECONDS",
                        help="with --executor dask: after this long without a live worker, say so and act as "
                             f"--no-workers says (default {defaults.no_workers_timeout:g})")
    parser.add_argument("--no-workers", metavar="|".join(NO_WORKERS),
                        help="with --executor dask, once --no-workers-timeout has passed without a live worker: "
                             "exit (default; finished points are saved) or keep waiting")


def cluster_options(args: argparse.Namespace) -> ClusterOptions:
    """The options of :func:`add_cluster_arguments`, checked; given without ``--executor dask``
    they could not be honoured and are refused."""
    given = {flag: value for flag, value in (("--scheduler-timeout", args.scheduler_timeout),
                                             ("--no-workers-timeout", args.no_workers_timeout),
                                             ("--no-workers", args.no_workers)) if value is not None}
    if given and args.executor != "dask":
        raise SweepError(f"{next(iter(given))} needs --executor dask")
    defaults = ClusterOptions()
    return ClusterOptions(
        scheduler_timeout=parse_seconds("--scheduler-timeout", args.scheduler_timeout)
        if args.scheduler_timeout is not None else defaults.scheduler_timeout,
        no_workers_timeout=parse_seconds("--no-workers-timeout", args.no_workers_timeout)
        if args.no_workers_timeout is not None else defaults.no_workers_timeout,
        no_workers=args.no_workers or defaults.no_workers,
    )
