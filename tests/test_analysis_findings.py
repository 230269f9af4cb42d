"""Results beside the claims, each against a closed form: open-loop saturation and the latency
split, lost audit records and the ring that would keep them, what the verdicts say (exact
intervals, by construction, the largest guest under 2 s), the "on other hardware" section, and a
sensitivity study whose setting holds a null axis value."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from fixtures.analysis.synthetic import (LOST_SHARE, MILAN, READER_PERIOD, RING, _workload_rows, write_store)
from veilperf.analysis.claims.lost_records import PAGE, loss_rows, losses
from veilperf.analysis.claims.verdicts import (BOOT_CLAIM_S, GIB, boot_claim, check_claims, interval_text,
                                               largest_under_claim, normal_claim)
from veilperf.analysis.report.hardware import hardware_section
from veilperf.analysis.report.outputs import load_figure_data, report
from veilperf.analysis.tables.columns import SATURATED
from veilperf.analysis.tables.openloop import added_latency, capacity, request_time, without_numbers
from veilperf.analysis.tables.pairing import overheads, successful_runs
from veilperf.analysis.tables.profile import at_calibration
from veilperf.sensitivity import run_sensitivity

GENOA = MILAN.parent / "genoa.yaml"


@pytest.fixture(scope="module")
def data(synthetic_results):
    return load_figure_data([synthetic_results])[0]


def _server_runs(arrival: float, completed: float, sim_ns: float, oneoff_ns: float, latency_ns: float,
                 held_ns: float, base_latency_ns: float, base_held_ns: float) -> pd.DataFrame:
    """One open-loop treatment and its baseline (one replication), each with the offered load and
    saturation its record would carry (arrival rate x VCPU time per request, 1 VCPU)."""
    common = {"experiment": "srv", "pair_key": "p", "replication": 0, "workload": "kv", "seed": 1,
              "cfg.workload.loop": "open", "cfg.workload.arrival_rate": arrival, "cfg.run.iterations": completed,
              "cfg.setup.vcpus": 1, "completed": completed, "error": ""}
    return pd.DataFrame([
        {**common, "role": "treatment", "service": "enc", "mode": "veil", "sim_time_ns": sim_ns + oneoff_ns,
         "oneoff_ns": oneoff_ns, "latency_mean_ns": latency_ns, "vcpu0.held_ns": held_ns * completed + oneoff_ns,
         "throughput_per_s": completed / (sim_ns + oneoff_ns) * 1e9, "offered_load": arrival * held_ns / 1e9,
         "saturated": arrival * held_ns / 1e9 >= 1},
        {**common, "role": "baseline", "service": "none", "mode": "cvm", "sim_time_ns": completed / arrival * 1e9,
         "oneoff_ns": 0.0, "latency_mean_ns": base_latency_ns, "vcpu0.held_ns": base_held_ns * completed,
         "throughput_per_s": arrival, "offered_load": arrival * base_held_ns / 1e9,
         "saturated": arrival * base_held_ns / 1e9 >= 1},
    ])


def test_a_saturated_point_is_marked_by_its_record_and_has_no_overhead_only_its_capacity():
    hot = _server_runs(30_000, 4000, 0.16e9, 14e6, 7.3e6, 36e3, 94e3, 24e3)  # 30k/s x 36 us = 1.08 of a VCPU
    calm = _server_runs(5_000, 4000, 0.8e9, 14e6, 43e3, 36e3, 28e3, 24e3).assign(pair_key="q")
    runs = pd.concat([hot, calm], ignore_index=True)
    ok = successful_runs(runs)
    marked = without_numbers(overheads(runs, ok)).set_index("pair_key")
    assert marked.loc["p", SATURATED] and not marked.loc["q", SATURATED]
    assert marked.loc["p", ["overhead_pct", "ci_low", "ci_high", "increment_ns"]].isna().all()
    assert marked.loc["q", "overhead_pct"] == pytest.approx((43e3 / 28e3 - 1) * 100)
    assert capacity(marked).to_dict() == pytest.approx({"p": 1e9 / 36e3, "q": 1e9 / 36e3})  # 1 VCPU / 36 us


def test_a_requests_latency_is_its_vcpu_time_plus_its_wait():
    runs = successful_runs(_server_runs(5_000, 4000, 0.8e9, 14e6, 43e3, 36e3, 28e3, 24e3))
    times = request_time(runs).set_index("role")
    assert times.loc["treatment", "held_ns"] == pytest.approx(36e3)  # the set-up's hold taken out
    assert times.loc["treatment", "held_ns"] + times.loc["treatment", "wait_ns"] == pytest.approx(43e3)
    split = added_latency(runs).iloc[0]
    assert split["work_ns"] == pytest.approx(12e3) and split["queue_ns"] == pytest.approx((43e3 - 36e3) - (28e3 - 24e3))


def test_the_synthetic_servers_latency_splits_as_its_closed_form(data):
    # synthetic open loop: latency = 1.5 x, VCPU time = 1 x the time per request: the wait is half of it
    split = added_latency(data.runs).merge(data.over, on=["experiment", "pair_key", "point"])
    added = split["increment_ns"]  # the treatment's added time per request
    assert np.allclose(split["work_ns"] + split["queue_ns"], added, rtol=1e-9)
    assert np.allclose(split["queue_ns"], 0.5 * split["work_ns"], rtol=1e-9)


def test_lost_records_and_the_ring_that_would_keep_them(data):
    rows = losses(data.runs)
    assert set(rows["pair_key"].str.split("-").str[1]) == {"find"}  # gzip's logging loses nothing
    row = rows.iloc[0]
    assert row["lost_share"] == pytest.approx(LOST_SHARE["find"])
    runs = data.runs[(data.runs["pair_key"] == row["pair_key"]) & (data.runs["role"] == "treatment")]
    sim = runs["sim_time_ns"].astype(float)
    # one 128 B record per iteration, 1,000 iterations, over the point's mean run time
    per_period = 128 * 1000 * READER_PERIOD / sim.mean()
    assert row["per_period"] == pytest.approx(per_period)
    assert row["ring_needed"] == math.ceil(per_period / PAGE) * PAGE and row["ring_needed"] >= per_period
    assert row["period_needed_ns"] == pytest.approx(RING / (128 * 1000 / sim.mean()))  # at the mean append rate
    shown = loss_rows(rows.assign(experiment="logging", workload="find", shown="log all"))[0]
    assert shown[3] == "60.0%" and shown[-1] == "unknown"  # no read calls recorded: reading back not costed


def test_intervals_say_exact_or_one_replication_instead_of_zero_width():
    row = pd.Series({"n": 3, "ci_low": 1.355, "ci_high": 1.355})
    assert interval_text(row) == "exact"
    assert interval_text(pd.Series({**row, "n": 1})) == "n = 1"
    assert interval_text(pd.Series({"n": 3, "ci_low": 1.2, "ci_high": 1.31})) == "[1.20, 1.31]"


def test_normal_execution_holds_by_construction_and_says_so(data):
    claim = normal_claim(data.over, data.calibration)
    assert claim.verdict == "holds by construction"
    assert "adds no operation to the hot path" in claim.conditions
    assert "[0.000, 0.000]" not in "\n".join(claim.details)


def test_boot_names_the_largest_guest_under_two_seconds_eager_and_lazy(data):
    # synthetic increment: 0.25 s + 50 us per VCPU + pages touched x (pvalidate 0.5 us + 1.5 us);
    # eager touches every 4 KiB page: 1 GiB 0.77 s, 4 GiB 2.35 s; lazy 1/16 of them: 16 GiB 0.77 s, 128 GiB 4.4 s
    frame = data.over[data.over["kind"] == "boot"].assign(acceptance=lambda f: f["cfg.boot.acceptance"])
    largest = largest_under_claim(frame, data.calibration)
    assert largest == {"eager": (1 * GIB, 4.0), "lazy": (16 * GIB, 4.0)}
    calibrated = at_calibration(frame, data.calibration)
    assert (calibrated.loc[calibrated["cfg.boot.memory"] <= 16 * GIB].query("acceptance == 'lazy'")["increment_ns"]
            < BOOT_CLAIM_S * 1e9).all()
    claim = boot_claim(data.over, data.calibration)
    assert "largest guest under 2 s at calibration: eager 1 GiB, lazy 16 GiB (at up to 4 VCPUs)" in claim.simulated


def test_claims_count_only_studies_of_the_experiments_they_count(data):
    summaries = pd.DataFrame([{"experiment": "platforms", "workload": "gzip", "service": "enc", "metric": "overhead_pct",
                               "p5": 1.0, "p50": 2.0, "p95": 3.0, "n_samples": 10, "method": "morris",
                               "top_params": "switch_one_way", "share_in_band": 0.5}])
    _, service, _ = check_claims(data.over, data.calibration, data.runs, summaries)
    assert service.assumption_space == ""  # a study of an experiment the claim leaves out is not its evidence


def test_the_report_shows_lost_records_exact_points_and_what_the_verdicts_mean(synthetic_results, tmp_path):
    written, _ = report([synthetic_results], tmp_path / "REPORT.md")
    text = (tmp_path / "REPORT.md").read_text()
    assert "## Lost audit records" in text and "| logging | find | log all | 60.0% |" in text
    assert "What the verdicts mean. The paper's per-workload results are not public" in text
    assert "**holds by construction**" in text
    zero_width = [m for m in re.findall(r"\[(-?[\d.]+), (-?[\d.]+)\]", text) if m[0] == m[1]]
    assert not zero_width
    csv = pd.read_csv(tmp_path / "overheads.csv")
    assert {"label", "service_label", "saturated", "lost_share"} <= set(csv.columns)
    assert csv.loc[csv["workload"] == "find", "lost_share"].dropna().round(3).tolist() == [0.6]


def _two_platform_store(root: Path) -> Path:
    rng = np.random.default_rng(3)
    rows = []
    for platform in ("milan", "genoa"):
        for workload, per_call in (("gzip", 400.0), ("sqlite", 1500.0)):
            part = _workload_rows("platforms", workload, "enc", "closed", {"cfg.setup.vcpus": 1,
                                  "cfg.platform.name": platform}, {}, 3, rng, per_call)
            rows += [{**r, "pair_key": f"{r['pair_key']}-{platform}", "point_id": f"{r['point_id']}-{platform}"}
                     for r in part]
    folder = write_store(root, "platforms", rows)
    manifest = yaml.safe_load((folder / "manifest.yaml").read_text())
    manifest.pop("platform")
    manifest["platforms"] = [yaml.safe_load(MILAN.read_text()), yaml.safe_load(GENOA.read_text())]
    (folder / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=True))
    return root


def test_on_other_hardware_says_what_moves_and_which_study_to_run(tmp_path):
    data = load_figure_data([_two_platform_store(tmp_path)])[0]
    text = "\n".join(hardware_section(data))
    assert text.startswith("## On other hardware")
    # both platforms simulate the same toy costs: every difference is noise inside the intervals
    assert "What moves: nothing beyond run-to-run noise" in text
    assert "| gzip | enc |" in text and "genoa − milan (points)" in text
    # the shipped profiles differ at nominal in the clock only; genoa's switch is carried from milan
    assert "differ only in clock: 2.8 GHz on milan, 2.7 GHz on genoa" in text
    assert "the domain switch among them (`switch_one_way`" in text
    assert "`veilperf sensitivity configs/platforms.yaml --set platform=genoa`" in text


def test_one_platform_has_no_hardware_section(data):
    assert hardware_section(data) == []


NULL_AXIS = """\
name: nullaxis
kind: workload
platform: {platform}
workloads: [loop.yaml]
setup: {{mode: veil, vcpus: 1, services: {{enc: {{enabled: true, enclave_size: 64KiB}}}}}}
seed: 5
sweep:
  zip:
    - run.iterations: [null, 50]
      setup.vcpus: [1, 2]
