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

if TYPE_CHECKING:
    import simpy

    from veilperf.model.costs import PlatformCosts
    from veilperf.model.pool import DedicatedPool
    from veilperf.model.program import SyscallOp
    from veilperf.model.system import System
    from veilperf.model.thread import Gen, ThreadRunner
    from veilperf.model.vcpu import Vcpu


@dataclass
class EnclaveMetrics:
    """Counters for the run record (``enc.*``), and the ocalls' argument bytes (for the mean ocall
    whose cost the record carries)."""

    ocalls: int = 0
    vdso_calls: int = 0
    replicas: int = 0
    create_ns: float = 0.0
    bytes_in: float = 0.0
    bytes_out: float = 0.0

    def count(self, op: "SyscallOp", calls: int) -> None:
        if op.vdso:
            self.vdso_calls += calls
        else:
            self.ocalls += calls
            self.bytes_in += op.bytes_in * calls
            self.bytes_out += op.bytes_out * calls

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
        self.metrics_ = EnclaveMetrics()
        self.creation: simpy.Event | None = None  # triggered when the enclave exists
        self.replicas: set[int] = set()  # VCPUs that already have a DomEnc replica
        self.path: Ocalls | RemoteOcalls | None = None

    def attach(self) -> None:
        system, ctx, costs = self.system, self.system.ctx, self.costs
        system.home = ENC
        system.entry = self
        ctx.ticks_per_ns = self.settings.timer_hz / 1e9
        ctx.tick_charge = charges.timer_exit(costs)
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
        return {"enc.ocalls": m.ocalls, "enc.vdso_calls": m.vdso_calls,
                "enc.timer_exits": ctx.ledger.timer_exits, "enc.replicas": m.replicas,
                "enc.create_ns": m.create_ns, "enc.size_bytes": self.size, "enc.size_source": self.size_source,
                "costs.enc.ocall_ns": ocall_ns, "costs.enc.ocall_switching_ns": ocall_switching_ns,
                "costs.enc.timer_exit_ns": ctx.tick_charge.total_ns,
                "costs.enc.timer_exit_switching_ns": ctx.tick_charge.switch_ns,
                "costs.enc.creation_ns": charges.paid_ns(charges.enclave_creation(costs, UNT, self.size), message),
                "costs.enc.replica_ns": charges.paid_ns(charges.replica_creation(costs, UNT), message)}


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
    """System calls of an enclave thread on VCPU replicas: exit, kernel, re-entry, deep copies."""

    def __init__(self, costs: "PlatformCosts", metrics: EnclaveMetrics, after_syscall: list[SyscallHook]) -> None:
        super().__init__(costs, metrics, after_syscall)
        self._exit = cache(partial(charges.ocall_exit, costs))
        self._return = cache(partial(charges.ocall_return, costs))

    def template(self, call: Syscall) -> Charge:
        """Per call: one exit/re-entry round trip and both deep copies (none for vDSO)."""
        return charges.NOTHING if call.vdso else charges.ocall(self.costs, call.bytes_in, call.bytes_out)

    def ocall_cost(self, bytes_in: float, bytes_out: float) -> tuple[float, float]:
        charge = charges.ocall(self.costs, bytes_in, bytes_out)
        return charge.total_ns, charge.switch_ns

    def run_sync(self, runner: "ThreadRunner", op: "SyscallOp") -> "Gen":
        if op.vdso:
            self._vdso(runner, op)
            return
        exit_ = self._exit(op.bytes_in)
        return_ = self._return(op.bytes_out)
        kernel, blocked = op.kernel, op.blocked
        for _ in range(op.repeat):
            runner.apply(exit_)
            runner.run_in(UNT, draw(kernel))
            if blocked:
                yield from runner.block(draw(blocked))
            if self.after_syscall:
                yield from self._after(runner, op.name)
            runner.apply(return_)
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
