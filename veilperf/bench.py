"""Simulator speed benchmark: ``python -m veilperf.bench [--quick] [--skip-sweep]``.

Prints, measured in one run on this machine:
  (1) raw SimPy throughput (a process looping on ``yield env.timeout``), events/s;
  (2) a pure-heapq event loop, the Python limit, events/s;
  (3) simulated enclave system calls and domain switches per wall second, 1-VCPU syscall-bound enclave;
  (4) simulated requests per wall second, 8-VCPU contended open-loop server;
  (5) wall time and peak memory of the full ``veilperf sweep configs/*.yaml`` from empty results,
      with 1 and 2 workers;
  (6) peak memory of one run of configs/example.yaml for 2 s and for 40 s of simulated time (each
      in its own process): memory must not grow with simulated duration;
then the ratios (3)/(1), (3)/(2), the 40 s / 2 s memory ratio and the 2-worker speed-up. A benchmark, not a test: it asserts
nothing and its figures vary with the machine.
"""

from __future__ import annotations

import argparse
import glob
import heapq
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import simpy
import yaml

from veilperf.build import model_inputs
from veilperf.model.system import System
from veilperf.run import validate_raw

ROOT = Path(__file__).resolve().parents[1]


def simpy_events_per_s(n: int) -> float:
    """(1) A SimPy process doing nothing but ``yield env.timeout(1)``."""
    env = simpy.Environment()

    def loop():
        timeout = env.timeout
        for _ in range(n):
            yield timeout(1)

    env.process(loop())
    start = time.perf_counter()
    env.run()
    return n / (time.perf_counter() - start)


def heapq_events_per_s(n: int) -> float:
    """(2) The leanest Python discrete-event loop: a heap of (time, seq, callback)."""
    heap: list = []
    push, pop = heapq.heappush, heapq.heappop
    remaining = [n]

    def tick(now: float, seq: int) -> None:
        remaining[0] -= 1
        if remaining[0]:
            push(heap, (now + 1.0, seq + 1, tick))

    push(heap, (0.0, 0, tick))
    start = time.perf_counter()
    while heap:
        now, seq, callback = pop(heap)
        callback(now, seq)
    return n / (time.perf_counter() - start)


def _platform() -> dict:
    return yaml.safe_load((ROOT / "configs" / "platforms" / "milan.yaml").read_text())


def enclave_syscalls_per_s(iterations: int) -> tuple[float, float, float]:
    """(3) Ocalls and switches simulated per wall second; also SimPy events per ocall."""
    cfg = validate_raw({
        "name": "bench-enclave",
        "platform": _platform(),
        "setup": {"mode": "veil", "vcpus": 1, "services": {"enc": {"enabled": True}}},
        "workload": {
            "name": "syscall-bound", "provenance": {"source": "synthetic"},
            "mix": {"gap": {"dist": "exponential", "mean": "1us"},
                    "calls": [{"name": "read", "weight": 3, "kernel": "1.3us", "bytes_out": "512B"},
                              {"name": "write", "weight": 1, "kernel": "600ns", "bytes_in": "512B"}]},
        },
        "run": {"iterations": iterations},
        "seed": 1,
    })
    start = time.perf_counter()
    record = System(model_inputs(cfg)).run()
    wall = time.perf_counter() - start
    return record["enc.ocalls"] / wall, record["switches_total"] / wall, record["events"] / record["enc.ocalls"]


def server_requests_per_s(requests: int) -> float:
    """(4) An open-loop server on 8 VCPUs at ~80% load, requests queueing for VCPUs."""
    cfg = validate_raw({
        "name": "bench-server",
        "platform": _platform(),
        "setup": {"mode": "veil", "vcpus": 8, "services": {"log": {"enabled": True}}},
        "workload": {
            "name": "server", "provenance": {"source": "synthetic"}, "loop": "open",
            "arrival_rate": "64000/s",
            "steps": [{"syscall": {"name": "recvfrom", "kernel": "2us", "bytes_out": "256B"}},
                      {"compute": {"dist": "exponential", "mean": "90us"}},
                      {"syscall": {"name": "sendto", "kernel": "4us", "bytes_in": "4KiB"}}],
        },
        "run": {"iterations": requests},
        "seed": 1,
    })
    start = time.perf_counter()
    record = System(model_inputs(cfg)).run()
    return record["completed"] / (time.perf_counter() - start)


