"""VeilS-Log's model: tamper-proof audit log kept by DomSer (spec: :mod:`veilperf.services.log`).

Per audit record (prototype, docs/references.md): the kernel's audit hook copies the record into a
per-CPU transit buffer (<= 1 KiB, longer records truncated) and makes one service call; the
service copies the record, rounded up to 64 B, into a ring (40 KiB) that wraps. A reader drains
the ring periodically, one service call per 128 B read. Records overwritten before being read are
lost. What-if: ``records_per_call`` > 1 batches records per call (the transit buffer is assumed to
hold the batch).

Which records an audited system call produces is the record model: ``event`` (default) follows
Linux audit, whose syscall event is several records, each ending in its own audit_log_end() (the
natural place for the hook): SYSCALL, then CWD and one PATH for calls naming a path (a lower bound:
rename or create name more), PROCTITLE, and EOE. ``single`` is one record per audited call.

The baseline is a CVM auditing nothing; formatting the records is not modelled on either side
(it is the same kernel work with or without Veil), so the overhead is what Veil adds to keep them:
the transit copies, the service calls, the ring copies and the reader's calls.

Appends to the one ring are serialised: a caller holds the ring (a FIFO single server) while the
service copies its records in, so appends from several VCPUs queue. Under static partitioning the
reader's calls are served by the DomSer VCPUs (no switch), like the appends.
"""

from __future__ import annotations

import math
from functools import cache
from typing import TYPE_CHECKING

from veilperf.model import charges
from veilperf.model.charges import Charge
from veilperf.model.domains import SER, UNT
from veilperf.model.vcpu import QUEUE
from veilperf.services.log import LogSettings
from veilperf.services.log_ring import LogRing

if TYPE_CHECKING:
    from veilperf.model.system import System
    from veilperf.model.thread import Gen, ThreadRunner


