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
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from veilperf.config.loader import PLATFORM_AXIS, Experiment, validate_point
from veilperf.config.overrides import get_path, is_parameter
from veilperf.config.run_config import RunConfig
from veilperf.errors import ConfigError
from veilperf.sweep.identity import canonical_json, derive_seed, digest

__all__ = ["Point", "Combination", "expand", "combinations", "expand_combinations", "distinct", "raw_point",
           "axis_combinations", "axis_values"]

TREATMENT = "treatment"
BASELINE = "baseline"


@dataclass(frozen=True)
class Point:
    """One run of a sweep, small enough to ship to a worker (the raw config is rebuilt there)."""

    experiment: str
    point_id: str
    pair_key: str
    role: str  # "treatment" | "baseline"
    replication: int
    seed: int
    workload_index: int | None  # index into Experiment.workloads; None for boot experiments
    workload: str  # workload name, or "boot"
    assignments: dict[str, Any] = field(default_factory=dict)  # axis path -> value
    # The validated config, set when planning validated the point (points that will run): workers
    # run it as it is, so every point is resolved and validated once.
    config: RunConfig | None = field(default=None, compare=False, repr=False)


def axis_combinations(exp: Experiment) -> list[dict[str, Any]]:
    """Assignments for every grid x zip combination, in declaration order (one empty dict if none)."""
    axes: list[list[dict[str, Any]]] = []
    for path, values in exp.grid.items():
        axes.append([{path: value} for value in values])
    for group in exp.zip:  # equal lengths are checked by the config layer
        axes.append([dict(zip(group.keys(), row)) for row in zip(*group.values())])
    return [_merge(combo) for combo in itertools.product(*axes)]


def _merge(parts: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in parts:
        merged.update(part)
    return merged


def raw_point(exp: Experiment, point: Point) -> dict:
    """The raw config of ``point``: resolved axes, baseline overrides for a baseline, its seed."""
    raw = exp.resolve(point.workload_index, point.assignments, baseline=point.role == BASELINE)
    raw["seed"] = point.seed
    return raw


def axis_values(exp: Experiment, point: Point) -> dict[str, Any]:
    """The values ``point`` runs with at each of its axes, read from its resolved config (a baseline's
    overrides and ``--set`` included), not from the sweep's assignments; the platform axis by name."""
    raw = exp.resolve(None, point.assignments, baseline=point.role == BASELINE)  # the workload is not read
    values = {}
    for path, value in point.assignments.items():
        node = value if path == PLATFORM_AXIS else get_path(raw, path)
        values[path] = node["value"] if is_parameter(node) else node
    return values


def _root_seed(exp: Experiment, raw: dict) -> int:
    root = raw.get("seed", 0)
    if isinstance(root, bool) or not isinstance(root, int) or root < 0:
        raise ConfigError(exp.file, "seed", f"the root seed must be a non-negative integer, got {root!r}")
    return root


def _workload_indices(exp: Experiment) -> list[int | None]:
    return list(range(len(exp.workloads))) if exp.workloads else [None]


def _workload_name(exp: Experiment, workload_index: int | None) -> str:
    if workload_index is None:
        return "boot"
    return str(exp.workloads[workload_index].get("name", f"workload{workload_index}"))


def _points_of(exp: Experiment, workload_index: int | None,
               assignments: dict[str, Any]) -> Iterator[tuple[Point, dict]]:
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
            yield Point(
                experiment=exp.name, point_id=digest(raw), pair_key=pair_key, role=role,
                replication=replication, seed=seed, workload_index=workload_index,
                workload=_workload_name(exp, workload_index), assignments=assignments,
            ), raw


Combination = tuple[int | None, dict[str, Any]]
"""One workload (its index, None for boot experiments) with one grid x zip assignment."""


def combinations(exp: Experiment) -> list[Combination]:
    """Every combination of ``exp``, in order: workloads, then axis values."""
    return [(index, assignments) for index in _workload_indices(exp) for assignments in axis_combinations(exp)]


class _Shared:
    """Makes validated points share equal platform and workload models, so a batch of points holds
    (and pickles, which keeps shared objects shared) each platform and workload once. Within one
    experiment a point's platform depends only on its role and the axis values under ``platform``
    (the platform axis included);
    its workload also on the workload index and the axis values under ``workload``."""

    def __init__(self) -> None:
        self._models: dict[tuple, Any] = {}

    def __call__(self, config: RunConfig, point: Point) -> RunConfig:
        platform_key = ("platform", point.role, _values_under(point.assignments, "platform"))
        updates: dict[str, Any] = {"platform": self._models.setdefault(platform_key, config.platform)}
        if config.workload is not None:  # cycles convert with the clock: keyed by the platform too
            key = ("workload", platform_key, point.workload_index, _values_under(point.assignments, "workload"))
            updates["workload"] = self._models.setdefault(key, config.workload)
        if all(getattr(config, name) is model for name, model in updates.items()):
            return config
        return config.model_copy(update=updates)


def _values_under(assignments: dict[str, Any], head: str) -> str:
    return canonical_json(sorted((path, value) for path, value in assignments.items()
                                 if path == head or path.startswith(head + ".")))


def expand_combinations(exp: Experiment, combos: list[Combination],
                        validate_if: Callable[[str], bool] = lambda point_id: False) -> list[Point]:
    """The treatment and baseline points of ``combos`` in order (duplicates kept). Each point whose
    id passes ``validate_if`` is validated (ConfigError for a bad one) and carries its config."""
    points = []
    shared = _Shared()
    for workload_index, assignments in combos:
        for point, raw in _points_of(exp, workload_index, assignments):
            if validate_if(point.point_id):
                config = validate_point(exp, raw, workload_index=point.workload_index,
                                        baseline=point.role == BASELINE)
                point = dataclasses.replace(point, config=shared(config, point))
            points.append(point)
    return points


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
    return distinct(expand_combinations(exp, combinations(exp)))
