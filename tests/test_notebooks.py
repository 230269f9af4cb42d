"""The shipped notebooks are stored without outputs and execute headless right after the README's
main command, against its results (the notebooks never simulate).

The results are real: `veilperf sweep configs/*.yaml` run by the test, every shipped experiment
and point, with one replication each instead of the files' 2-3 (the full sweep takes ~50 s on a
busy 2-core machine, this one about half). A notebook that needs a study the main command does not
make (sensitivity) says which command makes it and skips its cells; run again after a small real
study (`veilperf sensitivity configs/kci.yaml --samples 2`) it shows it."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from veilperf import cli

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NAMES = ["analysis", "boot", "sensitivity"]
KERNEL = "veilperf-test"


@pytest.fixture(scope="module")
def results(main_command_results) -> Path:
    """The README's main command's experiments, swept into a fresh results folder (conftest.py),
    shared with other tests: read only."""
    return main_command_results


@pytest.fixture(scope="module")
def kernel_path(tmp_path_factory) -> str:
    """A kernelspec running this interpreter (so a fresh CI venv is used)."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"}))
    return str(root)


def execute(name: str, results: Path, kernel_path: str, monkeypatch) -> tuple[str, int]:
    """Run notebook ``name`` against ``results``: its text output and how many figures it showed;
    fails on any error output."""
    monkeypatch.setenv("JUPYTER_PATH", kernel_path)
    monkeypatch.setenv("VEILPERF_RESULTS", str(results))
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    NotebookClient(notebook, kernel_name=KERNEL, timeout=300,
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) + o.get("text", "") for o in outputs)
    return text, sum("image/png" in o.get("data", {}) for o in outputs)


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_stored_without_outputs(name):
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


def test_analysis_runs_after_the_main_command(results, kernel_path, monkeypatch):
    text, figures = execute("analysis", results, kernel_path, monkeypatch)
    assert "overhead_pct" in text and "holds" in text
    assert "overhead at 0.5 us %" in text  # the enclave experiment's switch-cost sweep, read at 0.5 us
    assert figures >= 10  # claims, crossings and the experiments' own


def test_boot_runs_after_the_main_command(results, kernel_path, monkeypatch):
    text, figures = execute("boot", results, kernel_path, monkeypatch)
    assert "increment (s)" in text and "phase delta (ms)" in text and figures >= 1


def test_sensitivity_says_which_command_makes_a_study_then_shows_it(results, kernel_path, monkeypatch, tmp_path):
    results = Path(shutil.copytree(results, tmp_path / "results"))  # the study is written into a copy
    text, figures = execute("sensitivity", results, kernel_path, monkeypatch)
    assert "No sensitivity study" in text and "veilperf sensitivity configs/" in text
    assert text.count("skipped: no sensitivity study yet") == 2 and figures == 0
    assert cli.main(["sensitivity", str(ROOT / "configs" / "kci.yaml"), "--results", str(results),
                     "--samples", "2", "--no-plots"]) == 0
    text, figures = execute("sensitivity", results, kernel_path, monkeypatch)
    assert "studied workload x service rows" in text and "skipped" not in text
    assert "mu_star" in text and figures == 1  # one tornado figure: the kci experiment's
