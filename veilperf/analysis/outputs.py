"""Figures and the report from a results store: what `veilperf plot`, `veilperf report` and the end
of `veilperf sweep` call."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from veilperf.analysis.claims import Claim, check_claims
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
    written, notes, _ = _report_with_claims(paths, Path(out), fmt)
    return written, notes


def _report_with_claims(paths: Sequence[str | Path], out: Path, fmt: str) -> tuple[list[Path], list[str], list[Claim]]:
    data, manifests = load_figure_data(paths)
    figures, notes = render_figures(data, out.parent / "figures", fmt)
    claims = check_claims(data.over, data.calibration, data.runs)
    written = write_text(out, render_report(data, manifests, figures, notes, out, claims))
    return [*figures.values(), written], notes, claims


def refresh(results_dir: str | Path, experiments: Sequence[str] | None = None) -> tuple[list[Path], list[Claim]]:
    """Figures (``<results_dir>/figures``) and ``<results_dir>/REPORT.md`` for the given experiments
    (default: every experiment in ``results_dir``); returns the files written and the claims checked."""
    root = Path(results_dir)
    paths = [root / name for name in sorted(experiments)] if experiments else [root]
    written, _, claims = _report_with_claims(paths, root / "REPORT.md", "png")
    return written, claims


def regenerate(results_dir: str | Path, experiments: Sequence[str] | None = None) -> list[Path]:
    """The files :func:`refresh` writes. Used by `veilperf sweep` and notebooks."""
    return refresh(results_dir, experiments)[0]
