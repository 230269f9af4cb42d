"""A corpus of hostile and faulty inputs (issue 14): configs, --set values, command-line flags,
file-system faults and trace-import paths. Each case runs ``veilperf.cli.main`` in this process
and must end with the expected exit code, exactly one line on stderr naming what is wrong, no
traceback, no hang (an alarm fails a case after CASE_SECONDS), no temporary file left anywhere,
and nothing written outside the results root.

File-system faults are simulated by monkeypatching the OS call that would fail (``os.replace``,
``os.open``, pyarrow's writers) to raise the real errno (EROFS, ENOSPC, EACCES): the tests run as
root, for whom ``chmod`` does not make a folder read-only. Real read-only and full mounts are in
tests/test_sweep_faults.py (run only where mounting is allowed).
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
import yaml

from veilperf import cli

ROOT = Path(__file__).resolve().parents[1]
MILAN = ROOT / "configs" / "platforms" / "milan.yaml"
TINY = Path(__file__).parent / "fixtures" / "sweep" / "tiny-workload.yaml"
TRACE = Path(__file__).parent / "fixtures" / "trace" / "single.strace"
CASE_SECONDS = 20

EXPERIMENT = """\
name: corpus
platform: platform.yaml
workloads: [workload.yaml]
setup: {mode: veil, vcpus: 1, services: {enc: {enabled: true}}}
run: {iterations: 20}
seed: 1
replications: 1
"""
BOOT = """\
name: corpusboot
kind: boot
platform: platform.yaml
setup: {mode: veil, vcpus: 1}
boot: {memory: 1GiB}
"""
BOMB = ("&a [x,x,x,x,x,x,x,x,x,x]", *[f"&{n} [{', '.join([f'*{p}'] * 10)}]"
                                      for p, n in zip("abcdef", "bcdefg")])


def bomb_mapping(key: str = "x") -> str:
    """A YAML mapping whose aliases expand to about 10^7 nodes (each level: 10 aliases to the last)."""
    lines = [f"  l{i}: {level}" for i, level in enumerate(BOMB)]
    return f"{key}:\n" + "\n".join(lines) + "\n"


BOMB_FLOW = "{" + ", ".join(f"l{i}: {level}" for i, level in enumerate(BOMB)) + "}"


# --- building cases -------------------------------------------------------------------------------

@dataclass
class Case:
    id: str
    cls: str  # config | set | flag | fs | trace
    argv: Callable[[Path], list[str]]
    fragment: str
    code: int = 2
    setup: Callable[[Path, pytest.MonkeyPatch], None] | None = None


def sweep(*extra: str, file: str = "exp.yaml") -> Callable[[Path], list[str]]:
    return lambda p: ["sweep", str(p / file), "--jobs", "1", "--no-plots", "--results", str(p / "results"), *extra]


def validate(*extra: str, file: str = "exp.yaml") -> Callable[[Path], list[str]]:
    return lambda p: ["validate", str(p / file), *extra]


def edit(file: str, old: str, new: str) -> Callable[[Path, pytest.MonkeyPatch], None]:
    def apply(p: Path, _mp) -> None:
        text = (p / file).read_text()
        assert old in text, f"{file} no longer contains {old!r}"
        (p / file).write_text(text.replace(old, new, 1))
    return apply


def append(file: str, text: str) -> Callable[[Path, pytest.MonkeyPatch], None]:
    def apply(p: Path, _mp) -> None:
        with open(p / file, "a") as out:
            out.write(text)
    return apply


def write(file: str, content: str | bytes) -> Callable[[Path, pytest.MonkeyPatch], None]:
    def apply(p: Path, _mp) -> None:
        if isinstance(content, bytes):
            (p / file).write_bytes(content)
        else:
            (p / file).write_text(content)
    return apply


def change(file: str, mutate: Callable[[dict], None]) -> Callable[[Path, pytest.MonkeyPatch], None]:
    def apply(p: Path, _mp) -> None:
        data = yaml.safe_load((p / file).read_text())
        mutate(data)
        (p / file).write_text(yaml.safe_dump(data, sort_keys=False))
    return apply


def both(*steps) -> Callable[[Path, pytest.MonkeyPatch], None]:
    def apply(p: Path, mp) -> None:
        for step in steps:
            step(p, mp)
    return apply


def failing(target, name: str, code: int, *, when: Callable[..., bool] = lambda *a, **k: True, path_arg: int = 0):
    """Replace ``target.name`` by a function raising OSError(code) (naming its argument
    ``path_arg``, as the OS would) whenever ``when(*args)`` holds, else calling the original."""
    def apply(_p: Path, mp: pytest.MonkeyPatch) -> None:
        original = getattr(target, name)

        def fake(*args, **kwargs):
            if when(*args, **kwargs):
                raise OSError(code, os.strerror(code), str(args[path_arg]))
            return original(*args, **kwargs)
        mp.setattr(target, name, fake)
    return apply


def cached_results(p: Path, mp: pytest.MonkeyPatch) -> None:
    """Results of the project's experiment, written before the fault is installed."""
    assert cli.main(["sweep", str(p / "exp.yaml"), "--jobs", "1", "--no-plots", "--results", str(p / "results")]) == 0


def into_results(*args, **_kwargs) -> bool:
    return "/results/" in str(args[0])


def set_many(pairs: list[tuple[str, object]]) -> Callable[[dict], None]:
    def mutate(data: dict) -> None:
        for path, value in pairs:
            node = data
            *head, last = path.split(".")
            for part in head:
                node = node.setdefault(part, {})
            node[last] = value
    return mutate


HUGE_GRID = {"setup.services.enc.switchless_workers": list(range(1, 11)),
             **{f"platform.params.{name}": [f"{i}us" for i in range(1, 11)]
                for name in ("switch_one_way", "monitor_dispatch", "channel_fixed", "ghcb_roundtrip",
                             "ipi_notify", "poll_latency", "rmpadjust")}}

