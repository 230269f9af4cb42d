"""Dedicated VCPU pools reached by message passing: static partitioning and switchless workers.

A request posts work to a pool through shared memory; a free VCPU of the pool picks it up, runs it
in the pool's domain, and the caller learns of completion. The caller's VCPU spins meanwhile, so
its time is busy in the caller's domain. These are contention points: requests queue FIFO.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generator

import simpy

from veilperf.model.charges import Message, served_ns
from veilperf.model.vcpu import NOTIFY, QUEUE, Ledger, Vcpu

if TYPE_CHECKING:
    from veilperf.model.thread import ThreadRunner


class DedicatedPool:
    """VCPUs pinned to one domain, reached by ``message`` (``charges.ipi_message`` or
    ``charges.polled_message``)."""

    def __init__(self, env: simpy.Environment, ledger: Ledger, vcpus: list[Vcpu], domain: int,
                 message: Message) -> None:
        self.env = env
        self.ledger = ledger
        self.vcpus = vcpus
        self.domain = domain
        self.message = message
        self.free = simpy.Store(env)
        for vcpu in vcpus:
            self.free.put(vcpu)
        self.requests = 0

    def run(self, work_ns: float, cause_items: tuple[tuple[int, float], ...] = ()
            ) -> Generator[simpy.Event, object, float]:
        """Have a pool VCPU do ``work_ns`` in the pool's domain (Veil-added by the causes in
        ``cause_items``; a charge's ``work_ns`` and ``served_cause_items``: no switch, the pool
        runs its domain); returns the time from posting the request to seeing the reply."""
        env = self.env
        start = env.now
        worker = yield self.free.get()
        waited = env.now - start
        yield env.timeout(served_ns(work_ns, self.message))
        worker.busy[self.domain] += work_ns
        worker.held += work_ns
        self.free.put(worker)
        self.requests += 1
        causes = self.ledger.causes
        for cause, ns in cause_items:
            causes[cause] += ns
        causes[QUEUE] += waited
        causes[NOTIFY] += self.message.total_ns
        return env.now - start

    def serve(self, runner: "ThreadRunner", work_ns: float,
              cause_items: tuple[tuple[int, float], ...] = ()) -> Generator[simpy.Event, object, None]:
        """Run ``work_ns`` on a pool VCPU for ``runner``, whose VCPU spins until the reply."""
        vcpu = runner.vcpu
        elapsed = yield from self.run(work_ns, cause_items)
        vcpu.busy[vcpu.domain] += elapsed
