"""`veilperf workload record`: run a command natively and under strace, and make it a workload.

The command runs natively ``runs`` times (the first a discarded warm-up: cold page cache, first
page faults); each run's wall time (``perf_counter``), user and system CPU time and peak RSS come
from ``os.wait4`` of the command, which covers the whole process tree (the kernel folds reaped
children into their parent; the peak RSS is the largest single process's). The kept runs give
medians and min/max.

The command is started by a small launcher (``python -I -S``, see ``_LAUNCHER``) that forks it,
times it and reports its ``wait4`` figures: Linux counts a process's memory from before its
``exec`` in its peak RSS, so a command forked straight from veilperf would report veilperf's own
size. The launcher's share (a few MiB, measured by launching ``true``) is the floor of the figure
and is stated in the footprint's source. Then the command runs once under ``strace -f -tt -T``, and the trace is
imported with the measured median wall time anchoring the overhead correction
(:mod:`veilperf.trace.correction`), and the median user time setting the compute total when it is
meaningful: for runs of 0.1 s or more (below, ``getrusage``'s tick-sampled user/system split is too
coarse) whose CPU time is most of the wall time (on a busy machine the rest is waiting for a CPU,
which the trace cannot place: the trace's own split of compute and kernel time is kept).
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from veilperf.errors import VeilperfError
from veilperf.trace.fit import fmt_ns
from veilperf.trace.importer import ImportOptions, ImportResult, import_trace
from veilperf.trace.noise import Spread, noise_warning

STRACE_FLAGS = ("-f", "-tt", "-T")
"""Follow children and threads, wall-clock stamps with microseconds, time spent in each call."""
USER_TIME_MIN_NS = 0.1e9
"""Below this run time the user/system split of getrusage (sampled at timer ticks) is not used."""
CPU_SHARE_MIN = 0.8
"""Nor when user + system time is below this share of the wall time (the run waited for a CPU)."""


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

    @property
    def spread(self) -> Spread:
        """How the kept runs' wall times spread around their median."""
        return Spread.of([r.wall_ns for r in self.runs])

    def provenance(self) -> dict:
        """``provenance.native`` of the contract (source ``measured``)."""
        spread = self.spread
        stdev = {} if spread.stdev is None else {"stdev": fmt_ns(spread.stdev)}
        return {"source": "measured", "wall": fmt_ns(spread.median), "low": fmt_ns(spread.low),
                "high": fmt_ns(spread.high), **stdev, "user": fmt_ns(self.median("user_ns")),
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


_LAUNCHER = """
import os, sys, time
fd = int(sys.argv[1])
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    except OSError as exc:
        os.write(fd, f"exec {exc.strerror}\\n".encode())
    os._exit(127)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - start
os.write(fd, f"done {os.waitstatus_to_exitcode(status)} {wall!r} {ru.ru_utime!r} {ru.ru_stime!r} {ru.ru_maxrss}\\n".encode())
"""
"""Fork the command, wait for it, write its exit status, wall, user and system seconds and peak RSS
(KiB) to the file descriptor named by the first argument."""


def _run(command: list[str]) -> NativeRun:
    """Run ``command`` to its end through the launcher; a failure is one line (stderr's last)."""
    read_fd, write_fd = os.pipe()
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", _LAUNCHER, str(write_fd), *command],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                    pass_fds=(write_fd,))
        finally:
            os.close(write_fd)
        with os.fdopen(read_fd, "rb") as pipe:
            lines = pipe.read().decode().splitlines()
        proc.wait()
        if lines and lines[0].startswith("exec "):
            raise VeilperfError(f"cannot run {command[0]!r}: {lines[0][5:]}; nothing written")
        report = lines[-1].split() if lines else []
        if report[:1] != ["done"]:
            raise VeilperfError(f"the launcher of `{shlex.join(command)}` failed (status "
                                f"{proc.returncode}); nothing written")
        code = int(report[1])
        if code != 0:
            err.seek(0)
            lines = err.read().decode(errors="replace").strip().splitlines()
            last = f" (its last message: {lines[-1][:120]!r})" if lines else ""
            how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
            raise VeilperfError(f"`{shlex.join(command)}` {how}{last}; nothing written")
    wall, user, system = (float(x) * 1e9 for x in report[2:5])
    return NativeRun(wall, user, system, int(report[5]))


def launcher_floor_kib() -> int:
    """Peak RSS the launcher alone gives a command (that of ``true``): smaller programs read as this."""
    return _run(["true"]).peak_rss_kib


def run_native(command: list[str], runs: int, progress: Progress = _stderr) -> NativeStats:
    """Run ``command`` ``runs`` times untraced; the first is a warm-up and is not kept."""
    kept = []
    for i in range(runs):
        run = _run(command)
        label = "warm-up, not kept" if i == 0 else "kept"
        progress(f"native run {i + 1}/{runs} ({label}): {run.wall_ns / 1e9:.4f} s wall, user "
                 f"{run.user_ns / 1e9:.4f} s, sys {run.sys_ns / 1e9:.4f} s, peak RSS {run.peak_rss_kib} KiB")
        if i > 0:
            kept.append(run)
    return NativeStats(kept)


def run_traced(strace: str, command: list[str], trace_path: Path, progress: Progress = _stderr) -> float:
    """Run ``command`` once under strace, writing ``trace_path``; its wall time (ns)."""
    progress(f"traced run: strace {' '.join(STRACE_FLAGS)} -o {trace_path.name} -- {shlex.join(command)}")
    wall = _run([strace, *STRACE_FLAGS, "-o", str(trace_path), "--", *command]).wall_ns
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


_TRACE_LINE = re.compile(r"^\s+trace:\s*['\"]?(.+?)['\"]?\s*$", re.MULTILINE)


def traces_named_in(workload: Path) -> set[Path]:
    """The trace files ``workload`` names in its ``provenance.trace`` (relative to its folder),
    resolved; none if it cannot be read."""
    try:
        text = workload.read_text(errors="replace")
    except OSError:
        return set()
    return {(workload.parent / name).resolve() for match in _TRACE_LINE.finditer(text)
            for name in match[1].split()}


def trace_path_for(out: Path) -> Path:
    """Where `record` stores the trace of workload ``out``: ``traces/<out's stem>.strace.gz``
    beside it, or ``<stem>-2``, ``-3``, ... when that file exists and is not ``out``'s own trace
    (re-recording a workload replaces its own trace, never a file another workload of the folder
    names, nor one that no workload names: veilperf did not write it for ``out``)."""
    others: set[Path] = set()
    for workload in (*out.parent.glob("*.yaml"), *out.parent.glob("*.yml")):
        if workload.resolve() != out.resolve():
            others |= traces_named_in(workload)
    own = traces_named_in(out) - others
    n = 1
    while True:
        candidate = out.parent / "traces" / f"{out.stem}{'' if n == 1 else f'-{n}'}.strace.gz"
        if not candidate.exists() or candidate.resolve() in own:
            return candidate
        n += 1


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

    ``trace_ref`` is where the compressed trace will be stored, relative to the workload file
    (written into the provenance); the caller writes both files."""
    strace = find_strace()
    native = run_native(command, runs, progress)
    wall, user = native.median("wall_ns"), native.median("user_ns")
    use_user = wall >= USER_TIME_MIN_NS and user + native.median("sys_ns") >= CPU_SHARE_MIN * wall
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
            wall_time_ns=wall, user_ns=user if use_user else None,
            native=native.provenance(), footprint=f"{round(native.median('peak_rss_kib'))}KiB",
            footprint_source=f"peak RSS of the process tree (its largest process, ru_maxrss from "
                             f"wait4), median of {len(native.runs)} runs; launcher floor "
                             f"{launcher_floor_kib()} KiB (smaller programs read as that)",
            kernel=platform.release(), tracer=strace_version(strace))
        result = import_trace([packed], options)
    prov = result.workload["provenance"]
    prov["trace"] = trace_ref
    walls = [r.wall_ns for r in native.runs]
    noise = noise_warning(native.spread)
    if noise:
        result.warnings.append(noise)
    prov["notes"] = (f"recorded: {runs} native runs, the first a warm-up; kept wall times "
                     f"{', '.join(f'{w / 1e9:.4f}' for w in walls)} s (median {wall / 1e9:.4f} s, "
                     f"{native.spread.range_text()} around it); traced run {traced_wall / 1e9:.4f} s; "
                     f"load average {load:.2f} on {os.cpu_count()} CPUs\n"
                     + (f"noise: {noise}\n" if noise else "") + prov.get("notes", ""))
    return Recording(result, trace_gz, native, traced_wall)
