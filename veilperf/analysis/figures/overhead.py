"""An experiment's overhead figures: ``overhead`` (every point at calibrated costs),
``switch_cost`` (overhead against the domain-switch cost the runs were charged) and
``replicas_vs_static`` (the VCPU designs against the VCPU count)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from veilperf.analysis.claims.crossings import recorded_switch_ns
from veilperf.analysis.claims.lost_records import lost_share, lost_text
from veilperf.analysis.claims.verdicts import VCPU_MODEL, VCPUS
from veilperf.analysis.figures.common import (SEP, claim_band, dodged_dots, fitted_title, legend_below, log_floor,
                                              series_colors)
from veilperf.analysis.claims.verdicts import pct_text
from veilperf.analysis.figures.style import LOG_FLOOR_PCT, MIN_CI_REPLICATIONS, ci_errors, log_axis, new_figure
from veilperf.analysis.tables.columns import PLATFORM, SWITCH_COSTS
from veilperf.analysis.tables.figdata import SERVICE_LABEL, FigureData, sort_points
from veilperf.analysis.tables.profile import at_calibration, param_column
from veilperf.model.charges import SWITCH_MODELS

SWITCH_PARAMS = tuple(param_column(name) for names in SWITCH_MODELS.values() for name in names)
"""The platform parameters a switch is made of, whichever the switch model."""
_SWITCH = "_switch_ns"
SWITCHLESS = "cfg.setup.services.enc.switchless"
DESIGNS = {"replicas": ("VCPU replicas (Veil as built)", "#1f77b4"),
           "static": ("static partitioning", "#d62728"),
           "switchless": ("replicas + switchless ocalls", "#2ca02c")}
"""The VCPU designs the partitioning figure compares: name for readers and colour."""


def _workload_points(data: FigureData) -> pd.DataFrame:
    return data.over[(data.over["kind"] == "workload") & (data.over["basis"] != "latency")]


def overhead(data: FigureData) -> Figure | str | None:
    """Overhead of every workload point of the experiment at calibrated costs, with 95% CIs and the
    paper's 2-64% band: one row per workload and service, one colour per setting (per platform
    when the experiment compares platforms); lost audit records written beside their point."""
    rows = _workload_points(data)
    caption = data.caption(rows)
    frame = at_calibration(rows, data.calibration)
    if frame.empty or (VCPU_MODEL in frame and frame[VCPU_MODEL].nunique() > 1):
        return None
    if (frame["overhead_pct"].abs() < LOG_FLOOR_PCT).all():
        return "every overhead is below 0.01% (normal execution: see the claims figure)"
    frame = sort_points(frame)
    if PLATFORM in data.varying_axes(frame):  # what moves between platforms: one colour per platform
        groups = frame["workload"] + SEP + data.labels(frame, without=[PLATFORM])
        series = data.words(frame, [PLATFORM])
    else:
        groups = frame["workload"] + SEP + frame["service"]
        series = data.labels(frame)
    lost = lost_share(frame).map(lost_text)
    per_row = series.groupby(groups).nunique().max()
    figure = new_figure(11.0, 2.4 + groups.nunique() * max(0.35, 0.17 * per_row) + 0.25 * np.ceil(series.nunique() / 3))
    ax = figure.subplots()
    claim_band(ax)
    dodged_dots(ax, frame, groups, series, series_colors(list(dict.fromkeys(series))), lost)
    ax.set_xlabel("overhead vs SNP CVM (%, log scale; bars: 95% CI from ≥ 3 replications)")
    legend_below(figure, points=8, most=3)
    ax.set_title(f"Overhead per workload, experiment {data.experiment} ({caption})", loc="left", fontsize=10)
    return figure


def switch_cost(data: FigureData) -> Figure | str | None:
    """Overhead against the one-way domain-switch cost the runs were charged (the record's
    ``costs.switch.*``, whether the profile gives one figure or its parts), one line per workload
    and setting."""
    frame = data.over[(data.over["kind"] == "workload") & (data.over["service"] != "none")]
    if not any(c.startswith(SWITCH_COSTS) for c in frame.columns):
        swept = [c for c in SWITCH_PARAMS if c in frame and frame[c].nunique() > 1]
        return (f"no recorded switch costs (costs.switch.*) in results sweeping {', '.join(swept)}: rerun "
                f"`veilperf sweep --force`") if swept else None
    frame = frame.assign(**{_SWITCH: recorded_switch_ns(frame)})
    if frame[_SWITCH].nunique() < 2:
        return None
    caption = data.caption(frame, keep=SWITCH_PARAMS)
    frame = at_calibration(frame, data.calibration, keep=SWITCH_PARAMS)
    frame = frame[frame.groupby(["workload", "service", "setting"])[_SWITCH].transform("nunique") > 1]
    if frame.empty:
        return "no service results over the switch cost"
    figure = new_figure(11.0, 6.0 + 0.12 * frame["workload"].nunique())
    ax = figure.subplots()
    keys = frame["workload"] + SEP + data.labels(frame, without=SWITCH_PARAMS)
    names = sorted(keys.unique())
    colors = series_colors(names)
    for i, key in enumerate(names):
        line = frame[keys == key].sort_values(_SWITCH)
        ax.errorbar(line[_SWITCH] / 1e3, line["overhead_pct"].clip(lower=log_floor(frame["overhead_pct"])),
                    yerr=ci_errors(line), marker="o", markersize=4, capsize=2, label=key, color=colors[key],
                    linestyle="-" if i < 10 else "--")
    if frame["overhead_pct"].max() / max(frame["overhead_pct"].min(), LOG_FLOOR_PCT) > 3:
        log_axis(ax, "y")
    claim_band(ax, vertical=False)
    ax.set_xlabel("domain switch, one way (µs), as the runs were charged")
    ax.set_ylabel("overhead vs SNP CVM (%)")
    legend_below(figure, points=8)
    ax.set_title(f"Overhead vs domain-switch cost, experiment {data.experiment} ({caption})", loc="left",
                 fontsize=10)
    return figure


def _design(frame: pd.DataFrame) -> pd.Series:
    """Each point's VCPU design: ``replicas``, ``static`` or ``switchless`` (replicas whose
    enclave's ocalls go to a polling worker)."""
    switchless = frame[SWITCHLESS].map(lambda v: v is True or v == 1) if SWITCHLESS in frame else False
    return frame[VCPU_MODEL].astype(str).where(~pd.Series(switchless, index=frame.index).astype(bool), "switchless")