def sweep_wall_and_memory(jobs: int) -> tuple[float, float]:
    """(5) The full reproduction sweep from empty results, as users run it (figures skipped)."""
    configs = sorted(glob.glob(str(ROOT / "configs" / "*.yaml")))
    with tempfile.TemporaryDirectory() as results:
        command = [sys.executable, "-m", "veilperf.cli", "sweep", *configs, "--jobs", str(jobs),
                   "--results", results, "--no-plots"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        wall = time.perf_counter() - start
        peak_kib = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
    return wall, peak_kib / 1024


_DURATION_RUN = """
import resource, sys
from veilperf.config.loader import load_experiment
from veilperf.run import run_resolved
experiment = load_experiment(sys.argv[1], ["run.iterations=null", "run.duration=" + sys.argv[2]])
record = run_resolved(experiment.resolve(0, {}, baseline=False))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, record["completed"])
"""


def peak_rss_of_duration(duration: str) -> tuple[float, int]:
    """(6) Peak RSS (MiB) of a fresh process simulating configs/example.yaml for ``duration``."""
    out = subprocess.run([sys.executable, "-c", _DURATION_RUN, str(ROOT / "configs" / "example.yaml"), duration],
                         check=True, capture_output=True, text=True, cwd=ROOT).stdout.split()
    return int(out[0]) / 1024, int(out[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m veilperf.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (noisier figures)")
    parser.add_argument("--skip-sweep", action="store_true", help="skip (5), the full sweep")
    args = parser.parse_args(argv)
    scale = 0.1 if args.quick else 1.0
    n_events = int(1_000_000 * scale)

    print(f"veilperf benchmark on {os.cpu_count()} cores, Python {sys.version.split()[0]}, simpy {simpy.__version__}")
    simpy_rate = simpy_events_per_s(n_events)
    heap_rate = heapq_events_per_s(n_events)
    ocalls, switches, events_per_ocall = enclave_syscalls_per_s(int(400_000 * scale))
    requests = server_requests_per_s(int(100_000 * scale))
    print(f"(1) SimPy timeout loop            {simpy_rate:14,.0f} events/s")
    print(f"(2) pure heapq event loop         {heap_rate:14,.0f} events/s")
    print(f"(3) enclave syscalls (1 VCPU)     {ocalls:14,.0f} ocalls/s   {switches:,.0f} switches/s   "
          f"{events_per_ocall:.4f} events/ocall")
    print(f"(4) contended server (8 VCPUs)    {requests:14,.0f} requests/s")
    short_mib, short_n = peak_rss_of_duration("2s")
    long_mib, long_n = peak_rss_of_duration("40s")
    print(f"(6) peak RSS, 2 s simulated       {short_mib:14,.0f} MiB  ({short_n:,} iterations)")
    print(f"    peak RSS, 40 s simulated      {long_mib:14,.0f} MiB  ({long_n:,} iterations)")
    speedup = None
    if not args.skip_sweep:
        wall1, mem1 = sweep_wall_and_memory(1)
        wall2, mem2 = sweep_wall_and_memory(2)
        speedup = wall1 / wall2
        print(f"(5) full sweep, 1 worker          {wall1:14.1f} s      peak RSS {mem1:,.0f} MiB")
        print(f"    full sweep, 2 workers         {wall2:14.1f} s      peak RSS {mem2:,.0f} MiB")
    print(f"ratio (3)/(1) = {ocalls / simpy_rate:.2f}   (target >= 1.5)")
    print(f"ratio (3)/(2) = {ocalls / heap_rate:.2f}")
    print(f"memory 40 s / 2 s = {long_mib / short_mib:.2f}   (target <= 1.5)")
    if speedup is not None:
        print(f"2-worker speed-up = {speedup:.2f}x   (target >= 1.7x); full sweep target < 60 s on 2 cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
