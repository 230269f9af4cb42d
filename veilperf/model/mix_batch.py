"""Vectorised iterations of a sampled-mix workload on the uncontended hot path.

A mix iteration is one compute gap and one system call drawn by weight. On a pinned thread with no
sync point, a batch of iterations is computed with numpy from the same streams, in the same order,
as the scalar path (:class:`~veilperf.model.thread.FastIterations`), so results agree (tests check
this). Veil's part of each call is its op's precomputed charge (``op.veil``); :meth:`MixBatch.charge`
counts the calls per kind and :meth:`MixBatch.settle` books ``veil.times(count)`` for each, the
timer exits as ``tick_charge.times(ticks)`` and the first-touch faults as ``fault_charge.times(faults)``
(counted from the calls' fixed-point ``touch_units`` by integer cumulative sums, exactly as the
scalar paths count them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from veilperf.model.domains import ENC, UNT
from veilperf.model.program import TOUCH_SHIFT
from veilperf.model.sampling import BlockStream, TimeSource

if TYPE_CHECKING:
    from veilperf.model.program import SyscallOp
    from veilperf.model.thread import ThreadRunner


@dataclass
class BatchCosts:
    """Per-iteration components of one batch (arrays of equal length)."""

    latency: np.ndarray  # ns of each iteration
    entry: np.ndarray  # index of the call drawn
    native_home: np.ndarray  # ns of the workload's own work in the home domain (gap, vDSO calls)
    unt: np.ndarray  # ns of kernel work in DomUnt
    asleep: np.ndarray  # ns blocked in system calls (VCPU idle)
    ticks: np.ndarray  # timer exits taken in the iteration
    credit_after: np.ndarray  # fractional timer-tick credit after each iteration
    faults: np.ndarray  # first-touch faults taken after the iteration's call
    fault_credit_after: np.ndarray  # fault credit (units of 2**-TOUCH_SHIFT) after each iteration


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
    """Computes ``n`` mix iterations at once for one pinned thread."""

    def __init__(self, gap: TimeSource, calls: list["SyscallOp"], pick: BlockStream,
                 runner: "ThreadRunner") -> None:
        self.gap = gap
        self.calls = calls
        self.pick = pick
        self.runner = runner
        ctx = runner.ctx
        self.ticks_per_ns = ctx.ticks_per_ns if runner.home == ENC else 0.0
        self.tick_ns = ctx.tick_charge.total_ns
        self.kernel = _EntryTimes([op.kernel for op in calls])
        self.blocked = _EntryTimes([op.blocked for op in calls])
        self.vdso = np.array([bool(op.vdso) for op in calls])
        self.veil_ns = np.array([op.veil_ns for op in calls])
        self.veil_home_ns = np.array([op.veil_home_ns for op in calls])
        self.touch_units = np.array([op.touch_units for op in calls], dtype=np.int64)
        self.fault_ns = ctx.fault_charge.total_ns
        self.calls_made = np.zeros(len(calls), dtype=np.int64)  # per entry, not yet settled
        self.ticks = 0
        self.faults = 0

    def next(self, n: int) -> BatchCosts:
        """The next ``n`` iterations, given the timer-tick credit the runner carries."""
        idx = self.pick.take(n)
        gap = self.gap.take(n) if isinstance(self.gap, BlockStream) else np.full(n, self.gap)
        kernel = self.kernel.for_entries(idx)
        asleep = self.blocked.for_entries(idx)
        vdso = self.vdso[idx]
        native_home = gap + np.where(vdso, kernel, 0.0)
        unt = np.where(vdso, 0.0, kernel)
        credit = self.runner.tick_credit
        if self.ticks_per_ns:
            cumulative = credit + np.cumsum((native_home + self.veil_home_ns[idx]) * self.ticks_per_ns)
            whole = np.floor(cumulative)
            ticks = np.diff(whole, prepend=0.0).astype(np.int64)
            credit_after = cumulative - whole
        else:
            ticks = np.zeros(n, dtype=np.int64)
            credit_after = np.full(n, credit)
        faults, fault_credit_after = self._faults(idx)
        latency = native_home + unt + asleep + self.veil_ns[idx] + ticks * self.tick_ns + faults * self.fault_ns
        return BatchCosts(latency, idx, native_home, unt, asleep, ticks, credit_after, faults, fault_credit_after)

    def _faults(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Faults after each iteration's call and the credit left, from the runner's credit."""
        credit = self.runner.fault_credit
        if not self.touch_units.any():
            return np.zeros(len(idx), dtype=np.int64), np.full(len(idx), credit, dtype=np.int64)
        cumulative = credit + np.cumsum(self.touch_units[idx])
        whole = cumulative >> TOUCH_SHIFT
        return np.diff(whole, prepend=0), cumulative - (whole << TOUCH_SHIFT)

    def charge(self, batch: BatchCosts, count: int) -> None:
        """Book the workload's own time of the first ``count`` iterations of ``batch`` on the
        runner's VCPU; count their calls and timer exits for :meth:`settle`."""
        if not count:
            return
        runner = self.runner
        vcpu = runner.vcpu
        vcpu.busy[runner.home] += float(batch.native_home[:count].sum())
        vcpu.busy[UNT] += float(batch.unt[:count].sum())
        vcpu.held -= float(batch.asleep[:count].sum())
        self.calls_made += np.bincount(batch.entry[:count], minlength=len(self.calls))
        self.ticks += int(batch.ticks[:count].sum())
        runner.tick_credit = float(batch.credit_after[count - 1])
        self.faults += int(batch.faults[:count].sum())
        runner.fault_credit = int(batch.fault_credit_after[count - 1])

    def settle(self) -> None:
        """Book the Veil charges of the calls and timer exits of every charged iteration."""
        runner = self.runner
        path = runner.ctx.syscall_path
        for entry, calls in enumerate(self.calls_made.tolist()):
            if calls:
                path.settle(runner, self.calls[entry], calls)
        self.calls_made[:] = 0
        if self.ticks:
            runner.ledger.timer_exits += self.ticks
            runner.ledger.account(runner.vcpu, runner.ctx.tick_charge.times(self.ticks))
            self.ticks = 0
        if self.faults:
            runner.ledger.pt_faults += self.faults
            runner.ledger.account(runner.vcpu, runner.ctx.fault_charge.times(self.faults))
            self.faults = 0
