"""Faults on real resources. First, real file-system faults on a tmpfs mount: a read-only results
folder and a full disk. They need mount rights (root with CAP_SYS_ADMIN); elsewhere they are skipped
and tests/test_bad_input_corpus.py covers the same paths with monkeypatched OS errors. Then (issue
20) what veilperf keeps and never touches, and real processes: signals, Dask endpoints that are not
schedulers or have no workers, a full or ASCII-only standard output."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pyarrow.feather as feather
import pytest
import yaml

from veilperf.cli import main
from veilperf.sweep.store import ResultsStore

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


# === Issue 20: what veilperf keeps, moves aside and never touches ====================================
# The refusals are in tests/test_bad_input_corpus.py (OWN_CASES); here, the behaviour that goes on:
# stored points moved aside (with a note saying how many and why), files veilperf did not write left
# alone, and a sentinel tree outside the results root unchanged across every command.

ROOT = Path(__file__).resolve().parents[1]
TINY = Path(__file__).parent / "fixtures" / "sweep" / "tiny-workload.yaml"
TRACE = Path(__file__).parent / "fixtures" / "trace" / "single.strace"
OWN = """\
name: own
platform: {platform}
workloads: [{workload}]
setup: {{mode: veil, vcpus: 1, services: {{enc: {{enabled: true}}}}}}
run: {{iterations: 20}}
seed: 1
replications: 2
sweep: {{grid: {{platform.params.switch_one_way: [1.6us, 6us]}}}}
"""


@pytest.fixture
def own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder (the working directory) with ``own.yaml``: 4 treatment points, 4 baselines."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "own.yaml").write_text(OWN.format(platform=ROOT / "configs" / "platforms" / "milan.yaml",
                                                 workload=TINY))
    monkeypatch.chdir(project)
    return project


def sweep_own(project: Path, *extra: str, file: str = "own.yaml") -> list[str]:
    return ["sweep", str(project / file), "--jobs", "1", "--no-plots", "--results", str(project / "R"), *extra]


def ids(path: Path) -> set[str]:
    return set(pd.read_parquet(path, columns=["point_id"])["point_id"])


def superseded(project: Path, name: str = "own") -> list[Path]:
    folder = project / "R" / name / "superseded"
    return sorted(folder.glob("*.parquet")) if folder.is_dir() else []


def _edit_axis(project: Path) -> None:
    text = (project / "own.yaml").read_text()
    (project / "own.yaml").write_text(text.replace("[1.6us, 6us]", "[1.6us, 3us]"))


def _other_file(project: Path) -> None:
    (project / "other.yaml").write_text((project / "own.yaml").read_text().replace("iterations: 20", "iterations: 30"))


# (id, prepare the second sweep, its extra arguments and file, fragment of the note, points dropped)
LOSS = [
    ("--set seed changes every point", None, ("--set", "seed=9"), "own.yaml",
     "--set values changed from none to seed=9", 8),
    ("fewer replications", None, ("--set", "replications=1"), "own.yaml", "points changed (8 -> 4 points)", 4),
    ("an axis value edited away", _edit_axis, (), "own.yaml", "own.yaml was edited", 4),
    ("another file, same name, --replace", _other_file, ("--replace",), "other.yaml",
     "they are points of another experiment file", 8),
    ("manifest deleted, --replace", lambda p: (p / "R" / "own" / "manifest.yaml").unlink(),
     ("--replace", "--set", "seed=2"), "own.yaml", "manifest.yaml was deleted: their origin cannot be checked", 8),
]


@pytest.mark.parametrize("case", LOSS, ids=[c[0] for c in LOSS])
def test_dropped_points_are_said_and_kept_aside(own, capsys, case):
    _, prepare, extra, file, fragment, dropped = case
    assert main(sweep_own(own)) == 0
    before = pd.read_parquet(own / "R" / "own" / "runs.parquet")
    if prepare is not None:
        prepare(own)
    capsys.readouterr()
    assert main(sweep_own(own, *extra, file=file)) == 0
    out = capsys.readouterr().out
    notes = [line for line in out.splitlines() if line.startswith("  note: own: ")]
    assert len(notes) == 1 and fragment in notes[0] and f"{dropped} stored point" in notes[0], out
    [aside] = superseded(own)
    assert str(aside) in notes[0] and "the last 3 superseded sets are kept" in notes[0]
    now, kept_aside = ids(own / "R" / "own" / "runs.parquet"), pd.read_parquet(aside)
    assert set(kept_aside["point_id"]) == set(before["point_id"]) - now  # exactly the dropped ones
    assert len(kept_aside) == dropped
    old_rows = before.set_index("point_id").loc[sorted(kept_aside["point_id"]), "sim_time_ns"]
    assert kept_aside.set_index("point_id")["sim_time_ns"].sort_index().equals(old_rows)  # the rows themselves


def test_only_the_last_three_superseded_sets_are_kept(own, capsys):
    from veilperf.sweep.engine import plan

    for seed in (1, 2, 3, 4, 5):
        assert main(sweep_own(own, "--set", f"seed={seed}")) == 0
    sets = superseded(own)
    assert len(sets) == 3  # four sweeps dropped points; the oldest set (seed 1's points) was deleted
    expected = [{p.point_id for p in plan([own / "own.yaml"], [f"seed={seed}"], results_dir=own / "R")[0].points}
                for seed in (2, 3, 4)]
    assert [ids(s) for s in sets] == expected


def test_a_deleted_manifest_is_written_anew_when_nothing_drops(own, capsys):
    from veilperf.sweep.manifest import INTACT, manifest_state

    assert main(sweep_own(own)) == 0
    manifest = own / "R" / "own" / "manifest.yaml"
    manifest.unlink()
    capsys.readouterr()
    assert main(sweep_own(own)) == 0
    out = capsys.readouterr().out
    assert "0 run, 8 cached" in out and "note: own: manifest.yaml was deleted; written anew from this sweep" in out
    assert manifest_state(manifest.read_bytes()) == INTACT and not superseded(own)


def test_an_edited_manifest_is_noticed_and_written_anew(own, capsys):
    from veilperf.sweep.manifest import EDITED, INTACT, manifest_state

    assert main(sweep_own(own)) == 0
    manifest = own / "R" / "own" / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace("replications: 2", "replications: 3"))
    assert manifest_state(manifest.read_bytes()) == EDITED
    capsys.readouterr()
    assert main(sweep_own(own)) == 0
    assert "manifest.yaml was edited since veilperf wrote it; written anew" in capsys.readouterr().out
    assert manifest_state(manifest.read_bytes()) == INTACT and "replications: 3" not in manifest.read_text()


def test_a_second_sensitivity_study_replaces_the_first_only_when_asked(own, capsys):
    study = ["sensitivity", str(own / "own.yaml"), "--jobs", "1", "--no-plots", "--only", "--params",
             "params.switch_one_way", "--results", str(own / "R")]
    assert main([*study, "--samples", "4"]) == 0
    folder = own / "R" / "own" / "sensitivity"
    first = pd.read_parquet(folder / "runs.parquet")
    assert main([*study, "--samples", "2"]) == 2  # another plan: refused, nothing changed
    assert pd.read_parquet(folder / "runs.parquet").equals(first)
    capsys.readouterr()
    assert main([*study, "--samples", "2", "--replace"]) == 0
    out = capsys.readouterr().out
    now = ids(folder / "runs.parquet")
    [aside] = sorted((folder / "superseded").glob("*.parquet"))
    assert set(pd.read_parquet(aside)["point_id"]) == set(first["point_id"]) - now
    assert f"{len(set(first['point_id']) - now)} stored points not in this sweep" in out


def test_collect_keeps_aside_what_the_destination_held_and_no_source_has(own, capsys):
    assert main(sweep_own(own)) == 0
    held = ids(own / "R" / "own" / "runs.parquet")
    shard = ["sweep", str(own / "own.yaml"), "--jobs", "1", "--no-plots", "--set", "seed=2"]
    assert main([*shard, "--shard", "1/1", "--results", str(own / "S")]) == 0  # parts only
    merged = ResultsStore(own / "S" / "own").stored_ids()
    capsys.readouterr()
    assert main(["collect", str(own / "S"), "--results", str(own / "R")]) == 0
    out = capsys.readouterr().out
    [aside] = superseded(own)
    assert f"note: {len(held)} points stored there before and in none of the sources moved to {aside}" in out
    assert ids(aside) == held and ids(own / "R" / "own" / "runs.parquet") == merged and not held & merged


# ---- files veilperf did not write are left alone ------------------------------------------------------

def _figure_index(folder: Path) -> dict:
    return json.loads((folder / ".figures-png.json").read_text())


@pytest.fixture
def drawn(own) -> Path:
    """``own`` swept, with its figures drawn into R/figures."""
    assert main(sweep_own(own)[:-len(["--results", str(own / "R")])] + ["--results", str(own / "R")]) == 0
    assert main(["plot", str(own / "R")]) == 0
    return own


def test_plot_out_keeps_the_users_files_of_legacy_figure_names(drawn, capsys):
    paper = drawn / "paper"
    paper.mkdir()
    mine = {name: f"the user's {name}\n".encode() for name in ("boot_time.png", "overhead_by_service.png")}
    for name, data in mine.items():
        (paper / name).write_bytes(data)
    assert main(["plot", str(drawn / "R"), "--out", str(paper), "--force"]) == 0
    assert {name: (paper / name).read_bytes() for name in mine} == mine
    assert (paper / "claims.png").is_file()
    legacy = drawn / "R" / "figures" / "boot_time.png"  # in the results root's own folder: veilperf's old name
    legacy.write_bytes(b"a figure of an earlier veilperf")
    assert main(["plot", str(drawn / "R"), "--force"]) == 0
    assert not legacy.exists()


def test_a_tampered_figure_index_deletes_nothing(drawn, capsys):
    figures = drawn / "R" / "figures"
    outside = drawn / "outside.png"
    outside.write_bytes(b"not veilperf's")
    index = _figure_index(figures)
    victims = ["../own/runs.parquet", str(outside), ".hidden.png", "sub/x.png"]
    index["own"]["files"].update({f"v{i}": victim for i, victim in enumerate(victims)})
    index["own"]["key"] = "stale"
    (figures / ".figures-png.json").write_text(json.dumps(index))
    (figures / ".hidden.png").write_bytes(b"hidden")
    before = {p: p.read_bytes() for p in (drawn / "R" / "own" / "runs.parquet", outside, figures / ".hidden.png")}
    capsys.readouterr()
    assert main(["plot", str(drawn / "R")]) == 0
    err = capsys.readouterr().err
    assert "figures-png.json: ignored" in err and "is not a plain .png file name" in err
    assert {p: p.read_bytes() for p in before} == before
    assert all(os.path.basename(f) == f for e in _figure_index(figures).values() for f in e["files"].values())


def test_only_figures_carrying_a_veilperf_key_are_deleted(drawn, capsys):
    figures = drawn / "R" / "figures"
    index = _figure_index(figures)
    mine = figures / "mine.png"
    mine.write_bytes(b"the user's own figure")
    ours = figures / "own-old.png"
    shutil.copy(figures / "claims.png", ours)  # a figure veilperf drew (it carries a key)
    index["own"]["files"].update({"mine": "mine.png", "old": "own-old.png"})
    index["own"]["key"] = "stale"
    (figures / ".figures-png.json").write_text(json.dumps(index))
    assert main(["plot", str(drawn / "R")]) == 0
    assert mine.read_bytes() == b"the user's own figure" and not ours.exists()


def test_leftover_temporaries_are_removed_only_under_veilperfs_names(own, capsys):
    assert main(sweep_own(own, "--no-plots")) == 0
    store = own / "R" / "own"
    (store / "parts").mkdir()
    ours = [store / ".runs.parquet.tmp", store / ".manifest.yaml.tmp",
            store / "parts" / ".00000000000000000001-abcdef.arrow.tmp", own / "R" / ".REPORT.md.tmp",
            own / "R" / ".overheads.csv.tmp"]
    users = [store / ".notes.tmp", store / "parts" / ".x.tmp", own / "R" / ".mine.tmp", store / "notes.txt"]
    for path in ours + users:
        path.write_bytes(b"x")
    assert main(sweep_own(own, "--set", "seed=3")) == 0  # compacts, then brings the report up to date
    assert main(["report", str(own / "R")]) == 0
    assert [p for p in ours if p.exists()] == []
    assert all(p.read_bytes() == b"x" for p in users)


def test_compaction_never_follows_a_parts_symlink_out_of_the_root(own, capsys):
    outside = own / "outside"
    outside.mkdir()
    foreign = {".x.tmp": b"a", "00000000000000000001-ab.arrow": b"b", ".00000000000000000001-ab.arrow.tmp": b"c"}
    for name, data in foreign.items():
        (outside / name).write_bytes(data)
    (own / "R" / "own").mkdir(parents=True)
    (own / "R" / "own" / "parts").symlink_to(outside, target_is_directory=True)
    assert main(sweep_own(own)) == 2
    assert "refusing to write outside the results folder" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == foreign


# ---- a sentinel tree outside the results root, unchanged by every command ------------------------------

def tree(folder: Path) -> dict[str, tuple]:
    """Every entry under ``folder`` (symlinks not followed): content digest and mtime, or link target."""
    entries = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            entries[str(path.relative_to(folder))] = ("link", os.readlink(path))
        elif path.is_file():
            stat = path.stat()
            entries[str(path.relative_to(folder))] = (hashlib.sha256(path.read_bytes()).hexdigest(), stat.st_mtime_ns)
        else:
            entries[str(path.relative_to(folder))] = ("dir",)
    return entries


@pytest.fixture
def sentinel(own, tmp_path) -> Path:
    """``own`` swept into R, and a foreign tree beside the project reached from R by symlinks:
    ``R/foreign`` (an experiment folder of its own), ``R/own/parts`` (a part file and temporaries
    under veilperf's names), ``R/own/superseded`` (sets under veilperf's names), and a figure index
    in R/figures listing a foreign file; ``paper/`` in the project holds the user's own figures."""
    from veilperf.sweep.manifest import dump_manifest

    assert main(sweep_own(own)) == 0
    foreign = tmp_path / "sentinel"
    shutil.copytree(own / "R" / "own", foreign / "foreign")
    manifest = foreign / "foreign" / "manifest.yaml"
    manifest.write_text(dump_manifest(dict(yaml.safe_load(manifest.read_text()), experiment="foreign")))
    runs = pd.read_parquet(foreign / "foreign" / "runs.parquet")
    runs.assign(experiment="foreign").to_parquet(foreign / "foreign" / "runs.parquet", index=False)
    (foreign / "parts").mkdir()
    feather.write_feather(pd.read_parquet(own / "R" / "own" / "runs.parquet").head(2),
                          foreign / "parts" / "00000000000000000009-cd.arrow")
    for name in (".x.tmp", ".00000000000000000001-ab.arrow.tmp", ".runs.parquet.tmp"):
        (foreign / "parts" / name).write_bytes(name.encode())
    (foreign / "superseded").mkdir()
    for day in range(1, 5):
        shutil.copy(own / "R" / "own" / "runs.parquet", foreign / "superseded" / f"2020010{day}T000000.000000Z.parquet")
    (foreign / "victim.png").write_bytes(b"a foreign figure")
    (own / "R" / "foreign").symlink_to(foreign / "foreign", target_is_directory=True)
    (own / "R" / "own" / "parts").symlink_to(foreign / "parts", target_is_directory=True)
    (own / "R" / "own" / "superseded").symlink_to(foreign / "superseded", target_is_directory=True)
    (own / "R" / "figures").mkdir()
    victims = {"a": str(foreign / "victim.png"), "b": "../foreign/runs.parquet"}
    index = {"own": {"key": "stale", "notes": [], "files": victims}}
    (own / "R" / "figures" / ".figures-png.json").write_text(json.dumps(index))
    (own / "paper").mkdir()
    for name in ("boot_time.png", "overhead_by_service.png", "claims.pdf"):
        (own / "paper" / name).write_bytes(b"the user's own " + name.encode())
    shutil.copy(TRACE, own / "t.strace")
    (own / "foreign.yaml").write_text((own / "own.yaml").read_text().replace("name: own", "name: foreign"))
    return foreign


