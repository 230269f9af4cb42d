"""One simulated CVM (with or without Veil) running one workload: build, run, measure.

VCPU layout for ``setup.vcpus`` VCPUs: application VCPUs first, then (static partitioning)
dedicated DomSer VCPUs and, with an enclave, dedicated DomEnc VCPUs, or (switchless enclave)
polling worker VCPUs. Threads that fit on the application VCPUs are pinned; otherwise they queue
for a VCPU per iteration (FIFO run queue). Open-loop requests always queue for a VCPU.
"""

from __future__ import annotations

import math
from typing import Generator

import numpy as np
import simpy

from veilperf.config.run_config import RunConfig
from veilperf.model.costs import PlatformCosts
from veilperf.model.domains import ENC, NAMES, SER, UNT
from veilperf.model.mix_batch import MixBatch
from veilperf.model.pool import DedicatedPool
from veilperf.model.program import iteration_source
from veilperf.model.sampling import stream
from veilperf.model.syscall_path import NativeSyscalls
from veilperf.model.thread import ThreadRunner
from veilperf.model.vcpu import CAUSE_NAMES, Ledger, Vcpu
from veilperf.services.enc import EnclaveMetrics, EnclaveService, Ocalls, RemoteOcalls
from veilperf.services.kci import KciService
from veilperf.services.log import LogService

ARRIVAL_STREAM = 1_000_000  # stream key of open-loop inter-arrival times
FAST_BATCH = 256  # iterations of a pinned, sync-free thread paid with one timeout


