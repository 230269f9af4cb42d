"""Sensitivity studies on a model with a known answer, determinism, resume after SIGKILL, bad input.

The known-answer model: an enclave whose program makes ocalls (10 us of computation, then a 1 us
system call). Per ocall Veil adds two one-way switches and two channel copies (in and out, no
bytes), plus a few switches to create the enclave, so the overhead is linear in switch_one_way and
channel_fixed, and PVALIDATE (boot-time page validation) is never used. With ranges 1-2 us and
0.1-0.4 us, Morris mu* must be in the ratio switches x 1 us : copies x 0.3 us, sigma 0 (linear, no
interaction), and PVALIDATE 0; Sobol ST about 0.92, 0.08, 0 (variance shares of uniform inputs:
1^2 : 0.3^2).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pyarrow.feather as feather
import pytest
from kill_support import kill_when

from veilperf.cli import main
from veilperf.config.loader import load_experiment
from veilperf.sensitivity import load_indices, load_summaries, run_sensitivity
from veilperf.sensitivity.assumptions import assumptions_of
from veilperf.sensitivity.figure import tornado
from veilperf.sensitivity.sampling import make_plan

ROOT = Path(__file__).resolve().parents[1]
MILAN = ROOT / "configs" / "platforms" / "milan.yaml"
KNOWN = ["--only", "switch_one_way=1us:2us", "channel_fixed=0.1us:0.4us", "pvalidate=0.1us:2us"]
PARAMS = ["switch_one_way=1us:2us", "channel_fixed=0.1us:0.4us", "pvalidate=0.1us:2us"]

WORKLOAD = """\
name: ocalls
provenance: {{source: synthetic}}
iterations: {iterations}
steps:
  - compute: 10us
  - syscall: {{name: getpid, kernel: 1us}}
"""

EXPERIMENT = """\
name: known
kind: workload
platform: {platform}
workloads: [ocalls.yaml]
setup:
  mode: veil
  vcpus: 2              # room for the switchless worker of the design alternative
  services:
    enc: {{enabled: true, enclave_size: 64KiB}}
seed: 3
sweep:
  zip:
    - platform.params.switch_one_way: [1.6us, 6us]
      setup.services.enc.switchless: [false, true]
"""


def write_experiment(directory: Path, iterations: int = 200) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ocalls.yaml").write_text(WORKLOAD.format(iterations=iterations))
    file = directory / "known.yaml"
    file.write_text(EXPERIMENT.format(platform=MILAN))
    return file


@pytest.fixture(scope="module")
def known(tmp_path_factory) -> Path:
    return write_experiment(tmp_path_factory.mktemp("known"))


def indices(result) -> pd.DataFrame:
    return result.indices.set_index("param")


def test_morris_ranks_the_two_used_costs_and_zeroes_the_unused_one(known, tmp_path):
    result = run_sensitivity(known, method="morris", samples=6, params=PARAMS, only=True, results_dir=tmp_path, jobs=1)
    table = indices(result)
    assert list(table.sort_values("rank").index) == ["switch_one_way", "channel_fixed", "pvalidate"]
    assert table.loc["pvalidate", "mu_star"] == 0.0
    # linear: mu* = d(overhead)/d(cost) x range, and overhead = (switches x switch + copies x channel
    # + constant) / baseline: the ratio is switches x 1 us over copies x 0.3 us (two copies per ocall)
    runs = pd.read_parquet(result.directory / "runs.parquet")
    treatment = runs[runs["role"] == "treatment"].iloc[0]
    expected = treatment["switches_total"] * 1.0 / (2 * treatment["enc.ocalls"] * 0.3)
    ratio = table.loc["switch_one_way", "mu_star"] / table.loc["channel_fixed", "mu_star"]
    assert ratio == pytest.approx(expected, rel=1e-9)
    assert table.loc[["switch_one_way", "channel_fixed"], "sigma"].max() < 1e-6 * table["mu_star"].max()
    # the switchless design alternative was dropped (Veil as built) and every cost pinned in the baseline
    assert result.study.dropped_axes == ["platform.params.switch_one_way", "setup.services.enc.switchless"]
    distinct = len(np.unique(result.study.plan.values, axis=0))  # Morris trajectories may share points
    assert len(result.study.pinned) == 3 and result.sweep.experiments[0].points == distinct + 1  # one baseline
    row = result.summary.iloc[0]
    assert row["top_params"] == "switch_one_way,channel_fixed"  # pvalidate moves nothing, so it is not named
    assert row["p5"] < row["p50"] < row["p95"]
    tornado(result.indices, tmp_path / "figure.png")
    height, width = matplotlib.image.imread(tmp_path / "figure.png").shape[:2]
    assert 400 < width <= 2400 and 300 < height <= 2400


BOOT = """\
name: bootstudy
kind: boot
platform: {platform}
setup: {{mode: veil, vcpus: 1}}
boot: {{memory: 1GiB, acceptance: eager}}
baseline: {{setup.mode: cvm}}
sweep:
  grid:
    boot.memory: [1GiB, 2GiB]
