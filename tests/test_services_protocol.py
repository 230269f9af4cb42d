"""Adding a service is one module and one registry line: the example "notary" service
(``tests/notary_service.py``) plugged in, first straight into the model, then, with its registry
line added in a fresh interpreter and no other file touched, end to end: YAML validation of its
settings, its record columns, its line in the report's explanation and its figure label."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from notary_service import SPEC, NotaryService, NotarySettings
from services_support import nominal

from veilperf.build import model_inputs
from veilperf.model.system import System

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def test_a_new_service_plugs_into_the_model(make_cfg, milan_raw):
    """With the example service: time = native + calls x (two switches + the callee's map/unmap
    and dispatch + the handler), closed form from the profile's numbers; nothing else changes;
    the record holds exactly the columns its spec declares."""
    n = nominal(milan_raw)
    cfg = make_cfg([{"compute": "10us"}, {"syscall": {"name": "read", "kernel": "1us", "repeat": 3}}],
                   setup={"mode": "veil"}, run={"iterations": 40})
    plain = model_inputs(cfg)
    inputs = replace(plain, services=(("notary", NotaryService, NotarySettings(handler=500.0)),))
    record = System(inputs).run()
    baseline = System(plain).run()
    calls = 40 * 3
    assert record["notary.calls"] == calls
    assert record["switches.unt_ser"] == record["switches.ser_unt"] == calls
    expected = baseline["sim_time_ns"] + calls * (n.round_trip + 500.0)
    assert record["sim_time_ns"] == pytest.approx(expected, rel=1e-12)
    assert record["cause.service_ns"] == pytest.approx(calls * 500.0, rel=1e-12)
    assert record["costs.notary.call_ns"] == pytest.approx(n.round_trip + 500.0, rel=1e-12)
    assert {k for k in record if k.startswith(("notary.", "costs.notary."))} == {c.name for c in SPEC.columns}


EXPERIMENT = """\
name: notarised
kind: workload
platform: {platform}
workloads: [{workload}]
setup:
  mode: veil
  services:
    notary: {{enabled: true, handler: 2us}}
run: {{iterations: 300}}
replications: 1
"""

PLUGGED_IN = """\
import contextlib, io, json, sys
sys.path.insert(0, {tests!r})
from veilperf.services import registry
import notary_service
registry.SPECS = (*registry.SPECS, notary_service.SPEC)  # the one registry line

from veilperf import cli
from veilperf.analysis.figures.headline import crossings
from veilperf.analysis.report.outputs import Inputs
from veilperf.analysis.figures.style import service_color
from veilperf.analysis.tables.load import load_results

out = {{}}
errors = io.StringIO()
with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
    out["bad_rc"] = cli.main(["validate", {experiment!r}, "--set", "setup.services.notary.handler=5"])
out["bad"] = errors.getvalue()
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    out["sweep_rc"] = cli.main(["sweep", {experiment!r}, "--results", {results!r}, "--jobs", "1"])
runs = load_results({results!r})
treatment = runs[runs["role"] == "treatment"].iloc[0]
out["columns"] = sorted(c for c in runs.columns if c.startswith(("notary.", "costs.notary.")))
out["settings"] = sorted(c for c in runs.columns if c.startswith("cfg.setup.services.notary."))
out["record"] = {{c: float(treatment[c]) for c in out["columns"]}}
out["completed"] = float(treatment["completed"])
out["report"] = open({results!r} + "/REPORT.md").read()
figure = crossings(Inputs.of([{results!r}]).data)
out["figure"] = [t for ax in figure.axes for t in (ax.get_title(loc="left"), ax.get_xlabel())]
out["color"] = service_color("notary")
print(json.dumps(out))
"""


def test_a_new_service_gets_config_records_report_and_figures_from_its_spec(tmp_path, milan_raw):
    """The notary module plus its registry line, nothing else: a bad setting is one line naming
    its key; a sweep records its declared columns (its crossing cost the closed form); the report
    explains its crossings; the crossings figure labels it by its spec."""
    n = nominal(milan_raw)
    experiment = tmp_path / "notarised.yaml"
    experiment.write_text(EXPERIMENT.format(platform=ROOT / "configs" / "platforms" / "milan.yaml",
                                            workload=TESTS / "fixtures" / "sweep" / "tiny-workload.yaml"))
    results = tmp_path / "results"
    script = PLUGGED_IN.format(tests=str(TESTS), experiment=str(experiment), results=str(results))
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.splitlines()[-1])

    assert out["bad_rc"] == 2
    assert out["bad"].count("\n") == 1
    assert "--set: setup.services.notary.handler: bare number 5: a duration needs a unit" in out["bad"]

    assert out["sweep_rc"] == 0
    assert out["columns"] == sorted(c.name for c in SPEC.columns)
    assert out["settings"] == ["cfg.setup.services.notary.enabled", "cfg.setup.services.notary.handler"]
    assert out["record"]["notary.calls"] == out["completed"] == 300  # one read per iteration
    assert out["record"]["costs.notary.call_ns"] == pytest.approx(n.round_trip + 2000.0, rel=1e-12)

    line = next(line for line in out["report"].splitlines() if line.startswith("- **notary**"))
    assert "VeilS-Notary (example), notarising calls: a call into DomSer" in line
    assert f"One crossing costs {(n.round_trip + 2000.0) / 1e3:.3g} us" in line
    assert any("VeilS-Notary (example)" in text for text in out["figure"])
    assert any(text.startswith("notary: notarising calls per second") for text in out["figure"])
    assert out["color"] == SPEC.color
