"""A workload thread on a VCPU: runs ops, pays domain switches, charges time to domains.

Consecutive costs are summed into ``pending`` and paid with a single ``env.timeout`` at the next
contention or synchronisation point (acquiring a VCPU, a dedicated pool, a log-ring append) or at
the end of an iteration. Accounting is charged as the costs are summed; because every started
iteration runs to completion, the totals equal those of a fine-grained event-per-cost model
(tests/test_model_equivalence.py checks this).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generator

import simpy

from veilperf.model.domains import ENC, UNT
from veilperf.model.program import CALL, COMPUTE, KCI, SYSCALL, Op
from veilperf.model.sampling import draw
from veilperf.model.vcpu import COPY, MONITOR, SERVICE, SWITCH, Vcpu

if TYPE_CHECKING:
    from veilperf.model.mix_batch import BatchCosts
    from veilperf.model.system import System

Gen = Generator[simpy.Event, object, None]


class ThreadRunner:
    """Executes ops for one thread (or one open-loop request) on the VCPU it currently holds."""

    __slots__ = ("sys", "env", "costs", "ledger", "vcpu", "home", "pending", "tick_credit",
                 "switch_ns", "run_queue", "slice_start", "skip_blocked")

    def __init__(self, system: "System", home: int) -> None:
        self.sys = system
        self.env = system.env
        self.costs = system.costs
        self.ledger = system.ledger
        self.switch_ns = system.costs.switch_one_way
        self.vcpu: Vcpu | None = None
        self.home = home
        self.pending = 0.0
        self.tick_credit = 0.0
        self.run_queue: simpy.Store | None = None  # set when threads share VCPUs
        self.slice_start = 0.0
        self.skip_blocked = False  # open-loop requests: arrivals are the wait

    # -- accounting primitives -------------------------------------------------------------

    def run_in(self, domain: int, ns: float) -> None:
        """Charge ``ns`` of work in ``domain`` (the VCPU must be running that replica)."""
        self.vcpu.busy[domain] += ns
        self.pending += ns
        if domain == ENC:
            ticks = self.sys.enclave_ticks_per_ns
            if ticks:
                self._take_enclave_ticks(ns * ticks)

    def switch_to(self, domain: int) -> None:
        """Hypervisor-mediated domain switch of this VCPU to ``domain`` (no-op if already there)."""
        vcpu = self.vcpu
        if vcpu.domain != domain:
            cost = self.switch_ns
            vcpu.switching += cost
            self.pending += cost
            self.ledger.switches[vcpu.domain][domain] += 1
            self.ledger.causes[SWITCH] += cost
            vcpu.domain = domain

    def sleep(self, ns: float) -> None:
        """A pinned thread waits ``ns`` asleep: time passes, its VCPU idles (not held)."""
        self.pending += ns
        self.vcpu.held -= ns

    def block(self, ns: float) -> Gen:
        """A system call sleeps ``ns`` waiting. A pinned thread's VCPU idles; a thread that shares
        VCPUs gives its VCPU back to the run queue and queues again when it wakes."""
        if not ns or self.skip_blocked:
            return
        queue = self.run_queue
        if queue is None:
            self.sleep(ns)
            return
        yield from self.flush()
        vcpu = self.vcpu
        vcpu.release(self.env.now)
        queue.put(vcpu)
        yield self.env.timeout(ns)
        vcpu = yield queue.get()
        self.vcpu = vcpu.acquire(self.env.now)
        self.slice_start = self.env.now

    def charge_cause(self, domain: int, ns: float, cause: int) -> None:
        """Charge Veil-added work in ``domain`` and attribute it to ``cause``."""
        self.run_in(domain, ns)
        self.ledger.causes[cause] += ns

    def flush(self) -> Gen:
        """Pay the summed costs (and work stolen by background activity) with one timeout."""
        vcpu = self.vcpu
        if vcpu.steal:
            self.pending += vcpu.steal
            vcpu.steal = 0.0
        if self.pending:
            delay = self.pending
            self.pending = 0.0
            yield self.env.timeout(delay)

    def charge_batch(self, batch: "BatchCosts", count: int) -> None:
        """Charge the first ``count`` iterations of a vectorised mix batch (see ``mix_batch``)."""
        vcpu = self.vcpu
        home = self.home
        vcpu.busy[home] += float(batch.home[:count].sum())
        vcpu.busy[UNT] += float(batch.unt[:count].sum())
        vcpu.held -= float(batch.asleep[:count].sum())
        round_trips = int(batch.round_trips[:count].sum())
        extra = float(batch.extra[:count].sum())
        ledger = self.ledger
        if extra:
            ledger.causes[COPY] += extra
        if round_trips:
            ledger.switches[home][UNT] += round_trips
            ledger.switches[UNT][home] += round_trips
            cost = 2 * round_trips * self.switch_ns
            vcpu.switching += cost
            ledger.causes[SWITCH] += cost
        if home == ENC:
            metrics = self.sys.enc_metrics
            metrics.ocalls += int(batch.ocalls[:count].sum())
            metrics.vdso_calls += int(batch.vdso[:count].sum())
            metrics.timer_exits += int(batch.ticks[:count].sum())
            self.tick_credit = float(batch.credit_after[count - 1])

    def _take_enclave_ticks(self, expected: float) -> None:
        # Timer interrupts while in DomEnc exit to the kernel and re-enter: two switches each.
        # Ticks are counted deterministically from time spent in the enclave (HZ x time).
        self.tick_credit += expected
        if self.tick_credit >= 1.0:
            ticks = int(self.tick_credit)
            self.tick_credit -= ticks
            self.sys.enc_metrics.timer_exits += ticks
            for _ in range(ticks):
                self.switch_to(UNT)
                self.switch_to(ENC)

    # -- ops ------------------------------------------------------------------------------

    def fast_iteration(self, ops: list[Op]) -> None:
        """Compute and system calls only, no sync point: sum the iteration's costs in locals and
        charge them once. Same totals as :meth:`run_ops` (tests/test_model.py checks this)."""
        home_ns = unt_ns = extra_ns = asleep_ns = 0.0
        crossings = vdso_calls = 0
        for op in ops:
            if op[0] == COMPUTE:
                source = op[1]
                home_ns += source if source.__class__ is float else source()
                continue
            source, repeat = op[2], op[5]
            if source.__class__ is float:
                kernel = source * repeat
            else:
                kernel = 0.0
                for _ in range(repeat):
                    kernel += source()
            if op[6]:
                home_ns += kernel
                vdso_calls += repeat
            else:
                unt_ns += kernel
                extra_ns += op[7] * repeat
                crossings += op[8] * repeat
                blocked = op[9]
                if blocked:
                    for _ in range(repeat):
                        asleep_ns += blocked if blocked.__class__ is float else blocked()
        vcpu = self.vcpu
        busy = vcpu.busy
        home = self.home
        busy[home] += home_ns + extra_ns
        busy[UNT] += unt_ns
        self.pending += home_ns + unt_ns + extra_ns + asleep_ns
        vcpu.held -= asleep_ns
        if extra_ns:
            self.ledger.causes[COPY] += extra_ns
        if crossings:
            switches = self.ledger.switches
            switches[home][UNT] += crossings
            switches[UNT][home] += crossings
            cost = 2 * crossings * self.switch_ns
            vcpu.switching += cost
            self.pending += cost
            self.ledger.causes[SWITCH] += cost
        if home == ENC:
            self.sys.enc_metrics.ocalls += crossings
            self.sys.enc_metrics.vdso_calls += vdso_calls
            ticks = self.sys.enclave_ticks_per_ns
            if ticks:
                self._take_enclave_ticks((home_ns + extra_ns) * ticks)

    def run_ops(self, ops: list[Op]) -> Gen:
        """Run one iteration's ops; yields only where a contention or sync point needs it."""
        home = self.home
        sync = self.sys.sync_ops or self.run_queue is not None
        event_per_op = self.sys.event_per_op
        for op in ops:
            code = op[0]
            if code == COMPUTE:
                self.run_in(home, draw(op[1]))
            elif code == SYSCALL:
                if sync:
                    yield from self.sys.syscall_path.run_sync(self, op)
                else:
                    self.sys.syscall_path.run(self, op)
            elif code == CALL:
                yield from self.domain_call(op[1], draw(op[2]), op[3])
            elif code == KCI:
                yield from self.sys.kci_op(self, op[1], op[2])
            if event_per_op:
                yield from self.flush()

    def domain_call(self, target: int, handler_ns: float, nbytes: float,
                    handler_cause: int = SERVICE) -> Gen:
        """A round trip into VeilMon or a service (the handler's work is attributed to
        ``handler_cause``); in ``cvm`` mode the handler runs natively in the kernel."""
        system = self.sys
        if not system.veil:
            self.run_in(UNT, handler_ns)
            return
        costs = self.costs
        rounds = costs.calling_area_rounds(nbytes)
        if system.service_pool is not None:
            work = rounds * costs.monitor_overhead_ns() + (costs.copy_ns(nbytes) if nbytes else 0.0)
            ledger = self.ledger.causes
            ledger[MONITOR] += rounds * costs.monitor_overhead_ns()
            if nbytes:
                ledger[COPY] += costs.copy_ns(nbytes)
            ledger[handler_cause] += handler_ns
            yield from self.flush()
            yield from system.service_pool.serve(self.vcpu, self.vcpu.domain,
                                                 work + handler_ns, ledger)
            return
        origin = self.vcpu.domain
        chunk = nbytes / rounds
        for round_index in range(rounds):
            self.switch_to(target)
            self.charge_cause(target, costs.monitor_overhead_ns(), MONITOR)
            if nbytes:
                self.charge_cause(target, costs.copy_ns(chunk), COPY)
            if round_index == 0:
                self.charge_cause(target, handler_ns, handler_cause)
            self.switch_to(origin)
