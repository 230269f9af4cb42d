"""A workload thread on a VCPU: runs ops, applies mechanism charges, pays them in time.

Consecutive costs are summed into ``pending`` and paid with a single ``env.timeout`` at the next
contention or synchronisation point (acquiring a VCPU, a dedicated pool, a log-ring append) or at
the end of an iteration. Accounting is booked as the costs are summed; because every started
iteration runs to completion, the totals equal those of the one-event-per-op reference
(``System(..., event_per_op=True)``; tests/test_model.py and tests/test_model_equivalence.py).
"""

from __future__ import annotations

from collections import Counter
from functools import cache, partial
from typing import TYPE_CHECKING, Callable, Generator

import simpy

from veilperf.model import charges
from veilperf.model.charges import Charge
from veilperf.model.costs import PlatformCosts
from veilperf.model.domains import ENC, UNT
from veilperf.model.program import CALL, COMPUTE, KCI, SYSCALL, TOUCH_SHIFT, KciOp, Op, SyscallOp
from veilperf.model.sampling import draw
from veilperf.model.vcpu import SERVICE, Ledger, Vcpu

if TYPE_CHECKING:
    from veilperf.model.pool import DedicatedPool

Gen = Generator[simpy.Event, object, None]


class RunContext:
    """What every runner of one run shares: the clock, costs, ledger, the hooks services set, and
    ``paths``: how often each aggregated execution path started (pinned loop, numpy batch, single
    appender, reader; docs/architecture.md, "Execution paths")."""

    def __init__(self, env: simpy.Environment, costs: PlatformCosts, veil: bool,
                 event_per_op: bool) -> None:
        self.env = env
        self.costs = costs
        self.ledger = Ledger()
        self.veil = veil
        self.event_per_op = event_per_op
        self.service_pool: DedicatedPool | None = None  # static partitioning: DomSer VCPUs
        self.syscall_path = None  # set by System: native, or a service's (ocalls)
        self.kci_handler: Callable[[ThreadRunner, KciOp], Gen] | None = None
        self.sync_ops = False  # a system call may have to wait (e.g. audit appends)
        self.ticks_per_ns = 0.0  # timer interrupts per ns spent in DomEnc
        self.tick_charge = charges.NOTHING
        self.fault_charge = charges.NOTHING  # a first-touch fault through VeilS-Enc (private page tables)
        self.switch_table = [[charges.switch(costs, a, b) if a != b else charges.NOTHING
                              for b in range(4)] for a in range(4)]
        self.paths: Counter[str] = Counter()
        self.base_call: Callable[[int, int, float], Charge] = cache(partial(charges.domain_call, costs))
        """A domain call's charge without its handler: ``base_call(origin, target, nbytes)``, cached."""


