"""`veilperf workload show`: what a workload asks of the system, from its expected values.

Rates assume every thread has a CPU of its own (no contention) and a closed loop: the expected
length of a thread is the sum of its compute, kernel CPU and blocked times, and the run lasts as
long as its longest thread.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from veilperf.config.errors_map import to_config_error
from veilperf.config.workload import Distribution, Step, WorkloadSpec
from veilperf.config.yaml_file import load_yaml
from veilperf.trace.noise import NOISE_LIMIT, Spread
from veilperf.units import format_duration

if TYPE_CHECKING:
    from rich.console import Console

TOP = 10


@dataclass
class CallStats:
    calls: float = 0.0
    kernel_ns: float = 0.0
    blocked_ns: float = 0.0
    bytes_in: float = 0.0
    bytes_out: float = 0.0


@dataclass
class WorkloadSummary:
    """Expected totals of one run of the workload at its own length."""

    name: str
    body: str
    threads: int
    iterations: int | None
    wall_ns: float  # longest thread
    compute_ns: float  # summed over threads
    kernel_ns: float  # kernel CPU
    blocked_ns: float  # asleep in calls, CPU free
    by_call: dict[str, CallStats] = field(default_factory=dict)

    @property
    def calls(self) -> float:
        return sum(s.calls for s in self.by_call.values())

    @property
    def bytes_total(self) -> float:
        return sum(s.bytes_in + s.bytes_out for s in self.by_call.values())

    @property
    def compute_share(self) -> float:
        busy = self.compute_ns + self.kernel_ns
        return self.compute_ns / busy if busy > 0 else 0.0

    def per_second(self, amount: float) -> float:
        return amount / self.wall_ns * 1e9 if self.wall_ns > 0 else math.nan


def load_workload(path: str | Path) -> WorkloadSpec:
    """Read and validate a workload file (ConfigError naming the file and key path if bad)."""
    data = load_yaml(path)
    try:
        return WorkloadSpec.model_validate(data)
    except ValidationError as exc:
        raise to_config_error(exc, WorkloadSpec, data, lambda key_path: (Path(path), key_path, "")) from None


def _mean(spec: float | Distribution) -> float:
    return spec.expected if isinstance(spec, Distribution) else spec


def _add_steps(steps: list[Step], times: float,
               by_call: dict[str, CallStats]) -> tuple[float, float, float]:
    """Add ``times`` passes over ``steps`` to ``by_call``; return (compute, kernel, blocked) of one pass."""
    compute = kernel = blocked = 0.0
    for step in steps:
        if step.compute is not None:
            compute += _mean(step.compute)
        elif step.syscall is not None:
            s, stats = step.syscall, by_call[step.syscall.name]
            stats.calls += s.repeat * times
            stats.kernel_ns += s.repeat * _mean(s.kernel) * times
            stats.blocked_ns += s.repeat * _mean(s.blocked) * times
            stats.bytes_in += s.repeat * s.bytes_in * times
            stats.bytes_out += s.repeat * s.bytes_out * times
            kernel += s.repeat * _mean(s.kernel)
            blocked += s.repeat * _mean(s.blocked)
    return compute, kernel, blocked


def summarize(spec: WorkloadSpec) -> WorkloadSummary:
    """Expected compute, kernel CPU and blocked time, calls and bytes of ``spec`` (closed loop,
    own length)."""
    by_call: dict[str, CallStats] = defaultdict(CallStats)
    if spec.replay is not None:
        passes = [_add_steps(steps, 1, by_call) for steps in spec.replay]
        compute, kernel, blocked = (sum(column) for column in zip(*passes))
        return WorkloadSummary(spec.name, "replay", spec.threads, 1, max(map(sum, passes)),
                               compute, kernel, blocked, dict(by_call))
    iterations = spec.iterations or 1
    runs = iterations * spec.threads
    if spec.mix is not None:
        total_weight = sum(e.weight for e in spec.mix.calls)
        for entry in spec.mix.calls:
            share = runs * entry.weight / total_weight
            stats = by_call[entry.name]
            stats.calls += share
            stats.kernel_ns += share * _mean(entry.kernel)
            stats.blocked_ns += share * _mean(entry.blocked)
            stats.bytes_in += share * entry.bytes_in
            stats.bytes_out += share * entry.bytes_out
        compute = _mean(spec.mix.gap)
        kernel = sum(s.kernel_ns for s in by_call.values()) / runs
        blocked = sum(s.blocked_ns for s in by_call.values()) / runs
        body = "mix"
    else:
        compute, kernel, blocked = _add_steps(spec.steps, runs, by_call)
        body = "steps"
    return WorkloadSummary(spec.name, body, spec.threads, spec.iterations,
                           iterations * (compute + kernel + blocked), runs * compute, runs * kernel,
                           runs * blocked, dict(by_call))


def native_spread(spec: WorkloadSpec) -> Spread | None:
    """The native run time's median (or estimate) and range, if the provenance has one."""
    native = spec.provenance.native
    return Spread.of_native(native) if native is not None else None


