"""The shipped notebooks are stored without outputs and execute headless against a results store
the test writes (synthetic numbers; the notebooks never simulate)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from fixtures.analysis.synthetic import write_results

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
KERNEL = "veilperf-test"


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory) -> dict[str, str]:
    """A kernelspec running this interpreter (so a fresh CI venv is used), and a results store."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"}))
    return {"JUPYTER_PATH": str(root), "VEILPERF_RESULTS": str(write_results(root / "results", replications=2))}


@pytest.mark.parametrize("name", ["analysis", "boot"])
def test_notebook_is_stored_without_outputs(name):
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


@pytest.mark.parametrize("name", ["analysis", "boot"])
def test_notebook_executes_against_a_results_store(name, kernel_env, monkeypatch):
    for key, value in kernel_env.items():
        monkeypatch.setenv(key, value)
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    NotebookClient(notebook, kernel_name=KERNEL, timeout=120,
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) + o.get("text", "") for o in outputs)
    if name == "analysis":
        assert "overhead_pct" in text and "holds" in text
        # every figure veilperf plot draws for this store: claims, crossings and 10 of the experiments'
        assert sum("image/png" in o.get("data", {}) for o in outputs) == 12
        assert "overhead at 0.5 us %" in text
    else:
        assert "increment (s)" in text and "phase delta (ms)" in text