CASES: list[Case] = [
    # ---- configs: the experiment, workload and platform files --------------------------------------
    Case("name escapes the results root", "config", sweep(), "not a safe folder name",
         setup=edit("exp.yaml", "name: corpus", "name: ../../escape")),
    Case("name with a slash", "config", sweep(), "not a safe folder name",
         setup=edit("exp.yaml", "name: corpus", "name: a/b")),
    Case("name of 5000 characters", "config", sweep(), "not a safe folder name",
         setup=edit("exp.yaml", "name: corpus", "name: " + "x" * 5000)),
    Case("empty name", "config", sweep(), "not a safe folder name",
         setup=edit("exp.yaml", "name: corpus", "name: ''")),
    Case("hidden name", "config", sweep(), "not a safe folder name",
         setup=edit("exp.yaml", "name: corpus", "name: .hidden")),
    Case("a billion replications", "config", sweep(), "1/sqrt(n)",
         setup=edit("exp.yaml", "replications: 1", "replications: 1000000000")),
    Case("zero replications", "config", sweep(), "replications: Input should be greater than or equal to 1",
         setup=edit("exp.yaml", "replications: 1", "replications: 0")),
    Case("10^30 VCPUs", "config", sweep(), "KVM_MAX_VCPUS",
         setup=edit("exp.yaml", "vcpus: 1", "vcpus: 1000000000000000000000000000000")),
    Case("zero VCPUs", "config", sweep(), "setup.vcpus: Input should be greater than or equal to 1",
         setup=edit("exp.yaml", "vcpus: 1", "vcpus: 0")),
    Case("a million threads", "config", sweep(), "workload.yaml: threads: 1,000,000 threads",
         setup=edit("workload.yaml", "threads: 1", "threads: 1000000")),
    Case("10^30 workload iterations", "config", validate(), "workload.yaml: iterations: ",
         setup=both(edit("workload.yaml", "iterations: 200", "iterations: 1000000000000000000000000000000"),
                    edit("exp.yaml", "run: {iterations: 20}", "run: {}"))),
    Case("10^30 run iterations", "config", sweep(), "run.iterations: 1,000,000,000,000,000,000,000,000,000,000",
         setup=edit("exp.yaml", "iterations: 20", "iterations: 1000000000000000000000000000000")),
    Case("1e308 s duration", "config", sweep(), "more than one day",
         setup=edit("exp.yaml", "iterations: 20", "duration: 1e308s")),
    Case("zero duration", "config", sweep(), "run.duration: a run of zero simulated time",
         setup=edit("exp.yaml", "iterations: 20", "duration: 0s")),
    Case("negative duration", "config", sweep(), "run.duration: negative duration",
         setup=edit("exp.yaml", "iterations: 20", "duration: -1s")),
    Case("zero workload duration", "config", validate(), "workload.yaml: duration: a run of zero simulated time",
         setup=both(edit("workload.yaml", "iterations: 200", "duration: 0ms"),
                    edit("exp.yaml", "run: {iterations: 20}", "run: {}"))),
    Case("zero-cost steps under a duration", "config", sweep(), "workload.yaml: steps: an iteration costs 0 ns",
         setup=both(write("workload.yaml", "name: z\nprovenance: {source: synthetic}\nsteps: [{compute: 0us}]\n"),
                    edit("exp.yaml", "iterations: 20", "duration: 1ms"))),
    Case("zero-cost mix under a duration", "config", sweep(), "workload.yaml: mix: an iteration costs 0 ns",
         setup=both(write("workload.yaml", "name: z\nprovenance: {source: synthetic}\nmix:\n  gap: 0us\n"
                                           "  calls: [{name: getpid, weight: 1, kernel: 0ns}]\n"),
                    edit("exp.yaml", "iterations: 20", "duration: 1ms"))),
    Case("zero-cost replay under a duration", "config", sweep(), "workload.yaml: replay: an iteration costs 0 ns",
         setup=both(write("workload.yaml", "name: z\nprovenance: {source: synthetic}\n"
                                           "replay: [[{compute: 0us}, {syscall: {name: getpid, kernel: 0ns}}]]\n"),
                    edit("exp.yaml", "iterations: 20", "duration: 1ms"))),
    Case("10^8-point grid", "config", sweep(), "sweep: about 200,000,000 points",
         setup=change("exp.yaml", lambda d: d.__setitem__("sweep", {"grid": HUGE_GRID}))),
    Case("operations budget", "config", sweep(), "more than the budget of 1e+08",
         setup=edit("exp.yaml", "iterations: 20", "duration: 10000s")),
    Case("open-loop operations budget", "config", sweep(), "run.duration: about",
         setup=both(edit("workload.yaml", "loop: closed", "loop: open\narrival_rate: 1GHz"),
                    edit("exp.yaml", "iterations: 20", "duration: 10s"))),
    Case("alias bomb under setup", "config", sweep(), "alias bomb",
         setup=edit("exp.yaml", "setup: {mode: veil, vcpus: 1, services: {enc: {enabled: true}}}",
                    "setup:\n  mode: veil\n  " + bomb_mapping("x").replace("\n", "\n  ").rstrip())),
    Case("alias bomb in the baseline", "config", sweep(), "alias bomb", setup=append("exp.yaml", bomb_mapping("baseline"))),
    Case("alias bomb in the workload", "config", sweep(), "workload.yaml: <top level>: invalid YAML: aliases expand",
         setup=append("workload.yaml", bomb_mapping("notes_bomb"))),
    Case("alias bomb in the platform", "config", sweep(), "platform.yaml: <top level>: invalid YAML: aliases expand",
         setup=append("platform.yaml", bomb_mapping("bomb"))),
    Case("recursive alias", "config", sweep(), "recursive alias", setup=append("exp.yaml", "loop: &l [1, *l]\n")),
    Case("YAML syntax error", "config", sweep(), "exp.yaml: line 4: invalid YAML",
         setup=edit("exp.yaml", "setup: {mode: veil,", "setup: {mode: [veil,")),
    Case("duplicate key", "config", sweep(), "duplicate key 'seed'", setup=append("exp.yaml", "seed: 2\n")),
    Case("empty file", "config", sweep(), "exp.yaml: <top level>: file is empty", setup=write("exp.yaml", "# nothing\n")),
    Case("top level is a list", "config", sweep(), "top level must be a mapping", setup=write("exp.yaml", "- 1\n")),
    Case("experiment file missing", "config", sweep(file="missing.yaml"), "missing.yaml: <top level>: file not found"),
    Case("experiment file is a folder", "config", sweep(file="folder"), "is a directory, expected a YAML file",
         setup=lambda p, mp: (p / "folder").mkdir()),
    Case("experiment file is not text", "config", sweep(), "exp.yaml: <top level>: not UTF-8",
         setup=write("exp.yaml", b"\xff\xfe\x00binary")),
    Case("platform file missing", "config", sweep(), "exp.yaml: platform: file 'gone.yaml' not found",
         setup=edit("exp.yaml", "platform: platform.yaml", "platform: gone.yaml")),
    Case("unknown shipped platform", "config", sweep(), "no platform file or shipped profile named 'rome'",
         setup=edit("exp.yaml", "platform: platform.yaml", "platform: rome")),
    Case("workload file missing", "config", sweep(), "exp.yaml: workloads.0: file 'gone.yaml' not found",
         setup=edit("exp.yaml", "workloads: [workload.yaml]", "workloads: [gone.yaml]")),
    Case("misspelt setup key", "config", sweep(), "unknown key 'vcpu'; did you mean 'vcpus'?",
         setup=edit("exp.yaml", "vcpus: 1", "vcpu: 1")),
    Case("bare number duration", "config", sweep(), "workload.yaml: steps.1.syscall.kernel: bare number 1",
         setup=edit("workload.yaml", "kernel: 1us", "kernel: 1")),
    Case("unknown unit", "config", sweep(), "unknown time unit 'parsecs'",
         setup=edit("workload.yaml", "kernel: 1us", "kernel: 1parsecs")),
    Case("zero scheduler quantum", "config", sweep(), "setup.sched_quantum: a time slice of 0",
         setup=edit("exp.yaml", "vcpus: 1,", "vcpus: 1, sched_quantum: 0s,")),
    Case("4 EiB of boot memory", "config", sweep(file="boot.yaml"), "boot.memory: more memory than the 52-bit",
         setup=edit("boot.yaml", "memory: 1GiB", "memory: 5000TiB")),
    Case("zip lengths differ", "config", sweep(), "equal length",
         setup=append("exp.yaml", "sweep: {zip: [{setup.vcpus: [1, 2], run.iterations: [1]}]}\n")),
    Case("empty grid axis", "config", sweep(), "grid axis 'setup.vcpus' has no values",
         setup=append("exp.yaml", "sweep: {grid: {setup.vcpus: []}}\n")),
    Case("open loop without a rate", "config", sweep(), "an open-loop workload needs a positive arrival_rate",
         setup=edit("workload.yaml", "loop: closed", "loop: open")),
    Case("services under cvm", "config", sweep(), "mode cvm has no Veil services",
         setup=edit("exp.yaml", "mode: veil", "mode: cvm")),
    Case("negative seed", "config", sweep(), "seed: Input should be greater than or equal to 0",
         setup=edit("exp.yaml", "seed: 1", "seed: -1")),
    Case("boot experiment without boot section", "config", sweep(file="boot.yaml"), "needs a boot section",
         setup=edit("boot.yaml", "boot: {memory: 1GiB}", "")),
    Case("static partition without VCPUs left", "config", sweep(), "leave none for the application",
         setup=edit("exp.yaml", "vcpus: 1,", "vcpus: 1, vcpu_model: static,")),
    Case("two experiments, one name", "config",
         lambda p: ["sweep", str(p / "exp.yaml"), *sweep()(p)[1:]], "also used by"),

    # ---- --set values ------------------------------------------------------------------------------
    Case("--set alias bomb", "set", sweep("--set", f"setup.x={BOMB_FLOW}"), "--set: setup.x: cannot read value"),
    Case("--set recursive alias", "set", sweep("--set", "setup.x=&a [*a]"), "recursive alias"),
    Case("--set 10^5 VCPUs", "set", sweep("--set", "setup.vcpus=100000"), "(from --set setup.vcpus=100000)"),
    Case("--set 10^30 iterations", "set", sweep("--set", "run.iterations=" + "1" + "0" * 30), "iterations is more than"),
    Case("--set zero duration", "set", sweep("--set", "run.iterations=null", "--set", "run.duration=0s"),
         "a run of zero simulated time"),
    Case("--set negative duration", "set", sweep("--set", "run.iterations=null", "--set", "run.duration=-5s"),
         "negative duration"),
    Case("--set huge duration", "set", sweep("--set", "run.iterations=null", "--set", "run.duration=1e30s"),
         "more than one day"),
    Case("--set replications", "set", sweep("--set", "replications=2000000"), "(from --set replications=2000000)"),
    Case("--set without =", "set", sweep("--set", "seed"), "--set: seed: expected key.path=value"),
    Case("--set empty key", "set", sweep("--set", "=3"), "empty key path"),
    Case("--set misspelt key", "set", sweep("--set", "setup.vcpuz=2"), "did you mean 'setup.vcpus'?"),
    Case("--set past a list", "set", sweep("--set", "workload.steps.7.compute=1us"), "not an index"),
    Case("--set through a scalar", "set", sweep("--set", "seed.x=1"), "cannot set seed.x"),
    Case("--set YAML error", "set", sweep("--set", "setup.vcpus=[1"), "cannot read value '[1' as YAML"),
    Case("--set missing platform", "set", sweep("--set", "platform=nowhere.yaml"), "'nowhere.yaml' not found"),
    Case("--set huge grid", "set", sweep("--set", "sweep={grid: {setup.vcpus: [" + ", ".join(["1"] * 400) + "],"
                                         " seed: [" + ", ".join(map(str, range(400))) + "]}}",
                                         "--set", "replications=1000"), "points"),
    Case("--set operations budget", "set", sweep("--set", "run.iterations=null", "--set", "run.duration=10000s"),
         "pass --force-large"),
    Case("--set zero-cost steps", "set", sweep("--set", "run.iterations=null", "--set", "run.duration=1ms",
                                               "--set", "workload.steps=[{compute: 0us}]"), "an iteration costs 0 ns"),
    Case("--set bare number", "set", sweep("--set", "platform.params.switch_one_way=3"), "bare number 3"),
    Case("--set missing workload", "set", sweep("--set", "workloads=[gone.yaml]"), "workloads.0: file 'gone.yaml'"),

    # ---- --set key paths, platform lists, `list` (issues 21.2, 21.3, 22.1) ---------------------------
    Case("--set a bare parameter name", "set", sweep("--set", "switch_one_way=3us"),
         "did you mean 'platform.params.switch_one_way'?"),
    Case("--set misspelt file key", "set", sweep("--set", "replicatons=5"), "did you mean 'replications'?"),
    Case("--set misspelt sweep", "set", sweep("--set", "sweeep.grid=1"), "did you mean 'sweep.grid'?"),
    Case("--set unknown key, nothing close", "set", sweep("--set", "zzzz=1"),
         "(known keys: name, description, kind, platform, setup, workload, boot, run, seed, workloads, "
         "replications, sweep, baseline)"),
    Case("--set bad value, one wording", "set", sweep("--set", "setup.vcpus=abc"),
         "--set: setup.vcpus: Input should be a valid integer"),
    Case("--set part of a sweep axis table", "set", sweep("--set", "sweep.grid.setup.vcpus=[1, 2]"),
         "sweep.grid is set whole"),
    Case("--set platform list with a missing profile", "set", sweep("--set", "platform=[platform.yaml, nowhere]"),
         "--set: platform.1: no platform file or shipped profile named 'nowhere'"),
    Case("--set platform list, one name twice", "set", sweep("--set", "platform=[platform.yaml, milan]"),
         "are both named 'milan'"),
    Case("--set renaming listed platforms", "set",
         sweep("--set", "platform=[platform.yaml, genoa]", "--set", "platform.name=x"), "renaming them would hide"),
    Case("empty platform list", "config", sweep(), "a platform list needs at least one profile",
         setup=edit("exp.yaml", "platform: platform.yaml", "platform: []")),
    Case("platform as a sweep axis", "config", sweep(), "sweep platforms with the platform key itself",
         setup=append("exp.yaml", "sweep: {grid: {platform: [milan, genoa]}}\n")),
    Case("bad value in the second listed platform", "config", sweep(),
         "platform.yaml: params.switch_one_way.value: bare number 2.07",
         setup=both(edit("exp.yaml", "platform: platform.yaml", "platform: [genoa, platform.yaml]"),
                    edit("platform.yaml", "value: 2.07us", "value: 2.07"))),
    Case("run on two platforms", "flag",
         lambda p: ["run", str(p / "exp.yaml"), "--set", "platform=[platform.yaml, genoa]"],
         "lists 2 platforms (milan, genoa), and this command runs on one"),
    Case("list --dir missing", "flag", lambda p: ["list", "workloads", "--dir", str(p / "nope")], "no such folder"),
    Case("list a folder with a broken workload", "flag", lambda p: ["list", "workloads", "--dir", str(p)],
         "workload.yaml: line 14: invalid YAML", setup=append("workload.yaml", "bad: [1\n")),
    Case("list an unknown kind", "flag", lambda p: ["list", "bogus"], "invalid choice: 'bogus'"),

    # ---- command-line flags ------------------------------------------------------------------------
    Case("--jobs 0", "flag", sweep("--jobs", "0"), "--jobs 0: expected a positive number"),
    Case("--jobs x", "flag", sweep("--jobs", "x"), "--jobs x"),
    Case("--shard 3/2", "flag", sweep("--shard", "3/2"), "--shard 3/2: expected K/N"),
    Case("--shard x", "flag", sweep("--shard", "x"), "--shard x"),
    Case("--executor slurm", "flag", sweep("--executor", "slurm"), "--executor slurm"),
    Case("--scheduler without dask", "flag", sweep("--scheduler", "tcp://127.0.0.1:1"), "--scheduler needs --executor dask"),
    Case("--scheduler notaurl", "flag", sweep("--executor", "dask", "--scheduler", "notaurl"),
         "--scheduler notaurl: cannot connect to a Dask scheduler"),
    Case("unknown flag", "flag", sweep("--bogus"), "unrecognized arguments: --bogus"),
    Case("sweep without files", "flag", lambda p: ["sweep"], "the following arguments are required: FILE"),
    Case("no command", "flag", lambda p: [], "the following arguments are required: COMMAND"),
    Case("unknown command", "flag", lambda p: ["frobnicate"], "invalid choice: 'frobnicate'"),
    Case("run --workload 5", "flag", lambda p: ["run", str(p / "exp.yaml"), "--workload", "5"], "no workload number 5"),
    Case("run --workload x", "flag", lambda p: ["run", str(p / "exp.yaml"), "--workload", "x"], "invalid int value"),
    Case("run --seed -1", "flag", lambda p: ["run", str(p / "exp.yaml"), "--seed", "-1"], "seed"),
    Case("validate --platform missing", "flag", lambda p: ["validate", str(p / "workload.yaml"), "--platform",
                                                           str(p / "nope.yaml")], "nope.yaml: <top level>: file not found"),
    Case("collect a folder without results", "flag", lambda p: ["collect", str(p), "--results", str(p / "results")],
         "not a results directory"),
    Case("report on a missing folder", "flag", lambda p: ["report", str(p / "results")], "no such results directory"),
    Case("plot on a missing folder", "flag", lambda p: ["plot", str(p / "results"), "--out", str(p / "results" / "f")],
         "no such results directory"),
    Case("plot --format gif", "flag", lambda p: ["plot", "--format", "gif"], "invalid choice: 'gif'"),
    Case("--no-wait while another sweep holds the folder", "flag", sweep("--no-wait"), "results folder in use by pid",
         setup=lambda p, mp: _hold_lock(p / "results", mp)),

    # ---- file-system faults --------------------------------------------------------------------------
    Case("--results is a file", "fs", sweep(), "results folder is a file, not a folder",
         setup=lambda p, mp: (p / "results").write_text("not a folder")),
    Case("--results under a file", "fs",
         lambda p: sweep()(p)[:-1] + [str(p / "results" / "sub")], "cannot create the results folder: Not a directory",
         setup=lambda p, mp: (p / "results").write_text("not a folder")),
    Case("--results name too long", "fs", lambda p: sweep()(p)[:-1] + [str(p / "results" / ("r" * 300))],
         "File name too long"),
    Case("read-only results folder", "fs", sweep(), "Read-only file system",
         setup=failing(os, "replace", errno.EROFS, when=into_results)),
    Case("disk full writing a part file", "fs", sweep(), "cannot write results: No space left on device",
         setup=failing(feather, "write_feather", errno.ENOSPC, path_arg=1)),
    Case("disk full writing runs.parquet", "fs", sweep(), "runs.parquet: cannot write results: No space left",
         setup=failing(pq, "write_table", errno.ENOSPC, path_arg=1)),
    Case("disk full writing the manifest", "fs", sweep(), "manifest.yaml: cannot write the manifest: No space left",
         setup=failing(os, "replace", errno.ENOSPC, when=lambda *a, **k: str(a[0]).endswith(".manifest.yaml.tmp"))),
    Case("results folder cannot be created", "fs", sweep(), "results: cannot create the results folder: Permission denied",
         setup=failing(os, "mkdir", errno.EACCES, when=lambda *a, **k: str(a[0]).endswith("results"))),
    Case("lock file cannot be opened", "fs", sweep(), "cannot lock the results folder: Too many open files",
         setup=failing(os, "open", errno.EMFILE, when=lambda *a, **k: str(a[0]).endswith(".veilperf.lock"))),
    Case("results unreadable", "fs", sweep(), "runs.parquet: cannot read results: Permission denied",
         setup=both(cached_results, failing(pq, "read_table", errno.EACCES))),
    Case("corrupt runs.parquet", "fs", sweep(), "runs.parquet: not a readable results file",
         setup=both(cached_results, lambda p, mp: (p / "results" / "corpus" / "runs.parquet").write_bytes(b"junk"))),
    Case("corrupt manifest", "fs", lambda p: ["collect", str(p / "results"), "--results", str(p / "merged")],
         "manifest.yaml: not a readable manifest",
         setup=both(cached_results, lambda p, mp: (p / "results" / "corpus" / "manifest.yaml").write_text("a: [1\n"))),
    Case("report on read-only results", "fs", lambda p: ["report", str(p / "results")], "Read-only file system",
         setup=both(cached_results, failing(os, "replace", errno.EROFS, when=into_results))),
    Case("report --out under a file", "fs",
         lambda p: ["report", str(p / "results"), "--out", str(p / "results" / "corpus" / "runs.parquet" / "R.md")],
         "Not a directory", setup=cached_results),
    Case("plot --out is a file", "fs",
         lambda p: ["plot", str(p / "results"), "--out", str(p / "results" / "corpus" / "manifest.yaml")],
         "File exists", setup=cached_results),
    Case("disk full writing a figure", "fs", lambda p: ["plot", str(p / "results")], "No space left on device",
         setup=both(cached_results, failing(Path, "write_bytes", errno.ENOSPC,
                                            when=lambda *a, **k: str(a[0]).endswith(".png.tmp")))),
    Case("collect into a file", "fs", lambda p: ["collect", str(p / "results"), "--results", str(p / "exp.yaml")],
         "results folder is a file", setup=cached_results),
    Case("experiment file unreadable", "fs", sweep(), "exp.yaml: <top level>: cannot read file: Permission denied",
         setup=failing(os, "open", errno.EACCES, when=lambda *a, **k: str(a[0]).endswith("exp.yaml"))),

    # ---- trace import paths (the importer's own validation is tests/test_trace_*.py) ----------------
    Case("import --out is a folder", "trace",
         lambda p: ["workload", "import", str(TRACE), "--out", str(p / "results")], "Is a directory",
         setup=lambda p, mp: (p / "results").mkdir()),
    Case("import --out in a missing folder", "trace",
         lambda p: ["workload", "import", str(TRACE), "--out", str(p / "results" / "no" / "x.yaml")],
         "No such file or directory"),
    Case("import a missing trace", "trace", lambda p: ["workload", "import", str(p / "gone.strace")],
         "no such trace file"),
    Case("import --mode bogus", "trace", lambda p: ["workload", "import", str(TRACE), "--mode", "bogus"],
         "invalid choice: 'bogus'"),
    Case("show a missing workload", "trace", lambda p: ["workload", "show", str(p / "gone.yaml")], "file not found"),
    Case("show an alias bomb", "trace", lambda p: ["workload", "show", str(p / "workload.yaml")], "aliases expand",
         setup=append("workload.yaml", bomb_mapping("bomb"))),
]


# --- helpers for the lock case --------------------------------------------------------------------

_HOLDERS: list[subprocess.Popen] = []


def _hold_lock(root: Path, mp: pytest.MonkeyPatch) -> None:
    """Another process holds ``root``'s lock (as a running sweep would) until the test ends."""
    code = ("import sys, time\nfrom veilperf.sweep.lock import results_lock\n"
            "with results_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(root)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    _HOLDERS.append(holder)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A writable experiment with its own platform and workload; the working directory is inside
    it, so anything written by default (a relative results/) would be seen."""
    (tmp_path / "exp.yaml").write_text(EXPERIMENT)
    (tmp_path / "boot.yaml").write_text(BOOT)
    shutil.copy(TINY, tmp_path / "workload.yaml")
    shutil.copy(MILAN, tmp_path / "platform.yaml")
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    while _HOLDERS:
        holder = _HOLDERS.pop()
        holder.kill()
        holder.wait()


def snapshot(folder: Path, skip: set[Path]) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` outside ``skip``, with size and modification time."""
    files = {}
    for path in folder.rglob("*"):
        if path.is_file() and not any(path == s or s in path.parents for s in skip):
            stat = path.stat()
            files[str(path.relative_to(folder))] = (stat.st_size, stat.st_mtime_ns)
    return files


class CaseTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise CaseTimeout(f"no answer within {CASE_SECONDS} s")


@pytest.mark.parametrize("case", CASES, ids=[f"{c.cls}: {c.id}" for c in CASES])
def test_bad_input_gives_one_line_and_the_right_exit_code(project, monkeypatch, capsys, case):
    if case.setup is not None:
        case.setup(project, monkeypatch)
    results = project / "results"
    before = snapshot(project, {results})
    capsys.readouterr()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_SECONDS)
    started = time.monotonic()
    try:
        code = cli.main(case.argv(project))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    monkeypatch.undo()
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert code == case.code, err
    assert len(lines) == 1, err
    assert lines[0].startswith("veilperf"), lines[0]
    assert case.fragment in lines[0]
    assert "Traceback" not in out + err and out == ""
    assert time.monotonic() - started < CASE_SECONDS
    assert snapshot(project, {results}) == before  # nothing written outside the results root
    assert not [p for p in project.rglob("*.tmp")]  # nothing half-written


