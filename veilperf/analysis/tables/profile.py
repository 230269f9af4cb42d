"""The platform profiles behind a results table: parameter provenance, units, calibrated values.

Sensitivity sweeps move platform parameters over their range; figures and the report's claims
are read "at calibration", i.e. at the profile's own value of every swept parameter. Results may
hold several platforms (an experiment with ``platform: [milan, genoa]``, or experiments run on
different profiles): each run is read at its own platform's calibration (``cfg.platform.name``
says which), and every lookup takes a ``platform`` to answer for one of them; none averages or
mixes two profiles.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from veilperf.analysis.tables.columns import PLATFORM
from veilperf.config.boot import BootPlatform
from veilperf.config.params import BandwidthParam, CountParam, DurationParam, FrequencyParam, SizeParam
from veilperf.config.platform import PlatformParams
from veilperf.units import UnitError, format_duration, parse_rate

SECTIONS = {"params": PlatformParams, "boot": BootPlatform}
"""Sections of a platform profile holding parameters with provenance, and their schemas."""

_COLUMN = re.compile(r"^cfg\.platform\.(?:(params|boot)\.)?(\w+)\.value$")
CLOCK = "clock"
"""The profile's top-level clock, a parameter with provenance like the others."""
_PLATFORM_SETTINGS = ("cfg.platform.switch_model",)
"""``cfg.platform`` columns besides parameter values and the name that change what is simulated."""


class PerPlatform(dict):
    """A swept parameter's calibrated value where it differs by platform: ``{platform name: value}``."""


def describes_platform(column: str) -> bool:
    """Whether a ``cfg.platform.*`` column only describes a profile (its description, a parameter's
    source, kind, range or note): it changes with the platform but is neither a cost nor an axis."""
    return (column.startswith("cfg.platform.") and column != PLATFORM and column not in _PLATFORM_SETTINGS
            and param_name(column) is None)


def platforms_in(runs: pd.DataFrame) -> list[str]:
    """The platform names in ``runs`` (sorted; empty when the column is absent)."""
    if PLATFORM not in runs.columns:
        return []
    return sorted(str(name) for name in runs[PLATFORM].dropna().unique())


def param_column(name: str) -> str:
    """The results column of a parameter: ``switch_one_way`` -> ``cfg.platform.params.switch_one_way.value``,
    ``boot.page_map_unmap`` -> ``cfg.platform.boot.page_map_unmap.value``."""
    if name == CLOCK:
        return f"cfg.platform.{CLOCK}.value"
    section, _, field = name.rpartition(".")
    return f"cfg.platform.{section or 'params'}.{field}.value"


def param_name(column: str) -> str | None:
    """Inverse of :func:`param_column` (None for columns that are not platform parameters)."""
    match = _COLUMN.match(column)
    if match is None:
        return None
    section, field = match.groups()
    if section is None:
        return field if field == CLOCK else None
    return field if section == "params" else f"{section}.{field}"


def _param_type(name: str) -> type | None:
    if name == CLOCK:
        return FrequencyParam
    section, _, field = name.rpartition(".")
    info = SECTIONS.get(section or "params", PlatformParams).model_fields.get(field)
    return info.annotation if info else None


def _format_size(size: float) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(size) >= scale:
            return f"{size / scale:.4g} {unit}"
    return f"{size:.4g} B"


def format_value(name: str, value: float) -> str:
    """A parameter value (SI number) with the unit its schema gives it."""
    kind = _param_type(name)
    if kind is DurationParam:
        return format_duration(float(value))
    if kind is BandwidthParam:
        return f"{float(value) / 1e9:.4g} GB/s"
    if kind is SizeParam:
        return _format_size(float(value))
    if kind is FrequencyParam:
        return f"{float(value) / 1e9:.4g} GHz"
    if kind is CountParam:
        return f"{int(value)}"
    return f"{value}"