"""


def test_boot_baseline_keeps_the_costs_it_reads_so_they_cancel_in_the_increment(tmp_path):
    # A plain CVM boot also PVALIDATEs and accepts every page: pairing each sample with a baseline
    # at the same values makes those costs cancel in Veil's increment; RMPADJUST is Veil's alone.
    file = tmp_path / "boot.yaml"
    file.write_text(BOOT.format(platform=MILAN))
    result = run_sensitivity(file, samples=4, params=["pvalidate", "rmpadjust", "boot.accept_host"], only=True,
                             overrides=["boot.memory=1GiB"], results_dir=tmp_path / "results", jobs=1)
    assert result.study.pinned == ["platform.params.rmpadjust"]
    assert result.study.data["sweep"]["grid"] == {} and len(result.study.settings) == 1  # --set holds the axis
    table = indices(result)
    assert table.loc[["pvalidate", "boot.accept_host"], "mu_star"].max() < 1e-12 * table.loc["rmpadjust", "mu_star"]
    row = result.summary.iloc[0]
    assert (row["metric"], row["top_params"]) == ("boot_increment_s", "rmpadjust")
    runs = pd.read_parquet(result.directory / "runs.parquet")
    assert (runs["role"] == "baseline").sum() == len(np.unique(result.study.plan.values[:, [0, 2]], axis=0))


def test_sobol_total_index_of_the_unused_cost_is_zero(known, tmp_path):
    result = run_sensitivity(known, method="sobol", samples=64, params=PARAMS, only=True, results_dir=tmp_path, jobs=1)
    table = indices(result)
    assert abs(table.loc["pvalidate", "ST"]) < 1e-9 and abs(table.loc["pvalidate", "S1"]) < 1e-9
    assert table.loc["switch_one_way", "ST"] == pytest.approx(1 / 1.09, abs=0.05)
    assert table.loc["channel_fixed", "ST"] == pytest.approx(0.09 / 1.09, abs=0.03)
    assert list(table.sort_values("rank").index) == ["switch_one_way", "channel_fixed", "pvalidate"]
    stored = load_indices(tmp_path, "known")
    assert set(stored["param"]) == {"switch_one_way", "channel_fixed", "pvalidate"}
    summaries = load_summaries(tmp_path)
    assert list(summaries.columns) == ["experiment", "workload", "service", "metric", "p5", "p50", "p95",
                                       "n_samples", "method", "top_params", "share_in_band"]
    assert summaries[["experiment", "workload", "service", "metric", "method", "n_samples"]].values.tolist() == [
        ["known", "ocalls", "enc", "overhead_pct", "sobol", 64 * 5]]


def test_plan_is_deterministic_by_seed_and_log_uniform_on_wide_ranges(known):
    assumptions = assumptions_of(load_experiment(known), PARAMS, only=True)
    first, again = make_plan(assumptions, "morris", 4, seed=11), make_plan(assumptions, "morris", 4, seed=11)
    assert np.array_equal(first.values, again.values) and first.texts() == again.texts()
    assert not np.array_equal(first.values, make_plan(assumptions, "morris", 4, seed=12).values)
    switch, channel, pvalidate = assumptions
    assert (switch.log_scale, channel.log_scale, pvalidate.log_scale) == (False, False, True)  # 20x range
    levels = np.unique(np.round(first.values[:, 2], 6))
    # a 4-level Morris grid in log space: geometric steps between 100 ns and 2 us
    assert levels == pytest.approx(np.geomspace(100.0, 2000.0, 4), rel=1e-6)
    assert first.values[:, 0].min() >= 1000.0 and first.values[:, 0].max() <= 2000.0


def test_empty_results_root_has_no_summaries(tmp_path):
    summaries = load_summaries(tmp_path)
    assert summaries.empty and "top_params" in summaries.columns


def cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from veilperf.cli import main; sys.exit(main())", *args]


def test_sigkill_mid_study_then_rerun_computes_only_the_rest(tmp_path):
    file = write_experiment(tmp_path / "exp", iterations=20000)
    results = tmp_path / "results"
    args = ["sensitivity", str(file), "--samples", "3", "--jobs", "1", "--results", str(results), "--no-plots",
            "--params", *KNOWN[1:], "--only"]
    parts = results / "known" / "sensitivity" / "parts"
    process = kill_when(cli(*args), lambda: any(parts.glob("*.arrow")))
    assert process.returncode == -signal.SIGKILL
    survived = pd.concat([feather.read_table(p).to_pandas() for p in parts.glob("*.arrow")])
    total = 3 * 4 + 1
    assert 0 < len(survived) < total
    rerun = subprocess.run(cli(*args), capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{total - len(survived)} run, {len(survived)} cached, 0 failed" in rerun.stdout
    final = pd.read_parquet(results / "known" / "sensitivity" / "runs.parquet").set_index("point_id")
    assert final.loc[survived["point_id"], "wall_s"].tolist() == survived["wall_s"].tolist()  # not recomputed
    assert (results / "known" / "sensitivity" / "indices.parquet").is_file()


@pytest.mark.parametrize("flags, message", [
    (["--params", "switch_one_wya"], "--params: switch_one_wya: no platform parameter 'switch_one_wya'"),
    (["--params", "channel_fixed=1us:1us"], "--params: channel_fixed: empty range [1us, 1us]"),
    (["--params", "sha256_bandwidth"], "params.sha256_bandwidth: has no range"),
    (["--only"], "no parameter has a range"),
    (["--method", "fast"], "--method fast"),
    (["--method", "sobol", "--samples", "10"], "Sobol needs a power of two"),
])
def test_bad_input_is_one_line_exit_2_nothing_written(known, tmp_path, capsys, flags, message):
    code = main(["sensitivity", str(known), "--results", str(tmp_path / "results"), *flags])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert message in err
    assert not (tmp_path / "results").exists()


def test_platform_without_assumptions_is_rejected(known, tmp_path, capsys):
    import yaml

    platform = yaml.safe_load(MILAN.read_text())
    for section in ("params", "boot"):
        for node in platform[section].values():
            node.pop("range", None)
            if node["kind"] == "assumption":
                node["kind"] = "derived"
    (tmp_path / "flat.yaml").write_text(yaml.safe_dump(platform))
    file = tmp_path / "known.yaml"
    file.write_text(known.read_text().replace(str(MILAN), str(tmp_path / "flat.yaml")))
    (tmp_path / "ocalls.yaml").write_text((known.parent / "ocalls.yaml").read_text())
    code = main(["sensitivity", str(file), "--results", str(tmp_path / "results")])
    err = capsys.readouterr().err
    assert code == 2 and "flat.yaml: params: no parameter has a range" in err
    assert not (tmp_path / "results").exists()


def test_notebook_is_stored_without_outputs_and_reproduces_the_figure(known, tmp_path, monkeypatch):
    import json

    import nbformat
    from nbclient import NotebookClient

    notebook_file = ROOT / "notebooks" / "sensitivity.ipynb"
    notebook = nbformat.read(notebook_file, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)

    results = tmp_path / "results"
    run_sensitivity(known, samples=3, params=PARAMS, only=True, results_dir=results, jobs=1)
    kernels = tmp_path / "jupyter" / "kernels" / "veilperf-sens"
    kernels.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (kernels / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "sens", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("VEILPERF_RESULTS", str(results))
    NotebookClient(notebook, kernel_name="veilperf-sens", timeout=120,
                   resources={"metadata": {"path": str(notebook_file.parent)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) + o.get("text", "") for o in outputs)
    assert "1 studied workload x service rows" in text and "switch_one_way,channel_fixed" in text
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 1  # the one experiment's tornado


def test_experiment_without_baseline_is_rejected(known, tmp_path, capsys):
    file = tmp_path / "known.yaml"
    file.write_text(known.read_text() + "baseline: {}\n")
    (tmp_path / "ocalls.yaml").write_text((known.parent / "ocalls.yaml").read_text())
    code = main(["sensitivity", str(file), "--results", str(tmp_path / "results")])
    err = capsys.readouterr().err
    assert code == 2 and "known.yaml: baseline: a sensitivity study measures Veil against a baseline" in err
    assert not (tmp_path / "results").exists()


def test_tornado_panels_are_titled_by_what_tells_them_apart_and_fit():
    """Two logging settings of one workload keep only the part that differs (their shared `vcpus=1`
    and the enclave's only setting say nothing); every title fits its panel (the readability checker)."""
    from figure_checks import problems

    from veilperf.sensitivity.figure import panel_titles

    keys = [("gzip", "enc", "vcpus=4"), ("gzip", "log", "log.rules=select:all vcpus=1"),
            ("gzip", "log", "log.rules=select:classes,classes:[file,network] vcpus=1")]
    assert panel_titles(keys) == ["gzip · enc", "gzip · log\nrules select:all",
                                  "gzip · log\nrules select:classes, classes:[file, network]"]
    indices = pd.DataFrame([{"workload": w, "service": s, "setting": setting, "featured": True, "method": "morris",
                             "experiment": "x", "metric": "overhead_pct", "param": p, "mu_star": m, "sigma": m / 3}
                            for w, s, setting in keys for p, m in (("switch_one_way", 5.0), ("rmpadjust", 1.0))])
    figure = tornado(indices)
    assert problems(figure) == []
    assert [ax.get_title().split("\n")[0] for ax in figure.axes] == ["gzip · enc", "gzip · log", "gzip · log"]