class LogService:
    """Audit rules, the per-VCPU transit batches, the ring, the reader, and the counters."""

    name = "log"

    def __init__(self, settings: LogSettings, system: "System") -> None:
        self.settings = settings
        self.system = system
        self.costs = system.ctx.costs
        self.ring = LogRing(settings.ring_size, settings.record_align)
        self.ring_free_at = 0.0  # when the last append reserved on the ring ends
        self._plan = cache(self._make_plan)
        self._append_charges = cache(self._make_append)
        self._batches: dict[int, list[float]] = {}
        workload = system.workload
        self.shared = workload.open_loop or workload.threads > 1  # appenders may meet at the ring
        self.events = 0
        self.records = 0
        self.record_bytes = 0.0
        self.ring_bytes = 0.0  # the records' aligned sizes (for the mean call whose cost is recorded)
        self.calls = 0
        self.read_calls = 0

    def attach(self) -> None:
        self.system.after_syscall.append(self.on_syscall)
        if self.settings.reader_period is not None:
            self.system.background.append(self.reader)

    def _make_plan(self, name: str) -> tuple[tuple[float, Charge, float], ...]:
        """Per record of ``name``: (bytes, transit copy charge, size in the ring); cached per name
        as ``_plan``."""
        return tuple((size, charges.audit_transit(self.costs, size), self.ring.aligned(size))
                     for size in self.settings.record_sizes_for(name))

    def on_syscall(self, runner: "ThreadRunner", name: str) -> "Gen":
        """The audit hook after a system call: per record a transit copy, then (per batch of
        ``records_per_call``) one service call that copies the batch into the ring."""
        plan = self._plan(name)
        if not plan:
            return
        per_call = self.settings.records_per_call
        self.events += 1
        batch = self._batches.setdefault(runner.vcpu.index, [])
        for size, transit, aligned in plan:
            runner.apply(transit)
            self.records += 1
            self.record_bytes += size
            self.ring_bytes += aligned
            batch.append(size)
            if len(batch) >= per_call:
                yield from self._append(runner, tuple(batch))
                batch.clear()

    def _make_append(self, origin: int, sizes: tuple[float, ...]) -> tuple[Charge, Charge]:
        """The append call of records of ``sizes`` bytes (copied into their aligned ring slots);
        cached per origin and sizes as ``_append_charges``."""
        return charges.log_append(self.costs, origin, tuple(map(self.ring.aligned, sizes)))

    def _append(self, runner: "ThreadRunner", sizes: tuple[float, ...]) -> "Gen":
        """One service call appending records of ``sizes`` bytes. On VCPU replicas: enter the
        service, wait for the ring, copy the records in, return. Under static partitioning a DomSer VCPU serves
        the whole call (the pool is the serialisation point)."""
        ctx = runner.ctx
        base, handler = self._append_charges(runner.vcpu.domain, sizes)
        if ctx.service_pool is not None:
            yield from runner.call(base + handler)
        elif not self.shared:  # one appender: the ring is always free when it arrives
            ctx.paths["single_appender"] += 1
            runner.apply(base)
            runner.apply(handler)
        else:
            runner.apply(base)
            yield from runner.flush()
            waited = self._reserve_ring(runner.env.now, handler.total_ns)
            if waited:  # spinning in the service until the ring is free
                runner.vcpu.busy[SER] += waited
                runner.pending += waited
                runner.ledger.causes[QUEUE] += waited
            runner.apply(handler)
        yield from runner.flush()  # the append happens at this simulated instant
        for size in sizes:
            self.ring.append(size)
        self.calls += 1

    def _reserve_ring(self, now: float, hold_ns: float) -> float:
        """The ring is one FIFO server (as a capacity-1 SimPy resource, without its events):
        a caller arriving at ``now`` starts when the previous holder is done (Lindley's
        recursion) and holds it ``hold_ns``; returns the wait."""
        start = max(now, self.ring_free_at)
        self.ring_free_at = start + hold_ns
        return start - now

    def reader(self) -> "Gen":
        """Drain the ring every ``reader_period``, one service call per ``read_chunk`` bytes.

        The reader is a kernel thread. Given spare VCPUs (ones no workload thread runs on), the
        scheduler runs it there, in parallel with the workload: the VCPU is busy (and held) for
        the reads. Otherwise the reads' cost is stolen from the workload's VCPUs in turn and paid
        by the thread running there at its next flush. Under static partitioning the calls are
        served by the DomSer VCPUs while the reader waits for them."""
        system = self.system
        system.ctx.paths["reader"] += 1
        env, ledger, pool = system.ctx.env, system.ctx.ledger, system.ctx.service_pool
        period, chunk = self.settings.reader_period, self.settings.read_chunk
        read = charges.log_read(self.costs, UNT, chunk)
        spare, busy = system.background_vcpus()
        targets = spare or busy
        turn = 0
        while True:
            yield env.timeout(period)
            calls = math.ceil(self.ring.drain() / chunk)
            if not calls:
                continue
            vcpu = targets[turn % len(targets)]
            turn += 1
            self.read_calls += calls
            if pool is None:
                charge = read.times(calls)
                ledger.account(vcpu, charge)
                cost = charge.total_ns
            else:
                charge = read.times(calls)
                cost = yield from pool.run(charge.work_ns, charge.served_cause_items)
                vcpu.busy[UNT] += cost
            if spare:
                vcpu.held += cost
            else:
                vcpu.steal += cost

    def metrics(self) -> dict[str, float]:
        """Counters and resolved costs for the run record (columns in ``services.log.COLUMNS``; the
        audit hook and the reader call from DomUnt, an enclave's ocall having left it). Records end
        appended or still in a transit batch (``pending``); appended ones end lost, read or unread:
        the counts and the bytes each add up (``services/log_ring.py``)."""
        ring, pool = self.ring, self.system.ctx.service_pool
        pending = [size for batch in self._batches.values() for size in batch]
        message = pool.message if pool is not None else None
        per_call = 1.0 / self.calls if self.calls else 0.0
        call = charges.log_call(self.costs, UNT, self.records * per_call, self.record_bytes * per_call,
                                self.ring_bytes * per_call)
        read = charges.log_read(self.costs, UNT, self.settings.read_chunk)
        return {
            "log.events": self.events,
            "log.records": self.records,
            "log.bytes": self.record_bytes,
            "log.calls": self.calls,
            "log.appended": ring.appended,
            "log.pending": len(pending),
            "log.pending_bytes": math.fsum(pending),
            "log.lost": ring.lost,
            "log.lost_bytes": ring.lost_bytes,
            "log.lost_share": ring.lost / self.records if self.records else 0.0,
            "log.read": ring.read,
            "log.read_bytes": ring.read_bytes,
            "log.unread": len(ring.unread),
            "log.unread_bytes": ring.unread_bytes,
            "log.read_calls": self.read_calls,
            "log.ring_bytes": ring.ring_bytes,
            "log.ring_high_water_bytes": ring.high_water,
            "costs.log.call_ns": charges.paid_ns(call, message),
            "costs.log.call_switching_ns": charges.paid_switching_ns(call, message),
            "costs.log.read_call_ns": charges.paid_ns(read, message),
            "costs.log.read_call_switching_ns": charges.paid_switching_ns(read, message),
        }
