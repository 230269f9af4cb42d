"""Report sections on results beside the claims: audit records VeilS-Log lost (how many, why, what
setting keeps them) and open-loop servers (which loads saturate, and the latency split of the
others)."""

from __future__ import annotations

import pandas as pd

from veilperf.analysis.claims.lost_records import LOSS_HEADER, loss_rows, losses
from veilperf.analysis.claims.verdicts import interval_text
from veilperf.analysis.tables.columns import ARRIVAL, OFFERED_LOAD, SATURATED
from veilperf.analysis.tables.figdata import SERVICE_LABEL, FigureData
from veilperf.analysis.tables.openloop import added_latency, capacity, is_open
from veilperf.analysis.tables.pairing import POINT_KEY
from veilperf.analysis.tables.profile import at_calibration


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows)]


def _calibrated(data: FigureData, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame``'s rows at their own experiment's calibration."""
    parts = [at_calibration(rows, data.only(e).calibration) for e, rows in frame.groupby("experiment", sort=True)]
    return pd.concat(parts) if parts else frame


def lost_records_section(data: FigureData) -> list[str]:
    """Every VeilS-Log point (at calibration) that lost audit records: how many, the ring bytes
    appended per reader period against the ring, and the ring size or reader period that would
    have kept them, with what reading every record back would cost."""
    logging = data.over[data.over["service"].astype(str).str.contains("log")]
    if logging.empty:
        return []
    calibrated = _calibrated(data, logging)
    calibrated = calibrated.assign(shown=data.labels(calibrated))[[*POINT_KEY, "workload", "shown"]]
    points = calibrated.merge(losses(data.runs), on=POINT_KEY).sort_values(["experiment", "workload", "shown"])
    if points.empty:
        return []
    total = len(calibrated)
    worst = points.loc[points["lost_share"].idxmax()]
    return [
        "## Lost audit records", "",
        f"{len(points)} VeilS-Log points (at calibrated costs) lose audit records, up to "
        f"{worst['lost_share'] * 100:.0f}% ({worst['workload']}, {worst['shown']}, experiment {worst['experiment']}); "
        f"{total} logging points in all. A lost record is one the service's ring overwrote before the reader "
        "drained it (`log.lost`): the reader drains the ring once per reader period, so a program that appends more "
        "ring bytes in one period than the ring holds loses the excess. The ring sizes and reader periods below are "
        "computed from each point's records at its mean append rate (bursts need more); reading every record back "
        "costs one read call per `read_chunk` bytes.", "",
        *_table(LOSS_HEADER, loss_rows(points)), "",
        *(["*unknown*: these records predate the ring-byte count (`log.ring_bytes`); rerun the sweep with "
           "`--force` to compute them.", ""] if points["per_period"].isna().any() else []),
        "Settings that keep them: a larger `setup.services.log.ring_size`, a shorter "
        "`setup.services.log.reader_period`, or narrower rules (`setup.services.log.rules`: fewer audited calls, "
        "fewer bytes per period). The overheads above are of runs that lost these records: keeping them costs the "
        "extra read calls in the last column.", ""]


def open_loop_lines(data: FigureData, experiment: str) -> list[str]:
    """The open-loop points of one experiment (at calibration): offered load as a share of the
    VCPUs' capacity, overhead or ``saturated`` (the record's: no overhead, a saturated queue grows
    for as long as the run lasts), and the latency added split into Veil's work and the wait for a
    VCPU."""
    subset = data.only(experiment)
    frame = subset.over[is_open(subset.over) & (subset.over["service"] != "none")]
    frame = subset.from_records(at_calibration(frame, subset.calibration), [ARRIVAL])
    if frame.empty:
        return []
    runs = subset.runs[is_open(subset.runs)]
    frame = frame.merge(added_latency(runs), on=POINT_KEY, how="left")
    frame = frame.assign(capacity=capacity(frame)).sort_values(["workload", SERVICE_LABEL, ARRIVAL])
    rows = []
    for _, r in frame.iterrows():
        load = f"{r[OFFERED_LOAD] * 100:.0f}%" if OFFERED_LOAD in r and pd.notna(r[OFFERED_LOAD]) else "unknown"
        most = f"{r['capacity']:,.0f}/s" if pd.notna(r["capacity"]) else "unknown"
        head = [r["workload"], r[SERVICE_LABEL], f"{r[ARRIVAL]:,.0f}/s", load, most]
        if bool(r[SATURATED]):
            rows.append([*head, "**saturated**", "", ""])
        else:
            rows.append([*head, f"{r['overhead_pct']:.1f}% {_bracket(interval_text(r))}",
                         f"{r['work_ns'] / 1e3:.2f} µs", f"{r['queue_ns'] / 1e3:.2f} µs"])
    hot = int(frame[SATURATED].sum())
    return ["Open-loop points: a point whose offered load reaches its VCPUs' capacity (the record's `offered_load`: "
            "arrival rate x VCPU time per request / request VCPUs, at 100% or more in some replication) is "
            "saturated: its queue grows for as long as the run lasts, so it has no overhead, only the mark"
            + (f" ({hot} of {len(frame)} here)." if hot else " (none here)."), "",
            *_table(["workload", "what ran", "offered", "of capacity (with Veil)", "capacity with Veil",
                     "mean-latency overhead (95% CI)", "Veil's work per request", "added wait for the VCPU"], rows), ""]


def _bracket(text: str) -> str:
    return text if text.startswith("[") else f"({text})"
