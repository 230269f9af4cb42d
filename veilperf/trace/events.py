"""What a parsed trace holds: completed system calls per thread, signals, exits, warnings."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from veilperf.trace.footprint import MemoryTally


@dataclass(frozen=True)
class SyscallEvent:
    """One completed (or interrupted) system call of one thread.

    ``start_ns`` is the entry time on the trace's clock (ns since midnight for ``-tt``, since
    ``ParsedTrace.epoch_base_s`` for ``-ttt``); ``kernel_ns`` the in-kernel time reported
    by ``-T`` (for a call that never returns, e.g. ``exit_group``, the time until the thread's exit
    line, or 0). ``bytes_in``/``bytes_out`` are user bytes copied into / out of the kernel, from the
    return value (see :mod:`veilperf.trace.syscall_bytes`)."""

    tid: int
    name: str
    start_ns: float
    kernel_ns: float
    ret: int | None
    errno: str | None
    bytes_in: int
    bytes_out: int
    source: str  # "file:line" where the call completed

    @property
    def end_ns(self) -> float:
        return self.start_ns + self.kernel_ns

    @property
    def failed(self) -> bool:
        return self.errno is not None


@dataclass
class ParsedTrace:
    """Everything read from one or more strace files of one run."""

    files: list[str]
    calls: dict[int, list[SyscallEvent]] = field(default_factory=dict)  # tid -> calls by start
    exits: dict[int, str] = field(default_factory=dict)  # tid -> "exited with 0" / "killed by SIGKILL"
    exit_ns: dict[int, float] = field(default_factory=dict)  # tid -> time of its exit line
    signals: Counter = field(default_factory=Counter)  # signal name -> deliveries
    warnings: list[str] = field(default_factory=list)
    first_ns: float | None = None  # earliest timestamp in the trace
    last_ns: float | None = None  # latest timestamp (or call end) in the trace
    epoch_base_s: int | None = None  # -ttt traces: times count from this Unix second
    stamp_style: str | None = None  # "clock" (-tt) or "epoch" (-ttt), from the first stamp
    lines: int = 0  # lines with a timestamp, over all files
    bad: Counter = field(default_factory=Counter)  # impossible lines by kind
    first_bad: tuple[str, int, str] | None = None  # (file, line, message) of the first one
    memory: MemoryTally = field(default_factory=MemoryTally)  # what the calls mapped

    @property
    def call_count(self) -> int:
        return sum(len(c) for c in self.calls.values())

    @property
    def span_ns(self) -> float:
        """Traced wall time: first timestamp to last timestamp or call end."""
        if self.first_ns is None or self.last_ns is None:
            return 0.0
        return self.last_ns - self.first_ns

    def errors(self) -> Counter:
        """Failed calls per system-call name over all threads."""
        return Counter(c.name for calls in self.calls.values() for c in calls if c.failed)


@dataclass(frozen=True)
class SummaryRow:
    """One row of an ``strace -c`` table."""

    name: str
    seconds: float
    calls: int
    errors: int


@dataclass
class SummaryTable:
    """An ``strace -c`` (or ``-f -c``) summary: counts and kernel times only, no sequence."""

    file: str
    rows: list[SummaryRow]
    total_calls: int
    total_seconds: float
    warnings: list[str] = field(default_factory=list)
