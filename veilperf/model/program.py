"""Workload steps compiled into compact op tuples with their own random streams.

An op is a tuple whose first item is its code:

    (COMPUTE, time_source)
    (SYSCALL, name, kernel_source, bytes_in, bytes_out, repeat, vdso, home_extra, crossings, blocked_source)
    (CALL, domain, handler_source, bytes)
    (KCI, op_name, pages)

``home_extra`` (ns of constant work in the caller's domain per call, e.g. argument copies) and
``crossings`` (domain round trips per call) come from the syscall path's ``template``, so the hot
loop adds constants instead of recomputing costs. Each random time source has its own stream keyed by (thread, op position), so runs that differ
only in Veil's costs draw identical workload values (common random numbers).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from veilperf.config.workload import MixEntry, Step, SyscallMix, WorkloadSpec
from veilperf.model.domains import BY_NAME
from veilperf.model.sampling import BLOCK, BlockStream, stream, time_source

COMPUTE, SYSCALL, CALL, KCI = range(4)
BLOCKED_KEY = 1  # extra stream-key element: a call's blocked time has its own stream

Op = tuple
SyscallTemplate = Callable[[float, float, bool], tuple[float, int]]
"""(bytes_in, bytes_out, vdso) -> (home_extra ns, crossings) for one call on a syscall path."""


def no_extra(bytes_in: float, bytes_out: float, vdso: bool) -> tuple[float, int]:
    """Template of a path that adds nothing to a system call."""
    return 0.0, 0


class IterationSource(NamedTuple):
    """``next_ops()`` returns one iteration's ops; ``simple`` says they are only compute and
    system calls (eligible for the aggregated fast loop); ``mix`` holds a sampled mix's
    (gap source, call ops, index stream) for vectorised batches (see ``model.mix_batch``)."""

    next_ops: Callable[[], list[Op]]
    simple: bool
    mix: tuple | None = None


def _syscall(name: str, kernel, bytes_in: float, bytes_out: float, repeat: int, vdso: bool,
             template: SyscallTemplate, blocked) -> Op:
    home_extra, crossings = template(bytes_in, bytes_out, vdso)
    return (SYSCALL, name, kernel, bytes_in, bytes_out, repeat, vdso, home_extra, crossings, blocked)


def compile_steps(steps: list[Step], seed: int, thread: int,
                  template: SyscallTemplate = no_extra) -> list[Op]:
    """Compile a step list for one thread."""
    ops: list[Op] = []
    for position, step in enumerate(steps):
        key = (thread, position)
        if step.compute is not None:
            ops.append((COMPUTE, time_source(step.compute, seed, *key)))
        elif step.syscall is not None:
            s = step.syscall
            ops.append(_syscall(s.name, time_source(s.kernel, seed, *key), s.bytes_in, s.bytes_out,
                                s.repeat, s.vdso, template, time_source(s.blocked, seed, *key, BLOCKED_KEY)))
        elif step.call is not None:
            c = step.call
            ops.append((CALL, BY_NAME[c.domain], time_source(c.handler, seed, *key), c.bytes))
        else:
            ops.append((KCI, step.kci.op, step.kci.pages))
    return ops


def _mix_op(entry: MixEntry, seed: int, thread: int, position: int, template: SyscallTemplate) -> Op:
    return _syscall(entry.name, time_source(entry.kernel, seed, thread, position),
                    entry.bytes_in, entry.bytes_out, 1, entry.vdso, template,
                    time_source(entry.blocked, seed, thread, position, BLOCKED_KEY))


def _index_stream(weights: list[float], rng: np.random.Generator) -> BlockStream:
    """Entry indices drawn with the mix's weights."""
    total = float(sum(weights))
    p = [w / total for w in weights]
    return BlockStream(lambda: rng.choice(len(p), BLOCK, p=p))


def _mix_source(mix: SyscallMix, seed: int, thread: int, template: SyscallTemplate) -> IterationSource:
    gap = (COMPUTE, time_source(mix.gap, seed, thread, 0))
    calls = [_mix_op(entry, seed, thread, 2 + i, template) for i, entry in enumerate(mix.calls)]
    iterations = [[gap, call] for call in calls]
    pick = _index_stream([e.weight for e in mix.calls], stream(seed, thread, 1))
    return IterationSource(lambda: iterations[pick()], True, (gap[1], calls, pick))


def iteration_source(workload: WorkloadSpec, seed: int, thread: int,
                     template: SyscallTemplate = no_extra) -> IterationSource:
    """The ops one thread runs per iteration (or per request, for open-loop workloads)."""
    if workload.mix is not None:
        return _mix_source(workload.mix, seed, thread, template)
    steps = workload.replay[thread] if workload.replay is not None else workload.steps
    ops = compile_steps(steps, seed, thread, template)
    return IterationSource(lambda: ops, all(op[0] in (COMPUTE, SYSCALL) for op in ops))

