"""One simulated CVM (with or without Veil) running one workload: build, attach services, run.

VCPU layout (``ModelInputs.layout``): application VCPUs first, then (static partitioning)
dedicated DomSer VCPUs and DomEnc VCPUs, then switchless polling workers. Services come in the
inputs (their model classes and settings) and plug in through the hooks listed in
``model/service.py``; this module has no per-service branch and imports no service. Thread
drivers are in ``model/drivers.py``, the record's columns in ``model/metrics.py``.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable

import simpy

from veilperf.model import charges, drivers
from veilperf.model.charges import Message
from veilperf.model.domains import SER, UNT
from veilperf.model.inputs import ModelInputs
from veilperf.model.latency import LatencyStats
from veilperf.model.metrics import run_record, run_to
from veilperf.model.pool import DedicatedPool
from veilperf.model.service import Service
from veilperf.model.syscall_path import NativeSyscalls, SyscallHook, SyscallPath
from veilperf.model.thread import Gen, RunContext, ThreadRunner
from veilperf.model.vcpu import Vcpu


class System:
    """The simulated system for one workload run."""

    def __init__(self, inputs: ModelInputs, *, event_per_op: bool = False) -> None:
        self.inputs = inputs
        self.workload = inputs.workload
        self.limits = inputs.limits
        self.env = simpy.Environment()
        self.ctx = RunContext(self.env, inputs.costs, inputs.veil, event_per_op)
        costs = inputs.costs

        layout = inputs.layout
        first_ser = layout.app
        first_enc = first_ser + layout.ser
        first_worker = first_enc + layout.enc
        self.app_vcpus = [Vcpu(i) for i in range(layout.app)]
        self.ser_vcpus = [Vcpu(first_ser + i, "ser") for i in range(layout.ser)]
        self.enc_vcpus = [Vcpu(first_enc + i, "enc") for i in range(layout.enc)]
        self.worker_vcpus = [Vcpu(first_worker + i, "worker") for i in range(layout.workers)]
        self.vcpus = self.app_vcpus + self.ser_vcpus + self.enc_vcpus + self.worker_vcpus
        self.thread_vcpus = self.app_vcpus
        if self.ser_vcpus:
            self.ctx.service_pool = self.pool(self.ser_vcpus, SER, charges.ipi_message(costs))

        # hooks the services set (model/service.py)
        self.home = UNT
        self.after_syscall: list[SyscallHook] = []
        self.syscall_path: SyscallPath | None = None
        self.entry = None
        self.background: list[Callable[[], Gen]] = []
        self.services: list[Service] = [model(settings, self) for _, model, settings in inputs.services]
        for service in self.services:
            service.attach()
        if self.syscall_path is None:
            self.syscall_path = NativeSyscalls(self.after_syscall)
        self.ctx.syscall_path = self.syscall_path
        self.ctx.sync_ops = self.syscall_path.needs_sync

        self.completed = 0
        self.latencies = LatencyStats()
        self.oneoff_ns = 0.0
        self.events = 0  # SimPy events processed by run()

    # -- what services and drivers use -----------------------------------------------------

    def pool(self, vcpus: list[Vcpu], domain: int, message: Message) -> DedicatedPool:
        """A pool of dedicated VCPUs reached by ``message`` (``charges.ipi_message`` or
        ``charges.polled_message``)."""
        return DedicatedPool(self.env, self.ctx.ledger, vcpus, domain, message)

    def runner(self) -> ThreadRunner:
        """A new runner for a thread or request whose code runs in the home domain."""
        return ThreadRunner(self.ctx, self.home)

    @property
    def paths_taken(self) -> Counter[str]:
        """How often each aggregated execution path started in this run (docs/architecture.md,
        "Execution paths"): lets tests prove the fast paths they compare with the reference ran."""
        return self.ctx.paths

    @property
    def pinned(self) -> bool:
        """Whether every closed-loop thread has a VCPU of its own."""
        return not self.workload.open_loop and self.workload.threads <= len(self.thread_vcpus)

    def background_vcpus(self) -> tuple[list[Vcpu], list[Vcpu]]:
        """(spare, busy): VCPUs no workload thread is pinned to, and the workload's VCPUs.
        Background kernel threads run on a spare VCPU if there is one, else steal from busy ones."""
        if self.pinned:
            threads = self.workload.threads
            return self.thread_vcpus[threads:], self.thread_vcpus[:threads]
        return [], self.thread_vcpus

    def enter(self, runner: ThreadRunner) -> Gen:
        """Put a thread that just got a VCPU in its domain (e.g. enter the enclave)."""
        if self.entry is not None:
            yield from self.entry.enter(runner)
            yield from runner.flush()

    def leave(self, runner: ThreadRunner) -> Gen:
        """Take a thread that gives up its VCPU out of its domain."""
        if self.entry is not None:
            self.entry.leave(runner)
            yield from runner.flush()

    def run_queue(self) -> simpy.Store:
        """A FIFO run queue of the VCPUs threads run on."""
        queue = simpy.Store(self.env)
        for vcpu in self.thread_vcpus:
            queue.put(vcpu)
        return queue

    # -- run --------------------------------------------------------------------------------

    def run(self) -> dict[str, float]:
        """Simulate to completion and return the run's metrics."""
        env = self.env
        for start in self.background:
            env.process(start())
        if self.workload.open_loop:
            finished = env.event()
            env.process(drivers.open_loop(self, self.run_queue(), finished))
            self.events = run_to(env, finished)
        else:
            queue = None if self.pinned else self.run_queue()
            finishes: list[tuple[float, float]] = []
            threads = [env.process(drivers.closed_thread(self, i, queue, finishes))
                       for i in range(self.workload.threads)]
            self.events = run_to(env, env.all_of(threads))
            self.oneoff_ns = max(finishes)[1] if finishes else 0.0
        return run_record(self)
