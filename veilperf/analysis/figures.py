"""Every figure, drawn from stored results alone. A figure whose data is absent is skipped with a
note. Each builder takes a :class:`FigureData` and returns a Figure, or a string saying why not."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from veilperf.analysis.claims import (ACCEPTANCE, BOOT_CLAIM_S, GIB, MEMORY, SERVICE_CLAIM_PCT, VCPU_MODEL,
                                      VCPUS)
from veilperf.analysis.pairing import failed, overheads, point_key, with_columns
from veilperf.analysis.plotting import CLAIM_BAND_COLOR, CLAIM_LINE_COLOR, STYLE, new_figure, save_figure
from veilperf.analysis.profile import at_calibration, calibration_point, describe_point, param_column

SWITCH = param_column("switch_one_way")
DOMAIN_COLORS = {"mon": "#264653", "ser": "#2a9d8f", "enc": "#e9c46a", "unt": "#8ab17d",
                 "switching": "#e76f51", "idle": "#d9d9d9"}
"""The parts of a VCPU's time (docs/architecture.md); other vcpu<i>.*_ns columns overlap them."""
_VCPU_COLUMN = re.compile(r"^vcpu(\d+)\.(\w+)_ns$")
MAX_VCPUS_SHOWN = 8
PLAIN = FuncFormatter(lambda value, _: f"{value:.4g}")


@dataclass(frozen=True)
class FigureData:
    """Successful runs, their overheads, and the calibration point figures are drawn at."""

    runs: pd.DataFrame
    over: pd.DataFrame
    calibration: dict[str, float]

    @classmethod
    def build(cls, runs: pd.DataFrame, manifests: dict[str, dict[str, Any]]) -> FigureData:
        """Compute overheads and the calibration point for ``runs``."""
        over = overheads(runs)
        ok = runs[~failed(runs)]
        ok = with_columns(ok, point=point_key(ok))
        settings = over[["experiment", "point", "setting"]].drop_duplicates()
        ok = ok.merge(settings, on=["experiment", "point"], how="left")
        return cls(ok, over, calibration_point(runs, over.attrs["axes"], manifests))

    def swept_calibration(self, frame: pd.DataFrame, keep: tuple[str, ...] = ()) -> dict[str, float]:
        """The calibrated values of the parameters that vary in ``frame`` (except ``keep``)."""
        return {c: v for c, v in self.calibration.items() if c not in keep and c in frame and frame[c].nunique() > 1}

    def caption(self, frame: pd.DataFrame, keep: tuple[str, ...] = ()) -> str:
        """Which calibrated values of the parameters swept in ``frame`` a figure is drawn at."""
        shown = self.swept_calibration(frame, keep)
        return textwrap.fill(f"at {describe_point(shown)}", 100) if shown else "calibrated platform values"

    @staticmethod
    def label(row: pd.Series) -> str:
        """``service`` plus the point's setting, e.g. ``log, rules=file``."""
        setting = row.get("setting")
        return f"{row['service']}, {setting}" if isinstance(setting, str) and setting else str(row["service"])


def _log_y(ax) -> None:
    """Logarithmic y axis labelled 1, 2, 5, 10, ... in plain numbers."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(PLAIN)
    ax.yaxis.set_minor_formatter(NullFormatter())


def _legend_below(ax) -> None:
    """Legend under the panel, in two columns, so long setting names do not squeeze the plot."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.32), ncol=2, fontsize=8, frameon=False)


def _symlog_y(ax) -> None:
    """Symmetric-log y axis (linear within ±1): overheads span fractions of a percent to thousands."""
    ax.set_yscale("symlog", linthresh=1.0)
    ax.yaxis.set_major_formatter(PLAIN)
    ax.yaxis.set_minor_formatter(NullFormatter())


def _errors(frame: pd.DataFrame) -> np.ndarray:
    return np.vstack([frame["overhead_pct"] - frame["ci_low"], frame["ci_high"] - frame["overhead_pct"]])


def _workload_points(data: FigureData, keep: tuple[str, ...] = ()) -> tuple[pd.DataFrame, str]:
    """Workload overhead rows at calibration (except ``keep``), and the caption saying so."""
    rows = data.over[data.over["kind"] == "workload"]
    return at_calibration(rows, data.calibration, keep), data.caption(rows, keep)


