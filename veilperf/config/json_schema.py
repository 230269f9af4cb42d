"""JSON Schema of the experiment and workload files, generated from the pydantic models, so YAML
editors (e.g. the YAML language server's ``# yaml-language-server: $schema=...``) validate and
complete them.

Quantities with units (durations, sizes, bandwidths, rates) are strings with a pattern, e.g.
``2.07us``, ``16MiB``, ``18GB/s``, ``100/s``; the pattern accepts exactly the units
:mod:`veilperf.units` parses. An experiment's ``setup``, ``run`` and ``boot`` sections get the
schemas of the settings they become; ``sweep`` and ``baseline`` keys are dotted point paths.
The schema checks the shape of one file; cross-file checks (a path exists, a sweep value fits)
are ``veilperf validate``'s.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from pydantic.json_schema import GenerateJsonSchema

from veilperf import units
from veilperf.config import types
from veilperf.config.boot import BootSpec
from veilperf.config.experiment import ExperimentFile
from veilperf.config.run_config import RunSpec, Setup
from veilperf.config.workload import WorkloadSpec

__all__ = ["SCHEMAS", "json_schema"]

_NUMBER = r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?"


def _pattern(unit_names: list[str]) -> str:
    alternatives = "|".join(re.escape(u) for u in sorted(unit_names, key=len, reverse=True))
    return rf"^\s*{_NUMBER}\s*({alternatives})\s*$"


_UNIT_TYPES: dict[Callable[..., float], dict[str, str]] = {
    types._duration: {"pattern": _pattern([*units._DURATION_NS, "cycles", "cycle"]),
                      "description": "a duration with its unit: ns, us, ms, s, or cycles of the platform clock"},
    units.parse_size: {"pattern": _pattern(list(units._SIZE_B)),
                       "description": "a size with its unit: B, KiB, MiB, GiB, KB, MB, GB ..."},
    units.parse_bandwidth: {"pattern": _pattern([f"{u}/s" for u in units._SIZE_B]),
                            "description": "a bandwidth with its unit, e.g. 18GB/s or 512MiB/s"},
    units.parse_rate: {"pattern": _pattern(list(units._RATE_HZ)),
                       "description": "a rate or frequency with its unit, e.g. 100/s or 2.8GHz"},
}


class _UnitStrings(GenerateJsonSchema):
    """Unit-bearing float fields (a float with a unit-parsing BeforeValidator) become patterned strings."""

    def function_before_schema(self, schema: Any) -> dict[str, Any]:
        unit = _UNIT_TYPES.get(schema["function"]["function"])
        if unit is not None:
            return {"type": "string", **unit}
        return super().function_before_schema(schema)


def _has_unit(node: dict) -> bool:
    return "pattern" in node or any(_has_unit(option) for option in node.get("anyOf", ()))


def _drop_si_defaults(node: Any) -> None:
    """Unit values in defaults are held in SI numbers (3e6 for 3 ms), not values one could write:
    drop the defaults of unit fields and of whole sections."""
    if isinstance(node, dict):
        default = node.get("default")
        if isinstance(default, dict) or (_has_unit(node) and isinstance(default, (int, float))):
            del node["default"]
        for value in node.values():
            _drop_si_defaults(value)
    elif isinstance(node, list):
        for value in node:
            _drop_si_defaults(value)


class _ExperimentSchema(ExperimentFile):
    """An experiment file with its settings sections typed (schema generation only)."""

    setup: Setup = Setup()
    run: RunSpec = RunSpec()
    boot: BootSpec | None = None


SCHEMAS = {"experiment": _ExperimentSchema, "workload": WorkloadSpec}
_TITLES = {"experiment": "veilperf experiment (configs/<name>.yaml)", "workload": "veilperf workload (workloads/<name>.yaml)"}


def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of an ``experiment`` or ``workload`` file."""
    schema = SCHEMAS[kind].model_json_schema(schema_generator=_UnitStrings, mode="validation")
    _drop_si_defaults(schema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"veilperf-{kind}.schema.json",
            **schema, "title": _TITLES[kind]}