COMMANDS = {
    "run": lambda p: ["run", str(p / "own.yaml")],
    "validate": lambda p: ["validate", str(p / "own.yaml")],
    "sweep, cached": lambda p: sweep_own(p),
    "sweep, dropping points": lambda p: sweep_own(p, "--set", "seed=5"),
    "sweep with plots": lambda p: sweep_own(p)[:-3] + ["--results", str(p / "R")],
    "sweep of the foreign name": lambda p: sweep_own(p, file="foreign.yaml"),
    "sweep --dry-run": lambda p: sweep_own(p, "--dry-run", "--set", "seed=5"),
    "plot": lambda p: ["plot", str(p / "R")],
    "plot --out": lambda p: ["plot", str(p / "R"), "--out", str(p / "paper")],
    "report": lambda p: ["report", str(p / "R")],
    "report --out": lambda p: ["report", str(p / "R"), "--out", str(p / "paper" / "R.md")],
    "collect into a new root": lambda p: ["collect", str(p / "R"), "--results", str(p / "R2")],
    "collect into the root": lambda p: ["collect", str(p / "R"), "--results", str(p / "R")],
    "sensitivity": lambda p: ["sensitivity", str(p / "own.yaml"), "--jobs", "1", "--samples", "2", "--only",
                              "--params", "params.switch_one_way", "--results", str(p / "R")],
    "workload import": lambda p: ["workload", "import", str(p / "t.strace"), "--out", str(p / "w.yaml")],
    "workload record": lambda p: ["workload", "record", "--runs", "2", "--out", str(p / "rec.yaml"), "--", "true"],
    "workload show": lambda p: ["workload", "show", str(TINY)],
    "list": lambda p: ["list", "experiments", "--dir", str(p)],
    "schema": lambda p: ["schema", "experiment", "--out", str(p / "s.json")],
}


