"""Remove strace's own cost from a trace: per-thread timelines of (compute gap, call, kernel time).

strace stops the traced thread at every system-call entry and exit; each stop costs the tracee
context switches and waiting for the tracer, so both the ``-T`` kernel times and the gaps between
calls are inflated, and a busy machine makes that waiting longer. The total overhead ``O`` is

* known when the untraced wall time ``W`` of the same command is given: ``O = traced span - W``
  (if ``W`` exceeds the span, a busy machine slowed the untraced runs more than strace slowed the
  traced one: ``O`` is negative and the timelines are stretched in proportion to ``W``, since the
  measurement is the anchor; the untraced user time is then not used for the split);
* or measured some other way and given directly (for a server: the load phase's duration
  traced minus untraced, as the closed-loop client sees the server slowed by strace);
* otherwise estimated from the trace alone as ``calls x (shortest kernel time) + gaps x (shortest
  gap)``, which assumes the cheapest call and the tightest gap took ~0 real time (a lower bound
  on the overhead when the machine was busy).

``O`` is removed in two parts. (1) A uniform part: the shortest kernel time off every call and the
shortest gap off every gap between two calls of a thread (scaled down if ``O`` is smaller), so
nothing goes negative. (2) Any remainder is what strace added beyond a fixed cost per stop (the
traced run went slower overall: cache pollution, waiting for the tracer's CPU on a busy machine,
which also stretches ``-T`` times). When the untraced run's user CPU time is known, the gaps are
scaled to sum to it and the kernel times to the rest; otherwise the remainder is taken off gaps and
kernel times in proportion, keeping the split the trace shows. The total removed is exact unless
everything runs out (``unremoved_ns``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import overload

import numpy as np

from veilperf.trace.events import CallTable, ParsedTrace, SyscallEvent


@dataclass(frozen=True)
class Correction:
    """How strace overhead is taken off: ``kernel' = (kernel - kernel_ns) * kernel_scale`` and
    ``gap' = (gap - gap_ns) * gap_scale`` for every call and every gap between two calls."""

    total_ns: float
    per_call_ns: float
    kernel_ns: float
    gap_ns: float
    gap_scale: float
    kernel_scale: float
    unremoved_ns: float
    method: str  # "untraced wall time" | "trace minima"


@dataclass(frozen=True)
class TimedCall:
    """One call of a corrected timeline: the compute gap before it, then the call: its kernel CPU
    time and time blocked (asleep; 0 until :func:`veilperf.trace.blocking.split_blocking`)."""

    gap_ns: float
    kernel_ns: float
    call: SyscallEvent
    blocked_ns: float = 0.0


class Timeline:
    """One thread's (or lane's) corrected calls, as columns over its :class:`CallTable`: the
    compute ``gap`` before each call, its kernel CPU time and its time ``blocked``. ``calls`` shows
    them as :class:`TimedCall` objects, built on access."""

    def __init__(self, table: CallTable, gap: np.ndarray, kernel: np.ndarray,
                 blocked: np.ndarray | None = None) -> None:
        self.table, self.gap, self.kernel = table, gap, kernel
        self.blocked = np.zeros(len(gap)) if blocked is None else blocked

    def __len__(self) -> int:
        return len(self.gap)

    @property
    def calls(self) -> Sequence[TimedCall]:
        return _TimedCalls(self)

    @property
    def total_ns(self) -> float:
        return math.fsum((math.fsum(self.gap), math.fsum(self.kernel), math.fsum(self.blocked)))


class _TimedCalls(Sequence[TimedCall]):
    def __init__(self, timeline: Timeline) -> None:
        self._t = timeline

    def __len__(self) -> int:
        return len(self._t)

    @overload
    def __getitem__(self, index: int) -> TimedCall: ...

    @overload
    def __getitem__(self, index: slice) -> list[TimedCall]: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        t = self._t
        return TimedCall(float(t.gap[index]), float(t.kernel[index]), t.table[index], float(t.blocked[index]))


