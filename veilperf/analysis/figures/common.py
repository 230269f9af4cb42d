"""Drawing helpers the experiment figures share: stacked share rows, dodged overhead dots with
their intervals, the floor of a logarithmic overhead axis, names and colours of causes."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.collections import PolyCollection
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import text_to_path

from veilperf.analysis.claims.verdicts import SERVICE_CLAIM_PCT
from veilperf.analysis.claims.verdicts import pct_text
from veilperf.analysis.figures.style import CLAIM_BAND_COLOR, LOG_FLOOR_PCT, ci_errors, log_axis

ROW_INCHES = 0.24
"""Height of one bar or dot row."""
SEP = " · "
"""Between a workload and what was simulated, in row labels: ``find-walk · log all``."""
CAUSES = {
    "cause.switch_ns": ("domain switches", "#8c564b"),
    "cause.monitor_ns": ("VeilMon (map/unmap, dispatch)", "#ff7f0e"),
    "cause.service_ns": ("service work", "#9467bd"),
    "cause.copy_ns": ("copies", "#1f77b4"),
    "cause.notify_ns": ("IPIs and polls", "#2ca02c"),
    "cause.queue_ns": ("queueing (ring, dedicated VCPUs)", "#d62728"),
    "cause.pagetable_ns": ("private page tables", "#e377c2"),
}
"""Each recorded cause of Veil-added time (docs/architecture.md, records): its name for readers
and one colour in every figure; causes not listed keep their column's name."""


def cause_name(column: str) -> str:
    return CAUSES[column][0] if column in CAUSES else column.removeprefix("cause.").removesuffix("_ns")


def cause_color(column: str, i: int) -> str:
    return CAUSES[column][1] if column in CAUSES else matplotlib.colors.to_hex(matplotlib.colormaps["tab10"](7 + i % 3))


TITLE_MARGIN_INCHES = 0.3
"""Room left beside a title fitted to its figure's width."""


def text_inches(text: str, points: float) -> float:
    """The width (inches) of one line of ``text`` at ``points`` in the default font, measured from
    its glyphs."""
    if not text:
        return 0.0
    width, _, _ = text_to_path.get_text_width_height_descent(text, FontProperties(size=points), ismath=False)
    return width / 72  # the font's advances (40x faster than a TextPath's extents, within 0.2%)


def fit(text: str, inches: float, points: float) -> str:
    """``text`` broken at spaces into lines no wider than ``inches`` at ``points`` (a word longer
    than a line keeps a line of its own; line breaks already in ``text`` are kept)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        start = len(lines)
        for word in paragraph.split(" "):
            if len(lines) > start and text_inches(f"{lines[-1]} {word}", points) <= inches:
                lines[-1] = f"{lines[-1]} {word}"
            else:
                lines.append(word)
    return "\n".join(lines)


LEGEND_ENTRY_INCHES = 0.6
"""A legend entry's handle and the gaps around it."""