def _grouped_bars(ax, frame: pd.DataFrame, series: pd.Series) -> None:
    """Bars with CIs: one group per workload, one bar per value of ``series``."""
    workloads = sorted(frame["workload"].unique())
    names = sorted(series.unique())
    width = 0.8 / len(names)
    cmap = matplotlib.colormaps["tab10"]
    for i, name in enumerate(names):
        subset = frame[series == name].groupby("workload", sort=True).first()
        x = np.array([workloads.index(w) for w in subset.index]) - 0.4 + width * (i + 0.5)
        ax.bar(x, subset["overhead_pct"], width, yerr=_errors(subset), capsize=2, label=name,
               color=cmap(i % 10), edgecolor="black", linewidth=0.4)
    ax.set_xticks(range(len(workloads)), workloads, rotation=30, ha="right")
    ax.axhline(0, color="black", linewidth=0.8)


def _experiment_panels(frame: pd.DataFrame, width: float, panel_height: float) -> tuple[Figure, list]:
    """A figure with one full-width panel per experiment in ``frame`` (sorted), and those panels."""
    experiments = sorted(frame["experiment"].unique())
    figure = new_figure(width, 1.0 + panel_height * len(experiments))
    axes = list(figure.subplots(len(experiments), 1, squeeze=False)[:, 0])
    return figure, list(zip(experiments, axes))


def overhead_by_service(data: FigureData) -> Figure | str:
    """Overhead per workload per service, with 95% CIs and the paper's 2-64% band as a reference;
    one panel per experiment."""
    frame, caption = _workload_points(data)
    if frame.empty:
        return "no workload results with baselines"
    figure, panels = _experiment_panels(frame, 11.0, 4.6)
    low, high = SERVICE_CLAIM_PCT
    for experiment, ax in panels:
        rows = frame[frame["experiment"] == experiment]
        ax.axhspan(low, high, color=CLAIM_BAND_COLOR, alpha=0.15, label=f"paper's claim: {low:g}–{high:g}%")
        _grouped_bars(ax, rows, rows.apply(data.label, axis=1))
        _symlog_y(ax)
        ax.set_ylabel("overhead (%)")
        ax.set_title(f"experiment: {experiment}", loc="left")
        _legend_below(ax)
    figure.suptitle(f"Overhead vs SNP CVM per workload and service (bars: 95% CI)\n{caption}")
    return figure


def overhead_vs_switch_cost(data: FigureData) -> Figure | str:
    """Overhead against the one-way domain-switch cost, one line per workload and setting; one panel
    per experiment that swept the switch cost."""
    if SWITCH not in data.over.attrs["axes"]:
        return "switch_one_way was not swept"
    frame, caption = _workload_points(data, keep=(SWITCH,))
    frame = frame[frame[SWITCH].notna() & (frame["service"] != "none")]
    frame = frame[frame.groupby(["experiment", "workload", "service", "setting"])[SWITCH].transform("nunique") > 1]
    if frame.empty:
        return "no service results over switch_one_way"
    figure, panels = _experiment_panels(frame, 11.0, 5.0)
    for experiment, ax in panels:
        rows = frame[frame["experiment"] == experiment]
        keys = rows.apply(lambda r: f"{r['workload']} ({data.label(r)})", axis=1)
        for key in sorted(keys.unique()):
            line = rows[keys == key].sort_values(SWITCH)
            ax.errorbar(line[SWITCH] / 1e3, line["overhead_pct"], yerr=_errors(line), marker="o",
                        markersize=4, capsize=2, label=key)
        _symlog_y(ax)
        ax.set_xlabel("domain switch, one way (µs)")
        ax.set_ylabel("overhead vs SNP CVM (%)")
        ax.set_title(f"experiment: {experiment}", loc="left")
        _legend_below(ax)
    figure.suptitle(f"Overhead vs domain-switch cost\n{caption}")
    return figure


