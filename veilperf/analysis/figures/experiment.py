"""Figures of one experiment each (file ``<experiment>-<name>.<fmt>``): one question per figure.

Each builder takes the experiment's :class:`~veilperf.analysis.tables.figdata.FigureData` and returns a
Figure; a string saying why the figure is omitted although the experiment has data of its kind;
or None when the figure does not apply to the experiment at all.
"""

from __future__ import annotations

import re
import textwrap

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from veilperf.analysis.claims.verdicts import (ACCEPTANCE, BOOT_CLAIM_S, GIB, MEMORY, SERVICE_CLAIM_PCT, VCPU_MODEL,
                                      VCPUS)
from veilperf.analysis.claims.crossings import recorded_switch_ns
from veilperf.analysis.tables.columns import ARRIVAL, LOOP, SWITCH_COSTS
from veilperf.analysis.tables.figdata import FigureData, distinguishing_settings, sort_points
from veilperf.analysis.figures.names import EXPERIMENT_FIGURES
from veilperf.analysis.figures.style import (CLAIM_BAND_COLOR, CLAIM_LINE_COLOR, LOG_FLOOR_PCT, PLAIN, ci_errors, pct_text,
                                        log_axis, new_figure, service_color)
from veilperf.analysis.tables.profile import at_calibration, param_column
from veilperf.model.charges import SWITCH_MODELS

DOMAIN_COLORS = {"mon": "#264653", "ser": "#2a9d8f", "enc": "#e9c46a", "unt": "#8ab17d",
                 "switching": "#e76f51", "idle": "#d9d9d9"}
"""The parts of a VCPU's time (docs/architecture.md); other vcpu<i>.*_ns columns overlap them."""
_VCPU_COLUMN = re.compile(r"^vcpu(\d+)\.(\w+)_ns$")
MAX_VCPUS_SHOWN = 4
ROW_INCHES = 0.22
SATURATED = 0.95
"""An open-loop point is saturated when it completes less than this share of the offered load."""
SWITCH_PARAMS = tuple(param_column(name) for names in SWITCH_MODELS.values() for name in names)
"""The platform parameters a switch is made of, whichever the switch model."""
_SWITCH = "_switch_ns"


def _wrap(text: str, width: int = 48) -> str:
    return textwrap.fill(text, width, break_long_words=False)


def _stacked_rows(ax, y: np.ndarray, shares: np.ndarray, colors: list, names: list[str]) -> None:
    """Horizontal 100% bars (rows x parts of ``shares``), one collection per part (far cheaper to
    draw than a patch per bar), with legend entries named ``names``."""
    left = np.zeros(len(y))
    for j, (color, name) in enumerate(zip(colors, names)):
        right = left + shares[:, j]
        boxes = [[(a, b - 0.4), (c, b - 0.4), (c, b + 0.4), (a, b + 0.4)] for a, c, b in zip(left, right, y)]
        ax.add_collection(PolyCollection(boxes, facecolors=color, edgecolors="none", label=name))
        left = right
    ax.set_ylim(min(y, default=0) - 0.7, max(y, default=0) + 0.7)


def _labels(frame: pd.DataFrame, width: int = 60) -> list[str]:
    """Row labels: workload, service and what distinguishes the point, wrapped at ``width`` characters."""
    settings = distinguishing_settings(frame)
    return [_wrap(f"{w} — {s}" + (f", {x}" if x else ""), width)
            for w, s, x in zip(frame["workload"], frame["service"], settings)]


def _lines(labels: list[str]) -> float:
    """Rows needed for ``labels``: one per label plus a half per extra line."""
    return sum(1 + 0.5 * label.count("\n") for label in labels)


def _rows_height(rows: int, extra: float = 1.6) -> float:
    return extra + ROW_INCHES * max(rows, 3)


