"""What a reader of a figure needs, checked on the figure as saved (Agg renderer, the saving dpi):
every text inside the figure, no tick label or axes title wider than its axes, tick labels that do
not overprint each other, and no empty panel."""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import Collection
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Annotation, Text

from veilperf.analysis.figures.style import STYLE

SLACK = 1.0
"""Pixels of rounding allowed at a boundary."""


def _drawn(figure: Figure):
    with matplotlib.rc_context(STYLE):
        figure.set_dpi(STYLE["savefig.dpi"])
        canvas = FigureCanvasAgg(figure)
        canvas.draw()
    return canvas.get_renderer()


def _tick_labels(axis, drawn: bool) -> list[Text]:
    """An axis' tick labels: those it draws (ticks inside the view), or all it holds."""
    ticks = axis._update_ticks() if drawn else [*axis.majorTicks, *axis.minorTicks]
    return [label for tick in ticks for label in (tick.label1, tick.label2)
            if not drawn or (label.get_visible() and label.get_text())]


def _texts(figure: Figure) -> list[Text]:
    """The texts the figure draws (tick labels of ticks outside the view are kept but not drawn)."""
    hidden = set()
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            hidden.update(set(_tick_labels(axis, False)) - set(_tick_labels(axis, True)))
    return [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip() and t not in hidden
            and (t.axes is None or t.axes.get_visible())]


def _has_data(ax) -> bool:
    """Whether the axes draws anything that stands for data: a line in data coordinates with a
    finite point in view, a non-empty collection, or bars."""
    view = ax.viewLim
    for line in ax.lines:
        if not isinstance(line, Line2D) or line.get_transform() != ax.transData or not line.get_visible():
            continue
        for x, y in line.get_xydata():
            if view.xmin <= x <= view.xmax and view.ymin <= y <= view.ymax:
                return True
    if any(isinstance(c, Collection) and c.get_visible() and len(c.get_paths()) for c in ax.collections):
        return True
    return any(isinstance(c, BarContainer) and len(c.patches) for c in ax.containers)


def _marked_points(ax) -> list[tuple[float, float]]:
    """Data points drawn with a marker (dots, error-bar caps), in data coordinates."""
    return [(x, y) for line in ax.lines if line.get_visible() and line.get_transform() == ax.transData
            and line.get_marker() not in (None, "None", "", " ") for x, y in line.get_xydata()
            if np.isfinite(x) and np.isfinite(y)]


def _line_samples(ax) -> np.ndarray:
    """Points along every data line (10 per segment), in display coordinates."""
    out = []
    for line in ax.lines:
        if not line.get_visible() or line.get_transform() != ax.transData or len(line.get_xydata()) < 1:
            continue
        xy = line.get_xydata()
        xy = xy[np.isfinite(xy).all(axis=1)]
        steps = [xy] + [a + (b - a) * t for a, b in zip(xy, xy[1:]) for t in np.linspace(0, 1, 10)[None, :, None]]
        out.append(ax.transData.transform(np.vstack([np.reshape(p, (-1, 2)) for p in steps])))
    return np.vstack(out) if out else np.empty((0, 2))


def _overlapping(boxes: list, labels: list[str]) -> list[str]:
    out = []
    for i, a in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            both = a.intersection(a, boxes[j])
            if both is not None and both.width > 2 and both.height > 2:
                out.append(f"{labels[i]!r} overprints {labels[j]!r}")
    return out


def problems(figure: Figure) -> list[str]:
    """Every readability problem of ``figure`` as it is saved (empty: none)."""
    renderer = _drawn(figure)
    box = figure.bbox
    out = []
    for text in _texts(figure):
        extent = text.get_window_extent(renderer)
        if (extent.x0 < box.x0 - SLACK or extent.x1 > box.x1 + SLACK or extent.y0 < box.y0 - SLACK
                or extent.y1 > box.y1 + SLACK):
            out.append(f"text {text.get_text()!r} runs out of the figure")
    for i, ax in enumerate(figure.axes):
        if not ax.get_visible() or not ax.axison:
            continue
        width = ax.get_window_extent(renderer).width
        labels = [*_tick_labels(ax.xaxis, True), *_tick_labels(ax.yaxis, True)]
        for title in (ax.title, ax._left_title, ax._right_title):
            if title.get_text():
                labels.append(title)
        for label in labels:
            if label.get_window_extent(renderer).width > width + SLACK:
                out.append(f"axes {i}: {label.get_text()!r} is wider than its axes")
        for axis in (ax.xaxis, ax.yaxis):
            boxes = [t.get_window_extent(renderer) for t in _tick_labels(axis, True)]
            for a, b in zip(boxes, boxes[1:]):
                if a.overlaps(b) and a.intersection(a, b).width > SLACK and a.intersection(a, b).height > SLACK:
                    out.append(f"axes {i}: tick labels overprint each other")
                    break
        if not _has_data(ax):
            out.append(f"axes {i} ({ax.get_title() or ax._left_title.get_text()!r}) is empty")
        view = ax.viewLim
        cut = [(x, y) for x, y in _marked_points(ax) if not (view.xmin - 1e-9 * abs(view.xmin) <= x <= view.xmax * (1 + 1e-9)
                                                             and view.ymin - 1e-9 * abs(view.ymin) <= y <= view.ymax * (1 + 1e-9))]
        if cut:
            out.append(f"axes {i}: {len(cut)} marked point(s) (dots, interval ends) outside its limits, e.g. {cut[0]}")
        notes = [t for t in ax.texts if t.get_visible() and t.get_text().strip()]
        out += [f"axes {i}: {p}" for p in _overlapping([t.get_window_extent(renderer) for t in notes],
                                                      [t.get_text() for t in notes])]
        marks = ax.transData.transform(np.array(_marked_points(ax)).reshape(-1, 2))
        for note in notes:
            area = note.get_window_extent(renderer)
            anchor = ax.transData.transform([note.xy]) if isinstance(note, Annotation) else np.empty((0, 2))
            hit = [(x, y) for x, y in marks if area.x0 < x < area.x1 and area.y0 < y < area.y1
                   and not (len(anchor) and np.hypot(*(anchor[0] - (x, y))) < 4)]
            if hit:
                out.append(f"axes {i}: {note.get_text()!r} overprints a data point or interval end")
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            area = legend.get_window_extent(renderer)
            samples = _line_samples(ax)
            inside = (samples[:, 0] > area.x0) & (samples[:, 0] < area.x1) & (samples[:, 1] > area.y0) & (
                samples[:, 1] < area.y1) if len(samples) else np.zeros(0, bool)
            if inside.any():
                out.append(f"axes {i}: its legend covers a data line")
    return out
