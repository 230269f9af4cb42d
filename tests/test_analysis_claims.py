"""The claim explained (crossing rate x cost per crossing, from the platform's mechanism costs), the
sensitivity hook on the claims, and the overhead `veilperf run` prints; synthetic results and
closed forms, except the last test, which simulates one tiny point and its baseline."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

from fixtures.analysis.synthetic import write_results
from veilperf import cli
from veilperf.analysis.tables import figdata
from veilperf.analysis.claims.verdicts import assumption_space_line, check_claims, service_points
from veilperf.analysis.claims.crossings import crossing_models, crossing_points, explain
from veilperf.analysis.figures.headline import claims
from veilperf.analysis.report.outputs import Inputs
from veilperf.analysis.figures.style import STYLE

FIXTURES = Path(__file__).parent / "fixtures" / "sweep"


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    return write_results(tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="module")
def data(results):
    return Inputs.of([results]).data


def test_crossing_costs_are_the_recorded_ones_moved_over_the_profiles_switch_range(data):
    points = service_points(data.over, data.calibration)
    models = {m.service: m for m in crossing_models(points, data.manifests)}
    assert set(models) == {"enc", "log"}
    # the synthetic records' costs (fixture: 2 x switch + 2 x 20 ns per ocall, of which 2 x switch
    # switching), moved to the Milan profile's switch range 1.6-6 us by their switching part
    enc, log = models["enc"], models["log"]
    assert enc.cost_ns == pytest.approx(2 * 2070 + 2 * 20)
    assert enc.switch_ns == pytest.approx((2070, 1600, 6000))
    assert (enc.cost_low_ns, enc.cost_high_ns) == pytest.approx((2 * 1600 + 40, 2 * 6000 + 40))
    assert log.cost_ns == pytest.approx(2 * 2070 + 300 + 50 + 2 * (20 + 128 / 18e9 * 1e9))
    # the band's ends as crossing rates: overhead% = rate x cost x 100
    assert enc.rate_at(2.0) == pytest.approx(0.02 / 4180e-9)
    assert enc.rate_at(64.0, enc.cost_high_ns) == pytest.approx(0.64 / 12040e-9)


def test_crossing_rates_are_per_second_of_native_run_time(data):
    points = service_points(data.over, data.calibration)
    table = crossing_points(points, crossing_models(points, data.manifests))
    # one crossing per iteration of a 10 us native iteration: 100,000 crossings per second
    assert table["rate_per_s"].to_numpy() == pytest.approx([1e5] * len(table), rel=0.01)
    gzip = table[(table["workload"] == "gzip") & (table["service"] == "enc")].iloc[0]
    assert gzip["curve_pct"] == pytest.approx(1e5 * 4180e-9 * 100, rel=0.01)
    assert gzip["simulated_pct"] == pytest.approx(gzip["steady_pct"])  # steady state where known
    text = "\n".join(explain(points, crossing_models(points, data.manifests)))
    assert "2% is reached at 4,785 crossings/s and 64% at 153,110/s" in text
    assert re.search(r"  - gzip: (99,[89]\d\d|100,[01]\d\d)/s x 4\.18 us -> 3\.\d% simulated \(inside", text)


def test_without_a_profile_the_costs_still_explain_without_the_switch_range(data):
    points = service_points(data.over, data.calibration)
    models = {m.service: m for m in crossing_models(points, {})}
    assert models["enc"].cost_ns == pytest.approx(4180) and not models["enc"].has_range
    text = "\n".join(explain(points, list(models.values())))
    assert "over the switch range" not in text and "4.18 us at calibration (switch 2.07 us)" in text


def test_results_without_recorded_costs_say_how_to_rebuild(data):
    points = service_points(data.over, data.calibration)
    old = points.drop(columns=[c for c in points.columns if c.startswith("costs.")])
    assert crossing_models(old, data.manifests) == []
    assert "veilperf sweep --force" in explain(old, [])[0]


SUMMARIES = pd.DataFrame([
    {"experiment": "enclave", "workload": "gzip", "service": "enc", "metric": "overhead_pct", "p5": 1.5, "p50": 4.0,
     "p95": 9.0, "n_samples": 300, "method": "morris", "top_params": "switch_one_way, channel_fixed",
     "share_in_band": 0.9},
    {"experiment": "logging", "workload": "find", "service": "log", "metric": "overhead_pct", "p5": 40.0,
     "p50": 80.0, "p95": 200.0, "n_samples": 100, "method": "morris", "top_params": "monitor_map_unmap, switch_one_way",
     "share_in_band": 0.3},
    {"experiment": "boot", "workload": "boot", "service": "none", "metric": "boot_increment_s", "p5": 0.3,
     "p50": 0.8, "p95": 2.5, "n_samples": 200, "method": "sobol", "top_params": "pvalidate, accept_host",
     "share_in_band": 0.85},
])


def test_claims_carry_one_line_over_the_assumption_space():
    # weighted by samples: (0.9 x 300 + 0.3 x 100) / 400 = 75%; switch_one_way ranks 1 + 1/2, first
    line = assumption_space_line(SUMMARIES, "overhead_pct")
    assert line == ("over the assumption space (morris, 400 samples over 2 point(s)): holds in 75% of samples; "
                    "driven by switch_one_way, monitor_map_unmap")
    assert "holds in 85% of samples; driven by pvalidate, accept_host" in assumption_space_line(
        SUMMARIES, "boot_increment_s")
    assert assumption_space_line(None, "overhead_pct") == assumption_space_line(SUMMARIES.iloc[0:0], "x") == ""


def test_stored_sensitivity_summaries_reach_the_claims_and_the_headline(results, monkeypatch):
    monkeypatch.setattr(figdata, "load_summaries",
                        lambda root: SUMMARIES if Path(root) == results else SUMMARIES.iloc[0:0])
    data = Inputs.of([results]).data
    assert data.sensitivity is not None and len(data.sensitivity) == 3
    boot, service, normal = check_claims(data.over, data.calibration, data.runs, data.sensitivity)
    assert "75% of samples" in service.assumption_space and "85% of samples" in boot.assumption_space
    assert normal.assumption_space == ""
    with matplotlib.rc_context(STYLE):
        figure = claims(data)
    main = figure.axes[0]
    # the p5-p95 ranges are drawn (grey, 7 pt) behind the two points that have them
    ranges = [line for line in main.get_lines() if line.get_linewidth() == 7 and len(line.get_xdata()) == 2]
    assert sorted(tuple(line.get_xdata()) for line in ranges) == [(1.5, 9.0), (40.0, 200.0)]
    labels = [t.get_text() for t in main.get_yticklabels()]
    assert "sqlite · enc †" in labels and "find · log all (est.)" in labels


def test_without_a_stored_study_the_claims_stand_alone(results):
    data = Inputs.of([results]).data  # the synthetic results hold no sensitivity study
    assert data.sensitivity is None
    assert all(c.assumption_space == "" for c in check_claims(data.over, data.calibration, data.runs, None))


def test_run_prints_the_overhead_against_the_experiments_baseline(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMANDS", ("run",))
    assert cli.main(["run", str(FIXTURES / "experiment.yaml"), "--set", "run.iterations=50"]) == 0
    out = capsys.readouterr().out
    match = re.search(r"\n\S+ .* \+([\d.]+)% .* time per iteration\n", out)
    assert match and float(match.group(1)) > 0  # enclave ocalls only add time
    assert cli.main(["run", str(FIXTURES / "experiment.yaml"), "--set", "run.iterations=50", "--no-baseline"]) == 0
    assert "time per iteration" not in capsys.readouterr().out


def test_crossings_of_two_platforms_are_explained_apart(data):
    """Points run on two platforms give one model per service and platform: costs are never pooled."""
    points = service_points(data.over, data.calibration)
    enc = points[points["service"] == "enc"]
    other = enc.assign(**{"cfg.platform.name": "genoa", "costs.enc.ocall_ns": 9000.0})
    both = pd.concat([enc.assign(**{"cfg.platform.name": "milan"}), other], ignore_index=True)
    models = {m.title: m for m in crossing_models(both, data.manifests)}
    assert set(models) == {"enc on milan", "enc on genoa"}
    assert models["enc on milan"].cost_ns == pytest.approx(4180) and models["enc on genoa"].cost_ns == 9000.0
    text = "\n".join(explain(both, list(models.values())))
    assert "- **enc on genoa** — VeilS-Enc (enclaves)" in text and "x 9 us ->" in text
