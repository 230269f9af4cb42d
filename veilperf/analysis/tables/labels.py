"""Short, readable names for the non-platform sweep settings of a point (``vcpu_model=static``,
``log.rules.select=classes``), used in tables and figure legends, and the services' own names and
short labels (from their specs, read back from a record's ``cfg.setup.services.*`` values)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
from collections.abc import Mapping
from typing import Any, get_origin

import numpy as np
import pandas as pd

from veilperf.analysis.tables.columns import ACCEPTANCE, ARRIVAL, MEMORY, PLATFORM, VCPU_MODEL, VCPUS
from veilperf.analysis.tables.profile import find_profiles, format_value, param_name, profile_values
from veilperf.services.registry import SPECS
from veilperf.services.spec import ServiceSpec, field_types
from veilperf.units import format_size

_PREFIXES = ("cfg.", "setup.", "services.")
_LIST_ITEM = re.compile(r"^(.*)\.(\d+)$")
_SERVICE_PATH = re.compile(r"^cfg\.setup\.services\.(\w+)\.")
_SIZE_KEY = re.compile(r"(size|memory|buffer|chunk)$")  # schema fields holding bytes


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def short_value(value: Any) -> str:
    """A config value for labels: ``4`` not ``4.0``, three significant digits for other floats."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def short_key(column: str) -> str:
    """``cfg.setup.services.log.rules.select`` -> ``log.rules.select``; ``cfg.run.iterations`` -> ``run.iterations``."""
    key = column
    for prefix in _PREFIXES:
        key = key.removeprefix(prefix)
    return key


def setting_axes(axes: list[str]) -> list[str]:
    """The axes worth naming in a label: not platform parameters (captions name those), not a
    service's ``enabled`` flag (the ``service`` column says it)."""
    return [a for a in axes if param_name(a) is None and not a.endswith(".enabled")]


def describe_setting(row: pd.Series | Mapping[str, Any], axes: list[str]) -> str:
    """``row``'s values of ``axes``, list items regrouped (``classes=[file, network]``); settings of a
    service the row does not use are left out."""
    services = set(str(row.get("service", "")).split("+"))
    values: dict[str, list[str]] = {}
    for column in axes:
        owner = _SERVICE_PATH.match(column)
        if (owner and owner.group(1) not in services) or column not in row or _missing(row[column]):
            continue
        item = _LIST_ITEM.match(column)
        key = short_key(item.group(1) if item else column)
        if owner and len(services) == 1:  # the label already names the service
            key = key.removeprefix(f"{owner.group(1)}.")
        value = row[column]
        shown = format_size(value) if _SIZE_KEY.search(column) and isinstance(value, (int, float)) else short_value(value)
        values.setdefault(key, []).append(shown)
    return ", ".join(f"{k}={v[0]}" if len(v) == 1 else f"{k}=[{', '.join(v)}]" for k, v in values.items())


def display_name(service: str) -> str:
    """A service column's value for readers: ``VeilS-Log (audit log)``, combinations joined by
    ``+``; ``none`` and unknown names as they are."""
    names = {spec.name: spec.display_name for spec in SPECS}
    return " + ".join(names.get(part, part) for part in str(service).split("+"))


