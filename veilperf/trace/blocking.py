"""Split the time of calls that can block into kernel CPU time and waiting (``blocked``).

strace's ``-T`` time of a call is entry to exit, so for a call that can sleep (``poll``, ``futex``,
``epoll_wait``, ``wait4``, ...) it is the call's kernel CPU plus the time the thread slept, the
VCPU free meanwhile. The trace does not say which part is which, so the CPU part is estimated per
system-call name from the data: the cost of that call when it did not sleep.

Rule: a blocking call keeps as kernel CPU ``min(its own time, estimate(name))`` and the rest is
blocked, where ``estimate(name)`` is the 5th percentile (nearest rank) of the name's corrected
times in the trace, but at most the median corrected time of the trace's non-blocking calls.

* A low quantile, because calls that found their event ready (``epoll_wait`` with data waiting, an
  uncontended ``futex`` wake, ``poll`` with timeout 0) return at once: the fastest calls of a name
  are the ones that did not sleep. Not the minimum: ``-T`` has 1 us resolution and the correction
  takes the trace's shortest time off every call, so the minimum is often a rounding artefact
  (exactly 0); the 5th percentile is the minimum for names seen 20 times or fewer.
* The median non-blocking call as a ceiling, because when every call of a name slept (Python's
  ``http.server`` accept loop: each ``poll`` waits for the next client) its 5th percentile is
  waiting too; a call that does not sleep costs about what the trace's other calls cost.
* Conservation: CPU + blocked equals the corrected time of every call, so totals are unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from veilperf.trace.correction import Timeline, joined
from veilperf.trace.events import CALL_CODE, CALL_NAMES

BLOCKING = frozenset({
    "wait4", "waitid", "poll", "ppoll", "select", "pselect6", "epoll_wait", "epoll_pwait",
    "epoll_pwait2", "futex", "accept", "accept4", "nanosleep", "clock_nanosleep", "pause",
    "rt_sigsuspend", "rt_sigtimedwait", "semop", "semtimedop", "msgrcv", "restart_syscall",
})
"""System calls that can put the calling thread to sleep until an event or a timeout."""

CPU_QUANTILE = 0.05


def low_quantile(values: Sequence[float] | np.ndarray, q: float = CPU_QUANTILE) -> float:
    """The nearest-rank ``q`` quantile of ``values``: the smallest value with at least ``q`` of
    them at or below it (the minimum when ``len(values) <= 1 / q``)."""
    values = np.asarray(values, dtype=float)
    rank = max(0, math.ceil(q * len(values)) - 1)
    return float(np.partition(values, rank)[rank])


@dataclass(frozen=True)
class CpuEstimate:
    """The kernel CPU time a blocking call of one name keeps, and where it came from."""

    cpu_ns: float
    quantile_ns: float  # the name's own low quantile
    calls: int
    capped: bool  # the quantile exceeded the median non-blocking call: every call waited


BLOCKING_CODES = np.array(sorted(CALL_CODE[name] for name in BLOCKING))
"""The codes of :data:`BLOCKING` in a :class:`~veilperf.trace.events.CallTable`'s name column."""


def cpu_estimates(timelines: list[Timeline]) -> dict[str, CpuEstimate]:
    """Per blocking system-call name in ``timelines``: its estimated non-blocking cost."""
    names = joined([t.table.name for t in timelines])
    kernel = joined([t.kernel for t in timelines])
    blocking = np.isin(names, BLOCKING_CODES)
    plain = kernel[~blocking]
    ceiling = low_quantile(plain, 0.5) if len(plain) else math.inf
    del plain
    estimates = {}
    for code in sorted(set(names[blocking].tolist()), key=lambda c: CALL_NAMES[c]):
        times = kernel[names == code]
        own = low_quantile(times)
        estimates[CALL_NAMES[code]] = CpuEstimate(min(own, ceiling), own, len(times), own > ceiling)
    return estimates


def split_blocking(timelines: list[Timeline]) -> tuple[list[Timeline], dict[str, CpuEstimate]]:
    """``timelines`` with each blocking call's time split into ``kernel`` (CPU) and ``blocked``
    (the rest), and the per-name estimates used."""
    estimates = cpu_estimates(timelines)
    cpu_of = np.full(len(CALL_NAMES), np.inf)  # a name without an estimate keeps all of its time
    for name, estimate in estimates.items():
        cpu_of[CALL_CODE[name]] = estimate.cpu_ns
    split = []
    for timeline in timelines:
        cpu = np.minimum(timeline.kernel, cpu_of[timeline.table.name])
        split.append(Timeline(timeline.table, timeline.gap, cpu, timeline.kernel - cpu))
    return split, estimates
