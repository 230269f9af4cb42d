"""One cost engine end to end: the cost of one crossing the report explains a service with is the
cost the model charged per crossing, and the record's resolved costs (``costs.*``) are the ones
the simulated time is made of.

For each service, a workload whose iteration makes one kind of call, simulated with its plain
CVM baseline; the closed form from the two records alone: (added time - one-off set-up - the
enclave's first entry and last exit) / crossings, against the report's figure for that point."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from veilperf.analysis.claims.verdicts import service_points
from veilperf.analysis.claims.crossings import crossing_models, crossing_points, explain
from veilperf.analysis.tables.pairing import overheads
from veilperf.run import run_config
from veilperf.services.registry import spec
from veilperf.units import format_duration

SERVICES = {
    "enc": ({"enc": {"enabled": True, "timer_hz": "1000Hz", "enclave_size": "1MiB"}},
            [{"compute": {"dist": "exponential", "mean": "20us"}},
             {"syscall": {"name": "write", "kernel": "1us", "bytes_in": "300B", "bytes_out": "7000B"}}]),
    "log": ({"log": {"enabled": True, "reader_period": "200us"}},
            [{"compute": {"dist": "exponential", "mean": "20us"}},
             {"syscall": {"name": "openat", "kernel": "2us"}}]),
    "kci": ({"kci": {"enabled": True}},
            [{"compute": "50us"}, {"kci": {"op": "module_load", "pages": 700}}]),
}


def _pair(make_cfg, service: str, vcpus: int = 1) -> tuple[dict, dict]:
    services, steps = SERVICES[service]
    run = {"iterations": 400}
    treatment = run_config(make_cfg(steps, setup={"mode": "veil", "vcpus": vcpus, "services": services}, run=run))
    baseline = run_config(make_cfg(steps, setup={"mode": "cvm", "vcpus": vcpus}, run=run))
    return treatment, baseline


def _report_point(treatment: dict, baseline: dict) -> tuple[pd.Series, list[str]]:
    identity = {"experiment": "x", "pair_key": "p", "replication": 0}
    runs = pd.DataFrame([{**treatment, **identity, "role": "treatment"}, {**baseline, **identity, "role": "baseline"}])
    points = service_points(overheads(runs), {})
    models = crossing_models(points, {})
    return crossing_points(points, models).iloc[0], explain(points, models)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_the_reports_cost_per_crossing_is_the_simulated_one(make_cfg, service):
    treatment, baseline = _pair(make_cfg, service)
    crossing = spec(service).crossing
    crossings = sum(treatment[c] for c in crossing.count_columns)
    added = treatment["sim_time_ns"] - baseline["sim_time_ns"] - treatment["oneoff_ns"]
    if service == "enc":  # entering the enclave once and leaving it once are no crossing
        added -= treatment["costs.switch.unt_enc_ns"] + treatment["costs.switch.enc_unt_ns"]
    assert crossings > 400
    point, text = _report_point(treatment, baseline)
    assert point["cost_ns"] == pytest.approx(added / crossings, rel=1e-9)
    assert f"x {format_duration(added / crossings)} ->" in "\n".join(text)


def test_private_page_tables_mm_calls_and_faults_are_crossings_the_report_prices_as_charged(make_cfg):
    """With private page tables an enclave's crossings include the VeilS-Enc calls of its
    memory-management calls and its first-touch faults: the report's cost per crossing is the
    added time over all four kinds (ocalls, timer exits, mm calls, faults), as simulated."""
    steps = [{"compute": {"dist": "exponential", "mean": "20us"}},
             {"syscall": {"name": "mmap", "kernel": "2us", "pages": 5}},
             {"syscall": {"name": "madvise", "kernel": "1us", "pages": 40}}]
    services = {"enc": {"enabled": True, "timer_hz": "1000Hz", "enclave_size": "1MiB", "page_tables": "private",
                        "touched_share": 0.3}}
    run = {"iterations": 400}
    treatment = run_config(make_cfg(steps, setup={"mode": "veil", "services": services}, run=run))
    baseline = run_config(make_cfg(steps, setup={"mode": "cvm"}, run=run))
    crossing = spec("enc").crossing
    assert {"enc.mm_calls", "enc.pt_faults"} <= set(crossing.count_columns)
    crossings = sum(treatment[c] for c in crossing.count_columns)
    added = treatment["sim_time_ns"] - baseline["sim_time_ns"] - treatment["oneoff_ns"]
    added -= treatment["costs.switch.unt_enc_ns"] + treatment["costs.switch.enc_unt_ns"]
    assert treatment["enc.mm_calls"] == 800 and treatment["enc.pt_faults"] == 600
    point, text = _report_point(treatment, baseline)
    assert point["cost_ns"] == pytest.approx(added / crossings, rel=1e-9)
    assert f"x {format_duration(added / crossings)} ->" in "\n".join(text)


def test_kci_crossings_cost_what_the_model_charges_hashes_and_flush_included(make_cfg, milan_raw):
    """The correction behind the report's kci line (it once left out the SHA-256 of hashed pages
    and the TLB flush): a call of the mean 350 pages costs two switches, map/unmap and dispatch,
    350 RMPADJUST and SHA-256 of 350 pages, one global TLB flush."""
    from services_support import PAGE, nominal

    n = nominal(milan_raw)
    treatment, baseline = _pair(make_cfg, "kci")
    pages = 700 / 2  # 510 + 190 per op
    expected = n.round_trip + pages * (n.rmpadjust + PAGE / n.sha_bw) + n.tlb_flush
    assert treatment["costs.kci.call_ns"] == pytest.approx(expected, rel=1e-12)
    assert _report_point(treatment, baseline)[0]["cost_ns"] == pytest.approx(expected, rel=1e-12)


def test_a_veil_record_carries_the_switch_it_was_charged_every_way(make_cfg):
    """``time.switching_ns`` is the sum over directions of switches x the recorded cost of one."""
    treatment, baseline = _pair(make_cfg, "enc")
    directions = [c.removeprefix("switches.") for c in treatment if c.startswith("switches.")]
    assert len(directions) == 12
    charged = sum(treatment[f"switches.{d}"] * treatment[f"costs.switch.{d}_ns"] for d in directions)
    assert charged == pytest.approx(treatment["time.switching_ns"], rel=1e-12)
    assert not any(c.startswith("costs.") for c in baseline)  # a CVM run uses no Veil mechanism


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_service_writes_the_columns_its_spec_declares(make_cfg, service):
    treatment, _ = _pair(make_cfg, service)
    written = {c for c in treatment if c.startswith((f"{service}.", f"costs.{service}."))}
    assert written == {c.name for c in spec(service).columns}
    assert all(np.isfinite(treatment[c]) for c in written if c.startswith("costs."))


PARTS_EXPERIMENT = """\
name: parts
kind: workload
platform: {platform}
workloads: [{workload}]
setup:
  mode: veil
  services:
    enc: {{enabled: true, enclave_size: 64KiB}}
