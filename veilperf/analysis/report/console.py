"""Terminal tables: the per-workload summary and the claims, printed at the end of every sweep."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from veilperf.analysis.claims.verdicts import (NORMAL_TOLERANCE_PCT, SERVICE_CLAIM_PCT, Claim, check_claims, oneoff_text,
                                      steady_text)
from veilperf.analysis.tables.figdata import FigureData, distinguishing_settings, sort_points
from veilperf.analysis.tables.profile import at_calibration


def claims_table(claims: list[Claim]) -> Table:
    """One row per claim: the paper's figure beside the simulated one and the verdict."""
    table = Table(title="The paper's claims vs veilperf's predictions (details: REPORT.md)")
    for column in ("claim", "paper", "simulated", "verdict"):
        table.add_column(column, overflow="fold")
    for claim in claims:
        verdict = claim.verdict + (f" ({claim.assumption_space})" if claim.assumption_space else "")
        table.add_row(*(escape(text) for text in (claim.claim, claim.paper, claim.simulated, verdict)))
    return table


def summary_points(data: FigureData, experiments: Sequence[str]) -> pd.DataFrame:
    """Every workload point of ``experiments`` (cached or new) at its experiment's calibrated
    values, with a ``shown_setting`` column holding what tells it apart within its experiment."""
    frames = []
    for experiment in experiments:
        subset = data.only(experiment)
        rows = at_calibration(subset.over[subset.over["kind"] == "workload"], subset.calibration)
        if len(rows):
            rows = sort_points(rows)
            frames.append(rows.assign(shown_setting=distinguishing_settings(rows)))
    return pd.concat(frames) if frames else pd.DataFrame()


def overheads_table(points: pd.DataFrame) -> Table:
    """Per experiment, workload, service and setting: whole-run overhead with its 95% CI,
    steady-state overhead, one-off share, and where it falls against the paper's claim."""
    low, high = SERVICE_CLAIM_PCT
    steady = "steady_pct" in points and points["steady_pct"].notna().any()  # else whole run only
    title = "Predicted overhead vs the SNP CVM per workload (calibrated costs; details: REPORT.md)"
    table = Table(title=title if steady else title.replace("(calibrated", "(whole run, calibrated"))
    columns = ["experiment", "workload", "service", "setting", "whole-run %", "95% CI",
               *(["steady %", "one-off"] if steady else []), "vs paper"]
    for column in columns:
        table.add_column(column, justify="right" if column.endswith(("%", "CI")) else "left", overflow="fold")
    for _, r in points.iterrows():
        table.add_row(escape(str(r["experiment"])), escape(str(r["workload"])), escape(str(r["service"])),
                      escape(str(r["shown_setting"] or "")), f"{r['overhead_pct']:.2f}",
                      f"[{r['ci_low']:.2f}, {r['ci_high']:.2f}]",
                      *([steady_text(r), oneoff_text(r)] if steady else []), _versus(r, low, high))
    return table


def _versus(row: pd.Series, low: float, high: float) -> str:
    value = row["overhead_pct"]
    if row["basis"] == "latency":
        return "load study"
    if row["service"] == "none":
        return "≈ 0" if pd.notna(value) and abs(value) <= NORMAL_TOLERANCE_PCT else "slower"
    return "inside" if low <= value <= high else ("below" if value < low else "above")


def print_summary(data: FigureData, experiments: Sequence[str], claims: list[Claim],
                  console: Console | None = None) -> None:
    """Print the per-workload table of ``experiments``, then the claims over all results."""
    console = console or Console(width=max(Console().width, 140))
    points = summary_points(data, experiments)
    if len(points):
        console.print(overheads_table(points))
    console.print(claims_table(claims))


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
