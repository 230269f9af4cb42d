"""Lost audit records (VeilS-Log) as a result: how many records a point lost, why, and which
setting would have kept them, all read from the records.

The arithmetic of one record (the ring bytes a reader period lets pile up against the ring's
size) is :class:`veilperf.analysis.tables.lost.LostRecords`; here it is applied to each point's
mean record (means over its treatment runs): the ring that would have sufficed at the run's mean
rate (rounded up to pages) and the reader period that would have. Bursts above the mean need
more; reading every record back costs a read call per ``read_chunk`` bytes
(``costs.log.read_call_ns`` each).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from veilperf.analysis.tables.lost import PERIOD, RING, LostRecords, size_text
from veilperf.analysis.tables.pairing import POINT_KEY
from veilperf.units import format_duration

LOST, RECORDS, LOST_SHARE = "log.lost", "log.records", "log.lost_share"
RING_BYTES, BYTES, READ_CALLS = "log.ring_bytes", "log.bytes", "log.read_calls"
READ_CALL_COST = "costs.log.read_call_ns"
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
    """Per VeilS-Log point (``POINT_KEY``) that lost records, from its mean record: ``lost_share``,
    ``per_period`` (ring bytes appended per reader period), ``ring`` (its size), ``period_ns``,
    ``ring_needed`` (pages holding a period's bytes), ``period_needed_ns`` (a period whose bytes fit
    the ring), ``extra_calls`` and ``extra_ns`` (read calls, and their time, to read every record
    back), ``sim_ns``. Points whose records predate ``log.ring_bytes`` have NaN where it is needed."""
    runs = runs[(runs["role"] == "treatment") & runs["service"].astype(str).str.contains("log")]
    read = [c for c in (LOST, RECORDS, RING, PERIOD, RING_BYTES, BYTES, "sim_time_ns", READ_CHUNK, READ_CALLS,
                        READ_CALL_COST) if c in runs.columns]
    if runs.empty or any(c not in runs.columns for c in (LOST, RECORDS, RING, "sim_time_ns")):
        return pd.DataFrame(columns=[*POINT_KEY, "lost_share"])
    means = runs.groupby(POINT_KEY, sort=True)[read].mean(numeric_only=True)
    rows = []
    for key, mean in means.iterrows():
        lost = LostRecords.of(mean.to_dict())
        if lost is None:
            continue
        chunks = mean.get(RING_BYTES, math.nan) / mean.get(READ_CHUNK, math.nan)
        missing = math.ceil(chunks) - mean.get(READ_CALLS, math.nan) if math.isfinite(chunks) else math.nan
        extra = max(missing, 0.0) if math.isfinite(missing) else math.nan
        rows.append({**dict(zip(POINT_KEY, key)), "lost_share": lost.share, "per_period": lost.per_period,
                     "ring": lost.ring_size, "period_ns": lost.reader_period,
                     "ring_needed": math.ceil(lost.per_period / PAGE) * PAGE if math.isfinite(lost.per_period)
                     else math.nan,
                     "period_needed_ns": lost.ring_size / lost.ring_bytes_per_ns, "extra_calls": extra,
                     "extra_ns": extra * mean.get(READ_CALL_COST, math.nan), "sim_ns": mean["sim_time_ns"]})
    return pd.DataFrame(rows, columns=[*POINT_KEY, "lost_share", "per_period", "ring", "period_ns", "ring_needed",
                                       "period_needed_ns", "extra_calls", "extra_ns", "sim_ns"])


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
            f"{size_text(r['per_period'])} per {_period_text(r['period_ns'])}" if known else "unknown",
            size_text(r["ring"]),
            f">= {size_text(r['ring_needed'])}" if known else "unknown",
            f"<= {format_duration(r['period_needed_ns'])}" if known else "unknown",
            (f"+{r['extra_calls']:,.0f} read calls, {format_duration(r['extra_ns'])} "
             f"({r['extra_ns'] / r['sim_ns'] * 100:.0f}% of the run)") if math.isfinite(r["extra_ns"]) else "unknown",
        ])
    return rows


LOSS_HEADER = ["experiment", "workload", "setting", "records lost", "ring bytes appended per reader period",
               "ring", "ring that would keep them", "reader period that would", "reading every record back"]
