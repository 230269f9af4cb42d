"""Turn a parsed strace run into a workload (``veilperf.config.workload.WorkloadSpec`` shape).

``replay`` keeps each thread's exact sequence (compute gap, call, compute gap, call, ...);
``sample`` fits a ``mix``: one gap distribution and, per system-call name, a weight (its count),
kernel-time and blocked-time distributions and mean bytes in/out. A memory-management call
(mmap, munmap, mprotect, brk, mremap, madvise) carries the pages it maps, unmaps or changes
(``pages``, a mix call the mean; :mod:`veilperf.trace.footprint`). Both are built from the
strace-corrected timelines (:mod:`veilperf.trace.correction`), the time of calls that can block
split into kernel CPU and blocked (:mod:`veilperf.trace.blocking`), so the expected total time of
either equals the traced span minus the correction.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import ValidationError

from veilperf.config.workload import WorkloadSpec
from veilperf.errors import ConfigError
from veilperf.services.syscall_classes import MM_CALLS
from veilperf.trace.blind import NativeEstimate, estimate_native
from veilperf.trace.blocking import BLOCKING_CODES, CPU_QUANTILE, CpuEstimate, split_blocking
from veilperf.trace.correction import (Correction, Timeline, corrected_timeline, estimate, fsum_all, joined,
                                       lanes)
from veilperf.trace.events import CALL_NAMES, ParsedTrace, SummaryTable
from veilperf.trace.fit import MAX_GAP_SAMPLES, MAX_KERNEL_SAMPLES, fmt_bytes, fmt_ns, time_spec
from veilperf.trace.reader import expand_folders, read_trace, sha256_of
from veilperf.trace.show import summarize
from veilperf.trace.strace_parser import TraceError
from veilperf.trace.syscall_bytes import VDSO_NOTE
from veilperf.trace.yaml_out import Flow, FlowList

MIN_LANE_SHARE = 0.01
"""Lanes with fewer calls than this share of the trace are idle helpers (e.g. Redis's bio threads,
blocked in futex for the whole run) and are left out: simulated, their waiting would stretch the run."""


@dataclass(frozen=True)
class ImportOptions:
    """What the user tells the importer beyond the trace itself."""

    mode: Literal["replay", "sample"] = "sample"
    name: str | None = None
    description: str | None = None
    command: str | None = None
    machine: str | None = None
    date: str | None = None
    input: str | None = None
    wall_time_ns: float | None = None  # untraced wall time of the same run
    overhead_ns: float | None = None  # or: total strace overhead measured another way
    user_ns: float | None = None  # untraced user CPU time: the compute total
    length: int | None = None  # sample mode: iterations per thread
    coalesce: bool = False  # replay mode: merge runs of identical calls with `repeat`
    native: dict | None = None  # provenance.native of a measured run (from `workload record`)
    footprint: str | None = None  # and its footprint (a Size string) ...
    footprint_source: str | None = None  # ... and how it was obtained
    kernel: str | None = None  # uname -r, for provenance
    tracer: str | None = None  # strace version, for provenance


@dataclass
class ImportResult:
    """The imported workload and an account of how it was made."""

    workload: dict  # validated; ready for yaml_out.dump
    warnings: list[str]
    expected_total_ns: float  # sum over threads of the workload's expected time
    traced_span_ns: float
    correction_ns: float  # total strace overhead removed
    expected_run_ns: float  # its longest thread's expected time: what `workload show` prints
    blind: NativeEstimate | None = None  # the untraced time estimated from the trace alone
    trace_files: tuple[str, ...] = ()  # the files read, as given (provenance.trace joins them)


def import_trace(paths: list[str | Path], options: ImportOptions) -> ImportResult:
    """Read ``paths`` (one trace run, or one ``strace -c`` table) and build the workload."""
    paths = expand_folders(paths)
    parsed = read_trace(paths)
    blind, native, footprint, footprint_source = None, options.native, options.footprint, options.footprint_source
    if isinstance(parsed, SummaryTable):
        body, notes, expected = _from_summary(parsed, options)
        span, removed, overhead = expected, 0.0, 0.0
    else:
        body, notes, expected, removed, overhead, blind = _from_trace(parsed, options)
        span = parsed.span_ns
        if blind is not None:
            native = {"source": "estimated", "wall": fmt_ns(blind.wall_ns), "low": fmt_ns(blind.low_ns),
                      "high": fmt_ns(blind.high_ns), "user": None, "sys": None, "runs": None,
                      "peak_rss": None}
        if footprint is None:
            size, footprint_source = parsed.memory.footprint()
            footprint = f"{size}B" if size > 0 else None
            footprint_source = footprint_source if size > 0 else None
    files = [str(p) for p in paths]
    provenance = {
        "source": "trace",
        "command": options.command,
        "machine": options.machine,
        "date": options.date or _mtime_date(paths[0]),
        "input": options.input,
        "trace": " ".join(files),
        "sha256": sha256_of(paths),
        "strace_overhead_per_call": fmt_ns(overhead),
        "kernel": options.kernel,
        "tracer": options.tracer,
        "native": native,
        "footprint_source": footprint_source,
        "notes": "\n".join(notes),
    }
    name = options.name or Path(files[0]).name.split(".")[0]
    workload = {
        "name": name,
        "description": options.description or f"Imported from {' '.join(files)} ({options.mode} mode)",
        "provenance": {k: v for k, v in provenance.items() if v is not None},
        **({"footprint": footprint} if footprint else {}),
        **body,
    }
    try:
        spec = WorkloadSpec.model_validate(workload)
    except ValidationError as exc:  # a bug here, but say where rather than write a bad file
        first = exc.errors()[0]
        raise ConfigError(files[0], ".".join(map(str, first["loc"])),
                          f"imported workload is invalid: {first['msg']}") from None
    return ImportResult(workload, parsed.warnings, expected, span, removed, summarize(spec).wall_ns, blind,
                        tuple(files))


def _mtime_date(path: str | Path) -> str:
    stamp = Path(path).stat().st_mtime
    return dt.datetime.fromtimestamp(stamp, dt.timezone.utc).date().isoformat()


def _from_trace(trace: ParsedTrace, options: ImportOptions):
    folded = lanes(trace)
    kept = [lane for lane in folded if len(lane) >= MIN_LANE_SHARE * trace.call_count]
    wall, label, blind = options.wall_time_ns, "untraced wall time", None
    if wall is None and options.overhead_ns is None:
        blind = estimate_native(kept, trace.span_ns)
        wall, label = blind.wall_ns, "estimated untraced time"
    correction, notes = estimate(trace, wall, options.overhead_ns, kept, options.user_ns, label)
    if blind is not None:
        notes.insert(0, blind.note)
    timelines, estimates = split_blocking([corrected_timeline(lane, correction) for lane in kept])
    notes = _describe(trace, len(folded), timelines, correction, estimates) + notes
    if len(kept) < len(folded):
        dropped = [lane for lane in folded if len(lane) < MIN_LANE_SHARE * trace.call_count]
        waiting = fsum_all(lane.kernel[np.isin(lane.name, BLOCKING_CODES)] for lane in dropped)
        notes.append(f"{len(dropped)} lanes with under {MIN_LANE_SHARE:.0%} of the calls each dropped "
                     f"(idle helper threads: {sum(map(len, dropped))} calls, {waiting / 1e9:.3f} s "
                     "in calls that can block)")
    if options.mode == "replay":
        body = {"threads": len(timelines), "loop": "closed",
                "replay": [_replay_steps(t, options.coalesce) for t in timelines]}
        expected = sum(t.total_ns for t in timelines)
    else:
        body, expected = _sample_mix(timelines, options.length)
    return body, notes, expected, correction.total_ns, correction.per_call_ns, blind


def _describe(trace: ParsedTrace, lane_count: int, timelines: list[Timeline],
              correction: Correction, estimates: dict[str, CpuEstimate]) -> list[str]:
    failed = sum(int(np.count_nonzero(t.table.failed)) for t in timelines)
    notes = [
        f"{trace.call_count} system calls in {len(trace.calls)} threads/processes over a traced span "
        f"of {trace.span_ns / 1e9:.6f} s; {failed} failed calls kept (their kernel time counts)",
        f"threads whose lifetimes do not overlap share a lane: {len(trace.calls)} threads -> "
        f"{lane_count} lanes (idle time between threads of a lane is not simulated)",
        *_split_notes(timelines, estimates),
        VDSO_NOTE,
        f"strace overhead per call {correction.per_call_ns:.0f} ns, estimated by {correction.method}",
    ]
    if trace.signals:
        notes.append("signals: " + ", ".join(f"{k} x{v}" for k, v in sorted(trace.signals.items())))
    if trace.warnings:
        notes.append(f"{len(trace.warnings)} trace warnings (lines skipped); first: {trace.warnings[0]}")
    return notes


def _split_notes(timelines: list[Timeline], estimates: dict[str, CpuEstimate]) -> list[str]:
    """How the corrected kernel time was split into kernel CPU and blocked."""
    kernel = fsum_all(t.kernel for t in timelines)
    blocked = fsum_all(t.blocked for t in timelines)
    blocking_rows = [np.isin(t.table.name, BLOCKING_CODES) for t in timelines]
    blocking = fsum_all([*(t.kernel[rows] for t, rows in zip(timelines, blocking_rows)),
                         *(t.blocked[rows] for t, rows in zip(timelines, blocking_rows))])
    notes = [f"corrected kernel time {(kernel + blocked) / 1e9:.6f} s, of which {blocking / 1e9:.6f} s "
             "in calls that can block (wait4, poll, epoll_wait, futex, accept, ...); split into kernel "
             f"CPU {kernel / 1e9:.6f} s and blocked (asleep, VCPU free) {blocked / 1e9:.6f} s "
             f"({100 * blocked / (kernel + blocked) if blocked > 0 else 0:.1f}% of it)"]
    if estimates:
        kept = ", ".join(f"{name} {fmt_ns(e.cpu_ns)}" + (f" (capped; its own {fmt_ns(e.quantile_ns)} "
                                                        "is waiting too)" if e.capped else "")
                         + f" x{e.calls}" for name, e in estimates.items())
        notes.append(f"a blocking call keeps as kernel CPU its name's non-blocking cost, the rest is "
                     f"blocked: the {CPU_QUANTILE:.0%} quantile of the name's corrected times (the "
                     "fastest calls are those that found their event ready; not the minimum, which "
                     "-T's 1 us resolution makes 0 or noise), at most the median non-blocking call, "
                     f"at most the call's own time: {kept}")
    return notes


def _bytes_fields(b_in: float, b_out: float) -> dict:
    fields = {}
    if b_in > 0:
        fields["bytes_in"] = fmt_bytes(b_in)
    if b_out > 0:
        fields["bytes_out"] = fmt_bytes(b_out)
    return fields


def _syscall(name: str, kernel: float, blocked: float, b_in: float, b_out: float, pages: float,
             repeat: int = 1) -> Flow:
    entry = Flow(name=name, kernel=fmt_ns(kernel), **_blocked_field(blocked), **_bytes_fields(b_in, b_out),
                 **_pages_field(name, pages))
    if repeat > 1:
        entry["repeat"] = repeat
    return entry


def _pages_field(name: str, pages: float) -> dict:
    """``{"pages": ...}`` for a memory-management call (0 included: it is known), else nothing."""
    if name not in MM_CALLS:
        return {}
    return {"pages": int(pages) if float(pages).is_integer() else float(f"{pages:.6g}")}


def _blocked_field(blocked: float | str | dict) -> dict:
    """``{"blocked": ...}``, or nothing when it is zero (the schema's default)."""
    if isinstance(blocked, float):
        blocked = fmt_ns(blocked)
    return {} if blocked == "0ns" else {"blocked": _compact(blocked)}


def _compact(spec: str | dict) -> str | Flow:
    """An empirical distribution written on one line."""
    if isinstance(spec, dict):
        return Flow(dist=spec["dist"], samples=FlowList(spec["samples"]))
    return spec


def _replay_steps(timeline: Timeline, coalesce: bool) -> list[dict]:
    """Exact steps; with ``coalesce``, a run of calls with equal name, bytes and pages becomes one
    step with ``repeat`` and their mean kernel and blocked times, followed by the run's inner gaps
    as one compute."""
    steps: list[dict] = []
    names, gaps = timeline.table.names(), timeline.gap.tolist()
    kernels, blockeds = timeline.kernel.tolist(), timeline.blocked.tolist()
    b_ins, b_outs = timeline.table.bytes_in.tolist(), timeline.table.bytes_out.tolist()
    pages = timeline.table.pages.tolist()
    i = 0
    while i < len(names):
        j = i + 1
        if coalesce:
            while j < len(names) and (names[j], b_ins[j], b_outs[j], pages[j]) == \
                    (names[i], b_ins[i], b_outs[i], pages[i]):
                j += 1
        if gaps[i] > 0:
            steps.append({"compute": fmt_ns(gaps[i])})
        kernel = math.fsum(kernels[i:j]) / (j - i)
        blocked = math.fsum(blockeds[i:j]) / (j - i)
        steps.append({"syscall": _syscall(names[i], kernel, blocked, b_ins[i], b_outs[i], pages[i], j - i)})
        inner = math.fsum(gaps[i + 1:j])
        if inner > 0:
            steps.append({"compute": fmt_ns(inner)})
        i = j
    return steps


def _sample_mix(timelines: list[Timeline], length: int | None) -> tuple[dict, float]:
    names = joined([t.table.name for t in timelines])
    kernel = joined([t.kernel for t in timelines])
    blocked = joined([t.blocked for t in timelines])
    counts = np.bincount(names, minlength=len(CALL_NAMES))
    entries = []
    for code in sorted(np.flatnonzero(counts).tolist(), key=lambda c: (-counts[c], CALL_NAMES[c])):
        rows = names == code
        kernel_spec = time_spec(kernel[rows], MAX_KERNEL_SAMPLES)
        blocked_spec = time_spec(blocked[rows], MAX_KERNEL_SAMPLES)
        b_in = fsum_all(t.table.bytes_in[t.table.name == code] for t in timelines) / counts[code]
        b_out = fsum_all(t.table.bytes_out[t.table.name == code] for t in timelines) / counts[code]
        pages = fsum_all(t.table.pages[t.table.name == code] for t in timelines) / counts[code]
        entries.append(Flow(name=CALL_NAMES[code], weight=int(counts[code]), kernel=_compact(kernel_spec),
                            **_blocked_field(blocked_spec), **_bytes_fields(b_in, b_out),
                            **_pages_field(CALL_NAMES[code], pages)))
    calls = len(names)
    del names
    gap = time_spec(joined([t.gap for t in timelines]), MAX_GAP_SAMPLES)
    if isinstance(gap, dict):
        gap["samples"] = FlowList(gap["samples"])
    threads = len(timelines)
    iterations = length or max(1, round(calls / threads))
    per_call = fsum_all([*(t.gap for t in timelines), kernel, blocked]) / calls
    body = {"threads": threads, "loop": "closed", "iterations": iterations,
            "mix": {"gap": gap, "calls": entries}}
    return body, per_call * iterations * threads


def _from_summary(table: SummaryTable, options: ImportOptions):
    if options.mode != "sample":
        raise TraceError(table.file, None, "an strace -c table has no call sequence; use --mode sample")
    if options.wall_time_ns is None:
        raise TraceError(table.file, None, "an strace -c table has no time between calls; give "
                         "--wall-time (the untraced run's wall time)")
    calls = table.total_calls
    kernel = table.total_seconds * 1e9
    gap = max(0.0, (options.wall_time_ns - kernel) / calls)
    entries = [Flow(name=r.name, weight=r.calls, kernel=fmt_ns(r.seconds * 1e9 / r.calls))
               for r in sorted(table.rows, key=lambda r: (-r.calls, r.name))]
    notes = [
        f"from an strace -c table: {calls} calls, {kernel / 1e9:.6f} s kernel (system CPU) time; "
        f"the gap is the untraced wall time minus kernel time spread evenly over calls ({fmt_ns(gap)})",
        "no sequence, threads, bytes or per-call distributions in a -c table: one thread, fixed "
        "kernel time per call name, no bytes; strace -c times exclude tracer overhead, none removed",
        VDSO_NOTE,
    ] + table.warnings
    iterations = options.length or calls
    body = {"threads": 1, "loop": "closed", "iterations": iterations,
            "mix": {"gap": fmt_ns(gap), "calls": entries}}
    return body, notes, iterations * (gap + kernel / calls)