EXPECTED_CODE = {name: 2 for name in ("sweep, cached", "sweep, dropping points", "sweep with plots",
                                       "sweep of the foreign name", "sweep --dry-run", "collect into a new root",
                                       "collect into the root")}
"""The commands refused here (R/own/parts and R/foreign lead out of the root); the others succeed."""


@pytest.mark.parametrize("command", COMMANDS, ids=list(COMMANDS))
def test_no_file_outside_the_results_root_changes(sentinel, own, capsys, command):
    """Whatever the command does (it may refuse: R/own/parts leads out of the root), the sentinel
    tree is as it was, and so is every file the project held (in an --out folder too); new files
    appear only where the command was told to write."""
    if command == "workload record" and shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    before = {folder: tree(folder) for folder in (sentinel, own)}
    code = main(COMMANDS[command](own))
    assert code == EXPECTED_CODE.get(command, 0), capsys.readouterr().err
    assert tree(sentinel) == before[sentinel]
    after = tree(own)
    results = ("R", "R2")
    assert {k: after.get(k) for k in before[own] if k.split(os.sep)[0] not in results} == \
        {k: v for k, v in before[own].items() if k.split(os.sep)[0] not in results}
    told = {"R", "R2", "paper", "w.yaml", "rec.yaml", "traces", "s.json"}
    assert not [k for k in set(after) - set(before[own]) if k.split(os.sep)[0] not in told]


