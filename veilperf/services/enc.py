"""VeilS-Enc: application threads run as enclaves in DomEnc.

Creation (once per enclave, by the first thread): the service revokes DomUnt's access to each
enclave page and grants DomEnc's (two RMPADJUSTs per 4 KiB page), measures the image with SHA-256
and flushes the TLB. Each VCPU that runs enclave code gets a DomEnc replica once: one monitor call
with one RMPADJUST (VMSA page) and an AP-create request to the hypervisor (a GHCB round trip).
Entering the enclave is one switch.

An enclave system call is an ocall: the syscall-sanitizer writes the call and deep-copies its
argument bytes to the shared buffer, exits (one switch), the kernel runs the call, the enclave is
re-entered (one switch) and the results are deep-copied back. vDSO calls stay in the enclave.
Timer interrupts in the enclave cost an exit and a re-entry each (see ThreadRunner).

What-if paths where a dedicated pool runs the kernel side of ocalls (switchless workers, or the
untrusted VCPUs under static partitioning) are in :class:`RemoteOcalls`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from veilperf.config.services import EncService as EncSettings
from veilperf.model.costs import PAGE_SIZE
from veilperf.model.domains import ENC, MON, SER, UNT
from veilperf.model.sampling import draw
from veilperf.model.vcpu import COPY, SERVICE

if TYPE_CHECKING:
    from veilperf.model.costs import PlatformCosts
    from veilperf.model.pool import DedicatedPool
    from veilperf.model.program import Op
    from veilperf.model.thread import Gen, ThreadRunner
    from veilperf.services.log import LogService

RMPADJUST_PER_ENCLAVE_PAGE = 2  # revoke VMPL-3 access, grant VMPL-2 access


@dataclass
class EnclaveMetrics:
    """Counters for the run record (``enc.*``)."""

    ocalls: int = 0
    vdso_calls: int = 0
    timer_exits: int = 0
    replicas: int = 0
    create_ns: float = 0.0

    def as_record(self) -> dict[str, float]:
        return {f"enc.{k}": v for k, v in self.__dict__.items()}


class EnclaveService:
    """Creation and per-thread set-up of the enclave; owns the enclave metrics."""

    def __init__(self, settings: EncSettings, costs: "PlatformCosts", metrics: EnclaveMetrics) -> None:
        self.settings = settings
        self.costs = costs
        self.metrics = metrics
        self.created = False
        self.replicas: set[int] = set()  # VCPUs that already have a DomEnc replica

    def creation_handler_ns(self) -> float:
        """Service work to create the enclave: per-page permission changes and the measurement."""
        costs = self.costs
        pages = self.settings.enclave_size / PAGE_SIZE
        return (pages * RMPADJUST_PER_ENCLAVE_PAGE * costs.rmpadjust
                + costs.sha256_ns(self.settings.enclave_size) + costs.tlb_flush_global)

    def replica_handler_ns(self) -> float:
        """Monitor work to give a thread its DomEnc VCPU replica."""
        return self.costs.rmpadjust + self.costs.ghcb_roundtrip

    def enter(self, runner: "ThreadRunner") -> "Gen":
        """Create the enclave and this VCPU's DomEnc replica if not done yet, then enter DomEnc.

        ``create_ns`` is measured on the thread's own clock (simulated time plus costs not yet
        paid), so it holds whether the calls are paid at once or served by a dedicated pool."""
        start = runner.env.now + runner.pending
        if not self.created:
            self.created = True
            yield from runner.domain_call(SER, self.creation_handler_ns(), 0.0, SERVICE)
        if runner.vcpu.index not in self.replicas:
            self.replicas.add(runner.vcpu.index)
            yield from runner.domain_call(MON, self.replica_handler_ns(), 0.0, SERVICE)
            self.metrics.replicas += 1
        self.metrics.create_ns += runner.env.now + runner.pending - start
        runner.switch_to(ENC)

    @staticmethod
    def leave(runner: "ThreadRunner") -> None:
        """Exit the enclave when the thread ends or gives up its VCPU."""
        runner.switch_to(UNT)


def _served_in_enclave(runner: "ThreadRunner", op: "Op", metrics: EnclaveMetrics) -> bool:
    """vDSO calls (e.g. clock_gettime) run in user space and never leave the enclave."""
    if op[6]:
        for _ in range(op[5]):
            runner.run_in(ENC, draw(op[2]))
        metrics.vdso_calls += op[5]
        return True
    return False


class Ocalls:
    """System calls of an enclave thread on VCPU replicas: exit, kernel, re-entry, deep copies."""

    def __init__(self, costs: "PlatformCosts", metrics: EnclaveMetrics,
                 log: "LogService | None") -> None:
        self.costs = costs
        self.metrics = metrics
        self.log = log
        self.needs_sync = log is not None

    def template(self, bytes_in: float, bytes_out: float, vdso: bool) -> tuple[float, int]:
        """Per call: both deep copies in DomEnc, one exit/re-entry round trip (none for vDSO)."""
        if vdso:
            return 0.0, 0
        return self.costs.copy_ns(bytes_in) + self.costs.copy_ns(bytes_out), 1

    def run(self, runner: "ThreadRunner", op: "Op") -> None:
        """The same steps as :meth:`run_sync`; without an audit log they never wait."""
        for _ in self.run_sync(runner, op):
            raise RuntimeError("an ocall waited although no audit log is attached")

    def run_sync(self, runner: "ThreadRunner", op: "Op") -> "Gen":
        if _served_in_enclave(runner, op, self.metrics):
            return
        copy_in = self.costs.copy_ns(op[3])
        copy_out = self.costs.copy_ns(op[4])
        kernel, blocked = op[2], op[9]
        for _ in range(op[5]):
            runner.charge_cause(ENC, copy_in, COPY)
            runner.switch_to(UNT)
            runner.run_in(UNT, draw(kernel))
            if blocked:
                yield from runner.block(draw(blocked))
            if self.log is not None:
                yield from self.log.on_syscall(runner, op[1])
            runner.switch_to(ENC)
            runner.charge_cause(ENC, copy_out, COPY)
        self.metrics.ocalls += op[5]


class RemoteOcalls:
    """Ocalls posted to a dedicated pool (switchless workers or static partitioning): no switch
    per call; the enclave VCPU spins until the reply is seen. Always synchronous."""

    needs_sync = True

    def __init__(self, costs: "PlatformCosts", metrics: EnclaveMetrics, pool: "DedicatedPool") -> None:
        self.costs = costs
        self.metrics = metrics
        self.pool = pool

    def template(self, bytes_in: float, bytes_out: float, vdso: bool) -> tuple[float, int]:
        """Per call: both deep copies in DomEnc; no domain crossing."""
        if vdso:
            return 0.0, 0
        return self.costs.copy_ns(bytes_in) + self.costs.copy_ns(bytes_out), 0

    def run_sync(self, runner: "ThreadRunner", op: "Op") -> "Gen":
        if _served_in_enclave(runner, op, self.metrics):
            return
        copy_in = self.costs.copy_ns(op[3])
        copy_out = self.costs.copy_ns(op[4])
        causes = runner.ledger.causes
        for _ in range(op[5]):
            runner.charge_cause(ENC, copy_in, COPY)
            yield from runner.flush()
            yield from self.pool.serve(runner.vcpu, ENC, draw(op[2]), causes)
            if op[9]:
                yield from runner.block(draw(op[9]))
            runner.charge_cause(ENC, copy_out, COPY)
        self.metrics.ocalls += op[5]
