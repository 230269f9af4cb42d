"""One writer per results root: waiting, --no-wait, re-entry, forked workers, and a sweep with
nothing to run writing nothing (also on a read-only root)."""

from __future__ import annotations

import errno
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from veilperf.errors import VeilperfError
from veilperf.sweep.engine import run_sweep
from veilperf.sweep.lock import HOLDER_NAME, LOCK_NAME, LockBusy, locked_results, results_lock
from veilperf.sweep.paths import ResultsIOError
from veilperf.sweep.store import ResultsStore

EXPERIMENT = Path(__file__).parent / "fixtures" / "sweep" / "experiment.yaml"
HOLD = ("import sys, time\nfrom veilperf.sweep.lock import results_lock\n"
        "with results_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(float(sys.argv[2]))\n")


def hold(root: Path, seconds: float) -> subprocess.Popen:
    """Another process holding ``root`` for ``seconds`` (returns once it holds it)."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(root), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_no_wait_names_the_holder(tmp_path):
    holder = hold(tmp_path, 30)
    try:
        with pytest.raises(LockBusy) as busy:
            with results_lock(tmp_path, wait=False):
                pass
        message = str(busy.value)
        assert f"pid {holder.pid} on {socket.gethostname()} since " in message
        assert "\n" not in message and message.startswith(f"{tmp_path}: results folder in use by ")
    finally:
        holder.kill()
        holder.wait()


def test_report_and_plot_lock_the_root_of_an_experiment_folder(tmp_path):
    run_sweep([EXPERIMENT], ["replications=1"], results_dir=tmp_path, jobs=1)
    holder = hold(tmp_path, 30)
    try:
        with pytest.raises(LockBusy, match=f"pid {holder.pid} "):
            with locked_results([tmp_path / "sweeptest"], wait=False):
                pass
    finally:
        holder.kill()
        holder.wait()
    with locked_results([tmp_path / "sweeptest", tmp_path / "missing"], wait=False):
        assert not (tmp_path / "sweeptest" / LOCK_NAME).exists()  # the root's lock, not a second one


def test_a_second_command_waits_with_a_message_then_proceeds(tmp_path):
    holder = hold(tmp_path, 2.0)
    said: list[str] = []
    started = time.monotonic()
    with results_lock(tmp_path, say=said.append) as lock:
        waited = time.monotonic() - started
        assert lock.writable
        assert (tmp_path / HOLDER_NAME).read_text().startswith(f"pid {os.getpid()} ")
    holder.wait()
    assert waited > 1.0  # the holder kept it for 2 s
    assert said == [said[0]] and said[0].startswith(f"veilperf: waiting for {tmp_path}: in use by pid {holder.pid} ")
    assert not (tmp_path / HOLDER_NAME).exists()


def test_the_lock_is_reentrant_in_one_process(tmp_path):
    with results_lock(tmp_path) as outer, results_lock(tmp_path) as inner:
        assert inner is outer
    with results_lock(tmp_path, wait=False):  # released: free again
        pass


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def test_forked_workers_do_not_keep_the_lock(tmp_path):
    """A worker forked while the parent holds the lock must not hold it after the parent lets go
    (else a killed sweep's orphaned workers would block every later sweep)."""
    with results_lock(tmp_path):
        child = multiprocessing.get_context("fork").Process(target=_sleep, args=(5,))
        child.start()
    try:
        holder = hold(tmp_path, 0)  # another process gets it while the child still runs
        holder.wait()
        assert child.is_alive()
    finally:
        child.kill()
        child.join()


def test_a_created_root_left_empty_is_removed(tmp_path):
    root = tmp_path / "new"
    with results_lock(root):
        assert (root / LOCK_NAME).exists()
    assert not root.exists()
    root.mkdir()
    with results_lock(root):
        pass
    assert root.is_dir()  # it was there before: kept


def test_results_root_that_is_a_file_is_one_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(VeilperfError, match="results folder is a file, not a folder"):
        with results_lock(tmp_path / "file"):
            pass


def files_with_times(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_a_sweep_with_nothing_to_run_writes_nothing(tmp_path):
    run_sweep([EXPERIMENT], ["replications=1"], results_dir=tmp_path, jobs=1)
    before = files_with_times(tmp_path)
    again = run_sweep([EXPERIMENT], ["replications=1"], results_dir=tmp_path, jobs=1)
    assert (again.experiments[0].run, again.experiments[0].cached, again.changed) == (0, 8, False)
    assert files_with_times(tmp_path) == before  # the manifest is not rewritten either


def _read_only(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """Every write under ``root`` fails as on a read-only mount (EROFS)."""
    def inside(path) -> bool:
        return str(path).startswith(str(root))

    def guard(original, is_write):
        def call(path, *args, **kwargs):
            if inside(path) and is_write(*args):
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
            return original(path, *args, **kwargs)
        return call

    writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC
    monkeypatch.setattr(os, "open", guard(os.open, lambda flags=0, *a: bool(flags & writes)))
    for name in ("replace", "rename", "unlink", "rmdir", "mkdir"):
        monkeypatch.setattr(os, name, guard(getattr(os, name), lambda *a: True))


def test_a_cached_sweep_on_a_read_only_root_succeeds_and_new_points_are_refused(tmp_path, monkeypatch):
    run_sweep([EXPERIMENT], ["replications=1"], results_dir=tmp_path, jobs=1)
    (tmp_path / LOCK_NAME).unlink()  # as if the folder were copied to a read-only medium
    before = files_with_times(tmp_path)
    _read_only(monkeypatch, tmp_path)
    again = run_sweep([EXPERIMENT], ["replications=1"], results_dir=tmp_path, jobs=1)
    assert (again.experiments[0].run, again.experiments[0].cached) == (0, 8)
    with pytest.raises(ResultsIOError, match="results folder is read-only, but sweeptest has points to store"):
        run_sweep([EXPERIMENT], ["replications=2"], results_dir=tmp_path, jobs=1, runner=pytest.fail)
    monkeypatch.undo()
    assert files_with_times(tmp_path) == before


def test_stores_stay_inside_the_results_root(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "results" / "linked").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ResultsIOError, match="refusing to write outside the results folder"):
        ResultsStore.of(tmp_path / "results", "linked")
    assert ResultsStore.of(tmp_path / "results", "fine").directory == tmp_path / "results" / "fine"
