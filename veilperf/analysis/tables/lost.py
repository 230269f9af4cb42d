"""Audit records lost by VeilS-Log, read from a record: how many, why (the ring against what the
reader period lets pile up in it) and which setting avoids it.

A record is lost when the ring wraps over it before the reader drains it. On average the ring
takes in ``log.ring_bytes`` (record slots, sizes rounded up to the alignment) over the run's
``sim_time_ns``; per reader period that is ``ring_bytes x period / sim_time``. When that exceeds
``ring_size``, records are overwritten every period: a ring at least that large, or a reader period
at most ``ring_size / (ring_bytes / sim_time)``, avoids it on average (bursts need more).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from veilperf.units import format_duration

RING, PERIOD = "cfg.setup.services.log.ring_size", "cfg.setup.services.log.reader_period"


def _number(row: Mapping[str, Any], column: str) -> float:
    value = row.get(column)
    try:
        return float(value) if value is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def size_text(nbytes: float) -> str:
    """``322 KiB``, ``1.43 MiB``: three significant digits in binary units."""
    for unit, scale in (("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{nbytes:.0f} B"


@dataclass(frozen=True)
class LostRecords:
    """A logging run's lost records and the arithmetic of why (all from its record)."""

    lost: float
    records: float
    ring_size: float  # bytes
    reader_period: float  # ns; NaN: never read
    ring_bytes_per_ns: float  # ring bytes appended per ns of the run, on average

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> LostRecords | None:
        """The lost records of a record (or an overhead row of mean counts); None when it lost none
        or has no logging columns."""
        lost, records = _number(row, "log.lost"), _number(row, "log.records")
        if not lost > 0 or not records > 0:
            return None
        slots = _number(row, "log.ring_bytes")
        appended = slots if slots == slots else _number(row, "log.bytes")  # results before log.ring_bytes
        return cls(lost, records, _number(row, RING), _number(row, PERIOD),
                   appended / _number(row, "sim_time_ns"))

    @property
    def share(self) -> float:
        return self.lost / self.records

    @property
    def per_period(self) -> float:
        """Ring bytes appended per reader period, on average (NaN without a reader)."""
        return self.ring_bytes_per_ns * self.reader_period

    def text(self) -> str:
        """``63% of the audit records lost (12,345 of 19,500): ...why; ...which setting avoids it``."""
        head = f"{self.share:.0%} of the audit records lost ({self.lost:,.0f} of {self.records:,.0f})"
        if not self.reader_period == self.reader_period:
            return f"{head}: nothing reads the ring (reader_period: null); set a reader_period to keep them"
        if not self.per_period == self.per_period or not self.ring_size == self.ring_size:
            return f"{head}: the ring wrapped before the reader drained it"
        period = format_duration(self.reader_period)
        why = (f"the ring ({size_text(self.ring_size)}) takes in {size_text(self.per_period)} per "
               f"{period} reader period on average")
        if self.per_period <= self.ring_size:
            return f"{head}: bursts fill the ring ({size_text(self.ring_size)}) within a {period} reader period"
        shorter = format_duration(self.ring_size / self.ring_bytes_per_ns)
        return (f"{head}: {why}; a ring_size above {size_text(self.per_period)} or a reader_period below "
                f"{shorter} avoids it on average")
