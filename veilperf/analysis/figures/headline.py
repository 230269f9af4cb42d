"""The two figures over all experiments: ``claims`` (the headline: every Veil-as-built prediction
at calibrated costs beside the paper's claims) and ``crossings`` (the claim explained: overhead
against the rate of Veil crossings, with the count x cost curve)."""

from __future__ import annotations


import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from veilperf.analysis.claims.verdicts import (ACCEPTANCE, BOOT_CLAIM_S, DEFAULT_GUEST, MEMORY, NORMAL_TOLERANCE_PCT,
                                      SERVICE_CLAIM_PCT, VCPUS, as_designed, oneoff_flagged, service_points)
from veilperf.analysis.claims.crossings import crossing_models, crossing_points, rows_of
from veilperf.analysis.figures.common import SEP, fit, fitted_title, text_inches
from veilperf.analysis.tables.figdata import SERVICE_LABEL, FigureData
from veilperf.analysis.figures.names import GLOBAL_FIGURES
from veilperf.analysis.claims.verdicts import pct_text
from veilperf.analysis.figures.style import (CLAIM_BAND_COLOR, CLAIM_LINE_COLOR, LOG_FLOOR_PCT, ci_errors, log_axis, new_figure, service_color)
from veilperf.analysis.tables.profile import at_calibration
from veilperf.units import format_duration

RANGE_COLOR = "#bbbbbb"
SPREAD_SHOWN = 1.25
"""The crossings figure draws the lowest and highest point cost of a service beside its median
when they are further apart than this factor."""
def _sensitivity_rows(data: FigureData, metric: str) -> pd.DataFrame:
    frame = data.sensitivity
    if frame is None or frame.empty:
        return pd.DataFrame(columns=["experiment", "workload", "service", "p5", "p95"])
    return frame[frame["metric"] == metric]


def _service_panel(ax, data: FigureData, points: pd.DataFrame) -> None:
    points = points.assign(_order=points["overhead_pct"]).sort_values("_order", kind="stable")
    y = np.arange(len(points))
    ranges = _sensitivity_rows(data, "overhead_pct").set_index(["experiment", "workload", "service"])
    low, high = SERVICE_CLAIM_PCT
    ax.axvspan(low, high, color=CLAIM_BAND_COLOR, alpha=0.15, label=f"paper's claim: {low:g}–{high:g}%")
    flagged = oneoff_flagged(points).to_numpy()
    labels = []
    for i, (_, r) in enumerate(points.iterrows()):
        key = (r["experiment"], r["workload"], r["service"])
        if key in ranges.index:
            span = ranges.loc[key]
            span = span.iloc[0] if isinstance(span, pd.DataFrame) else span
            ax.plot([max(span["p5"], LOG_FLOOR_PCT), max(span["p95"], LOG_FLOOR_PCT)], [i, i], color=RANGE_COLOR,
                    linewidth=7, solid_capstyle="butt", zorder=1)
        value = r["overhead_pct"]
        shown = max(value, LOG_FLOOR_PCT)
        error = ci_errors(points.loc[[r.name]])
        error[0] = np.minimum(error[0], shown - LOG_FLOOR_PCT)
        ax.errorbar(shown, i, xerr=error, fmt="<" if value < LOG_FLOOR_PCT else "o", color=service_color(r["service"]),
                    markersize=7, capsize=3, zorder=3)
        if pd.notna(r.get("steady_pct")):
            ax.plot(max(r["steady_pct"], LOG_FLOOR_PCT), i, marker="D", markerfacecolor="white",
                    markeredgecolor=service_color(r["service"]), markersize=7, linestyle="none", zorder=4)
        ax.annotate(pct_text(value), (shown, i), xytext=(7, 4), textcoords="offset points", fontsize=8)
        labels.append(f"{r['workload']}{SEP}{r[SERVICE_LABEL]}" + (" †" if flagged[i] else "")
                      + (" (est.)" if bool(r.get("native_estimated", False)) else ""))
    ax.set_yticks(y, labels, fontsize=9)
    ax.set_ylim(-0.7, len(points) - 0.3)
    log_axis(ax, "x")
    ax.set_xlabel("overhead vs SNP CVM (%, log scale)")
    for service in sorted(points["service"].unique()):
        ax.plot([], [], "o", color=service_color(service), label=f"{service}: whole run (bar: 95% CI, n ≥ 3)")
    if points["steady_pct"].notna().any():
        ax.plot([], [], "D", markerfacecolor="white", markeredgecolor="black", linestyle="none",
                label="steady state (one-off set-up taken out)")
    if flagged.any():
        ax.plot([], [], " ", label="† one-off set-up > 25% of the added time")
    if points["native_estimated"].astype(bool).any() if "native_estimated" in points else False:
        ax.plot([], [], " ", label="(est.) native time estimated from the trace alone")
    if len(ranges):
        ax.plot([], [], color=RANGE_COLOR, linewidth=7, label="p5–p95 over the assumption space")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title("Protected services, Veil as built, calibrated costs (sorted)", loc="left", fontsize=11)


