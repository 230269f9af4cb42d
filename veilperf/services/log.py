"""VeilS-Log: tamper-proof audit log kept by DomSer.

Per audit record (prototype, veil-facts.md): the kernel's audit hook copies the record into a
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
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import simpy

from veilperf.config.services import LogService as LogSettings
from veilperf.model.domains import SER, UNT
from veilperf.model.vcpu import COPY, MONITOR, SERVICE, SWITCH
from veilperf.services.log_ring import LogRing
from veilperf.services.syscall_classes import names_path, syscall_class

if TYPE_CHECKING:
    from veilperf.model.costs import PlatformCosts
    from veilperf.model.thread import Gen, ThreadRunner
    from veilperf.model.vcpu import Ledger, Vcpu


class LogService:
    """Audit rules, the per-VCPU transit batches, the ring, the reader, and the counters."""

    def __init__(self, settings: LogSettings, costs: "PlatformCosts") -> None:
        self.settings = settings
        self.costs = costs
        self.ring = LogRing(settings.ring_size, settings.record_align)
        self._plans: dict[str, tuple[tuple[float, float, float], ...]] = {}
        self._batches: dict[int, list[tuple[float, float, float]]] = {}
        self.events = 0
        self.records = 0
        self.record_bytes = 0.0
        self.calls = 0
        self.read_calls = 0

    def audited(self, name: str) -> bool:
        """Whether the audit rules produce records for system call ``name``."""
        rules = self.settings.rules
        if rules.select == "all":
            return True
        if rules.select == "names":
            return name in rules.names
        return syscall_class(name) in rules.classes

    def records_for(self, name: str) -> tuple[float, ...]:
        """Sizes in bytes (after truncation to the transit buffer) of the records system call
        ``name`` produces; empty when the audit rules do not select it."""
        settings = self.settings
        if not self.audited(name):
            return ()
        if settings.record_model == "single":
            sizes: tuple[float, ...] = (settings.record_size,)
        else:
            r = settings.record_sizes
            named = (r.cwd, r.path) if names_path(name) else ()
            sizes = (r.syscall, *named, r.proctitle, r.eoe)
        return tuple(min(size, settings.transit_buffer) for size in sizes)

    def _plan(self, name: str) -> tuple[tuple[float, float, float], ...]:
        """Per record of ``name``: (bytes, transit copy ns, ring copy ns), computed once."""
        plan = self._plans.get(name)
        if plan is None:
            copy, aligned = self.costs.copy_ns, self.ring.aligned
            plan = tuple((size, copy(size), copy(aligned(size))) for size in self.records_for(name))
            self._plans[name] = plan
        return plan

    def on_syscall(self, runner: "ThreadRunner", name: str) -> "Gen":
        """The audit hook after a system call: per record a transit copy, then (per batch of
        ``records_per_call``) one service call that copies the batch into the ring."""
        plan = self._plan(name)
        if not plan:
            return
        per_call = self.settings.records_per_call
        self.events += 1
        batch = self._batches.setdefault(runner.vcpu.index, [])
        for record in plan:
            runner.charge_cause(UNT, record[1], COPY)
            self.records += 1
            self.record_bytes += record[0]
            batch.append(record)
            if len(batch) < per_call:
                continue
            ring_copy = sum(r[2] for r in batch)
            yield from runner.domain_call(SER, ring_copy, 0.0, SERVICE)
            self.calls += 1
            yield from runner.flush()  # the append happens at this simulated instant
            for r in batch:
                self.ring.append(r[0])
            batch.clear()

    def reader(self, env: simpy.Environment, vcpus: list["Vcpu"], ledger: "Ledger",
               spare: list["Vcpu"] | None = None) -> "Gen":
        """Drain the ring every ``reader_period``, one service call per ``read_chunk`` bytes.

        The reader is a kernel thread. Given ``spare`` VCPUs (ones no workload thread runs on),
        the scheduler runs it there, in parallel with the workload: the VCPU is busy (and held)
        for the reads. Otherwise the reads' cost is stolen from the workload's ``vcpus`` in turn
        and paid by the thread running there at its next flush."""
        period = self.settings.reader_period
        chunk = self.settings.read_chunk
        costs = self.costs
        per_call_switch = 2 * costs.switch_one_way
        per_call_monitor = costs.monitor_overhead_ns()
        per_call_copy = costs.copy_ns(chunk)
        targets = list(spare) if spare else list(vcpus)
        turn = 0
        while True:
            yield env.timeout(period)
            nbytes = self.ring.drain()
            calls = math.ceil(nbytes / chunk)
            if not calls:
                continue
            vcpu = targets[turn % len(targets)]
            turn += 1
            self.read_calls += calls
            cost = calls * (per_call_switch + per_call_monitor + per_call_copy)
            vcpu.switching += calls * per_call_switch
            vcpu.busy[SER] += calls * (per_call_monitor + per_call_copy)
            if spare:
                vcpu.held += cost
            else:
                vcpu.steal += cost
            ledger.switches[UNT][SER] += calls
            ledger.switches[SER][UNT] += calls
            ledger.causes[SWITCH] += calls * per_call_switch
            ledger.causes[MONITOR] += calls * per_call_monitor
            ledger.causes[COPY] += calls * per_call_copy

    def metrics(self) -> dict[str, float]:
        """Counters for the run record (``log.*``)."""
        ring = self.ring
        return {
            "log.events": self.events,
            "log.records": self.records,
            "log.bytes": self.record_bytes,
            "log.calls": self.calls,
            "log.appended": ring.appended,
            "log.lost": ring.lost,
            "log.lost_bytes": ring.lost_bytes,
            "log.read_bytes": ring.read_bytes,
            "log.read_calls": self.read_calls,
            "log.ring_high_water_bytes": ring.high_water,
        }