def test_corpus_covers_every_class_with_at_least_80_cases():
    counts = {cls: sum(c.cls == cls for c in CASES) for cls in ("config", "set", "flag", "fs", "trace")}
    assert sum(counts.values()) == len(CASES) >= 80
    assert all(n >= 5 for n in counts.values()), counts


# === Issue 20, items 1-4: ownership, one path policy, no silent loss, inputs never outputs =========
# Each case is a refusal: one line, exit 2, nothing written outside the results root (the harness
# above checks it), and a file that must survive is checked by the snapshot (it lies outside the
# results root) or by the case's own ``setup``. Behaviour that succeeds (kept files, notes, the
# superseded sets) is in tests/test_sweep_faults.py.

def symlink(link: str, target: str) -> Callable[[Path, pytest.MonkeyPatch], None]:
    """``link`` (made with its parents) pointing at ``target`` (made as a folder holding keep.txt)."""
    def apply(p: Path, _mp) -> None:
        (p / target).mkdir(parents=True, exist_ok=True)
        (p / target / "keep.txt").write_text("the user's own file\n")
        (p / link).parent.mkdir(parents=True, exist_ok=True)
        (p / link).symlink_to(p / target, target_is_directory=True)
    return apply


def manifest_naming(experiment: str) -> Callable[[Path, pytest.MonkeyPatch], None]:
    """The stored manifest rewritten (checksum included, as a careful forger would) to name ``experiment``."""
    def apply(p: Path, _mp) -> None:
        from veilperf.sweep.manifest import dump_manifest

        path = p / "results" / "corpus" / "manifest.yaml"
        path.write_text(dump_manifest(dict(yaml.safe_load(path.read_text()), experiment=experiment)))
    return apply


