"""Mechanism costs of a platform, resolved to model units (ns, bytes, bytes per ns)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from veilperf.config.platform import PlatformProfile

PAGE_SIZE = 4096  # bytes; SEV-SNP RMP granularity used throughout Veil


@dataclass(frozen=True, slots=True)
class PlatformCosts:
    """Per-event costs in ns; bandwidths in bytes per ns (numerically GB/s)."""

    switch_one_way: float
    monitor_map_unmap: float
    monitor_dispatch: float
    channel_fixed: float
    copy_bytes_per_ns: float
    calling_area_bytes: float
    sha256_bytes_per_ns: float
    rmpadjust: float
    pvalidate: float
    tlb_flush_global: float
    ghcb_roundtrip: float
    ipi_notify: float
    poll_latency: float

    @classmethod
    def from_profile(cls, profile: PlatformProfile) -> "PlatformCosts":
        """Resolve a validated platform profile; the switch is one figure or the sum of its parts."""
        p = profile.params
        if profile.switch_model == "parts":
            switch = p.switch_exit.value + p.switch_vmsa_swap.value + p.switch_entry.value
        else:
            switch = p.switch_one_way.value
        return cls(
            switch_one_way=switch,
            monitor_map_unmap=p.monitor_map_unmap.value,
            monitor_dispatch=p.monitor_dispatch.value,
            channel_fixed=p.channel_fixed.value,
            copy_bytes_per_ns=p.memcpy_bandwidth.value / 1e9,
            calling_area_bytes=p.calling_area_usable.value,
            sha256_bytes_per_ns=p.sha256_bandwidth.value / 1e9,
            rmpadjust=p.rmpadjust.value,
            pvalidate=p.pvalidate.value,
            tlb_flush_global=p.tlb_flush_global.value,
            ghcb_roundtrip=p.ghcb_roundtrip.value,
            ipi_notify=p.ipi_notify.value,
            poll_latency=p.poll_latency.value,
        )

    def copy_ns(self, nbytes: float) -> float:
        """One copy through shared memory: a fixed cost plus bytes over memcpy bandwidth."""
        return self.channel_fixed + nbytes / self.copy_bytes_per_ns

    def calling_area_rounds(self, nbytes: float) -> int:
        """Round trips needed to move ``nbytes`` through the calling area (at least one)."""
        return max(1, math.ceil(nbytes / self.calling_area_bytes))

    def sha256_ns(self, nbytes: float) -> float:
        """Hashing ``nbytes`` with SHA-256 at the calibrated guest throughput."""
        return nbytes / self.sha256_bytes_per_ns

    def monitor_overhead_ns(self) -> float:
        """The callee's fixed work per round trip: map/unmap the caller's area and VMSA, dispatch."""
        return self.monitor_map_unmap + self.monitor_dispatch