def _grouped_dots(ax, frame: pd.DataFrame, groups: pd.Series, series: pd.Series) -> None:
    """One row per group (first on top), one dot per series value within it (dodged, one colour
    each, in the frame's order): overhead with its 95% CI on a log axis; points below the axis
    floor are drawn at the floor as a left-pointing triangle."""
    rows = list(dict.fromkeys(groups))
    names = list(dict.fromkeys(series))
    cmap = matplotlib.colormaps["tab10"]
    step = 0.8 / len(names)
    for j, name in enumerate(names):
        part = frame[series == name]
        y = np.array([len(rows) - 1 - rows.index(g) for g in groups[part.index]]) + (len(names) - 1) / 2 * step - j * step
        values = part["overhead_pct"].to_numpy(dtype=float)
        shown = np.maximum(values, LOG_FLOOR_PCT)
        errors = ci_errors(part)
        errors[0] = np.minimum(errors[0], shown - LOG_FLOOR_PCT)
        color = cmap(j % 10) if len(names) > 1 else service_color(part["service"].iloc[0])
        ax.errorbar(shown, y, xerr=errors, fmt="o", color=color, markersize=5, capsize=2,
                    label=_wrap(name, 60) if len(names) > 1 else None)
        clipped = values < LOG_FLOOR_PCT
        ax.plot(shown[clipped], y[clipped], "<", color=color, markersize=8)
        for xi, yi, v in zip(shown, y, values):
            ax.annotate(pct_text(v), (xi, yi), xytext=(5, 0), textcoords="offset points", fontsize=7, va="center")
    ax.set_yticks(range(len(rows))[::-1], rows, fontsize=9)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    log_axis(ax, "x")


