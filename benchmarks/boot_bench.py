"""Benchmark: wall time and peak memory of simulating a 128 GiB, 64-VCPU Veil boot (eager and lazy).

Target (issue 8): under 1 s of wall time and 200 MB of memory, with the event count independent of
the guest's page count. Run: ``python benchmarks/boot_bench.py``.
"""

from __future__ import annotations

import resource
import time
import tracemalloc
from pathlib import Path

import yaml

from veilperf.config.run_config import RunConfig
from veilperf.run import simulate_boot

PLATFORM = Path(__file__).resolve().parents[1] / "configs" / "platforms" / "milan.yaml"


def boot_config(acceptance: str, memory: str = "128GiB", vcpus: int = 64) -> RunConfig:
    raw = {"name": "boot-bench", "kind": "boot", "platform": yaml.safe_load(PLATFORM.read_text()),
           "setup": {"mode": "veil", "vcpus": vcpus}, "boot": {"memory": memory, "acceptance": acceptance}}
    return RunConfig.model_validate(raw, context={"clock_hz": 2.8e9})


def measure(cfg: RunConfig) -> tuple[float, float, dict]:
    """(wall seconds, peak traced kB, record) of one simulation."""
    tracemalloc.start()
    start = time.perf_counter()
    record = simulate_boot(cfg)
    wall = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 1e3
    tracemalloc.stop()
    return wall, peak, record


def main() -> None:
    for acceptance in ("eager", "lazy"):
        for memory in ("1GiB", "128GiB"):
            wall, peak, record = measure(boot_config(acceptance, memory))
            print(f"veil boot {memory:>6} 64 VCPUs {acceptance:5}: wall {wall * 1e3:7.2f} ms, "
                  f"peak traced {peak:7.1f} kB, events {record['events']:5d}, "
                  f"simulated {record['sim_time_ns'] / 1e9:7.2f} s, "
                  f"pages validated {record['boot.pages_validated']:,}")
    max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process max RSS (interpreter + imports + all runs): {max_rss_mb:.1f} MB")


if __name__ == "__main__":
    main()
