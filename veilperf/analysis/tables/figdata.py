"""What figures are drawn from: successful runs, their overheads, the calibration point, the
manifests and the stored sensitivity summaries."""

from __future__ import annotations

import functools
import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from veilperf.analysis.tables.columns import PLATFORM
from veilperf.analysis.tables.labels import point_label, profile_costs, short_service_label
from veilperf.analysis.tables.openloop import without_numbers
from veilperf.analysis.tables.pairing import POINT_KEY, overheads, successful_runs
from veilperf.analysis.tables.profile import calibration_point, describe_point, param_column, param_name
from veilperf.analysis.tables.sensitivity_summaries import load_summaries
from veilperf.analysis.tables.studies import StoredStudy

SWITCH = param_column("switch_one_way")
SERVICE_LABEL = "service_label"
"""Overhead-table column: the point's services and their settings in short words, read from its
record (``log all``, ``enc switchless``; ``none``), without the experiment's other axes."""
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
        out[rows.index] = rows.map(lambda p, shared=common: ", ".join(x for x in p if x not in shared))
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
    studies: dict[str, StoredStudy] = field(default_factory=dict)  # stored sensitivity studies by experiment

    @classmethod
    def build(cls, runs: pd.DataFrame, manifests: dict[str, dict[str, Any]],
              sensitivity: pd.DataFrame | None = None, studies: dict[str, StoredStudy] | None = None) -> FigureData:
        """Compute overheads (saturated open-loop points marked), the calibration point and each
        point's short service label for ``runs``."""
        ok = successful_runs(runs)
        over = without_numbers(overheads(runs, ok, profile_costs(manifests)))
        settings = over[["experiment", "point", "setting"]].drop_duplicates()
        ok = ok.merge(settings, on=["experiment", "point"], how="left")
        ok.attrs["axes"] = over.attrs["axes"]
        data = cls(ok, over, calibration_point(runs, over.attrs["axes"], manifests), manifests, sensitivity,
                   studies=studies or {})
        over.insert(over.columns.get_loc("label") + 1, SERVICE_LABEL,
                    [short_service_label(record) for record in data.records(over)])
        return data

    def only(self, experiment: str) -> FigureData:
        """The data of one experiment, read at that experiment's own calibration point (so its
        figures do not depend on other experiments)."""
        runs = self.runs[self.runs["experiment"] == experiment]
        over = self.over[self.over["experiment"] == experiment]
        runs.attrs.update(self.runs.attrs)
        over.attrs.update(self.over.attrs)
        manifests = {experiment: self.manifests[experiment]} if experiment in self.manifests else {}
        studies = {experiment: self.studies[experiment]} if experiment in self.studies else {}
        return FigureData(runs, over, calibration_point(runs, over.attrs["axes"], manifests), manifests,
                          None, experiment, studies)

    @functools.cached_property
    def _first_runs(self) -> dict[tuple, dict[str, Any]]:
        """The first treatment run of every point, as a plain mapping, by ``POINT_KEY``."""
        first = self.runs[self.runs["role"] == "treatment"].groupby(POINT_KEY, sort=False).head(1)
        return {tuple(row[k] for k in POINT_KEY): row for row in first.to_dict("records")}

    def records(self, frame: pd.DataFrame) -> list[dict[str, Any]]:
        """The record of each overhead row's point (its first treatment run), in ``frame``'s order:
        labels are read from what was simulated, not from the plan."""
        return [self._first_runs.get(key, {}) for key in frame[POINT_KEY].itertuples(index=False, name=None)]

    def from_records(self, frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
        """``frame`` with each of ``columns`` it lacks read from its points' records (a value the
        experiment did not sweep, e.g. an arrival rate given with ``--set``, is not in the overhead
        table)."""
        missing = [c for c in columns if c not in frame.columns]
        records = self.records(frame) if missing else []
        return frame.assign(**{c: [r.get(c) for r in records] for c in missing}) if missing else frame

    def varying_axes(self, frame: pd.DataFrame, without: Iterable[str] = ()) -> list[str]:
        """The sweep axes that take more than one value among ``frame``'s rows (except ``without``);
        with several platforms, a platform parameter that only follows the platform (one value per
        platform, e.g. its clock) is left out: the platform's name says it."""
        axes = [a for a in frame.attrs.get("axes", self.over.attrs.get("axes", []))
                if a in frame.columns and a not in without and frame[a].astype(str).nunique() > 1]
        if PLATFORM in frame.columns and frame[PLATFORM].nunique() > 1:
            axes = [a for a in axes if param_name(a) is None
                    or (frame.groupby(PLATFORM)[a].nunique(dropna=False) > 1).any()]
        return axes

    def labels(self, frame: pd.DataFrame, without: Iterable[str] = (), axes: list[str] | None = None) -> pd.Series:
        """Each row's point in a few words read from its record: its services' short labels and its
        values of ``axes`` (default: those that vary among the rows of its experiment in ``frame``,
        :meth:`varying_axes`), e.g. ``log all batch 8``, ``enc static 3 VCPUs``, ``enc 20k req/s``."""
        if axes is None:
            parts = [self.labels(rows, axes=self.varying_axes(rows, without))
                     for _, rows in frame.groupby("experiment", sort=False)]
            return pd.concat(parts).reindex(frame.index) if parts else pd.Series(dtype=object)
        return pd.Series([point_label(record, axes) for record in self.records(frame)], index=frame.index, dtype=object)

    def words(self, frame: pd.DataFrame, axes: Iterable[str]) -> pd.Series:
        """Each row's values of ``axes`` alone, in words (``genoa``, ``4 VCPUs``); empty without any."""
        axes = [a for a in axes if a in frame.columns]
        words = [point_label({**record, "service": "none"}, axes) for record in self.records(frame)]
        return pd.Series(["" if w == point_label({"service": "none"}, []) else w for w in words], index=frame.index,
                         dtype=object)

    def swept_calibration(self, frame: pd.DataFrame, keep: tuple[str, ...] = ()) -> dict[str, float]:
        """The calibrated values of the parameters that vary in ``frame`` (except ``keep``)."""
        return {c: v for c, v in self.calibration.items() if c not in keep and c in frame and frame[c].nunique() > 1}

    def caption(self, frame: pd.DataFrame, keep: tuple[str, ...] = ()) -> str:
        """Which calibrated values of the parameters swept in ``frame`` a figure is drawn at."""
        shown = self.swept_calibration(frame, keep)
        return textwrap.fill(f"at {describe_point(shown)}", 100) if shown else "calibrated platform values"
