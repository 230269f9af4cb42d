"""Sane bounds on what one point and one sweep may ask for, each refused with its reason.

The schema accepts any positive number; these checks stop values that would hang or exhaust the
machine before anything runs: hard limits (a guest cannot have them, or a float clock cannot
represent them), and two budgets that ``--force-large`` lifts (simulated operations per point,
points per sweep). Budgets are estimates from the workload's expected iteration cost and the run
length, taken before the simulation or the expansion starts.
"""

from __future__ import annotations

import math
from typing import Callable

from veilperf.config.run_config import RunConfig
from veilperf.config.workload import Distribution, Step, WorkloadSpec
from veilperf.errors import ConfigError

__all__ = ["MAX_VCPUS", "MAX_THREADS", "MAX_ITERATIONS", "MAX_DURATION_NS", "MAX_MEMORY", "OPS_BUDGET",
           "MAX_POINTS", "check_point", "estimate_points", "check_sweep_size", "iteration_cost_ns",
           "estimate_ops"]

MAX_VCPUS = 1024
"""KVM's maximum VCPUs per guest on x86-64 (KVM_MAX_VCPUS); no SNP guest can have more."""
MAX_THREADS = 10_000
"""Each simulated thread is a SimPy process with its own random streams."""
MAX_ITERATIONS = 10**10
"""Per thread; at the simulator's few million operations per second, days of wall time."""
MAX_DURATION_NS = 86_400e9
"""One simulated day: longer runs only repeat the steady state, and float64 ns lose sub-ns steps."""
MAX_MEMORY = 2.0**52
"""4 PiB: the 52-bit physical address space of x86-64."""
OPS_BUDGET = 10**8
"""Simulated operations per point (steps, syscall repeats): about a minute or more of simulation
at 1-4 million operations per second (benchmarks/README.md). ``--force-large`` lifts it."""
MAX_POINTS = 100_000
"""Points per experiment: each is expanded, validated and held in memory before any runs.
``--force-large`` lifts it."""

Locate = Callable[[str], tuple[object, str, str]]
"""Point key path -> (file, key path in it, note), as ``Experiment._origin`` gives."""

LIFT = "pass --force-large to run it anyway"


def _fail(locate: Locate, key_path: str, message: str) -> ConfigError:
    file, inner, note = locate(key_path)
    return ConfigError(file, inner, message + note)


def _expected(spec: float | Distribution | None) -> float:
    if spec is None:
        return 0.0
    return spec.expected if isinstance(spec, Distribution) else float(spec)


def _step_cost(step: Step) -> tuple[float, float, int]:
    """(expected ns on a CPU, expected ns blocked, operations) of one step's own work."""
    if step.compute is not None:
        return _expected(step.compute), 0.0, 1
    if step.syscall is not None:
        call = step.syscall
        return call.repeat * _expected(call.kernel), call.repeat * _expected(call.blocked), call.repeat
    if step.call is not None:
        return _expected(step.call.handler), 0.0, 1
    return 0.0, 0.0, 1  # kci: its cost is Veil's, not the workload's own


def iteration_cost_ns(workload: WorkloadSpec) -> tuple[float, float, int]:
    """(expected CPU ns, expected blocked ns, operations) of one iteration of one thread, from the
    workload's own times (no Veil costs: the plain-CVM baseline pays only these). A replay
    averages its threads."""
    if workload.mix is not None:
        mix = workload.mix
        total = sum(entry.weight for entry in mix.calls)
        kernel = sum(entry.weight * _expected(entry.kernel) for entry in mix.calls) / total
        blocked = sum(entry.weight * _expected(entry.blocked) for entry in mix.calls) / total
        return _expected(mix.gap) + kernel, blocked, 2
    lanes = workload.replay if workload.replay is not None else [workload.steps or []]
    costs = [[_step_cost(step) for step in lane] for lane in lanes]
    n = max(1, len(costs))
    return (sum(c[0] for lane in costs for c in lane) / n, sum(c[1] for lane in costs for c in lane) / n,
            max(1, round(sum(c[2] for lane in costs for c in lane) / n)))


def run_length(cfg: RunConfig) -> tuple[str, float | None, str, float | None]:
    """(key path, iterations or None, key path, duration ns or None) as the model takes them:
    the run section when it sets a length, else the workload's own."""
    run, wl = cfg.run, cfg.workload
    if run.iterations is not None or run.duration is not None:
        return "run.iterations", run.iterations, "run.duration", run.duration
    iterations = wl.iterations if wl.iterations is not None or wl.duration is not None or wl.replay is None else 1
    return "workload.iterations", iterations, "workload.duration", wl.duration


