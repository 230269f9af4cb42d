"""`veilperf workload record`: run a command natively and under strace, and make it a workload.

The command runs natively ``runs`` times (the first a discarded warm-up: cold page cache, first
page faults); each run's wall time (``perf_counter``), user and system CPU time and peak RSS come
from ``os.wait4`` of the command, which covers the whole process tree (the kernel folds reaped
children into their parent; the peak RSS is the largest single process's). The kept runs give
medians and min/max. Then the command runs once under ``strace -f -tt -T``, and the trace is
imported with the measured median wall time (and user time for runs of 0.1 s or more, below which
``getrusage``'s tick-sampled user/system split is too coarse) anchoring the overhead correction
(:mod:`veilperf.trace.correction`).
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from veilperf.errors import VeilperfError
from veilperf.trace.fit import fmt_ns
from veilperf.trace.importer import ImportOptions, ImportResult, import_trace

STRACE_FLAGS = ("-f", "-tt", "-T")
"""Follow children and threads, wall-clock stamps with microseconds, time spent in each call."""
USER_TIME_MIN_NS = 0.1e9
"""Below this run time the user/system split of getrusage (sampled at timer ticks) is not used."""


@dataclass(frozen=True)
class NativeRun:
    """One untraced run of the command."""

    wall_ns: float
    user_ns: float
    sys_ns: float
    peak_rss_kib: int


@dataclass(frozen=True)
class NativeStats:
    """The kept runs (warm-up excluded) and their medians."""

    runs: list[NativeRun]

    def median(self, field: str) -> float:
        return statistics.median(getattr(r, field) for r in self.runs)

    def provenance(self) -> dict:
        """``provenance.native`` of the contract (source ``measured``)."""
        walls = [r.wall_ns for r in self.runs]
        return {"source": "measured", "wall": fmt_ns(self.median("wall_ns")), "low": fmt_ns(min(walls)),
                "high": fmt_ns(max(walls)), "user": fmt_ns(self.median("user_ns")),
                "sys": fmt_ns(self.median("sys_ns")), "runs": len(self.runs),
                "peak_rss": f"{round(self.median('peak_rss_kib'))}KiB"}


Progress = Callable[[str], None]


def _stderr(message: str) -> None:
    print(f"veilperf: {message}", file=sys.stderr, flush=True)


def find_strace() -> str:
    """The strace executable, or one line saying how to install it."""
    path = shutil.which("strace")
    if path is None:
        raise VeilperfError("strace not found on PATH: install it (e.g. `apt-get install strace` or "
                            "`dnf install strace`) to record a workload")
    return path


def _run(command: list[str], stdout_to: int | None = subprocess.DEVNULL) -> tuple[float, int, os.wait4]:
    """Run ``command`` to its end: (wall ns, exit status, rusage); stderr kept for a failure."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=stdout_to, stderr=err)
        except OSError as exc:
            raise VeilperfError(f"cannot run {command[0]!r}: {exc.strerror}; nothing written") from None
        _, status, usage = os.wait4(proc.pid, 0)
        wall = (time.perf_counter() - start) * 1e9
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            lines = err.read().decode(errors="replace").strip().splitlines()
            last = f" (its last message: {lines[-1][:120]!r})" if lines else ""
            how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
            raise VeilperfError(f"`{shlex.join(command)}` {how}{last}; nothing written")
    return wall, code, usage


def run_native(command: list[str], runs: int, progress: Progress = _stderr) -> NativeStats:
    """Run ``command`` ``runs`` times untraced; the first is a warm-up and is not kept."""
    kept = []
    for i in range(runs):
        wall, _, usage = _run(command)
        run = NativeRun(wall, usage.ru_utime * 1e9, usage.ru_stime * 1e9, usage.ru_maxrss)
        label = "warm-up, not kept" if i == 0 else "kept"
        progress(f"native run {i + 1}/{runs} ({label}): {wall / 1e9:.4f} s wall, user "
                 f"{run.user_ns / 1e9:.4f} s, sys {run.sys_ns / 1e9:.4f} s, peak RSS {run.peak_rss_kib} KiB")
        if i > 0:
            kept.append(run)
    return NativeStats(kept)