def _separated(best: pd.Series, second: pd.Series) -> bool:
    """Whether two points' 95% intervals do not overlap (both need >= 3 replications to have one)."""
    if min(best["n"], second["n"]) < MIN_CI_REPLICATIONS:
        return True  # no interval to judge by: the difference is what was simulated
    return bool(best["ci_high"] < second["ci_low"])


def _verdict(panel: pd.DataFrame) -> str:
    """Which design is lowest at every VCPU count and by how much (percentage points), or that no
    design is clearly lowest."""
    winners, gaps, clear = set(), [], []
    for _, at in panel.groupby(VCPUS):
        ranked = at.sort_values("overhead_pct")
        winners.add(ranked["design"].iloc[0])
        if len(ranked) > 1:
            gaps.append(ranked["overhead_pct"].iloc[1] - ranked["overhead_pct"].iloc[0])
            clear.append(_separated(ranked.iloc[0], ranked.iloc[1]))
    if not gaps:
        return ""
    if not any(clear):
        return "no design clearly lowest (95% CIs overlap)"
    if len(winners) != 1:
        return "lowest: " + " or ".join(sorted(DESIGNS[w][0].split(" (")[0] for w in winners)) + ", by VCPU count"
    low, high = min(gaps), max(gaps)
    by = f"{low:.1f}" if np.isclose(low, high, atol=0.05) else f"{low:.1f}–{high:.1f}"
    return f"lowest: {DESIGNS[winners.pop()][0].split(' (')[0]}, by {by} points" + (
        "" if all(clear) else " (within the 95% CIs at some VCPU counts)")


def _value_labels(ax, panel: pd.DataFrame) -> None:
    """Each point's value right of it, nudged apart where two values at one VCPU count are close."""
    span = max(float(panel["overhead_pct"].max()), 1e-9)
    for _, at in panel.groupby(VCPUS):
        previous = None
        for _, row in at.sort_values("overhead_pct").iterrows():
            value = row["overhead_pct"]
            dy = 7 if previous is not None and value - previous < 0.06 * span else 0
            ax.annotate(pct_text(value), (row[VCPUS], value), xytext=(9, dy), textcoords="offset points", fontsize=7,
                        va="center", color=DESIGNS[row["design"]][1])
            previous = value if dy == 0 else value + 0.06 * span


def replicas_vs_static(data: FigureData) -> Figure | str | None:
    """Which VCPU design costs least: overhead against the VCPU count, one panel per workload and
    service, one line per design (VCPU replicas as Veil builds them, static partitioning,
    replicas with switchless ocalls), each panel naming the lowest and by how much."""
    frame = at_calibration(data.over[data.over["kind"] == "workload"], data.calibration)
    if VCPU_MODEL not in frame or frame[VCPU_MODEL].nunique() < 2 or VCPUS not in frame:
        return None
    frame = sort_points(frame[frame["service"] != "none"])
    frame = frame.assign(design=_design(frame), panel=frame["workload"] + SEP + frame["service"])
    services = list(dict.fromkeys(frame["service"]))
    workloads = list(dict.fromkeys(frame["workload"]))
    figure = new_figure(4.2 * len(workloads) + 0.6, 3.4 * len(services) + 1.2)
    axes = figure.subplots(len(services), len(workloads), squeeze=False)
    for i, service in enumerate(services):
        for j, workload in enumerate(workloads):
            ax, panel = axes[i][j], frame[(frame["service"] == service) & (frame["workload"] == workload)]
            if panel.empty:
                ax.set_axis_off()
                continue
            for design, (name, color) in DESIGNS.items():
                line = panel[panel["design"] == design].sort_values(VCPUS)
                if line.empty:
                    continue
                ax.errorbar(line[VCPUS], line["overhead_pct"], yerr=ci_errors(line), marker="o", color=color,
                            capsize=3, label=name)
            _value_labels(ax, panel)
            top = (panel["overhead_pct"] + ci_errors(panel)[1]).max()
            ax.set_xticks(sorted(panel[VCPUS].unique()))
            ax.set_xlim(panel[VCPUS].min() - 0.3, panel[VCPUS].max() + 0.6)
            ax.set_ylim(min(0.0, float(panel["overhead_pct"].min()) * 1.2), top * 1.15 + 1e-9)
            ax.set_title(f"{workload}{SEP}{panel[SERVICE_LABEL].mode().iloc[0]}\n{_verdict(panel)}",
                         fontsize=9, loc="left")
            ax.set_xlabel("VCPUs", fontsize=9)
            if j == 0:
                ax.set_ylabel("overhead vs SNP CVM (%)", fontsize=9)
    legend_below(figure, most=len(DESIGNS))
    fitted_title(figure, f"Which VCPU design costs least, experiment {data.experiment} "
                         f"({data.caption(frame)}; bars: 95% CI from ≥ 3 replications)", 11)
    return figure