class System:
    """The simulated system for one run of ``cfg`` (kind ``workload``)."""

    def __init__(self, cfg: RunConfig, *, event_per_op: bool = False) -> None:
        self.cfg = cfg
        self.event_per_op = event_per_op  # reference form for tests: one timeout per op
        self.env = simpy.Environment()
        self.costs = PlatformCosts.from_profile(cfg.platform)
        self.ledger = Ledger()
        setup = cfg.setup
        services = setup.services
        self.veil = setup.mode == "veil"
        static = self.veil and setup.vcpu_model == "static"
        enc = services.enc if services.enc.enabled else None
        self.enc_metrics = EnclaveMetrics()
        self.enclave_ticks_per_ns = enc.timer_hz / 1e9 if enc else 0.0

        n_ser = setup.static.service_vcpus if static else 0
        n_enc = setup.static.enclave_vcpus if static and enc else 0
        n_workers = enc.switchless_workers if enc and enc.switchless and not static else 0
        n_app = setup.vcpus - n_ser - n_enc - n_workers
        self.app_vcpus = [Vcpu(i) for i in range(n_app)]
        ser_vcpus = [Vcpu(n_app + i, "ser") for i in range(n_ser)]
        enc_vcpus = [Vcpu(n_app + n_ser + i, "enc") for i in range(n_enc)]
        self.worker_vcpus = [Vcpu(n_app + n_ser + n_enc + i, "worker") for i in range(n_workers)]
        for vcpu in enc_vcpus:
            vcpu.domain = ENC
        self.vcpus = self.app_vcpus + ser_vcpus + enc_vcpus + self.worker_vcpus

        costs = self.costs
        self.service_pool = (DedicatedPool(self.env, ser_vcpus, SER, costs.ipi_notify, costs.poll_latency)
                             if static else None)
        self.log = LogService(services.log, costs) if services.log.enabled else None
        self.kci = KciService(services.kci, costs) if services.kci.enabled else None
        self.enclave = EnclaveService(enc, costs, self.enc_metrics) if enc else None
        self.home = ENC if enc else UNT
        self.thread_vcpus = self.app_vcpus
        if enc and static:
            self.thread_vcpus = enc_vcpus
            pool = DedicatedPool(self.env, self.app_vcpus, UNT, costs.ipi_notify, costs.poll_latency)
            self.syscall_path = RemoteOcalls(costs, self.enc_metrics, pool)
        elif enc and enc.switchless:
            pool = DedicatedPool(self.env, self.worker_vcpus, UNT, costs.poll_latency, costs.poll_latency)
            self.syscall_path = RemoteOcalls(costs, self.enc_metrics, pool)
        elif enc:
            self.syscall_path = Ocalls(costs, self.enc_metrics, self.log)
        else:
            self.syscall_path = NativeSyscalls(self.log)
        self.sync_ops = self.syscall_path.needs_sync

        self.completed = 0
        self.latencies: list[float] = []

    # -- services reached from ops ------------------------------------------------------------

    def kci_op(self, runner: ThreadRunner, op: str, pages: int) -> Generator[simpy.Event, object, None]:
        """A kernel permission change: mediated by VeilS-Kci when enabled, otherwise free."""
        if self.kci is not None:
            yield from self.kci.run_op(runner, op, pages)

    # -- workload drivers -----------------------------------------------------------------

    def _limits(self) -> tuple[float, float]:
        """(iterations, deadline in ns) from the run section, else the workload's own length."""
        run, wl = self.cfg.run, self.cfg.workload
        iterations = run.iterations if run.iterations is not None else None
        duration = run.duration if run.duration is not None else None
        if iterations is None and duration is None:
            iterations, duration = wl.iterations, wl.duration
        if iterations is None and duration is None:
            iterations = 1 if wl.replay is not None else None
        if iterations is None and duration is None:
            raise ValueError("no run length: set run.iterations or run.duration")
        return (iterations if iterations is not None else math.inf,
                duration if duration is not None else math.inf)

    def _enter(self, runner: ThreadRunner) -> Generator[simpy.Event, object, None]:
        if self.enclave is not None:
            yield from self.enclave.enter(runner)
            yield from runner.flush()

    def _leave(self, runner: ThreadRunner) -> Generator[simpy.Event, object, None]:
        # A VCPU dedicated to DomEnc (static partitioning) stays in the enclave between threads.
        if self.enclave is not None and runner.vcpu.role != "enc":
            self.enclave.leave(runner)
            yield from runner.flush()

    def closed_thread(self, index: int, run_queue: simpy.Store | None,
                      iterations: float, deadline: float) -> Generator[simpy.Event, object, None]:
        """A thread running iterations back to back; pinned when ``run_queue`` is None."""
        env = self.env
        runner = ThreadRunner(self, self.home)
        source = iteration_source(self.cfg.workload, self.cfg.seed, index, self.syscall_path.template)
        next_ops = source.next_ops
        if run_queue is None and source.simple and not self.sync_ops and not self.event_per_op:
            if source.mix is not None:
                batch = MixBatch(*source.mix, self.home, self.costs.switch_one_way, self.enclave_ticks_per_ns)
                yield from self._pinned_mix_thread(runner, index, batch, iterations, deadline)
            else:
                yield from self._pinned_fast_thread(runner, index, next_ops, iterations, deadline)
            return
        if run_queue is None:
            runner.vcpu = self.thread_vcpus[index].acquire(env.now)
            yield from self._enter(runner)
        runner.run_queue = run_queue
        quantum = self.cfg.setup.sched_quantum
        done = 0
        while done < iterations and env.now < deadline:
            start = env.now
            if runner.vcpu is None:
                vcpu = yield run_queue.get()
                runner.vcpu = vcpu.acquire(env.now)
                runner.slice_start = env.now
                yield from self._enter(runner)
            yield from runner.run_ops(next_ops())
            yield from runner.flush()
            self.latencies.append(env.now - start)
            done += 1
            if run_queue is not None and env.now - runner.slice_start >= quantum:
                yield from self._give_up_vcpu(runner, run_queue)
        if run_queue is None:
            yield from self._leave(runner)
            runner.vcpu.release(env.now)
        elif runner.vcpu is not None:
            yield from self._give_up_vcpu(runner, run_queue)
        self.completed += done

    def _give_up_vcpu(self, runner: ThreadRunner, run_queue: simpy.Store) -> Generator[simpy.Event, object, None]:
        """End of a time slice: leave the enclave (if any) and put the VCPU back in the run queue."""
        yield from self._leave(runner)
        vcpu = runner.vcpu
        vcpu.release(self.env.now)
        run_queue.put(vcpu)
        runner.vcpu = None

    def _pinned_fast_thread(self, runner: ThreadRunner, index: int, next_ops, iterations: float,
                            deadline: float) -> Generator[simpy.Event, object, None]:
        """The uncontended hot path. A pinned thread with no sync point shares nothing with other
        threads, so up to ``FAST_BATCH`` consecutive iterations are paid with one timeout; each
        iteration's latency is its own cost, and the deadline is checked on the thread's own
        clock, exactly as if every iteration had its own event."""
        env = self.env
        timeout = env.timeout
        vcpu = runner.vcpu = self.thread_vcpus[index].acquire(env.now)
        yield from self._enter(runner)
        fast_iteration = runner.fast_iteration
        append_latency = self.latencies.append
        done = 0
        while done < iterations and env.now < deadline:
            clock = env.now
            batch_end = min(iterations, done + FAST_BATCH)
            while done < batch_end and clock < deadline:
                fast_iteration(next_ops())
                cost = runner.pending
                runner.pending = 0.0
                append_latency(cost)
                clock += cost
                done += 1
            yield timeout(clock - env.now)
        yield from self._leave(runner)
        vcpu.release(env.now)
        self.completed += done

    def _pinned_mix_thread(self, runner: ThreadRunner, index: int, batch: MixBatch, iterations: float,
                           deadline: float) -> Generator[simpy.Event, object, None]:
        """The uncontended hot path of a sampled mix: batches computed with numpy, one timeout
        each; iterations that would start at or after the deadline are not charged."""
        env = self.env
        vcpu = runner.vcpu = self.thread_vcpus[index].acquire(env.now)
        yield from self._enter(runner)
        done = 0
        while done < iterations and env.now < deadline:
            n = int(min(FAST_BATCH, iterations - done))
            costs = batch.next(n, runner.tick_credit)
            latency = costs.latency
            count = n
            if deadline != math.inf:
                starts = env.now + np.concatenate(([0.0], np.cumsum(latency[:-1])))
                count = int((starts < deadline).sum())
            runner.charge_batch(costs, count)
            self.latencies.extend(latency[:count].tolist())
            done += count
            yield env.timeout(float(latency[:count].sum()))
        yield from self._leave(runner)
        vcpu.release(env.now)
        self.completed += done

    def open_loop(self, run_queue: simpy.Store, requests: float,
                  deadline: float, finished: simpy.Event) -> Generator[simpy.Event, object, None]:
        """Poisson arrivals; each request queues for a VCPU and runs ``iterations_per_request``
        iterations. A server sets up its enclave at launch: creation and every VCPU's DomEnc replica
        happen before the first arrival, so request latencies are those of the running server."""
        env = self.env
        if self.enclave is not None:
            yield from self._set_up_enclave_replicas(run_queue)
        rate_per_ns = self.cfg.workload.arrival_rate / 1e9
        gaps = stream(self.cfg.seed, ARRIVAL_STREAM)
        next_ops = iteration_source(self.cfg.workload, self.cfg.seed, 0, self.syscall_path.template).next_ops
        outstanding = [0]
        sent = 0
        block: list[float] = []
        while sent < requests:
            if not block:
                block = gaps.exponential(1.0 / rate_per_ns, 4096).tolist()[::-1]
            yield env.timeout(block.pop())
            if env.now >= deadline:
                break
            sent += 1
            outstanding[0] += 1
            env.process(self._request(run_queue, next_ops, outstanding, finished))
        if outstanding[0] == 0:
            finished.succeed()
        self._arrivals_done = True

    def _set_up_enclave_replicas(self, run_queue: simpy.Store) -> Generator[simpy.Event, object, None]:
        """Create the enclave and a DomEnc replica on every VCPU of ``run_queue``, then leave it."""
        env = self.env
        for vcpu in list(run_queue.items):
            runner = ThreadRunner(self, self.home)
            runner.vcpu = vcpu.acquire(env.now)
            yield from self._enter(runner)
            yield from self._leave(runner)
            vcpu.release(env.now)

    def _request(self, run_queue: simpy.Store, next_ops, outstanding: list[int],
                 finished: simpy.Event) -> Generator[simpy.Event, object, None]:
        env = self.env
        start = env.now
        runner = ThreadRunner(self, self.home)
        runner.skip_blocked = True
        vcpu = yield run_queue.get()
        runner.vcpu = vcpu.acquire(env.now)
        yield from self._enter(runner)
        for _ in range(self.cfg.workload.iterations_per_request):
            yield from runner.run_ops(next_ops())
        yield from runner.flush()
        yield from self._leave(runner)
        vcpu.release(env.now)
        run_queue.put(vcpu)
        self.latencies.append(env.now - start)
        self.completed += 1
        outstanding[0] -= 1
        if outstanding[0] == 0 and self._arrivals_done:
            finished.succeed()

    # -- run --------------------------------------------------------------------------------

    def run(self) -> dict[str, float]:
        """Simulate to completion and return the run's metrics."""
        env = self.env
        wl = self.cfg.workload
        iterations, deadline = self._limits()
        if self.log is not None and self.log.settings.reader_period is not None:
            # The reader runs on VCPUs no workload thread is pinned to, if there are any.
            pinned = wl.loop == "closed" and wl.threads <= len(self.thread_vcpus)
            busy = self.thread_vcpus[:wl.threads] if pinned else self.thread_vcpus
            spare = self.thread_vcpus[wl.threads:] if pinned else []
            env.process(self.log.reader(env, busy, self.ledger, spare))
        self._arrivals_done = False
        if wl.loop == "open":
            run_queue = self._run_queue()
            finished = env.event()
            env.process(self.open_loop(run_queue, iterations, deadline, finished))
            env.run(until=finished)
        else:
            pinned = wl.threads <= len(self.thread_vcpus)
            run_queue = None if pinned else self._run_queue()
            threads = [env.process(self.closed_thread(i, run_queue, iterations, deadline))
                       for i in range(wl.threads)]
            env.run(until=env.all_of(threads))
        return self._metrics()

    def _run_queue(self) -> simpy.Store:
        queue = simpy.Store(self.env)
        queue.items.extend(self.thread_vcpus)
        return queue

    def _metrics(self) -> dict[str, float]:
        # Work stolen by the log reader after a VCPU's last flush is paid after the workload ends.
        elapsed = self.env.now + max((v.steal for v in self.vcpus), default=0.0)
        for vcpu in self.vcpus:
            vcpu.held += vcpu.steal
        for worker in self.worker_vcpus:  # switchless workers poll for the whole run
            worker.busy[UNT] = elapsed - worker.switching - sum(worker.busy[:UNT])
            worker.held = elapsed
        record: dict[str, float] = {
            "sim_time_ns": elapsed,
            "completed": self.completed,
            "throughput_per_s": self.completed / elapsed * 1e9 if elapsed else 0.0,
        }
        lat = np.asarray(self.latencies) if self.latencies else np.asarray([np.nan])
        record["latency_mean_ns"] = float(lat.mean())
        record["latency_p50_ns"] = float(np.percentile(lat, 50))
        record["latency_p99_ns"] = float(np.percentile(lat, 99))
        switches = self.ledger.switches
        record["switches_total"] = sum(map(sum, switches))
        for a, src in enumerate(NAMES):
            for b, dst in enumerate(NAMES):
                if a != b:
                    record[f"switches.{src}_{dst}"] = switches[a][b]
        totals = [0.0] * 4
        switching = idle = 0.0
        for vcpu in self.vcpus:
            prefix = f"vcpu{vcpu.index}."
            for d, name in enumerate(NAMES):
                record[prefix + name + "_ns"] = vcpu.busy[d]
                totals[d] += vcpu.busy[d]
            vcpu_idle = elapsed - sum(vcpu.busy) - vcpu.switching
            record[prefix + "switching_ns"] = vcpu.switching
            record[prefix + "idle_ns"] = vcpu_idle
            record[prefix + "held_ns"] = vcpu.held
            record[prefix + "role"] = vcpu.role
            switching += vcpu.switching
            idle += vcpu_idle
        for d, name in enumerate(NAMES):
            record[f"time.{name}_ns"] = totals[d]
        record["time.switching_ns"] = switching
        record["time.idle_ns"] = idle
        for i, name in enumerate(CAUSE_NAMES):
            record[f"cause.{name}_ns"] = self.ledger.causes[i]
        if self.enclave is not None:
            record.update(self.enc_metrics.as_record())
        if self.log is not None:
            record.update(self.log.metrics())
        if self.kci is not None:
            record.update(self.kci.metrics())
        record["events"] = next(self.env._eid)  # events scheduled (all are processed)
        return record


def simulate_workload(cfg: RunConfig) -> dict[str, float]:
    """Run one workload point and return its metrics (see docs/architecture.md for columns)."""
    return System(cfg).run()
