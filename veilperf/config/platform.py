"""Platform profile: every hardware cost with its provenance."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from veilperf.config.boot import BootPlatform
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


class PlatformParams(Strict):
    """Mechanism costs. Units: ns, bytes, bytes/s (see docs/architecture.md)."""

    switch_one_way: DurationParam
    switch_exit: DurationParam
    switch_vmsa_swap: DurationParam
    switch_entry: DurationParam
    monitor_map_unmap: DurationParam
    monitor_dispatch: DurationParam
    channel_fixed: DurationParam
    memcpy_bandwidth: BandwidthParam
    calling_area_usable: SizeParam
    sha256_bandwidth: BandwidthParam
    rmpadjust: DurationParam
    pvalidate: DurationParam
    tlb_flush_global: DurationParam
    ghcb_roundtrip: DurationParam
    ipi_notify: DurationParam
    poll_latency: DurationParam


class PlatformProfile(Strict):
    name: str
    description: str = ""
    clock: FrequencyParam
    switch_model: Literal["one_way", "parts"] = "one_way"
    params: PlatformParams
    boot: BootPlatform