def _settings_data(settings: type, prefix: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """The plain settings data of dataclass ``settings`` held in ``row``'s ``<prefix>.*`` columns
    (lists of up to four items as ``.0``-``.3``, longer ones as JSON text, as records store them);
    fields without a column keep their default."""
    data: dict[str, Any] = {}
    for name, tp in field_types(settings).items():
        column = f"{prefix}.{name}"
        base = tp.__origin__ if hasattr(tp, "__metadata__") else tp
        if dataclasses.is_dataclass(base):
            data[name] = _settings_data(base, column, row)
        elif get_origin(base) is tuple:
            if column in row and isinstance(row[column], str):
                data[name] = json.loads(row[column])
            elif f"{column}.0" in row:
                data[name] = list(itertools.takewhile(lambda v: not _missing(v),
                                                      (row.get(f"{column}.{i}") for i in itertools.count())))
        elif column in row:
            data[name] = None if _missing(row[column]) else row[column]
    return data


def settings_of(spec: ServiceSpec, row: Mapping[str, Any]) -> Any:
    """Service ``spec``'s settings as the run was resolved with (its record's config values)."""
    return spec.settings_of(_settings_data(spec.settings, f"cfg.setup.services.{spec.name}", row))


def short_service_label(row: Mapping[str, Any]) -> str:
    """The short label of ``row``'s services and their settings from the record (``log all``,
    ``enc switchless + log file+net``; ``none`` without a service)."""
    by_name = {spec.name: spec for spec in SPECS}
    names = [n for n in str(row.get("service", "none")).split("+") if n in by_name]
    return " + ".join(by_name[n].short_label(settings_of(by_name[n], row)) for n in names) or "none"


def _rate(per_s: Any) -> str:
    """``5000`` -> ``5k req/s``."""
    value = float(per_s)
    return f"{value / 1000:g}k req/s" if value >= 1000 else f"{value:g} req/s"


_AXIS_WORDS: dict[str, Any] = {
    VCPUS: lambda v: f"{short_value(v)} VCPU" + ("" if v == 1 else "s"),
    VCPU_MODEL: str,
    ARRIVAL: _rate,
    MEMORY: lambda v: format_size(float(v)),
    ACCEPTANCE: str,
    PLATFORM: str,
}
"""Short words for the non-service axes a label names (``4 VCPUs``, ``static``, ``5k req/s``)."""


def param_word(column: str, value: Any) -> str:
    """How a label names a platform parameter's value: ``switch_one_way 3 us``."""
    name = param_name(column)
    return f"{name} {format_value(name, float(value))}"


def point_label(row: Mapping[str, Any], axes: list[str]) -> str:
    """What a point simulated, in a few words read from its record: its services' short labels
    (``log file+net``, ``enc switchless``; from their specs) and its values of the experiment's
    other ``axes`` (``4 VCPUs``, ``static``, ``5k req/s``, ``genoa``, ``switch_one_way 3 us``); a
    point without a service is ``no service`` when no axis tells it apart."""
    words = []
    for column in axes:
        if _SERVICE_PATH.match(column) or column not in row or _missing(row[column]):
            continue  # a service's settings are in its short label
        value = row[column]
        if param_name(column) is not None:
            words.append(param_word(column, value))
        elif column in _AXIS_WORDS:
            words.append(_AXIS_WORDS[column](value))
        else:
            words.append(f"{short_key(column)}={short_value(value)}")
    services = short_service_label(row)
    if services != "none":
        words.insert(0, services)
    return " ".join(words) or "no service"


ProfileCosts = Mapping[tuple[str, str], Mapping[str, float]]
"""Per (experiment, platform name), every parameter column's value in the platform profile the
experiment was swept with: ``{("enclave", "milan"): {"cfg.platform.params.switch_one_way.value": 2.07e3}}``."""


def profile_costs(manifests: Mapping[str, Mapping[str, Any]]) -> dict[tuple[str, str], dict[str, float]]:
    """:data:`ProfileCosts` from the experiments' manifests (which hold each profile as written, before
    any ``--set``)."""
    return {(experiment, platform): profile_values({experiment: dict(manifest)}, platform)
            for experiment, manifest in manifests.items() for platform in find_profiles(dict(manifest))}


def off_profile(frame: pd.DataFrame, costs: ProfileCosts) -> pd.DataFrame:
    """Per row of ``frame`` (runs or overhead rows, with ``experiment`` and ``cfg.platform.name``)
    and parameter column, whether the row was simulated at another value than its platform
    profile's: one boolean column per parameter that differs somewhere (none: an empty frame)."""
    differs: dict[str, pd.Series] = {}
    if PLATFORM not in frame or not len(frame):
        return pd.DataFrame(index=frame.index)
    for (experiment, platform), rows in frame.groupby(["experiment", PLATFORM], sort=False):
        for column, value in costs.get((str(experiment), str(platform)), {}).items():
            if column not in rows:
                continue
            ran = pd.to_numeric(rows[column], errors="coerce")
            other = ran.notna() & ~np.isclose(ran.fillna(value), value, rtol=1e-9, atol=0.0)
            if other.any():
                differs.setdefault(column, pd.Series(False, index=frame.index))[rows.index] = other
    return pd.DataFrame(differs, index=frame.index)


def off_profile_text(frame: pd.DataFrame, costs: ProfileCosts) -> str:
    """The costs ``frame``'s rows were simulated at that differ from their platform profile's:
    ``switch_one_way 3 us (milan profile: 2.07 us)``; empty when every one equals it."""
    differs = off_profile(frame, costs)
    parts = []
    for column in differs.columns:
        rows = frame[differs[column]]
        name = param_name(column)
        ran = ", ".join(format_value(name, v) for v in sorted(pd.to_numeric(rows[column]).unique()))
        profiles = sorted({(str(e), str(p)) for e, p in zip(rows["experiment"], rows[PLATFORM])})
        own = ", ".join(sorted({f"{p} profile: {format_value(name, costs[(e, p)][column])}" for e, p in profiles}))
        parts.append(f"{name} {ran} ({own})")
    return "; ".join(parts)
