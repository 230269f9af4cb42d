"""Real programs to record, their generated inputs, and their simulated times: shared by
tests/test_record.py and benchmarks/blind_accuracy.py (the blind estimate's accuracy, a validation
run and reported rather than a test: it races the machine's load)."""

from __future__ import annotations

import contextlib
import io
import random
import sys
from pathlib import Path

import yaml

from veilperf import cli
from veilperf.run import simulate, validate_raw

MILAN = Path(__file__).resolve().parents[1] / "configs" / "platforms" / "milan.yaml"
SINGLE = ["gzip", "sha256sum", "tar", "find", "pystat"]
"""Single-threaded, from compute-bound to a system call every few microseconds."""
MULTI = ["sort2"]
"""Two threads working at once (GNU sort's parallel merge sort)."""
MODES = {"sort2": "replay"}
"""Recorded in replay mode: the simulated time is then the longest lane's, not one draw of a sampled
mix whose heavy-tailed gaps (a 4.8 ms sample in 32) scatter each thread's sum by ~10%."""


def make_inputs(root: Path) -> Path:
    """Deterministic inputs in ``root``: a text file, a binary file, a tree of small files, a
    Python stat loop and a file of numbers to sort."""
    rng = random.Random(11)
    words = ["veil", "enclave", "monitor", "replica", "switch", "kernel", "audit", "ring", "page"]
    with open(root / "text", "w") as out:
        for _ in range(80_000):  # ~6 MB: gzip -6 takes ~0.2 s
            out.write(" ".join(rng.choice(words) for _ in range(12)) + f" {rng.randrange(10**9)}\n")
    (root / "blob").write_bytes(rng.randbytes(48 << 20))  # sha256sum: ~0.15 s, 1,500 reads
    for d in range(32):  # 3,200 files of 100 B - 8 KiB in 32 folders
        folder = root / "tree" / f"d{d}"
        folder.mkdir(parents=True)
        for f in range(100):
            (folder / f"f{f:02d}").write_bytes(rng.randbytes(rng.randrange(100, 8192)))
    (root / "loop.py").write_text("import os\nfor _ in range(10000):\n    os.stat(__file__)\n")
    with open(root / "numbers", "w") as out:  # 300,000 lines, ~9 MB: sort --parallel=2 starts a thread
        for _ in range(300_000):
            out.write(f"{rng.randrange(10**12)} {rng.random()}\n")
    return root


def programs(root: Path) -> dict[str, list[str]]:
    """name -> command line, over the inputs made by :func:`make_inputs`."""
    return {
        "gzip": ["gzip", "-6", "-c", str(root / "text")],  # compute-bound
        "sha256sum": ["sha256sum", str(root / "blob")],  # compute-bound, 32 KiB reads
        "tar": ["tar", "-cf", str(root / "out.tar"), "-C", str(root), "tree"],  # syscall-bound
        "find": ["find", str(root / "tree"), "-printf", "%s %p\n"],  # getdents64 + newfstatat walk
        "pystat": [sys.executable, str(root / "loop.py")],  # a stat call every ~2 us
        "sort2": ["sort", "--parallel=2", "-S", "100M", "-o", "/dev/null", str(root / "numbers")],
    }


def simulated(workload: Path, setup: dict) -> dict:
    """The run record of ``workload`` at its own length under ``setup`` on Milan (seed 1)."""
    wl = yaml.safe_load(workload.read_text())
    point = {"name": "record-check", "platform": yaml.safe_load(MILAN.read_text()),
             "setup": setup, "workload": wl, "seed": 1}
    return simulate(validate_raw(point))


CVM = {"mode": "cvm", "vcpus": 2}
ENCLAVE = {"mode": "veil", "vcpus": 2, "services": {"enc": {"enabled": True}}}


def cvm_time(workload: Path) -> float:
    """Simulated time (ns) of ``workload`` at its own length in a plain SNP CVM on Milan."""
    return simulated(workload, CVM)["sim_time_ns"]


def native(workload: Path) -> dict:
    """``provenance.native`` of a workload file."""
    return yaml.safe_load(workload.read_text())["provenance"]["native"]


def record_quietly(command: list[str], name: str, out: Path, runs: int = 5) -> str:
    """`workload record` of ``command`` to ``out`` (in the mode of :data:`MODES`); what it printed
    on stderr."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert cli.main(["workload", "record", "--runs", str(runs), "--name", name, "--out", str(out),
                         "--mode", MODES.get(name, "sample"), "--", *command]) == 0
    return err.getvalue()


def import_blind(trace: Path, name: str, out: Path) -> str:
    """`workload import` of ``trace`` without a native time; what it printed on stderr."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert cli.main(["workload", "import", str(trace), "--name", name, "--out", str(out)]) == 0
    return err.getvalue()
