"""Vectorised iterations of a sampled-mix workload on the uncontended hot path.

A mix iteration is one compute gap and one system call drawn by weight. On a pinned thread with no
sync point, a batch of iterations is computed with numpy from the same streams, in the same order,
as the scalar path (:meth:`ThreadRunner.fast_iteration`), so results agree (tests check this).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from veilperf.model.domains import ENC
from veilperf.model.sampling import BlockStream, TimeSource


@dataclass
class BatchCosts:
    """Per-iteration components of one batch (arrays of equal length)."""

    latency: np.ndarray  # ns of each iteration
    home: np.ndarray  # ns in the thread's home domain (compute, vDSO calls, argument copies)
    unt: np.ndarray  # ns of kernel work in DomUnt
    asleep: np.ndarray  # ns blocked in system calls (VCPU idle)
    extra: np.ndarray  # ns of Veil-added copies (part of home)
    round_trips: np.ndarray  # domain round trips (ocalls + timer exits)
    ocalls: np.ndarray
    vdso: np.ndarray
    ticks: np.ndarray
    credit_after: np.ndarray  # fractional timer-tick credit after each iteration


class _EntryTimes:
    """One time source per mix entry (constants or samplers), drawn for a batch of entry indices:
    each sampler gives its next values, in order, to the iterations that drew its entry."""

    def __init__(self, sources: list[TimeSource]) -> None:
        self.constants = np.array([0.0 if isinstance(s, BlockStream) else s for s in sources])
        self.samplers = [(i, s) for i, s in enumerate(sources) if isinstance(s, BlockStream)]

    def for_entries(self, idx: np.ndarray) -> np.ndarray:
        values = self.constants[idx]
        for entry, sampler in self.samplers:
            where = idx == entry
            count = int(where.sum())
            if count:
                values[where] = sampler.take(count)
        return values


class MixBatch:
    """Computes ``n`` mix iterations at once."""

    def __init__(self, gap: TimeSource, calls: list[tuple], pick: BlockStream, home: int,
                 switch_ns: float, ticks_per_ns: float) -> None:
        self.gap = gap
        self.pick = pick
        self.home = home
        self.switch_ns = switch_ns
        self.ticks_per_ns = ticks_per_ns if home == ENC else 0.0
        self.kernel = _EntryTimes([op[2] for op in calls])
        self.vdso = np.array([bool(op[6]) for op in calls])
        self.extra = np.array([0.0 if op[6] else op[7] for op in calls])
        self.crossings = np.array([0 if op[6] else op[8] for op in calls])
        self.blocked = _EntryTimes([op[9] for op in calls])

    def next(self, n: int, credit: float) -> BatchCosts:
        """The next ``n`` iterations, given the timer-tick credit carried in."""
        idx = self.pick.take(n)
        gap = self.gap.take(n) if isinstance(self.gap, BlockStream) else np.full(n, self.gap)
        kernel = self.kernel.for_entries(idx)
        asleep = self.blocked.for_entries(idx)
        vdso = self.vdso[idx]
        extra = self.extra[idx]
        ocalls = self.crossings[idx]
        home = gap + np.where(vdso, kernel, 0.0) + extra
        unt = np.where(vdso, 0.0, kernel)
        if self.ticks_per_ns:
            cumulative = credit + np.cumsum(home * self.ticks_per_ns)
            whole = np.floor(cumulative)
            ticks = np.diff(whole, prepend=0.0).astype(np.int64)
            credit_after = cumulative - whole
        else:
            ticks = np.zeros(n, dtype=np.int64)
            credit_after = np.full(n, credit)
        round_trips = ocalls + ticks
        latency = home + unt + asleep + 2 * self.switch_ns * round_trips
        return BatchCosts(latency, home, unt, asleep, extra, round_trips, ocalls, vdso, ticks, credit_after)