def fsum_all(arrays: Iterable[np.ndarray]) -> float:
    """The exactly rounded sum of every value of ``arrays`` (``math.fsum``, without a list of them)."""
    return math.fsum(chain.from_iterable(arrays))


def joined(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """The arrays one after the other (the array itself, not a copy, when there is one)."""
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


def raw_gaps(calls: CallTable | Sequence[SyscallEvent]) -> np.ndarray:
    """Compute time before each call of a thread (or lane); NaN before a thread's first call
    (nothing is known there: in a lane, that is idle time between two threads)."""
    calls = CallTable.of(calls)
    gaps = np.empty(len(calls))
    gaps[:1] = np.nan
    if len(calls) > 1:  # in place: one temporary column, not four (a trace may hold millions of calls)
        between = gaps[1:]
        np.add(calls.start[:-1], calls.kernel[:-1], out=between)
        np.subtract(calls.start[1:], between, out=between)
        np.maximum(between, 0.0, out=between)
        between[calls.tid[1:] != calls.tid[:-1]] = np.nan
    return gaps


def _total_overhead(span_ns: float, fixed_ns: float, calls: int, untraced_wall_ns: float | None,
                    overhead_ns: float | None, wall_label: str) -> tuple[float, str, str]:
    """(total overhead, method, note) from what is known."""
    if overhead_ns is not None:
        return (min(overhead_ns, span_ns), "measured total overhead",
                f"strace overhead measured outside the trace: {overhead_ns / 1e9:.6f} s over {calls} calls")
    if untraced_wall_ns is None:
        return (fixed_ns, "trace minima", "no untraced wall time given: overhead from the trace alone "
                "(shortest kernel time and shortest gap per call); an underestimate if the machine was busy")
    if span_ns < untraced_wall_ns:
        return (span_ns - untraced_wall_ns, f"{wall_label} (stretched)",
                f"the {wall_label} {untraced_wall_ns / 1e9:.6f} s exceeds the traced span "
                f"{span_ns / 1e9:.6f} s (a busy machine slowed the untraced runs more than strace slowed "
                "the traced one): every gap and kernel time stretched in proportion to it")
    return (span_ns - untraced_wall_ns, wall_label,
            f"strace overhead = traced span {span_ns / 1e9:.6f} s - {wall_label} "
            f"{untraced_wall_ns / 1e9:.6f} s = {(span_ns - untraced_wall_ns) / 1e9:.6f} s over {calls} calls")


def estimate(trace: ParsedTrace, untraced_wall_ns: float | None, overhead_ns: float | None = None,
             threads: Sequence[CallTable | Sequence[SyscallEvent]] | None = None,
             user_ns: float | None = None,
             wall_label: str = "untraced wall time") -> tuple[Correction, list[str]]:
    """The correction for ``trace``, and notes on how it was obtained.

    ``overhead_ns``, the total time strace added measured some other way (e.g. a server's load
    phase, traced minus untraced), replaces the estimate from ``untraced_wall_ns``. ``threads``
    (default: all of the trace's threads) are the call sequences corrected. ``user_ns``, the
    untraced run's user CPU time, sets the compute total (gaps), the rest going to kernel times;
    without it, the remainder is taken off gaps and kernel times in proportion. ``wall_label`` says
    where ``untraced_wall_ns`` came from (measured, or estimated by :mod:`veilperf.trace.blind`)."""
    tables = [CallTable.of(t) for t in (trace.calls.values() if threads is None else threads)]
    kernels = [t.kernel for t in tables]
    gaps = [g[~np.isnan(g)] for g in map(raw_gaps, tables)]
    calls, between = sum(map(len, kernels)), sum(map(len, gaps))
    min_kernel = min(float(k.min()) for k in kernels if len(k))
    min_gap = min((float(g.min()) for g in gaps if len(g)), default=0.0)
    fixed = calls * min_kernel + between * min_gap
    total, method, note = _total_overhead(trace.span_ns, fixed, calls, untraced_wall_ns,
                                          overhead_ns, wall_label)
    notes = [note]
    if method != "trace minima":  # a wall-clock overhead: each concurrent lane lost its share
        concurrency = (fsum_all(kernels) + fsum_all(gaps)) / trace.span_ns if trace.span_ns > 0 else 1.0
        if abs(concurrency - 1.0) > 1e-9:
            total *= concurrency
            notes.append(f"the lanes ran {concurrency:.3f} at a time on average (their summed time over the "
                         f"traced span): {total / 1e9:.6f} s removed from their summed time, so each "
                         "lane loses the overhead in proportion to how long it ran")
    share = min(1.0, max(0.0, total / fixed)) if fixed > 0 else 0.0
    if total < 0:
        user_ns = None  # stretched: keep the trace's own split
    elif user_ns is not None and len(tables) > 1:
        user_ns = None
        notes.append("several lanes: the untraced user time is not used for the split (one scale for "
                     "all gaps and another for all kernel times would stretch the lanes that mostly "
                     "wait, e.g. a main thread joining its workers, beyond the measured run time); "
                     "every lane keeps the trace's own split")
    kernel_ns, gap_ns = share * min_kernel, share * min_gap
    gap_left = fsum_all(gaps) - between * gap_ns
    kernel_left = fsum_all(kernels) - calls * kernel_ns
    del gaps
    target = max(0.0, gap_left + kernel_left - (total - share * fixed))  # what the lanes keep
    unremoved = max(0.0, total - share * fixed - gap_left - kernel_left)
    if user_ns is None:
        gap_target = target * gap_left / (gap_left + kernel_left) if gap_left + kernel_left > 0 else 0.0
        how = "the rest off all gaps and kernel times in proportion"
    else:
        gap_target = min(user_ns, target) if gap_left > 0 else 0.0
        if kernel_left == 0:
            gap_target = target
        how = f"gaps scaled to the untraced user CPU time {user_ns / 1e9:.6f} s, kernel times to the rest"
    gap_scale = gap_target / gap_left if gap_left > 0 else 1.0
    kernel_scale = (target - gap_target) / kernel_left if kernel_left > 0 else 1.0
    notes.append(f"uniform part: {kernel_ns:.0f} ns off every kernel time, {gap_ns:.0f} ns off every "
                 f"gap; {how} (gaps x{gap_scale:.4f}, kernel x{kernel_scale:.4f})")
    if unremoved > 0:
        notes.append(f"{unremoved / 1e9:.6f} s of overhead could not be removed (nothing left)")
    correction = Correction(total - unremoved, total / calls, kernel_ns, gap_ns, gap_scale,
                            kernel_scale, unremoved, method)
    return correction, notes


def corrected_timeline(calls: CallTable | Sequence[SyscallEvent], correction: Correction) -> Timeline:
    """Apply ``correction`` to one thread's (or lane's) calls."""
    calls = CallTable.of(calls)
    kernel = np.maximum(0.0, calls.kernel - correction.kernel_ns) * correction.kernel_scale
    gap = raw_gaps(calls)
    known = ~np.isnan(gap)
    gap[known] = np.maximum(0.0, gap[known] - correction.gap_ns) * correction.gap_scale
    gap[~known] = 0.0
    return Timeline(calls, gap, kernel)


def lanes(trace: ParsedTrace) -> list[CallTable]:
    """Fold threads whose lifetimes do not overlap into one lane each (first fit by start time),
    so a server that spawns one short thread per request becomes as many lanes as ran at once."""
    threads = sorted(trace.calls.values(), key=lambda calls: float(calls.start[0]))
    folded: list[list[CallTable]] = []
    ends: list[float] = []
    for calls in threads:
        for number, end in enumerate(ends):
            if end <= calls.start[0]:
                folded[number].append(calls)
                ends[number] = float(calls.start[-1] + calls.kernel[-1])
                break
        else:
            folded.append([calls])
            ends.append(float(calls.start[-1] + calls.kernel[-1]))
    return [CallTable.concat(parts) for parts in folded]
