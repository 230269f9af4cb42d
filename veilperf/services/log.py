"""VeilS-Log: tamper-proof audit log kept by DomSer.

Per audited system call (prototype, veil-facts.md): the kernel's audit hook copies the record into
a per-CPU transit buffer (<= 1 KiB, longer records truncated) and makes one service call; the
service copies the record, rounded up to 64 B, into a ring (40 KiB) that wraps. A reader drains
the ring periodically, one service call per 128 B read. Records overwritten before being read are
lost. What-if: ``records_per_call`` > 1 batches records per call (the transit buffer is assumed to
hold the batch).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import simpy

from veilperf.config.services import LogService as LogSettings
from veilperf.model.domains import SER, UNT
from veilperf.model.vcpu import COPY, MONITOR, SERVICE, SWITCH
from veilperf.services.log_ring import LogRing
from veilperf.services.syscall_classes import syscall_class

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
        self.record_bytes = min(settings.record_size, settings.transit_buffer)
        self._audited: dict[str, bool] = {}
        self._batched: dict[int, int] = {}
        self.records = 0
        self.calls = 0
        self.read_calls = 0

    def audited(self, name: str) -> bool:
        """Whether the audit rules produce a record for system call ``name``."""
        hit = self._audited.get(name)
        if hit is None:
            rules = self.settings.rules
            if rules.select == "all":
                hit = True
            elif rules.select == "names":
                hit = name in rules.names
            else:
                hit = syscall_class(name) in rules.classes
            self._audited[name] = hit
        return hit

    def on_syscall(self, runner: "ThreadRunner", name: str) -> "Gen":
        """The audit hook after a system call: transit copy, then (per batch) one service call."""
        if not self.audited(name):
            return
        costs = self.costs
        runner.charge_cause(UNT, costs.copy_ns(self.record_bytes), COPY)
        self.records += 1
        vcpu_index = runner.vcpu.index
        batched = self._batched.get(vcpu_index, 0) + 1
        if batched < self.settings.records_per_call:
            self._batched[vcpu_index] = batched
            return
        self._batched[vcpu_index] = 0
        ring_copy = costs.copy_ns(self.ring.aligned(self.record_bytes))
        yield from runner.domain_call(SER, batched * ring_copy, 0.0, SERVICE)
        self.calls += 1
        yield from runner.flush()  # the append happens at this simulated instant
        for _ in range(batched):
            self.ring.append(self.record_bytes)

    def reader(self, env: simpy.Environment, vcpus: list["Vcpu"], ledger: "Ledger") -> "Gen":
        """Drain the ring every ``reader_period``; the reads' cost is stolen from the app VCPUs
        in turn (the reader is a kernel thread sharing them)."""
        period = self.settings.reader_period
        chunk = self.settings.read_chunk
        costs = self.costs
        per_call_switch = 2 * costs.switch_one_way
        per_call_monitor = costs.monitor_overhead_ns()
        per_call_copy = costs.copy_ns(chunk)
        turn = 0
        while True:
            yield env.timeout(period)
            nbytes = self.ring.drain()
            calls = math.ceil(nbytes / chunk)
            if not calls:
                continue
            vcpu = vcpus[turn % len(vcpus)]
            turn += 1
            self.read_calls += calls
            vcpu.switching += calls * per_call_switch
            vcpu.busy[SER] += calls * (per_call_monitor + per_call_copy)
            vcpu.steal += calls * (per_call_switch + per_call_monitor + per_call_copy)
            ledger.switches[UNT][SER] += calls
            ledger.switches[SER][UNT] += calls
            ledger.causes[SWITCH] += calls * per_call_switch
            ledger.causes[MONITOR] += calls * per_call_monitor
            ledger.causes[COPY] += calls * per_call_copy

    def metrics(self) -> dict[str, float]:
        """Counters for the run record (``log.*``)."""
        ring = self.ring
        return {
            "log.records": self.records,
            "log.bytes": self.records * self.record_bytes,
            "log.calls": self.calls,
            "log.appended": ring.appended,
            "log.lost": ring.lost,
            "log.lost_bytes": ring.lost_bytes,
            "log.read_bytes": ring.read_bytes,
            "log.read_calls": self.read_calls,
            "log.ring_high_water_bytes": ring.high_water,
        }
