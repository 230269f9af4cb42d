"""VeilS-Log: tamper-proof audit log kept by DomSer.

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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from veilperf.model import charges
from veilperf.model.charges import Charge
from veilperf.model.domains import SER, UNT
from veilperf.model.thread import PATHS_TAKEN
from veilperf.model.vcpu import QUEUE, SERVICE
from veilperf.services.log_ring import LogRing
from veilperf.services.syscall_classes import names_path, syscall_class

if TYPE_CHECKING:
    from veilperf.model.system import System
    from veilperf.model.thread import Gen, ThreadRunner


@dataclass(frozen=True, slots=True)
class LogSettings:
    """Audit rules (``select`` all / names / classes), the record model and sizes in bytes, the
    prototype's transit buffer, ring and alignment, the reader (period in ns, None: never read;
    bytes per read call) and records per service call (batching what-if)."""

    select: str = "all"
    names: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    record_model: str = "event"
    record_sizes: tuple[tuple[str, float], ...] = (("syscall", 349.0), ("cwd", 51.0), ("path", 215.0),
                                                  ("proctitle", 88.0), ("eoe", 29.0))
    record_size: float = 256.0
    transit_buffer: float = 1024.0
    ring_size: float = 40 * 1024.0
    record_align: float = 64.0
    reader_period: float | None = 10e6
    read_chunk: float = 128.0
    records_per_call: int = 1

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LogSettings":
        """From plain settings data (``rules`` and ``record_sizes`` nested, as in the YAML)."""
        data = dict(data)
        rules = data.pop("rules", {})
        sizes = data.pop("record_sizes", None)
        extra = {"record_sizes": tuple(sizes.items())} if sizes else {}
        return cls(select=rules.get("select", "all"), names=tuple(rules.get("names", ())),
                   classes=tuple(rules.get("classes", ())), **extra, **data)


class LogService:
    """Audit rules, the per-VCPU transit batches, the ring, the reader, and the counters."""

    name = "log"

    def __init__(self, settings: LogSettings, system: "System") -> None:
        self.settings = settings
        self.system = system
        self.costs = system.ctx.costs
        self.ring = LogRing(settings.ring_size, settings.record_align)
        self.ring_free_at = 0.0  # when the last append reserved on the ring ends
        self._sizes = dict(settings.record_sizes)
        self._plans: dict[str, tuple[tuple[float, Charge], ...]] = {}
        self._batches: dict[int, list[float]] = {}
        self._appends: dict[tuple[int, tuple[float, ...]], tuple[Charge, Charge]] = {}
        workload = system.workload
        self.shared = workload.open_loop or workload.threads > 1  # appenders may meet at the ring
        self.events = 0
        self.records = 0
        self.record_bytes = 0.0
        self.calls = 0
        self.read_calls = 0

    def attach(self) -> None:
        self.system.after_syscall.append(self.on_syscall)
        if self.settings.reader_period is not None:
            self.system.background.append(self.reader)

    def audited(self, name: str) -> bool:
        """Whether the audit rules produce records for system call ``name``."""
        settings = self.settings
        if settings.select == "all":
            return True
        if settings.select == "names":
            return name in settings.names
        return syscall_class(name) in settings.classes

    def records_for(self, name: str) -> tuple[float, ...]:
        """Sizes in bytes (after truncation to the transit buffer) of the records system call
        ``name`` produces; empty when the audit rules do not select it."""
        settings = self.settings
        if not self.audited(name):
            return ()
        if settings.record_model == "single":
            sizes: tuple[float, ...] = (settings.record_size,)
        else:
            r = self._sizes
            named = (r["cwd"], r["path"]) if names_path(name) else ()
            sizes = (r["syscall"], *named, r["proctitle"], r["eoe"])
        return tuple(min(size, settings.transit_buffer) for size in sizes)

    def _plan(self, name: str) -> tuple[tuple[float, Charge], ...]:
        """Per record of ``name``: (bytes, transit copy charge), computed once."""
        plan = self._plans.get(name)
        if plan is None:
            plan = tuple((size, charges.audit_transit(self.costs, size)) for size in self.records_for(name))
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
        for size, transit in plan:
            runner.apply(transit)
            self.records += 1
            self.record_bytes += size
            batch.append(size)
            if len(batch) >= per_call:
                yield from self._append(runner, tuple(batch))
                batch.clear()

    def _append(self, runner: "ThreadRunner", sizes: tuple[float, ...]) -> "Gen":
        """One service call appending records of ``sizes`` bytes. On VCPU replicas: enter the service, wait
        for the ring, copy the records in, return. Under static partitioning a DomSer VCPU serves
        the whole call (the pool is the serialisation point)."""
        ctx = runner.ctx
        origin = runner.vcpu.domain
        base, handler = self._append_charges(origin, sizes)
        if ctx.service_pool is not None:
            yield from runner.call(base + handler)
        elif not self.shared:  # one appender: the ring is always free when it arrives
            PATHS_TAKEN["single_appender"] += 1
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

    def _append_charges(self, origin: int, sizes: tuple[float, ...]) -> tuple[Charge, Charge]:
        """(the domain call into DomSer, its handler copying the records into their ring slots),
        apart so that only the copy holds the ring; cached per origin and sizes."""
        key = (origin, sizes)
        pair = self._appends.get(key)
        if pair is None:
            handler_ns = charges.ring_copy_ns(self.costs, tuple(map(self.ring.aligned, sizes)))
            pair = self._appends[key] = (charges.domain_call(self.costs, origin, SER),
                                         charges.work(SER, handler_ns, SERVICE))
        return pair

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
        PATHS_TAKEN["reader"] += 1
        system = self.system
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
        """Counters for the run record (``log.*``; docs/architecture.md says what each counts).
        Records end appended or still in a transit batch (``pending``); appended ones end lost,
        read or unread: the counts and the bytes each add up (``services/log_ring.py``)."""
        ring = self.ring
        pending = [size for batch in self._batches.values() for size in batch]
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
        }
