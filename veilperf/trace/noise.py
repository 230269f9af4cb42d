"""How noisy a program's native run times are, and how many runs would pin their median down.

A recorded workload's baseline is the median of its kept native runs; on a busy machine runs of
one program spread widely (257 ms and 682 ms for one script on two days). Runs are *noisy* when
one lies more than ``NOISE_LIMIT`` (15%) below or above their median.

More runs do not narrow the runs' spread, but they narrow the uncertainty of their median. With
``s`` the runs' sample standard deviation and ``m`` their median, the median's 95% half-width
relative to it is ``1.96 x 1.2533 x s / (m sqrt(n))`` (1.2533 = sqrt(pi/2): the standard error of
the median of normal samples over that of their mean); the runs needed for it to be within 15%
are ``n = ceil((1.96 x 1.2533 x s / (0.15 x m))^2)``. A stated formula, not a guarantee: run
times on a busy machine are skewed, so a quieter machine is the better remedy.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING

from veilperf.units import format_duration

if TYPE_CHECKING:
    from veilperf.config.workload import NativeTime

NOISE_LIMIT = 0.15
"""Runs further than this share below or above their median are noisy."""
Z95 = 1.96
MEDIAN_SE = math.sqrt(math.pi / 2)
"""Standard error of the median over that of the mean, for normally distributed samples."""


@dataclass(frozen=True)
class Spread:
    """Native wall times (ns): median, lowest, highest, sample standard deviation, number of runs."""

    median: float
    low: float
    high: float
    stdev: float | None = None
    runs: int | None = None

    @classmethod
    def of(cls, walls: list[float]) -> "Spread":
        """The spread of the kept runs ``walls``."""
        stdev = statistics.stdev(walls) if len(walls) > 1 else None
        return cls(statistics.median(walls), min(walls), max(walls), stdev, len(walls))

    @classmethod
    def of_native(cls, native: "NativeTime") -> "Spread":
        """The spread a workload's stored native time states (median or estimate, range, runs)."""
        return cls(native.wall, native.low, native.high, native.stdev, native.runs)

    @property
    def below(self) -> float:
        """How far the fastest run lies below the median, as a share of it."""
        return (self.median - self.low) / self.median if self.median > 0 else 0.0

    @property
    def above(self) -> float:
        """How far the slowest run lies above the median, as a share of it."""
        return (self.high - self.median) / self.median if self.median > 0 else 0.0

    @property
    def noisy(self) -> bool:
        return max(self.below, self.above) > NOISE_LIMIT

    def median_uncertainty(self) -> float | None:
        """The median's 95% half-width as a share of it (None without a standard deviation)."""
        if self.stdev is None or not self.runs or self.median <= 0:
            return None
        return Z95 * MEDIAN_SE * self.stdev / (self.median * math.sqrt(self.runs))

    def runs_needed(self) -> int | None:
        """Runs for the median's 95% half-width to be within ``NOISE_LIMIT`` (module docstring)."""
        if self.stdev is None or self.median <= 0:
            return None
        return max(2, math.ceil((Z95 * MEDIAN_SE * self.stdev / (NOISE_LIMIT * self.median)) ** 2))

    def range_text(self) -> str:
        """``-12%/+20%``: the fastest and slowest runs around the median."""
        return f"-{self.below:.0%}/+{self.above:.0%}"


def noise_warning(spread: Spread) -> str | None:
    """One warning line when the runs are noisy (or too few to tell)."""
    fmt = format_duration
    if spread.runs == 1:
        return "1 kept native run: its noise is unknown (use --runs 3 or more)"
    if not spread.noisy:
        return None
    uncertainty, needed = spread.median_uncertainty(), spread.runs_needed()
    text = (f"the native runs spread {spread.range_text()} around their median {fmt(spread.median)}, "
            f"beyond +/-{NOISE_LIMIT:.0%} (a busy machine?); the median of {spread.runs} runs is known to "
            f"+/-{uncertainty:.0%} (95%)")
    if needed <= spread.runs:
        return text + f", within +/-{NOISE_LIMIT:.0%}; a quieter machine would still tighten the runs"
    return (text + f"; about {needed} runs (--runs {needed + 1} with the warm-up) would bring that within "
            f"+/-{NOISE_LIMIT:.0%}: n = (1.96 x 1.2533 x s / (0.15 x median))^2 with s = {fmt(spread.stdev)}, "
            "the runs' standard deviation (veilperf.trace.noise); or record on a quieter machine")
