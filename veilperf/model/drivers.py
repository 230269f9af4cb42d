"""Thread drivers: closed-loop threads (pinned fast loop, numpy mix batches, the event path) and
the open loop (Poisson arrivals, requests queueing for VCPUs)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import simpy

from veilperf.model.mix_batch import MixBatch
from veilperf.model.program import iteration_source
from veilperf.model.sampling import stream
from veilperf.model.thread import FastIterations, Gen, ThreadRunner

if TYPE_CHECKING:
    from veilperf.model.program import IterationSource
    from veilperf.model.system import System

ARRIVAL_STREAM = 1_000_000  # stream key of open-loop inter-arrival times
FAST_BATCH = 256  # iterations of a pinned, sync-free thread paid with one timeout


def _source(system: "System", thread: int) -> "IterationSource":
    path = system.syscall_path
    return iteration_source(system.workload, system.inputs.seed, thread, path.template, system.home, path.touches)


def closed_thread(system: "System", index: int, run_queue: simpy.Store | None,
                  finishes: list[tuple[float, float]]) -> Gen:
    """A thread running iterations back to back; pinned when ``run_queue`` is None. Appends
    (finish time, one-off set-up time) to ``finishes``."""
    runner = system.runner()
    source = _source(system, index)
    ctx = system.ctx
    if run_queue is None and source.simple and not ctx.sync_ops and not ctx.event_per_op:
        if source.mix is not None:
            done = yield from _pinned_mix_thread(system, runner, index, source)
        else:
            done = yield from _pinned_fast_thread(system, runner, index, source)
    else:
        done = yield from _event_thread(system, runner, index, source, run_queue)
    system.completed += done
    finishes.append((system.env.now, runner.oneoff))


def _event_thread(system: "System", runner: ThreadRunner, index: int, source: "IterationSource",
                  run_queue: simpy.Store | None) -> Gen:
    """The general path: ops run through the runner, yielding at every sync point."""
    env = system.env
    iterations, deadline = system.limits.iterations, system.limits.deadline_ns
    quantum = system.inputs.sched_quantum_ns
    next_ops = source.next_ops
    if run_queue is None:
        runner.vcpu = system.thread_vcpus[index].acquire(env.now)
        yield from system.enter(runner)
    runner.run_queue = run_queue
    done = 0
    while done < iterations and env.now < deadline:
        start = env.now
        if runner.vcpu is None:
            vcpu = yield run_queue.get()
            runner.vcpu = vcpu.acquire(env.now)
            runner.slice_start = env.now
            yield from system.enter(runner)
        yield from runner.run_ops(next_ops())
        yield from runner.end_iteration()
        system.latencies.add(env.now - start)
        done += 1
        if run_queue is not None and env.now - runner.slice_start >= quantum:
            yield from _give_up_vcpu(system, runner, run_queue)
    if run_queue is None:
        yield from system.leave(runner)
        runner.vcpu.release(env.now)
    elif runner.vcpu is not None:
        yield from _give_up_vcpu(system, runner, run_queue)
    return done


def _give_up_vcpu(system: "System", runner: ThreadRunner, run_queue: simpy.Store) -> Gen:
    """End of a time slice: leave the thread's domain and put the VCPU back in the run queue."""
    yield from system.leave(runner)
    vcpu = runner.vcpu
    vcpu.release(system.env.now)
    run_queue.put(vcpu)
    runner.vcpu = None


