"""Every figure as a reader gets it, drawn from real results (the README's main command, one
replication) and from the synthetic store: no text out of the figure, no label wider than its
axes, no empty panel (tests/figure_checks.py); and what each redrawn figure must show."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from matplotlib.collections import PolyCollection

from figure_checks import problems
from veilperf.analysis.claims.lost_records import lost_share
from veilperf.analysis.figures.drawing import builders
from veilperf.analysis.figures.names import GLOBAL_UNIT
from veilperf.analysis.figures.overhead import DESIGNS
from veilperf.analysis.figures.shares import DOMAINS
from veilperf.analysis.figures.style import STYLE
from veilperf.analysis.report.outputs import load_figure_data
from veilperf.analysis.tables.columns import SATURATED
from veilperf.analysis.tables.openloop import is_open
from veilperf.analysis.tables.profile import at_calibration


def draw(data) -> dict[str, object]:
    """Every figure of ``data`` by file name (a Figure, or the reason it is omitted, or None)."""
    out = {}
    for unit in [GLOBAL_UNIT, *sorted(data.runs["experiment"].unique())]:
        subset = data if unit == GLOBAL_UNIT else data.only(unit)
        for name, build in builders(unit).items():
            with matplotlib.rc_context(STYLE):
                out[name] = build(subset)
    return out


@pytest.fixture(scope="module")
def shipped(main_command_results):
    return load_figure_data([main_command_results])[0]


@pytest.fixture(scope="module")
def figures(shipped):
    return draw(shipped)


def drawn(figures) -> dict:
    return {name: f for name, f in figures.items() if f is not None and not isinstance(f, str)}


def test_every_shipped_figure_is_readable(figures):
    found = {name: problems(figure) for name, figure in drawn(figures).items()}
    assert {name: p for name, p in found.items() if p} == {}
    assert {"claims", "crossings", "boot-boot_time", "logging-causes", "logging-overhead",
            "partitioning-replicas_vs_static", "servers-queueing", "servers-latency", "enclave-time_per_domain",
            "platforms-overhead"} <= set(found)


def test_every_synthetic_figure_is_readable(synthetic_results):
    figures = drawn(draw(load_figure_data([synthetic_results])[0]))
    assert {name: p for name, p in ((n, problems(f)) for n, f in figures.items()) if p} == {}
    assert "enclave-queueing" in figures


def _legend_texts(figure) -> list[str]:
    return [t.get_text() for legend in [*figure.legends, *(ax.get_legend() for ax in figure.axes)]
            if legend is not None for t in legend.get_texts()]


def test_logging_causes_is_one_row_per_setting_where_workloads_agree_naming_only_causes_present(figures, shipped):
    figure = figures["logging-causes"]
    ax = figure.axes[0]
    settings = shipped.over[shipped.over["experiment"] == "logging"]["service_label"].nunique()
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert len(rows) <= 2 * settings < 42  # was 42 two-line rows; pooled rows say how many workloads
    assert any("(7 workloads)" in r for r in rows)
    over = shipped.over[shipped.over["experiment"] == "logging"]
    present = {c for c in over.columns if c.startswith("cause.") and (over[c].fillna(0) > 0).any()}
    from veilperf.analysis.figures.common import cause_name
    assert sorted(_legend_texts(figure)) == sorted(cause_name(c) for c in present)
    assert "IPIs and polls" not in _legend_texts(figure)  # notify: logging on replicas never notifies


def test_logging_overhead_writes_the_lost_share_beside_every_point_that_lost_records(figures, shipped):
    over = at_calibration(shipped.over[shipped.over["experiment"] == "logging"], shipped.only("logging").calibration)
    lossy = int((lost_share(over) > 0).sum())
    texts = [t.get_text() for t in figures["logging-overhead"].axes[0].texts]
    assert lossy > 0 and sum("lost)" in t for t in texts) == lossy
    assert all(len(label) <= 25 for label in _legend_texts(figures["logging-overhead"]))  # short labels


def test_replicas_vs_static_is_designs_against_vcpus_per_workload_and_service(figures, shipped):
    figure = figures["partitioning-replicas_vs_static"]
    over = shipped.over[shipped.over["experiment"] == "partitioning"]
    panels = [ax for ax in figure.axes if ax.axison]
    assert len(panels) == over.groupby(["workload", "service"]).ngroups
    assert set(_legend_texts(figure)) <= {name for name, _ in DESIGNS.values()}
    for ax in panels:
        assert ax.get_xlabel() == "VCPUs"
        assert "lowest" in ax._left_title.get_text() or "no design clearly lowest" in ax._left_title.get_text()


def test_servers_queueing_splits_each_load_and_marks_saturated_ones_without_a_number(figures, shipped):
    figure = figures["servers-queueing"]
    assert figures["servers-causes"] is None  # open loop: drawn by queueing, not as shares of a constant work
    over = shipped.over[(shipped.over["experiment"] == "servers") & is_open(shipped.over)]
    over = over[over["service"] != "none"]
    for ax in figure.axes:
        service = ax._left_title.get_text().split("\n")[0].split(" · ")[1]
        rows = over[over["service_label"] == service]
        hot = int(rows[SATURATED].sum())
        texts = [t.get_text() for t in ax.texts]
        assert sum(t.startswith("saturated") for t in texts) == hot
        assert sum(t.startswith("+") for t in texts) == len(rows) - hot  # added µs and % only where not saturated
        bars = [c for c in ax.containers]
        assert len(bars) == 2 and all(len(c.patches) == len(rows) - hot for c in bars)  # work + queueing


def test_time_per_domain_has_no_idle_only_panel_and_spells_out_domains(figures):
    for name in ("enclave-time_per_domain", "partitioning-time_per_domain"):
        figure = figures[name]
        for ax in figure.axes:
            busy = [c for c in ax.collections if isinstance(c, PolyCollection) and c.get_label() != DOMAINS["idle"][0]]
            widths = [np.ptp(path.vertices[:, 0]) for c in busy for path in c.get_paths()]
            assert max(widths, default=0) > 0, (name, ax.get_title())
        assert set(_legend_texts(figure)) <= {label for label, _ in DOMAINS.values()}


def test_boot_draws_each_acceptance_in_one_colour_in_every_panel(figures):
    figure = figures["boot-boot_time"]
    colours = {}
    for ax in figure.axes:
        for line in ax.lines:
            label = line.get_label().removeprefix("_")  # increments are left out of the legend
            if line.get_transform() == ax.transData and not label.startswith(("child", "line")):
                colours.setdefault(label.split(", ")[-1].split(" ")[0], set()).add(line.get_color())
    for collection in (c for ax in figure.axes for c in ax.collections):
        acceptance = collection.get_label().split(": ")[0].split(", ")[-1]
        colours.setdefault(acceptance, set()).add(matplotlib.colors.to_hex(collection.get_facecolor()[0]))
    assert {"eager", "lazy"} <= set(colours) and all(len(c) == 1 for c in colours.values())
    assert len(figure._suptitle.get_text().splitlines()) <= 2


def _one_panel(width: float = 4.0):
    from veilperf.analysis.figures.style import new_figure

    with matplotlib.rc_context(STYLE):
        figure = new_figure(width, 3.0)
        ax = figure.subplots()
        ax.plot([1, 2, 3], [1, 4, 9], marker="o")
    return figure, ax


def test_the_checker_passes_a_plain_panel_and_names_each_problem():
    figure, _ = _one_panel()
    assert problems(figure) == []
    wide, ax = _one_panel()
    ax.set_title("a title far wider than the four-inch panel it sits on, so nobody reads its end", loc="left")
    assert any("is wider than its axes" in p for p in problems(wide))
    out, _ = _one_panel()
    out.suptitle("a figure title far wider than the four-inch figure it heads, running past both of its edges")
    assert any("runs out of the figure" in p for p in problems(out))
    empty, ax = _one_panel()
    ax.lines[0].remove()
    assert any("is empty" in p for p in problems(empty))
    legend, ax = _one_panel()
    ax.legend(["a legend"], loc="center")
    ax.set_xlim(0, 4), ax.set_ylim(0, 10)
    ax.plot([0, 4], [5, 5])
    assert any("legend covers a data line" in p for p in problems(legend))


def test_titles_and_legends_fit_the_figure_they_are_drawn_on():
    from veilperf.analysis.figures.common import fit, fitted_title, legend_below, text_inches

    text = "Where the latency Veil adds goes, experiment enclave (calibrated platform values): its work is the same"
    lines = fit(text, 3.0, 10).split("\n")
    assert len(lines) > 1 and " ".join(lines) == text and all(text_inches(line, 10) <= 3.0 for line in lines)
    assert fit("averyveryverylongwordwithoutspaces x", 0.5, 10).split("\n")[0] == "averyveryverylongwordwithoutspaces"
    for width in (4.0, 12.0):
        figure, ax = _one_panel(width)
        ax.lines[0].set_label("Veil's work per request (VCPU time added)")
        ax.plot([1, 3], [2, 2], label="waiting for the busy VCPU (queueing added)")
        fitted_title(figure, text + " at every load, the wait for the VCPU grows with the load")
        legend_below(figure, most=2)
        assert problems(figure) == [], width
        assert figure.legends[0]._ncols == (1 if width == 4.0 else 2)
