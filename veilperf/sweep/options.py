"""Sweep options given on the command line, checked into one clear error each."""

from __future__ import annotations

import os
from dataclasses import dataclass

from veilperf.errors import VeilperfError

__all__ = ["SweepError", "Shard", "parse_shard", "default_jobs", "parse_jobs", "check_executor", "EXECUTORS"]

EXECUTORS = ("local", "dask")


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
