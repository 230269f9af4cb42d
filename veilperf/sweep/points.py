"""Expansion of an experiment into points: grid x zip groups x workloads x replications, paired.

An experiment listing several platforms (``platform: [milan, genoa]``) has the platform as its
first grid axis (``loader.PLATFORM_AXIS``, values are profile names): each point runs on one
profile, and its baseline, resolved with the same assignments, on the same one.

Every combination of axis values is a *treatment* point. When the experiment declares a
``baseline`` (overrides such as ``{setup.mode: cvm}``), each treatment also gets a *baseline*
point: the same raw config with those overrides applied (``Experiment.resolve(..., baseline=True)``)
and the **same seed** (common random numbers).

Identity, chosen so that pairing and caching follow from content alone:

- ``pair_key`` = :func:`~veilperf.sweep.identity.digest` of the *baseline's* resolved raw config
  before seed derivation (its ``seed`` field still holds the experiment's root seed); without a
  baseline, of the treatment's. Treatments that differ only in keys the baseline overrides share
  one baseline run, and its seeds.
- ``seed`` = ``derive_seed(root seed, pair_key, replication)``.
- ``point_id`` = digest of the raw config with that seed set. Identical points (for example two
  treatments' identical baselines) are one point, listed once; when a treatment is identical to its
  own baseline the single point keeps the role ``baseline``.

A :class:`Point` is small (its identity and the index of its combination), so a plan of 10^5
points stays small: combinations are computed from their index (:class:`Combinations`), and a
point's raw config and validated :class:`~veilperf.config.run_config.RunConfig` are rebuilt where
they are needed (:mod:`veilperf.sweep.configs`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from veilperf.config.loader import PLATFORM_AXIS, Experiment
from veilperf.config.overrides import get_path, is_parameter
from veilperf.errors import ConfigError
from veilperf.sweep.identity import derive_seed, digest

__all__ = ["Point", "Combination", "Combinations", "expand", "combinations", "points_of", "distinct", "raw_point",
           "workload_name", "TREATMENT", "BASELINE", "axis_values"]

TREATMENT = "treatment"
BASELINE = "baseline"

Combination = tuple[int | None, dict[str, Any]]
"""One workload (its index, None for boot experiments) with one grid x zip assignment."""


@dataclass(frozen=True, slots=True)
class Point:
    """One run of a sweep: its identity and the index of its combination in :func:`combinations`
    (the assignments and the raw config follow from it)."""

    point_id: str
    pair_key: str
    role: str  # "treatment" | "baseline"
    replication: int
    seed: int
    combination: int


class Combinations(Sequence[Combination]):
    """Every combination of an experiment in order (workloads, then grid axes, then zip groups,
    the last varying fastest), each computed from its index: a plan never lists them."""

    def __init__(self, exp: Experiment) -> None:
        self._workloads: list[int | None] = list(range(len(exp.workloads))) if exp.workloads else [None]
        # each axis: (paths, rows): a grid axis has one path, a zip group several in lock-step
        self._axes: list[tuple[list[str], list[tuple]]] = [([path], [(v,) for v in values])
                                                           for path, values in exp.grid.items()]
        self._axes += [(list(group), list(zip(*group.values()))) for group in exp.zip]
        self._per_workload = math.prod(len(rows) for _, rows in self._axes)

    def __len__(self) -> int:
        return len(self._workloads) * self._per_workload

    def __getitem__(self, index: int) -> Combination:  # type: ignore[override]
        if not 0 <= index < len(self):
            raise IndexError(index)
        workload, rest = divmod(index, self._per_workload)
        positions = []
        for _, rows in reversed(self._axes):
            rest, position = divmod(rest, len(rows))
            positions.append(position)
        assignments: dict[str, Any] = {}
        for (paths, rows), position in zip(self._axes, reversed(positions)):
            assignments.update(zip(paths, rows[position]))
        return self._workloads[workload], assignments

    def __iter__(self) -> Iterator[Combination]:
        return (self[i] for i in range(len(self)))

    def of_workloads(self) -> list[range]:
        """The indices of each workload's combinations, in workload order."""
        return [range(i * self._per_workload, (i + 1) * self._per_workload) for i in range(len(self._workloads))]


def combinations(exp: Experiment) -> Combinations:
    """Every combination of ``exp``, in order: workloads, then axis values."""
    return Combinations(exp)


def raw_point(exp: Experiment, point: Point, combination: Combination | None = None) -> dict:
    """The raw config of ``point``: resolved axes, baseline overrides for a baseline, its seed."""
    workload_index, assignments = combination or combinations(exp)[point.combination]
    raw = exp.resolve(workload_index, assignments, baseline=point.role == BASELINE)
    raw["seed"] = point.seed
    return raw


def axis_values(exp: Experiment, point: Point, assignments: dict[str, Any]) -> dict[str, Any]:
    """The values ``point`` (of the combination with ``assignments``) runs with at each of its axes,
    read from its resolved config (a baseline's overrides and ``--set`` included), not from the sweep's
    assignments; the platform axis by name."""
    raw = exp.resolve(None, assignments, baseline=point.role == BASELINE)  # the workload is not read
    values = {}
    for path, value in assignments.items():
        node = value if path == PLATFORM_AXIS else get_path(raw, path)
        values[path] = node["value"] if is_parameter(node) else node
    return values


def _root_seed(exp: Experiment, raw: dict) -> int:
    root = raw.get("seed", 0)
    if isinstance(root, bool) or not isinstance(root, int) or root < 0:
        raise ConfigError(exp.file, "seed", f"the root seed must be a non-negative integer, got {root!r}")
    return root


def workload_name(exp: Experiment, workload_index: int | None) -> str:
    """A workload's name as records give it (``boot`` for boot experiments)."""
    if workload_index is None:
        return "boot"
    return str(exp.workloads[workload_index].get("name", f"workload{workload_index}"))


def points_of(exp: Experiment, index: int, combination: Combination) -> Iterator[tuple[Point, dict]]:
    """The treatment and baseline points of combination ``index`` with their raw configs, per
    replication (the raw dict is reused: read it before taking the next point)."""
    workload_index, assignments = combination
    treatment = exp.resolve(workload_index, assignments, baseline=False)
    paired = bool(exp.baseline)
    baseline = exp.resolve(workload_index, assignments, baseline=True) if paired else None
    root = _root_seed(exp, treatment)
    pair_key = digest(baseline if paired else treatment)
    roles = [(TREATMENT, treatment)] + ([(BASELINE, baseline)] if paired else [])
    for replication in range(exp.replications):
        seed = derive_seed(root, pair_key, replication)
        for role, raw in roles:
            raw["seed"] = seed
            yield Point(point_id=digest(raw), pair_key=pair_key, role=role, replication=replication, seed=seed,
                        combination=index), raw


def distinct(points: list[Point]) -> list[Point]:
    """Each point id once, at its first position; a point both treatment and baseline is a baseline."""
    by_id: dict[str, Point] = {}
    for point in points:
        known = by_id.get(point.point_id)
        if known is None or (point.role == BASELINE and known.role == TREATMENT):
            by_id[point.point_id] = point
    return list(by_id.values())


def expand(exp: Experiment) -> list[Point]:
    """All points of ``exp`` in a stable order, each point id once (see the module docstring)."""
    combos = combinations(exp)
    return distinct([point for index, combination in enumerate(combos)
                     for point, _ in points_of(exp, index, combination)])
