"""Parse ``strace -f -tt -T`` output (one file, or ``-ff`` per-thread files) into a ParsedTrace.

Accepted line shapes (each optionally prefixed by a thread id, ``1234  `` or ``[pid 1234] ``, and
required to carry a ``-tt`` (``HH:MM:SS.ffffff``) or ``-ttt`` (``1700000000.123456``) timestamp)::

    read(3, "..."..., 4096) = 4096 <0.000012>               complete call
    openat(AT_FDCWD, "/x", O_RDONLY) = -1 ENOENT (No ...) <0.000008>   failed call
    wait4(-1,  <unfinished ...>                             entry of a call another thread interrupts
    <... wait4 resumed>[...], 0, NULL) = 5943 <0.073>       its completion (-T covers the whole call)
    --- SIGCHLD {si_signo=SIGCHLD, ...} ---                 a signal delivery
    +++ exited with 0 +++  /  +++ killed by SIGKILL +++     a thread's end

Lines that cannot be read are skipped with a warning naming the file and line; a trace without any
usable call raises :class:`TraceError`. Lines are read one at a time (:class:`TraceParser` takes
any iterable of lines) and calls are appended to columns (:class:`~veilperf.trace.events.CallBuilder`),
so memory grows by about 61 bytes a call, whatever the lines' length.

Lines whose values are impossible (an hour 99, a pid beyond the kernel's limit of 2^22, a return value
beyond 64 bits, a timestamp earlier than the file's previous one, a call lasting longer than a day or
ending after the file's last timestamp, a name not in the x86-64 table, ``-ttt`` epoch stamps mixed with ``-tt`` clock stamps) are
*bad*: when only a few are (at most ``max(MAX_BAD_LINES, BAD_SHARE x lines)``) they are skipped with
warnings and counted; beyond that the trace is refused, naming the first bad line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from veilperf.errors import ConfigError
from veilperf.syscalls import NAMES as SYSCALL_NAMES
from veilperf.trace.events import CALL_CODE, CALL_NAMES, RET_NONE, CallBuilder, ParsedTrace
from veilperf.trace.syscall_bytes import bytes_moved


class TraceError(ConfigError):
    """A trace that cannot be used: ``"<file>: line N: <what is wrong>"``."""

    def __init__(self, file: str, line: int | None, message: str) -> None:
        super().__init__(file, f"line {line}" if line else "trace", message)


MAX_WARNINGS_LISTED = 20  # further warnings are counted, not listed
OVERLAP_TOLERANCE_NS = 1000.0  # -tt and -T print whole microseconds
MAX_BAD_LINES = 3  # impossible lines tolerated (as warnings) whatever the trace's length ...
BAD_SHARE = 0.01  # ... or up to this share of the lines; more and the trace is refused
PID_LIMIT = 1 << 22  # PID_MAX_LIMIT of 64-bit Linux: no thread id is larger
RET_LIMIT = 1 << 64  # a return value is one 64-bit register
MAX_CALL_NS = 86_400e9  # a -T duration over a day is a corrupt number, not a call
END_TOLERANCE_NS = 1e9  # a call may end this long after the file's last timestamp (truncated trace)

_PREFIX = re.compile(
    r"^(?:\[pid\s+(?P<pid1>\d+)\]\s+|(?P<pid2>\d+)\s+(?=\d))?"
    r"(?:(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)|(?P<epoch>\d{9,11}))\.(?P<frac>\d{6}|\d{9})\s+(?P<body>.*)$"
)
_SIGNAL = re.compile(r"^--- (?P<sig>SIG[A-Z0-9]+|stopped by SIG[A-Z0-9]+)\b.* ---$")
_EXIT = re.compile(r"^\+\+\+ (?P<how>exited with \d+|killed by SIG[A-Z0-9]+(?: \(core dumped\))?) \+\+\+$")
_UNFINISHED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\((?P<args>.*) <unfinished \.\.\.>$")
_RESUMED = re.compile(r"^<\.\.\. (?P<name>[A-Za-z_][A-Za-z0-9_]*) resumed>(?P<rest>.*)$")
_CALL = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\((?P<rest>.*)$")
_TAIL = re.compile(r"^(?P<args>.*)\)\s+=\s+(?P<ret>.*?)(?:\s+<(?P<dur>\d+\.\d+)>)?$")
_RET = re.compile(
    r"^(?P<val>-?\d+|0x[0-9a-fA-F]+|\?)(?:<.*?>)?(?:\s+(?P<errno>E[A-Z0-9_]+))?(?:\s+\(.*\))?$"
)
_DAY_NS = 86_400e9
_SPAWNS = frozenset({"clone", "clone3", "fork", "vfork"})


@dataclass
class _Pending:
    name: str
    start_ns: float
    line: int
    args: str


class _Bad(Exception):
    """An impossible value on a line: the line is skipped and counted (see the module doc)."""


class TraceParser:
    """Reads the files of one run (:meth:`parse_file` for each) into one :class:`ParsedTrace`
    (:meth:`finish`)."""

    def __init__(self, files: list[str]) -> None:
        self.trace = ParsedTrace(files=files)
        self.builder = CallBuilder()
        self.last_call: dict[int, tuple[float, int]] = {}  # tid -> (end, row) of its latest call
        self.removed: list[int] = []  # rows dropped after their file was read

    def parse_file(self, path: str, lines: Iterable[tuple[int, str]], default_tid: int) -> None:
        """Add the events of one file's ``(number, line)`` pairs (lines without newlines; empty ones
        may be left out); ``default_tid`` for lines without a pid."""
        parser = _FileParser(self, path, default_tid)
        for number, text, is_last in _with_last(lines):
            parser.feed(number, text, is_last)
        parser.finish()

    def finish(self) -> ParsedTrace:
        """The trace: calls grouped by thread and sorted by start, checked (see :func:`_finish`)."""
        trace = self.trace
        table = self.builder.table()
        self.builder = CallBuilder()
        keep = np.ones(len(table), dtype=bool)
        keep[self.removed] = False
        order = np.flatnonzero(keep)
        order = order[np.argsort(table.start[order], kind="stable")]
        order = order[np.argsort(table.tid[order], kind="stable")]
        for name in list(table.columns):  # one column at a time: the peak is one column more
            table.columns[name] = table.columns[name][order]
        del order
        tids, firsts = np.unique(table.tid, return_index=True)
        bounds = [*firsts.tolist(), len(table)]
        trace.calls = {int(tid): table[a:b] for tid, a, b in zip(tids, bounds, bounds[1:])}
        return _finish(trace)


def _with_last(lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, str, bool]]:
    """``(number, line, is_last)`` for each numbered line."""
    iterator = iter(lines)
    current = next(iterator, None)
    if current is None:
        return
    for following in iterator:
        yield *current, False
        current = following
    yield *current, True


class _FileParser:
    """State for reading one file: pending unfinished calls, day wrap, last line read."""

    def __init__(self, run: TraceParser, path: str, default_tid: int) -> None:
        self.run = run
        self.trace = run.trace
        self.path = path
        self.file = run.builder.file_code(path)
        self.default_tid = default_tid
        self.pending: dict[int, _Pending] = {}
        self.day_offset = 0.0
        self.last_clock = None
        self.last_ts: float | None = None  # latest timestamp of this file so far
        self.last_line = 0
        self.lines = 0  # lines with a timestamp
        self.first_row = len(run.builder)  # rows from here on completed in this file

    def bad(self, line: int, message: str) -> None:
        self.trace.bad[message.split(":")[0]] += 1
        if self.trace.first_bad is None:
            self.trace.first_bad = (self.path, line, message)
        self.warn(line, f"{message}; skipped")

    def warn(self, line: int, message: str) -> None:
        self.trace.warnings.append(f"{self.path}: line {line}: {message}")

    def timestamp(self, m: re.Match) -> float:
        frac = m["frac"]
        sub = int(frac) * (1000 if len(frac) == 6 else 1)
        style = "epoch" if m["epoch"] else "clock"
        if self.trace.stamp_style is None:
            self.trace.stamp_style = style
        elif style != self.trace.stamp_style:
            raise _Bad(f"mixed timestamps: a {style} stamp in a trace of {self.trace.stamp_style} stamps "
                       "(-ttt and -tt output mixed)")
        if m["epoch"]:  # relative to the first second seen: float ns keep their precision
            seconds = int(m["epoch"])
            if self.trace.epoch_base_s is None:
                self.trace.epoch_base_s = seconds
            return (seconds - self.trace.epoch_base_s) * 1e9 + sub
        h, mi, sec = int(m["h"]), int(m["m"]), int(m["s"])
        if h > 23 or mi > 59 or sec > 60:
            raise _Bad(f"impossible timestamp: {m['h']}:{m['m']}:{m['s']}")
        clock = (h * 3600 + mi * 60 + sec) * 1e9 + sub
        if self.last_clock is not None and clock < self.last_clock - _DAY_NS / 2:
            self.day_offset += _DAY_NS  # the trace ran past midnight
        self.last_clock = clock
        return clock + self.day_offset

    def feed(self, number: int, text: str, is_last: bool) -> None:
        """Read one line (without its newline)."""
        if not text.strip() or text.startswith("strace: "):
            return
        m = _PREFIX.match(text)
        if not m:
            why = "truncated last line" if is_last else "no -tt timestamp (record with strace -f -tt -T)"
            self.warn(number, f"{why}; skipped: {text[:80]!r}")
            return
        self.lines += 1
        try:
            tid = int(m["pid1"] or m["pid2"] or self.default_tid)
            if tid >= PID_LIMIT:
                raise _Bad(f"impossible pid: {tid} (above the kernel's limit {PID_LIMIT})")
            ts = self.timestamp(m)
            if self.last_ts is not None and ts < self.last_ts - OVERLAP_TOLERANCE_NS:
                raise _Bad(f"timestamp runs backwards: {(self.last_ts - ts) / 1e9:.6f} s before line "
                           f"{self.last_line}'s")
            body = m["body"].rstrip()
            handled = self.handle(number, tid, ts, body)
        except _Bad as exc:
            self.bad(number, str(exc))
            return
        self.last_ts, self.last_line = ts, number
        if handled:
            self.trace.first_ns = ts if self.trace.first_ns is None else min(self.trace.first_ns, ts)
            self.trace.last_ns = ts if self.trace.last_ns is None else max(self.trace.last_ns, ts)
        elif is_last:
            self.warn(number, f"truncated last line; skipped: {body[:80]!r}")
        else:
            self.warn(number, f"unreadable line; skipped: {body[:80]!r}")

    def handle(self, number: int, tid: int, ts: float, body: str) -> bool:
        """Apply one event; False when the body is not a recognised strace event."""
        if m := _SIGNAL.match(body):
            self.trace.signals[m["sig"].removeprefix("stopped by ")] += 1
            return True
        if m := _EXIT.match(body):
            self.trace.exits[tid] = m["how"]
            self.trace.exit_ns[tid] = ts
            return True
        if m := _UNFINISHED.match(body):
            if tid in self.pending:
                self.warn(number, f"thread {tid} starts {m['name']} while "
                          f"{self.pending[tid].name} (line {self.pending[tid].line}) is unfinished; "
                          "the earlier call is dropped")
            self.pending[tid] = _Pending(m["name"], ts, number, m["args"])
            return True
        if m := _RESUMED.match(body):
            tail = _TAIL.match(m["rest"])
            if not tail:
                return False
            started = self.pending.pop(tid, None)
            if started is None or started.name != m["name"]:
                if started is not None:
                    self.pending[tid] = started
                self.warn(number, f"{m['name']} resumed without its unfinished start in thread {tid}; skipped")
                return True
            return self.complete(number, tid, m["name"], started.start_ns, tail, started.args)
        if (m := _CALL.match(body)) and (tail := _TAIL.match(m["rest"])):
            return self.complete(number, tid, m["name"], ts, tail)
        return False

    def complete(self, number: int, tid: int, name: str, start: float, tail: re.Match,
                 before: str = "") -> bool:
        ret_match = _RET.match(tail["ret"].strip())
        if not ret_match:
            return False
        if name not in SYSCALL_NAMES:
            raise _Bad(f"unknown system call {name!r} (not in the x86-64 table)")
        val = ret_match["val"]
        ret = None if val == "?" else int(val, 16 if val.startswith("0x") else 10)
        if ret is not None and (ret >= RET_LIMIT or ret < -(RET_LIMIT >> 1) or
                                (ret >= RET_LIMIT >> 1 and not val.startswith("0x"))):
            raise _Bad(f"impossible return value of {name}: {val[:30]} (beyond 64 bits)")
        if tail["dur"] is not None and float(tail["dur"]) * 1e9 > MAX_CALL_NS:
            raise _Bad(f"impossible duration of {name}: {tail['dur']} s (over a day)")
        if tail["dur"] is None and val != "?":
            self.warn(number, f"{name} has no -T duration (record with strace -T); skipped")
            return True
        kernel = float(tail["dur"]) * 1e9 if tail["dur"] else 0.0
        errno = ret_match["errno"] if ret is None or ret < 0 else None
        if ret is not None and ret < 0 and errno is None:
            errno = "E?"
        previous = self.run.last_call.get(tid)
        if previous is not None and start < previous[0] - OVERLAP_TOLERANCE_NS:
            self.warn(number, f"thread {tid}: {name} starts before its previous call "
                      f"({self.run.builder.source(previous[1])}) ended; skipped")
            return True
        b_in, b_out = bytes_moved(name, ret if errno is None else None)
        pages = self.trace.memory.feed(tid, name, before + tail["args"], ret) if errno is None else 0
        row = self.run.builder.add(tid, name, start, kernel, ret, errno, b_in, b_out, self.file, number, pages)
        self.run.last_call[tid] = (start + kernel, row)
        if self.trace.last_ns is None or start + kernel > self.trace.last_ns:
            self.trace.last_ns = start + kernel
        return True

    def finish(self) -> None:
        for tid, pending in sorted(self.pending.items()):
            self.warn(pending.line, f"thread {tid}: {pending.name} never resumed (trace ends); dropped")
        self.pending.clear()
        self.trace.lines += self.lines
        if self.last_ts is None:
            return
        builder = self.run.builder
        here = builder.columns(self.first_row)
        late = np.flatnonzero(here["start"] + here["kernel"] > self.last_ts + END_TOLERANCE_NS)
        for index in late.tolist():  # its -T reaches past everything else in the file
            row = self.first_row + index
            self.run.removed.append(row)
            kernel = here["kernel"][index]
            self.bad(int(here["line"][index]), f"impossible duration of {CALL_NAMES[here['name'][index]]}: "
                     f"{kernel / 1e9:.6g} s, ending {(here['start'][index] + kernel - self.last_ts) / 1e9:.6g} s "
                     "after the file's last timestamp")
        for tid in {int(here["tid"][i]) for i in late.tolist()}:
            self.run.last_call.pop(tid, None)
            rows = np.flatnonzero(builder.columns()["tid"] == tid)
            rows = rows[~np.isin(rows, self.run.removed)]
            if len(rows):
                last = int(rows[-1])
                self.run.last_call[tid] = (float(builder.columns()["start"][last] + builder.columns()["kernel"][last]),
                                           last)


def _check_bad(trace: ParsedTrace) -> None:
    """Refuse a trace with more impossible lines than a few (see the module doc)."""
    bad = sum(trace.bad.values())
    if bad == 0:
        return
    allowed = max(MAX_BAD_LINES, BAD_SHARE * trace.lines)
    kinds = ", ".join(f"{kind} x{count}" for kind, count in trace.bad.most_common())
    path, line, message = trace.first_bad
    if bad > allowed:
        raise TraceError(path, line, f"{message}; {bad} of {trace.lines} lines have impossible "
                         f"values ({kinds}): not a trace strace wrote, or corrupt")
    trace.warnings.insert(0, f"{bad} of {trace.lines} lines with impossible values skipped ({kinds})")


def _finish(trace: ParsedTrace) -> ParsedTrace:
    """Refuse a trace that is empty or has many impossible lines, give calls that never return
    (``exit_group``) the time until their thread's exit line, drop empty threads, cap the warning
    list, and refuse a trace without usable calls."""
    if trace.lines == 0 and not trace.warnings:
        raise TraceError(", ".join(trace.files), None, "empty trace: no strace output line in it")
    _check_bad(trace)
    for tid, calls in trace.calls.items():
        last = len(calls) - 1
        c = calls.columns
        if c["ret_kind"][last] == RET_NONE and c["kernel"][last] == 0.0 and tid in trace.exit_ns:
            end = max(trace.exit_ns[tid], float(c["start"][last]))
            c["kernel"][last] = end - c["start"][last]
            c["errno"][last] = 0
            c["bytes_in"][last] = c["bytes_out"][last] = c["pages"][last] = 0
    spawns = [CALL_CODE[name] for name in sorted(_SPAWNS)]
    created = set()
    for calls in trace.calls.values():
        rows = np.isin(calls.name, spawns) & (calls.ret_kind != RET_NONE) & (calls.ret != 0)
        created.update(calls.ret[rows].tolist())
    roots = sorted((float(calls.start[0]), tid) for tid, calls in trace.calls.items() if tid not in created)
    for _, tid in roots[1:]:
        trace.warnings.append(f"thread {tid} ({trace.calls[tid].source(0)}) was not created by a "
                              "traced clone/fork: attached later, or a corrupt pid")
    if not trace.calls:
        detail = f" ({len(trace.warnings)} lines skipped; first: {trace.warnings[0]})" if trace.warnings else ""
        raise TraceError(", ".join(trace.files), None,
                         "no system call with a -T duration found; record with "
                         f"`strace -f -tt -T -o FILE command`{detail}")
    if len(trace.warnings) > MAX_WARNINGS_LISTED:
        extra = len(trace.warnings) - MAX_WARNINGS_LISTED
        trace.warnings = trace.warnings[:MAX_WARNINGS_LISTED] + [f"... and {extra} more skipped lines"]
    return trace
