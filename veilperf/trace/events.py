"""What a parsed trace holds: completed system calls per thread, signals, exits, warnings.

Calls are stored as columns (:class:`CallTable`: numpy arrays, about 61 bytes a call), not as one
Python object each (about 550 bytes with its strings and numbers): a 200 MB trace has ~1.8 million
calls. A table is still a sequence of :class:`SyscallEvent`, built on access, for code and tests
that look at single calls; the importer's own passes work on the columns.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import overload

import numpy as np

from veilperf.syscalls import NAMES as SYSCALL_NAMES
from veilperf.trace.footprint import MemoryTally

CALL_NAMES: tuple[str, ...] = tuple(sorted(SYSCALL_NAMES))
"""System-call names by code (the ``name`` column of a :class:`CallTable`)."""
CALL_CODE: dict[str, int] = {name: code for code, name in enumerate(CALL_NAMES)}

_RET_VALUE, RET_NONE, _RET_HIGH = 0, 1, 2  # ret_kind: a value, ``?`` (no return), a value >= 2**63
_WRAP = 1 << 64


@dataclass(frozen=True, slots=True)
class SyscallEvent:
    """One completed (or interrupted) system call of one thread.

    ``start_ns`` is the entry time on the trace's clock (ns since midnight for ``-tt``, since
    ``ParsedTrace.epoch_base_s`` for ``-ttt``); ``kernel_ns`` the in-kernel time reported
    by ``-T`` (for a call that never returns, e.g. ``exit_group``, the time until the thread's exit
    line, or 0). ``bytes_in``/``bytes_out`` are user bytes copied into / out of the kernel, from the
    return value (see :mod:`veilperf.trace.syscall_bytes`); ``pages`` the pages a memory-management
    call maps, unmaps or changes (see :mod:`veilperf.trace.footprint`; 0 for other calls)."""

    tid: int
    name: str
    start_ns: float
    kernel_ns: float
    ret: int | None
    errno: str | None
    bytes_in: int
    bytes_out: int
    source: str  # "file:line" where the call completed
    pages: int = 0

    @property
    def end_ns(self) -> float:
        return self.start_ns + self.kernel_ns

    @property
    def failed(self) -> bool:
        return self.errno is not None


_COLUMNS = {"tid": "i4", "name": "u2", "start": "f8", "kernel": "f8", "ret": "i8", "ret_kind": "u1",
            "errno": "u2", "bytes_in": "i8", "bytes_out": "i8", "file": "u4", "line": "u4", "pages": "u8"}
"""Column name -> numpy type; ``errno`` 0 is no error, else 1 + its index in the errno names."""


class CallTable(Sequence[SyscallEvent]):
    """Calls as columns (``tid``, ``name`` code, ``start``, ``kernel``, ``ret``, ``errno`` code,
    ``bytes_in``, ``bytes_out``, ``file`` and ``line`` of the completion, ``pages``), in order. ``errnos`` and
    ``files`` are the names the codes index, shared by every table of one trace."""

    __slots__ = ("columns", "errnos", "files")

    def __init__(self, columns: dict[str, np.ndarray], errnos: list[str], files: list[str]) -> None:
        self.columns = columns
        self.errnos = errnos
        self.files = files

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.columns[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def end(self) -> np.ndarray:
        return self.columns["start"] + self.columns["kernel"]

    @property
    def failed(self) -> np.ndarray:
        return self.columns["errno"] != 0

    def __len__(self) -> int:
        return len(self.columns["start"])

    @overload
    def __getitem__(self, index: int) -> SyscallEvent: ...

    @overload
    def __getitem__(self, index: slice) -> CallTable: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return CallTable({k: v[index] for k, v in self.columns.items()}, self.errnos, self.files)
        c = self.columns
        index = range(len(self))[index]  # negative indices, IndexError
        kind = c["ret_kind"][index]
        ret = None if kind == RET_NONE else int(c["ret"][index]) + (_WRAP if kind == _RET_HIGH else 0)
        errno = int(c["errno"][index])
        return SyscallEvent(int(c["tid"][index]), CALL_NAMES[c["name"][index]], float(c["start"][index]),
                            float(c["kernel"][index]), ret, self.errnos[errno - 1] if errno else None,
                            int(c["bytes_in"][index]), int(c["bytes_out"][index]),
                            f"{self.files[c['file'][index]]}:{c['line'][index]}", int(c["pages"][index]))

    def __iter__(self) -> Iterator[SyscallEvent]:
        return (self[i] for i in range(len(self)))

    def source(self, index: int) -> str:
        """``"file:line"`` where call ``index`` completed."""
        return f"{self.files[self.columns['file'][index]]}:{self.columns['line'][index]}"

    def take(self, rows: np.ndarray) -> CallTable:
        """The calls at ``rows`` (positions or a mask), in that order."""
        return CallTable({k: v[rows] for k, v in self.columns.items()}, self.errnos, self.files)

    def names(self) -> list[str]:
        """The system-call name of every call."""
        return [CALL_NAMES[code] for code in self.columns["name"]]

    @staticmethod
    def concat(tables: Sequence[CallTable]) -> CallTable:
        """The calls of ``tables`` one after the other (tables of one trace: shared name lists)."""
        if len(tables) == 1:
            return tables[0]
        first = tables[0]
        if any(t.errnos is not first.errnos or t.files is not first.files for t in tables):
            return CallTable.of([c for t in tables for c in t])
        return CallTable({k: np.concatenate([t.columns[k] for t in tables]) for k in first.columns},
                         first.errnos, first.files)

    @staticmethod
    def of(events: Sequence[SyscallEvent] | CallTable) -> CallTable:
        """A table of ``events`` (a table is returned as it is)."""
        if isinstance(events, CallTable):
            return events
        builder = CallBuilder()
        for e in events:
            file, _, line = e.source.rpartition(":")
            builder.add(e.tid, e.name, e.start_ns, e.kernel_ns, e.ret, e.errno, e.bytes_in, e.bytes_out,
                        builder.file_code(file), int(line) if line.isdigit() else 0, e.pages)
        return builder.table()


class CallBuilder:
    """Appends calls to growable typed arrays (8 bytes a number, not a Python object) and turns
    them into a :class:`CallTable` once."""

    def __init__(self) -> None:
        self._arrays = {name: array(_ARRAY_CODE[kind]) for name, kind in _COLUMNS.items()}
        self.errnos: list[str] = []  # errno names by code - 1
        self._errno_code: dict[str, int] = {}
        self.files: list[str] = []
        self._file_code: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._arrays["start"])

    def file_code(self, path: str) -> int:
        """The code of file ``path`` (added on first use)."""
        code = self._file_code.get(path)
        if code is None:
            code = self._file_code[path] = len(self.files)
            self.files.append(path)
        return code

    def add(self, tid: int, name: str, start: float, kernel: float, ret: int | None, errno: str | None,
            bytes_in: int, bytes_out: int, file: int, line: int, pages: int = 0) -> int:
        """Append one call; returns its row."""
        a = self._arrays
        row = len(a["start"])
        a["tid"].append(tid)
        a["name"].append(CALL_CODE[name])
        a["start"].append(start)
        a["kernel"].append(kernel)
        if ret is None:
            a["ret"].append(0)
            a["ret_kind"].append(RET_NONE)
        elif ret >= 1 << 63:
            a["ret"].append(ret - _WRAP)
            a["ret_kind"].append(_RET_HIGH)
        else:
            a["ret"].append(ret)
            a["ret_kind"].append(_RET_VALUE)
        if errno is None:
            a["errno"].append(0)
        else:
            code = self._errno_code.get(errno)
            if code is None:
                self.errnos.append(errno)
                code = self._errno_code[errno] = len(self.errnos)
            a["errno"].append(code)
        a["bytes_in"].append(bytes_in)
        a["bytes_out"].append(bytes_out)
        a["file"].append(file)
        a["line"].append(line)
        a["pages"].append(pages)
        return row

    def source(self, row: int) -> str:
        """``"file:line"`` of the call at ``row``."""
        return f"{self.files[self._arrays['file'][row]]}:{self._arrays['line'][row]}"

    def columns(self, first: int = 0) -> dict[str, np.ndarray]:
        """Views of the rows from ``first`` on (drop them before adding: the arrays cannot grow
        while viewed)."""
        return {name: np.frombuffer(self._arrays[name], dtype=kind)[first:] if len(self) else np.empty(0, kind)
                for name, kind in _COLUMNS.items()}

    def table(self) -> CallTable:
        """Every call added, as a table (the builder's arrays are viewed, not copied)."""
        return CallTable(self.columns(), self.errnos, self.files)


_ARRAY_CODE = {"i4": "i", "u2": "H", "f8": "d", "i8": "q", "u1": "B", "u4": "I", "u8": "Q"}


@dataclass
class ParsedTrace:
    """Everything read from one or more strace files of one run."""

    files: list[str]
    calls: dict[int, CallTable] = field(default_factory=dict)  # tid -> calls by start
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
        counts: Counter = Counter()
        for calls in self.calls.values():
            counts.update(CALL_NAMES[code] for code in calls.name[calls.failed].tolist())
        return counts


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
