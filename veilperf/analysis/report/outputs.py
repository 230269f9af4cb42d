"""Figures, the report and the overhead table from a results store: what `veilperf plot`,
`veilperf report` and the end of `veilperf sweep` call.

The report is always built from every experiment under the results paths, so sweeping one
experiment refreshes its sections and keeps the others. Whether figures and report are current is
judged from the content of the results (:mod:`veilperf.analysis.freshness`); current figures are
reused and results are loaded only when something must be drawn or written; pandas and matplotlib
load only then too (deciding that everything is current imports neither).

Paths (:mod:`veilperf.sweep.paths`): no output resolves to a file the command reads; everything
written beside a report stays in the report's folder (a ``figures`` symlink leading out of it is
refused), the default figure folder stays inside the results path it belongs to, and only a
results root's own ``figures/`` folder is cleaned of figure names of earlier versions.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from typing import TYPE_CHECKING

from veilperf.analysis.figures.index import Rendered, render_figures, unit_keys
from veilperf.analysis.figures.names import GLOBAL_UNIT
from veilperf.analysis.freshness import (MANIFEST_FILE, SENSITIVITY_GLOB, combine, experiment_digests,
                                         report_is_current, sensitivity_digest)
from veilperf.analysis.tables.load import ResultsError, results_files
from veilperf.sweep.paths import inside, refuse_inputs, remove_leftovers, write_atomic

if TYPE_CHECKING:
    from veilperf.analysis.claims.verdicts import Claim
    from veilperf.analysis.tables.figdata import FigureData

OVERHEADS_CSV = "overheads.csv"


@dataclass
class Inputs:
    """The results paths, their experiment folders and the digests of their content."""

    paths: list[Path]
    digests: dict[str, str]
    sensitivity: str
    roots: list[Path]
    folders: list[Path] = field(default_factory=list)

    @classmethod
    def of(cls, paths: Sequence[str | Path]) -> Inputs:
        """Digest every experiment folder under ``paths`` (ResultsError when there is none)."""
        paths = [Path(p) for p in paths]
        folders = sorted({f.parent for p in paths for f in results_files(p)})
        names = [f.name for f in folders]
        if len(set(names)) < len(names):
            raise ResultsError(", ".join(map(str, paths)), "two experiment folders share one name")
        roots = sorted({p if not (p / "runs.parquet").is_file() else p.parent for p in paths if p.is_dir()})
        return cls(paths, experiment_digests(folders), sensitivity_digest(roots), roots, folders)

    def files(self) -> list[Path]:
        """Every file the analysis reads: results tables, manifests, sensitivity summaries."""
        tables = [f for p in self.paths for f in results_files(p)]
        return [*tables, *(f.parent / MANIFEST_FILE for f in tables),
                *(f for root in self.roots for f in root.glob(SENSITIVITY_GLOB))]

    def owns(self, folder: Path) -> Path | None:
        """The results path whose own ``figures/`` folder ``folder`` is, or None (a user's folder)."""
        for base in [*self.roots, *(p for p in self.paths if p.is_dir())]:
            if os.path.abspath(folder) == os.path.abspath(base / "figures"):
                return base
        return None

    def check_figures(self, folder: Path, base: Path | None, fmt: str) -> bool:
        """Check the figure folder: its index is not an input, and it stays inside ``base`` (a
        report's folder) or, for a results path's own ``figures/``, inside that path. Returns whether
        veilperf owns the folder."""
        refuse_inputs([folder / f".figures-{fmt}.json"], self.files(), "")
        owner = self.owns(folder)
        for root in (base, owner):
            if root is not None:
                inside(root, folder)
        return owner is not None

    def report_key(self) -> str:
        """Digest of everything the report depends on."""
        return combine("report", unit_keys(self.digests, self.sensitivity, "png")[GLOBAL_UNIT])

    @functools.cached_property
    def data(self) -> FigureData:
        """Runs, overheads and calibration of every path (loaded on first use)."""
        import pandas as pd

        from veilperf.analysis.tables.figdata import FigureData, load_sensitivity
        from veilperf.analysis.tables.load import SORT_KEY, load_manifests, load_results
        from veilperf.analysis.tables.studies import load_studies

        frames = [load_results(p) for p in self.paths]
        runs = frames[0]  # sorted already
        if len(frames) > 1:
            runs = pd.concat(frames, ignore_index=True, sort=False).sort_values(SORT_KEY, kind="stable")
            runs = runs.reset_index(drop=True)
        runs.attrs["source"] = ", ".join(str(p) for p in self.paths)
        manifests = {name: m for p in self.paths for name, m in load_manifests(p).items()}
        return FigureData.build(runs, manifests, load_sensitivity(self.roots), load_studies(self.roots))


@dataclass
class Outcome:
    """What a refresh did: files written, figures drawn or reused, the claims, whether the report
    was rebuilt, and the inputs (whose ``data`` is loaded on demand)."""

    inputs: Inputs
    rendered: Rendered
    claims: list[Claim] = field(default_factory=list)
    rebuilt: bool = False
    written: list[Path] = field(default_factory=list)


def load_figure_data(paths: Sequence[str | Path]) -> tuple[FigureData, dict[str, dict[str, Any]]]:
    """Runs and manifests of every results path (experiment folders or results roots), combined."""
    data = Inputs.of(paths).data
    return data, data.manifests


def plot(paths: Sequence[str | Path], out_dir: str | Path, fmt: str = "png",
         force: bool = False) -> tuple[list[Path], list[str]]:
    """Draw every figure whose data exists (reusing current ones unless ``force``); returns the
    figure files and notes on omitted ones."""
    inputs = Inputs.of(paths)
    owned = inputs.check_figures(Path(out_dir), None, fmt)
    rendered = render_figures(inputs.digests, inputs.sensitivity, Path(out_dir), fmt, lambda: inputs.data, force,
                              owned=owned)
    return list(rendered.files.values()), [*rendered.warnings,
                                           *(note for notes in rendered.notes.values() for note in notes)]


def is_current(paths: Sequence[str | Path], out: str | Path) -> bool:
    """Whether the report at ``out`` (with its figures and overhead table) was written from the
    current content of ``paths``."""
    out = Path(out)
    return (out.parent / OVERHEADS_CSV).is_file() and report_is_current(out, Inputs.of(paths).report_key())


def write_report(paths: Sequence[str | Path], out: str | Path, fmt: str = "png", force: bool = False) -> Outcome:
    """Figures (``figures/`` beside ``out``), ``overheads.csv`` and the report, each rewritten only
    when its inputs changed (``force`` rewrites the report and table anyway)."""
    out = Path(out)
    inputs = Inputs.of(paths)
    csv, figures = out.parent / OVERHEADS_CSV, out.parent / "figures"
    refuse_inputs([out, csv], inputs.files(), "")
    owned = inputs.check_figures(figures, out.parent, fmt)
    rendered = render_figures(inputs.digests, inputs.sensitivity, figures, fmt, lambda: inputs.data, owned=owned)
    outcome = Outcome(inputs, rendered, written=list(rendered.files.values()))
    key = inputs.report_key()
    if force or not (csv.is_file() and report_is_current(out, key)):
        from veilperf.analysis.claims.verdicts import check_claims
        from veilperf.analysis.report.reproduction import overhead_table, render_report

        data = inputs.data
        outcome.claims = check_claims(data.over, data.calibration, data.runs, data.sensitivity)
        write_text(csv, overhead_table(data).to_csv(index=False, float_format="%.6g"))
        text = render_report(data, rendered, out, outcome.claims, key)
        outcome.written += [csv, write_text(out, text)]
        outcome.rebuilt = True
    else:
        outcome.written += [csv, out]
    remove_leftovers(out.parent, re.compile(f"{re.escape(out.name)}|{re.escape(OVERHEADS_CSV)}"))
    return outcome


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (its folder created if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), "write")


def report(paths: Sequence[str | Path], out: str | Path, fmt: str = "png",
           force: bool = False) -> tuple[list[Path], list[str]]:
    """Write figures, ``overheads.csv`` and the report (each only if stale, unless ``force``);
    returns every file written or kept (the report last) and notes on omitted figures."""
    outcome = write_report(paths, out, fmt, force=force)
    return outcome.written, [note for notes in outcome.rendered.notes.values() for note in notes]


def refresh(results_dir: str | Path) -> Outcome:
    """Bring ``<results_dir>/figures``, ``overheads.csv`` and ``REPORT.md`` up to date with every
    experiment stored in ``results_dir`` (what `veilperf sweep` calls at its end)."""
    root = Path(results_dir)
    return write_report([root], root / "REPORT.md")


def regenerate(results_dir: str | Path) -> list[Path]:
    """The files :func:`refresh` wrote or kept (for notebooks and scripts)."""
    return refresh(results_dir).written
