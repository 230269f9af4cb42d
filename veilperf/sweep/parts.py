"""Finished batches of one experiment, written as part files of a useful size.

A part file costs about 20-30 KB whatever it holds (an Arrow file's schema, written twice, and a
header and padding per column of some 170), so one part per batch made a sweep of points costing
0.1 s each (batches of a few points) write several KB per row mid-run. :class:`PartWriter` writes
an experiment's first finished batch at once (a sweep shows on disk from its start), then gathers
finished batches into one part at most every :data:`PART_SECONDS` (or :data:`PART_ROWS` rows),
and writes what it holds when the sweep ends, stops or fails. A killed sweep (SIGKILL) therefore
loses at most the results of the last :data:`PART_SECONDS` besides the batches in flight; memory
holds at most :data:`PART_ROWS` rows per experiment.
"""

from __future__ import annotations

import time
from typing import Callable

import pyarrow as pa

from veilperf.sweep.store import ResultsStore
from veilperf.sweep.table import concat_tables

__all__ = ["PartWriter", "PART_SECONDS", "PART_ROWS"]

PART_SECONDS = 5.0
"""At most one part file per experiment this often (after the first), while batches finish."""
PART_ROWS = 4096
"""A part is written at once when this many rows are waiting."""


class PartWriter:
    """Buffers one experiment's finished batches and writes them as part files (module docstring)."""

    def __init__(self, store: ResultsStore, clock: Callable[[], float] = time.monotonic) -> None:
        self._store, self._clock = store, clock
        self._tables: list[pa.Table] = []
        self._rows = 0
        self._written: float | None = None  # when the last part was written

    def add(self, table: pa.Table) -> int:
        """Take a finished batch; returns the rows written to a part file now (0 while it waits)."""
        self._tables.append(table)
        self._rows += table.num_rows
        due = self._written is None or self._clock() - self._written >= PART_SECONDS
        return self.flush() if due or self._rows >= PART_ROWS else 0

    def flush(self) -> int:
        """Write every batch still waiting as one part file; returns its rows."""
        if not self._tables:
            return 0
        self._store.write_part(concat_tables(self._tables).combine_chunks())
        rows = self._rows
        self._tables, self._rows, self._written = [], 0, self._clock()
        return rows