# === Issue 20, items 5-6 and 8 (helper `robust`): signals, clusters, standard output and encodings.
# Real processes: a command is started, signalled or pointed at a real endpoint, and what it left
# behind is read from /proc. Every wait is bounded with a generous limit (the machine may be busy).

WORKLOAD = Path(__file__).resolve().parents[1] / "workloads" / "gzip.yaml"


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "veilperf.cli", *args]


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process, from /proc (no psutil)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:  # gone meanwhile
                continue
            parents[int(entry)] = int(fields[1])
    return parents


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid``."""
    parents, found, frontier = _parents(), set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    """Which of ``pids`` still run (zombies, exited but not reaped, do not count)."""
    running = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] != "Z":
                    running.add(pid)
        except OSError:
            pass
    return running


def wait_for(condition, seconds: float = 90.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def signalled(args: list[str], parts: Path, workers: int, signum: int) -> tuple[subprocess.Popen, str, str, set[int]]:
    """Start ``args`` (stdout and stderr pipes, as ``veilperf ... | cat`` has), wait until it runs
    ``workers`` worker processes and has stored a batch in ``parts``, send ``signum``; returns the
    process, its output and the processes it had started."""
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: len(descendants(process.pid)) >= workers and any(parts.glob("*.arrow"))
                        or process.poll() is not None), "the command never got going"
        assert process.poll() is None, process.communicate()
        family = descendants(process.pid)
        process.send_signal(signum)
        out, err = process.communicate(timeout=90)  # the pipes close: no worker holds them open
    finally:
        if process.poll() is None:
            process.kill()
    return process, out, err, family


@pytest.mark.parametrize("signum, code, word", [(signal.SIGTERM, 143, "terminated (SIGTERM)"),
                                                (signal.SIGHUP, 129, "hung up (SIGHUP)")])
def test_a_signal_stops_a_two_worker_sweep_and_leaves_no_process(tmp_path, signum, code, word):
    results = tmp_path / "r"
    process, out, err, family = signalled(
        cli("sweep", str(EXPERIMENT), "--jobs", "2", "--no-plots", "--results", str(results),
            "--set", "run.iterations=20000"), results / "sweeptest" / "parts", 2, signum)
    assert process.returncode == code, err
    assert out == "" and len(err.splitlines()) == 1 and "Traceback" not in err, err
    saved = sum(feather.read_table(p).num_rows for p in (results / "sweeptest" / "parts").glob("*.arrow"))
    assert err.startswith(f"veilperf: {word}: saved {saved} of 16 new points of sweeptest in ")
    assert len(family) >= 2 and wait_for(lambda: not alive(family), 30), alive(family)


def test_sigterm_stops_a_sensitivity_study_and_its_workers(tmp_path):
    results = tmp_path / "r"
    process, out, err, family = signalled(
        cli("sensitivity", str(EXPERIMENT), "--jobs", "2", "--samples", "20", "--no-plots", "--results",
            str(results), "--set", "run.iterations=20000"),
        results / "sweeptest" / "sensitivity" / "parts", 2, signal.SIGTERM)
    assert process.returncode == 143, err
    assert len(err.splitlines()) == 1 and err.startswith("veilperf: terminated (SIGTERM): saved "), err
    assert "Traceback" not in out + err
    assert wait_for(lambda: not alive(family), 30), alive(family)


def test_sigterm_stops_a_dask_local_cluster_sweep(tmp_path):
    pytest.importorskip("distributed")
    results = tmp_path / "r"
    process, out, err, family = signalled(
        cli("sweep", str(EXPERIMENT), "--executor", "dask", "--jobs", "2", "--no-plots", "--results",
            str(results), "--set", "run.iterations=20000", "--set", "replications=4"),
        results / "sweeptest" / "parts", 2, signal.SIGTERM)
    assert process.returncode == 143, err
    assert err.splitlines()[-1].startswith("veilperf: terminated (SIGTERM): saved "), err
    assert "Traceback" not in out + err
    assert wait_for(lambda: not alive(family), 30), alive(family)


class _Silent:
    """A TCP listener that accepts connections and never says a word."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.accepted.append(self.socket.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        self.socket.close()
        for conn in self.accepted:
            conn.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # the server's log would mix with the command's stderr
        pass