run: {{iterations: 200}}
replications: 1
sweep:
  grid:
    platform.switch_model: [parts]
    platform.params.switch_exit: [0.5us, 0.9us, 3us]
"""


def test_the_switch_cost_figure_is_drawn_for_a_profile_giving_the_switch_in_parts(tmp_path):
    """Sweeping a part of the switch moves the switch the runs were charged: the figure plots the
    overhead against it (it used to read switch_one_way only, and silently drew nothing)."""
    import matplotlib
    from matplotlib.figure import Figure

    from veilperf import cli
    from veilperf.analysis.figures.experiment import switch_cost
    from veilperf.analysis.report.outputs import Inputs
    from veilperf.analysis.figures.style import STYLE

    root = Path(__file__).resolve().parents[1]
    experiment = tmp_path / "parts.yaml"
    experiment.write_text(PARTS_EXPERIMENT.format(platform=root / "configs" / "platforms" / "milan.yaml",
                                                  workload=root / "tests" / "fixtures" / "sweep" / "tiny-workload.yaml"))
    assert cli.main(["sweep", str(experiment), "--results", str(tmp_path / "r"), "--jobs", "1", "--no-plots"]) == 0
    data = Inputs.of([tmp_path / "r"]).data.only("parts")
    with matplotlib.rc_context(STYLE):
        figure = switch_cost(data)
    assert isinstance(figure, Figure)
    x = sorted(figure.axes[0].get_lines()[0].get_xdata())
    assert x == pytest.approx([(0.5 + 0.27 + 0.9), (0.9 + 0.27 + 0.9), (3 + 0.27 + 0.9)])  # us, sums of parts
