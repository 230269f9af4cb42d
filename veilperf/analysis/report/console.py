"""Terminal tables: the per-workload summary and the claims, printed at the end of every sweep.

One small table per experiment, one line per row: each workload's whole-run overhead under each
setting the experiment simulated (settings by their short label, read from the records); the
longer of the two lists (workloads, settings) runs down the rows so the table stays narrow, and a
label too long for a column head goes to a numbered key under the table. Every table's heading
says whether its costs are the platform profile's ("calibrated costs") or which ones are not;
marks (one-off set-up, saturated, noisy or estimated native time) and lost audit records are
explained once under the tables. The whole summary of ``veilperf sweep configs/*.yaml`` fits 120
lines of 120 columns (``tests/test_console.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from veilperf.analysis.claims.verdicts import NORMAL_TOLERANCE_PCT, SERVICE_CLAIM_PCT, Claim, check_claims
from veilperf.analysis.tables.columns import NATIVE_ESTIMATED, NATIVE_NOISY, SATURATED
from veilperf.analysis.tables.figdata import FigureData, sort_points
from veilperf.analysis.tables.labels import ProfileCosts, off_profile_text, param_word, profile_costs
from veilperf.analysis.tables.pairing import ONEOFF_FLAG_SHARE
from veilperf.analysis.tables.profile import at_calibration, param_name

WIDTH = 120
"""Columns of the summary when the output is not a terminal (a terminal's own width otherwise)."""
HEAD_WIDTH = 12
"""A setting label longer than this heads its column by number, spelt out in the key under the table."""
MARKS = {
    "oneoff": "†",
    "estimated": "*",
    "noisy": "~",
}


def claims_lines(claims: list[Claim], heading: str = "") -> list[str]:
    """A heading, then per claim one item: the claim, the paper's figure, the verdict, the simulated one."""
    lines = [f"The paper's claims vs veilperf's predictions{heading} (details: REPORT.md):"]
    for claim in claims:
        verdict = claim.verdict + (f" ({claim.assumption_space})" if claim.assumption_space else "")
        lines.append(f"- {claim.claim} (paper: {claim.paper}): {verdict}. Simulated: {claim.simulated}")
    return lines


def summary_points(data: FigureData, experiments: Sequence[str]) -> pd.DataFrame:
    """Every workload point of ``experiments`` (cached or new) at its experiment's calibrated
    values, with a ``shown`` column: its label without the platform costs every shown point of its
    experiment shares (the table's heading says those)."""
    frames = []
    for experiment in experiments:
        subset = data.only(experiment)
        rows = at_calibration(subset.over[subset.over["kind"] == "workload"], subset.calibration)
        if len(rows):
            rows = sort_points(rows)
            frames.append(rows.assign(shown=_shown_labels(rows)))
    return pd.concat(frames) if frames else pd.DataFrame()


def _shown_labels(rows: pd.DataFrame) -> pd.Series:
    """Each row's label without the words of the platform parameters that hold one value in ``rows``."""
    shown = rows["label"].fillna("").astype(str)
    for column in (c for c in rows.columns if param_name(c) is not None):
        values = rows[column].dropna().unique()
        if len(values) == 1:
            word = param_word(column, values[0])
            shown = shown.map(lambda text, common=word: " ".join(text.replace(common, "").split()))
    return shown.where(shown != "", "no service")


def _pct(value: float) -> str:
    if pd.isna(value):
        return "-"
    digits = 2 if abs(value) < 10 else (1 if abs(value) < 100 else 0)
    text = f"{value:.{digits}f}"
    return "0.00" if text in ("-0.00", "0.00") else text


def _band_style(row: pd.Series) -> str:
    """Colour on a terminal (none when piped): inside the paper's band green, above it red."""
    low, high = SERVICE_CLAIM_PCT
    value = row["overhead_pct"]
    if row["service"] == "none" or row["basis"] == "latency" or pd.isna(value):
        return ""
    return "green" if low <= value <= high else ("red" if value > high else "")


def cell_text(row: pd.Series) -> str:
    """A point's cell: ``saturated`` for a server that could not keep up, else its whole-run overhead
    (%) with † when its one-off set-up is more than a quarter of Veil's added time."""
    if bool(row.get(SATURATED, False)):
        return "saturated"
    flagged = row.get("oneoff_share")
    text = _pct(row["overhead_pct"]) + (MARKS["oneoff"] if pd.notna(flagged) and flagged > ONEOFF_FLAG_SHARE
                                        else "")
    style = _band_style(row)
    return f"[{style}]{text}[/{style}]" if style else text


def lost_share(rows: pd.DataFrame) -> pd.Series:
    """Per point, the share of its audit records lost (overwritten in the log ring before they were
    read): the record's ``log.lost_share``, else ``log.lost`` / ``log.records``; NaN without logging."""
    if "log.lost_share" in rows:
        return rows["log.lost_share"].astype(float)
    if "log.lost" in rows and "log.records" in rows:
        records = rows["log.records"].astype(float)
        return (rows["log.lost"].astype(float) / records).where(records > 0)
    return pd.Series(np.nan, index=rows.index)


def _workload_text(row: pd.Series) -> str:
    marks = (MARKS["estimated"] if bool(row.get(NATIVE_ESTIMATED, False)) else "") + \
            (MARKS["noisy"] if bool(row.get(NATIVE_NOISY, False)) else "")
    return escape(str(row["workload"])) + marks


def _share_range(shares: pd.Series) -> str:
    shares = shares[shares > 0].dropna()
    if shares.empty:
        return ""
    low, high = shares.min() * 100, shares.max() * 100
    return f"{low:.0f}%" if round(low) == round(high) else f"{low:.0f}–{high:.0f}%"


@dataclass
class Summary:
    """What the tables showed, for the notes under them."""

    marks: set[str] = field(default_factory=set)
    lost: bool = False


def _heading(experiment: str, rows: pd.DataFrame, costs: ProfileCosts) -> str:
    off = off_profile_text(rows, costs)
    return f"{experiment}: whole-run overhead vs the SNP CVM, % ({'at ' + off if off else 'calibrated costs'})"


def _note_marks(rows: pd.DataFrame, lost: pd.Series, seen: Summary) -> None:
    for mark, column in (("estimated", NATIVE_ESTIMATED), ("noisy", NATIVE_NOISY), (SATURATED, SATURATED)):
        if column in rows and rows[column].eq(True).any():
            seen.marks.add(mark)
    if (rows["oneoff_share"] > ONEOFF_FLAG_SHARE).any():
        seen.marks.add("oneoff")
    seen.lost |= bool(lost.gt(0).any())


def _cell_lines(rows: pd.DataFrame, by: str, lost: pd.Series, width: int) -> list[str]:
    """The points of a table with one setting or one workload, as ``name: value`` items folded to ``width``."""
    items = []
    for _, row in rows.iterrows():
        name = _workload_text(row) if by == "workload" else escape(str(row["shown"]))
        share = _share_range(lost[[row.name]])
        items.append(f"{name}: {cell_text(row)}" + (f" (lost {share})" if share else ""))
    return _fold(items, width, "  ")


def _fold(items: list[str], width: int, indent: str = "") -> list[str]:
    """``items`` joined by ``, `` into lines of at most ``width`` visible characters."""
    lines, line = [], ""
    for item in items:
        candidate = f"{line}, {item}" if line else indent + item
        if line and len(_visible(candidate)) > width:
            lines.append(line + ",")
            candidate = indent + item
        line = candidate
    return lines + ([line] if line else [])


def _visible(text: str) -> str:
    from rich.text import Text

    return Text.from_markup(text).plain


def experiment_lines(experiment: str, rows: pd.DataFrame, costs: ProfileCosts, seen: Summary,
                     width: int) -> list[str | Table]:
    """What one experiment's shown points print as: a heading, then a table (workloads x settings,
    the longer list down the rows, long setting labels numbered in a key under it) or, when one of
    the two lists has a single entry, the points folded into a few lines."""
    settings = list(dict.fromkeys(rows["shown"]))
    workloads = list(dict.fromkeys(rows["workload"]))
    lost = lost_share(rows)
    _note_marks(rows, lost, seen)
    heading = escape(_heading(experiment, rows, costs))
    if len(settings) == 1 or len(workloads) == 1:
        single = escape(settings[0]) if len(settings) == 1 else _workload_text(rows.iloc[0])
        by = "workload" if len(settings) == 1 else "shown"
        return [f"{heading}, {single}:", *_cell_lines(rows, by, lost, width)]
    by_workload = len(workloads) >= len(settings)  # the longer list runs down the rows
    columns = settings if by_workload else workloads
    key = [s for s in settings if len(s) > HEAD_WIDTH] if by_workload else []
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("workload" if by_workload else "setting")
    for column in columns:
        table.add_column(escape(f"[{key.index(column) + 1}]" if column in key else column), justify="right")
    if lost.gt(0).any():
        table.add_column("lost", justify="right")
    for name in workloads if by_workload else settings:
        mine = rows[rows["workload" if by_workload else "shown"] == name]
        cells = {str(r["shown"] if by_workload else r["workload"]): cell_text(r) for _, r in mine.iterrows()}
        head = _workload_text(mine.iloc[0]) if by_workload else escape(name)
        extra = [_share_range(lost[mine.index])] if lost.gt(0).any() else []
        table.add_row(head, *(cells.get(c, "") for c in columns), *extra)
    return [heading, table, *_fold([escape(f"[{i}] {label}") for i, label in enumerate(key, 1)], width)]


def records_per_call(points: pd.DataFrame) -> str:
    """For logging points: how many audit records (each its own service call) their audited calls
    made, the range over the points and the counts of the point with the most records; empty
    without logging."""
    if not {"log.records", "log.events"} <= set(points.columns):
        return ""
    logged = points[points["log.events"].astype(float) > 0]
    if logged.empty:
        return ""
    ratio = logged["log.records"].astype(float) / logged["log.events"].astype(float)
    top = logged.loc[logged["log.records"].astype(float).idxmax()]
    spread = f"{ratio.min():.1f}" if f"{ratio.min():.1f}" == f"{ratio.max():.1f}" else f"{ratio.min():.1f}–{ratio.max():.1f}"
    return (f"{spread} records per audited call here ({top['experiment']}, "
            f"{top['workload']}, {top['shown']}: {top['log.records']:,.0f} records for {top['log.events']:,.0f} calls)")


def legend(seen: Summary, records: str = "") -> list[str]:
    """The notes under the tables: the marks and columns that appeared, and the logging undercount."""
    low, high = SERVICE_CLAIM_PCT
    lines = [f"Cells: whole-run overhead in % (95% CIs and steady state: overheads.csv); on a terminal green inside "
             f"the paper's {low:g}–{high:g}%, red above it; normal execution counts as ≈ 0 within "
             f"±{NORMAL_TOLERANCE_PCT:g}%."]
    notes = {
        "oneoff": f"{MARKS['oneoff']} the one-off set-up (enclave creation) is more than {ONEOFF_FLAG_SHARE:.0%} of "
                  "Veil's added time: the whole run says more about the run's length than the steady cost.",
        SATURATED: "saturated: the server could not keep up with its offered load (arrival rate x VCPU time per "
                   "request >= 1), so its latency measures the run's length: no overhead.",
        "estimated": f"{MARKS['estimated']} native run time estimated from the trace alone (record the program for "
                     "precision).",
        "noisy": f"{MARKS['noisy']} noisy native measurement: its runs spread beyond ±15% of the median.",
    }
    lines += [notes[m] for m in ("oneoff", SATURATED, "estimated", "noisy") if m in seen.marks]
    if seen.lost:
        lines.append("lost: audit records overwritten in the log ring before the reader read them (the ring fills "
                     "within a reader period: a larger ring_size or a shorter reader_period avoids it).")
    if records:
        lines.append("Logging: every audit record is its own service call (two switches), so audited calls x 2 "
                     f"switches undercounts: {records}.")
    return lines


def print_summary(data: FigureData, experiments: Sequence[str], claims: list[Claim],
                  console: Console | None = None) -> None:
    """Print what each experiment in ``experiments`` predicts (:func:`experiment_lines`), the notes
    under them, then the claims over all results."""
    console = console or Console(width=None if Console().is_terminal else WIDTH)
    points = summary_points(data, experiments)
    costs = profile_costs(data.manifests)
    seen = Summary()
    for experiment, rows in points.groupby("experiment", sort=False) if len(points) else ():
        console.print()
        for item in experiment_lines(str(experiment), rows, costs, seen, console.width):
            console.print(item, overflow="fold")
    for line in legend(seen, records_per_call(points)) if len(points) else ():
        console.print(escape(line), overflow="fold")
    calibrated = at_calibration(data.over, data.calibration) if len(data.over) else data.over
    off = off_profile_text(calibrated, costs) if len(calibrated) else ""
    console.print()
    for line in claims_lines(claims, f" (at {off})" if off else ""):
        console.print(escape(line), overflow="fold")


def after_sweep(results_dir: str | Path, experiments: Sequence[str], plots: bool = True) -> None:
    """The end of `veilperf sweep`: bring figures, ``overheads.csv`` and REPORT.md up to date with
    everything stored (unless ``plots`` is false), then print the summary of the experiments swept
    (cached points included) and the claims."""
    from veilperf.analysis.tables.load import ResultsError
    from veilperf.analysis.report.outputs import Inputs, refresh

    root = Path(results_dir)
    try:
        if plots:
            outcome = refresh(root)
            inputs, claims = outcome.inputs, outcome.claims
        else:
            inputs, claims = Inputs.of([root]), []
        data = inputs.data  # read here, so a bad stored file is reported alike with and without plots
    except ResultsError as exc:
        print(f"no summary: {exc}")
        return
    claims = claims or check_claims(data.over, data.calibration, data.runs, data.sensitivity)
    stored = set(data.runs["experiment"])
    print_summary(data, [e for e in experiments if e in stored], claims)
    if plots:
        state = "rebuilt" if outcome.rebuilt else "up to date"
        print(f"report: {root / 'REPORT.md'} {state}; figures: {outcome.rendered.drawn} drawn, "
              f"{outcome.rendered.reused} reused; overheads: {root / 'overheads.csv'} (skip with --no-plots)")
