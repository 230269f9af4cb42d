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
from dataclasses import dataclass

from veilperf.trace.events import ParsedTrace, SyscallEvent


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


@dataclass(frozen=True)
class Timeline:
    """One thread's (or lane's) corrected calls."""

    calls: list[TimedCall]

    @property
    def total_ns(self) -> float:
        return math.fsum(c.gap_ns + c.kernel_ns + c.blocked_ns for c in self.calls)


def raw_gaps(calls: list[SyscallEvent]) -> list[float | None]:
    """Compute time before each call of a thread (or lane); ``None`` before a thread's first call
    (nothing is known there: in a lane, that is idle time between two threads)."""
    return [None] + [max(0.0, b.start_ns - a.end_ns) if a.tid == b.tid else None
                     for a, b in zip(calls, calls[1:])]


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
             threads: list[list[SyscallEvent]] | None = None,
             user_ns: float | None = None,
             wall_label: str = "untraced wall time") -> tuple[Correction, list[str]]:
    """The correction for ``trace``, and notes on how it was obtained.

    ``overhead_ns``, the total time strace added measured some other way (e.g. a server's load
    phase, traced minus untraced), replaces the estimate from ``untraced_wall_ns``. ``threads``
    (default: all of the trace's threads) are the call sequences corrected. ``user_ns``, the
    untraced run's user CPU time, sets the compute total (gaps), the rest going to kernel times;
    without it, the remainder is taken off gaps and kernel times in proportion. ``wall_label`` says
    where ``untraced_wall_ns`` came from (measured, or estimated by :mod:`veilperf.trace.blind`)."""
    if threads is None:
        threads = list(trace.calls.values())
    kernels = [c.kernel_ns for calls in threads for c in calls]
    gaps = [g for calls in threads for g in raw_gaps(calls) if g is not None]
    min_kernel, min_gap = min(kernels), min(gaps, default=0.0)
    fixed = len(kernels) * min_kernel + len(gaps) * min_gap
    total, method, note = _total_overhead(trace.span_ns, fixed, len(kernels), untraced_wall_ns,
                                          overhead_ns, wall_label)
    notes = [note]
    if method != "trace minima":  # a wall-clock overhead: each concurrent lane lost its share
        concurrency = (math.fsum(kernels) + math.fsum(gaps)) / trace.span_ns if trace.span_ns > 0 else 1.0
        if abs(concurrency - 1.0) > 1e-9:
            total *= concurrency
            notes.append(f"the lanes ran {concurrency:.3f} at a time on average (their summed time over the "
                         f"traced span): {total / 1e9:.6f} s removed from their summed time, so each "
                         "lane loses the overhead in proportion to how long it ran")
    share = min(1.0, max(0.0, total / fixed)) if fixed > 0 else 0.0
    if total < 0:
        user_ns = None  # stretched: keep the trace's own split
    elif user_ns is not None and len(threads) > 1:
        user_ns = None
        notes.append("several lanes: the untraced user time is not used for the split (one scale for "
                     "all gaps and another for all kernel times would stretch the lanes that mostly "
                     "wait, e.g. a main thread joining its workers, beyond the measured run time); "
                     "every lane keeps the trace's own split")
    kernel_ns, gap_ns = share * min_kernel, share * min_gap
    gap_left = math.fsum(gaps) - len(gaps) * gap_ns
    kernel_left = math.fsum(kernels) - len(kernels) * kernel_ns
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
    correction = Correction(total - unremoved, total / len(kernels), kernel_ns, gap_ns, gap_scale,
                            kernel_scale, unremoved, method)
    return correction, notes


def corrected_timeline(calls: list[SyscallEvent], correction: Correction) -> Timeline:
    """Apply ``correction`` to one thread's (or lane's) calls."""
    timed = []
    for gap, call in zip(raw_gaps(calls), calls):
        kernel = max(0.0, call.kernel_ns - correction.kernel_ns) * correction.kernel_scale
        gap = 0.0 if gap is None else max(0.0, gap - correction.gap_ns) * correction.gap_scale
        timed.append(TimedCall(gap, kernel, call))
    return Timeline(timed)


def lanes(trace: ParsedTrace) -> list[list[SyscallEvent]]:
    """Fold threads whose lifetimes do not overlap into one lane each (first fit by start time),
    so a server that spawns one short thread per request becomes as many lanes as ran at once."""
    threads = sorted(trace.calls.values(), key=lambda calls: calls[0].start_ns)
    folded: list[list[SyscallEvent]] = []
    for calls in threads:
        for lane in folded:
            if lane[-1].end_ns <= calls[0].start_ns:
                lane.extend(calls)
                break
        else:
            folded.append(list(calls))
    return folded
