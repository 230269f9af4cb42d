"""Lean records (issue 23 item 5): rows carry values, the manifest holds their provenance once,
and results read back exactly as every column of every run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
import yaml

from veilperf.analysis.tables.load import ResultsError, load_results
from veilperf.cli import main
from veilperf.config.loader import load_experiment
from veilperf.run import run_config
from veilperf.sweep.configs import Configs
from veilperf.sweep.engine import run_sweep
from veilperf.sweep.options import parse_shard
from veilperf.sweep.points import combinations, expand
from veilperf.sweep.provenance import PROVENANCE_ID, Provenance, is_provenance

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "sweep"
EXPERIMENT = FIXTURES / "experiment.yaml"
TINY = FIXTURES / "tiny-workload.yaml"
VOLATILE = ["wall_s", "git_commit"]


def experiment(tmp_path: Path, body: str, platform: str = "milan") -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(f"name: lean\nplatform: {platform}\nworkloads: [{TINY}]\nseed: 3\n"
                    "setup: {mode: veil, vcpus: 4, services: {enc: {enabled: true}}}\nrun: {iterations: 50}\n" + body)
    return path


def full_records(path: Path) -> dict[str, dict]:
    """Every point's record as the run layer gives it (every column), by point id."""
    exp = load_experiment(path)
    configs, combos = Configs(exp), combinations(exp)
    return {p.point_id: run_config(configs.build(p, combos[p.combination])) for p in expand(exp)}


def test_part_files_of_a_1000_point_sweep_hold_under_1_kb_per_row(tmp_path):
    """The issue's bound on a real sweep: 1,000 points of 169 columns (4 VCPUs, VeilS-Enc), stored
    as a shard so the part files stay; no row repeats the provenance text."""
    grid = ("sweep: {grid: {platform.params.switch_one_way: [1.0us, 1.2us, 1.4us, 1.6us, 1.8us, 2.0us, 2.2us, "
            "2.4us, 2.6us, 2.8us], setup.services.enc.timer_hz: [100Hz, 250Hz, 300Hz, 1000Hz, 2000Hz]}}\n")
    path = experiment(tmp_path, "replications: 10\n" + grid)
    summary = run_sweep([path], results_dir=tmp_path / "r", jobs=1, shard=parse_shard("1/1"))
    assert (summary.experiments[0].run, summary.failed) == (1000, 0)
    parts = sorted((tmp_path / "r" / "lean" / "parts").glob("*.arrow"))
    tables = [feather.read_table(p) for p in parts]
    rows = sum(t.num_rows for t in tables)
    assert rows == 1000 and sum(p.stat().st_size for p in parts) / rows <= 1024
    for table in tables:
        assert not [c for c in table.column_names if is_provenance(c)]
        assert all(table.column(PROVENANCE_ID).to_pylist())  # every row matched the manifest
        text = [c for c in table.column_names if pa.types.is_string(table.schema.field(c).type) and c != "git_commit"]
        assert max(len(v or "") for c in text for v in table.column(c).to_pylist()) <= 32  # values, not prose


def test_lean_rows_read_back_as_the_run_layer_gave_them(tmp_path):
    """Every cfg.* column of every loaded row equals the full record of that point, provenance
    columns included (put back from the manifest)."""
    run_sweep([EXPERIMENT], results_dir=tmp_path, jobs=1)
    stored = pq.read_table(tmp_path / "sweeptest" / "runs.parquet")
    assert PROVENANCE_ID in stored.column_names and not [c for c in stored.column_names if is_provenance(c)]
    loaded = load_results(tmp_path).set_index("point_id")
    assert PROVENANCE_ID not in loaded.columns
    expected = full_records(EXPERIMENT)
    assert set(loaded.index) == set(expected)
    provenance = [c for c in next(iter(expected.values())) if is_provenance(c)]
    assert len(provenance) > 100 and set(provenance) <= set(loaded.columns)
    for point_id, record in expected.items():
        row = loaded.loc[point_id]
        for column, value in record.items():
            if column.startswith("cfg."):
                assert row[column] == value or (value is None and pd.isna(row[column])), (point_id, column)


def test_a_row_whose_provenance_differs_keeps_its_own(tmp_path):
    """An axis over a parameter's source: the first value is the manifest's, rows of the second
    carry their own source; both read back right."""
    path = experiment(tmp_path, "sweep: {grid: {platform.params.rmpadjust.source: [as measured, as guessed]}}\n")
    run_sweep([path], results_dir=tmp_path / "r", jobs=1)
    stored = pq.read_table(tmp_path / "r" / "lean" / "runs.parquet").to_pandas()
    own = stored[PROVENANCE_ID] == ""
    assert set(stored.loc[own, "cfg.platform.params.rmpadjust.source"]) == {"as guessed"}
    assert stored.loc[~own, "cfg.platform.params.rmpadjust.source"].isna().all()
    manifest = yaml.safe_load((tmp_path / "r" / "lean" / "manifest.yaml").read_text())
    assert manifest["provenance"]["platforms"]["milan"]["params.rmpadjust.source"] == "as measured"
    loaded = load_results(tmp_path / "r").set_index("point_id")
    expected = full_records(path)
    assert {p: loaded.loc[p, "cfg.platform.params.rmpadjust.source"] for p in expected} == \
        {p: r["cfg.platform.params.rmpadjust.source"] for p, r in expected.items()}


