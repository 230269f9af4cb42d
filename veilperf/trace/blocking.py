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
from dataclasses import dataclass, replace

from veilperf.trace.correction import Timeline

BLOCKING = frozenset({
    "wait4", "waitid", "poll", "ppoll", "select", "pselect6", "epoll_wait", "epoll_pwait",
    "epoll_pwait2", "futex", "accept", "accept4", "nanosleep", "clock_nanosleep", "pause",
    "rt_sigsuspend", "rt_sigtimedwait", "semop", "semtimedop", "msgrcv", "restart_syscall",
})
"""System calls that can put the calling thread to sleep until an event or a timeout."""

CPU_QUANTILE = 0.05


def low_quantile(values: list[float], q: float = CPU_QUANTILE) -> float:
    """The nearest-rank ``q`` quantile of ``values``: the smallest value with at least ``q`` of
    them at or below it (the minimum when ``len(values) <= 1 / q``)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass(frozen=True)
class CpuEstimate:
    """The kernel CPU time a blocking call of one name keeps, and where it came from."""

    cpu_ns: float
    quantile_ns: float  # the name's own low quantile
    calls: int
    capped: bool  # the quantile exceeded the median non-blocking call: every call waited


def cpu_estimates(timelines: list[Timeline]) -> dict[str, CpuEstimate]:
    """Per blocking system-call name in ``timelines``: its estimated non-blocking cost."""
    by_name: dict[str, list[float]] = {}
    plain = []
    for timeline in timelines:
        for c in timeline.calls:
            if c.call.name in BLOCKING:
                by_name.setdefault(c.call.name, []).append(c.kernel_ns)
            else:
                plain.append(c.kernel_ns)
    ceiling = low_quantile(plain, 0.5) if plain else math.inf
    estimates = {}
    for name, times in sorted(by_name.items()):
        own = low_quantile(times)
        estimates[name] = CpuEstimate(min(own, ceiling), own, len(times), own > ceiling)
    return estimates


def split_blocking(timelines: list[Timeline]) -> tuple[list[Timeline], dict[str, CpuEstimate]]:
    """``timelines`` with each blocking call's time split into ``kernel_ns`` (CPU) and
    ``blocked_ns`` (the rest), and the per-name estimates used."""
    estimates = cpu_estimates(timelines)
    split = []
    for timeline in timelines:
        calls = []
        for c in timeline.calls:
            estimate = estimates.get(c.call.name)
            if estimate is None:
                calls.append(c)
            else:
                cpu = min(c.kernel_ns, estimate.cpu_ns)
                calls.append(replace(c, kernel_ns=cpu, blocked_ns=c.kernel_ns - cpu))
        split.append(Timeline(calls))
    return split, estimates
