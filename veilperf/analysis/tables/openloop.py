"""Open-loop servers, read from their records: saturated points without numbers, and a request's
latency split into the VCPU time it held and its wait for a VCPU.

Whether a point is saturated is the record's ``saturated`` (``offered_load`` >= 1: arrival rate x
VCPU time per request / request VCPUs, ``model.metrics``), carried into the overhead table by
``tables.pairing``. A server sets up (enclave, replicas) before its first arrival, so that set-up
(``oneoff_ns``) is in no request's time: the VCPU time of the requests is ``sum(vcpu<i>.held_ns) -
oneoff_ns``. Each request waits for a VCPU from its arrival, then holds one until it completes
(``model/drivers.py``), so its mean latency = mean VCPU time per request + mean wait.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from veilperf.analysis.tables.columns import ARRIVAL, LOOP, OFFERED_LOAD, ONEOFF, SATURATED
from veilperf.analysis.tables.pairing import PAIR_KEY, POINT_KEY

NO_NUMBER = ("overhead_pct", "ci_low", "ci_high", "steady_pct", "steady_ci_low", "steady_ci_high", "oneoff_share",
             "increment_ns", "increment_ci_low", "increment_ci_high")
"""Overhead-table columns a saturated point has no value for."""
_HELD = re.compile(r"^vcpu\d+\.held_ns$")


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name].astype(float) if name in frame.columns else pd.Series(np.nan, index=frame.index)


def is_open(frame: pd.DataFrame) -> pd.Series:
    """Rows of open-loop runs, or overhead points (measured by mean latency: open loop only)."""
    if LOOP in frame.columns:
        return frame[LOOP] == "open"
    if "basis" in frame.columns:
        return frame["basis"] == "latency"
    return pd.Series(False, index=frame.index)


def without_numbers(over: pd.DataFrame) -> pd.DataFrame:
    """``over`` with no overhead, interval or increment (NaN) for its saturated points: a saturated
    point is a state, not a number (its latency measures how long the run lasted)."""
    hot = over[SATURATED].fillna(False).astype(bool) if SATURATED in over.columns else pd.Series(False, index=over.index)
    if not hot.any():
        return over
    over = over.copy()
    over.loc[hot, [c for c in NO_NUMBER if c in over.columns]] = np.nan
    return over


def capacity(over: pd.DataFrame) -> pd.Series:
    """Per open-loop overhead row, the requests per second its VCPUs could serve with Veil: the
    offered load over the record's ``offered_load`` (mean over replications; NaN without it)."""
    return _column(over, ARRIVAL) / _column(over, OFFERED_LOAD)


def request_time(runs: pd.DataFrame) -> pd.DataFrame:
    """Per open-loop run: ``held_ns`` (mean VCPU time per request) and ``wait_ns`` (mean wait for a
    VCPU per request = mean latency - held), beside the run's identity."""
    runs = runs[is_open(runs)]
    held = runs[[c for c in runs.columns if _HELD.match(c)]].astype(float).sum(axis=1, min_count=1)
    per_request = (held - _column(runs, ONEOFF).fillna(0.0)) / _column(runs, "completed")
    return runs[[*dict.fromkeys([*PAIR_KEY, *POINT_KEY, "role"])]].assign(
        held_ns=per_request, wait_ns=_column(runs, "latency_mean_ns") - per_request)


def added_latency(runs: pd.DataFrame) -> pd.DataFrame:
    """Per open-loop treatment point (``POINT_KEY``): the mean latency Veil adds to a request, split
    into ``work_ns`` (VCPU time per request, treatment minus its baseline: the Veil work a request
    does) and ``queue_ns`` (wait for a VCPU, treatment minus baseline), and ``held_ns`` (the
    treatment's VCPU time per request); means over replications."""
    times = request_time(runs)
    base = times[times["role"] == "baseline"][[*PAIR_KEY, "held_ns", "wait_ns"]]
    treated = times[times["role"] == "treatment"].merge(base, on=PAIR_KEY, suffixes=("", "_base"))
    treated = treated.assign(work_ns=treated["held_ns"] - treated["held_ns_base"],
                             queue_ns=treated["wait_ns"] - treated["wait_ns_base"])
    return treated.groupby(POINT_KEY, sort=True)[["work_ns", "queue_ns", "held_ns"]].mean().reset_index()
