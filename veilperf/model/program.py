"""Workload steps compiled into compact op tuples with their own random streams.

An op is a tuple whose first item is its code:

    (COMPUTE, time_source)
    (SYSCALL, name, kernel_source, bytes_in, bytes_out, repeat, vdso)
    (CALL, domain, handler_source, bytes)
    (KCI, op_name, pages)

Each random time source has its own stream keyed by (thread, op position), so runs that differ
only in Veil's costs draw identical workload values (common random numbers).
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from veilperf.config.workload import MixEntry, Step, SyscallMix, WorkloadSpec
from veilperf.model.domains import BY_NAME
from veilperf.model.sampling import BLOCK, stream, time_source

COMPUTE, SYSCALL, CALL, KCI = range(4)

Op = tuple
IterationSource = Callable[[], list[Op]]
"""Returns the ops of the next iteration of one thread."""


def compile_steps(steps: list[Step], seed: int, thread: int) -> list[Op]:
    """Compile a step list for one thread."""
    ops: list[Op] = []
    for position, step in enumerate(steps):
        key = (thread, position)
        if step.compute is not None:
            ops.append((COMPUTE, time_source(step.compute, seed, *key)))
        elif step.syscall is not None:
            s = step.syscall
            ops.append((SYSCALL, s.name, time_source(s.kernel, seed, *key), s.bytes_in, s.bytes_out,
                        s.repeat, s.vdso))
        elif step.call is not None:
            c = step.call
            ops.append((CALL, BY_NAME[c.domain], time_source(c.handler, seed, *key), c.bytes))
        else:
            ops.append((KCI, step.kci.op, step.kci.pages))
    return ops


def _mix_op(entry: MixEntry, seed: int, thread: int, position: int) -> Op:
    return (SYSCALL, entry.name, time_source(entry.kernel, seed, thread, position),
            entry.bytes_in, entry.bytes_out, 1, entry.vdso)


class _IndexSampler:
    """Draws entry indices with the mix's weights, in blocks."""

    __slots__ = ("_rng", "_p", "_buffer", "_next")

    def __init__(self, weights: list[float], rng: np.random.Generator) -> None:
        total = float(sum(weights))
        self._p = [w / total for w in weights]
        self._rng = rng
        self._buffer: list[int] = []
        self._next = 0

    def __call__(self) -> int:
        if self._next >= len(self._buffer):
            self._buffer = self._rng.choice(len(self._p), BLOCK, p=self._p).tolist()
            self._next = 0
        value = self._buffer[self._next]
        self._next += 1
        return value


def _mix_source(mix: SyscallMix, seed: int, thread: int) -> IterationSource:
    gap = (COMPUTE, time_source(mix.gap, seed, thread, 0))
    calls = [_mix_op(entry, seed, thread, 2 + i) for i, entry in enumerate(mix.calls)]
    pick = _IndexSampler([e.weight for e in mix.calls], stream(seed, thread, 1))
    return lambda: [gap, calls[pick()]]


def iteration_source(workload: WorkloadSpec, seed: int, thread: int) -> IterationSource:
    """The ops one thread runs per iteration (or per request, for open-loop workloads)."""
    if workload.mix is not None:
        return _mix_source(workload.mix, seed, thread)
    steps = workload.replay[thread] if workload.replay is not None else workload.steps
    ops = compile_steps(steps, seed, thread)
    return lambda: ops


def all_ops(source: IterationSource, iterations: int) -> Iterator[Op]:
    """Every op of ``iterations`` iterations (for closed-form checks in tests and tools)."""
    for _ in range(iterations):
        yield from source()
