"""The sampling plan of a study: SALib's Morris trajectories or Sobol (Saltelli) sequence over the
assumption space, and the matching estimators.

Every parameter is sampled uniformly over its range, or uniformly in its logarithm when the range
spans more than 10x (:attr:`Assumption.log_scale`): SALib works on the unit problem (bounds or
log-bounds) and the plan maps back with ``exp``. The plan depends only on (method, samples, seed,
assumptions), so a rerun with the same seed gives the same points (and the sweep cache finds them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from veilperf.sensitivity.assumptions import Assumption

__all__ = ["METHODS", "MORRIS_LEVELS", "SamplingPlan", "make_plan", "analyze"]

METHODS = ("morris", "sobol")
MORRIS_LEVELS = 4  # grid levels of a Morris trajectory (SALib's default, p = 4)
DEFAULT_SAMPLES = {"morris": 10, "sobol": 64}  # trajectories r / base samples N


@dataclass(frozen=True)
class SamplingPlan:
    """The points of a study: ``values[i, j]`` is parameter ``j`` of sample ``i`` in SI units."""

    method: str
    samples: int  # Morris trajectories, or Sobol base samples N
    seed: int
    assumptions: tuple[Assumption, ...]
    unit_points: np.ndarray  # SALib's sample in the problem space (log for log-scaled parameters)
    values: np.ndarray

    @property
    def problem(self) -> dict:
        return _problem(self.assumptions)

    def texts(self) -> list[list[str]]:
        """Per parameter, the sampled values written with units (sweep zip lists)."""
        return [[a.text(v) for v in self.values[:, j]] for j, a in enumerate(self.assumptions)]

    def table(self) -> pd.DataFrame:
        """One row per sample: ``sample`` then one column per parameter label (SI units)."""
        frame = pd.DataFrame(self.values, columns=[a.label for a in self.assumptions])
        frame.insert(0, "sample", np.arange(len(frame)))
        return frame


def _problem(assumptions: tuple[Assumption, ...]) -> dict:
    bounds = [[math.log(a.low), math.log(a.high)] if a.log_scale else [a.low, a.high] for a in assumptions]
    return {"num_vars": len(assumptions), "names": [a.label for a in assumptions], "bounds": bounds}


def make_plan(assumptions: list[Assumption], method: str, samples: int, seed: int) -> SamplingPlan:
    """SALib's sample for ``method`` (``morris``: ``samples`` trajectories of k+1 points;
    ``sobol``: ``samples`` x (k+2) points, ``samples`` a power of two) mapped to SI values."""
    from SALib.sample import morris, sobol

    problem = _problem(tuple(assumptions))
    if method == "morris":
        unit = morris.sample(problem, samples, num_levels=MORRIS_LEVELS, seed=seed)
    elif method == "sobol":
        unit = sobol.sample(problem, samples, calc_second_order=False, seed=seed)
    else:
        raise ValueError(f"unknown method {method!r}")
    values = unit.copy()
    for j, a in enumerate(assumptions):
        if a.log_scale:
            values[:, j] = np.exp(unit[:, j])
        if not a.suffix:  # whole numbers (counts)
            values[:, j] = np.round(values[:, j])
    return SamplingPlan(method, samples, seed, tuple(assumptions), unit, values)


def analyze(plan: SamplingPlan, outputs: np.ndarray) -> pd.DataFrame:
    """Indices of one output vector (one value per sample, in plan order): one row per parameter.

    Morris: ``mu``, ``mu_star``, ``mu_star_conf``, ``sigma`` (in the output's units);
    Sobol: ``S1``, ``S1_conf``, ``ST``, ``ST_conf``. ``rank`` = 1 for the most influential
    parameter (by mu* or ST)."""
    from SALib.analyze import morris, sobol

    y = np.asarray(outputs, dtype=float)
    if plan.method == "morris":
        si = morris.analyze(plan.problem, plan.unit_points, y, num_levels=MORRIS_LEVELS, seed=plan.seed)
        frame = pd.DataFrame({key: np.asarray(si[key], dtype=float)
                              for key in ("mu", "mu_star", "mu_star_conf", "sigma")})
        influence = frame["mu_star"]
    else:
        si = sobol.analyze(plan.problem, y, calc_second_order=False, seed=plan.seed)
        frame = pd.DataFrame({key: np.asarray(si[key], dtype=float) for key in ("S1", "S1_conf", "ST", "ST_conf")})
        influence = frame["ST"]
    frame.insert(0, "param", [a.label for a in plan.assumptions])
    frame["rank"] = influence.rank(ascending=False, method="first").astype(int)
    return frame