def _boot_guest(data: FigureData) -> pd.DataFrame:
    """Boot points of the default guest (1 VCPU / 1 GiB) at calibration, one per acceptance policy."""
    frame = data.over[data.over["kind"] == "boot"]
    if frame.empty or MEMORY not in frame or VCPUS not in frame:
        return frame.iloc[0:0]
    frame = at_calibration(frame.assign(acceptance=frame[ACCEPTANCE] if ACCEPTANCE in frame else "default"),
                           data.calibration)
    guest = frame[(frame[VCPUS] == DEFAULT_GUEST[0]) & (frame[MEMORY] == DEFAULT_GUEST[1])]
    return guest.sort_values("acceptance")


def _boot_panel(ax, data: FigureData, guest: pd.DataFrame) -> None:
    values = guest["increment_ns"].to_numpy() / 1e9
    errors = ci_errors(guest, "increment_ns", "increment_ci_low", "increment_ci_high") / 1e9
    y = np.arange(len(guest))
    ax.barh(y, values, xerr=errors, color="#8ab17d", capsize=3)
    for yi, v in zip(y, values):
        ax.annotate(f"+{v:.2f} s", (v, yi), xytext=(10, 0), textcoords="offset points", va="center", fontsize=8)
    spans = _sensitivity_rows(data, "boot_increment_s")
    right = max(BOOT_CLAIM_S, float(values.max()))
    if len(spans):  # the study's reference guest boots with eager acceptance (configs/boot.yaml)
        acceptance = list(guest["acceptance"])
        row = acceptance.index("eager") if "eager" in acceptance else 0
        low, high = float(spans["p5"].min()), float(spans["p95"].max())
        ax.plot([low, high], [row - 0.34, row - 0.34], color=RANGE_COLOR, linewidth=5,
                solid_capstyle="butt", label="p5–p95, assumption space (eager)")
        right = max(right, high)
    ax.axvline(BOOT_CLAIM_S, color=CLAIM_LINE_COLOR, linestyle=":", label=f"claim: < {BOOT_CLAIM_S:g} s")
    ax.set_yticks(y, [str(a) for a in guest["acceptance"]])
    ax.set_ylim(-0.6, len(guest) + 0.2)  # a free band on top for the legend
    ax.set_xlim(0, right * 1.3)
    ax.grid(False, axis="y")
    ax.set_xlabel("Veil's boot increment (s)")
    ax.set_title("Boot increment (1 VCPU, 1 GiB)", loc="left", fontsize=9)
    ax.legend(loc="upper right", fontsize=7)


def _normal_workloads(data: FigureData) -> pd.Series:
    """Largest |overhead| per workload of Veil with no service in use, at calibration."""
    frame = data.over[(data.over["kind"] == "workload") & (data.over["service"] == "none")
                      & (data.over["mode"] == "veil")]
    frame = at_calibration(as_designed(frame), data.calibration)
    return frame.groupby("workload")["overhead_pct"].apply(lambda s: s.abs().max()).sort_index()


def _normal_panel(ax, data: FigureData, per_workload: pd.Series) -> None:
    y = np.arange(len(per_workload))
    ax.plot(per_workload.to_numpy(), y, "o", color=service_color("none"))
    ax.axvline(NORMAL_TOLERANCE_PCT, color=CLAIM_LINE_COLOR, linestyle=":",
               label=f"tolerance {NORMAL_TOLERANCE_PCT:g}% (project's reading)")
    ax.set_yticks(y, per_workload.index, fontsize=8)
    ax.set_xlim(-0.05, max(NORMAL_TOLERANCE_PCT, float(per_workload.max())) * 1.4)
    ax.set_ylim(-0.6, len(per_workload) + 0.9)  # a free row on top for the legend
    ax.set_xlabel("|overhead| vs SNP CVM (%)")
    ax.set_title("Normal execution, no service", loc="left", fontsize=10)
    ax.legend(loc="upper right", fontsize=7)


