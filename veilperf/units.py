"""Parse quantities with explicit units: durations, sizes, bandwidths, rates.

Every function takes the text as written in YAML (``"2.5us"``, ``"4GiB"``, ``"18GB/s"``,
``"100/s"``) and returns an SI value: durations in nanoseconds, sizes in bytes, bandwidths in
bytes per second, rates and frequencies in hertz. A bare number, an unknown unit or a negative
duration raises :class:`UnitError`.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from typing import Callable, TypeVar

__all__ = [
    "UnitError",
    "parse_duration",
    "parse_size",
    "parse_bandwidth",
    "parse_rate",
    "format_duration",
    "format_size",
]


class UnitError(ValueError):
    """A quantity is missing its unit, has an unknown unit, or an impossible value."""


_NUMBER_UNIT = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\s\d].*?)?\s*$")

_DURATION_NS = {"ns": 1.0, "us": 1e3, "µs": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9}
_SIZE_B = {
    "B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4,
    "KB": 1000, "kB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4,
}
_RATE_HZ = {"Hz": 1.0, "kHz": 1e3, "MHz": 1e6, "GHz": 1e9, "/s": 1.0, "/ms": 1e3, "/us": 1e6, "/µs": 1e6}
_CYCLES = ("cycles", "cycle")


def _split(text: object, what: str, known: Mapping[str, object]) -> tuple[float, str]:
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise UnitError(f"expected a {what} with a unit, got {type(text).__name__} {text!r}")
    if isinstance(text, (int, float)):
        raise UnitError(f"bare number {text!r}: a {what} needs a unit ({_examples(known)})")
    match = _NUMBER_UNIT.match(text)
    if not match:
        raise UnitError(f"cannot read {text!r} as a {what} ({_examples(known)})")
    number, unit = match.group(1), match.group(2)
    if not unit:
        raise UnitError(f"bare number {text!r}: a {what} needs a unit ({_examples(known)})")
    value = float(number)
    if not math.isfinite(value):
        raise UnitError(f"{text!r} is not a finite {what}")
    return value, unit


def _examples(known: Mapping[str, object]) -> str:
    return "one of " + ", ".join(known)


F = TypeVar("F", bound=Callable[..., float])


def _cached_for_text(parse: F) -> F:
    """Memoise a parser for string input: sweeps validate the same unit strings thousands of times."""
    cached = functools.lru_cache(maxsize=8192)(parse)

    @functools.wraps(parse)
    def wrapper(text: object, **kwargs: object) -> float:
        if isinstance(text, str):
            return cached(text, **kwargs)
        return parse(text, **kwargs)

    return wrapper  # type: ignore[return-value]  # same arguments as parse (lru_cache wants Hashable: no ParamSpec)


@_cached_for_text
def parse_duration(text: object, *, clock_hz: float | None = None) -> float:
    """Return a duration in nanoseconds; ``cycles`` need the platform clock in Hz."""
    units = {**_DURATION_NS, "cycles": None}
    value, unit = _split(text, "duration", units)
    if unit in _CYCLES:
        if not clock_hz:
            raise UnitError(f"{text!r} is in cycles but no platform clock is known here")
        ns = value / clock_hz * 1e9
    elif unit in _DURATION_NS:
        ns = value * _DURATION_NS[unit]
    else:
        raise UnitError(f"unknown time unit {unit!r} in {text!r} ({_examples(units)})")
    if ns < 0:
        raise UnitError(f"negative duration {text!r}")
    return ns


def _scaled(text: object, what: str, scales: Mapping[str, float]) -> float:
    value, unit = _split(text, what, scales)
    if unit not in scales:
        raise UnitError(f"unknown {what} unit {unit!r} in {text!r} ({_examples(scales)})")
    if value < 0:
        raise UnitError(f"negative {what} {text!r}")
    return value * scales[unit]


@_cached_for_text
def parse_size(text: object) -> float:
    """Return a size in bytes."""
    return _scaled(text, "size", _SIZE_B)


@_cached_for_text
def parse_bandwidth(text: object) -> float:
    """Return a bandwidth in bytes per second."""
    known = {f"{u}/s": None for u in _SIZE_B}
    value, unit = _split(text, "bandwidth", known)
    size_unit, _, per = unit.partition("/")
    if per != "s" or size_unit not in _SIZE_B:
        raise UnitError(f"unknown bandwidth unit {unit!r} in {text!r} (e.g. 18GB/s, 512MiB/s)")
    if value <= 0:
        raise UnitError(f"bandwidth must be positive, got {text!r}")
    return value * _SIZE_B[size_unit]


@_cached_for_text
def parse_rate(text: object) -> float:
    """Return a rate or frequency in hertz (events per second)."""
    return _scaled(text, "rate", _RATE_HZ)


def format_duration(ns: float) -> str:
    """Render nanoseconds with a readable unit (``1.50 ms``)."""
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if abs(ns) >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def format_size(nbytes: float) -> str:
    """Render bytes with a binary unit when exact (``16MiB``), else bytes (``4088B``)."""
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if nbytes >= scale and float(nbytes / scale).is_integer():
            return f"{int(nbytes // scale)}{unit}"
    return f"{nbytes:g}B"