class ThreadRunner:
    """Executes ops for one thread (or one open-loop request) on the VCPU it currently holds."""

    __slots__ = ("ctx", "env", "ledger", "vcpu", "home", "pending", "tick_credit", "fault_credit", "run_queue",
                 "slice_start", "skip_blocked", "oneoff", "_switches")

    def __init__(self, ctx: RunContext, home: int) -> None:
        self.ctx = ctx
        self.env = ctx.env
        self.ledger = ctx.ledger
        self._switches = ctx.switch_table
        self.vcpu: Vcpu | None = None
        self.home = home
        self.pending = 0.0
        self.tick_credit = 0.0
        self.fault_credit = 0  # expected first-touch faults not yet taken, units of 2**-TOUCH_SHIFT
        self.run_queue: simpy.Store | None = None  # set when threads share VCPUs
        self.slice_start = 0.0
        self.skip_blocked = False  # open-loop requests: arrivals are the wait
        self.oneoff = 0.0  # time spent in one-off set-up (enclave and replica creation)

    @property
    def clock(self) -> float:
        """The thread's own clock: simulated time plus costs summed but not yet paid."""
        return self.env.now + self.pending

    # -- accounting primitives -------------------------------------------------------------

    def run_in(self, domain: int, ns: float) -> None:
        """Charge ``ns`` of the workload's own work in ``domain``."""
        self.vcpu.busy[domain] += ns
        self.pending += ns
        if domain == ENC and self.ctx.ticks_per_ns:
            self.take_ticks(ns * self.ctx.ticks_per_ns)

    def apply(self, charge: Charge) -> None:
        """Apply a mechanism's charge: book it and add its time to what the thread owes."""
        self.ledger.account(self.vcpu, charge)
        self.pending += charge.total_ns
        if charge.ends_in is not None:
            self.vcpu.domain = charge.ends_in
        enclave_ns = charge.domain_ns[ENC]
        if enclave_ns and self.ctx.ticks_per_ns:
            self.take_ticks(enclave_ns * self.ctx.ticks_per_ns)

    def switch_to(self, domain: int) -> None:
        """Hypervisor-mediated domain switch of this VCPU to ``domain`` (no-op if already there)."""
        current = self.vcpu.domain
        if current != domain:
            self.apply(self._switches[current][domain])

    def take_ticks(self, expected: float) -> int:
        """Timer interrupts while in DomEnc exit to the kernel and re-enter, counted
        deterministically from time spent there (HZ x time, fractional credit carried)."""
        self.tick_credit += expected
        if self.tick_credit < 1.0:
            return 0
        ticks = int(self.tick_credit)
        self.tick_credit -= ticks
        self.ledger.timer_exits += ticks
        self.apply(self.ctx.tick_charge.times(ticks))
        return ticks

    def take_faults(self, units: int) -> None:
        """First touches of newly mapped enclave pages (private page tables): ``units`` more
        expected faults (fixed point, ``program.TOUCH_SHIFT``); each whole one is a round trip
        through VeilS-Enc (``ctx.fault_charge``), the fraction is carried."""
        credit = self.fault_credit + units
        faults = credit >> TOUCH_SHIFT
        self.fault_credit = credit - (faults << TOUCH_SHIFT)
        if faults:
            self.ledger.pt_faults += faults
            self.apply(self.ctx.fault_charge.times(faults))

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

    def flush(self) -> Gen:
        """Pay the summed costs with one timeout."""
        if self.pending:
            delay = self.pending
            self.pending = 0.0
            yield self.env.timeout(delay)

    def end_iteration(self) -> Gen:
        """Pay the iteration's costs and the work a background thread stole from this VCPU
        meanwhile (paid at iteration ends only, so the instant does not depend on how finely the
        iteration's own costs were paid)."""
        yield from self.flush()
        vcpu = self.vcpu
        if vcpu.steal:
            self.pending = vcpu.steal
            vcpu.steal = 0.0
            yield from self.flush()

    # -- calls into VeilMon and the services ------------------------------------------------

    def call(self, charge: Charge) -> Gen:
        """A Veil domain call (a charge from ``charges.domain_call`` or a mechanism built on it):
        paid on this VCPU's replicas, or, under static partitioning, served by a dedicated
        DomSer VCPU without switches."""
        pool = self.ctx.service_pool
        if pool is None:
            self.apply(charge)
            return
        yield from self.flush()
        yield from pool.serve(self, charge.work_ns, charge.served_cause_items)

    def domain_call(self, target: int, handler_ns: float, nbytes: float, cause: int = SERVICE) -> Gen:
        """A round trip into VeilMon or a service; in ``cvm`` mode the handler's work runs
        natively in the kernel (the baseline does the same work without isolation)."""
        if not self.ctx.veil:
            self.run_in(UNT, handler_ns)
            return
        charge = self.ctx.base_call(self.vcpu.domain, target, nbytes)
        if handler_ns:
            charge = charge + charges.work(target, handler_ns, cause)
        yield from self.call(charge)

    # -- ops ------------------------------------------------------------------------------

    def run_ops(self, ops: list[Op]) -> Gen:
        """Run one iteration's ops; yields only where a contention or sync point needs it."""
        ctx = self.ctx
        home = self.home
        path = ctx.syscall_path
        sync = ctx.sync_ops or self.run_queue is not None
        for op in ops:
            code = op.code
            if code == COMPUTE:
                self.run_in(home, draw(op.time))
            elif code == SYSCALL:
                if sync:
                    yield from path.run_sync(self, op)
                else:
                    path.run(self, op)
            elif code == CALL:
                yield from self.domain_call(op.domain, draw(op.handler), op.nbytes)
            elif code == KCI:
                if ctx.kci_handler is not None:
                    yield from ctx.kci_handler(self, op)
            if ctx.event_per_op:
                yield from self.flush()


