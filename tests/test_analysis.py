"""Analysis layer: loading, pairing and overheads against hand-computed values (no simulation)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from veilperf.analysis import ResultsError, load_results, overheads
from veilperf.analysis.tables.stats import ci_half_width, t975

T975_DF2 = 4.302652729911275  # Student t, 97.5% quantile, 2 degrees of freedom (standard tables)


def run(role: str, replication: int, **extra) -> dict:
    """One record with the identity columns; metrics and cfg.* columns come in ``extra``."""
    row = {
        "experiment": "exp", "point_id": f"{role}{replication}", "pair_key": "p1", "role": role,
        "replication": replication, "seed": 10 + replication, "workload": "gzip",
        "service": "enc" if role == "treatment" else "none", "mode": "veil" if role == "treatment" else "cvm",
        "cfg.run.iterations": 1000, "error": "",
    }
    row.update(extra)
    return row


def write(folder: Path, rows: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(folder / "runs.parquet", index=False)
    return folder


def test_overhead_is_paired_by_replication_with_a_hand_computed_t_interval():
    baseline = [100.0, 200.0, 300.0]
    treatment = [110.0, 210.0, 330.0]  # per replication: +10%, +5%, +10%
    rows = [run("treatment", i, sim_time_ns=t) for i, t in enumerate(treatment)]
    rows += [run("baseline", i, sim_time_ns=b) for i, b in enumerate(baseline)]
    table = overheads(pd.DataFrame(rows[::-1]))  # row order must not matter
    assert len(table) == 1
    row = table.iloc[0]
    per_rep = [10.0, 5.0, 10.0]
    mean = sum(per_rep) / 3
    sd = math.sqrt(sum((x - mean) ** 2 for x in per_rep) / 2)
    half = T975_DF2 * sd / math.sqrt(3)
    assert row["overhead_pct"] == pytest.approx(mean)
    assert row["ci_low"] == pytest.approx(mean - half, rel=1e-3)
    assert row["ci_high"] == pytest.approx(mean + half, rel=1e-3)
    assert row["n"] == 3 and row["basis"] == "sim_time" and row["service"] == "enc"
    assert row["increment_ns"] == pytest.approx((10 + 10 + 30) / 3)


def test_one_replication_has_a_degenerate_interval():
    table = overheads(pd.DataFrame([run("treatment", 0, sim_time_ns=110.0), run("baseline", 0, sim_time_ns=100.0)]))
    row = table.iloc[0]
    assert row["overhead_pct"] == pytest.approx(10.0)
    assert row["ci_low"] == row["ci_high"] == row["overhead_pct"]


def test_fixed_duration_runs_compare_throughput():
    rows = [run("treatment", 0, **{"cfg.run.iterations": None, "cfg.run.duration": 1e9}, sim_time_ns=1e9,
                throughput_per_s=800.0),
            run("baseline", 0, **{"cfg.run.iterations": None, "cfg.run.duration": 1e9}, sim_time_ns=1e9,
                throughput_per_s=1000.0)]
    row = overheads(pd.DataFrame(rows)).iloc[0]
    assert row["basis"] == "throughput"
    assert row["overhead_pct"] == pytest.approx((1000 / 800 - 1) * 100)


def test_iteration_runs_use_time_per_completed_iteration():
    rows = [run("treatment", 0, sim_time_ns=300.0, completed=2), run("baseline", 0, sim_time_ns=100.0, completed=1)]
    assert overheads(pd.DataFrame(rows)).iloc[0]["overhead_pct"] == pytest.approx(50.0)


def test_open_loop_runs_compare_mean_latency():
    rows = [run("treatment", 0, **{"cfg.workload.loop": "open"}, sim_time_ns=1e9, latency_mean_ns=150.0),
            run("baseline", 0, **{"cfg.workload.loop": "open"}, sim_time_ns=1e9, latency_mean_ns=100.0)]
    row = overheads(pd.DataFrame(rows)).iloc[0]
    assert row["basis"] == "latency" and row["overhead_pct"] == pytest.approx(50.0)


def test_boot_runs_give_the_increment_in_ns():
    rows = [run("treatment", 0, workload="boot", service="none", **{"boot.total_ns": 9.5e9}),
            run("baseline", 0, workload="boot", service="none", **{"boot.total_ns": 8.0e9})]
    row = overheads(pd.DataFrame(rows)).iloc[0]
    assert row["kind"] == "boot" and row["increment_ns"] == pytest.approx(1.5e9)
    assert row["overhead_pct"] == pytest.approx(18.75)


def test_failed_and_unpaired_runs_are_left_out():
    rows = [run("treatment", 0, sim_time_ns=110.0), run("baseline", 0, sim_time_ns=100.0),
            run("treatment", 1, sim_time_ns=999.0, error="RuntimeError: boom"), run("baseline", 1, sim_time_ns=100.0),
            run("treatment", 2, sim_time_ns=500.0)]  # no baseline for replication 2
    table = overheads(pd.DataFrame(rows))
    assert table.iloc[0]["n"] == 1 and table.iloc[0]["overhead_pct"] == pytest.approx(10.0)
    assert table.attrs["failed_runs"] == 1


def test_treatments_sharing_one_baseline_are_separate_points_with_axes_and_counts():
    rows = []
    for rules, cost, switches in (("all", 150.0, 40.0), ("file", 120.0, 10.0)):
        rows += [run("treatment", i, service="log", sim_time_ns=cost, switches_total=switches,
                     **{"cfg.setup.services.log.rules.select": rules, "cause.switch_ns": 5.0}) for i in range(2)]
    rows += [run("baseline", i, sim_time_ns=100.0, switches_total=0.0, **{"cause.switch_ns": 0.0}) for i in range(2)]
    table = overheads(pd.DataFrame(rows)).sort_values("overhead_pct")
    assert table["overhead_pct"].tolist() == pytest.approx([20.0, 50.0])
    assert table["cfg.setup.services.log.rules.select"].tolist() == ["file", "all"]
    assert table["setting"].tolist() == ["rules.select=file", "rules.select=all"]
    assert table["switches_total"].tolist() == [10.0, 40.0]
    assert table["cause.switch_ns"].tolist() == [5.0, 5.0]
    assert "cfg.run.iterations" not in table.columns  # constant, so not a sweep axis


def test_t_quantiles_match_tables_and_approach_the_normal():
    assert t975(2) == pytest.approx(T975_DF2, rel=1e-3)
    assert t975(10) == pytest.approx(2.228139, rel=1e-3)
    assert t975(50) == pytest.approx(2.008559, rel=2e-3)  # interpolated between 40 and 60
    values = [t975(df) for df in range(1, 500)]
    assert all(a >= b for a, b in zip(values, values[1:])) and 1.96 < values[-1] < 1.97
    assert ci_half_width(3.0, 1) == 0.0 and ci_half_width(3.0, 4) == pytest.approx(3.182446 * 3.0 / 2, rel=1e-3)


def test_load_concatenates_experiments_with_different_columns(tmp_path: Path):
    write(tmp_path / "exp", [run("treatment", 0, sim_time_ns=110.0), run("baseline", 0, sim_time_ns=100.0)])
    write(tmp_path / "boot", [run("treatment", 0, experiment="boot", workload="boot", **{"boot.total_ns": 2.0}),
                              run("baseline", 0, experiment="boot", workload="boot", **{"boot.total_ns": 1.0})])
    df = load_results(tmp_path)
    assert sorted(df["experiment"].unique()) == ["boot", "exp"]
    assert df.loc[df["experiment"] == "boot", "sim_time_ns"].isna().all()
    assert len(load_results(tmp_path / "boot")) == 2
    assert sorted(overheads(df)["kind"]) == ["boot", "workload"]


def not_parquet(folder: Path) -> Path:
    folder.mkdir()
    (folder / "runs.parquet").write_text("experiment,role\n")
    return folder


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda p: p / "absent", "no such results directory"),
        (lambda p: p, "holds no runs.parquet"),
        (lambda p: not_parquet(p / "exp"), "not a readable Parquet"),
        (lambda p: write(p / "exp", [{"experiment": "exp", "sim_time_ns": 1.0}]),
         "missing required column(s): pair_key, role, replication, workload, service, mode"),
        (lambda p: write(p / "exp", [run("treatment", 0)]), "has none of the metric columns"),
        (lambda p: write(p / "exp", [run("control", 0, sim_time_ns=1.0)]), "column role has value(s) ['control']"),
    ],
)
def test_missing_or_malformed_results_name_the_file(tmp_path: Path, make, expected):
    target = make(tmp_path)
    with pytest.raises(ResultsError) as info:
        load_results(target)
    assert expected in str(info.value)
    assert str(tmp_path) in str(info.value)


def test_settings_name_only_what_distinguishes_a_point():
    from veilperf.analysis.tables.labels import describe_setting

    axes = ["cfg.setup.services.log.rules.classes.0", "cfg.setup.services.log.rules.classes.1",
            "cfg.setup.services.log.rules.select", "cfg.setup.vcpu_model", "cfg.run.iterations"]
    row = pd.Series({"service": "log", "cfg.setup.services.log.rules.classes.0": "file",
                     "cfg.setup.services.log.rules.classes.1": "network", "cfg.setup.services.log.rules.select": "classes",
                     "cfg.setup.vcpu_model": "static", "cfg.run.iterations": 5000.0})
    assert describe_setting(row, axes) == \
        "rules.classes=[file, network], rules.select=classes, vcpu_model=static, run.iterations=5000"
    # the log rules of a run that does not use the log service say nothing about it
    assert describe_setting(row.replace({"log": "enc"}), axes) == "vcpu_model=static, run.iterations=5000"


def test_steady_state_takes_the_one_off_set_up_out_of_the_treatments_elapsed_time():
    # per replication: baseline 1000 ns/iteration; treatment 1300 ns/iteration of which 200 ns one-off
    # (oneoff_ns = 200 x 1000 iterations): whole run +30%, steady state +10%, one-off share 2/3
    rows = [run("treatment", i, sim_time_ns=1.3e6, completed=1000, oneoff_ns=2e5) for i in range(3)]
    rows += [run("baseline", i, sim_time_ns=1.0e6, completed=1000, oneoff_ns=0.0) for i in range(3)]
    row = overheads(pd.DataFrame(rows)).iloc[0]
    assert row["overhead_pct"] == pytest.approx(30.0)
    assert row["steady_pct"] == pytest.approx(10.0)
    assert row["oneoff_share"] == pytest.approx(2 / 3)
    # throughput basis (fixed duration): 1000 done in 1.3 ms, 0.2 ms of it set-up -> same figures
    fixed = [{**r, "cfg.run.iterations": None, "cfg.run.duration": 1.3e6 if r["role"] == "treatment" else 1e6,
              "throughput_per_s": 1000 / r["sim_time_ns"] * 1e9} for r in rows]
    row = overheads(pd.DataFrame(fixed)).iloc[0]
    assert row["basis"] == "throughput" and row["steady_pct"] == pytest.approx(10.0)


def test_without_oneoff_the_steady_state_is_unknown_not_zero():
    rows = [run("treatment", 0, sim_time_ns=110.0), run("baseline", 0, sim_time_ns=100.0)]
    table = overheads(pd.DataFrame(rows))
    row = table.iloc[0]
    assert row["overhead_pct"] == pytest.approx(10.0)
    assert math.isnan(row["steady_pct"]) and math.isnan(row["oneoff_share"])
    assert not table.attrs["steady_known"] and not row["native_estimated"]
    rows[0]["native_estimated"] = True
    assert overheads(pd.DataFrame(rows)).iloc[0]["native_estimated"]


def test_point_labels_say_what_the_record_simulated():
    """A point's label is read from its record's values: the service's short label from its spec
    settings, the experiment's other axes in short words, platform parameters with their unit."""
    from veilperf.analysis.tables.labels import point_label

    log_row = {"service": "log", "cfg.setup.services.log.rules.select": "classes",
               "cfg.setup.services.log.rules.classes.0": "file", "cfg.setup.services.log.rules.classes.1": "network",
               "cfg.setup.services.log.records_per_call": 8, "cfg.setup.vcpus": 4,
               "cfg.workload.arrival_rate": 5000.0, "cfg.platform.params.switch_one_way.value": 3000.0}
    axes = ["cfg.setup.services.log.records_per_call", "cfg.setup.vcpus", "cfg.workload.arrival_rate",
            "cfg.platform.params.switch_one_way.value"]
    assert point_label(log_row, axes) == "log file+net batch 8 4 VCPUs 5k req/s switch_one_way 3 us"
    assert point_label({"service": "none", "cfg.setup.vcpus": 1}, ["cfg.setup.vcpus"]) == "1 VCPU"
    assert point_label({"service": "none"}, []) == "no service"
    assert point_label({"service": "enc", "cfg.setup.services.enc.switchless": True}, []) == "enc switchless"
