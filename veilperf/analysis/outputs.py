"""Figures and the report from a results store: what `veilperf plot`, `veilperf report` and the end
of `veilperf sweep` call."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from veilperf.analysis.figures import FigureData, render_figures
from veilperf.analysis.load import load_manifests, load_results
from veilperf.analysis.reproduction import render_report, write_text


def load_figure_data(paths: Sequence[str | Path]) -> tuple[FigureData, dict[str, dict[str, Any]]]:
    """Runs and manifests of every results path (experiment folders or results roots), combined."""
    frames = [load_results(p) for p in paths]
    runs = pd.concat(frames, ignore_index=True, sort=False) if len(frames) > 1 else frames[0]
    runs = runs.sort_values(["experiment", "pair_key", "role", "replication"], kind="stable").reset_index(drop=True)
    runs.attrs["source"] = ", ".join(str(p) for p in paths)
    manifests = {name: m for p in paths for name, m in load_manifests(p).items()}
    return FigureData.build(runs, manifests), manifests


def plot(paths: Sequence[str | Path], out_dir: str | Path, fmt: str = "png") -> tuple[list[Path], list[str]]:
    """Render every figure whose data exists; returns the files written and notes on skipped ones."""
    data, _ = load_figure_data(paths)
    figures, notes = render_figures(data, Path(out_dir), fmt)
    return list(figures.values()), notes


def report(paths: Sequence[str | Path], out: str | Path, fmt: str = "png") -> tuple[list[Path], list[str]]:
    """Render the figures into ``figures/`` beside ``out`` and write the report there; returns every
    file written (the report last) and notes on skipped figures."""
    out = Path(out)
    data, manifests = load_figure_data(paths)
    figures, notes = render_figures(data, out.parent / "figures", fmt)
    written = write_text(out, render_report(data, manifests, figures, notes, out))
    return [*figures.values(), written], notes


def regenerate(results_dir: str | Path, experiments: Sequence[str] | None = None) -> list[Path]:
    """Figures (``<results_dir>/figures``) and ``<results_dir>/REPORT.md`` for the given experiments
    (default: every experiment in ``results_dir``). Used by `veilperf sweep` when it finishes."""
    root = Path(results_dir)
    paths = [root / name for name in sorted(experiments)] if experiments else [root]
    written, _ = report(paths, root / "REPORT.md")
    return written