def claims(data: FigureData) -> Figure | str:
    """The headline: every Veil-as-built service prediction at calibrated costs, sorted, with 95%
    CIs, whole-run and steady-state apart, on a log axis with the 2-64% band; boot increment and
    normal execution as small panels beside it (panels without data are omitted)."""
    points = service_points(data.over, data.calibration)
    side = [(draw, frame) for draw, frame in ((_boot_panel, _boot_guest(data)),
                                              (_normal_panel, _normal_workloads(data))) if len(frame)]
    if points.empty and not side:
        return "no service, boot or normal-execution results"
    height = max(5.0, 1.8 + 0.3 * len(points))
    figure = new_figure(15.0 if len(points) else 6.0, height)
    grid = figure.add_gridspec(max(len(side), 1), 2 if len(points) and side else 1,
                               width_ratios=[3.0, 1.0] if len(points) and side else None)
    if len(points):
        _service_panel(figure.add_subplot(grid[:, 0]), data, points)
    for i, (draw, frame) in enumerate(side):
        draw(figure.add_subplot(grid[i, -1]), data, frame)
    figure.suptitle("veilperf's predictions beside Veil's claims (services 2–64%, boot < 2 s, normal ≈ 0%)",
                    fontsize=12)
    return figure


LABEL_POINTS = 8
"""Font size of the crossing points' labels."""
_PLACES = tuple((sign * dx, dy, "left" if sign > 0 else "right") for dx, dy in
                ((5, -3), (5, -14), (5, 8), (12, -25), (12, 19), (20, -3)) for sign in (1, -1))
"""Label spots tried in order (offset points, ha): right and left of the point, then below and above
on either side, then further out; the first that covers no other label or point wins, else the
one covering least."""
PANEL_INCHES = 6.0
"""Width of one service's panel; its title and axis label are fitted to 4/5 of it (the rest: the
y axis' labels)."""
_MARKER_INCHES = 0.05
"""Half the size of a point's marker."""


def _inches(ax, x: float, y: float) -> tuple[float, float]:
    """A point of these logarithmic axes (limits set) in inches from their lower left corner, at the
    axes' current size (run the layout engine first)."""
    box = ax.get_position()
    width, height = box.width * ax.figure.get_figwidth(), box.height * ax.figure.get_figheight()
    (x0, x1), (y0, y1) = np.log10(ax.get_xlim()), np.log10(ax.get_ylim())
    return (np.log10(x) - x0) / (x1 - x0) * width, (np.log10(y) - y0) / (y1 - y0) * height


def _point_labels(ax, rows: pd.DataFrame) -> None:
    """Names beside the crossing points (workload, and the setting where a service has several),
    each at the first spot (right, left, below, above, ...) that covers no other label or point,
    measured in inches with the labels' own text widths (call with the axes laid out)."""
    names = [w + (f" ({s.removeprefix(v + ' ')})" if s else "")
             for w, s, v in zip(rows["workload"], rows.get("shown_setting", [""] * len(rows)), rows["service"])]
    points = [_inches(ax, r["rate_per_s"], max(r["simulated_pct"], LOG_FLOOR_PCT)) for _, r in rows.iterrows()]
    m = _MARKER_INCHES
    markers = [(x - m, y - m, x + m, y + m) for x, y in points]
    line = LABEL_POINTS * 1.2 / 72
    taken = [*markers, *_upright_notes(ax)]
    for (x, y), own, name, (_, r) in zip(points, markers, names, rows.iterrows()):
        width = text_inches(name, LABEL_POINTS)
        best = None
        for dx, dy, ha in _PLACES:
            left = x + dx / 72 - (width if ha == "right" else 0.0)
            bottom = y + dy / 72 - line / 2
            box = (left, bottom, left + width, bottom + line)
            covered = sum(_overlap_area(box, other) for other in taken if other != own)
            if best is None or covered < best[0]:
                best = (covered, dx, dy, ha, box)
            if covered == 0:
                break
        _, dx, dy, ha, box = best
        taken.append(box)
        ax.annotate(name, (r["rate_per_s"], max(r["simulated_pct"], LOG_FLOOR_PCT)), xytext=(dx, dy),
                    textcoords="offset points", ha=ha, va="center", fontsize=LABEL_POINTS)


