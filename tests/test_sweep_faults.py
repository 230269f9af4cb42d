"""Real file-system faults on a tmpfs mount: a read-only results folder and a full disk. They need
mount rights (root with CAP_SYS_ADMIN); elsewhere they are skipped and tests/test_bad_input_corpus.py
covers the same paths with monkeypatched OS errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pyarrow.feather as feather
import pytest

from veilperf.cli import main

EXPERIMENT = Path(__file__).parent / "fixtures" / "sweep" / "experiment.yaml"


@pytest.fixture
def mount(tmp_path: Path):
    """``mount(size)`` -> a fresh tmpfs of that size under tmp_path (unmounted after the test)."""
    mounted: list[Path] = []

    def make(size: str) -> Path:
        point = tmp_path / f"mnt{len(mounted)}"
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(point)
        return point

    yield make
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def sweep(results: Path, *extra: str) -> list[str]:
    return ["sweep", str(EXPERIMENT), "--jobs", "1", "--no-plots", "--results", str(results),
            "--set", "replications=1", *extra]


def test_read_only_results_folder(mount, capsys):
    root = mount("16m")
    assert main(sweep(root)) == 0
    subprocess.run(["mount", "-o", "remount,ro", str(root)], check=True)
    before = files(root)
    capsys.readouterr()

    assert main(sweep(root)) == 0  # nothing to run: nothing to write, so it succeeds
    assert "0 run, 8 cached" in capsys.readouterr().out

    assert main(sweep(root, "--set", "seed=9")) == 2  # new points cannot be stored
    err = capsys.readouterr().err
    assert err.splitlines() == [f"veilperf: error: {root}: results folder is read-only, but sweeptest has "
                                "points to store"]

    assert main(["report", str(root)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("veilperf: error: ") and "Read-only file system" in err[0]
    assert files(root) == before


def test_full_disk_mid_sweep(mount, capsys):
    root = mount("96k")  # the manifest and one part file fit, the next part does not
    assert main(sweep(root)) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"veilperf: error: {root}/sweeptest/parts/")
    assert "cannot write results" in err[0] and "No space left on device" in err[0]
    left = [p for p in root.rglob("*") if p.is_file()]
    assert not [p for p in left if p.name.endswith(".tmp")]  # nothing half-written
    for part in (root / "sweeptest" / "parts").glob("*.arrow"):
        assert feather.read_table(part).num_rows > 0  # what was stored is whole
