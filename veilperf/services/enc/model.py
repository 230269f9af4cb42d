"""VeilS-Enc's model: application threads run as enclaves in DomEnc (spec: :mod:`veilperf.services.enc`).

Creation (once per enclave, by the first thread; threads that start meanwhile wait for it): the
service revokes DomUnt's access to each enclave page and grants DomEnc's, measures the image with
SHA-256 and flushes the TLB. Each VCPU that runs enclave code gets a DomEnc replica once (one
VeilMon call setting up a VMSA). Entering the enclave is one switch. Costs: ``model.charges``.

An enclave system call is an ocall: the syscall-sanitizer deep-copies the arguments to the shared
buffer, exits (one switch), the kernel runs the call, the enclave is re-entered (one switch) and
the results are deep-copied back. vDSO calls stay in the enclave. Timer interrupts in the enclave
cost an exit and a re-entry each (``ThreadRunner.take_ticks``).

What-if paths where a dedicated pool runs the kernel side of ocalls (switchless workers, or the
untrusted VCPUs under static partitioning) are in :class:`RemoteOcalls`.

Private page tables (the ``page_tables: private`` what-if, :class:`PrivatePageTables`): after the
kernel's part of a memory-management ocall, the kernel asks VeilS-Enc to apply it to the
enclave's tables (``charges.mm_call``, between the exit and the re-entry); the pages mmap and brk
add fault in at their first touch (``charges.pt_fault``, taken after the call by
``ThreadRunner.take_faults``, whole faults from the expected ones carried per thread).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, partial
from typing import TYPE_CHECKING

from veilperf.model import charges
from veilperf.model.charges import Charge
from veilperf.model.domains import ENC, UNT
from veilperf.model.inputs import Syscall
from veilperf.model.sampling import draw
from veilperf.model.syscall_path import SyscallPath, SyscallHook
from veilperf.services.enc import EncSettings, enclave_size
from veilperf.services.syscall_classes import MAPPING_CALLS, MM_CALLS

if TYPE_CHECKING:
    import simpy

    from veilperf.model.costs import PlatformCosts
    from veilperf.model.pool import DedicatedPool
    from veilperf.model.program import SyscallOp
    from veilperf.model.system import System
    from veilperf.model.thread import Gen, ThreadRunner
    from veilperf.model.vcpu import Vcpu


@dataclass(frozen=True)
class PrivatePageTables:
    """Which pages a memory-management call costs when only VeilS-Enc writes the enclave's page
    tables: a share ``touched`` of the pages it names (1 page when its step states none). mmap
    and brk add pages, which fault in at their first touch; munmap, mprotect, mremap and madvise
    change pages already mapped (those touched since they were mapped)."""

    touched: float

    @staticmethod
    def named(pages: float | None) -> float:
        """Pages a call names: its stated pages, else the 1 assumed."""
        return 1.0 if pages is None else pages

    def changed(self, name: str, pages: float | None) -> float:
        """Pages the service changes in one call's VeilS-Enc call."""
        return 0.0 if name in MAPPING_CALLS else self.touched * self.named(pages)

    def faults(self, name: str, pages: float | None) -> float:
        """First-touch faults expected after one call."""
        return self.touched * self.named(pages) if name in MAPPING_CALLS else 0.0