def study(*extra: str) -> Callable[[Path], list[str]]:
    return lambda p: ["sensitivity", str(p / "exp.yaml"), "--jobs", "1", "--no-plots", "--samples", "2", "--only",
                      "--params", "params.switch_one_way", "--results", str(p / "results"), *extra]


def stored_study(p: Path, mp: pytest.MonkeyPatch) -> None:
    assert cli.main(study()(p)) == 0


def other_file(p: Path, _mp) -> None:
    """A second experiment file with the same name and other points."""
    (p / "other.yaml").write_text(EXPERIMENT.replace("iterations: 20", "iterations: 30"))


def delete(file: str) -> Callable[[Path, pytest.MonkeyPatch], None]:
    return lambda p, _mp: (p / file).unlink()


def executable(file: str) -> Callable[[Path, pytest.MonkeyPatch], None]:
    def apply(p: Path, _mp) -> None:
        (p / file).write_text("#!/bin/sh\nexit 0\n")
        (p / file).chmod(0o755)
    return apply


def collect_into(dest: str, source: str = "results") -> Callable[[Path], list[str]]:
    return lambda p: ["collect", str(p / source), "--results", str(p / dest)]


def report(*extra: str) -> Callable[[Path], list[str]]:
    return lambda p: ["report", str(p / "results"), *extra]