def run_traced(strace: str, command: list[str], trace_path: Path, progress: Progress = _stderr) -> float:
    """Run ``command`` once under strace, writing ``trace_path``; its wall time (ns)."""
    progress(f"traced run: strace {' '.join(STRACE_FLAGS)} -o {trace_path.name} -- {shlex.join(command)}")
    wall, _, _ = _run([strace, *STRACE_FLAGS, "-o", str(trace_path), "--", *command])
    progress(f"traced run: {wall / 1e9:.4f} s wall")
    return wall


def strace_version(strace: str) -> str:
    """First line of ``strace -V`` (e.g. ``strace -- version 6.1``)."""
    out = subprocess.run([strace, "-V"], capture_output=True, text=True, check=False).stdout
    return out.splitlines()[0].strip() if out else "strace (version unknown)"


def machine_description() -> str:
    """CPUs, CPU model and operating system of this machine."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = platform.system()
    try:
        os_release = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines()
                          if "=" in line)
        system = os_release.get("PRETTY_NAME", system).strip('"')
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs, {model} ({platform.machine()}), {system}"


@dataclass(frozen=True)
class Recording:
    """What `record` produced: the import, and the compressed trace to store beside the workload."""

    result: ImportResult
    trace_gz: bytes
    native: NativeStats
    traced_wall_ns: float


def record(command: list[str], runs: int, name: str, trace_ref: str, mode: str = "sample",
           description: str | None = None, input_text: str | None = None,
           progress: Progress = _stderr) -> Recording:
    """Measure ``command`` natively, trace it, and import the trace anchored to the measurement.

    ``trace_ref`` is where the compressed trace will be stored (written into the provenance); the
    caller writes both files."""
    strace = find_strace()
    native = run_native(command, runs, progress)
    wall, user = native.median("wall_ns"), native.median("user_ns")
    with tempfile.TemporaryDirectory(prefix="veilperf-record-") as tmp:
        raw = Path(tmp) / f"{name}.strace"
        traced_wall = run_traced(strace, command, raw, progress)
        trace_gz = gzip.compress(raw.read_bytes(), compresslevel=9, mtime=0)
        packed = Path(tmp) / f"{name}.strace.gz"
        packed.write_bytes(trace_gz)
        now = dt.datetime.now(dt.timezone.utc)
        load = os.getloadavg()[0]
        options = ImportOptions(
            mode=mode, name=name, command=shlex.join(command), machine=machine_description(),
            date=now.isoformat(timespec="seconds"), input=input_text,
            description=description or f"`{shlex.join(command)}`, recorded by veilperf workload record",
            wall_time_ns=wall, user_ns=user if wall >= USER_TIME_MIN_NS else None,
            native=native.provenance(), footprint=f"{round(native.median('peak_rss_kib'))}KiB",
            footprint_source=f"peak RSS of the process tree (largest process, ru_maxrss from wait4), "
                             f"median of {len(native.runs)} runs",
            kernel=platform.release(), tracer=strace_version(strace))
        result = import_trace([packed], options)
    prov = result.workload["provenance"]
    prov["trace"] = trace_ref
    walls = [r.wall_ns for r in native.runs]
    prov["notes"] = (f"recorded: {runs} native runs, the first a warm-up; kept wall times "
                     f"{', '.join(f'{w / 1e9:.4f}' for w in walls)} s (median {wall / 1e9:.4f} s, spread "
                     f"{(max(walls) - min(walls)) / wall:.1%}); traced run {traced_wall / 1e9:.4f} s; "
                     f"load average {load:.2f} on {os.cpu_count()} CPUs\n" + prov.get("notes", ""))
    return Recording(result, trace_gz, native, traced_wall)
