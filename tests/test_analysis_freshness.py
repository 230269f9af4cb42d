"""The report keeps every experiment and is never called up to date after its inputs changed:
real sweeps of two tiny experiments, a sweep killed between its results write and its report, and
the content digests the staleness test rests on."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from kill_support import kill_when

from veilperf import cli
from veilperf.analysis.freshness import experiment_digest, report_key
from veilperf.analysis.report.outputs import Inputs, is_current

FIXTURES = Path(__file__).parent / "fixtures" / "sweep"
ROOT = Path(__file__).resolve().parents[1]


def experiment_file(folder: Path, name: str, iterations: int = 100) -> Path:
    """A one-point enclave experiment (plus its baseline) on the tiny sweep workload."""
    path = folder / f"{name}.yaml"
    path.write_text(f"""name: {name}
kind: workload
platform: {ROOT / 'configs' / 'platforms' / 'milan.yaml'}
workloads: [{FIXTURES / 'tiny-workload.yaml'}]
setup: {{mode: veil, vcpus: 1, services: {{enc: {{enabled: true}}}}}}
run: {{iterations: {iterations}}}
seed: 7
replications: 1
""")
    return path


def sweep(monkeypatch, *args: str) -> int:
    monkeypatch.setattr(cli, "COMMANDS", ("sweep",))
    return cli.main(["sweep", "--jobs", "1", *args])


def sections(report: Path) -> list[str]:
    return [line[4:] for line in report.read_text().splitlines() if line.startswith("### ")]


def test_sweeping_one_experiment_keeps_every_experiments_section(tmp_path, monkeypatch, capsys):
    alpha, beta = experiment_file(tmp_path, "alpha"), experiment_file(tmp_path, "beta")
    results = tmp_path / "results"
    assert sweep(monkeypatch, str(alpha), str(beta), "--results", str(results)) == 0
    report = results / "REPORT.md"
    assert {"alpha", "beta"} <= set(sections(report))
    beta_figures = {p.name: p.read_bytes() for p in (results / "figures").glob("beta-*.png")}
    assert beta_figures
    capsys.readouterr()

    # a different alpha (longer runs): its results change, beta's do not
    experiment_file(tmp_path, "alpha", iterations=300)
    assert sweep(monkeypatch, str(alpha), "--results", str(results)) == 0
    out = capsys.readouterr().out
    assert {"alpha", "beta"} <= set(sections(report))
    assert "rebuilt" in out and "reused" in out
    # beta's figures were reused as they were; the summary lists the experiment swept, with its name
    assert {p.name: p.read_bytes() for p in (results / "figures").glob("beta-*.png")} == beta_figures
    assert "\nalpha: whole-run overhead" in out and "beta: whole-run overhead" not in out
    assert is_current([results], report)

    # a cached sweep changes nothing: the report is up to date, the summary is printed anyway
    assert sweep(monkeypatch, str(beta), "--results", str(results), "--no-plots") == 0
    out = capsys.readouterr().out
    assert "\nbeta: whole-run overhead vs the SNP CVM" in out


def test_a_sweep_killed_after_its_results_write_leaves_a_report_the_next_run_rebuilds(tmp_path, monkeypatch, capsys):
    alpha, beta = experiment_file(tmp_path, "alpha"), experiment_file(tmp_path, "beta")
    results = tmp_path / "results"
    assert sweep(monkeypatch, str(alpha), "--results", str(results)) == 0
    report = results / "REPORT.md"
    assert sections(report)[-1:] != ["beta"] and is_current([results], report)
    capsys.readouterr()

    command = [sys.executable, "-m", "veilperf.cli", "sweep", str(alpha), str(beta), "--jobs", "1",
               "--results", str(results)]
    beta_runs = results / "beta" / "runs.parquet"
    kill_when(command, beta_runs.exists)
    assert beta_runs.exists(), "the sweep ended before writing its results"
    # killed before the report was rewritten: the old report is on disk, and it is not current
    assert "beta" not in sections(report)
    assert not is_current([results], report)

    # the rerun finds every point cached (no results change) and still rebuilds the report
    assert sweep(monkeypatch, str(alpha), str(beta), "--results", str(results)) == 0
    out = capsys.readouterr().out
    assert "0 run, 2 cached" in out and "rebuilt" in out
    assert {"alpha", "beta"} <= set(sections(report)) and is_current([results], report)


def test_digests_follow_the_content_not_the_sweep_date(tmp_path):
    folder = tmp_path / "exp"
    folder.mkdir()
    (folder / "runs.parquet").write_bytes(b"table v1")
    (folder / "manifest.yaml").write_text("experiment: exp\ndate: '2026-01-01T00:00:00+00:00'\npoints: 4\n")
    first = experiment_digest(folder)
    (folder / "manifest.yaml").write_text("experiment: exp\ndate: '2026-02-02T10:00:00+00:00'\npoints: 4\n")
    assert experiment_digest(folder) == first  # a rerun that only touched the date
    (folder / "runs.parquet").write_bytes(b"table v2")
    assert experiment_digest(folder) != first
    (folder / "runs.parquet").write_bytes(b"table v1")
    (folder / "manifest.yaml").write_text("experiment: exp\ndate: '2026-02-02T10:00:00+00:00'\npoints: 5\n")
    assert experiment_digest(folder) != first


def test_report_key_is_read_from_the_first_line_only(tmp_path):
    report = tmp_path / "REPORT.md"
    report.write_text("<!-- veilperf-inputs: 0123abcd -->\n# report\n")
    assert report_key(report) == "0123abcd"
    report.write_text("# report\n<!-- veilperf-inputs: 0123abcd -->\n")
    assert report_key(report) is None
    assert report_key(tmp_path / "missing.md") is None


def test_inputs_refuse_paths_without_results(tmp_path):
    from veilperf.analysis.tables.load import ResultsError

    with pytest.raises(ResultsError, match="no such results directory"):
        Inputs.of([tmp_path / "nowhere"])