class FastIterations:
    """The aggregated path of a pinned thread with only compute and system calls: each iteration's
    time is summed in locals; calls are counted per op and their Veil charges applied as
    ``veil.times(count)`` by :meth:`settle`, timer exits and first-touch faults likewise. Same
    totals as :meth:`ThreadRunner.run_ops`."""

    def __init__(self, runner: ThreadRunner, syscalls: list[SyscallOp]) -> None:
        self.runner = runner
        self.syscalls = syscalls
        self.counts = [0] * len(syscalls)
        self.ticks = 0
        self.faults = 0

    def iteration(self, ops: list[Op]) -> float:
        """Run one iteration; returns its time (book-keeping of Veil charges deferred)."""
        runner = self.runner
        counts = self.counts
        home_ns = unt_ns = asleep_ns = veil_ns = veil_home_ns = 0.0
        for op in ops:
            if op.code == COMPUTE:
                source = op.time
                home_ns += source if source.__class__ is float else source()
                continue
            source, repeat = op.kernel, op.repeat
            if source.__class__ is float:
                kernel = source * repeat
            else:
                kernel = 0.0
                for _ in range(repeat):
                    kernel += source()
            if op.vdso:
                home_ns += kernel
            else:
                unt_ns += kernel
                blocked = op.blocked
                if blocked:
                    for _ in range(repeat):
                        asleep_ns += blocked if blocked.__class__ is float else blocked()
            counts[op.index] += repeat
            veil_ns += op.veil_ns * repeat
            veil_home_ns += op.veil_home_ns * repeat
            if op.touch_units:  # as ThreadRunner.take_faults, once per op
                credit = runner.fault_credit + op.touch_units * repeat
                faults = credit >> TOUCH_SHIFT
                runner.fault_credit = credit - (faults << TOUCH_SHIFT)
                if faults:
                    self.faults += faults
                    veil_ns += faults * runner.ctx.fault_charge.total_ns
        vcpu = runner.vcpu
        vcpu.busy[runner.home] += home_ns
        vcpu.busy[UNT] += unt_ns
        vcpu.held -= asleep_ns
        cost = home_ns + unt_ns + asleep_ns + veil_ns
        if runner.home == ENC and runner.ctx.ticks_per_ns:
            credit = runner.tick_credit + (home_ns + veil_home_ns) * runner.ctx.ticks_per_ns
            if credit >= 1.0:
                ticks = int(credit)
                credit -= ticks
                self.ticks += ticks
                cost += ticks * runner.ctx.tick_charge.total_ns
            runner.tick_credit = credit
        return cost

    def settle(self) -> None:
        """Book the Veil charges of the calls (and timer exits) counted since the last settle."""
        runner = self.runner
        path = runner.ctx.syscall_path
        for op, count in zip(self.syscalls, self.counts):
            if count:
                path.settle(runner, op, count)
        self.counts = [0] * len(self.syscalls)
        if self.ticks:
            runner.ledger.timer_exits += self.ticks
            runner.ledger.account(runner.vcpu, runner.ctx.tick_charge.times(self.ticks))
            self.ticks = 0
        if self.faults:
            runner.ledger.pt_faults += self.faults
            runner.ledger.account(runner.vcpu, runner.ctx.fault_charge.times(self.faults))
            self.faults = 0
