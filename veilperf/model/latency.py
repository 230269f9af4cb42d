"""Latency statistics in bounded memory: exact for short runs, a t-digest beyond.

The mean is exact always. Percentiles are exact (numpy) while a run has at most ``EXACT_LIMIT``
samples; past that, samples are folded into a t-digest (the maintained ``fastdigest`` package)
in blocks of ``EXACT_LIMIT``, so memory does not grow with simulated time. The folding depends only
on the order of samples, so results stay reproducible by seed.
"""

from __future__ import annotations

import math

import numpy as np
from fastdigest import TDigest

EXACT_LIMIT = 1 << 16


class LatencyStats:
    """Per-iteration or per-request latencies (ns)."""

    __slots__ = ("buffer", "count", "total", "digest")

    def __init__(self) -> None:
        self.buffer: list[float] = []
        self.count = 0
        self.total = 0.0
        self.digest: TDigest | None = None

    def add(self, value: float) -> None:
        self.buffer.append(value)
        if len(self.buffer) >= EXACT_LIMIT:
            self._fold()

    def extend(self, values: list[float]) -> None:
        self.buffer.extend(values)
        if len(self.buffer) >= EXACT_LIMIT:
            self._fold()

    def _fold(self) -> None:
        block = np.asarray(self.buffer)
        self.count += len(block)
        self.total += float(block.sum())
        if self.digest is None:
            self.digest = TDigest.from_values(block)
        else:
            self.digest.batch_update(block)
        self.buffer = []

    def summary(self) -> tuple[float, float, float]:
        """(mean, p50, p99) in ns; NaN when there is no sample."""
        rest = np.asarray(self.buffer)
        count = self.count + len(rest)
        if not count:
            return math.nan, math.nan, math.nan
        mean = (self.total + float(rest.sum())) / count
        if self.digest is None:
            return mean, float(np.percentile(rest, 50)), float(np.percentile(rest, 99))
        digest = self.digest.copy()
        if len(rest):
            digest.batch_update(rest)
        return mean, float(digest.quantile(0.5)), float(digest.quantile(0.99))