class _Http:
    """An HTTP server (answers, but not as Dask)."""

    def __init__(self) -> None:
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _QuietHandler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("server, extra", [(_Silent, []), (_Http, ["--scheduler-timeout", "3"])])
def test_a_scheduler_that_is_not_dask_is_one_line_within_30_s(tmp_path, capsys, server, extra):
    """The silent listener with the default --scheduler-timeout (10 s): before, both waited forever."""
    pytest.importorskip("distributed")
    endpoint = server()
    try:
        started = time.monotonic()
        code = main(["sweep", str(EXPERIMENT), "--executor", "dask", "--scheduler", f"tcp://127.0.0.1:{endpoint.port}",
                     "--no-plots", "--results", str(tmp_path / "r"), *extra])
        elapsed = time.monotonic() - started
    finally:
        endpoint.close()
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and elapsed < 30, (elapsed, err)
    assert len(err) == 1 and err[0].startswith(f"veilperf: error: --scheduler tcp://127.0.0.1:{endpoint.port}: "), err
    assert "no Dask scheduler answered within" in err[0] or "not a Dask scheduler" in err[0], err
    assert not (tmp_path / "r").exists()  # nothing written


def test_a_scheduler_without_workers_is_given_up_after_the_timeout(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=0, processes=False, protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None, silence_logs=40) as cluster:
        started = time.monotonic()
        code = main(["sweep", str(EXPERIMENT), "--executor", "dask", "--scheduler", cluster.scheduler_address,
                     "--no-workers-timeout", "1", "--no-plots", "--results", str(tmp_path / "r")])
        elapsed = time.monotonic() - started
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and elapsed < 60, (elapsed, err)
    assert len(err) == 1 and err[0].startswith(f"veilperf: error: no live Dask worker at {cluster.scheduler_address} "
                                               "for "), err
    assert "(--no-workers-timeout 1); finished points are saved" in err[0]


