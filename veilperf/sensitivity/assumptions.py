"""The assumption space of a sensitivity study: which platform parameters vary, over which range.

An *assumption* is a platform parameter (``platform.params.<name>`` or ``platform.boot.<name>``)
with a ``range: [low, high]`` in the experiment's platform file, or one the user names on the
command line (``--params NAME`` or ``--params NAME=LOW:HIGH``). Values are kept in the config
layer's SI units (ns, bytes, bytes/s, Hz) and written back with a unit for sweep points.

Which parameters a study varies by default: those the experiment's model reads. A workload
experiment never reads the platform's ``boot`` section, and the switch is either one figure
(``switch_model: one_way``) or the sum of its three parts (``parts``): the unused ones would
have zero effect by construction and only cost runs. Naming a parameter with ``--params`` adds it
whatever the default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from veilperf.config.loader import Experiment, platform_clock_hz
from veilperf.config.boot import BootPlatform
from veilperf.config.params import BandwidthParam, CountParam, DurationParam, FrequencyParam, SizeParam
from veilperf.config.platform import PlatformParams
from veilperf.errors import ConfigError
from veilperf.model.charges import SWITCH_MODELS
from veilperf.units import UnitError, parse_bandwidth, parse_duration, parse_rate, parse_size

__all__ = ["Assumption", "assumptions_of", "LOG_SPAN"]

LOG_SPAN = 10.0
"""A range whose high end exceeds ``LOG_SPAN`` x its low end is sampled log-uniformly."""

SECTIONS = {"params": PlatformParams, "boot": BootPlatform}


@dataclass(frozen=True)
class _Unit:
    parse: Callable[..., float]
    suffix: str  # unit the sampled SI value is written with


def _parse_count(value: object, **_: object) -> float:
    """A whole number, as YAML gives it or as text (``--params monitor_call_pages=64:510``)."""
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit():
        raise UnitError(f"expected a whole number, got {value!r}")
    return float(text)


_UNITS = {
    DurationParam: _Unit(parse_duration, "ns"),
    SizeParam: _Unit(parse_size, "B"),
    BandwidthParam: _Unit(parse_bandwidth, "B/s"),
    FrequencyParam: _Unit(parse_rate, "Hz"),
    CountParam: _Unit(_parse_count, ""),
}


@dataclass(frozen=True)
class Assumption:
    """One varied parameter: point path, range and nominal value in SI units, how it is sampled."""

    section: str  # "params" | "boot"
    name: str
    low: float
    high: float
    nominal: float
    nominal_text: str  # the platform file's value as written (pinned in baselines)
    suffix: str  # SI unit written after sampled values ("" for counts)
    source: str  # "platform" (its range) or "--params" (named by the user)

    @property
    def path(self) -> str:
        """The sweep / ``--set`` key of this parameter."""
        return f"platform.{self.section}.{self.name}"

    @property
    def label(self) -> str:
        """Short name for tables and figures: ``pvalidate``, ``boot.page_map_unmap``."""
        return self.name if self.section == "params" else f"boot.{self.name}"

    @property
    def log_scale(self) -> bool:
        """Sampled log-uniformly: the range spans more than :data:`LOG_SPAN` x."""
        return self.low > 0 and self.high / self.low > LOG_SPAN

    def text(self, value: float) -> str | int:
        """A sampled SI value written with its unit, exactly (shortest round-trip repr); counts as ints."""
        if not self.suffix:
            return int(round(value))
        return f"{float(value)!r}{self.suffix}"


def _default_names(exp: Experiment, platform: dict) -> list[tuple[str, str]]:
    sections = ["params", "boot"] if exp.kind == "boot" else ["params"]
    model = platform.get("switch_model", "one_way")
    unused = {name for other, names in SWITCH_MODELS.items() if other != model for name in names}
    return [(section, name) for section in sections for name, node in (platform.get(section) or {}).items()
            if isinstance(node, dict) and node.get("range") is not None and name not in unused]


def _parse_request(text: str) -> tuple[str, str, str | None]:
    """``NAME``, ``params.NAME``, ``platform.boot.NAME``, each optionally ``=LOW:HIGH``."""
    name, _, bounds = text.partition("=")
    parts = name.strip().removeprefix("platform.").split(".")
    if len(parts) == 1:
        section = "boot" if parts[0] in BootPlatform.model_fields and parts[0] not in PlatformParams.model_fields \
            else "params"
        return section, parts[0], bounds or None
    if len(parts) == 2 and parts[0] in SECTIONS:
        return parts[0], parts[1], bounds or None
    return "", name, bounds or None


def _build(exp: Experiment, platform: dict, section: str, name: str, bounds: str | None,
           source: str) -> Assumption:
    file, key = exp.platform_file, f"{section}.{name}"
    model = SECTIONS.get(section)
    if model is None or name not in model.model_fields:
        known = ", ".join(sorted(PlatformParams.model_fields) + [f"boot.{n}" for n in BootPlatform.model_fields])
        raise ConfigError("--params", name, f"no platform parameter {name!r} (known: {known})")
    unit = _UNITS[model.model_fields[name].annotation]
    node = (platform.get(section) or {}).get(name)
    if not isinstance(node, dict) or "value" not in node:
        raise ConfigError(file, key, "missing: a studied parameter needs a value")
    try:
        clock = platform_clock_hz(platform)
        kwargs = {"clock_hz": clock} if unit.parse is parse_duration else {}
        nominal = unit.parse(node["value"], **kwargs)
        if bounds is not None:
            low_text, sep, high_text = bounds.partition(":")
            if not sep:
                raise ConfigError("--params", name, f"expected {name}=LOW:HIGH with units, got {bounds!r}")
            raw_range = [low_text.strip(), high_text.strip()]
            file, key = "--params", name
        else:
            raw_range = node.get("range")
        if raw_range is None:
            raise ConfigError(file, key, "has no range: give one with --params NAME=LOW:HIGH")
        low, high = (unit.parse(v, **kwargs) for v in raw_range)
    except UnitError as exc:
        raise ConfigError(file, key, str(exc)) from None
    if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
        raise ConfigError(file, f"{key}.range" if file != "--params" else key,
                          f"empty range [{raw_range[0]}, {raw_range[1]}]: a studied parameter needs low < high")
    return Assumption(section, name, low, high, nominal, str(node["value"]), unit.suffix, source)


def assumptions_of(exp: Experiment, requested: Sequence[str] = (), *, only: bool = False) -> list[Assumption]:
    """The parameters a study of ``exp`` varies, in platform-file order then requested order.

    ``requested`` names more (or re-ranges) parameters; with ``only`` the study varies just those.
    Raises ConfigError (file and key, or ``--params`` and the name) for an unknown name, a missing
    or empty range, and when nothing is left to vary."""
    platform = exp.base["platform"]
    chosen: dict[tuple[str, str], Assumption] = {}
    if not only:
        for section, name in _default_names(exp, platform):
            chosen[(section, name)] = _build(exp, platform, section, name, None, "platform")
    for text in requested:
        section, name, bounds = _parse_request(text)
        chosen[(section, name)] = _build(exp, platform, section, name, bounds, "--params")
    if not chosen:
        where = Path(exp.platform_file)
        raise ConfigError(where, "params", "no parameter has a range: the experiment has no assumptions to "
                                           "study (add range: [low, high] or name one with --params NAME=LOW:HIGH)")
    return list(chosen.values())