@dataclass
class EnclaveMetrics:
    """Counters for the run record (``enc.*``), the ocalls' argument bytes (for the mean ocall
    whose cost the record carries) and the memory-management calls' pages; ``tables`` is set
    under private page tables."""

    tables: PrivatePageTables | None = None
    ocalls: int = 0
    vdso_calls: int = 0
    replicas: int = 0
    create_ns: float = 0.0
    bytes_in: float = 0.0
    bytes_out: float = 0.0
    mm_ocalls: int = 0
    mm_pages: float = 0.0
    mm_pages_assumed: int = 0
    mm_calls: int = 0
    mm_pages_changed: float = 0.0

    def count(self, op: "SyscallOp", calls: int) -> None:
        if op.vdso:
            self.vdso_calls += calls
            return
        self.ocalls += calls
        self.bytes_in += op.bytes_in * calls
        self.bytes_out += op.bytes_out * calls
        if op.name in MM_CALLS:
            self.mm_ocalls += calls
            self.mm_pages += PrivatePageTables.named(op.pages) * calls
            self.mm_pages_assumed += calls if op.pages is None else 0
            if self.tables is not None:
                self.mm_calls += calls
                self.mm_pages_changed += self.tables.changed(op.name, op.pages) * calls

    def mean_pages_changed(self) -> float:
        """Pages changed by the mean VeilS-Enc memory-management call; zero when there was none."""
        return self.mm_pages_changed / self.mm_calls if self.mm_calls else 0.0

    def mean_bytes(self) -> tuple[float, float]:
        """(in, out) argument bytes of the mean ocall; zero when there was none."""
        calls = self.ocalls
        return (self.bytes_in / calls, self.bytes_out / calls) if calls else (0.0, 0.0)


class EnclaveService:
    """Creation and per-thread set-up of the enclave; chooses the ocall path; owns the metrics."""

    name = "enc"

    def __init__(self, settings: EncSettings, system: "System") -> None:
        self.settings = settings
        self.system = system
        self.costs = system.ctx.costs
        self.size, self.size_source = enclave_size(settings, system.workload.footprint)
        private = settings.page_tables == "private"
        self.metrics_ = EnclaveMetrics(PrivatePageTables(settings.touched_share) if private else None)
        self.creation: simpy.Event | None = None  # triggered when the enclave exists
        self.replicas: set[int] = set()  # VCPUs that already have a DomEnc replica
        self.path: Ocalls | RemoteOcalls | None = None

    def attach(self) -> None:
        system, ctx, costs = self.system, self.system.ctx, self.costs
        system.home = ENC
        system.entry = self
        ctx.ticks_per_ns = self.settings.timer_hz / 1e9
        ctx.tick_charge = charges.timer_exit(costs)
        ctx.fault_charge = charges.pt_fault(costs)
        if ctx.service_pool is not None:  # static partitioning: ocalls go to the untrusted VCPUs
            for vcpu in system.enc_vcpus:
                vcpu.domain = ENC
            system.thread_vcpus = system.enc_vcpus
            pool = system.pool(system.app_vcpus, UNT, charges.ipi_message(costs))
            self.path = RemoteOcalls(costs, self.metrics_, pool)
        elif self.settings.switchless:
            pool = system.pool(system.worker_vcpus, UNT, charges.polled_message(costs))
            self.path = RemoteOcalls(costs, self.metrics_, pool)
        else:
            self.path = Ocalls(costs, self.metrics_, system.after_syscall)
        system.syscall_path = self.path

    # -- entry hooks ------------------------------------------------------------------------

    def enter(self, runner: "ThreadRunner") -> "Gen":
        """Create the enclave (or wait for its creation) and this VCPU's DomEnc replica if not
        done yet, then enter DomEnc. The set-up time, measured on the thread's own clock, is
        ``create_ns`` and the thread's one-off time."""
        start = runner.clock
        if self.creation is None:
            self.creation = runner.env.event()
            yield from runner.call(charges.enclave_creation(self.costs, runner.vcpu.domain, self.size))
            yield from runner.flush()  # the enclave exists from this instant
            self.creation.succeed()
        elif not self.creation.triggered:  # created by another thread meanwhile: sleep until done
            yield from runner.flush()
            asked = runner.env.now
            yield self.creation
            runner.vcpu.held -= runner.env.now - asked
        if runner.vcpu.index not in self.replicas:
            self.replicas.add(runner.vcpu.index)
            yield from runner.call(charges.replica_creation(self.costs, runner.vcpu.domain))
            self.metrics_.replicas += 1
        spent = runner.clock - start
        self.metrics_.create_ns += spent
        runner.oneoff += spent
        runner.switch_to(ENC)

    def leave(self, runner: "ThreadRunner") -> None:
        """Exit the enclave when the thread ends or gives up its VCPU; a VCPU dedicated to
        DomEnc (static partitioning) stays in the enclave."""
        if runner.vcpu.role != "enc":
            runner.switch_to(UNT)

    def set_up(self, vcpus: list["Vcpu"]) -> "Gen":
        """A server creates its enclave and a DomEnc replica on each of ``vcpus`` at launch."""
        system = self.system
        for vcpu in vcpus:
            runner = system.runner()
            runner.vcpu = vcpu.acquire(runner.env.now)
            yield from self.enter(runner)
            self.leave(runner)
            yield from runner.flush()
            vcpu.release(runner.env.now)

    def metrics(self) -> dict[str, float | str]:
        """Counters and resolved costs for the run record (columns in ``services.enc.COLUMNS``;
        creation and replicas are called from DomUnt, before the first entry)."""
        m, ctx, costs = self.metrics_, self.system.ctx, self.costs
        ocall_ns, ocall_switching_ns = self.path.ocall_cost(*m.mean_bytes())
        message = ctx.service_pool.message if ctx.service_pool is not None else None
        mm_call = charges.mm_call(costs, m.mean_pages_changed())
        return {"enc.ocalls": m.ocalls, "enc.vdso_calls": m.vdso_calls,
                "enc.timer_exits": ctx.ledger.timer_exits, "enc.replicas": m.replicas,
                "enc.create_ns": m.create_ns, "enc.size_bytes": self.size, "enc.size_source": self.size_source,
                "costs.enc.ocall_ns": ocall_ns, "costs.enc.ocall_switching_ns": ocall_switching_ns,
                "costs.enc.timer_exit_ns": ctx.tick_charge.total_ns,
                "costs.enc.timer_exit_switching_ns": ctx.tick_charge.switch_ns,
                "costs.enc.creation_ns": charges.paid_ns(charges.enclave_creation(costs, UNT, self.size), message),
                "costs.enc.replica_ns": charges.paid_ns(charges.replica_creation(costs, UNT), message),
                "enc.mm_ocalls": m.mm_ocalls, "enc.mm_pages": m.mm_pages, "enc.mm_pages_assumed": m.mm_pages_assumed,
                "enc.mm_calls": m.mm_calls, "enc.mm_pages_changed": m.mm_pages_changed,
                "enc.pt_faults": ctx.ledger.pt_faults,
                "costs.enc.mm_call_ns": mm_call.total_ns, "costs.enc.mm_call_switching_ns": mm_call.switch_ns,
                "costs.enc.pt_fault_ns": ctx.fault_charge.total_ns,
                "costs.enc.pt_fault_switching_ns": ctx.fault_charge.switch_ns}


