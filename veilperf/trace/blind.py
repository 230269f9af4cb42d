"""The untraced run time of a traced program, estimated from its ``strace -f -tt -T`` trace alone.

strace stops the program at each system call's entry and exit. On the 2-vCPU KVM guest this was
validated on, a call cost 25-125 us traced against about 1 us untraced, and the cost per call
changed threefold with the machine's load (tracer and program on one CPU or on two). Taking one
per-call cost off the traced span cannot work for a syscall-dense program: its untraced time is the
small difference of two large, noisy numbers. So the estimate is built bottom-up, call by call, from
two regularities of strace's timing:

* A call's ``-T`` time is one stop's cost plus the call's own kernel time; the gap before the next
  call is one stop's cost, plus the tracer's printing ``delta``, plus the program's compute. The two
  stops of one cycle cost nearly the same (same CPU placement), so the *residual*
  ``r = gap - previous call's -T`` is ``delta + compute`` with a spread of a few microseconds, in
  either placement, loaded or idle (here ``delta`` was 9-14 us).
* ``delta`` is the lower quartile of the per-name median residuals (names with at least
  ``MIN_CALLS`` cycles): most names (the loader's openat/mmap/close, ...) do no compute between calls.

Per call, untraced time = compute + kernel:

* compute = ``r - delta`` for names whose median residual exceeds ``2 delta`` (their cycles carry
  work: gzip's 1 ms of compression before each read), or for a single residual over ``BIG_FACTOR``
  cycles' overhead (one long computation); otherwise 0;
* kernel = ``-T - K`` (K: the median ``-T``, one stop) for names whose median ``-T`` exceeds ``2 K``
  (fdatasync, large writes) or for a single ``-T`` over ``BIG_FACTOR`` K; at least the floor
  ``FLOOR_NS`` + bytes moved at ``COPY_BYTES_PER_NS`` (a cheap call's cost untraced).

The lanes' sum over their traced sum scales the traced span (lanes run in parallel).

Range: the same with the assumptions at their ends (low: floor 0.25 us, the cheapest native call in
an SNP guest in docs/calibration, 40 B/ns, ``delta`` x2, K the 90% quantile; high: floor 2 us,
5 B/ns, ``delta`` x0.5, K the 25% quantile), then widened by ``RUN_NOISE`` for the untraced run's
own variation (repeated native runs here spread by up to 40%).

Validation, two rounds (load average 3.0 and 0.5) of gzip, sha256sum, xz, tar, find, ls -lR, du,
md5sum of 100 small files, cat of 128 MiB, and a Python loop writing one byte to /dev/null: see
docs/architecture.md for the table. Known limit: a parent blocked in ``wait4`` for a child counts
its (strace-slowed) wait as its own time.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass

from veilperf.trace.events import SyscallEvent


@dataclass(frozen=True)
class Assumptions:
    """One setting of the estimator's assumptions."""

    floor_ns: float  # untraced cost of a cheap call (entry, exit, a little work)
    copy_bytes_per_ns: float  # user/kernel copy speed for the bytes a call moves
    delta_scale: float  # the tracer's printing cost per cycle, relative to the trace's estimate
    stop_quantile: float  # quantile of the -T times taken as one stop's cost
    scale: float  # factor on the result: the untraced run's own variation


POINT = Assumptions(1000.0, 20.0, 1.0, 0.5, 1.0)
LOW = Assumptions(250.0, 40.0, 2.0, 0.9, 0.8)
HIGH = Assumptions(2000.0, 5.0, 0.5, 0.25, 1.2)
RUN_NOISE = (LOW.scale, HIGH.scale)
MIN_CALLS = 5
BIG_FACTOR = 20.0
MIN_DELTA_NS = 1000.0
"""``-tt``/``-T`` resolution: a printing cost below it cannot be told from zero."""


@dataclass(frozen=True)
class NativeEstimate:
    """The estimated untraced wall time and its range (ns), and how it was obtained."""

    wall_ns: float
    low_ns: float
    high_ns: float
    note: str


@dataclass(frozen=True)
class _Cycle:
    kernel_ns: float
    gap_ns: float | None  # None before a thread's first call
    residual_ns: float | None  # gap - previous call's -T
    moved: int  # bytes in + out


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _cycles(lanes: list[list[SyscallEvent]]) -> dict[str, list[_Cycle]]:
    by_name: dict[str, list[_Cycle]] = defaultdict(list)
    for lane in lanes:
        prev = None
        for call in lane:
            gap = residual = None
            if prev is not None and prev.tid == call.tid:
                gap = max(0.0, call.start_ns - prev.end_ns)
                residual = gap - prev.kernel_ns
            by_name[call.name].append(_Cycle(call.kernel_ns, gap, residual, call.bytes_in + call.bytes_out))
            prev = call
    return by_name


def _delta(cycles: dict[str, list[_Cycle]]) -> float:
    medians = [statistics.median(r) for group in cycles.values()
               if len(r := [c.residual_ns for c in group if c.residual_ns is not None]) >= MIN_CALLS]
    return max(MIN_DELTA_NS, _quantile(medians, 0.25)) if medians else MIN_DELTA_NS


def _native_sum(cycles: dict[str, list[_Cycle]], delta: float, a: Assumptions) -> float:
    """Summed untraced time of all calls and gaps under assumptions ``a``."""
    kernels = [c.kernel_ns for group in cycles.values() for c in group]
    stop_median = _quantile(kernels, 0.5)
    stop = _quantile(kernels, a.stop_quantile)
    printing = delta * a.delta_scale
    big_gap = BIG_FACTOR * (2 * stop_median + delta)
    total = 0.0
    for group in cycles.values():
        residuals = [c.residual_ns for c in group if c.residual_ns is not None]
        computes = bool(residuals) and statistics.median(residuals) > 2 * delta
        works = statistics.median(c.kernel_ns for c in group) > 2 * stop_median
        for c in group:
            if c.residual_ns is not None and (computes or c.residual_ns - printing > big_gap):
                total += max(0.0, c.residual_ns - printing)
            floor = a.floor_ns + c.moved / a.copy_bytes_per_ns
            if works or c.kernel_ns - stop > BIG_FACTOR * stop_median:
                total += max(floor, c.kernel_ns - stop)
            else:
                total += floor
    return total


def estimate_native(lanes: list[list[SyscallEvent]], span_ns: float) -> NativeEstimate:
    """Estimate the untraced wall time of the run whose (kept) ``lanes`` spanned ``span_ns``."""
    cycles = _cycles(lanes)
    traced = math.fsum(c.kernel_ns + (c.gap_ns or 0.0) for group in cycles.values() for c in group)
    scale = span_ns / traced if traced > 0 else 0.0
    delta = _delta(cycles)
    wall, low, high = (scale * a.scale * _native_sum(cycles, delta, a) for a in (POINT, LOW, HIGH))
    low, high = min(low, wall), max(high, wall)
    stop = _quantile([c.kernel_ns for group in cycles.values() for c in group], 0.5)
    note = (f"untraced run time estimated from the trace alone: {wall / 1e9:.6f} s (range "
            f"{low / 1e9:.6f}-{high / 1e9:.6f} s); strace's stop {stop / 1e3:.1f} us (median -T), its "
            f"printing {delta / 1e3:.1f} us per call (veilperf.trace.blind); record the program with "
            "`veilperf workload record` for precision")
    return NativeEstimate(wall, low, high, note)
