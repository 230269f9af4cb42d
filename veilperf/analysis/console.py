"""The claims as terminal tables: what `veilperf sweep` prints when it has refreshed the report."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from veilperf.analysis.claims import NORMAL_TOLERANCE_PCT, SERVICE_CLAIM_PCT, Claim


def claims_table(claims: list[Claim]) -> Table:
    """One row per claim: the paper's figure beside the simulated one and the verdict."""
    table = Table(title="The paper's claims vs veilperf's predictions (details: REPORT.md)")
    for column in ("claim", "paper", "simulated", "verdict"):
        table.add_column(column, overflow="fold")
    for claim in claims:
        table.add_row(*(escape(text) for text in (claim.claim, claim.paper, claim.simulated, claim.verdict)))
    return table


def overheads_table(claims: list[Claim]) -> Table:
    """Per workload and service: predicted overhead with its 95% CI, beside the paper's claim."""
    low, high = SERVICE_CLAIM_PCT
    table = Table(title="Predicted overhead vs the SNP CVM, per workload and service (calibrated costs)")
    for column in ("workload", "service", "setting", "overhead %", "95% CI", "paper", "vs paper"):
        table.add_column(column, justify="right" if column in ("overhead %", "95% CI") else "left",
                         overflow="fold")
    for claim in claims:
        if claim.points is None or claim.points.empty:
            continue
        rows = claim.points.sort_values(["service", "workload", "setting"], kind="stable")
        for _, r in rows.iterrows():
            table.add_row(escape(str(r["workload"])), escape(str(r["service"])), escape(str(r["setting"] or "")),
                          f"{r['overhead_pct']:.2f}", f"[{r['ci_low']:.2f}, {r['ci_high']:.2f}]",
                          claim.paper, _versus(r["overhead_pct"], r["service"], low, high))
    return table


def _versus(value: float, service: str, low: float, high: float) -> str:
    if service == "none":
        return "≈ 0" if pd.notna(value) and abs(value) <= NORMAL_TOLERANCE_PCT else "slower"
    return "inside" if low <= value <= high else ("below" if value < low else "above")


def print_claims(claims: list[Claim], console: Console | None = None) -> None:
    """Print the per-workload predictions, then the claims."""
    console = console or Console(width=max(Console().width, 120))
    console.print(overheads_table(claims))
    console.print(claims_table(claims))