OWN_CASES: list[Case] = [
    # ---- path policy: roots, symlinks leading out, names read from files ---------------------------
    Case("--results /proc", "path", lambda p: sweep()(p)[:-1] + ["/proc"],
         "/proc: not an ordinary folder (it is on a proc"),
    Case("--results under /sys", "path", lambda p: sweep()(p)[:-1] + ["/sys/veilperf-results"],
         "not an ordinary folder (it is on a sysfs"),
    Case("--results under /dev", "path", lambda p: sweep()(p)[:-1] + ["/dev/veilperf-results"],
         "not an ordinary folder (it is on a devtmpfs"),
    Case("report on /proc", "path", lambda p: ["report", "/proc"], "not an ordinary folder"),
    Case("parts folder a symlink out of the root", "path", sweep(), "refusing to write outside the results folder",
         setup=symlink("results/corpus/parts", "outside")),
    Case("experiment folder a symlink out of the root", "path", sweep(), "refusing to write outside the results folder",
         setup=symlink("results/corpus", "outside")),
    Case("superseded folder a symlink out of the root", "path", sweep("--set", "seed=9"),
         "superseded: refusing to write outside the results folder",
         setup=both(cached_results, symlink("results/corpus/superseded", "outside"))),
    Case("sensitivity through an experiment symlink", "path", study(), "refusing to write outside the results folder",
         setup=symlink("results/corpus", "outside")),
    Case("default figure folder a symlink out of the root", "path", lambda p: ["plot", str(p / "results")],
         "refusing to write outside the results folder",
         setup=both(cached_results, symlink("results/figures", "outside"))),
    Case("report's figures a symlink out of its folder", "path",
         report("--out", "paper/R.md"), "refusing to write outside",
         setup=both(cached_results, symlink("paper/figures", "outside"))),
    Case("collect: manifest names the root itself", "path", collect_into("merged"),
         "experiment: '.' is not a safe name", setup=both(cached_results, manifest_naming("."))),
    Case("collect: manifest names a parent", "path", collect_into("merged"),
         "experiment: '../escape' is not a safe name", setup=both(cached_results, manifest_naming("../escape"))),
    Case("collect: manifest names an absolute path", "path", collect_into("merged"), "is not a safe name",
         setup=both(cached_results, lambda p, mp: manifest_naming(str(p / "exp.yaml"))(p, mp))),
    Case("--set name=../x", "path", sweep("--set", "name=../x"),
         "name: experiment name '../x' is not a safe folder name"),
    Case("name as a sweep axis", "path", sweep("--set", "sweep={grid: {name: [a, b]}}"),
         "name is the experiment's results folder"),

    # ---- no silent loss of stored points -----------------------------------------------------------
    Case("another experiment file, same name", "loss", sweep(file="other.yaml"),
         "2 stored points would be dropped (they are points of another experiment file",
         setup=both(cached_results, other_file)),
    Case("another file, same name, as a shard", "loss", sweep("--shard", "1/2", file="other.yaml"),
         "rerun with --replace", setup=both(cached_results, other_file)),
    Case("manifest deleted, points would drop", "loss", sweep("--set", "seed=9"),
         "manifest.yaml was deleted: their origin cannot be checked",
         setup=both(cached_results, delete("results/corpus/manifest.yaml"))),
    Case("manifest edited, points would drop", "loss", sweep("--set", "seed=9"),
         "manifest.yaml was edited since veilperf wrote it",
         setup=both(cached_results, edit("results/corpus/manifest.yaml", "points: 2", "points: 3"))),
    Case("manifest unreadable, points would drop", "loss", sweep("--set", "seed=9"),
         "manifest.yaml is not a readable manifest: their origin cannot be checked",
         setup=both(cached_results, write("results/corpus/manifest.yaml", "a: [1\n"))),
    Case("second sensitivity study of another plan", "loss", study("--seed", "5"),
         "holds a morris study (2 samples, seed 1, over platform.params.switch_one_way)", setup=stored_study),
    Case("collect an edited manifest", "loss", collect_into("merged"), "edited since veilperf wrote it",
         setup=both(cached_results, edit("results/corpus/manifest.yaml", "points: 2", "points: 9"))),

    # ---- inputs are never outputs --------------------------------------------------------------------
    Case("import --out over its trace", "input",
         lambda p: ["workload", "import", str(p / "t.strace"), "--out", str(p / "t.strace")],
         "is the input", setup=lambda p, mp: shutil.copy(TRACE, p / "t.strace")),
    Case("import --out over its trace, another spelling", "input",
         lambda p: ["workload", "import", "t.strace", "--out", str(p / "." / "t.strace")], "is the input",
         setup=lambda p, mp: shutil.copy(TRACE, p / "t.strace")),
    Case("import --out into its trace folder", "input",
         lambda p: ["workload", "import", str(p / "ff"), "--out", str(p / "ff" / "w.yaml")], "inside the input folder",
         setup=lambda p, mp: shutil.copytree(TRACE.parent / "ff", p / "ff")),
    Case("record --out over the program's input", "input",
         lambda p: ["workload", "record", "--out", str(p / "exp.yaml"), "--", "cat", str(p / "exp.yaml")],
         "is the input"),
    Case("record --out over the program", "input",
         lambda p: ["workload", "record", "--out", str(p / "prog.sh"), "--", str(p / "prog.sh")], "is the input",
         setup=executable("prog.sh")),
    Case("schema --out over an experiment", "input", lambda p: ["schema", "experiment", "--out", str(p / "exp.yaml")],
         "exists and is not a JSON Schema"),
    Case("schema --out over a trace", "input", lambda p: ["schema", "workload", "--out", str(p / "t.strace")],
         "exists and is not a JSON Schema", setup=lambda p, mp: shutil.copy(TRACE, p / "t.strace")),
    Case("report --out over runs.parquet", "input", report("--out", "results/corpus/runs.parquet"), "is the input",
         setup=cached_results),
    Case("report --out over a manifest", "input", report("--out", "results/corpus/manifest.yaml"), "is the input",
         setup=cached_results),
    Case("collect into its source folder", "input", collect_into("results/corpus", "results/corpus"), "is the input",
         setup=cached_results),
    Case("collect into a folder inside a source", "input", collect_into("results/corpus/m", "results/corpus"),
         "inside the input folder", setup=cached_results),
    Case("sweep whose results would overwrite its experiment file", "input",
         lambda p: ["sweep", str(p / "results" / "corpus" / "manifest.yaml"), "--jobs", "1", "--no-plots", "--results",
                    str(p / "results")], "is the input",
         setup=lambda p, mp: ((p / "results" / "corpus").mkdir(parents=True),
                              (p / "results" / "corpus" / "manifest.yaml").write_text(
                                  EXPERIMENT.replace("platform.yaml", "../../platform.yaml")
                                  .replace("[workload.yaml]", "[../../workload.yaml]")))),
]


@pytest.mark.parametrize("case", OWN_CASES, ids=[f"{c.cls}: {c.id}" for c in OWN_CASES])
def test_ownership_path_and_loss_refusals_give_one_line(project, monkeypatch, capsys, case):
    """The harness above, over the refusals of issue 20 (items 1-4)."""
    test_bad_input_gives_one_line_and_the_right_exit_code(project, monkeypatch, capsys, case)


def test_ownership_cases_cover_every_class():
    counts = {cls: sum(c.cls == cls for c in OWN_CASES) for cls in ("path", "loss", "input")}
    assert sum(counts.values()) == len(OWN_CASES) >= 30
    assert all(n >= 5 for n in counts.values()), counts


# === Issue 20, items 5-8 (helper `robust`): special files, size and depth limits, encodings, corrupt
# stored files, cluster options. The same harness as above (one line, exit code, no traceback, no
# hang, nothing written outside the results root); the cases that need a real process (signals,
# a closed or full standard output, a scheduler that is not Dask) are in tests/test_sweep_faults.py.

def mkfifo(name: str) -> Callable[[Path, pytest.MonkeyPatch], None]:
    def apply(p: Path, _mp) -> None:
        target = p / name
        target.unlink(missing_ok=True)
        os.mkfifo(target)
    return apply


def link_to(name: str, target: str) -> Callable[[Path, pytest.MonkeyPatch], None]:
    """``name`` a symlink to ``target`` as given (a device, or another link: a loop)."""
    def apply(p: Path, _mp) -> None:
        (p / name).unlink(missing_ok=True)
        (p / name).symlink_to(target)
    return apply


def setenv(name: str, value: str) -> Callable[[Path, pytest.MonkeyPatch], None]:
    return lambda _p, mp: mp.setenv(name, value)


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def rewrite_runs(mutate: Callable) -> Callable[[Path, pytest.MonkeyPatch], None]:
    """The stored runs.parquet of the project's experiment, changed by ``mutate(table) -> table``."""
    def apply(p: Path, _mp) -> None:
        path = p / "results" / "corpus" / "runs.parquet"
        pq.write_table(mutate(pq.read_table(path)), path)
    return apply


def with_column(name: str, values: Callable[[list], list]) -> Callable:
    import pyarrow as pa

    def mutate(table):
        index = table.schema.get_field_index(name)
        return table.set_column(index, name, pa.array(values(table.column(name).to_pylist())))
    return mutate


def write_gz(name: str, data: bytes) -> Callable[[Path, pytest.MonkeyPatch], None]:
    import gzip

    def apply(p: Path, _mp) -> None:
        with gzip.open(p / name, "wb") as out:
            out.write(data)
    return apply


def sensitivity_file(name: str, content: bytes) -> Callable[[Path, pytest.MonkeyPatch], None]:
    def apply(p: Path, _mp) -> None:
        folder = p / "results" / "corpus" / "sensitivity"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    return apply


def rename_experiment_folder(raw_name: bytes) -> Callable[[Path, pytest.MonkeyPatch], None]:
    return lambda p, _mp: (p / "results" / "corpus").rename(p / "results" / os.fsdecode(raw_name))


def second_store_with(mutate: Callable) -> Callable[[Path, pytest.MonkeyPatch], None]:
    """A copy of the stored experiment beside it (``results/copy``), its table changed by ``mutate``."""
    def apply(p: Path, _mp) -> None:
        shutil.copytree(p / "results" / "corpus", p / "results" / "copy")
        path = p / "results" / "copy" / "runs.parquet"
        pq.write_table(mutate(pq.read_table(path)), path)
    return apply


