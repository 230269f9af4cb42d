"""`veilperf compare` end to end (issue 21.1): three tiny programs recorded at test time, under each
protected service, through the sweep engine; the table, its md/csv/json files and the crossings
figure, and bad options refused in one line."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from veilperf import cli

PROGRAMS = {
    "stats": "import os\nfor _ in range(3000): os.stat('/')",
    "writes": "import os\nf = os.open('/dev/null', os.O_WRONLY)\nfor _ in range(3000): os.write(f, b'x')",
    "sums": "print(sum(i * i for i in range(300000)))",
}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> list[Path]:
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    folder = tmp_path_factory.mktemp("programs")
    files = []
    for name, code in PROGRAMS.items():
        out = folder / f"{name}.yaml"
        assert cli.main(["workload", "record", "--runs", "2", "--name", name, "--out", str(out), "--",
                         sys.executable, "-S", "-c", code]) == 0
        files.append(out)
    return files


@pytest.fixture(scope="module")
def compared(recorded, tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("compare") / "out"
    args = ["compare", *map(str, recorded), "--out", str(out), "--replications", "2", "--jobs", "1"]
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        assert cli.main(args) == 0
    return out, text.getvalue()


def test_compare_prints_one_row_per_program_and_service(compared):
    _, out = compared
    rows = [line.split()[:3] for line in out.splitlines() if line.split()[:1] and line.split()[0] in PROGRAMS]
    assert sorted(tuple(r[:2]) if r[1] != "log" else (r[0], " ".join(r[1:3])) for r in rows) == sorted(
        (p, s) for p in PROGRAMS for s in ("enc", "kci", "log all", "log file+net"))
    # 3 programs x (4 service settings + the CVM baseline they share) x 2 replications
    assert "compare: 30 points: 30 run, 0 cached, 0 failed" in out


def test_compare_writes_md_csv_json_and_the_crossings_figure(compared):
    out, _ = compared
    table = pd.read_csv(out / "compare.csv")
    assert len(table) == 12 and set(table["program"]) == set(PROGRAMS)
    assert json.loads((out / "compare.json").read_text())[0].keys() == set(table.columns)
    assert (out / "compare.md").read_text().startswith("# What Veil would cost these programs")
    assert (out / "crossings.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "results" / "compare" / "runs.parquet").is_file()


def test_the_table_agrees_with_what_the_programs_do(compared):
    """Independent expectations: the stat loop's top enclave call is its stat; kci has nothing to
    mediate in a user program (0%); narrower audit rules never cost more than auditing every call;
    the native time is the one `record` measured."""
    out, _ = compared
    table = pd.read_csv(out / "compare.csv").set_index(["program", "service"])
    assert table.loc[("stats", "enc"), "top_calls"].split()[0] in ("newfstatat", "stat", "statx")
    assert table.loc[("writes", "enc"), "top_calls"].split()[0] == "write"
    for program in PROGRAMS:
        assert table.loc[(program, "kci"), "overhead_pct"] == 0.0
        assert table.loc[(program, "log file+net"), "overhead_pct"] <= table.loc[(program, "log all"), "overhead_pct"]
        assert table.loc[(program, "enc"), "crossings_per_s"] > 0
    assert table.loc[("stats", "enc"), "crossings_per_s"] > table.loc[("sums", "enc"), "crossings_per_s"]
    assert set(table["native_source"]) == {"measured"}


def test_rerunning_compare_resumes_from_the_cache(compared, recorded, capsys):
    out, _ = compared
    assert cli.main(["compare", *map(str, recorded), "--out", str(out), "--replications", "2", "--jobs", "1",
                     "--format", "csv"]) == 0
    assert "30 points: 0 run, 30 cached, 0 failed" in capsys.readouterr().out


@pytest.mark.parametrize("option, message", [
    (["--services", "enc,tls"], "--services: enc,tls: unknown service 'tls'; choose from enc, log, kci (comma-separated)"),
    (["--format", "pdf"], "--format: pdf: choose from md, csv, json (comma-separated)"),
])
def test_bad_options_are_one_line(tmp_path, capsys, option, message):
    workload = Path(__file__).resolve().parents[1] / "workloads" / "gzip.yaml"
    assert cli.main(["compare", str(workload), "--out", str(tmp_path / "o"), *option]) == 2
    assert capsys.readouterr().err.strip() == f"veilperf: error: {message}"


def test_compare_refuses_two_programs_of_one_name(tmp_path, capsys):
    gzip = Path(__file__).resolve().parents[1] / "workloads" / "gzip.yaml"
    other = tmp_path / "other.yaml"
    other.write_text(gzip.read_text().replace("traces/", str(gzip.parent / "traces") + "/"))
    assert cli.main(["compare", str(gzip), str(other), "--out", str(tmp_path / "o")]) == 2
    assert "is named 'gzip' too" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # refused before anything was written