def _dot_figure(frame: pd.DataFrame, groups: pd.Series, series: pd.Series, title: str) -> Figure:
    """A figure holding :func:`_grouped_dots` with the paper's band, sized by its rows."""
    per_row = series.groupby(groups).nunique().max()
    figure = new_figure(11.0, 2.4 + groups.nunique() * max(0.35, 0.17 * per_row) + 0.2 * (series.nunique() > 1)
                        * series.nunique())
    ax = figure.subplots()
    low, high = SERVICE_CLAIM_PCT
    ax.axvspan(low, high, color=CLAIM_BAND_COLOR, alpha=0.15, label=f"paper's claim: {low:g}–{high:g}%")
    _grouped_dots(ax, frame, groups, series)
    ax.set_xlabel("overhead vs SNP CVM (%, log scale; bars: 95% CI from ≥ 3 replications)")
    figure.legend(loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    ax.set_title(title, loc="left")
    return figure


def overhead(data: FigureData) -> Figure | str | None:
    """Overhead of every workload point of the experiment at calibrated costs, with 95% CIs and the
    paper's 2-64% band: one row per workload and service, one colour per setting."""
    rows = data.over[(data.over["kind"] == "workload") & (data.over["basis"] != "latency")]
    caption = data.caption(rows)
    frame = at_calibration(rows, data.calibration)
    if frame.empty:
        return None
    if VCPU_MODEL in frame and frame[VCPU_MODEL].nunique() > 1:
        return None
    if (frame["overhead_pct"].abs() < LOG_FLOOR_PCT).all():
        return "every overhead is below 0.01% (normal execution: see the claims figure)"
    frame = sort_points(frame)
    settings = distinguishing_settings(frame)
    return _dot_figure(frame, frame["workload"] + " — " + frame["service"],
                       settings.where(settings != "", frame["service"]),
                       f"Overhead per workload, experiment {data.experiment}\n{caption}")


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
    settings = distinguishing_settings(frame)
    keys = frame["workload"] + " — " + frame["service"] + settings.map(lambda x: f", {x}" if x else "")
    cmap = matplotlib.colormaps["tab20"]
    for i, key in enumerate(sorted(keys.unique())):
        line = frame[keys == key].sort_values(_SWITCH)
        ax.errorbar(line[_SWITCH] / 1e3, line["overhead_pct"].clip(lower=LOG_FLOOR_PCT), yerr=ci_errors(line),
                    marker="o", markersize=4, capsize=2, label=_wrap(key, 40), color=cmap(i % 20))
    if frame["overhead_pct"].max() / max(frame["overhead_pct"].min(), LOG_FLOOR_PCT) > 3:
        log_axis(ax, "y")
    low, high = SERVICE_CLAIM_PCT
    ax.axhspan(low, high, color=CLAIM_BAND_COLOR, alpha=0.12)
    ax.set_xlabel("domain switch, one way (µs)")
    ax.set_ylabel("overhead vs SNP CVM (%)")
    figure.legend(loc="outside lower center", fontsize=8, ncol=3, frameon=False)
    ax.set_title(f"Overhead vs domain-switch cost, experiment {data.experiment} "
                 f"(band: paper's {low:g}–{high:g}%)\n{caption}", loc="left")
    return figure


def causes(data: FigureData) -> Figure | str | None:
    """How Veil's added time splits by cause: one 100% bar per service point, the total overhead
    written beside it."""
    frame = at_calibration(data.over[(data.over["kind"] == "workload") & (data.over["service"] != "none")],
                           data.calibration)
    names = sorted(c for c in frame.columns if c.startswith("cause.") and frame[c].notna().any())
    if frame.empty or not names:
        return None
    frame = frame[frame[names].fillna(0.0).sum(axis=1) > 0]
    if frame.empty:
        return "no Veil-added time recorded by cause"
    frame = sort_points(frame)
    labels = _labels(frame, 80)  # two lines at most: a row of a full-height figure has room for two
    figure = new_figure(13.0, _rows_height(_lines(labels), 2.2))
    ax = figure.subplots()
    shares = frame[names].fillna(0.0).to_numpy()
    shares = shares / shares.sum(axis=1, keepdims=True) * 100
    y = np.arange(len(frame))[::-1]
    _stacked_rows(ax, y, shares, [matplotlib.colormaps["tab10"](j) for j in range(len(names))],
                  [cause.removeprefix("cause.").removesuffix("_ns") for cause in names])
    for yi, value in zip(y, frame["overhead_pct"]):
        ax.text(101, yi, ("+" if value >= 0 else "") + pct_text(value), va="center", fontsize=8)
    ax.set_yticks(y, labels, fontsize=9)
    ax.grid(False, axis="y")  # a line through the middle of every bar says nothing
    ax.set_xlim(0, 115)
    ax.set_xlabel("share of Veil-added time by cause (%); total overhead vs SNP CVM at the right")
    figure.legend(loc="outside upper center", ncol=len(names), frameon=False)
    ax.set_title(f"Veil-added time by cause, experiment {data.experiment}\n{data.caption(frame)}", loc="left",
                 fontsize=10)
    return figure


def boot_time(data: FigureData) -> Figure | str | None:
    """Boot time vs memory and VCPUs (cvm vs veil, eager vs lazy) and Veil's increment with the 2 s line."""
    frame = data.over[data.over["kind"] == "boot"]
    if frame.empty or MEMORY not in frame or VCPUS not in frame:
        return None
    frame = frame.assign(acceptance=frame[ACCEPTANCE] if ACCEPTANCE in frame else "default")
    calibrated = at_calibration(frame, data.calibration)
    small_vcpus, small_memory = frame[VCPUS].min(), frame[MEMORY].min()
    figure = new_figure(11.0, 8.0)
    (mem_ax, cpu_ax), (mem_inc, cpu_inc) = figure.subplots(2, 2)
    for x_col, fixed_col, fixed, ax, inc_ax, scale, unit in (
        (MEMORY, VCPUS, small_vcpus, mem_ax, mem_inc, GIB, "guest memory (GiB)"),
        (VCPUS, MEMORY, small_memory, cpu_ax, cpu_inc, 1, "VCPUs"),
    ):
        for acceptance in sorted(frame["acceptance"].unique()):
            curve = calibrated[(calibrated[fixed_col] == fixed) & (calibrated["acceptance"] == acceptance)]
            curve = curve.sort_values(x_col)
            x = curve[x_col] / scale
            ax.plot(x, curve["baseline_cost_ns"] / 1e9, marker="o", linestyle="--", label=f"cvm, {acceptance}")
            ax.plot(x, curve["treatment_cost_ns"] / 1e9, marker="s", label=f"veil, {acceptance}")
            line = inc_ax.plot(x, curve["increment_ns"] / 1e9, marker="s", label=f"{acceptance}, calibrated")
            spread = frame[(frame[fixed_col] == fixed) & (frame["acceptance"] == acceptance)]
            spread = spread.groupby(x_col, sort=True)["increment_ns"].agg(["min", "max"])
            if len(data.calibration) and len(spread):
                inc_ax.fill_between(spread.index / scale, spread["min"] / 1e9, spread["max"] / 1e9,
                                    color=line[0].get_color(), alpha=0.2, label=f"{acceptance}, assumption range")
        fixed_text = f"{fixed / GIB:g} GiB" if fixed_col == MEMORY else f"{fixed:g} VCPU(s)"
        for axis, what in ((ax, "boot time (s)"), (inc_ax, "Veil's boot increment (s)")):
            axis.set_xscale("log", base=2)
            axis.xaxis.set_major_formatter(PLAIN)
            axis.set_xlabel(unit)
            axis.set_ylabel(what)
            axis.set_title(f"{what.split(' (')[0]} at {fixed_text}")
        if (frame["increment_ns"] > 0).all():
            log_axis(inc_ax, "y")
        inc_ax.axhline(BOOT_CLAIM_S, color=CLAIM_LINE_COLOR, linestyle=":",
                       label=f"paper's claim: < {BOOT_CLAIM_S:g} s")
        ax.legend(fontsize=8)
        inc_ax.legend(fontsize=8)
    figure.suptitle(f"Boot time, SNP CVM vs Veil\n{data.caption(frame)}")
    return figure


def time_per_domain(data: FigureData) -> Figure | str | None:
    """Share of each VCPU's simulated time per domain: one row per treatment point (first
    replication, at calibration), one panel per VCPU. Only for experiments whose points run on
    several VCPUs and use a Veil domain: with one VCPU the split is the causes figure's."""
    columns = {c: _VCPU_COLUMN.match(c).groups() for c in data.runs.columns if _VCPU_COLUMN.match(c)}
    domains = [d for d in DOMAIN_COLORS if any(dom == d for _, dom in columns.values())]
    if not domains:
        return None
    runs = data.runs[(data.runs["role"] == "treatment") & (data.runs["workload"] != "boot")]
    if runs.empty or (VCPUS in runs and runs[VCPUS].max() <= 1):
        return None
    caption = data.caption(runs)
    runs = at_calibration(runs, data.calibration)
    runs = runs[runs["replication"] == runs.groupby("point")["replication"].transform("min")]
    vcpus = sorted({int(i) for i, _ in columns.values()})[:MAX_VCPUS_SHOWN]
    veil_domains = [c for c in columns if columns[c][1] in ("mon", "ser", "enc", "switching")]
    if runs.empty or not (runs[veil_domains].fillna(0.0).to_numpy() > 0).any():
        return None
    labels, shares = [], []
    runs = sort_points(runs)
    names = _labels(runs)
    for (_, run), name in zip(runs.iterrows(), names):
        times = np.array([[float(run.get(f"vcpu{v}.{d}_ns", np.nan)) for d in domains] for v in vcpus])
        totals = np.nansum(times, axis=1, keepdims=True)
        if not (totals > 0).any():
            continue
        labels.append(name)
        shares.append(np.where(totals > 0, np.nan_to_num(times) / np.where(totals > 0, totals, 1) * 100, 0.0))
    matrix = np.array(shares)[::-1]  # points x VCPUs x domains, first point on top
    figure = new_figure(5.0 + 2.2 * len(vcpus), _rows_height(_lines(labels), 2.0))
    axes = figure.subplots(1, len(vcpus), squeeze=False)[0]  # same rows (limits set by _stacked_rows)
    figure.get_layout_engine().set(wspace=0.06)  # "100" of one panel clear of the next one's "0"
    for j, ax in enumerate(axes):
        _stacked_rows(ax, np.arange(len(labels)), matrix[:, j, :], [DOMAIN_COLORS[d] for d in domains], domains)
        ax.set_xlim(0, 100)
        ax.set_title(f"vcpu{vcpus[j]}")
        ax.set_xlabel("% of time")
        ax.set_yticks([])  # row labels on the first panel only: no hidden tick objects on the others
        ax.grid(False, axis="y")
    axes[0].set_yticks(range(len(labels)), labels[::-1], fontsize=8)
    figure.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=len(domains),
                  frameon=False)
    figure.suptitle(f"Time per domain per VCPU, experiment {data.experiment} "
                    f"(first {MAX_VCPUS_SHOWN} VCPUs at most)\n{caption}", fontsize=10)
    return figure


