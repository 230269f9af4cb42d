"""Random durations drawn in blocks from independent, reproducible numpy streams.

Each distribution gets its own stream keyed by a stable tuple (e.g. thread index, step index),
so a baseline and a treatment run with the same seed draw the same values (common random
numbers) however the two runs interleave their events.
"""

from __future__ import annotations

import math
from typing import Callable, Generic, TypeVar

import numpy as np

from veilperf.model.inputs import Dist, TimeSpec

BLOCK = 4096  # draws per refill: amortises numpy's per-call cost on the hot path
T = TypeVar("T", int, float)


def stream(seed: int, *key: int) -> np.random.Generator:
    """An independent generator for ``key`` under the run's ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=key))


def _block_drawer(dist: Dist, rng: np.random.Generator) -> Callable[[], np.ndarray]:
    if dist.kind == "exponential":
        return lambda: rng.exponential(dist.mean, BLOCK)
    if dist.kind == "lognormal":
        # mean m and coefficient of variation cv -> underlying normal (mu, sigma)
        sigma2 = math.log1p(dist.cv**2)
        mu = math.log(dist.mean) - sigma2 / 2 if dist.mean > 0 else -math.inf
        return lambda: rng.lognormal(mu, math.sqrt(sigma2), BLOCK) if dist.mean > 0 else np.zeros(BLOCK)
    if dist.kind == "uniform":
        return lambda: rng.uniform(dist.low, dist.high, BLOCK)
    if dist.kind == "empirical":
        samples = np.asarray(dist.samples, dtype=float)
        return lambda: rng.choice(samples, BLOCK)
    raise ValueError(f"not a random distribution: {dist.kind}")


class BlockStream(Generic[T]):
    """Values from a block-drawing function, one at a time (``stream()``) or ``take(n)`` at once;
    both consume the same sequence, so scalar and vectorised code paths draw identical values.
    ``T`` is the Python type of the values (float durations, int indices)."""

    __slots__ = ("_draw_block", "_block", "_buffer", "_next")

    def __init__(self, draw_block: Callable[[], np.ndarray]) -> None:
        self._draw_block = draw_block
        self._block: np.ndarray = np.empty(0)
        self._buffer: list[T] = []
        self._next = 0

    def _refill(self) -> None:
        self._block = self._draw_block()
        self._buffer = self._block.tolist()
        self._next = 0

    def __call__(self) -> T:
        if self._next >= len(self._buffer):
            self._refill()
        value = self._buffer[self._next]
        self._next += 1
        return value

    def take(self, n: int) -> np.ndarray:
        """The next ``n`` values as an array."""
        parts = []
        while n:
            if self._next >= len(self._buffer):
                self._refill()
            part = self._block[self._next:self._next + n]
            self._next += len(part)
            n -= len(part)
            parts.append(part)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


class Sampler(BlockStream[float]):
    """Draws durations (ns) from a distribution, in blocks from its own stream."""

    __slots__ = ()

    def __init__(self, dist: Dist, rng: np.random.Generator) -> None:
        super().__init__(_block_drawer(dist, rng))


TimeSource = float | Sampler
"""A constant duration in ns, or a sampler returning one per call."""


def time_source(spec: TimeSpec, seed: int, *key: int) -> TimeSource:
    """Compile a workload time spec: constants stay floats (no draw on the hot path)."""
    if isinstance(spec, Dist):
        return Sampler(spec, stream(seed, *key))
    return float(spec)


def draw(source: TimeSource) -> float:
    """The next duration from a compiled time source."""
    return source if isinstance(source, float) else source()