def _upright_notes(ax) -> list[tuple[float, float, float, float]]:
    """The boxes (inches) of the axes' upright notes already placed (the band's ends: right-aligned,
    reading upwards from their anchor), for the point labels to keep clear of."""
    boxes = []
    for note in ax.texts:
        if note.get_rotation() == 90:
            x, y = _inches(ax, *note.xy)
            length = text_inches(note.get_text(), note.get_fontsize())
            boxes.append((x - note.get_fontsize() * 1.2 / 72, y, x, y + length))
    return boxes


def _overlap_area(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def crossings(data: FigureData) -> Figure | str:
    """Predicted overhead against Veil crossings per second of native run time, per service, with
    the count x cost curve at the median cost per crossing the model charged and, where the
    profile gives the switch's range, at the range's ends."""
    points = service_points(data.over, data.calibration)
    models = crossing_models(points, data.manifests)
    table = crossing_points(points, models)
    if table.empty:
        return "no service points with crossing counts and their recorded costs (costs.*)"
    models = [m for m in models if len(rows_of(table, m))]
    figure = new_figure(PANEL_INCHES * len(models), 6.0)
    axes = figure.subplots(1, len(models), sharey=True, squeeze=False)[0]
    low, high = SERVICE_CLAIM_PCT
    values = table["simulated_pct"].clip(lower=LOG_FLOOR_PCT)
    y_low, y_high = min(values.min(), low) / 3, max(values.max(), high) * 3
    for ax, model in zip(axes, models):
        rows = rows_of(table, model)
        rates = np.geomspace(model.rate_at(y_low, model.cost_high_ns), model.rate_at(y_high, model.cost_low_ns), 50)
        color = service_color(model.service)
        ax.axhspan(low, high, color=CLAIM_BAND_COLOR, alpha=0.15, label=f"paper's claim: {low:g}–{high:g}%")
        if model.has_range:
            ax.fill_between(rates, model.overhead_pct(rates, model.cost_low_ns),
                            model.overhead_pct(rates, model.cost_high_ns), color=color, alpha=0.12,
                            label=f"switch {format_duration(model.switch_ns[1])}–"
                                  f"{format_duration(model.switch_ns[2])} (range ends)")
        ax.plot(rates, model.overhead_pct(rates, model.cost_ns), color=color,
                label=f"count × {format_duration(model.cost_ns)} per crossing (median charged)")
        cheapest, dearest = model.cost_spread
        if dearest > SPREAD_SHOWN * cheapest:  # points charged far from the median sit on their own lines
            for cost in model.cost_spread:
                ax.plot(rates, model.overhead_pct(rates, cost), color=color, linestyle="--", linewidth=0.8)
            ax.plot([], [], color=color, linestyle="--", linewidth=0.8,
                    label=f"count × {format_duration(cheapest)}–{format_duration(dearest)} (points' own costs)")
        for pct in (low, high):
            ax.axvline(model.rate_at(pct), color=color, linestyle=":", linewidth=1)
            ax.annotate(f"{pct:g}% at {model.rate_at(pct):,.0f}/s", (model.rate_at(pct), y_low * 1.3), rotation=90,
                        fontsize=8, ha="right", va="bottom")
        for steady, marker in ((True, "D"), (False, "o")):
            part = rows[rows["steady"] == steady]
            if len(part):
                ax.plot(part["rate_per_s"], part["simulated_pct"].clip(lower=LOG_FLOOR_PCT), marker, color=color,
                        markerfacecolor="white" if steady else color, linestyle="none",
                        label="simulated, steady state" if steady else "simulated, whole run")
        ax.set_ylim(y_low, y_high)
        ax.set_xlim(rates[0], rates[-1])
        log_axis(ax, "x")
        log_axis(ax, "y")
        room = PANEL_INCHES * 0.8
        ax.set_xlabel(fit(f"{model.title}: {model.spec.crossing.what} per second of native run time", room, 9), fontsize=9)
        ax.set_title(fit(f"{model.spec.display_name}: {model.spec.crossing.explains}", room, 7), loc="left",
                     fontsize=7)
        ax.legend(loc="upper left", fontsize=7)
    axes[0].set_ylabel("overhead vs SNP CVM (%)")
    fitted_title(figure, "Why a program lands inside or outside 2–64%: overhead ≈ crossing rate × cost per crossing "
                 "(Veil as built, calibrated costs)", 11)
    figure.get_layout_engine().execute(figure)  # the axes at their saved size, for the labels' spacing
    for ax, model in zip(axes, models):
        _point_labels(ax, rows_of(table, model))
    return figure


GLOBAL = {name: globals()[name] for name in GLOBAL_FIGURES}
"""Figure name -> builder of the figures over all experiments, in report order."""