def latency(data: FigureData) -> Figure | str | None:
    """Open-loop servers: latency p50 and p99 against the offered load, per mode and service;
    saturated points (completing less than 95% of the offered load) marked."""
    needed = (LOOP, ARRIVAL, "throughput_per_s", "latency_p50_ns", "latency_p99_ns")
    if any(c not in data.runs for c in needed):
        return None
    runs = data.runs[data.runs[LOOP] == "open"]
    caption = data.caption(runs)
    runs = at_calibration(runs, data.calibration)
    if runs.empty:
        return None
    points = runs.groupby(["workload", "service", "mode", ARRIVAL], sort=True)[
        ["throughput_per_s", "latency_p50_ns", "latency_p99_ns"]].mean().reset_index()
    points["saturated"] = points["throughput_per_s"] < SATURATED * points[ARRIVAL]
    figure = new_figure(12.0, 5.2)
    axes = figure.subplots(1, 2, sharey=True)
    for (workload, service, mode), line in points.groupby(["workload", "service", "mode"], sort=True):
        line = line.sort_values(ARRIVAL)
        label = f"{workload}, {mode}" + ("" if service == "none" else f" + {service}")
        color = service_color(service)
        for ax, column in zip(axes, ("latency_p50_ns", "latency_p99_ns")):
            ax.plot(line[ARRIVAL], line[column] / 1e3, marker="o", markersize=4, label=label, color=color)
            hot = line[line["saturated"]]
            ax.plot(hot[ARRIVAL], hot[column] / 1e3, linestyle="none", marker="X", markersize=10, color=color)
            if len(hot):
                ax.axvline(hot[ARRIVAL].min(), color=color, linestyle=":", linewidth=1)
    for ax, what in zip(axes, ("p50", "p99")):
        ax.set_xlabel("offered load (requests/s)")
        ax.set_title(f"{what} latency")
        log_axis(ax, "y")
    axes[0].set_ylabel("latency (µs, log scale)")
    axes[0].plot([], [], linestyle="none", marker="X", color="black", label=f"saturated (< {SATURATED:.0%} served)")
    axes[0].legend(loc="upper left", fontsize=8)
    figure.suptitle(f"Server latency vs offered load, experiment {data.experiment}\n{caption}", fontsize=10)
    return figure


def replicas_vs_static(data: FigureData) -> Figure | str | None:
    """Overhead with VCPU replicas (Veil) vs static partitioning of VCPUs per domain: one row per
    workload and service, one colour per setting."""
    frame = at_calibration(data.over[data.over["kind"] == "workload"], data.calibration)
    if VCPU_MODEL not in frame or frame[VCPU_MODEL].nunique() < 2:
        return None
    frame = sort_points(frame[frame["service"] != "none"])
    settings = distinguishing_settings(frame, by="service")
    return _dot_figure(frame, frame["workload"] + " — " + frame["service"], settings,
                       f"VCPU replicas vs static partitioning, experiment {data.experiment}\n{data.caption(frame)}")


PER_EXPERIMENT = {name: globals()[name] for name in EXPERIMENT_FIGURES}
"""Figure name -> builder, in the order the report shows an experiment's figures."""
