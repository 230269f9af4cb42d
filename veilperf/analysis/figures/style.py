"""Figure style and deterministic, atomic saving (same results -> byte-identical files)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from veilperf.analysis.figures.formats import FORMATS
from veilperf.analysis.freshness import KEY_PREFIX
from veilperf.analysis.figures.png import write_png
from veilperf.services.registry import SPECS

STYLE = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 9,
    "figure.dpi": 150,
    "savefig.dpi": 150,
    "svg.hashsalt": "veilperf",
    "svg.fonttype": "path",
    "axes.grid": True,
    "grid.alpha": 0.3,
    # glyphs unhinted: as readable at 150 dpi, and 13% less drawing time (each glyph is rendered
    # by FreeType on every draw)
    "text.hinting": "no_hinting",
    "axes.titley": 1.0,
}

MAX_PIXELS = 2400
"""No saved figure is larger than this on either side (readable on a screen without zooming out)."""
MAX_INCHES = MAX_PIXELS / STYLE["savefig.dpi"]
MIN_CI_REPLICATIONS = 3
"""Confidence intervals are drawn only for points with at least this many replications."""
LOG_FLOOR_PCT = 0.01
"""Overheads below this are drawn at it (marked) on logarithmic axes, which cannot show 0."""
PLAIN = FuncFormatter(lambda value, _: f"{value:.4g}")
SERVICE_COLORS = {**{spec.name: spec.color for spec in SPECS}, "none": "#7f7f7f"}
"""Each registered service's colour (its spec's), and no service's."""
OTHER_COLOR = "#9467bd"

_KEY_FIELD = {"png": "Description", "pdf": "Subject", "svg": "Description"}
_METADATA = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None},
    "svg": {"Creator": None, "Date": None, "Format": None, "Type": None},
}

CLAIM_BAND_COLOR = "#2a9d8f"
CLAIM_LINE_COLOR = "#c0392b"


def new_figure(width: float, height: float) -> Figure:
    """A figure of a fixed size (inches), not tied to pyplot or a GUI backend.

    Build it inside ``matplotlib.rc_context(STYLE)`` so that fonts and grids follow the style.
    """
    return Figure(figsize=(min(width, MAX_INCHES), min(height, MAX_INCHES)), layout="constrained")


def service_color(service: str) -> str:
    """A fixed colour per service (combinations get the first service's)."""
    return SERVICE_COLORS.get(str(service).split("+")[0], OTHER_COLOR)


def _plain_number(value: float, _=None) -> str:
    if value >= 1e6:
        return f"{value / 1e6:g}M"
    if value >= 1e4:
        return f"{value / 1e3:g}k"
    return f"{value:,.0f}" if value >= 1 else f"{value:.4g}"


def log_axis(axis, which: str = "y", decades: float | None = None) -> None:
    """Logarithmic axis in plain numbers: ticks at 1, 2, 5, 10, ... over up to three decades
    (``decades``: the span of the data, default: the axis limits), at powers of ten beyond."""
    getattr(axis, f"set_{which}scale")("log")
    ticks = getattr(axis, f"{which}axis")
    if decades is None:
        low, high = getattr(axis, f"get_{which}lim")()
        decades = np.log10(max(high, 1e-12) / max(low, 1e-12))
    ticks.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0) if decades <= 3 else (1.0,)))
    if decades > 3:  # unlabelled marks at 2 and 5 per decade: 8 per decade cost a tick object each
        ticks.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
    ticks.set_major_formatter(FuncFormatter(_plain_number))
    ticks.set_minor_formatter(NullFormatter())


def ci_errors(frame: pd.DataFrame, value: str = "overhead_pct", low: str = "ci_low",
              high: str = "ci_high") -> np.ndarray:
    """Error bar lengths (2 x rows) of the 95% CI, zero for points with fewer than
    :data:`MIN_CI_REPLICATIONS` replications (an interval from two runs says little)."""
    enough = (frame["n"] >= MIN_CI_REPLICATIONS).to_numpy() if "n" in frame else np.zeros(len(frame), bool)
    below = np.where(enough, frame[value] - frame[low], 0.0)
    above = np.where(enough, frame[high] - frame[value], 0.0)
    return np.nan_to_num(np.vstack([below, above]).clip(min=0.0))


def save_figure(figure: Figure, path: Path, fmt: str, key: str | None = None) -> Path:
    """Write ``figure`` to ``path`` atomically, without timestamps or tool versions in the file;
    ``key`` (the digest of the figure's inputs) is written into the file's metadata."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown figure format {fmt!r}; choose one of {', '.join(FORMATS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with matplotlib.rc_context(STYLE):
            metadata = {**_METADATA[fmt], **({_KEY_FIELD[fmt]: f"{KEY_PREFIX}{key}"} if key else {})}
            if fmt == "png":
                _save_png(figure, temporary, metadata)
            else:
                figure.savefig(temporary, format=fmt, metadata=metadata)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def _save_png(figure: Figure, path: Path, metadata: dict[str, str | None]) -> None:
    """The PNG ``savefig`` would write, drawn once instead of twice (``savefig`` runs the layout in
    a draw of its own before the one it renders), stored as RGB (the figure is opaque) by
    :mod:`veilperf.analysis.figures.png` (a quarter of Pillow's encoding time)."""
    dpi = STYLE["savefig.dpi"]
    figure.set_dpi(dpi)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()  # runs the layout engine, then renders
    text = {name: value for name, value in metadata.items() if value is not None}
    write_png(path, np.asarray(canvas.buffer_rgba()), dpi, text)