def estimate_ops(cfg: RunConfig) -> float:
    """Expected simulated operations of a workload point (inf when a duration-limited closed loop
    has iterations of zero cost)."""
    wl = cfg.workload
    cpu, blocked, ops = iteration_cost_ns(wl)
    _, iterations, _, duration = run_length(cfg)
    if wl.loop == "open":
        requests = iterations if iterations is not None else (duration or 0.0) * wl.arrival_rate / 1e9
        return requests * wl.iterations_per_request * ops
    if iterations is not None:
        return iterations * wl.threads * ops
    if duration is None:
        return 0.0
    if cpu + blocked <= 0:
        return math.inf
    per_thread = duration / (cpu + blocked)
    cpu_bound = cfg.setup.vcpus * duration / cpu if cpu > 0 else math.inf
    return min(wl.threads * per_thread, cpu_bound) * ops


def check_point(cfg: RunConfig, locate: Locate, *, force_large: bool = False) -> None:
    """Raise ConfigError (file and key from ``locate``) for the first value out of bounds."""
    if cfg.setup.vcpus > MAX_VCPUS:
        raise _fail(locate, "setup.vcpus", f"{cfg.setup.vcpus:,} VCPUs is more than {MAX_VCPUS:,}, KVM's "
                                           "maximum per guest on x86-64 (KVM_MAX_VCPUS)")
    if cfg.setup.sched_quantum <= 0:
        raise _fail(locate, "setup.sched_quantum", "a time slice of 0 never lets a thread make progress")
    if cfg.boot is not None and cfg.boot.memory > MAX_MEMORY:
        raise _fail(locate, "boot.memory", "more memory than the 52-bit physical address space of x86-64 (4 PiB)")
    if cfg.workload is None:
        return
    wl = cfg.workload
    if wl.threads > MAX_THREADS:
        raise _fail(locate, "workload.threads", f"{wl.threads:,} threads is more than {MAX_THREADS:,}: each "
                                                "simulated thread is a process of its own in the simulator")
    iterations_key, iterations, duration_key, duration = run_length(cfg)
    for key, value in (("run.iterations", cfg.run.iterations), ("workload.iterations", wl.iterations)):
        if value is not None and value > MAX_ITERATIONS:
            raise _fail(locate, key, f"{value:,} iterations is more than {MAX_ITERATIONS:.0e} per thread: "
                                     "days of simulation at a few million operations per second")
    for key, value in (("run.duration", cfg.run.duration), ("workload.duration", wl.duration)):
        if value is not None and value <= 0:
            raise _fail(locate, key, "a run of zero simulated time simulates nothing: give a positive duration")
        if value is not None and value > MAX_DURATION_NS:
            shown = "an unbounded time" if math.isinf(value) else f"{value / 1e9:.3g} s"
            raise _fail(locate, key, f"{shown} simulated is more than one day: longer runs only "
                                     "repeat the steady state, and float64 nanoseconds lose sub-ns steps")
    cpu, blocked, _ = iteration_cost_ns(wl)
    if wl.loop == "closed" and iterations is None and duration is not None and cpu + blocked <= 0:
        body = "steps" if wl.steps is not None else "mix" if wl.mix is not None else "replay"
        raise _fail(locate, f"workload.{body}", "an iteration costs 0 ns (every compute, kernel, blocked and "
                                                f"handler time is 0), so a run limited by {duration_key} would "
                                                f"never end: give times above 0 or {iterations_key}")
    ops = estimate_ops(cfg)
    if ops > OPS_BUDGET and not force_large:
        key = iterations_key if iterations is not None else duration_key
        raise _fail(locate, key, f"about {ops:.2g} simulated operations in one point, more than the budget of "
                                 f"{OPS_BUDGET:.0e} (a minute or more of simulation per point, memory growing with "
                                 f"it): shorten the run, or {LIFT}")


def estimate_points(exp) -> int:
    """Points of experiment ``exp`` (an ``Experiment``) before expanding it: workloads x grid x zip
    x replications, doubled when paired with a baseline (an upper bound: identical baselines merge)."""
    sizes = [len(values) for values in exp.grid.values()]
    sizes += [len(next(iter(group.values()))) for group in exp.zip]
    paired = 2 if exp.baseline else 1
    return max(1, len(exp.workloads)) * math.prod(sizes) * exp.replications * paired


def check_sweep_size(exp, *, force_large: bool = False) -> int:
    """The estimated point count; ConfigError naming the sweep when it is above :data:`MAX_POINTS`."""
    points = estimate_points(exp)
    if points > MAX_POINTS and not force_large:
        raise ConfigError(exp.file, "sweep", f"about {points:,} points (workloads x axis values x replications x "
                                             f"baseline) is more than {MAX_POINTS:,}: every point is expanded and "
                                             f"validated before any runs; narrow the sweep, or {LIFT}")
    return points