def _nested_profile(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The first mapping holding a ``params`` mapping, at the top level or nested up to two levels
    down (a sweep manifest of one platform writes it under ``platform:``)."""
    level = [manifest]
    for _ in range(3):
        for candidate in level:
            if isinstance(candidate.get("params"), dict):
                return candidate
        level = [v for candidate in level for v in candidate.values() if isinstance(v, dict)]
    return None


def find_profiles(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{platform name: raw profile}`` in a manifest: the ``platforms:`` list of an experiment on
    several platforms (in its order), else the one profile it holds."""
    listed = manifest.get("platforms")
    if isinstance(listed, list):
        return {str(p.get("name")): p for p in listed if isinstance(p, dict) and isinstance(p.get("params"), dict)}
    profile = _nested_profile(manifest)
    return {str(profile.get("name")): profile} if profile is not None else {}


def find_profile(manifest: dict[str, Any], platform: str | None = None) -> dict[str, Any] | None:
    """The raw profile of ``platform`` in a manifest; without ``platform``, its only profile (None
    for an experiment on several platforms: the caller must say which)."""
    profiles = find_profiles(manifest)
    if platform is not None:
        return profiles.get(platform)
    return next(iter(profiles.values())) if len(profiles) == 1 else None


def _profiles(manifests: dict[str, dict[str, Any]], platform: str | None) -> list[dict[str, Any]]:
    """The manifests' profiles of ``platform`` (experiments in name order); without ``platform``,
    those of the experiments run on one platform."""
    return [p for p in (find_profile(manifests[e], platform) for e in sorted(manifests)) if p is not None]


def _si_value(name: str, raw: Any, clock_hz: float | None) -> float | None:
    """A raw parameter's value in SI units (numbers pass through), or None when unparseable."""
    value = raw.get("value") if isinstance(raw, dict) else raw
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    kind = _param_type(name)
    if kind is None or not isinstance(raw, dict):
        return None
    try:
        return float(kind.model_validate(raw, context={"clock_hz": clock_hz}).value)
    except (ValueError, UnitError):
        return None


def profile_values(manifests: dict[str, dict[str, Any]], platform: str | None = None) -> dict[str, float]:
    """``{parameter column: calibrated value}`` from the manifests' profiles of ``platform`` (see
    :func:`_profiles`; first wins)."""
    values: dict[str, float] = {}
    for profile in _profiles(manifests, platform):
        clock_hz = profile_clock_hz(profile)
        for name, raw in sorted(profile_params(profile).items()):
            value = _si_value(name, raw, clock_hz)
            if value is not None:
                values.setdefault(param_column(name), value)
    return values


def profile_clock_hz(profile: dict[str, Any]) -> float | None:
    """The profile's clock in Hz (cycle-valued parameters need it), or None when unreadable."""
    clock_raw = profile.get("clock")
    clock_value = clock_raw.get("value") if isinstance(clock_raw, dict) else clock_raw
    try:
        return float(clock_value) if isinstance(clock_value, (int, float)) else parse_rate(clock_value)
    except (UnitError, TypeError):
        return None


def profile_ranges(manifests: dict[str, dict[str, Any]],
                   platform: str | None = None) -> dict[str, tuple[float, float, float]]:
    """``{parameter name: (calibrated value, range low, range high)}`` in SI units, from the first
    manifest's profile of ``platform`` (see :func:`_profiles`); parameters without a range have
    low = high = value."""
    profiles = _profiles(manifests, platform)
    if not profiles:
        return {}
    clock_hz = profile_clock_hz(profiles[0])
    out: dict[str, tuple[float, float, float]] = {}
    for name, raw in sorted(profile_params(profiles[0]).items()):
        kind = _param_type(name)
        if kind is None or not isinstance(raw, dict):
            continue
        try:
            param = kind.model_validate(raw, context={"clock_hz": clock_hz})
        except (ValueError, UnitError):
            continue
        value = float(param.value)
        low, high = (float(b) for b in param.range) if param.range else (value, value)
        out[name] = (value, low, high)
    return out


def _nearest(runs: pd.DataFrame, axes: list[str], known: dict[str, float]) -> dict[str, float]:
    """Per swept platform parameter of ``runs``, the swept value nearest the profile's own
    (``known``), else the lower median of the swept values."""
    chosen: dict[str, float] = {}
    for column in axes:
        if param_name(column) is None or column not in runs.columns:
            continue
        swept = np.sort(runs[column].dropna().astype(float).unique())
        if swept.size == 0:
            continue
        if column in known:
            chosen[column] = float(swept[np.argmin(np.abs(swept - known[column]))])
        else:
            chosen[column] = float(swept[(swept.size - 1) // 2])
    return chosen


def calibration_point(runs: pd.DataFrame, axes: list[str], manifests: dict[str, dict[str, Any]],
                      platform: str | None = None) -> dict[str, float | PerPlatform]:
    """For every swept platform parameter, the swept value that stands for "calibrated".

    The value nearest the profile's own value; without a manifest, the lower median of the swept
    values (stated as such wherever it is used). Each platform is calibrated from its own profile
    (``platform`` given: that one alone). With several platforms, a parameter counts as swept
    only if it varies among one platform's runs (a platform's own values are not a sweep), and
    where the platforms' calibrated values differ the entry is a :class:`PerPlatform`.
    """
    names = platforms_in(runs)
    if platform is not None:
        runs, names = runs[runs[PLATFORM] == platform], [platform]
    if len(names) <= 1:  # a renamed profile (--set platform.name=...) is still the manifests' one
        known = profile_values(manifests, names[0]) if names else {}
        return _nearest(runs, axes, known or profile_values(manifests))
    groups = {name: runs[runs[PLATFORM] == name] for name in names}
    per = {name: _nearest(rows, axes, profile_values(manifests, name)) for name, rows in groups.items()}
    chosen: dict[str, float | PerPlatform] = {}
    for column in sorted({c for values in per.values() for c in values}):
        if all(rows[column].nunique() <= 1 for rows in groups.values()):
            continue
        values = PerPlatform({name: per[name][column] for name in names if column in per[name]})
        chosen[column] = next(iter(values.values())) if len(set(values.values())) == 1 else values
    return chosen


def at_calibration(frame: pd.DataFrame, chosen: dict[str, float | PerPlatform],
                   keep: tuple[str, ...] = ()) -> pd.DataFrame:
    """Rows of ``frame`` at the calibrated value of every swept parameter except those in ``keep``
    (each row at its own platform's value where they differ)."""
    mask = pd.Series(True, index=frame.index)
    for column, value in chosen.items():
        if column in frame.columns and column not in keep:
            expected = frame[PLATFORM].map(value).astype(float) if isinstance(value, PerPlatform) else value
            mask &= frame[column].isna() | np.isclose(frame[column].astype(float), expected, rtol=1e-9, atol=0.0)
    return frame[mask]


def describe_point(chosen: dict[str, float | PerPlatform]) -> str:
    """``switch_one_way = 2.07 us, pvalidate = 500 ns`` for captions (``2 us on genoa, ...`` where
    the platforms' values differ)."""
    def shown(name: str, value: float | PerPlatform) -> str:
        if isinstance(value, PerPlatform):
            return ", ".join(f"{format_value(name, v)} on {platform}" for platform, v in value.items())
        return format_value(name, value)

    return ", ".join(f"{param_name(c)} = {shown(param_name(c), v)}" for c, v in sorted(chosen.items()))


def profile_params(profile: dict[str, Any]) -> dict[str, Any]:
    """``{parameter name: raw mapping}`` over every section (boot ones as ``boot.<name>``)."""
    params = {CLOCK: profile[CLOCK]} if isinstance(profile.get(CLOCK), dict) else {}
    for section in SECTIONS:
        entries = profile.get(section)
        if isinstance(entries, dict):
            prefix = "" if section == "params" else f"{section}."
            params.update({f"{prefix}{name}": raw for name, raw in entries.items()})
    return params


def _raw_text(value: Any) -> str:
    if isinstance(value, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_raw_text(v) for v in value) + "]"
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _params_from_columns(runs: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Provenance from the ``cfg.platform.*`` columns (no manifest): SI numbers rendered with units;
    a swept parameter's own value is unknown here and shown as a dash."""
    params: dict[str, dict[str, Any]] = {}
    if runs.empty:
        return params
    first = runs.iloc[0]
    for column in sorted(runs.columns):
        name = param_name(column)
        if name is None:
            continue
        stem = column.removesuffix(".value")
        declared = first.get(f"{stem}.range")
        params[name] = {
            "value": "—" if runs[column].nunique() > 1 else format_value(name, first[column]),
            "kind": first.get(f"{stem}.kind"),
            "source": first.get(f"{stem}.source"),
            "range": None if declared is None or _raw_text(declared) == "" else
            [format_value(name, bound) for bound in declared],
        }
    return params


def parameter_table(runs: pd.DataFrame, manifests: dict[str, dict[str, Any]],
                    platform: str | None = None) -> pd.DataFrame:
    """Every parameter of one platform: name, value, kind, source, declared range, and the range
    swept among that platform's runs.

    The platform is ``platform``, else the first of the results' platforms that a single-platform
    manifest holds (experiments in name order), else the first a manifest lists, else the first
    by name.
    Provenance comes from the manifests' profiles of it, or else from its runs' ``cfg.platform``
    columns; the swept range is read from its runs.
    """
    names = platforms_in(runs)
    if platform is None and names:
        listed = [*(str(p.get("name")) for p in _profiles(manifests, None)),
                  *(name for e in sorted(manifests) for name in find_profiles(manifests[e]))]
        platform = next((name for name in listed if name in names), names[0])
    if platform is not None and PLATFORM in runs.columns:
        runs = runs[runs[PLATFORM] == platform]
    profiles = _profiles(manifests, platform)
    params = profile_params(profiles[0]) if profiles else _params_from_columns(runs)
    rows = []
    for name in sorted(params):
        raw = params[name] if isinstance(params[name], dict) else {"value": params[name]}
        column = param_column(name)
        swept = runs[column].dropna().astype(float).unique() if column in runs.columns else []
        rows.append(
            {
                "parameter": name,
                "value": _raw_text(raw.get("value")),
                "kind": _raw_text(raw.get("kind")),
                "range": _raw_text(raw.get("range")),
                "swept": (
                    f"{format_value(name, min(swept))} – {format_value(name, max(swept))} ({len(swept)} values)"
                    if len(swept) > 1
                    else "not swept"
                ),
                "source": " ".join(_raw_text(raw.get("source")).split()),
            }
        )
    return pd.DataFrame(rows, columns=["parameter", "value", "kind", "range", "swept", "source"])