def test_each_platform_keeps_its_own_provenance(tmp_path):
    """platform: [milan, genoa]: one manifest entry per platform, rows read back with their own
    platform's sources (from the profile files themselves)."""
    run_sweep([experiment(tmp_path, "", platform="[milan, genoa]")], results_dir=tmp_path / "r", jobs=1)
    manifest = yaml.safe_load((tmp_path / "r" / "lean" / "manifest.yaml").read_text())
    assert set(manifest["provenance"]["platforms"]) == {"milan", "genoa"}
    loaded = load_results(tmp_path / "r")
    for name in ("milan", "genoa"):
        profile = yaml.safe_load((ROOT / "configs" / "platforms" / f"{name}.yaml").read_text())
        rows = loaded[loaded["cfg.platform.name"] == name]
        assert len(rows) == 2
        assert set(rows["cfg.platform.params.switch_one_way.source"]) == {profile["params"]["switch_one_way"]["source"]}
        assert set(rows["cfg.platform.description"]) == {profile["description"]}


def test_a_missing_manifest_is_one_line_and_a_rerun_writes_it_anew(tmp_path, capsys):
    run_sweep([EXPERIMENT], results_dir=tmp_path, jobs=1)
    before = load_results(tmp_path).drop(columns=VOLATILE)
    (tmp_path / "sweeptest" / "manifest.yaml").unlink()
    with pytest.raises(ResultsError, match=r"runs\.parquet: 16 rows keep their sources, kinds, ranges and "
                                           r"descriptions in .*manifest\.yaml, which is missing.*rerun the sweep"):
        load_results(tmp_path)
    capsys.readouterr()
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "manifest.yaml, which is missing" in err[0]
    summary = run_sweep([EXPERIMENT], results_dir=tmp_path, jobs=1)
    assert summary.experiments[0].cached == 16 and "written anew" in summary.experiments[0].note
    pd.testing.assert_frame_equal(load_results(tmp_path).drop(columns=VOLATILE), before)


def test_rows_of_other_provenance_than_the_manifest_are_refused(tmp_path):
    run_sweep([EXPERIMENT], results_dir=tmp_path, jobs=1)
    path = tmp_path / "sweeptest" / "manifest.yaml"
    manifest = yaml.safe_load(path.read_text())
    manifest["provenance"]["platforms"]["milan"]["params.rmpadjust.source"] = "edited"
    path.write_text(yaml.safe_dump(manifest))
    with pytest.raises(ResultsError, match="platform 'milan', workload 'tiny' ran with other sources"):
        load_results(tmp_path)


def test_results_written_before_lean_records_read_as_they_are(tmp_path):
    """A table whose rows carry every column (no provenance_id), without a manifest, loads as is."""
    run_sweep([EXPERIMENT], results_dir=tmp_path / "new", jobs=1)
    whole = load_results(tmp_path / "new")
    old = tmp_path / "old" / "sweeptest"
    old.mkdir(parents=True)
    pq.write_table(pa.Table.from_pandas(whole, preserve_index=False), old / "runs.parquet")
    pd.testing.assert_frame_equal(load_results(tmp_path / "old").drop(columns=VOLATILE),
                                  whole.drop(columns=VOLATILE), check_like=False)


def test_provenance_columns_are_the_descriptive_ones():
    """What leaves the rows: descriptions, the workload's provenance, and each parameter's kind,
    source, note and range -- never a value, a name or a setting."""
    record = next(iter(full_records(EXPERIMENT).values()))
    provenance = {c for c in record if is_provenance(c)}
    values = {c for c in record if c.startswith("cfg.platform.") and c.endswith(".value")}
    assert values and not values & provenance
    for column in values:
        stem = column.removesuffix(".value")
        assert {f"{stem}.kind", f"{stem}.source", f"{stem}.note"} <= provenance
    assert {"cfg.description", "cfg.platform.description", "cfg.workload.description"} <= provenance
    assert {c for c in provenance if c.startswith("cfg.workload.")} == \
        {"cfg.workload.description"} | {c for c in record if c.startswith("cfg.workload.provenance")}
    assert not {"cfg.platform.name", "cfg.platform.switch_model", "cfg.name", "cfg.workload.name"} & provenance
    entry = Provenance()
    entry.add(record, "tiny")
    assert entry.columns("milan", "tiny") == {c: record[c] for c in provenance}
