"""The run record's columns from a finished simulation (see docs/architecture.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import simpy

from veilperf.model import charges
from veilperf.model.costs import PlatformCosts
from veilperf.model.domains import NAMES, UNT
from veilperf.model.vcpu import CAUSE_NAMES

if TYPE_CHECKING:
    from veilperf.model.system import System


def run_to(env: simpy.Environment, until: simpy.Event | None = None) -> int:
    """Run ``env`` until the event ``until`` has been processed (None: until no event is left)
    and return the number of events processed, with SimPy's public API only."""
    step = env.step
    processed = 0
    try:
        while until is None or not until.processed:
            step()
            processed += 1
    except simpy.core.EmptySchedule:
        if until is not None:
            raise RuntimeError(f"no events left but {until} was not triggered") from None
    return processed


def switch_cost_columns(costs: PlatformCosts) -> dict[str, float]:
    """``costs.switch.<from>_<to>_ns``: the switch the model charges in each direction (the
    columns of a Veil run, beside the ``switches.<from>_<to>`` counts)."""
    return {f"costs.switch.{src}_{dst}_ns": charges.switch(costs, a, b).switch_ns
            for a, src in enumerate(NAMES) for b, dst in enumerate(NAMES) if a != b}


SATURATED_LOAD = 1.0
"""An open-loop server is saturated when its offered load (:func:`offered_load`) reaches this: requests
arrive faster than its VCPUs can serve them, so its queue grows for as long as the run lasts and
its latency measures the run's length, not the server."""


def offered_load(system: "System") -> float:
    """An open-loop run's offered load: arrival rate x VCPU time one request held (the time the
    request VCPUs were held, a log reader's stolen work included, minus the server's set-up before
    the first arrival, per completed request) / request VCPUs. Below 1 the server keeps up; at 1 or
    more it cannot, however long the run."""
    vcpus = system.thread_vcpus
    if not system.completed or not vcpus:
        return float("nan")
    served = sum(v.held for v in vcpus) - system.oneoff_ns
    return system.workload.arrival_per_ns * served / system.completed / len(vcpus)


def run_record(system: "System") -> dict[str, float]:
    """Flatten a finished run: time, throughput, latency, whether an open-loop server was saturated
    (and its offered load), switches, time per domain and VCPU, Veil-added time by cause, one-off
    set-up time, service metrics, the resolved costs of a Veil run (``costs.*``), events."""
    ledger = system.ctx.ledger
    # Work stolen by a background thread after a VCPU's last flush is paid after the workload ends.
    elapsed = system.env.now + max((v.steal for v in system.vcpus), default=0.0)
    for vcpu in system.vcpus:
        vcpu.held += vcpu.steal
    for worker in system.worker_vcpus:  # switchless workers poll for the whole run
        worker.busy[UNT] = elapsed - worker.switching - sum(worker.busy[:UNT])
        worker.held = elapsed
    mean, p50, p99 = system.latencies.summary()
    record: dict[str, float] = {
        "sim_time_ns": elapsed,
        "completed": system.completed,
        "throughput_per_s": system.completed / elapsed * 1e9 if elapsed else 0.0,
        "latency_mean_ns": mean,
        "latency_p50_ns": p50,
        "latency_p99_ns": p99,
        "oneoff_ns": system.oneoff_ns,
        "saturated": False,
    }
    if system.workload.open_loop:
        record["offered_load"] = offered_load(system)
        record["saturated"] = bool(record["offered_load"] >= SATURATED_LOAD)
    switches = ledger.switches
    record["switches_total"] = sum(map(sum, switches))
    for a, src in enumerate(NAMES):
        for b, dst in enumerate(NAMES):
            if a != b:
                record[f"switches.{src}_{dst}"] = switches[a][b]
    totals = [0.0] * 4
    switching = idle = 0.0
    for vcpu in system.vcpus:
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
        record[f"cause.{name}_ns"] = ledger.causes[i]
    for service in system.services:
        record.update(service.metrics())
    if system.ctx.veil:
        record.update(switch_cost_columns(system.ctx.costs))
    record["events"] = system.events
    return record
