"""Compact, mean-preserving distributions and unit strings for generated workload YAML."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

MAX_GAP_SAMPLES = 32
MAX_KERNEL_SAMPLES = 16


def fmt_ns(ns: float) -> str:
    """A duration string with 6 significant digits in the largest unit that keeps it >= 1."""
    if ns < 1e-3:
        return "0ns"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.6g}{unit}"
    return f"{ns:.6g}ns"


def fmt_bytes(count: float) -> str:
    """A size string in bytes (``"4096B"``, ``"1234.57B"``)."""
    return f"{count:.6g}B"


def bin_means(values: Sequence[float] | np.ndarray, bins: int) -> list[float]:
    """Sort ``values`` and summarise each of ``bins`` near-equal-count groups by one sample.

    A group's sample is its sum divided by ``len(values) / bins`` (its mean, scaled by at most one
    value's share where group sizes differ by one), so the plain average of the samples equals the
    mean of ``values`` exactly and the shape, tail included, is kept at a fixed size."""
    ordered = np.sort(np.asarray(values, dtype=float))
    if len(ordered) <= bins:
        return ordered.tolist()
    edges = [round(i * len(ordered) / bins) for i in range(bins + 1)]
    per_bin = len(ordered) / bins
    return [math.fsum(ordered[a:b]) / per_bin for a, b in zip(edges, edges[1:])]


def time_spec(values: Sequence[float] | np.ndarray, bins: int) -> str | dict:
    """A fixed duration (their mean) when all values agree, else an empirical distribution of bin
    means. (Tested on the values: the bin means of equal values differ with the bins' sizes.)"""
    values = np.asarray(values, dtype=float)
    if values.max() - values.min() < 1e-3:
        return fmt_ns(math.fsum(values) / len(values))
    return {"dist": "empirical", "samples": [fmt_ns(v) for v in bin_means(values, bins)]}
