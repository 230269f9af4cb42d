"""A progress bar over points with an ETA on a terminal; nothing when stderr is not a terminal."""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator, Protocol

__all__ = ["Progress", "progress_bar"]


class Progress(Protocol):
    def advance(self, points: int) -> None: ...


class _Quiet:
    def advance(self, points: int) -> None:
        pass


class _Bar:
    def __init__(self, progress, task) -> None:
        self._progress = progress
        self._task = task

    def advance(self, points: int) -> None:
        self._progress.advance(self._task, points)


@contextlib.contextmanager
def progress_bar(total: int, description: str = "points") -> Iterator[Progress]:
    """Yield an object whose ``advance(n)`` moves the bar by ``n`` points."""
    if not sys.stderr.isatty() or total == 0:
        yield _Quiet()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from rich.progress import Progress as RichProgress

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    with RichProgress(*columns, console=Console(stderr=True), transient=False) as progress:
        yield _Bar(progress, progress.add_task(description, total=total))
