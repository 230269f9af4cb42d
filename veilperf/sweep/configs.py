"""Validated configs of a sweep's points, rebuilt where they are needed.

A plan holds only small :class:`~veilperf.sweep.points.Point` identities; a point's validated
:class:`~veilperf.config.run_config.RunConfig` is built twice, each time on a worker: while
planning (every point that will run is validated before anything runs, the configs then dropped)
and by the worker that runs its batch. Both builds resolve the same raw config, so they give the
same config, on any executor and worker count.

What makes that cheap is that a point's platform and workload models depend on few of its values:
within one experiment its platform on its role and the axis values under ``platform`` (the
platform axis included), its workload on its role, the platform clock (cycles convert with it),
the workload index and the axis values under ``workload``. :class:`Configs` keeps the models it
validated under those keys (the last :data:`KEPT`) and validates the rest of a point
around them; a point whose models are not kept, or whose validation fails that way, is validated
in full by :func:`veilperf.config.loader.validate_point`, which names the file and key of a bad
value.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Hashable

from pydantic import ValidationError

from veilperf.config.bounds import check_point
from veilperf.config.loader import Experiment, platform_clock_hz, validate_point
from veilperf.config.run_config import RunConfig
from veilperf.errors import ConfigError
from veilperf.sweep.identity import canonical_json
from veilperf.sweep.points import BASELINE, Combination, Point, raw_point
from veilperf.units import UnitError

__all__ = ["Configs", "KEPT"]

KEPT = 128
"""Platform and workload models a :class:`Configs` keeps: a batch or a planning chunk reuses the
models its points share, and memory stays bounded when every point has its own platform (a
sensitivity study's samples)."""


class Configs:
    """Validates the points of one experiment, reusing the platform and workload models of
    points that share them (see the module docstring)."""

    def __init__(self, exp: Experiment) -> None:
        self.exp = exp
        self._models: OrderedDict[Hashable, Any] = OrderedDict()

    def build(self, point: Point, combination: Combination) -> RunConfig:
        """The validated config of ``point`` (``combination`` is its combination)."""
        return self.validate(raw_point(self.exp, point, combination), point.role, combination)

    def validate(self, raw: dict, role: str, combination: Combination) -> RunConfig:
        """Validate ``raw``, the raw config of a point of ``role`` from ``combination``;
        ConfigError naming file and key for a bad value."""
        workload_index, assignments = combination
        try:
            clock_hz = platform_clock_hz(raw.get("platform"))
        except UnitError:
            clock_hz = None
        keys = {"platform": ("platform", role, _values_under(assignments, "platform")),
                "workload": ("workload", role, clock_hz, workload_index, _values_under(assignments, "workload"))}
        known = {name: self._models[key] for name, key in keys.items()
                 if key in self._models and raw.get(name) is not None}
        config = self._around(raw, known, clock_hz) if known and clock_hz is not None else None
        if config is None:
            config = validate_point(self.exp, raw, workload_index=workload_index, baseline=role == BASELINE)
        for name, key in keys.items():
            model = getattr(config, name)
            if model is not None:
                self._keep(key, model)
        return config

    def _around(self, raw: dict, known: dict[str, Any], clock_hz: float) -> RunConfig | None:
        """``raw`` validated with the ``known`` models in place of their raw sections, or None
        when that fails (the full validation then says why)."""
        try:
            config = RunConfig.model_validate({**raw, **known}, context={"clock_hz": clock_hz})
            check_point(config, lambda key_path: ("", key_path, ""), force_large=self.exp.force_large)
        except (ValidationError, ConfigError):
            return None
        return config

    def _keep(self, key: Hashable, model: Any) -> None:
        self._models[key] = model
        self._models.move_to_end(key)
        if len(self._models) > KEPT:
            self._models.popitem(last=False)


def _values_under(assignments: dict[str, Any], head: str) -> str:
    return canonical_json(sorted((path, value) for path, value in assignments.items()
                                 if path == head or path.startswith(head + ".")))
