"""A --set on a swept key replaces that sweep axis (config/set_axes.py): the points, their listing
and their labels say the values the runs used (issue 19.1)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from veilperf import cli
from veilperf.config.loader import load_experiment
from veilperf.config.set_axes import fold_overrides
from veilperf.errors import ConfigError
from veilperf.sweep.engine import describe_points, plan
from veilperf.sweep.points import axis_values, expand, raw_point

FIXTURES = Path(__file__).parent / "fixtures" / "sweep"
EXPERIMENT = FIXTURES / "experiment.yaml"  # grid switch_one_way [1.6us, 6us] x zip (iterations, memcpy) x 2 reps
ROOT = Path(__file__).resolve().parents[1]


def test_a_grid_axis_becomes_the_one_value_set():
    grid, zips, notes = fold_overrides({"a.b": [1, 2, 3]}, [], [("a.b", 7)])
    assert grid == {"a.b": [7]} and zips == []
    assert notes == ["--set a.b=7 replaces the sweep axis [1, 2, 3]"]


def test_a_zip_member_is_replaced_in_every_row_and_identical_rows_run_once():
    group = {"s": ["1.6us", "2.07us", "6us", "2.07us", "2.07us"], "size": [None, None, None, "4MiB", "64MiB"]}
    _, zips, notes = fold_overrides({}, [group], [("s", "3us")])
    assert zips == [{"s": ["3us"] * 3, "size": [None, "4MiB", "64MiB"]}]
    assert notes == ["--set s=3us replaces the sweep axis [1.6us, 2.07us, 6us] (sweep.zip.0, with size: 5 rows -> 3)"]


def test_a_key_inside_a_swept_mapping_is_set_in_each_value():
    grid, _, notes = fold_overrides({"rules": [{"select": "all"}, {"select": "classes", "classes": ["file"]}]}, [],
                                    [("rules.classes", ["network"])])
    assert grid["rules"] == [{"select": "all", "classes": ["network"]}, {"select": "classes", "classes": ["network"]}]
    assert notes[0].startswith("--set rules.classes=[network] is set in every value of the sweep axis rules")


def test_a_set_holding_a_swept_key_is_refused_in_one_line():
    with pytest.raises(ConfigError) as caught:
        fold_overrides({}, [{"setup.services.enc.enclave_size": [None, "4MiB"]}], [("setup.services.enc", {"enabled": True})])
    text = str(caught.value)
    assert text.startswith("--set: setup.services.enc: would replace setup.services.enc.enclave_size")
    assert "\n" not in text


def test_the_platform_axis_is_left_to_the_platforms():
    grid, _, notes = fold_overrides({"platform": ["milan", "genoa"]}, [], [("platform.params.x", 1)], skip=("platform",))
    assert grid == {"platform": ["milan", "genoa"]} and notes == []


def test_every_treatment_of_a_set_on_a_grid_axis_runs_and_is_listed_at_that_value():
    exp = load_experiment(EXPERIMENT, ["platform.params.switch_one_way=3us"])
    points = expand(exp)
    assert exp.grid["platform.params.switch_one_way"] == ["3us"]
    assert exp.notes == ("--set platform.params.switch_one_way=3us replaces the sweep axis [1.6us, 6us]",)
    # 1 switch value x 2 zip rows x 2 replications, each with its baseline (the baseline runs at the same 3 us)
    assert len(points) == 8
    for point in points:
        assert raw_point(exp, point)["platform"]["params"]["switch_one_way"]["value"] == "3us"
        assert axis_values(exp, point)["platform.params.switch_one_way"] == "3us"


def test_the_dry_run_lists_what_each_point_runs_with(tmp_path):
    """enclave.yaml's baseline runs at 2.07 us whatever its treatment's switch: the listing said 1.6 us."""
    lines = describe_points(plan([ROOT / "configs" / "enclave.yaml"], ["platform.params.switch_one_way=3us"],
                                 results_dir=tmp_path))
    assert lines[1] == ("  note: --set platform.params.switch_one_way=3us replaces the sweep axis [1.6us, 2.07us, "
                        "6us] (sweep.zip.0, with setup.services.enc.enclave_size, setup.services.enc.page_tables, "
                        "setup.services.enc.touched_share: 8 rows -> 6)")
    points = [line.split() for line in lines[2:]]
    assert len(points) == 7 * 6 * 3 + 21  # 7 workloads x 6 rows x 3 replications + their baselines
    switch = {(p[1], p[5]) for p in points}
    assert switch == {("treatment", "platform.params.switch_one_way=3us"),
                      ("baseline", "platform.params.switch_one_way=2.07us")}


def test_sweep_csv_and_summary_of_a_set_on_a_swept_key_show_only_simulated_values(tmp_path, capsys):
    results = tmp_path / "results"
    code = cli.main(["sweep", str(ROOT / "configs" / "enclave.yaml"), "--results", str(results), "--jobs", "1",
                     "--set", f"workloads=[{ROOT / 'workloads' / 'gzip.yaml'}]", "--set", "replications=1",
                     "--set", "platform.params.switch_one_way=3us"])
    out = capsys.readouterr().out
    assert code == 0
    assert "note: --set platform.params.switch_one_way=3us replaces the sweep axis [1.6us, 2.07us, 6us]" in out
    assert "enclave: whole-run overhead vs the SNP CVM, % (at switch_one_way 3 us (milan profile: 2.07 us))" in out
    assert "calibrated costs" not in out
    assert "1.6 us" not in out and "6 us" not in out.replace("(milan profile: 2.07 us)", "")
    table = pd.read_csv(results / "overheads.csv")
    assert len(table) == 6 and all(label.endswith(" switch_one_way 3 us") for label in table["label"])
    assert {"enc 4MiB switch_one_way 3 us", "enc 64MiB switch_one_way 3 us", "enc switch_one_way 3 us"} <= set(
        table["label"])
    runs = pd.read_parquet(results / "enclave" / "runs.parquet")
    treatments = runs[runs["role"] == "treatment"]
    assert set(treatments["cfg.platform.params.switch_one_way.value"]) == {3000.0}
    assert set(treatments["costs.switch.unt_enc_ns"]) == {3000.0}