def legend_below(figure, points: float = 9, most: int = 4, axes=None) -> None:
    """A legend under ``figure``'s panels naming each labelled artist of ``axes`` (default: all)
    once, in as many columns (at most ``most``) as fit the figure's width."""
    entries = {label: handle for ax in (figure.axes if axes is None else axes)
               for handle, label in zip(*ax.get_legend_handles_labels())}
    widest = max((text_inches(label, points) for label in entries), default=0.0) + LEGEND_ENTRY_INCHES
    room = figure.get_figwidth() - TITLE_MARGIN_INCHES
    ncol = max(1, min(most, len(entries), int(room // widest)))
    figure.legend(entries.values(), entries.keys(), loc="outside lower center", ncol=ncol, fontsize=points,
                  frameon=False)


def fitted_title(figure, text: str, points: float = 10) -> None:
    """``figure``'s title: ``text`` in lines as wide as the figure (less a margin)."""
    figure.suptitle(fit(text, figure.get_figwidth() - TITLE_MARGIN_INCHES, points), fontsize=points)


def rows_height(rows: float, extra: float = 1.6) -> float:
    """Figure height (inches) for ``rows`` rows of bars plus ``extra`` for titles and legends."""
    return extra + ROW_INCHES * max(rows, 3)


def stacked_rows(ax, y: np.ndarray, shares: np.ndarray, colors: list, names: list[str]) -> None:
    """Horizontal 100% bars (rows x parts of ``shares``), one collection per part (far cheaper to
    draw than a patch per bar), with legend entries named ``names``."""
    left = np.zeros(len(y))
    for j, (color, name) in enumerate(zip(colors, names)):
        right = left + shares[:, j]
        boxes = [[(a, b - 0.4), (c, b - 0.4), (c, b + 0.4), (a, b + 0.4)] for a, c, b in zip(left, right, y)]
        ax.add_collection(PolyCollection(boxes, facecolors=color, edgecolors="none", label=name))
        left = right
    ax.set_ylim(min(y, default=0) - 0.7, max(y, default=0) + 0.7)


def log_floor(values: pd.Series) -> float:
    """The lower end of a logarithmic overhead axis: the decade below the smallest positive value
    (so no positive point is clipped), at most :data:`LOG_FLOOR_PCT` and at least 1e-4%."""
    positive = values[values > 0]
    if positive.empty:
        return LOG_FLOOR_PCT
    return float(min(LOG_FLOOR_PCT, max(1e-4, 10 ** np.floor(np.log10(positive.min())))))


TEXT_ROOM = 20.0
"""A logarithmic overhead axis ends this factor beyond its largest point, room for the value written
right of it."""


def claim_band(ax, vertical: bool = True) -> None:
    low, high = SERVICE_CLAIM_PCT
    (ax.axvspan if vertical else ax.axhspan)(low, high, color=CLAIM_BAND_COLOR, alpha=0.15,
                                             label=f"paper's claim: {low:g}–{high:g}%")


def dodged_dots(ax, frame: pd.DataFrame, groups: pd.Series, series: pd.Series, colors: dict[str, str],
                notes: pd.Series | None = None) -> None:
    """One row per group (first on top), one dot per series value within it (dodged, in the
    frame's order, colour ``colors[series]``): overhead with its 95% CI on a log axis whose floor
    keeps every positive point; zero or negative points sit at the floor as a left-pointing
    triangle. Each dot is followed by its value (and ``notes``, e.g. ``62% lost``), right of its
    interval."""
    rows = list(dict.fromkeys(groups))
    names = list(dict.fromkeys(series))
    floor = log_floor(frame["overhead_pct"])
    step = 0.8 / len(names)
    for j, name in enumerate(names):
        part = frame[series == name]
        y = np.array([len(rows) - 1 - rows.index(g) for g in groups[part.index]]) + (len(names) - 1) / 2 * step - j * step
        values = part["overhead_pct"].to_numpy(dtype=float)
        shown = np.maximum(values, floor)
        errors = ci_errors(part)
        errors[0] = np.minimum(errors[0], shown - floor)
        ax.errorbar(shown, y, xerr=errors, fmt="o", color=colors[name], markersize=5, capsize=2,
                    label=name if len(names) > 1 else None)
        clipped = values <= floor
        ax.plot(shown[clipped], y[clipped], "<", color=colors[name], markersize=8)
        texts = notes[part.index] if notes is not None else pd.Series("", index=part.index)
        for xi, yi, v, note in zip(shown + errors[1], y, values, texts):
            ax.annotate(pct_text(v) + (f" ({note})" if note else ""), (xi, yi), xytext=(4, 0),
                        textcoords="offset points", fontsize=7, va="center")
    ax.set_yticks(range(len(rows))[::-1], rows, fontsize=9)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    right = float(np.nanmax(frame["overhead_pct"] + ci_errors(frame)[1], initial=floor))
    ax.set_xlim(floor / 1.5, right * TEXT_ROOM)
    log_axis(ax, "x")


def series_colors(names: list[str]) -> dict[str, str]:
    """One tab10 colour per series name, in order."""
    cmap = matplotlib.colormaps["tab10"]
    return {name: matplotlib.colors.to_hex(cmap(i % 10)) for i, name in enumerate(names)}
