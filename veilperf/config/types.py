"""Pydantic field types for quantities with units, and the strict base model.

Durations may be written in ``cycles``; they are converted with the platform clock, which the
loader passes as validation context ``{"clock_hz": ...}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationInfo

from veilperf.units import parse_bandwidth, parse_duration, parse_rate, parse_size


class Strict(BaseModel):
    """Base of every schema model: unknown keys are errors, models are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _duration(value: Any, info: ValidationInfo) -> float:
    clock = (info.context or {}).get("clock_hz")
    return parse_duration(value, clock_hz=clock)


Duration = Annotated[float, BeforeValidator(_duration)]
"""Nanoseconds, written with a time unit (``ns``, ``us``, ``ms``, ``s``, ``cycles``)."""

Size = Annotated[float, BeforeValidator(parse_size)]
"""Bytes, written with a size unit (``B``, ``KiB``, ``MB`` ...)."""

Bandwidth = Annotated[float, BeforeValidator(parse_bandwidth)]
"""Bytes per second, written like ``18GB/s``."""

Rate = Annotated[float, BeforeValidator(parse_rate)]
"""Hertz, written like ``100/s`` or ``2.8GHz``."""
