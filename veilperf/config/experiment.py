"""Schema of an experiment file (``configs/<name>.yaml``) before inlining.

Only the experiment's own structure is checked here: file references, sweep axes, replications,
baseline. ``setup``, ``run`` and ``boot`` are kept as raw mappings; they are validated per point
as part of a RunConfig (with the platform clock known).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from veilperf.config.types import Strict
from veilperf.names import SAFE_NAME

__all__ = ["ExperimentFile", "Sweep", "POINT_KEYS"]

NAME_PATTERN = SAFE_NAME
"""An experiment name is a folder name under the results root: a safe slug, nothing that escapes it
(the one definition is :data:`veilperf.names.SAFE_NAME`, which names read back from results
files are checked against too)."""

MAX_REPLICATIONS = 10_000
"""A 95% CI narrows as 1/sqrt(n): 10,000 replications already give 1% of one replication's spread."""

POINT_KEYS = ("name", "description", "kind", "platform", "setup", "run", "seed", "boot")
"""Experiment-file keys that are carried into every point (RunConfig fields)."""


def _equal_lengths(group: dict[str, list[Any]]) -> dict[str, list[Any]]:
    lengths = {path: len(values) for path, values in group.items()}
    if not group or 0 in lengths.values():
        raise ValueError("a zip group needs at least one path with at least one value")
    if len(set(lengths.values())) != 1:
        shown = ", ".join(f"{path}: {n}" for path, n in lengths.items())
        raise ValueError(f"a zip group needs lists of equal length, got {shown}")
    return group


ZipGroup = Annotated[dict[str, list[Any]], AfterValidator(_equal_lengths)]


class Sweep(Strict):
    """Sweep axes keyed by dotted point paths: ``grid`` is a cartesian product; each ``zip``
    group varies its paths together (equal-length lists)."""

    grid: dict[str, list[Any]] = {}
    zip: list[ZipGroup] = []

    @model_validator(mode="after")
    def _axes_well_formed(self):
        seen: set[str] = set(self.grid)
        if "name" in seen.union(*self.zip):
            raise ValueError("name is the experiment's results folder and cannot be swept; use one experiment "
                             "file (or --set name=...) per name")
        for path, values in self.grid.items():
            if not values:
                raise ValueError(f"grid axis {path!r} has no values")
        for group in self.zip:
            twice = seen.intersection(group)
            if twice:
                raise ValueError(f"{', '.join(sorted(twice))} swept more than once")
            seen.update(group)
        return self


class ExperimentFile(Strict):
    """The top-level keys of an experiment file."""

    name: str
    description: str = ""
    kind: Literal["workload", "boot"] = "workload"
    platform: str | list[str]  # one profile, or several: an axis (one point set per platform)
    workload: str | None = None
    workloads: list[str] | None = None
    setup: dict[str, Any] = {}
    run: dict[str, Any] = {}
    seed: int = Field(default=0, ge=0)
    replications: int = Field(default=1, ge=1)
    sweep: Sweep = Sweep()
    baseline: dict[str, Any] | None = None
    boot: dict[str, Any] | None = None

    @field_validator("name")
    @classmethod
    def _safe_name(cls, name: str) -> str:
        if not NAME_PATTERN.fullmatch(name):
            shown = name if len(name) <= 40 else name[:37] + "..."
            raise ValueError(f"experiment name {shown!r} is not a safe folder name: use 1-64 letters, digits, "
                             "'_', '-' or '.', starting with a letter or digit (results go to <results>/<name>/)")
        return name

    @field_validator("platform")
    @classmethod
    def _platform_list(cls, platform: str | list[str]) -> str | list[str]:
        if isinstance(platform, list):
            if not platform:
                raise ValueError("a platform list needs at least one profile")
            twice = sorted({p for p in platform if platform.count(p) > 1})
            if twice:
                raise ValueError(f"platform {', '.join(map(repr, twice))} listed more than once")
        return platform

    @field_validator("replications")
    @classmethod
    def _few_enough_replications(cls, replications: int) -> int:
        if replications > MAX_REPLICATIONS:
            raise ValueError(f"{replications} replications is more than {MAX_REPLICATIONS:,}: a 95% CI narrows as "
                             "1/sqrt(n), so more would cost time and learn nothing")
        return replications

    @model_validator(mode="after")
    def _subject_matches_kind(self):
        if self.workload is not None and self.workloads is not None:
            raise ValueError("give workload or workloads, not both")
        if self.kind == "workload" and not (self.workload or self.workloads):
            raise ValueError("a workload experiment needs workload: FILE or workloads: [FILE, ...]")
        if self.kind == "boot" and (self.workload or self.workloads):
            raise ValueError("a boot experiment has no workloads")
        if self.kind == "boot" and self.boot is None:
            raise ValueError("a boot experiment needs a boot section")
        return self

    @property
    def workload_paths(self) -> list[str]:
        """The workload file references in file order."""
        if self.workload is not None:
            return [self.workload]
        return list(self.workloads or [])
