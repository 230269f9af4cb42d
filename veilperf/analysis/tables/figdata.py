"""What figures are drawn from: successful runs, their overheads, the calibration point, the
manifests and the stored sensitivity summaries."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from veilperf.analysis.tables.pairing import overheads, successful_runs
from veilperf.analysis.tables.profile import calibration_point, describe_point, param_column
from veilperf.analysis.tables.sensitivity_summaries import load_summaries

SWITCH = param_column("switch_one_way")
_SETTING_PART = re.compile(r", (?=[\w.]+=)")


def distinguishing_settings(points: pd.DataFrame, by: str | None = None) -> pd.Series:
    """Each point's setting without the parts shared by every point (of its ``by`` group, e.g. its
    service), so labels say only what tells points apart (not the sourced ``record_model=event``
    every logging point has)."""
    parts = points["setting"].fillna("").astype(str).map(lambda text: _SETTING_PART.split(text) if text else [])
    out = pd.Series("", index=points.index, dtype=object)
    groups = parts.groupby(points[by]) if by else [("", parts)]
    for _, rows in groups:
        common = set.intersection(*(set(p) for p in rows)) if len(rows) > 1 else set()
        out[rows.index] = rows.map(lambda p: ", ".join(x for x in p if x not in common))
    return out


def sort_points(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows by workload, service, then every swept ``cfg.*`` value (numbers sorted as numbers)."""
    axes = [c for c in frame.attrs.get("axes", []) if c in frame]
    keys = frame[["workload", "service"]].astype(str)
    for column in axes:
        values = frame[column]
        numbers = pd.to_numeric(values, errors="coerce")  # object columns may hold numbers too
        keys[column] = numbers if numbers.notna().sum() == values.notna().sum() else values.astype(str)
    order = keys.sort_values(list(keys.columns), kind="stable").index
    return frame.loc[order]


def load_sensitivity(roots: list) -> pd.DataFrame | None:
    """The sensitivity studies' summaries (:func:`load_summaries`) of every results root, or None
    when nothing is stored."""
    frames = [load_summaries(root) for root in roots]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else None


@dataclass(frozen=True)
class FigureData:
    """Successful runs, their overheads, and the calibration point figures are drawn at."""

    runs: pd.DataFrame
    over: pd.DataFrame
    calibration: dict[str, float]
    manifests: dict[str, dict[str, Any]] = field(default_factory=dict)
    sensitivity: pd.DataFrame | None = None
    experiment: str = ""  # set for the data of one experiment

    @classmethod
    def build(cls, runs: pd.DataFrame, manifests: dict[str, dict[str, Any]],
              sensitivity: pd.DataFrame | None = None) -> FigureData:
        """Compute overheads and the calibration point for ``runs``."""
        ok = successful_runs(runs)
        over = overheads(runs, ok)
        settings = over[["experiment", "point", "setting"]].drop_duplicates()
        ok = ok.merge(settings, on=["experiment", "point"], how="left")
        ok.attrs["axes"] = over.attrs["axes"]
        return cls(ok, over, calibration_point(runs, over.attrs["axes"], manifests), manifests, sensitivity)

    def only(self, experiment: str) -> FigureData:
        """The data of one experiment, read at that experiment's own calibration point (so its
        figures do not depend on other experiments)."""
        runs = self.runs[self.runs["experiment"] == experiment]
        over = self.over[self.over["experiment"] == experiment]
        runs.attrs.update(self.runs.attrs)
        over.attrs.update(self.over.attrs)
        manifests = {experiment: self.manifests[experiment]} if experiment in self.manifests else {}
        return FigureData(runs, over, calibration_point(runs, over.attrs["axes"], manifests), manifests,
                          None, experiment)

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
