"""Means with 95% Student-t confidence intervals, without SciPy."""

from __future__ import annotations

import math

# Two-sided 95% quantiles t(0.975, df), from standard tables (e.g. NIST/SEMATECH e-Handbook, 1.3.6.7.2).
_T975 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
    10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110,
    18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060,
    26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980,
}
_Z975 = 1.960


def t975(df: int) -> float:
    """Two-sided 95% Student-t quantile for ``df`` degrees of freedom.

    Exact table values up to 30 and at 40, 60, 120; in between, linear in 1/df (the usual table
    interpolation); beyond 120, interpolated towards the normal quantile.
    """
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df in _T975:
        return _T975[df]
    known = sorted(_T975)
    lower = max(k for k in known if k < df)
    upper = min((k for k in known if k > df), default=None)
    t_low, t_high = _T975[lower], (_T975[upper] if upper else _Z975)
    w_low, w_high, w = 1 / lower, (1 / upper if upper else 0.0), 1 / df
    return t_high + (t_low - t_high) * (w - w_high) / (w_low - w_high)


def ci_half_width(std: float, n: int) -> float:
    """Half width of the 95% t-interval of a mean over ``n`` values with sample std ``std``
    (0 for a single value: the interval degenerates to the mean)."""
    if n <= 1:
        return 0.0
    return t975(n - 1) * std / math.sqrt(n)