class _FakeClient:
    """Answers ``nthreads`` from a script of worker counts (None: the scheduler is gone)."""

    def __init__(self, script: list[int | None]) -> None:
        self.script = script

    def nthreads(self, callback_timeout=None):
        threads = self.script.pop(0)
        if threads is None:
            raise OSError("connection closed")
        return {f"w{i}": 1 for i in range(threads)}


def test_worker_watch_waits_says_once_and_gives_up_per_the_option(capsys):
    from veilperf.sweep.executors import WorkerWatch
    from veilperf.sweep.options import ClusterOptions, SweepError

    now = [0.0]
    clock = lambda: now[0]  # noqa: E731

    def checks(watch: WorkerWatch, times: list[float]) -> None:
        for t in times:
            now[0] = t
            watch.check()

    # exit: workers seen, then none for less than the limit (fine), then for the limit (refused)
    exiting = WorkerWatch(_FakeClient([2, 0, 0, 0]), "tcp://s:1", ClusterOptions(no_workers_timeout=60), clock)
    checks(exiting, [0, 10, 69])
    with pytest.raises(SweepError, match=r"no live Dask worker at tcp://s:1 for 60 s \(--no-workers-timeout 60\)"):
        checks(exiting, [70])
    # wait: said once per spell without workers, and again after workers came and went
    waiting = WorkerWatch(_FakeClient([0, 0, 0, 1, 0, 0]), "tcp://s:1",
                          ClusterOptions(no_workers_timeout=5, no_workers="wait"), clock)
    checks(waiting, [100, 106, 107, 108, 110, 116])
    said = capsys.readouterr().err.splitlines()
    assert said == ["veilperf: no live Dask worker at tcp://s:1 for 6 s; still waiting (--no-workers exit gives "
                    "up instead)"] * 2
    # a scheduler that stops answering: refused at once, saying that finished points are saved
    with pytest.raises(SweepError, match="lost the Dask scheduler at tcp://s:1 .*finished points are saved"):
        WorkerWatch(_FakeClient([None]), "tcp://s:1", ClusterOptions(), clock).check()