def overhead_by_cause(data: FigureData) -> Figure | str:
    """How Veil's added time splits by cause (switches, copies, monitor, service, queueing...): one
    100% bar per service point, the total overhead written beside it; one panel per experiment."""
    frame, caption = _workload_points(data)
    frame = frame[frame["service"] != "none"]
    causes = sorted(c for c in frame.columns if c.startswith("cause.") and frame[c].notna().any())
    if frame.empty or not causes:
        return "no cause.* columns for service results"
    totals = frame[causes].fillna(0.0).sum(axis=1)
    frame = frame[totals > 0]
    if frame.empty:
        return "no Veil-added time recorded by cause"
    counts = frame.groupby("experiment").size()
    figure = new_figure(13.0, 1.2 + 0.9 * len(counts) + 0.24 * len(frame))
    axes = figure.subplots(len(counts), 1, squeeze=False, height_ratios=[1.5 + n for n in counts])[:, 0]
    colors = {cause: matplotlib.colormaps["tab10"](i) for i, cause in enumerate(causes)}
    for ax, (experiment, rows) in zip(axes, frame.groupby("experiment", sort=True)):
        rows = rows.assign(label=rows.apply(lambda r: f"{r['workload']} — {data.label(r)}", axis=1))
        rows = rows.sort_values("label", ascending=False)
        shares = rows[causes].fillna(0.0).to_numpy()
        shares = shares / shares.sum(axis=1, keepdims=True) * 100
        left = np.zeros(len(rows))
        for j, cause in enumerate(causes):
            ax.barh(range(len(rows)), shares[:, j], left=left, color=colors[cause],
                    label=cause.removeprefix("cause.").removesuffix("_ns"))
            left += shares[:, j]
        for y, overhead in enumerate(rows["overhead_pct"]):
            ax.text(101, y, f"{overhead:+.1f}%", va="center", fontsize=8)
        ax.set_yticks(range(len(rows)), rows["label"], fontsize=8)
        ax.set_xlim(0, 112)
        ax.set_title(f"experiment: {experiment}", loc="left")
    axes[-1].set_xlabel("share of Veil-added time by cause (%); total overhead vs SNP CVM at the right")
    axes[0].legend(loc="lower left", bbox_to_anchor=(0.0, 1.08), ncol=len(causes), frameon=False)
    figure.suptitle(f"Overhead by cause\n{caption}")
    return figure


def boot_time(data: FigureData) -> Figure | str:
    """Boot time vs memory and VCPUs (cvm vs veil, eager vs lazy) and Veil's increment with the 2 s line."""
    frame = data.over[data.over["kind"] == "boot"]
    if frame.empty or MEMORY not in frame or VCPUS not in frame:
        return "no boot results with cfg.boot.memory and cfg.setup.vcpus"
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
            _log_y(inc_ax)
        inc_ax.axhline(BOOT_CLAIM_S, color=CLAIM_LINE_COLOR, linestyle=":",
                       label=f"paper's claim: < {BOOT_CLAIM_S:g} s")
        ax.legend()
        inc_ax.legend()
    figure.suptitle(f"Boot time, SNP CVM vs Veil\n{data.caption(frame)}")
    return figure


def time_per_domain(data: FigureData) -> Figure | str:
    """Share of each VCPU's simulated time per domain: one row per treatment point (first
    replication, at calibration), one column of panels per VCPU."""
    columns = {c: _VCPU_COLUMN.match(c).groups() for c in data.runs.columns if _VCPU_COLUMN.match(c)}
    domains = [d for d in DOMAIN_COLORS if any(dom == d for _, dom in columns.values())]
    if not domains:
        return "no vcpu<i>.<domain>_ns columns"
    runs = data.runs[(data.runs["role"] == "treatment") & (data.runs["workload"] != "boot")]
    caption = data.caption(runs)
    runs = at_calibration(runs, data.calibration)
    runs = runs[runs["replication"] == runs.groupby(["experiment", "point"])["replication"].transform("min")]
    vcpus = sorted({int(i) for i, _ in columns.values()})[:MAX_VCPUS_SHOWN]
    labels, shares = [], []
    for _, run in runs.sort_values(["experiment", "workload", "setting", "service", "point"]).iterrows():
        times = np.array([[float(run.get(f"vcpu{v}.{d}_ns", np.nan)) for d in domains] for v in vcpus])
        totals = np.nansum(times, axis=1, keepdims=True)
        if not (totals > 0).any():
            continue
        labels.append(textwrap.fill(f"{run['workload']} — {data.label(run)} [{run['experiment']}]", 60))
        shares.append(np.where(totals > 0, np.nan_to_num(times) / np.where(totals > 0, totals, 1) * 100, 0.0))
    if not labels:
        return "no per-VCPU times in treatment runs"
    matrix = np.array(shares)[::-1]  # points x VCPUs x domains, first point on top
    label_width = 0.065 * max(len(line) for label in labels for line in label.splitlines())  # inches at 8 pt
    lines = sum(label.count("\n") + 1 for label in labels)
    figure = new_figure(2.5 + label_width + 1.6 * len(vcpus), 1.8 + 0.2 * lines + 0.1 * len(labels))
    axes = figure.subplots(1, len(vcpus), sharey=True, squeeze=False)[0]
    for j, ax in enumerate(axes):
        left = np.zeros(len(labels))
        for k, domain in enumerate(domains):
            ax.barh(range(len(labels)), matrix[:, j, k], left=left, color=DOMAIN_COLORS[domain], label=domain)
            left += matrix[:, j, k]
        ax.set_xlim(0, 100)
        ax.set_title(f"vcpu{vcpus[j]}")
        ax.set_xlabel("% of time")
    axes[0].set_yticks(range(len(labels)), labels[::-1], fontsize=8)
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    figure.suptitle(f"Time per domain per VCPU (first {MAX_VCPUS_SHOWN} VCPUs at most)\n{caption}")
    return figure


def latency_vs_throughput(data: FigureData) -> Figure | str:
    """Open-loop server workloads: mean and p99 latency against achieved throughput."""
    needed = ("cfg.workload.loop", "throughput_per_s", "latency_mean_ns", "latency_p99_ns")
    if any(c not in data.runs for c in needed):
        return "no open-loop runs with latency and throughput columns"
    runs = data.runs[data.runs["cfg.workload.loop"] == "open"]
    caption = data.caption(runs)
    runs = at_calibration(runs, data.calibration)
    if runs.empty:
        return "no open-loop (server) runs"
    points = runs.groupby(["experiment", "workload", "service", "mode", "pair_key", "role"], sort=True)[
        list(needed[1:])].mean().reset_index()
    figure = new_figure(12.0, 4.8)
    axes = figure.subplots(1, 2)
    for (experiment, workload, service, mode), line in points.groupby(
        ["experiment", "workload", "service", "mode"], sort=True
    ):
        line = line.sort_values("throughput_per_s")
        label = f"{workload}, {mode}" + ("" if service == "none" else f" + {service}") + f" [{experiment}]"
        for ax, column in zip(axes, ("latency_mean_ns", "latency_p99_ns")):
            ax.plot(line["throughput_per_s"], line[column] / 1e3, marker="o", markersize=4, label=label)
    for ax, what in zip(axes, ("mean", "p99")):
        ax.set_xlabel("throughput (requests/s)")
        ax.set_ylabel(f"{what} latency (µs)")
        _log_y(ax)
        ax.set_title(f"{what} latency vs throughput")
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.suptitle(f"Server workloads (open loop)\n{caption}")
    return figure


def replicas_vs_static(data: FigureData) -> Figure | str:
    """Overhead with VCPU replicas (Veil) vs static partitioning of VCPUs per domain."""
    frame, caption = _workload_points(data)
    if VCPU_MODEL not in frame or frame[VCPU_MODEL].nunique() < 2:
        return "no results comparing cfg.setup.vcpu_model replicas and static"
    frame = frame[frame.groupby(["experiment", "workload"])[VCPU_MODEL].transform("nunique") > 1]
    others = frame["setting"].str.replace(r"(^|, )vcpu_model=\w+", "", regex=True).str.removeprefix(", ")
    others = others.map(lambda text: textwrap.fill(text, 28))
    group = frame["workload"] + " · " + frame["service"] + np.where(others != "", "\n" + others, "")
    frame = frame.assign(workload=group)
    figure = new_figure(max(7.0, 1.1 * frame["workload"].nunique() + 2.0), 6.0)
    ax = figure.subplots()
    _grouped_bars(ax, frame, frame[VCPU_MODEL].astype(str))
    ax.tick_params(axis="x", labelsize=8, labelrotation=0)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("center")
    _symlog_y(ax)
    ax.set_ylabel("overhead vs SNP CVM (%)")
    ax.set_title(f"VCPU replicas vs static partitioning\n{caption}")
    ax.legend(title="VCPU model")
    return figure


FIGURES: dict[str, Callable[[FigureData], Figure | str]] = {
    "overhead_by_service": overhead_by_service,
    "overhead_vs_switch_cost": overhead_vs_switch_cost,
    "overhead_by_cause": overhead_by_cause,
    "boot_time": boot_time,
    "time_per_domain": time_per_domain,
    "latency_vs_throughput": latency_vs_throughput,
    "replicas_vs_static": replicas_vs_static,
}
"""Figure name (file stem) -> builder, in the order the report shows them."""


def render_figures(data: FigureData, out_dir: Path, fmt: str = "png") -> tuple[dict[str, Path], list[str]]:
    """Draw and save every figure; returns ``({name: path}, notes on skipped figures)``."""
    written: dict[str, Path] = {}
    notes: list[str] = []
    for name, build in FIGURES.items():
        with matplotlib.rc_context(STYLE):
            result = build(data)
        if isinstance(result, str):
            notes.append(f"{name}: skipped, {result}")
            continue
        written[name] = save_figure(result, Path(out_dir) / f"{name}.{fmt}", fmt)
    return written, notes
