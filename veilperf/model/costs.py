"""Mechanism costs of a platform, resolved to model units (ns, bytes, bytes per ns)."""

from __future__ import annotations

import math
from dataclasses import dataclass

PAGE_SIZE = 4096  # bytes; SEV-SNP RMP granularity used throughout Veil


@dataclass(frozen=True, slots=True)
class PlatformCosts:
    """Per-operation costs in ns; bandwidths in bytes per ns (numerically GB/s). Built by the run
    layer (``veilperf.build``); ``switch_one_way`` is already the one-way figure or the sum of its parts."""

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
    pt_update: float
    ghcb_roundtrip: float
    ipi_notify: float
    poll_latency: float

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
