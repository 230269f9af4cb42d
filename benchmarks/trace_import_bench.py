"""Benchmark: peak memory of `veilperf workload import` on a large trace (issue 20, item 7).

Target: a 200 MB `strace -f -tt -T` trace imports within 300 MB peak RSS, plain or gzip-compressed;
and a gzip bomb (`--bomb`: 1 GB of newlines in a ~1 MB `.gz`) is refused by the decompressed-size
limit (`VEILPERF_MAX_TRACE_SIZE`, default 512 MiB) in seconds and little memory.
The trace is built from the shipped `workloads/traces/tar-small-files.strace.gz` (a real run: 14,103
lines of one process), its body repeated with shifted timestamps until the file reaches the asked
size, so the calls, arguments and line lengths are those strace writes. Each import runs as its own
`veilperf` process (interpreter start and imports count); its peak RSS is the kernel's `ru_maxrss`
of that child (`wait4`). Prints figures, asserts nothing.

Run: ``python benchmarks/trace_import_bench.py [--mb 200] [--mode sample|replay] [--gzip] [--bomb] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "workloads" / "traces" / "tar-small-files.strace.gz"
_LINE = re.compile(r"^(?P<pid>\d+)\s+(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)\.(?P<us>\d{6}) (?P<body>.*)$")


def _body_lines() -> list[tuple[int, str]]:
    """(microseconds since midnight, body) of every call line of the source trace but its exit."""
    lines = []
    with gzip.open(SOURCE, "rt") as src:
        for text in src:
            m = _LINE.match(text.rstrip("\n"))
            if m and not m["body"].startswith(("+++", "exit_group")):
                stamp = ((int(m["h"]) * 60 + int(m["m"])) * 60 + int(m["s"])) * 1_000_000 + int(m["us"])
                lines.append((stamp, m["body"]))
    return lines


def _clock(us: int) -> str:
    seconds, micro = divmod(us, 1_000_000)
    minutes, sec = divmod(seconds, 60)
    hours, mins = divmod(minutes, 60)
    return f"{hours % 24:02d}:{mins:02d}:{sec:02d}.{micro:06d}"


def write_trace(path: Path, megabytes: float, compress: bool) -> tuple[int, int]:
    """Write a trace of about ``megabytes`` MB (uncompressed); returns (lines, bytes on disk)."""
    body = _body_lines()
    first, last = body[0][0], body[-1][0]
    period = last - first + 200  # one repetition's span, then a 200 us pause
    target = int(megabytes * 1_000_000)
    written = lines = 0
    opener = gzip.open if compress else open
    with opener(path, "wt") as out:
        rep = 0
        while written < target:
            chunk = "".join(f"4242  {_clock(stamp - first + rep * period)} {text}\n" for stamp, text in body)
            out.write(chunk)
            written += len(chunk)
            lines += len(body)
            rep += 1
        end = rep * period
        out.write(f"4242  {_clock(end)} exit_group(0)     = ?\n4242  {_clock(end + 100)} +++ exited with 0 +++\n")
    return lines + 2, path.stat().st_size


def write_bomb(path: Path, gigabytes: float) -> int:
    """A ``.gz`` of ``gigabytes`` GB of newlines; returns its size on disk."""
    block = b"\n" * (1 << 20)
    with gzip.open(path, "wb", compresslevel=9) as out:
        for _ in range(int(gigabytes * 1e9) >> 20):
            out.write(block)
    return path.stat().st_size


def import_peak(trace: Path, out: Path, mode: str) -> tuple[float, float, int, str]:
    """Wall seconds, peak RSS in MB, exit status and last stderr line of one import process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen([sys.executable, "-m", "veilperf.cli", "workload", "import", str(trace),
                                  "--mode", mode, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, not the largest so far
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        err.seek(0)
        last = (err.read().strip().splitlines() or [""])[-1]
    return wall, usage.ru_maxrss / 1024, child.returncode, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=200.0, help="uncompressed trace size (default 200 MB)")
    parser.add_argument("--mode", default="sample", choices=("sample", "replay"))
    parser.add_argument("--gzip", action="store_true", help="also import the trace gzip-compressed")
    parser.add_argument("--bomb", action="store_true", help="also import a gzip bomb of 1 GB of newlines")
    parser.add_argument("--keep", type=Path, help="write the traces here and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        variants = [("plain", folder / "big.strace", False)]
        if args.gzip:
            variants.append(("gzip", folder / "big.strace.gz", True))
        for label, path, compress in variants:
            lines, size = write_trace(path, args.mb, compress)
            wall, peak, code, last = import_peak(path, folder / f"big-{label}.yaml", args.mode)
            print(f"{label}: {args.mb:.0f} MB trace ({lines:,} lines, {size / 1e6:.1f} MB on disk), "
                  f"--mode {args.mode}: exit {code}, {wall:.1f} s wall, peak RSS {peak:.0f} MB"
                  + (f"; {last}" if code else ""))
        if args.bomb:
            bomb = folder / "bomb.strace.gz"
            size = write_bomb(bomb, 1.0)
            wall, peak, code, last = import_peak(bomb, folder / "bomb.yaml", args.mode)
            print(f"gzip bomb: 1 GB of newlines ({size / 1e6:.1f} MB on disk): exit {code}, {wall:.1f} s wall, "
                  f"peak RSS {peak:.0f} MB; {last}")


if __name__ == "__main__":
    main()
