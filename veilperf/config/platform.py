"""Platform profile: every hardware cost with its provenance."""

from __future__ import annotations

from typing import Literal

from veilperf.config.boot import BootPlatform
from veilperf.config.params import (  # noqa: F401  (re-exported for existing importers)
    BandwidthParam,
    DurationParam,
    FrequencyParam,
    Kind,
    SizeParam,
)
from veilperf.config.types import Strict


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
    pt_update: DurationParam  # one entry of an enclave's private page tables (page_tables what-if)
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
