"""How a system call executes: natively in the kernel (cvm, or veil without an enclave).

A path has ``run(runner, op)`` (no events) and ``run_sync(runner, op)`` (a generator, used when
a service such as VeilS-Log must act at the exact simulated time). Enclave paths live in
``veilperf.services.enc``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from veilperf.model.domains import UNT
from veilperf.model.program import no_extra
from veilperf.model.sampling import draw

if TYPE_CHECKING:
    from veilperf.model.program import Op
    from veilperf.model.thread import Gen, ThreadRunner
    from veilperf.services.log import LogService


class NativeSyscalls:
    """The kernel runs the call on the caller's VCPU; an audit hook may follow each call."""

    def __init__(self, log: "LogService | None") -> None:
        self.log = log
        self.needs_sync = log is not None
        self.template = no_extra

    def run(self, runner: "ThreadRunner", op: "Op") -> None:
        """The same steps as :meth:`run_sync`; on a pinned thread without audit log they never wait."""
        for _ in self.run_sync(runner, op):
            raise RuntimeError("a system call waited on the non-waiting path")

    def run_sync(self, runner: "ThreadRunner", op: "Op") -> "Gen":
        kernel, vdso, blocked = op[2], op[6], op[9]
        for _ in range(op[5]):
            runner.run_in(UNT, draw(kernel))
            if blocked:
                yield from runner.block(draw(blocked))
            if self.log is not None and not vdso:
                yield from self.log.on_syscall(runner, op[1])