class _EnclaveCalls(SyscallPath):
    """vDSO calls (e.g. clock_gettime) run in user space and never leave the enclave."""

    def __init__(self, costs: "PlatformCosts", metrics: EnclaveMetrics, after_syscall: list[SyscallHook]) -> None:
        super().__init__(after_syscall)
        self.costs = costs
        self.metrics = metrics

    def ocall_cost(self, bytes_in: float, bytes_out: float) -> tuple[float, float]:
        """(Veil's cost of one ocall moving these argument bytes, the part spent switching), ns."""
        raise NotImplementedError

    def settle(self, runner: "ThreadRunner", op: "SyscallOp", count: int) -> None:
        super().settle(runner, op, count)
        self.metrics.count(op, count)

    def _vdso(self, runner: "ThreadRunner", op: "SyscallOp") -> None:
        for _ in range(op.repeat):
            runner.run_in(ENC, draw(op.kernel))
        self.metrics.count(op, op.repeat)


class Ocalls(_EnclaveCalls):
    """System calls of an enclave thread on VCPU replicas: exit, kernel, re-entry, deep copies;
    under private page tables a memory-management call's VeilS-Enc call after the kernel's part,
    and the first-touch faults of the pages it added."""

    def __init__(self, costs: "PlatformCosts", metrics: EnclaveMetrics, after_syscall: list[SyscallHook]) -> None:
        super().__init__(costs, metrics, after_syscall)
        self.tables = metrics.tables
        self._exit = cache(partial(charges.ocall_exit, costs))
        self._return = cache(partial(charges.ocall_return, costs))
        self._mm_call = cache(partial(charges.mm_call, costs))

    def _service_call(self, name: str, pages: float | None) -> Charge | None:
        """The VeilS-Enc call a memory-management call adds under private page tables (else None)."""
        if self.tables is None or name not in MM_CALLS:
            return None
        return self._mm_call(self.tables.changed(name, pages))

    def template(self, call: Syscall) -> Charge:
        """Per call: one exit/re-entry round trip and both deep copies (none for vDSO), with the
        VeilS-Enc call of a memory-management call between them under private page tables."""
        if call.vdso:
            return charges.NOTHING
        exit_, return_ = self._exit(call.bytes_in), self._return(call.bytes_out)
        service = self._service_call(call.name, call.pages)
        return exit_ + service + return_ if service is not None else exit_ + return_

    def touches(self, call: Syscall) -> float:
        return self.tables.faults(call.name, call.pages) if self.tables is not None and not call.vdso else 0.0

    def ocall_cost(self, bytes_in: float, bytes_out: float) -> tuple[float, float]:
        charge = charges.ocall(self.costs, bytes_in, bytes_out)
        return charge.total_ns, charge.switch_ns

    def run_sync(self, runner: "ThreadRunner", op: "SyscallOp") -> "Gen":
        if op.vdso:
            self._vdso(runner, op)
            return
        exit_ = self._exit(op.bytes_in)
        return_ = self._return(op.bytes_out)
        service = self._service_call(op.name, op.pages)
        kernel, blocked = op.kernel, op.blocked
        for _ in range(op.repeat):
            runner.apply(exit_)
            runner.run_in(UNT, draw(kernel))
            if service is not None:
                runner.apply(service)
            if blocked:
                yield from runner.block(draw(blocked))
            if self.after_syscall:
                yield from self._after(runner, op.name)
            runner.apply(return_)
        if op.touch_units:
            runner.take_faults(op.touch_units * op.repeat)
        self.metrics.count(op, op.repeat)


