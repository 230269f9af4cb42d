"""Workload steps compiled into named ops with their own random streams.

Each random time source has its own stream keyed by (thread, op position), so runs that differ only
in Veil's costs draw identical workload values (common random numbers). A system call op carries
``veil``, the charge the syscall path adds per call (from ``model.charges``, e.g. an ocall), so
fast paths add its precomputed time and apply ``veil.times(count)`` instead of re-deriving costs,
and ``touch_units``, the first-touch page faults expected after one call (private enclave page
tables), in fixed point so that every path counts whole faults at the same calls.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from veilperf.model.charges import NOTHING, Charge
from veilperf.model.inputs import Call, Compute, KciChange, Mix, Step, Syscall, WorkloadInput
from veilperf.model.sampling import BLOCK, BlockStream, TimeSource, stream, time_source

COMPUTE, SYSCALL, CALL, KCI = range(4)
BLOCKED_KEY = 1  # extra stream-key element: a call's blocked time has its own stream
TOUCH_SHIFT = 20
"""Expected first-touch faults are summed in units of 2**-20 fault: integers, which the event path,
the pinned loop and numpy's cumulative sums add exactly alike (floats summed in another order
could cross a whole fault one call apart)."""


def touch_units(expected: float) -> int:
    """``expected`` faults in units of 2**-TOUCH_SHIFT (an error below 1e-6 fault per call)."""
    return round(expected * (1 << TOUCH_SHIFT))


class ComputeOp(NamedTuple):
    code: int
    time: TimeSource


class SyscallOp(NamedTuple):
    code: int
    index: int  # position in the thread's syscall table (fast paths count calls per op)
    name: str
    kernel: TimeSource
    blocked: TimeSource
    bytes_in: float
    bytes_out: float
    repeat: int
    vdso: bool
    veil: Charge  # what the syscall path adds to one call
    veil_ns: float  # veil.total_ns
    veil_home_ns: float  # the part of veil spent in the thread's home domain
    pages: float | None  # memory-management calls: pages per call (None: not stated)
    touch_units: int  # first-touch faults expected after one call, in units of 2**-TOUCH_SHIFT


class CallOp(NamedTuple):
    code: int
    domain: int
    handler: TimeSource
    nbytes: float


class KciOp(NamedTuple):
    code: int
    op: str
    pages: int


Op = ComputeOp | SyscallOp | CallOp | KciOp
SyscallTemplate = Callable[[Syscall], Charge]
"""The charge a syscall path adds to one call (e.g. an ocall's switches and copies)."""
Touches = Callable[[Syscall], float]
"""First-touch page faults a syscall path expects after one call (e.g. of a new mapping)."""


def no_extra(call: Syscall) -> Charge:
    """Template of a path that adds nothing to a system call."""
    return NOTHING


def no_touches(call: Syscall) -> float:
    """A path whose calls leave no page for the service to fault in."""
    return 0.0


class IterationSource(NamedTuple):
    """``next_ops()`` returns one iteration's ops; ``simple`` says they are only compute and
    system calls (eligible for the aggregated fast loop); ``syscalls`` lists the system call ops
    by ``index``; ``mix`` holds a sampled mix's (gap source, call ops, index stream) for
    vectorised batches (see ``model.mix_batch``)."""

    next_ops: Callable[[], list[Op]]
    simple: bool
    syscalls: list[SyscallOp]
    mix: tuple | None = None


class _Compiler:
    """Compiles one thread's steps, numbering its system call ops."""

    def __init__(self, seed: int, thread: int, template: SyscallTemplate, touches: Touches, home: int) -> None:
        self.seed, self.thread, self.template, self.touches, self.home = seed, thread, template, touches, home
        self.syscalls: list[SyscallOp] = []

    def syscall(self, call: Syscall, position: int) -> SyscallOp:
        key = (self.thread, position)
        veil = self.template(call)
        op = SyscallOp(SYSCALL, len(self.syscalls), call.name, time_source(call.kernel, self.seed, *key),
                       time_source(call.blocked, self.seed, *key, BLOCKED_KEY), call.bytes_in,
                       call.bytes_out, call.repeat, call.vdso, veil, veil.total_ns,
                       veil.domain_ns[self.home], call.pages, touch_units(self.touches(call)))
        self.syscalls.append(op)
        return op

    def step(self, step: Step, position: int) -> Op:
        key = (self.thread, position)
        if isinstance(step, Compute):
            return ComputeOp(COMPUTE, time_source(step.time, self.seed, *key))
        if isinstance(step, Syscall):
            return self.syscall(step, position)
        if isinstance(step, Call):
            return CallOp(CALL, step.domain, time_source(step.handler, self.seed, *key), step.nbytes)
        assert isinstance(step, KciChange)
        return KciOp(KCI, step.op, step.pages)


def _index_stream(weights: list[float], rng: np.random.Generator) -> BlockStream:
    """Entry indices drawn with the mix's weights."""
    total = float(sum(weights))
    p = [w / total for w in weights]
    return BlockStream(lambda: rng.choice(len(p), BLOCK, p=p))


def _mix_source(mix: Mix, compiler: _Compiler) -> IterationSource:
    seed, thread = compiler.seed, compiler.thread
    gap = ComputeOp(COMPUTE, time_source(mix.gap, seed, thread, 0))
    calls = [compiler.syscall(entry.syscall, 2 + i) for i, entry in enumerate(mix.calls)]
    iterations = [[gap, call] for call in calls]
    pick = _index_stream([e.weight for e in mix.calls], stream(seed, thread, 1))
    return IterationSource(lambda: iterations[pick()], True, compiler.syscalls, (gap.time, calls, pick))


def iteration_source(workload: WorkloadInput, seed: int, thread: int, template: SyscallTemplate = no_extra,
                     home: int = 3, touches: Touches = no_touches) -> IterationSource:
    """The ops one thread runs per iteration (or per request, for open-loop workloads)."""
    compiler = _Compiler(seed, thread, template, touches, home)
    if workload.mix is not None:
        return _mix_source(workload.mix, compiler)
    steps = workload.replay[thread] if workload.replay is not None else workload.steps
    ops = [compiler.step(step, position) for position, step in enumerate(steps)]
    simple = all(op.code in (COMPUTE, SYSCALL) for op in ops)
    return IterationSource(lambda: ops, simple, compiler.syscalls)