def native_time_text(spec: WorkloadSpec) -> str | None:
    """The native run time with its range, in one line, for `workload show` and `run`: measured
    (median, the runs' range around it, flagged when noisy) or estimated from the trace alone."""
    native, spread = spec.provenance.native, native_spread(spec)
    if native is None:
        return None
    span = f"{format_duration(native.low)} to {format_duration(native.high)}"
    if native.source == "estimated":
        return (f"{format_duration(native.wall)} estimated from the trace alone (range {span}); "
                "record it for precision")
    runs = f"median of {native.runs} runs" if native.runs else "median"
    text = f"{format_duration(native.wall)} measured ({runs}, {span}: {spread.range_text()})"
    if spread.noisy:
        uncertainty = spread.median_uncertainty()
        known = f"; the median known to +/-{uncertainty:.0%} (95%)" if uncertainty is not None else ""
        text += f"; noisy: runs beyond +/-{NOISE_LIMIT:.0%} of the median{known}"
    return text


def provenance_lines(spec: WorkloadSpec) -> list[str]:
    """The native run time (measured or estimated, with its range) and the footprint, if known."""
    lines = []
    native = native_time_text(spec)
    if native is not None:
        lines.append(f"  native run time      {native}")
    if spec.footprint is not None:
        source = spec.provenance.footprint_source or "source not given"
        lines.append(f"  footprint            {spec.footprint / 2**20:.1f} MiB ({source})")
    return lines


def _ranked(summary: WorkloadSummary) -> list[tuple[str, CallStats]]:
    return sorted(summary.by_call.items(), key=lambda kv: (-kv[1].calls, kv[0]))


def summary_json(summary: WorkloadSummary, spec: WorkloadSpec) -> dict:
    """What `workload show --json` prints: the overview, the native time and every system call
    (means per call), in ns, bytes and per-second rates."""
    s = summary
    rate = lambda amount: s.per_second(amount) if s.wall_ns > 0 else None  # noqa: E731 (JSON has no NaN)
    spread = native_spread(spec)
    native = None
    if spread is not None:
        native = {"source": spec.provenance.native.source, "wall_ns": spread.median, "low_ns": spread.low,
                  "high_ns": spread.high, "stdev_ns": spread.stdev, "runs": spread.runs,
                  "below": spread.below, "above": spread.above, "noisy": spread.noisy,
                  "median_uncertainty": spread.median_uncertainty()}
    return {
        "name": s.name, "body": s.body, "threads": s.threads, "iterations": s.iterations,
        "expected_run_ns": s.wall_ns, "calls": s.calls, "calls_per_s": rate(s.calls),
        "bytes": s.bytes_total, "bytes_per_s": rate(s.bytes_total),
        "kernel_ns": s.kernel_ns, "blocked_ns": s.blocked_ns, "compute_ns": s.compute_ns,
        "compute_share": s.compute_share, "native": native,
        "footprint_bytes": spec.footprint, "footprint_source": spec.provenance.footprint_source,
        "syscalls": [{"name": name, "calls": c.calls, "kernel_ns": c.kernel_ns / c.calls,
                      "blocked_ns": c.blocked_ns / c.calls, "bytes_in": c.bytes_in / c.calls,
                      "bytes_out": c.bytes_out / c.calls} for name, c in _ranked(s)],
    }


def render(summary: WorkloadSummary, console: "Console", spec: WorkloadSpec | None = None) -> None:
    """Print the overview (with ``spec``'s native time and footprint) and the top system calls.
    Cells wrap rather than being cut on a narrow console."""
    from rich.table import Table  # `import` and `record` use this module's summary, not its table

    s = summary
    length = f"{s.iterations} iteration(s) per thread" if s.iterations else "1 iteration (no length set)"
    console.print(f"[bold]{s.name}[/bold]: {s.body}, {s.threads} thread(s), {length}")
    console.print(f"  expected run time    {format_duration(s.wall_ns)} (longest thread, own CPU each, "
                  "blocked included)")
    console.print(f"  system calls         {s.calls:,.0f} ({s.per_second(s.calls):,.0f}/s)")
    console.print(f"  bytes across calls   {s.bytes_total:,.0f} B ({s.per_second(s.bytes_total) / 1e6:,.2f} MB/s)")
    console.print(f"  time                 kernel CPU {format_duration(s.kernel_ns)}, blocked "
                  f"{format_duration(s.blocked_ns)}, compute {format_duration(s.compute_ns)}")
    console.print(f"  compute share        {100 * s.compute_share:.1f}% of CPU time (compute + kernel CPU)")
    for line in provenance_lines(spec) if spec is not None else []:
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    table = Table(title=f"top {TOP} system calls by count (means per call)")
    for column in ("syscall", "calls", "% calls", "kernel", "% kernel", "blocked", "in", "out"):
        table.add_column(column, justify="left" if column == "syscall" else "right", overflow="fold")
    for name, c in _ranked(s)[:TOP]:
        table.add_row(name, f"{c.calls:,.0f}", f"{100 * c.calls / s.calls:.1f}",
                      format_duration(c.kernel_ns / c.calls),
                      f"{100 * c.kernel_ns / s.kernel_ns:.1f}" if s.kernel_ns > 0 else "-",
                      format_duration(c.blocked_ns / c.calls) if c.blocked_ns > 0 else "-",
                      f"{c.bytes_in / c.calls:,.0f} B", f"{c.bytes_out / c.calls:,.0f} B")
    console.print(table)
