"""How a system call executes: natively in the kernel (cvm, or veil without an enclave).

A path has ``template(call) -> Charge`` (what it adds to one call, from ``model.charges``),
``touches(call)`` (first-touch page faults it expects after one call: none but under private
enclave page tables), ``run(runner, op)`` (no events), ``run_sync(runner, op)`` (a generator, used when a hook such as
VeilS-Log's must act at the exact simulated time) and ``settle(runner, op, count)`` (book the
charges of ``count`` calls a fast path already timed). Enclave paths live in
``veilperf.services.enc``. ``after_syscall`` hooks (services) run after each non-vDSO call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from veilperf.model.charges import Charge
from veilperf.model.domains import UNT
from veilperf.model.inputs import Syscall
from veilperf.model.program import no_extra, no_touches
from veilperf.model.sampling import draw

if TYPE_CHECKING:
    from veilperf.model.program import SyscallOp
    from veilperf.model.thread import Gen, ThreadRunner

SyscallHook = Callable[["ThreadRunner", str], "Gen"]


class SyscallPath:
    """What every path shares: the hooks, the non-waiting form and settling counted calls."""

    def __init__(self, after_syscall: list[SyscallHook]) -> None:
        self.after_syscall = after_syscall

    @property
    def needs_sync(self) -> bool:
        """Whether a call may wait (then threads cannot take the aggregated fast loop)."""
        return bool(self.after_syscall)

    def template(self, call: Syscall) -> Charge:
        return no_extra(call)

    def touches(self, call: Syscall) -> float:
        return no_touches(call)

    def run(self, runner: "ThreadRunner", op: "SyscallOp") -> None:
        """The same steps as :meth:`run_sync`, for paths and hooks that never wait."""
        for _ in self.run_sync(runner, op):
            raise RuntimeError("a system call waited on the non-waiting path")

    def run_sync(self, runner: "ThreadRunner", op: "SyscallOp") -> "Gen":
        raise NotImplementedError

    def settle(self, runner: "ThreadRunner", op: "SyscallOp", count: int) -> None:
        """Book the Veil charges of ``count`` calls of ``op`` timed by a fast path."""
        runner.ledger.account(runner.vcpu, op.veil.times(count))

    def _after(self, runner: "ThreadRunner", name: str) -> "Gen":
        for hook in self.after_syscall:
            yield from hook(runner, name)


class NativeSyscalls(SyscallPath):
    """The kernel runs the call on the caller's VCPU; service hooks may follow each call."""

    def run_sync(self, runner: "ThreadRunner", op: "SyscallOp") -> "Gen":
        kernel, blocked = op.kernel, op.blocked
        hooked = self.after_syscall and not op.vdso
        for _ in range(op.repeat):
            runner.run_in(UNT, draw(kernel))
            if blocked:
                yield from runner.block(draw(blocked))
            if hooked:
                yield from self._after(runner, op.name)
