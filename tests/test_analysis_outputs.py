"""Figures, the reproduction report and their commands, from a results store the test writes
(synthetic numbers; nothing is simulated)."""

from __future__ import annotations

import re
import struct
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from fixtures.analysis.synthetic import write_results
from veilperf import cli
from veilperf.analysis import overheads, regenerate
from veilperf.analysis.claims.verdicts import boot_claim, normal_claim, service_claim
from veilperf.analysis.figures import FIGURES
from veilperf.analysis.figures.names import EXPERIMENT_FIGURES, GLOBAL_FIGURES
from veilperf.analysis.freshness import embedded_key
from veilperf.analysis.report.outputs import load_figure_data, plot, report
from veilperf.analysis.figures.style import MAX_PIXELS


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    return write_results(tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="module")
def data(results):
    return load_figure_data([results])[0]


@pytest.fixture(scope="module")
def figure_dir(results, tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("out") / "figures"


@pytest.fixture(scope="module")
def rendered(results, figure_dir) -> list[Path]:
    written, notes = plot([results], figure_dir, "png")
    # the normal experiment's overheads are all ~0: its overhead figure is omitted, with a note
    assert notes == ["normal-overhead: omitted, every overhead is below 0.01% (normal execution: see the claims figure)"]
    return written


EXPECTED = {"claims", "crossings", "boot-boot_time", "enclave-overhead", "enclave-switch_cost", "enclave-latency",
            "enclave-queueing", "enclave-causes", "logging-overhead", "logging-causes", "partitioning-replicas_vs_static",
            "partitioning-causes", "partitioning-time_per_domain"}
"""Every figure of the synthetic store (time per domain only where points run on several VCPUs)."""


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG header (IHDR chunk)."""
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR", path
    return struct.unpack(">II", data[16:24])


def main(argv: list[str], monkeypatch) -> int:
    """The real CLI entry point, with only the commands under test registered."""
    monkeypatch.setattr(cli, "COMMANDS", ("plot", "report"))
    return cli.main(argv)


def test_every_figure_is_drawn_within_the_size_bound(rendered):
    assert {p.stem for p in rendered} == EXPECTED
    for path in rendered:
        width, height = png_size(path)
        assert 300 <= width <= MAX_PIXELS and 300 <= height <= MAX_PIXELS, (path.name, width, height)


def test_figures_are_byte_identical_when_redrawn_and_reused_when_current(results, rendered, figure_dir, tmp_path):
    again, _ = plot([results], tmp_path, "png", force=True)
    assert {p.name: p.read_bytes() for p in again} == {p.name: p.read_bytes() for p in rendered}
    stamps = {p: p.stat().st_mtime_ns for p in again}
    plot([results], tmp_path, "png")  # nothing changed: every file is reused, none rewritten
    assert {p: p.stat().st_mtime_ns for p in again} == stamps


@pytest.mark.parametrize("fmt", ["svg", "pdf"])
def test_vector_formats_are_byte_identical_across_renders(data, tmp_path, fmt):
    from veilperf.analysis.figures.style import save_figure

    build = FIGURES["claims"]
    paths = [save_figure(build(data), tmp_path / f"{i}.{fmt}", fmt, "k" * 32) for i in range(2)]
    text = paths[0].read_bytes()
    assert text == paths[1].read_bytes()
    assert b"CreationDate" not in text and b"<dc:date>" not in text
    assert embedded_key(paths[0]) == "k" * 32


def test_figures_without_data_are_omitted(results, tmp_path):
    written, notes = plot([results / "normal"], tmp_path, "png")
    # normal execution alone: only the headline (its normal panel); no crossings, and neither the
    # overhead (all ~0) nor the time-per-domain figure (the untrusted domain only) of the experiment
    assert [p.stem for p in written] == ["claims"]
    assert [note.split(":")[0] for note in notes] == ["crossings", "normal-overhead"]


def test_boot_claim_matches_the_closed_form_of_the_synthetic_boot(data):
    # Synthetic veil increment: 0.25 s + 50 us per VCPU + pages_touched * (pvalidate + 1.5 us)
    # (eager touches every 4 KiB page); noise < 10 ms. Default guest, pvalidate 0.5 us:
    claim = boot_claim(data.over, data.calibration)
    simulated = float(re.search(r"eager \+([\d.]+) s", claim.simulated).group(1))
    assert simulated == pytest.approx(0.25 + 5e-5 + 262_144 * 2.0e-6, abs=0.011)
    assert claim.verdict == "holds"
    # eager, pvalidate 0.1 us: 4 GiB -> 0.25 + 1,048,576 * 1.6 us = 1.93 s < 2 s; 16 GiB -> 7.0 s.
    row = next(line for line in claim.details if line.startswith("| eager | pvalidate = 100 ns"))
    assert "| 4 VCPU / 4 GiB |" in row
    # lazy touches 1/16 of the pages: at 0.5 us, 16 GiB -> 0.25 + 262,144 * 2 us = 0.77 s, 128 GiB -> 4.4 s
    assert "| lazy | pvalidate = 500 ns | 0.28" in "\n".join(claim.details)


def test_service_and_normal_claims_report_plainly(data):
    services = service_claim(data.over, data.calibration)
    # synthetic overheads: gzip/enc 4%, sqlite/enc 15%, kvstore/enc ~90% (above), log: gzip 1.5% (below), find 80%
    assert services.verdict == "partly"
    # left out: the partitioning study (replicas vs static, sqlite/enc at 2 VCPUs), a design study,
    # and the open-loop kvstore server points (latency basis), load studies
    assert "2 of 4 points inside, 1 below, 1 above" in services.conditions
    assert "static" not in "\n".join(services.details)  # a design alternative, not Veil as built
    assert normal_claim(data.over, data.calibration).verdict == "holds by construction"  # exactly 0%
    slowed = data.over.assign(overhead_pct=data.over["overhead_pct"] + 1.0)
    assert normal_claim(slowed, data.calibration).verdict == "does not hold"
    nothing = data.over.iloc[0:0]
    assert {c.verdict for c in (boot_claim(nothing, {}), service_claim(nothing, {}))} == {"no data"}


def test_report_reuses_current_figures_and_links_every_one(results, rendered, figure_dir):
    out = figure_dir.parent / "REPORT.md"
    stamps = {p: p.stat().st_mtime_ns for p in rendered}
    written, _ = report([results], out)
    assert {p: p.stat().st_mtime_ns for p in rendered} == stamps  # drawn by `plot`, reused as they are
    text = out.read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(links) == len(EXPECTED) and all((out.parent / link).is_file() for link in links)
    assert links[0] == "figures/claims.png" and text.index("## Headline") < text.index("## Claims")
    assert "| switch_one_way | 2.07us | derived | [1.6us, 6us] | 1.6 us – 6 us (3 values) |" in text
    assert "| clock | 2.8GHz | measured |  | not swept |" in text
    assert "| pvalidate | 0.5us | [0.1us, 2us] | 100 ns – 2 us (3 values) |" in text
    assert "**partly**" in text and "**holds**" in text
    assert all(f"### {e}\n" in text for e in ("boot", "enclave", "logging", "normal", "partitioning"))
    assert "veil-facts.md" not in text and "calibration.md" not in text and "docs/references.md" in text
    assert "find: native time estimated from the trace alone; record it for precision" in text
    assert written[-1] == out
    csv = pd.read_csv(out.parent / "overheads.csv")
    assert len(csv) == len(load_figure_data([results])[0].over)
    assert {"steady_pct", "oneoff_share", "oneoff_flag", "switch_one_way"} <= set(csv.columns)


def test_writing_the_report_beside_current_figures_loads_no_matplotlib(results, rendered, figure_dir):
    # `veilperf report` after `veilperf plot`: every figure is reused, so drawing code stays unloaded
    # (its import alone costs a third of a second per command)
    script = ("import sys; from veilperf.analysis.report.outputs import write_report; "
              f"o = write_report([{str(results)!r}], {str(figure_dir.parent / 'REPORT2.md')!r}, force=True); "
              "print(o.rendered.drawn, o.rendered.reused, 'matplotlib' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", str(len(EXPECTED)), "False"]


def test_figure_names_are_those_of_the_builders():
    from veilperf.analysis.figures.drawing import FIGURES
    from veilperf.analysis.figures.experiment import PER_EXPERIMENT

    assert tuple(FIGURES) == GLOBAL_FIGURES + EXPERIMENT_FIGURES
    assert tuple(PER_EXPERIMENT) == EXPERIMENT_FIGURES


def test_regenerate_reports_every_experiment_on_disk(results, tmp_path):
    root = tmp_path / "results"
    for name in ("boot", "normal"):
        (root / name).mkdir(parents=True)
        for file in (results / name).iterdir():
            (root / name / file.name).write_bytes(file.read_bytes())
    written = regenerate(root)
    assert written[-1] == root / "REPORT.md" and (root / "figures" / "boot-boot_time.png").is_file()
    assert "Experiments: boot, normal;" in (root / "REPORT.md").read_text()


def test_commands_write_outputs_and_fail_cleanly_on_bad_results(results, tmp_path, monkeypatch, capsys):
    assert main(["plot", str(results / "boot"), "--out", str(tmp_path / "fig"), "--format", "svg"], monkeypatch) == 0
    assert (tmp_path / "fig" / "boot-boot_time.svg").is_file()
    assert main(["report", str(results / "normal"), "--out", str(tmp_path / "r" / "REPORT.md")], monkeypatch) == 0
    assert (tmp_path / "r" / "REPORT.md").is_file()
    capsys.readouterr()

    broken = tmp_path / "broken" / "exp"
    broken.mkdir(parents=True)
    pd.DataFrame({"experiment": ["exp"], "sim_time_ns": [1.0]}).to_parquet(broken / "runs.parquet")
    assert main(["report", str(broken.parent), "--out", str(tmp_path / "b" / "REPORT.md")], monkeypatch) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(broken / "runs.parquet") in err and "pair_key" in err
    assert not (tmp_path / "b").exists()
    assert main(["plot", str(tmp_path / "nowhere")], monkeypatch) == 2
    assert "no such results directory" in capsys.readouterr().err


def test_plot_draws_beside_the_results_it_was_given_where_report_looks(results, tmp_path, monkeypatch):
    """Without --out the figures go to figures/ in the results path named, not ./results/figures."""
    root = tmp_path / "elsewhere"
    (root / "boot").mkdir(parents=True)
    for file in (results / "boot").iterdir():
        (root / "boot" / file.name).write_bytes(file.read_bytes())
    monkeypatch.chdir(tmp_path)
    assert main(["plot", str(root)], monkeypatch) == 0
    assert (root / "figures" / "boot-boot_time.png").is_file() and not (tmp_path / "results").exists()
    assert main(["report", str(root)], monkeypatch) == 0  # finds them current: nothing redrawn
    assert (root / "REPORT.md").is_file() and "boot-boot_time.png" in (root / "REPORT.md").read_text()


def test_overheads_of_the_synthetic_store_recover_its_toy_costs(data):
    gzip = data.over[(data.over["workload"] == "gzip") & (data.over["experiment"] == "logging")].iloc[0]
    assert gzip["overhead_pct"] == pytest.approx(1.5, rel=0.02)  # 150 ns added to 10 us per iteration
    assert gzip["ci_low"] <= gzip["overhead_pct"] <= gzip["ci_high"]
    assert overheads(data.runs).shape[0] == data.over.shape[0]


def test_without_a_manifest_the_report_says_what_stands_in_for_calibration(results, tmp_path):
    folder = tmp_path / "enclave"
    folder.mkdir()
    (folder / "runs.parquet").write_bytes((results / "enclave" / "runs.parquet").read_bytes())
    report([folder], tmp_path / "REPORT.md")
    text = (tmp_path / "REPORT.md").read_text()
    assert "No manifest.yaml was found" in text
    assert "(switch_one_way = 2.07 us)" in text  # median of the swept 1.6, 2.07, 6 us
    assert "| switch_one_way | — | derived | [1.6 us, 6 us] | 1.6 us – 6 us (3 values) |" in text
    assert "| tlb_flush_global | 1 us | [200 ns, 5 us] | not swept |" in text


def test_normal_claim_names_the_lazy_acceptance_cost_from_boot_runs():
    """Default guest, lazy acceptance: first touch costs 1.0 s in the CVM and 1.3 s under Veil."""
    from veilperf.analysis.claims.verdicts import lazy_first_touch_note

    runs = pd.DataFrame([
        {"workload": "boot", "mode": mode, "cfg.boot.acceptance": acceptance, "cfg.setup.vcpus": 1,
         "cfg.boot.memory": 2**30, "boot.first_touch_ns": ns}
        for mode, acceptance, ns in (("cvm", "lazy", 1.0e9), ("veil", "lazy", 1.3e9),
                                     ("veil", "eager", 0.0), ("cvm", "eager", 0.0))])
    note = lazy_first_touch_note(runs, {})
    assert "1.30 s of guest CPU under Veil vs 1.00 s in the CVM (+30%)" in note
    assert lazy_first_touch_note(runs[runs["cfg.boot.acceptance"] == "eager"], {}) == ""


def test_settings_sort_as_numbers_and_intervals_need_three_replications():
    from veilperf.analysis.tables.figdata import sort_points
    from veilperf.analysis.figures.style import ci_errors

    frame = pd.DataFrame({"workload": ["redis"] * 3, "service": ["enc"] * 3,
                          "cfg.workload.arrival_rate": pd.Series([5000.0, 40000.0, 10000.0], dtype=object),
                          "overhead_pct": [10.0, 20.0, 30.0], "ci_low": [8.0, 15.0, 29.0],
                          "ci_high": [12.0, 25.0, 31.0], "n": [3, 2, 5]})
    frame.attrs["axes"] = ["cfg.workload.arrival_rate"]
    assert sort_points(frame)["cfg.workload.arrival_rate"].tolist() == [5000.0, 10000.0, 40000.0]
    # the point with two replications gets no error bar
    assert ci_errors(frame).tolist() == [[2.0, 0.0, 1.0], [2.0, 0.0, 1.0]]