def unnamed_enospc_on_figures(_p: Path, mp: pytest.MonkeyPatch) -> None:
    """A full disk while a figure is written, as the OS reports it: the failed write names no file."""
    original = Path.write_bytes

    def fake(self, data):
        if str(self).endswith(".png.tmp"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(self, data)
    mp.setattr(Path, "write_bytes", fake)


TRACE_LINE = '100  10:00:00.{us:06d} getpid() = 100 <0.000001>\n'
BAD_UTF8 = os.fsdecode(b"exp-\xff.yaml")
PLOT = lambda p: ["plot", str(p / "results")]  # noqa: E731
REPORT = lambda p: ["report", str(p / "results")]  # noqa: E731
COLLECT = lambda p: ["collect", str(p / "results"), "--results", str(p / "merged")]  # noqa: E731

ROBUST_CASES: list[Case] = [
    # ---- special files: refused in one line, never read (a FIFO blocked forever, /dev/zero ran out of memory)
    Case("experiment is a FIFO", "special", sweep(file="exp.fifo"),
         "exp.fifo: <top level>: is a FIFO (named pipe), not a regular file", setup=mkfifo("exp.fifo")),
    Case("experiment is /dev/zero", "special", lambda p: ["validate", "/dev/zero"],
         "/dev/zero: <top level>: is a character device, not a regular file"),
    Case("workload is a FIFO", "special", sweep(), "wl.fifo: <top level>: is a FIFO (named pipe)",
         setup=both(mkfifo("wl.fifo"), edit("exp.yaml", "workloads: [workload.yaml]", "workloads: [wl.fifo]"))),
    Case("platform is a symlink to /dev/zero", "special", sweep(), "platform.yaml: <top level>: is a character device",
         setup=link_to("platform.yaml", "/dev/zero")),
    Case("--set platform to a FIFO", "special", sweep("--set", "platform=./wl.fifo"), "is a FIFO (named pipe)",
         setup=mkfifo("wl.fifo")),
    Case("trace is a FIFO", "special", lambda p: ["workload", "import", str(p / "t.fifo")],
         "t.fifo: trace: is a FIFO (named pipe), not a trace file", setup=mkfifo("t.fifo")),
    Case("trace is /dev/zero", "special", lambda p: ["workload", "import", "/dev/zero"],
         "/dev/zero: trace: is a character device, not a trace file"),
    Case("runs.parquet is a FIFO", "special", REPORT, "runs.parquet: is a FIFO (named pipe), not a regular file",
         setup=both(cached_results, mkfifo("results/corpus/runs.parquet"))),
    Case("manifest is a FIFO", "special", COLLECT, "manifest.yaml: not a readable manifest: is a FIFO",
         setup=both(cached_results, mkfifo("results/corpus/manifest.yaml"))),
    Case("sensitivity summary is a FIFO", "special", PLOT, "summary.parquet: is a FIFO (named pipe)",
         setup=both(cached_results, sensitivity_file("x", b""), mkfifo("results/corpus/sensitivity/summary.parquet"))),
    Case("schema --out a FIFO", "special", lambda p: ["schema", "workload", "--out", str(p / "out.fifo")],
         "out.fifo: is a FIFO (named pipe), not a regular file; refusing to replace it",
         setup=mkfifo("out.fifo")),
    Case("workload show of a FIFO", "special", lambda p: ["workload", "show", str(p / "wl.fifo")],
         "wl.fifo: <top level>: is a FIFO (named pipe), not a regular file", setup=mkfifo("wl.fifo")),
    Case("experiment is a symlink loop", "special", validate(file="loop-a.yaml"),
         "loop-a.yaml: <top level>: cannot read file: Too many levels of symbolic links",
         setup=both(link_to("loop-a.yaml", "loop-b.yaml"), link_to("loop-b.yaml", "loop-a.yaml"))),
    Case("--results is a symlink loop", "special", lambda p: sweep()(p)[:-1] + [str(p / "loop-a")],
         "results folder is a symlink that leads nowhere",
         setup=both(link_to("loop-a", "loop-b"), link_to("loop-b", "loop-a"))),
    Case("trace is a symlink loop", "special", lambda p: ["workload", "import", str(p / "loop-a")],
         "cannot read: Too many levels of symbolic links",
         setup=both(link_to("loop-a", "loop-b"), link_to("loop-b", "loop-a"))),

    # ---- size and nesting limits, each with its override
    Case("YAML file over VEILPERF_MAX_YAML_SIZE", "limit", sweep(),
         "platform.yaml: <top level>: larger than 1 KiB (set VEILPERF_MAX_YAML_SIZE",
         setup=setenv("VEILPERF_MAX_YAML_SIZE", "1KiB")),
    Case("bad VEILPERF_MAX_YAML_SIZE", "limit", sweep(), "environment variable VEILPERF_MAX_YAML_SIZE='lots'",
         setup=setenv("VEILPERF_MAX_YAML_SIZE", "lots")),
    Case("trace over VEILPERF_MAX_TRACE_SIZE", "limit", lambda p: ["workload", "import", str(p / "long.strace")],
         "long.strace: trace: holds more than 0 MiB of trace; set VEILPERF_MAX_TRACE_SIZE",
         setup=both(setenv("VEILPERF_MAX_TRACE_SIZE", "1KiB"),
                    write("long.strace", "".join(TRACE_LINE.format(us=i) for i in range(100))))),
    Case("gzip bomb of newlines", "limit", lambda p: ["workload", "import", str(p / "bomb.strace.gz")],
         "bomb.strace.gz: trace: holds more than 1 MiB of trace once decompressed",
         setup=both(setenv("VEILPERF_MAX_TRACE_SIZE", "1MiB"), write_gz("bomb.strace.gz", b"\n" * (4 << 20)))),
    Case("corrupt gzip trace", "limit", lambda p: ["workload", "import", str(p / "bad.strace.gz")],
         "bad.strace.gz: trace: cannot read", setup=write("bad.strace.gz", b"\x1f\x8b\x08\x00" + b"\x00" * 40)),
    Case("truncated gzip trace", "limit", lambda p: ["workload", "import", str(p / "cut.strace.gz")],
         "cut.strace.gz: trace: cannot read: Compressed file ended",
         setup=lambda p, mp: (p / "cut.strace.gz").write_bytes(__import__("gzip").compress(TRACE.read_bytes())[:200])),
    Case("experiment nested 300 deep (validate)", "limit", validate(), "nested more than 64 levels deep",
         setup=append("exp.yaml", f"deep: {nested(300)}\n")),
    Case("experiment nested 990 deep (sweep)", "limit", sweep(), "nested more than 64 levels deep",
         setup=append("exp.yaml", f"deep: {nested(990)}\n")),
    Case("workload nested 250 deep (workload show)", "limit", lambda p: ["workload", "show", str(p / "workload.yaml")],
         "workload.yaml: <top level>: invalid YAML: nested more than 64 levels deep",
         setup=append("workload.yaml", f"deep: {nested(250)}\n")),
    Case("--set value nested 500 deep", "limit", sweep("--set", f"setup.x={nested(500)}"),
         "--set: setup.x: cannot read value"),

    # ---- text that is not UTF-8: arguments, stored files, folder names
    Case("file argument not UTF-8", "encoding", sweep(file=BAD_UTF8), "argument 2 ('"),
    Case("--set value not UTF-8", "encoding", sweep("--set", os.fsdecode(b"name=\xfe")), "is not UTF-8 text"),
    Case("--results not UTF-8", "encoding", lambda p: sweep()(p)[:-1] + [os.fsdecode(b"r\xff")], "is not UTF-8 text"),
    Case("manifest with an invalid UTF-8 byte (report)", "encoding", REPORT,
         "manifest.yaml: not a readable manifest: not UTF-8 text",
         setup=both(cached_results, lambda p, mp: _append_bytes(p / "results/corpus/manifest.yaml", b"x: \xff\n"))),
    Case("manifest with an invalid UTF-8 byte (plot)", "encoding", PLOT, "not a readable manifest: not UTF-8 text",
         setup=both(cached_results, lambda p, mp: _append_bytes(p / "results/corpus/manifest.yaml", b"x: \xff\n"))),
    Case("manifest with an invalid UTF-8 byte (collect)", "encoding", COLLECT, "not a readable manifest: not UTF-8",
         setup=both(cached_results, lambda p, mp: _unchecked_manifest_with(p, b"x: \xff\n"))),
    Case("checksummed manifest with an invalid UTF-8 byte (collect)", "encoding", COLLECT,
         "manifest.yaml: edited", setup=both(cached_results, lambda p, mp: _append_bytes(
             p / "results/corpus/manifest.yaml", b"x: \xff\n"))),
    Case("results folder name not UTF-8 (report)", "encoding", REPORT, "results/c\\xff': folder name is not UTF-8 text",
         setup=both(cached_results, rename_experiment_folder(b"c\xff"))),
    Case("results folder name not UTF-8 (plot)", "encoding", PLOT, "folder name is not UTF-8 text",
         setup=both(cached_results, rename_experiment_folder(b"c\xff"))),
    Case("results folder name not UTF-8 (collect)", "encoding", COLLECT, "folder name is not UTF-8 text",
         setup=both(cached_results, rename_experiment_folder(b"c\xff"))),

    # ---- stored files veilperf did not write (corrupt, other columns, other types)
    Case("corrupt sensitivity summary (report)", "stored", REPORT,
         "sensitivity/summary.parquet: not a readable sensitivity table",
         setup=both(cached_results, sensitivity_file("summary.parquet", b"junk"))),
    Case("corrupt sensitivity summary (plot)", "stored", PLOT, "not a readable sensitivity table",
         setup=both(cached_results, sensitivity_file("summary.parquet", b"junk"))),
    Case("sensitivity summary without its columns", "stored", REPORT,
         "summary.parquet: not a sensitivity table veilperf wrote: no column",
         setup=both(cached_results, lambda p, mp: _write_parquet(p / "results/corpus/sensitivity/summary.parquet"))),
    Case("runs.parquet without point_id (sweep)", "stored", sweep("--set", "seed=2"),
         "runs.parquet: not a results file veilperf wrote: no column point_id",
         setup=both(cached_results, rewrite_runs(lambda t: t.drop(["point_id"])))),
    Case("runs.parquet with integer point ids (sweep)", "stored", sweep("--set", "seed=2"),
         "runs.parquet: column point_id is int64, not the text veilperf writes",
         setup=both(cached_results, rewrite_runs(with_column("point_id", lambda v: list(range(len(v))))))),
    Case("runs.parquet with integer point ids (collect)", "stored", COLLECT, "column point_id is int64",
         setup=both(cached_results, rewrite_runs(with_column("point_id", lambda v: list(range(len(v))))))),
    Case("two stores disagree on a column's type (collect)", "stored",
         lambda p: ["collect", str(p / "results" / "corpus"), str(p / "results" / "copy"),
                    "--results", str(p / "merged")],
         "column sim_time_ns is double there but string in",
         setup=both(cached_results, second_store_with(with_column("sim_time_ns", lambda v: [str(x) for x in v])))),
    Case("runs.parquet without its basis column (report)", "stored", REPORT,
         "corpus/runs.parquet: runs measured by sim_time need column sim_time_ns, which is missing",
         setup=both(cached_results, rewrite_runs(lambda t: t.drop(["sim_time_ns"])))),
    Case("full disk while drawing, the write naming no file", "stored", PLOT,
         "figures/claims.png: No space left on device", setup=both(cached_results, unnamed_enospc_on_figures)),

    # ---- cluster options
    Case("--scheduler-timeout x", "cluster", sweep("--executor", "dask", "--scheduler-timeout", "x"),
         "--scheduler-timeout x: expected a positive number of seconds"),
    Case("--no-workers-timeout 0", "cluster", sweep("--executor", "dask", "--no-workers-timeout", "0"),
         "--no-workers-timeout 0: expected a positive number of seconds"),
    Case("--no-workers sometimes", "cluster", sweep("--executor", "dask", "--no-workers", "sometimes"),
         "--no-workers sometimes: expected one of exit, wait"),
    Case("--scheduler-timeout without dask", "cluster", sweep("--scheduler-timeout", "5"),
         "--scheduler-timeout needs --executor dask"),
    Case("sensitivity --no-workers-timeout without dask", "cluster",
         lambda p: ["sensitivity", str(p / "exp.yaml"), "--no-workers-timeout", "5"],
         "--no-workers-timeout needs --executor dask"),
]


def _append_bytes(path: Path, data: bytes) -> None:
    with open(path, "ab") as out:
        out.write(data)


def _unchecked_manifest_with(p: Path, extra: bytes) -> None:
    """The stored manifest without its checksum line (as before checksums), ``extra`` appended."""
    path = p / "results" / "corpus" / "manifest.yaml"
    lines = [line for line in path.read_bytes().splitlines(keepends=True) if not line.startswith(b"checksum:")]
    path.write_bytes(b"".join(lines) + extra)


def _write_parquet(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(__import__("pyarrow").table({"experiment": ["corpus"]}), path)


@pytest.mark.parametrize("case", ROBUST_CASES, ids=[f"{c.cls}: {c.id}" for c in ROBUST_CASES])
def test_robust_case_gives_one_line_and_the_right_exit_code(project, monkeypatch, capsys, case):
    test_bad_input_gives_one_line_and_the_right_exit_code(project, monkeypatch, capsys, case)


def test_robust_corpus_covers_each_class():
    counts = {cls: sum(c.cls == cls for c in ROBUST_CASES)
              for cls in ("special", "limit", "encoding", "stored", "cluster")}
    assert sum(counts.values()) == len(ROBUST_CASES) >= 40
    assert all(n >= 4 for n in counts.values()), counts


@pytest.mark.parametrize("argv", [sweep("--set", "seed=2"), COLLECT])
def test_an_error_about_a_library_message_stays_short(project, capsys, argv):
    """A results table without point_id made pyarrow list the whole schema: a 13 KB error line."""
    cached_results(project, None)
    rewrite_runs(lambda t: t.drop(["point_id"]))(project, None)
    capsys.readouterr()
    assert cli.main(argv(project)) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and len(err) < 300, err


def test_a_sweep_beside_a_manifest_with_an_invalid_byte_writes_it_anew(project, capsys):
    """All points cached: the stored manifest (no checksum, an invalid UTF-8 byte) cannot be read,
    which the sweep says in one note before writing it anew (a traceback before)."""
    cached_results(project, None)
    _unchecked_manifest_with(project, b"x: \xff\n")
    capsys.readouterr()
    assert cli.main(sweep()(project)) == 0
    out, err = capsys.readouterr()
    assert err == "" and "Traceback" not in out
    assert "note: corpus: manifest.yaml is not a readable manifest; written anew from this sweep" in out
    (project / "results" / "corpus" / "manifest.yaml").read_text(encoding="utf-8")  # valid again
