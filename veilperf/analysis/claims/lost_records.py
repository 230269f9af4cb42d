"""Lost audit records (VeilS-Log) as a result: how many records a point lost, why, and which
setting would have kept them, all read from the records.

The reader drains the ring every ``reader_period``; records appended while the ring holds
``ring_size`` bytes of unread slots overwrite the oldest (``log.lost``). So a ring keeps every
record when a reader period's appended slot bytes (``log.ring_bytes`` x ``reader_period`` /
``sim_time_ns``, the run's mean) fit in it: that is the ring that would have sufficed at the
run's mean rate, and ``ring_size`` over the appended bytes per nanosecond is the reader period
that would have. Bursts above the mean need more; reading every record back costs a read call per
``read_chunk`` bytes (``costs.log.read_call_ns`` each).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from veilperf.analysis.tables.pairing import POINT_KEY
from veilperf.units import format_duration

LOST, RECORDS, LOST_SHARE = "log.lost", "log.records", "log.lost_share"
RING_BYTES, READ_CALLS = "log.ring_bytes", "log.read_calls"
READ_CALL_COST = "costs.log.read_call_ns"
RING_SIZE = "cfg.setup.services.log.ring_size"
READER_PERIOD = "cfg.setup.services.log.reader_period"
READ_CHUNK = "cfg.setup.services.log.read_chunk"
PAGE = 4096
"""The ring is made of 4 KiB pages (prototype: 10 x 4 KiB): a ring that would suffice is rounded up to pages."""


def lost_share(frame: pd.DataFrame) -> pd.Series:
    """Per row (run or point), the share of its audit records lost (``log.lost_share``, else
    ``log.lost / log.records``); NaN where nothing was audited."""
    if LOST_SHARE in frame.columns:
        return frame[LOST_SHARE].astype(float).where(frame.get(RECORDS, 1) > 0)
    if LOST in frame.columns and RECORDS in frame.columns:
        records = frame[RECORDS].astype(float)
        return (frame[LOST].astype(float) / records).where(records > 0)
    return pd.Series(np.nan, index=frame.index)


def lost_text(share: float) -> str:
    """``62% lost``, ``0.3% lost``; empty when nothing was lost (or unknown)."""
    if not share > 0:
        return ""
    return f"{share * 100:.2g}% lost" if share < 0.1 else f"{share * 100:.0f}% lost"


def losses(runs: pd.DataFrame) -> pd.DataFrame:
    """Per VeilS-Log point (``POINT_KEY``) that lost records: ``lost_share``, ``per_period`` (ring
    bytes appended per reader period), ``ring`` (its size), ``period_ns``, ``ring_needed`` (pages
    holding a period's bytes), ``period_needed_ns`` (a period whose bytes fit the ring),
    ``extra_calls`` and ``extra_ns`` (read calls, and their time, to read every record back),
    ``sim_ns``; means over the point's treatment runs. Points whose records predate
    ``log.ring_bytes`` have NaN where it is needed."""
    needed = [RING_SIZE, READER_PERIOD, "sim_time_ns"]
    runs = runs[(runs["role"] == "treatment") & runs["service"].astype(str).str.contains("log")]
    if runs.empty or any(c not in runs.columns for c in needed):
        return pd.DataFrame(columns=[*POINT_KEY, "lost_share"])
    sim, period = runs["sim_time_ns"].astype(float), runs[READER_PERIOD].astype(float)
    ring_bytes = runs[RING_BYTES].astype(float) if RING_BYTES in runs else pd.Series(np.nan, index=runs.index)
    chunk = runs[READ_CHUNK].astype(float) if READ_CHUNK in runs else pd.Series(np.nan, index=runs.index)
    calls = runs[READ_CALLS].astype(float) if READ_CALLS in runs else pd.Series(np.nan, index=runs.index)
    extra = (np.ceil(ring_bytes / chunk) - calls).clip(lower=0)
    cost = runs[READ_CALL_COST].astype(float) if READ_CALL_COST in runs else pd.Series(np.nan, index=runs.index)
    per_run = runs[POINT_KEY].assign(
        lost_share=lost_share(runs), per_period=ring_bytes * period / sim, ring=runs[RING_SIZE].astype(float),
        period_ns=period, rate=ring_bytes / sim, extra_calls=extra, extra_ns=extra * cost, sim_ns=sim)
    points = per_run.groupby(POINT_KEY, sort=True).mean().reset_index()
    points = points[points["lost_share"] > 0]
    return points.assign(ring_needed=np.ceil(points["per_period"] / PAGE) * PAGE,
                         period_needed_ns=points["ring"] / points["rate"]).drop(columns="rate")


def _size(nbytes: float) -> str:
    """``322 KiB``, ``1.43 MiB``: three significant digits in binary units."""
    for unit, scale in (("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{nbytes:.0f} B"


def _period_text(ns: float) -> str:
    return format_duration(float(ns)) if math.isfinite(ns) and ns > 0 else "never read"


def loss_rows(points: pd.DataFrame) -> list[list[str]]:
    """Report table rows of :func:`losses` rows carrying ``experiment``, ``workload``, ``shown`` (a
    label): the loss, its cause and the settings that avoid it."""
    rows = []
    for _, r in points.iterrows():
        known = math.isfinite(r["per_period"])
        rows.append([
            r["experiment"], r["workload"], r["shown"], f"{r['lost_share'] * 100:.1f}%",
            f"{_size(r['per_period'])} per {_period_text(r['period_ns'])}" if known else "unknown",
            _size(r["ring"]),
            f">= {_size(r['ring_needed'])}" if known else "unknown",
            f"<= {format_duration(r['period_needed_ns'])}" if known else "unknown",
            (f"+{r['extra_calls']:,.0f} read calls, {format_duration(r['extra_ns'])} "
             f"({r['extra_ns'] / r['sim_ns'] * 100:.0f}% of the run)") if math.isfinite(r["extra_ns"]) else "unknown",
        ])
    return rows


LOSS_HEADER = ["experiment", "workload", "setting", "records lost", "ring bytes appended per reader period",
               "ring", "ring that would keep them", "reader period that would", "reading every record back"]
