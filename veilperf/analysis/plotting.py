"""Figure style and deterministic, atomic saving (same results -> byte-identical files)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from veilperf.analysis.formats import FORMATS

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
}

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
    return Figure(figsize=(width, height), layout="constrained")


def save_figure(figure: Figure, path: Path, fmt: str) -> Path:
    """Write ``figure`` to ``path`` atomically, without timestamps or tool versions in the file."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown figure format {fmt!r}; choose one of {', '.join(FORMATS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with matplotlib.rc_context(STYLE):
            figure.savefig(temporary, format=fmt, metadata=_METADATA[fmt])
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path