def _pinned_fast_thread(system: "System", runner: ThreadRunner, index: int,
                        source: "IterationSource") -> Gen:
    """The uncontended hot path. A pinned thread with no sync point shares nothing with other
    threads, so up to ``FAST_BATCH`` consecutive iterations are paid with one timeout; each
    iteration's latency is its own cost, and the deadline is checked on the thread's own
    clock, exactly as if every iteration had its own event."""
    system.ctx.paths["pinned_loop"] += 1
    env = system.env
    iterations, deadline = system.limits.iterations, system.limits.deadline_ns
    vcpu = runner.vcpu = system.thread_vcpus[index].acquire(env.now)
    yield from system.enter(runner)
    fast = FastIterations(runner, source.syscalls)
    next_ops = source.next_ops
    add_latency = system.latencies.add
    done = 0
    while done < iterations and env.now < deadline:
        clock = env.now
        batch_end = min(iterations, done + FAST_BATCH)
        while done < batch_end and clock < deadline:
            cost = fast.iteration(next_ops())
            add_latency(cost)
            clock += cost
            done += 1
        yield env.timeout(clock - env.now)
    fast.settle()  # nobody reads this VCPU's book-keeping before the thread ends
    yield from system.leave(runner)
    vcpu.release(env.now)
    return done


def _pinned_mix_thread(system: "System", runner: ThreadRunner, index: int,
                       source: "IterationSource") -> Gen:
    """The uncontended hot path of a sampled mix: batches computed with numpy, one timeout
    each; iterations that would start at or after the deadline are not charged."""
    system.ctx.paths["numpy_batch"] += 1
    env = system.env
    iterations, deadline = system.limits.iterations, system.limits.deadline_ns
    vcpu = runner.vcpu = system.thread_vcpus[index].acquire(env.now)
    yield from system.enter(runner)
    batch = MixBatch(*source.mix, runner)
    done = 0
    while done < iterations and env.now < deadline:
        n = int(min(FAST_BATCH, iterations - done))
        costs = batch.next(n)
        latency = costs.latency
        count = n
        if deadline != math.inf:
            starts = env.now + np.concatenate(([0.0], np.cumsum(latency[:-1])))
            count = int((starts < deadline).sum())
        batch.charge(costs, count)
        system.latencies.extend(latency[:count])
        done += count
        yield env.timeout(float(latency[:count].sum()))
    batch.settle()  # nobody reads this VCPU's book-keeping before the thread ends
    yield from system.leave(runner)
    vcpu.release(env.now)
    return done


def open_loop(system: "System", run_queue: simpy.Store, finished: simpy.Event) -> Gen:
    """Poisson arrivals; each request queues for a VCPU and runs ``iterations_per_request``
    iterations. A server sets up its domain at launch (e.g. creates its enclave and every VCPU's
    DomEnc replica) before the first arrival, so request latencies are those of the running
    server; that set-up is the run's one-off time."""
    env = system.env
    workload = system.workload
    if system.entry is not None:
        start = env.now
        yield from system.entry.set_up(list(run_queue.items))
        system.oneoff_ns = env.now - start
    requests, deadline = system.limits.iterations, system.limits.deadline_ns
    gaps = stream(system.inputs.seed, ARRIVAL_STREAM)
    next_ops = _source(system, 0).next_ops
    state = {"outstanding": 0, "arrivals_done": False}
    sent = 0
    block: list[float] = []
    while sent < requests:
        if not block:
            block = gaps.exponential(1.0 / workload.arrival_per_ns, 4096).tolist()[::-1]
        yield env.timeout(block.pop())
        if env.now >= deadline:
            break
        sent += 1
        state["outstanding"] += 1
        env.process(_request(system, run_queue, next_ops, state, finished))
    state["arrivals_done"] = True
    if state["outstanding"] == 0:
        finished.succeed()


def _request(system: "System", run_queue: simpy.Store, next_ops, state: dict,
             finished: simpy.Event) -> Gen:
    env = system.env
    start = env.now
    runner = system.runner()
    runner.skip_blocked = True
    vcpu = yield run_queue.get()
    runner.vcpu = vcpu.acquire(env.now)
    yield from system.enter(runner)
    for _ in range(system.workload.iterations_per_request):
        yield from runner.run_ops(next_ops())
    yield from runner.end_iteration()
    yield from system.leave(runner)
    vcpu.release(env.now)
    run_queue.put(vcpu)
    system.latencies.add(env.now - start)
    system.completed += 1
    state["outstanding"] -= 1
    if state["outstanding"] == 0 and state["arrivals_done"]:
        finished.succeed()