"""


def test_a_study_matches_a_settings_null_axis_value(tmp_path):
    # a zip row with `run.iterations: null` (the workload's own length) is a setting whose rows hold NaN;
    # before, none of its samples were found ("N of N samples have no finished treatment/baseline pair")
    (tmp_path / "loop.yaml").write_text("name: loop\nprovenance: {source: synthetic}\niterations: 80\n"
                                        "steps:\n  - compute: 5us\n  - syscall: {name: getpid, kernel: 1us}\n")
    file = tmp_path / "nullaxis.yaml"
    file.write_text(NULL_AXIS.format(platform=MILAN))
    result = run_sensitivity(file, samples=2, params=["switch_one_way=1us:2us"], only=True,
                             results_dir=tmp_path / "results", jobs=1)
    assert len(result.summary) == 2 and (result.summary["n_samples"] == 4).all()


def test_the_main_commands_report_renders_every_section(main_command_results, tmp_path):
    # the README's main command's results (one replication): the platforms experiment sweeps the
    # platform, which the page-table paragraph also keys on ("column label 'cfg.platform.name' is not unique")
    from veilperf.analysis.figures.index import Rendered
    from veilperf.analysis.report.reproduction import render_report

    shipped = load_figure_data([main_command_results])[0]
    claims = check_claims(shipped.over, shipped.calibration, shipped.runs, shipped.sensitivity)
    text = render_report(shipped, Rendered(), tmp_path / "REPORT.md", claims, "key")
    for heading in ("## Claims", "## Private enclave page tables (what-if)", "## Lost audit records",
                    "## On other hardware", "## Method"):
        assert heading in text
    assert "genoa − milan (points)" in text and "| redis | enc 4 VCPUs |" in text
