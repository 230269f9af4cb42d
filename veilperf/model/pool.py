"""Dedicated VCPU pools reached by message passing: static partitioning and switchless workers.

A request posts work to a pool through shared memory; a free VCPU of the pool picks it up, runs it
in the pool's domain, and the caller learns of completion. The caller's VCPU spins meanwhile, so
its time is busy in the caller's domain. These are contention points: requests queue FIFO.
"""

from __future__ import annotations

from typing import Generator

import simpy

from veilperf.model.vcpu import NOTIFY, QUEUE, Vcpu


class DedicatedPool:
    """VCPUs pinned to one domain; ``notify_ns`` to wake a worker, ``reply_ns`` to see the reply."""

    def __init__(self, env: simpy.Environment, vcpus: list[Vcpu], domain: int,
                 notify_ns: float, reply_ns: float) -> None:
        self.env = env
        self.vcpus = vcpus
        self.domain = domain
        self.notify_ns = notify_ns
        self.reply_ns = reply_ns
        self.free = simpy.Store(env)
        self.free.items.extend(vcpus)
        self.requests = 0

    def serve(self, caller_vcpu: Vcpu, caller_domain: int, work_ns: float,
              causes: list[float]) -> Generator[simpy.Event, object, None]:
        """Run ``work_ns`` on a pool VCPU for a caller spinning on ``caller_vcpu``."""
        env = self.env
        start = env.now
        worker = yield self.free.get()
        waited = env.now - start
        yield env.timeout(self.notify_ns + work_ns + self.reply_ns)
        worker.busy[self.domain] += work_ns
        worker.held += work_ns
        self.free.put(worker)
        self.requests += 1
        causes[QUEUE] += waited
        causes[NOTIFY] += self.notify_ns + self.reply_ns
        caller_vcpu.busy[caller_domain] += env.now - start