class RemoteOcalls(_EnclaveCalls):
    """Ocalls posted to a dedicated pool (switchless workers or static partitioning): no switch
    per call; the enclave VCPU spins until the reply is seen. Always synchronous."""

    def __init__(self, costs: "PlatformCosts", metrics: EnclaveMetrics, pool: "DedicatedPool") -> None:
        super().__init__(costs, metrics, [])
        self.pool = pool
        self._copy_in = cache(partial(charges.ocall_copy_in, costs))
        self._copy_out = cache(partial(charges.ocall_copy_out, costs))

    @property
    def needs_sync(self) -> bool:
        return True

    def template(self, call: Syscall) -> Charge:
        """Per call: both deep copies in DomEnc; no domain crossing."""
        return charges.NOTHING if call.vdso else charges.remote_ocall_copies(self.costs, call.bytes_in, call.bytes_out)

    def ocall_cost(self, bytes_in: float, bytes_out: float) -> tuple[float, float]:
        return charges.remote_ocall_ns(self.costs, bytes_in, bytes_out, self.pool.message), 0.0

    def run_sync(self, runner: "ThreadRunner", op: "SyscallOp") -> "Gen":
        if op.vdso:
            self._vdso(runner, op)
            return
        copy_in = self._copy_in(op.bytes_in)
        copy_out = self._copy_out(op.bytes_out)
        for _ in range(op.repeat):
            runner.apply(copy_in)
            yield from runner.flush()
            yield from self.pool.serve(runner, draw(op.kernel))
            if op.blocked:
                yield from runner.block(draw(op.blocked))
            runner.apply(copy_out)
        self.metrics.count(op, op.repeat)
