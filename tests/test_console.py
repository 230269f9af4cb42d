"""The end-of-sweep summary (analysis/report/console.py): one line per row, what each mark means,
saturated servers flagged instead of an overhead, and the whole summary of every shipped
experiment within 120 lines of 120 columns (issue 21.2, 19.4)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from rich.console import Console

from fixtures.analysis.synthetic import write_results
from veilperf import cli
from veilperf.analysis.claims.verdicts import check_claims
from veilperf.analysis.report.console import Summary, cell_text, experiment_lines, print_summary
from veilperf.analysis.report.outputs import load_figure_data

ROOT = Path(__file__).resolve().parents[1]


def _summary(data, experiments, width=120) -> str:
    console = Console(width=width, record=True, force_terminal=False)
    print_summary(data, experiments, check_claims(data.over, data.calibration), console)
    return console.export_text()


def test_summary_of_synthetic_results_has_one_line_per_row_and_explains_its_marks(tmp_path):
    data = load_figure_data([write_results(tmp_path)])[0]
    text = _summary(data, ["enclave", "logging"])
    lines = text.splitlines()
    # enclave: 3 settings (the service as built and the server at two loads) x 3 workloads: one line each
    start = lines.index("enclave: whole-run overhead vs the SNP CVM, % (calibrated costs)")
    assert re.fullmatch(r"workload\s+enc\s+enc 1k req/s\s+enc 5k req/s", lines[start + 1].strip())
    rows = {line.split()[0]: line.split()[1:] for line in lines[start + 3:start + 6]}
    # synthetic overheads: gzip/enc 4%, sqlite/enc 15% with 40% of it one-off set-up (flagged with †)
    assert rows == {"gzip": ["4.00"], "kvstore": ["90.3", "89.5"], "sqlite": ["14.9†"]}
    # logging has one setting: its points fold into one line; find's native time was estimated (*)
    # and its ring lost 60% of the audit records (the synthetic store's)
    assert "logging: whole-run overhead vs the SNP CVM, % (calibrated costs), log all:" in lines
    assert "  find*: 80.3 (lost 60%), gzip: 1.50" in lines
    assert any(line.startswith("† the one-off set-up (enclave creation) is more than 25%") for line in lines)
    assert any(line.startswith("* native run time estimated from the trace alone") for line in lines)
    assert "saturated" not in text  # nothing saturated, nothing said
    assert "Protected services cost 2–64% on real workloads" in text


def test_labels_are_shown_literally_not_as_markup():
    rows = pd.DataFrame([{"experiment": "logging", "workload": w, "service": "log", "shown": s, "label": s,
                          "overhead_pct": 1.0, "oneoff_share": 0.0, "basis": "sim_time"}
                         for w in ("a", "b") for s in ("log [file, network]", "log all")])
    console = Console(width=120, record=True)
    for item in experiment_lines("logging", rows, {}, Summary(), 120):
        console.print(item)
    assert "[1] log [file, network]" in console.export_text()


def test_a_saturated_point_prints_saturated_not_an_overhead():
    row = pd.Series({"overhead_pct": 7673.0, "oneoff_share": 0.0, "saturated": True, "service": "enc",
                     "basis": "latency"})
    assert cell_text(row) == "saturated"
    assert cell_text(row.drop("saturated")) == "7673"


def test_a_saturated_redis_server_is_flagged_in_the_sweep_table_and_csv(tmp_path, capsys):
    """configs/servers.yaml at 30,000 requests/s: the enclave's server needs more VCPU time per second
    than it has (its record's offered load is above 1), the CVM's and the audited one's do not."""
    results = tmp_path / "results"
    code = cli.main(["sweep", str(ROOT / "configs" / "servers.yaml"), "--results", str(results), "--jobs", "1",
                     "--set", "workload.arrival_rate=30000/s", "--set", "replications=1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "servers: whole-run overhead vs the SNP CVM, % (calibrated costs), redis:" in out
    assert re.search(r"\n  enc: saturated, log file\+net: [\d.]+\n", out)
    assert "saturated: the server could not keep up with its offered load" in out
    table = pd.read_csv(results / "overheads.csv").set_index("service")
    assert bool(table.loc["enc", "saturated"]) and not bool(table.loc["log", "saturated"])
    runs = pd.read_parquet(results / "servers" / "runs.parquet").set_index(["role", "service"])
    assert runs.loc[("treatment", "enc"), "offered_load"] > 1 > runs.loc[("baseline", "none"), "offered_load"]


def test_the_summary_of_every_shipped_experiment_fits_120_lines_of_120_columns(main_command_results):
    data = load_figure_data([main_command_results])[0]
    text = _summary(data, sorted(set(data.runs["experiment"])))
    lines = text.splitlines()
    sweep_lines = len(list((ROOT / "configs").glob("*.yaml"))) + 1  # what `sweep` prints before it
    assert len(lines) + sweep_lines <= 120, text
    assert max(map(len, lines)) <= 120
    for experiment in sorted(set(data.over.loc[data.over["kind"] == "workload", "experiment"])):  # boot: its claim
        assert any(line.startswith(f"{experiment}: whole-run overhead") for line in lines), experiment
    assert "Logging: every audit record is its own service call" in text
    assert "lost: audit records overwritten in the log ring" in text