def test_stopping_a_worker_pool_kills_running_tasks_and_reaps_them():
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from veilperf.interrupts import stop_pool, worker_signals

    pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork"), initializer=worker_signals)
    futures = [pool.submit(time.sleep, 120) for _ in range(4)]
    assert wait_for(lambda: len(descendants(os.getpid()) & set(pool._processes)) == 2, 30)
    workers = set(pool._processes)
    started = time.monotonic()
    stop_pool(pool)
    assert time.monotonic() - started < 20 and not alive(workers)
    assert all(f.cancelled() or f.done() for f in futures)


@pytest.mark.parametrize("args", [("run", str(EXPERIMENT), "--set", "replications=1"),
                                  ("workload", "show", str(WORKLOAD)), ("schema", "workload")])
def test_a_full_standard_output_is_one_line(args):
    with open("/dev/full", "w") as full:
        done = subprocess.run(cli(*args), stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == ["veilperf: error: <standard output>: No space left on device"]


def test_an_ascii_standard_output_gets_escapes_and_the_same_yaml(tmp_path):
    ascii_env = dict(os.environ, PYTHONIOENCODING="ascii")
    args = cli("workload", "import", str(TRACE), "--description", "5 \u00b5s \u2013 caf\u00e9", "--date", "2020-01-01")
    plain = subprocess.run(args, capture_output=True, timeout=120)
    narrow = subprocess.run(args, capture_output=True, env=ascii_env, timeout=120)
    assert plain.returncode == narrow.returncode == 0, narrow.stderr
    narrow.stdout.decode("ascii")  # every byte ASCII: the YAML escapes what ASCII lacks
    assert yaml.safe_load(narrow.stdout) == yaml.safe_load(plain.stdout)
    shown = subprocess.run(cli("workload", "show", str(WORKLOAD)), capture_output=True, env=ascii_env, timeout=120)
    assert shown.returncode == 0 and b"Traceback" not in shown.stderr, shown.stderr
    shown.stdout.decode("ascii")  # an ASCII table (piped output is never cut, so no ellipsis to escape)
    assert b"+----" in shown.stdout and b"\\u2026" not in shown.stdout


def test_a_c_locale_runs_and_validates(tmp_path):
    c_env = dict(os.environ, LC_ALL="C", LANG="C")
    c_env.pop("PYTHONIOENCODING", None)
    for args in (("validate", str(EXPERIMENT)), ("run", str(EXPERIMENT), "--set", "replications=1")):
        done = subprocess.run(cli(*args), capture_output=True, env=c_env, timeout=120)
        assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr
