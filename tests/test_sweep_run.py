"""Sweeps that really simulate: same table on every executor, crash safety, failures, bad input."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.feather as feather
import pytest
from kill_support import kill_when

from veilperf.cli import main
from veilperf.errors import ConfigError
from veilperf.sweep.collect import collect
from veilperf.sweep.engine import plan, run_sweep
from veilperf.sweep.options import parse_shard

FIXTURES = Path(__file__).parent / "fixtures" / "sweep"
EXPERIMENT = FIXTURES / "experiment.yaml"
FAILING = FIXTURES / "failing.yaml"
PROVENANCE = ["wall_s", "git_commit"]  # wall-clock time, and a commit that moves while others work


def table(results: Path, name: str = "sweeptest", drop: list[str] = PROVENANCE) -> pd.DataFrame:
    frame = pd.read_parquet(results / name / "runs.parquet")
    return frame.drop(columns=drop).sort_values("point_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The fixture experiment run in this process (--jobs 1)."""
    results = tmp_path_factory.mktemp("jobs1")
    summary = run_sweep([EXPERIMENT], results_dir=results, jobs=1)
    assert (summary.failed, summary.experiments[0].run) == (0, 16)
    return results


def test_reference_table_is_complete_and_paired(reference):
    frame = table(reference)
    assert len(frame) == 16 and (frame["error"] == "").all()
    assert frame["sim_time_ns"].gt(0).all()
    pairs = frame.groupby(["pair_key", "replication"])
    assert pairs.size().eq(2).all()
    assert pairs["seed"].nunique().eq(1).all()
    assert sorted(pairs["role"].apply(lambda roles: tuple(sorted(roles))).unique()) == [("baseline", "treatment")]
    assert not (reference / "sweeptest" / "parts").exists()


def test_two_local_processes_give_the_same_table(reference, tmp_path):
    run_sweep([EXPERIMENT], results_dir=tmp_path, jobs=2)
    pd.testing.assert_frame_equal(table(tmp_path), table(reference))


def test_dask_local_cluster_gives_the_same_table(reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, silence_logs=40) as cluster:
        run_sweep([EXPERIMENT], results_dir=tmp_path, executor="dask", scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(table(tmp_path), table(reference))


def test_rerun_uses_the_cache_and_force_recomputes(reference, tmp_path):
    assert run_sweep([EXPERIMENT], results_dir=tmp_path, jobs=1).changed
    first = table(tmp_path, drop=[])
    again = run_sweep([EXPERIMENT], results_dir=tmp_path, jobs=1)
    assert (again.experiments[0].run, again.experiments[0].cached, again.changed) == (0, 16, False)
    pd.testing.assert_frame_equal(table(tmp_path, drop=[]), first)  # wall_s too: nothing recomputed
    forced = run_sweep([EXPERIMENT], results_dir=tmp_path, jobs=1, force=True)
    assert (forced.experiments[0].run, forced.experiments[0].cached) == (16, 0)
    pd.testing.assert_frame_equal(table(tmp_path), table(reference))


def test_points_no_longer_in_the_experiment_leave_the_table(reference, tmp_path):
    run_sweep([EXPERIMENT], results_dir=tmp_path, jobs=1)
    fewer = run_sweep([EXPERIMENT], ["replications=1"], results_dir=tmp_path, jobs=1)
    assert (fewer.experiments[0].run, fewer.experiments[0].cached) == (0, 8)
    expected = table(reference)
    pd.testing.assert_frame_equal(table(tmp_path), expected[expected["replication"] == 0].reset_index(drop=True))


def test_failing_points_are_recorded_and_the_rest_complete(tmp_path):
    summary = run_sweep([FAILING], results_dir=tmp_path, jobs=2)
    frame = table(tmp_path, "sweepfail")
    # grid {40 KiB, 32 B} x 2 replications treatments + their 4 baselines (Log disabled there)
    assert len(frame) == 8
    bad = frame[frame["error"] != ""]
    assert len(bad) == summary.failed == 2
    assert (bad["role"] == "treatment").all() and (bad["cfg.setup.services.log.ring_size"].isna()).all()
    assert bad["error"].str.startswith("ValueError: ring capacity").all()
    good = frame[frame["error"] == ""]
    assert len(good) == 6 and good["sim_time_ns"].notna().all()
    assert (good.loc[good["role"] == "treatment", "cfg.setup.services.log.ring_size"] == 40 * 1024).all()
    rerun = run_sweep([FAILING], results_dir=tmp_path, jobs=1)
    assert (rerun.experiments[0].run, rerun.experiments[0].cached, rerun.failed) == (2, 6, 2)


@pytest.mark.parametrize("jobs", [1, 2])  # validated in this process, or on worker processes
def test_bad_point_fails_before_anything_runs_naming_file_and_key(tmp_path, jobs):
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXPERIMENT.read_text().replace("[1.6us, 6us]", "[1.6us, 6 parsecs]")
                   .replace("name: sweeptest", "name: sweepbad")
                   .replace("../../../configs", str(FIXTURES / "../../../configs"))
                   .replace("tiny-workload.yaml", str(FIXTURES / "tiny-workload.yaml")))
    calls = []
    with pytest.raises(ConfigError) as info:
        run_sweep([EXPERIMENT, bad], results_dir=tmp_path / "results", jobs=jobs, runner=calls.append)
    assert info.value.file == str(bad)
    assert "platform.params.switch_one_way" in info.value.key_path
    assert calls == [] and not (tmp_path / "results").exists()


def test_two_experiments_with_one_name_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="also used by"):
        plan([EXPERIMENT, EXPERIMENT], results_dir=tmp_path)


def test_shards_collected_equal_the_whole_sweep(reference, tmp_path):
    for k in (1, 2, 3):
        summary = run_sweep([EXPERIMENT], results_dir=tmp_path / f"shard{k}", jobs=1, shard=parse_shard(f"{k}/3"))
        assert summary.experiments[0].points == summary.experiments[0].run
    merged = collect([tmp_path / f"shard{k}" for k in (1, 2, 3)], tmp_path / "merged")
    assert [(s.rows, s.expected) for s in merged] == [(16, 16)]
    pd.testing.assert_frame_equal(table(tmp_path / "merged"), table(reference))


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "veilperf.cli", *args]


def test_sigkill_mid_sweep_loses_nothing_and_rerun_recomputes_only_the_rest(reference, tmp_path):
    # Longer runs (overriding the zip's run length) so the kill lands mid-way.
    args = ["sweep", str(EXPERIMENT), "--jobs", "1", "--results", str(tmp_path), "--no-plots",
            "--set", "run.iterations=20000"]
    parts = tmp_path / "sweeptest" / "parts"
    process = kill_when(cli(*args), lambda: any(parts.glob("*.arrow")))
    assert process.returncode == -signal.SIGKILL
    assert not (tmp_path / "sweeptest" / "runs.parquet").exists()
    survived = pd.concat([feather.read_table(p).to_pandas() for p in parts.glob("*.arrow")])
    assert 0 < len(survived) < 16

    rerun = subprocess.run(cli(*args), capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{16 - len(survived)} run, {len(survived)} cached, 0 failed" in rerun.stdout
    final = pd.read_parquet(tmp_path / "sweeptest" / "runs.parquet").set_index("point_id")
    # rows finished before the kill were kept as they were, not recomputed (same wall time)
    assert final.loc[survived["point_id"], "wall_s"].tolist() == survived["wall_s"].tolist()

    clean = tmp_path / "clean"
    run_sweep([EXPERIMENT], ["run.iterations=20000"], results_dir=clean, jobs=2)
    pd.testing.assert_frame_equal(table(tmp_path), table(clean))


def test_cli_bad_flags_exit_2_with_one_line(tmp_path, capsys):
    for flags in (["--shard", "3/2"], ["--jobs", "0"], ["--jobs", "x"], ["--executor", "slurm"],
                  ["--scheduler", "tcp://127.0.0.1:1"]):
        code = main(["sweep", str(EXPERIMENT), "--results", str(tmp_path), *flags])
        err = capsys.readouterr().err
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert err.startswith("veilperf: error: --")
    assert not any(tmp_path.iterdir())


def test_dry_run_lists_every_point_and_writes_nothing(tmp_path, capsys):
    assert main(["sweep", str(EXPERIMENT), "--dry-run", "--results", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("sweeptest: 16 points (8 treatment, 8 baseline), 16 to run")
    assert len(lines) == 17 and all("platform.params.switch_one_way=" in line for line in lines[1:])
    assert not any(tmp_path.iterdir())


def test_collect_refuses_shards_of_different_runs(tmp_path):
    from veilperf.sweep.options import SweepError

    run_sweep([EXPERIMENT], results_dir=tmp_path / "a", jobs=1, shard=parse_shard("1/2"))
    run_sweep([EXPERIMENT], ["seed=8"], results_dir=tmp_path / "b", jobs=1, shard=parse_shard("2/2"))
    with pytest.raises(SweepError, match="different runs"):
        collect([tmp_path / "a", tmp_path / "b"], tmp_path / "merged")
    assert not (tmp_path / "merged").exists()


def test_four_sweeps_into_one_folder_at_once_equal_one_sweep(reference, tmp_path):
    """Issue 14: concurrent sweeps queue on the results root's lock; none fails, the table is a
    single sweep's, no part or temporary file is left."""
    args = ["sweep", str(EXPERIMENT), "--jobs", "1", "--results", str(tmp_path)]
    sweeps = [subprocess.Popen(cli(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(4)]
    ended = [(process.wait(timeout=240), *process.communicate()) for process in sweeps]
    for code, out, err in ended:
        assert code == 0, err
        assert "Traceback" not in out + err and "error" not in err, err
    assert sum("16 run, 0 cached" in out for _, out, _ in ended) == 1
    assert sum("0 run, 16 cached" in out for _, out, _ in ended) == 3
    pd.testing.assert_frame_equal(table(tmp_path), table(reference))
    assert not (tmp_path / "sweeptest" / "parts").exists()
    assert not list(tmp_path.rglob("*.tmp")) and not (tmp_path / ".veilperf.holder").exists()
    assert (tmp_path / "REPORT.md").is_file()


def _whole_files(results: Path) -> None:
    """Every visible file under ``results`` is complete: PNGs end with their IEND chunk, the report
    with its last line; only hidden temporaries may be cut short (a kill lands between write and rename)."""
    for path in results.rglob("*"):
        if not path.is_file() or path.name.startswith("."):
            continue
        data = path.read_bytes()
        if path.suffix == ".png":
            assert data.endswith(b"IEND\xaeB`\x82"), path
        if path.name == "REPORT.md":
            assert data.endswith(b"\n") and data.count(b"\n") > 10, path


def test_sigkill_during_report_writing_leaves_whole_files_and_the_next_sweep_rebuilds(tmp_path):
    """The kill-and-resume test during the report phase: SIGKILL at moments while figures and
    REPORT.md are being written never leaves a half-written visible file, and a sweep afterwards
    ends with a report equal to one written without interruption."""
    results = tmp_path / "results"
    run_sweep([EXPERIMENT], ["replications=1"], results_dir=results, jobs=1)  # the points: cached below
    args = cli("sweep", str(EXPERIMENT), "--jobs", "1", "--results", str(results), "--set", "replications=1")
    figures = results / "figures"
    for delay in (0.0, 0.8):
        (results / "REPORT.md").unlink(missing_ok=True)  # the sweep then regenerates the report
        kill_when(args, figures.is_dir, delay=delay)
        _whole_files(results)
        assert not (results / "sweeptest" / "parts").exists()

    rerun = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0 and "Traceback" not in rerun.stderr, rerun.stderr
    _whole_files(results)
    clean = tmp_path / "clean"
    shutil.copytree(results / "sweeptest", clean / "sweeptest")
    assert main(["report", str(clean)]) == 0
    assert (results / "REPORT.md").read_text().replace(str(results), "R") == \
        (clean / "REPORT.md").read_text().replace(str(clean), "R")


def test_ctrl_c_with_worker_processes_is_one_line_and_keeps_finished_points(tmp_path):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) during a --jobs 2 sweep:
    workers ignore it, the parent stops them and says what is saved, in one line, exit 130."""
    args = cli("sweep", str(EXPERIMENT), "--jobs", "2", "--results", str(tmp_path), "--no-plots",
               "--set", "run.iterations=20000")
    parts = tmp_path / "sweeptest" / "parts"
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    deadline = time.monotonic() + 60
    while not any(parts.glob("*.arrow")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert out == "" and len(err.splitlines()) == 1 and "Traceback" not in err, err
    saved = sum(feather.read_table(p).num_rows for p in parts.glob("*.arrow"))
    assert err.startswith(f"veilperf: interrupted: saved {saved} of 16 new points of sweeptest in ")
    assert 0 < saved < 16
    time.sleep(0.5)
    alive = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout.split()
    assert alive == []  # no orphaned worker


def test_points_are_validated_where_they_are_planned_and_where_they_run(tmp_path, monkeypatch):
    """Issue 23: the driver holds no config, so a point is validated on the worker that plans it
    (before anything runs) and again on the worker that runs it; the manifest's provenance
    validates the first point of each workload on each platform (here one) -- nothing else."""
    from veilperf.config import loader

    validated = []
    real = loader.RunConfig.model_validate

    def counting(data, *args, **kwargs):
        validated.append(data.get("seed"))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(loader.RunConfig, "model_validate", counting)
    summary = run_sweep([EXPERIMENT], results_dir=tmp_path, jobs=1)
    assert summary.experiments[0].run == 16 and summary.failed == 0
    assert len(validated) == 2 * 16 + 1
