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
* One stop's cost is read *locally*: the quantiles of the ``-T`` times of the ``WINDOW`` calls on
  either side in the same lane. The scheduler moves tracer and program between sharing a CPU (a
  stop of ~8 us here) and not (~45 us) within one run; a run-wide median read the slower placement's
  calls as waiting, and on such a run (reproduced by flipping strace's CPU every 4 ms) the waits
  swallowed a Python loop's whole compute (estimate 0.36x the truth; 1.36x with local stops).
* ``delta`` is the lower quartile of the per-name median residuals (names with at least
  ``MIN_CALLS`` cycles): most names (the loader's openat/mmap/close, ...) do no compute between calls.

Per call, untraced time = compute + kernel:

* compute = ``r - delta`` for every residual beyond ``NOISE_FACTOR x delta`` (gzip's 1 ms of
  compression before each read, a Python start-up's module loads); smaller residuals are strace's
  noise. A loaded machine also keeps the traced thread waiting (for the tracer, for a CPU):
  such waits show as long ``-T`` times of cheap calls beyond the same noise level, and the gaps
  suffered as many, so their sum is taken off the compute total, and their share of the traced
  span (twice it: both stops) is taken as the share of time the untraced run also waited;
* kernel = ``-T - K`` (K: a local quantile of ``-T``, one stop) for names whose ``-T`` is mostly
  over twice the local median (fdatasync, large writes), at least the floor; every other call costs the
  floor, ``floor_ns`` + the bytes it moves at ``copy_bytes_per_ns`` (a cheap call untraced).

The lanes' sum over their traced sum scales the traced span (lanes run in parallel). A parent's
``wait4``/``waitid`` is waiting for a traced child whose lane holds that time: it costs the floor
and is left out of the traced sum (before, ``sh -c 'md5sum ...'`` came out 14x its untraced time).
Each program
started (a successful ``execve``) adds ``start_ns``: what the trace cannot show of a process's life
(the parent's fork, scheduling the child, reaping it). Launched from a small process on the
validation machine, ``/bin/true`` took 1.7-2.8 ms at best and 6-7 ms as a median under load
(its trace holds 0.3 ms of calls).

Range: the same with the assumptions at their ends (low: floor 0.25 us, the cheapest native call in
an SNP guest in the project's calibration notes (getpid/write in an SNP guest), 40 B/ns, ``delta`` x2, K the 90% quantile,
0.3 ms per program started, half the waiting share; high: floor 2 us, 5 B/ns, ``delta`` x0.5, K the
25% quantile, 8 ms per program, 1.5 x the waiting share), then widened by ``scale`` (0.7-1.4) for
the untraced run's own variation (the kept native runs of one recording spread by up to 127% on
the loaded validation machine).

Validation: ten programs (gzip, sha256sum, tar, find, ls -lR, du, md5sum under sh, and Python loops
of stat, of 1-byte writes and of compute with writes), each traced idle, pinned to one CPU, with one
CPU hog, and with strace's CPU flipped every 4 ms: see docs/architecture.md for the table. Known
limit: ``floor_ns`` is one cost for every cheap call; a loop of 1-byte writes to /dev/null (~0.2 us
each untraced) comes out 1.5x, a directory walk of openat/getdents (~2 us each) 0.6x.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from veilperf.trace.correction import joined, raw_gaps
from veilperf.trace.events import CALL_CODE, CALL_NAMES, RET_NONE, CallTable, SyscallEvent


@dataclass(frozen=True)
class Assumptions:
    """One setting of the estimator's assumptions."""

    floor_ns: float  # untraced cost of a cheap call (entry, exit, a little work)
    copy_bytes_per_ns: float  # user/kernel copy speed for the bytes a call moves
    delta_scale: float  # the tracer's printing cost per cycle, relative to the trace's estimate
    stop_quantile: float  # quantile of the -T times taken as one stop's cost
    start_ns: float  # per program started: fork, scheduling and reaping, unseen by the trace
    busy_scale: float  # factor on the share of time the traced run waited for a CPU
    scale: float  # factor on the result: the untraced run's own variation


POINT = Assumptions(1000.0, 20.0, 1.0, 0.5, 1.5e6, 1.0, 1.0)
LOW = Assumptions(250.0, 40.0, 2.0, 0.9, 0.3e6, 0.5, 0.7)
HIGH = Assumptions(2000.0, 5.0, 0.5, 0.25, 8e6, 1.5, 1.4)
"""The point estimate and the two ends of the range (see the module doc for each value's reason)."""
MAX_BUSY = 0.9
"""At most this share of the untraced run is taken as waiting for a CPU."""
MIN_CALLS = 5
NOISE_FACTOR = 2.0
"""A residual or -T time counts as work or waiting only beyond this many printing costs."""
MIN_DELTA_NS = 1000.0
"""``-tt``/``-T`` resolution: a printing cost below it cannot be told from zero."""


@dataclass(frozen=True)
class NativeEstimate:
    """The estimated untraced wall time and its range (ns), and how it was obtained."""

    wall_ns: float
    low_ns: float
    high_ns: float
    note: str


STOP_QUANTILES = tuple(sorted({LOW.stop_quantile, POINT.stop_quantile, HIGH.stop_quantile, 0.5}))
CHILD_WAITS = frozenset({"wait4", "waitid"})
"""Calls that wait for a traced child: the child's own lane holds that time."""
WINDOW = 8
"""Calls on each side of a call whose -T times give its local stop cost: strace's cost per stop
changes with where tracer and program run (same CPU or not), which can change within a run."""
_CHUNK = 1 << 16  # calls (and windows) handled at a time: temporary columns stay a few MB
_CHILD_WAIT_CODES = [CALL_CODE[name] for name in sorted(CHILD_WAITS)]


def _quantile(values: np.ndarray, q: float) -> float:
    rank = min(len(values) - 1, int(q * len(values)))
    return float(np.partition(values, rank)[rank])


def _local_stops(kernel: np.ndarray) -> np.ndarray:
    """Per call (rows), the STOP_QUANTILES (columns) of the -T times of the calls within WINDOW of
    it in its lane; the quantile of n sorted times is the one at position min(n - 1, int(q n))."""
    n, width = len(kernel), 2 * WINDOW + 1
    stops = np.empty((n, len(STOP_QUANTILES)))
    edges = range(n) if n < width else [*range(WINDOW), *range(n - WINDOW, n)]
    for i in edges:  # windows cut by the lane's ends
        near = np.sort(kernel[max(0, i - WINDOW):i + WINDOW + 1])
        stops[i] = [near[min(len(near) - 1, int(q * len(near)))] for q in STOP_QUANTILES]
    if n >= width:
        ranks = [min(width - 1, int(q * width)) for q in STOP_QUANTILES]
        windows = np.lib.stride_tricks.sliding_window_view(kernel, width)
        for a in range(0, len(windows), _CHUNK):
            part = np.partition(windows[a:a + _CHUNK], ranks, axis=1)
            stops[WINDOW + a:WINDOW + a + len(part)] = part[:, ranks]
    return stops


@dataclass
class _Cycles:
    """Every call of the lanes as columns: name code, -T time, bytes moved, the residual before it
    (NaN before a thread's first call) and its local stop quantiles; and the lanes' traced time
    (-T times, but a parent's wait for its child, and the gaps)."""

    name: np.ndarray
    kernel: np.ndarray
    moved: np.ndarray
    residual: np.ndarray
    stops: np.ndarray
    traced_ns: float

    @staticmethod
    def of(lanes: list[CallTable]) -> _Cycles:
        parts, traced = [], []
        for lane in lanes:
            residual = raw_gaps(lane)
            traced.append(math.fsum(residual[~np.isnan(residual)]))
            traced.append(math.fsum(lane.kernel[~np.isin(lane.name, _CHILD_WAIT_CODES)]))
            residual[1:] -= lane.kernel[:-1]  # the gap minus the previous call's -T, in place
            parts.append((lane.name, lane.kernel, lane.bytes_in + lane.bytes_out, residual,
                          _local_stops(lane.kernel)))
        return _Cycles(*(joined(column) for column in zip(*parts)), math.fsum(traced))

    def codes(self) -> list[int]:
        """The names present, as codes, in name order."""
        return sorted(np.unique(self.name).tolist(), key=lambda code: CALL_NAMES[code])


def _delta(cycles: _Cycles) -> float:
    medians = []
    for code in cycles.codes():
        residual = cycles.residual[cycles.name == code]
        residual = residual[~np.isnan(residual)]
        if len(residual) >= MIN_CALLS:
            medians.append(float(np.median(residual)))
    return max(MIN_DELTA_NS, _quantile(np.array(medians), 0.25)) if medians else MIN_DELTA_NS


def _native_sum(cycles: _Cycles, delta: float, a: Assumptions) -> tuple[float, float]:
    """Summed untraced time of all calls and gaps under assumptions ``a``, and the waits seen in
    cheap calls' -T times (the traced thread runnable but not running). Summed over blocks of calls,
    so the temporary columns stay small."""
    which, median = STOP_QUANTILES.index(a.stop_quantile), STOP_QUANTILES.index(0.5)
    printing = delta * a.delta_scale
    noise = NOISE_FACTOR * delta
    works_by_code = np.zeros(len(CALL_NAMES), dtype=bool)
    for code in cycles.codes():
        if CALL_NAMES[code] in CHILD_WAITS:
            continue
        rows = cycles.name == code
        beyond_two = cycles.stops[rows, median]
        beyond_two *= -2.0
        beyond_two += cycles.kernel[rows]
        works_by_code[code] = np.median(beyond_two) > 0
    child_by_code = np.isin(np.arange(len(CALL_NAMES)), _CHILD_WAIT_CODES)
    kernel_total = gap_total = stalls = 0.0
    for start in range(0, len(cycles.kernel), _CHUNK):
        block = slice(start, start + _CHUNK)
        works, child = works_by_code[cycles.name[block]], child_by_code[cycles.name[block]]
        compute = cycles.residual[block] - printing
        gap_total += float(np.sum(compute[compute > noise]))  # NaN compares false: no residual, no compute
        floor = a.floor_ns + cycles.moved[block] / a.copy_bytes_per_ns
        beyond = cycles.kernel[block] - cycles.stops[block, which]
        kernel_total += float(np.sum(np.where(works, np.maximum(floor, beyond), floor)))
        stalls += float(np.sum(beyond[~works & ~child & (beyond > noise)]))
    # a cheap call's -T beyond the noise is the traced thread waiting (for the tracer, for a CPU on
    # a busy machine); the gaps suffered as many such waits, which are not the program's compute
    return kernel_total + max(0.0, gap_total - stalls), stalls


def _wall(scale: float, summed: tuple[float, float], span_ns: float, programs: int,
          a: Assumptions) -> float:
    """Untraced wall time from the lanes' summed time: scaled to the span, plus program starts,
    stretched by the share of time a busy machine kept the program waiting."""
    native, stalls = summed
    busy = min(MAX_BUSY, a.busy_scale * 2 * stalls / span_ns) if span_ns > 0 else 0.0
    return a.scale * (scale * native + programs * a.start_ns) / (1 - busy)


def estimate_native(lanes: Sequence[CallTable | Sequence[SyscallEvent]], span_ns: float) -> NativeEstimate:
    """Estimate the untraced wall time of the run whose (kept) ``lanes`` spanned ``span_ns``."""
    tables = [CallTable.of(lane) for lane in lanes]
    programs = max(1, sum(int(np.count_nonzero((t.name == CALL_CODE["execve"]) & (t.ret == 0)
                                                & (t.ret_kind != RET_NONE))) for t in tables))
    cycles = _Cycles.of(tables)
    del tables
    traced = cycles.traced_ns
    scale = span_ns / traced if traced > 0 else 0.0
    delta = _delta(cycles)
    wall, low, high = (_wall(scale, _native_sum(cycles, delta, a), span_ns, programs, a)
                       for a in (POINT, LOW, HIGH))
    wall = min(wall, span_ns)  # strace only adds time: the point estimate is at most the span
    low, high = min(low, wall), max(high, wall)
    stop = _quantile(cycles.kernel, 0.5)
    note = (f"untraced run time estimated from the trace alone: {wall / 1e9:.6f} s (range "
            f"{low / 1e9:.6f}-{high / 1e9:.6f} s); strace's stop {stop / 1e3:.1f} us (median -T), its "
            f"printing {delta / 1e3:.1f} us per call (veilperf.trace.blind); record the program with "
            "`veilperf workload record` for precision")
    return NativeEstimate(wall, low, high, note)
