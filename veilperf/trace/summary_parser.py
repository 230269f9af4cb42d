"""Parse an ``strace -c`` / ``strace -f -c`` summary table.

    % time     seconds  usecs/call     calls    errors syscall
    ------ ----------- ----------- --------- --------- ----------------
     96.76    0.074349       37174         2         1 wait4
    ...
    ------ ----------- ----------- --------- --------- ----------------
    100.00    0.076838          40      1912         6 total

The ``seconds`` column is system CPU time (``-w`` makes it wall time); the table has no sequence and
no time between calls.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from veilperf.syscalls import NAMES as SYSCALL_NAMES
from veilperf.trace.events import SummaryRow, SummaryTable
from veilperf.trace.strace_parser import TraceError

HEADER = re.compile(r"^\s*% time\s+seconds\s+usecs/call\s+calls\s+errors\s+syscall\s*$")
_ROW = re.compile(
    r"^\s*(?P<pct>\d+\.\d+)\s+(?P<sec>\d+\.\d+)\s+(?P<usec>\d+)\s+(?P<calls>\d+)\s+"
    r"(?:(?P<errors>\d+)\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*$"
)
_RULE = re.compile(r"^[-\s]+$")


HEADER_LINES = 50
"""A table's header is within its first lines (strace may print a few lines before it)."""


def is_summary(lines: list[str]) -> bool:
    """True when the text looks like an ``strace -c`` table (its header line is in its first
    :data:`HEADER_LINES` lines)."""
    return any(HEADER.match(line) for line in lines[:HEADER_LINES])


PCT_TOLERANCE = 0.0075  # % time is printed with 2 decimals from 6-decimal seconds
USEC_TOLERANCE = 1.0  # usecs/call is truncated to an integer


def _consistent(pct: float, usecs: int, row: SummaryRow, total_seconds: float) -> bool:
    """Do a row's % time and usecs/call agree with its seconds and calls (an unedited row)?"""
    pct_ok = total_seconds <= 0 or abs(100 * row.seconds / total_seconds - pct) <= PCT_TOLERANCE
    return pct_ok and abs(1e6 * row.seconds / row.calls - usecs) <= USEC_TOLERANCE


def parse_summary(path: str, lines: Iterable[tuple[int, str]]) -> SummaryTable:
    """Read the table from its ``(number, line)`` pairs; unreadable or self-contradictory rows are
    skipped with a warning, a missing total is an error."""
    rows: list[tuple[int, float, int, SummaryRow]] = []
    warnings: list[str] = []
    total: SummaryRow | None = None
    in_table = False
    for number, text in lines:
        if HEADER.match(text):
            in_table = True
            continue
        if not in_table or not text.strip() or _RULE.match(text) or text.startswith("strace: "):
            continue
        m = _ROW.match(text)
        if not m:
            warnings.append(f"{path}: line {number}: unreadable summary row; skipped: {text[:80]!r}")
            continue
        row = SummaryRow(m["name"], float(m["sec"]), int(m["calls"]), int(m["errors"] or 0))
        if row.name == "total":
            total = row
            break
        if row.name not in SYSCALL_NAMES:
            warnings.append(f"{path}: line {number}: unknown system call {row.name!r} (not in the "
                            "x86-64 table); skipped")
            continue
        if row.calls == 0 or row.errors > row.calls:
            warnings.append(f"{path}: line {number}: impossible counts for {row.name}; skipped")
            continue
        rows.append((number, float(m["pct"]), int(m["usec"]), row))
    if total is None:
        raise TraceError(path, None, "strace -c table has no 'total' row (truncated?)")
    kept = []
    for number, pct, usecs, row in rows:
        if _consistent(pct, usecs, row, total.seconds):
            kept.append(row)
        else:
            warnings.append(f"{path}: line {number}: {row.name}: % time or usecs/call contradict its "
                            "seconds and calls (edited or corrupt); skipped")
    if not kept:
        raise TraceError(path, None, "strace -c table has no usable system-call rows")
    listed = sum(r.calls for r in kept)
    if listed != total.calls:
        warnings.append(f"{path}: rows sum to {listed} calls but the total row says {total.calls}; "
                        "using the rows")
    return SummaryTable(path, kept, listed, sum(r.seconds for r in kept), warnings)
