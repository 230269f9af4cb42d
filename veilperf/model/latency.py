"""Latency statistics in bounded memory: exact for short runs, a t-digest beyond.

The mean is exact always. Percentiles are exact (numpy) while a run has at most ``EXACT_LIMIT``
samples; past that, samples are folded into a t-digest (the maintained ``fastdigest`` package)
in blocks of exactly ``EXACT_LIMIT`` samples, so memory does not grow with simulated time. The
blocks depend only on the order of samples (not on how they were added), so results stay
reproducible by seed and equal between the aggregated and event-per-op paths.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import numpy as np
from fastdigest import TDigest

EXACT_LIMIT = 1 << 16


class LatencyStats:
    """Per-iteration or per-request latencies (ns), added one at a time or as arrays."""

    __slots__ = ("_scalars", "_chunks", "_buffered", "count", "total", "digest")

    def __init__(self) -> None:
        self._scalars: list[float] = []
        self._chunks: list[np.ndarray] = []
        self._buffered = 0  # samples in _chunks
        self.count = 0  # samples folded into the digest
        self.total = 0.0  # their sum
        self.digest: TDigest | None = None

    def add(self, value: float) -> None:
        scalars = self._scalars
        scalars.append(value)
        if len(scalars) >= 4096:
            self._flush_scalars()

    def extend(self, values: np.ndarray) -> None:
        self._flush_scalars()
        self._chunks.append(values)
        self._buffered += len(values)
        if self._buffered >= EXACT_LIMIT:
            self._fold()

    def _flush_scalars(self) -> None:
        if self._scalars:
            self._chunks.append(np.asarray(self._scalars))
            self._buffered += len(self._scalars)
            self._scalars = []
            if self._buffered >= EXACT_LIMIT:
                self._fold()

    def _fold(self) -> None:
        values = np.concatenate(self._chunks)
        whole = len(values) // EXACT_LIMIT * EXACT_LIMIT
        for start in range(0, whole, EXACT_LIMIT):
            block = values[start:start + EXACT_LIMIT]
            self.count += len(block)
            self.total += float(block.sum())
            if self.digest is None:
                self.digest = TDigest.from_values(_values(block))
            else:
                self.digest.batch_update(_values(block))
        rest = values[whole:]
        self._chunks = [rest] if len(rest) else []
        self._buffered = len(rest)

    def summary(self) -> tuple[float, float, float]:
        """(mean, p50, p99) in ns; NaN when there is no sample."""
        self._flush_scalars()
        rest = np.concatenate(self._chunks) if self._chunks else np.empty(0)
        count = self.count + len(rest)
        if not count:
            return math.nan, math.nan, math.nan
        mean = (self.total + float(rest.sum())) / count
        if self.digest is None:
            return mean, float(np.percentile(rest, 50)), float(np.percentile(rest, 99))
        digest = self.digest.copy()
        if len(rest):
            digest.batch_update(_values(rest))
        return mean, float(digest.quantile(0.5)), float(digest.quantile(0.99))


def _values(array: np.ndarray) -> Sequence[float]:
    """``array`` for fastdigest, which reads numpy arrays directly though its stub asks for a
    ``Sequence[float]`` (no copy to a list)."""
    return cast("Sequence[float]", array)
