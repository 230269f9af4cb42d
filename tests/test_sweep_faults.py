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


# === Issue 20, items 5-6 and 8 (helper `robust`): signals, clusters, standard output and encodings.
# Real processes: a command is started, signalled or pointed at a real endpoint, and what it left
# behind is read from /proc. Every wait is bounded with a generous limit (the machine may be busy).

import http.server  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import yaml  # noqa: E402

TRACE = Path(__file__).parent / "fixtures" / "trace" / "single.strace"
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
    assert b"\\u2026" in shown.stdout or b"..." in shown.stdout  # the table's ellipsis, escaped


def test_a_c_locale_runs_and_validates(tmp_path):
    c_env = dict(os.environ, LC_ALL="C", LANG="C")
    c_env.pop("PYTHONIOENCODING", None)
    for args in (("validate", str(EXPERIMENT)), ("run", str(EXPERIMENT), "--set", "replications=1")):
        done = subprocess.run(cli(*args), capture_output=True, env=c_env, timeout=120)
        assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr
