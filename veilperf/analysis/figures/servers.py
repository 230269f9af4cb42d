"""Open-loop server figures: ``latency`` (p50 and p99 against the offered load) and ``queueing``
(where the latency Veil adds to a request goes: its own work, or waiting for a busy VCPU)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from veilperf.analysis.figures.common import SEP, fitted_title, legend_below
from veilperf.analysis.claims.verdicts import pct_text
from veilperf.analysis.figures.style import log_axis, new_figure, service_color
from veilperf.analysis.tables.columns import ARRIVAL, LOOP, SATURATED, VCPUS
from veilperf.analysis.tables.figdata import SERVICE_LABEL, FigureData, sort_points
from veilperf.analysis.tables.labels import short_service_label
from veilperf.analysis.tables.openloop import added_latency, capacity, is_open
from veilperf.analysis.tables.pairing import saturated
from veilperf.analysis.tables.profile import at_calibration

WORK_COLOR, QUEUE_COLOR = "#8c564b", "#bcbd22"


def _rate(value: float) -> str:
    """``5k``, ``27.6k``, ``800``."""
    return f"{value / 1000:.3g}k" if value >= 1000 else f"{value:.3g}"


def latency(data: FigureData) -> Figure | str | None:
    """Open-loop servers: latency p50 and p99 against the offered load, per workload and what ran
    (the SNP CVM baseline, each service setting); saturated points (the records' ``saturated``: the
    offered load reached the VCPUs' capacity in some replication) marked."""
    needed = (LOOP, ARRIVAL, "latency_p50_ns", "latency_p99_ns")
    if any(c not in data.runs for c in needed):
        return None
    runs = data.runs[is_open(data.runs)]
    caption = data.caption(runs)
    runs = at_calibration(runs, data.calibration)
    if runs.empty:
        return None
    shown = ["SNP CVM (baseline)" if r["role"] == "baseline" else short_service_label(r)
             for r in runs.to_dict("records")]
    table = pd.DataFrame({"workload": runs["workload"], "shown": shown, "service": runs["service"],
                          ARRIVAL: runs[ARRIVAL], SATURATED: saturated(runs), "latency_p50_ns": runs["latency_p50_ns"],
                          "latency_p99_ns": runs["latency_p99_ns"]}, index=runs.index)
    points = table.groupby(["workload", "shown", "service", ARRIVAL], sort=True).agg(
        {SATURATED: "any", "latency_p50_ns": "mean", "latency_p99_ns": "mean"}).reset_index()
    figure = new_figure(12.0, 5.4)
    axes = figure.subplots(1, 2, sharey=True)
    for (workload, shown, service), line in points.groupby(["workload", "shown", "service"], sort=True):
        line = line.sort_values(ARRIVAL)
        color = service_color(service)
        for ax, column in zip(axes, ("latency_p50_ns", "latency_p99_ns")):
            ax.plot(line[ARRIVAL], line[column] / 1e3, marker="o", markersize=4, label=f"{workload}{SEP}{shown}",
                    color=color)
            hot = line[line[SATURATED]]
            ax.plot(hot[ARRIVAL], hot[column] / 1e3, linestyle="none", marker="X", markersize=10, color=color)
            if len(hot):
                ax.axvline(hot[ARRIVAL].min(), color=color, linestyle=":", linewidth=1)
    for ax, what in zip(axes, ("p50", "p99")):
        ax.set_xlabel("offered load (requests/s)")
        ax.set_title(f"{what} latency")
        log_axis(ax, "y")
    axes[0].set_ylabel("latency (µs, log scale)")
    axes[0].plot([], [], linestyle="none", marker="X", color="black",
                 label="saturated (offered load ≥ the VCPUs' capacity)")
    axes[0].legend(loc="upper left", fontsize=8)
    fitted_title(figure, f"Server latency vs offered load, experiment {data.experiment} ({caption})")
    return figure


def _panel(ax, rows: pd.DataFrame) -> None:
    """Stacked bars per offered load: Veil's work per request, then the added wait for a VCPU;
    saturated loads get no bar, only the word."""
    x = np.arange(len(rows))
    work, queue = rows["work_ns"].to_numpy() / 1e3, rows["queue_ns"].to_numpy() / 1e3
    hot = rows[SATURATED].to_numpy(dtype=bool)
    ok = ~hot
    ax.bar(x[ok], work[ok], color=WORK_COLOR, label="Veil's work per request (VCPU time added)")
    ax.bar(x[ok], queue[ok], bottom=np.where(queue[ok] > 0, work[ok], 0.0), color=QUEUE_COLOR,
           label="waiting for the busy VCPU (queueing added)")
    top = float(np.nanmax(np.where(ok, work + np.clip(queue, 0, None), np.nan))) if ok.any() else 1.0
    for xi, w, q, pct, h, most in zip(x, work, queue, rows["overhead_pct"], hot, capacity(rows)):
        if h:
            ax.text(xi, top * 0.05, f"saturated\n(capacity\n{_rate(most)}/s)", ha="center", va="bottom",
                    fontsize=7, color="#555555")
        else:
            ax.annotate(f"+{w + q:.3g} µs\n(+{pct_text(pct)})", (xi, w + max(q, 0.0)), xytext=(0, 3),
                        textcoords="offset points", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, [_rate(v) for v in rows[ARRIVAL]])
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.set_ylim(min(0.0, float(np.nanmin(np.where(ok, queue, 0.0)))) * 1.2, top * 1.35)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xlabel("offered load (requests/s)")


def _capacity_text(rows: pd.DataFrame) -> str:
    """``Veil's work 12.5 µs per request; capacity 41.7k -> 27.7k requests/s``: capacity is the
    VCPUs over the VCPU time a request holds (baseline: held minus Veil's work), medians over loads."""
    vcpus = float(rows[VCPUS].iloc[0]) if VCPUS in rows else 1.0
    held, work = rows["held_ns"].median(), rows["work_ns"].median()
    return (f"Veil's work {work / 1e3:.3g} µs per request; capacity {_rate(vcpus * 1e9 / (held - work))} -> "
            f"{_rate(vcpus * 1e9 / held)} requests/s")


def queueing(data: FigureData) -> Figure | str | None:
    """Where the mean latency Veil adds to a request goes, per offered load: the Veil work the
    request does (its VCPU time, treatment minus baseline) and the extra wait for a VCPU that the
    longer service time causes (latency minus VCPU time, treatment minus baseline); saturated
    loads have no such number. One panel per workload and service setting."""
    frame = data.over[is_open(data.over) & (data.over["service"] != "none")]
    frame = data.from_records(at_calibration(frame, data.calibration), [ARRIVAL])
    if frame.empty:
        return None
    split = added_latency(data.runs)
    frame = sort_points(frame).merge(split.dropna(), on=["experiment", "pair_key", "point"], how="inner")
    if frame.empty:
        return "no VCPU hold times (vcpu<i>.held_ns) in the records to split the latency by"
    panels = list(dict.fromkeys(frame["workload"] + SEP + frame[SERVICE_LABEL]))
    keys = frame["workload"] + SEP + frame[SERVICE_LABEL]
    figure = new_figure(1.0 + 5.2 * len(panels), 5.4)
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for ax, panel in zip(axes, panels):
        rows = frame[keys == panel].sort_values(ARRIVAL)
        _panel(ax, rows)
        ax.set_title(f"{panel}\n{_capacity_text(rows)}", loc="left", fontsize=9)
    axes[0].set_ylabel("mean latency added per request (µs)")
    legend_below(figure, most=2, axes=axes[:1])
    fitted_title(figure, f"Where the latency Veil adds goes, experiment {data.experiment} ({data.caption(frame)}): "
                         "its work is the same at every load, the wait for the VCPU grows with the load")
    return figure
