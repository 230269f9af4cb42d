"""Parameter types with provenance: a value with units, where it comes from, and a sweep range.

Shared by the platform profile (``params:``) and its boot section (``boot:``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from veilperf.config.types import Bandwidth, Duration, Rate, Size, Strict

Kind = Literal["measured", "derived", "assumption", "prototype"]


class _Param(Strict):
    kind: Kind
    source: str
    note: str | None = None

    @model_validator(mode="after")
    def _assumptions_have_ranges(self):
        if self.kind == "assumption" and getattr(self, "range", None) is None:
            raise ValueError("an assumption needs a range: [low, high] that a sweep can cover")
        rng = getattr(self, "range", None)
        if rng is not None:
            low, high = rng
            if low > high:
                raise ValueError(f"range low {low} is above high {high}")
        return self


class DurationParam(_Param):
    value: Duration
    range: tuple[Duration, Duration] | None = None


class SizeParam(_Param):
    value: Size
    range: tuple[Size, Size] | None = None


class BandwidthParam(_Param):
    value: Bandwidth
    range: tuple[Bandwidth, Bandwidth] | None = None


class FrequencyParam(_Param):
    value: Rate
    range: tuple[Rate, Rate] | None = None


class CountParam(_Param):
    """A whole number of things (pages per call, instructions per operation)."""

    value: int = Field(ge=1)
    range: tuple[int, int] | None = None
