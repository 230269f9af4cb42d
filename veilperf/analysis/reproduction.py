"""The reproduction report (REPORT.md): the paper's claims beside the simulated values, figures,
and the provenance of every platform parameter."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from veilperf.analysis.claims import Claim, check_claims
from veilperf.analysis.figures import FigureData
from veilperf.analysis.profile import describe_point, parameter_table

METHOD = [
    "## Method",
    "",
    "- Every treatment run (Veil) is paired with the baseline run (plain SNP CVM) of the same `pair_key` "
    "and replication, which share a seed (common random numbers).",
    "- Overhead of one pair = (treatment cost per unit of work / baseline's - 1) x 100, the cost being "
    "simulated time per completed iteration (fixed-iteration runs), 1 / throughput (fixed-duration runs), "
    "mean latency per request (open-loop servers, whose throughput is set by the arrival rate), or the "
    "whole boot (boot runs; the increment is treatment minus baseline).",
    "- Each point reports the mean over replications with a 95% Student-t interval (a single replication "
    "gives a zero-width interval). Failed runs and treatments without a baseline are left out.",
    "- Claims use Veil as built: points of design alternatives the paper did not measure (static VCPU "
    "partitioning, switchless ocalls, batched audit records), sensitivity settings away from their sourced "
    "defaults (enclave size, audit record model), design-study experiments (replicas vs static) and "
    "open-loop server load studies (their latency ratio depends on the offered load) are shown in the "
    "figures but not counted.",
    "",
]

FIGURE_TITLES = {
    "overhead_by_service": "Overhead per workload and service (bars: 95% CI; band: the paper's 2–64% claim)",
    "overhead_vs_switch_cost": "Overhead vs one-way domain-switch cost",
    "overhead_by_cause": "Veil-added time by cause",
    "boot_time": "Boot time vs memory and VCPUs; Veil's increment against the 2 s claim",
    "time_per_domain": "Time per domain per VCPU",
    "latency_vs_throughput": "Latency vs throughput, server workloads",
    "replicas_vs_static": "VCPU replicas vs static partitioning",
}


def _table(frame: pd.DataFrame) -> list[str]:
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |")
    return lines


def _claims_table(claims: list[Claim]) -> list[str]:
    frame = pd.DataFrame(
        [[c.claim, c.paper, c.simulated, f"**{c.verdict}**", c.conditions] for c in claims],
        columns=["claim", "paper", "simulated", "verdict", "under which assumptions"],
    )
    return _table(frame)


def _provenance(runs: pd.DataFrame) -> list[str]:
    lines = []
    for column in ("veilperf_version", "git_commit"):
        if column in runs:
            values = sorted({str(v) for v in runs[column].dropna()})
            lines.append(f"- {column}: {', '.join(values) or 'unknown'}")
    return lines


def render_report(
    data: FigureData,
    manifests: dict[str, dict[str, Any]],
    figures: dict[str, Path],
    notes: list[str],
    out: Path,
    claims: list[Claim] | None = None,
) -> str:
    """The report's Markdown; figure links are relative to ``out``'s folder."""
    claims = claims if claims is not None else check_claims(data.over, data.calibration, data.runs)
    experiments = sorted(data.runs["experiment"].unique())
    lines = [
        "# veilperf reproduction report",
        "",
        "Veil (Ahmad et al., ASPLOS 2023) claims three headline results. Each is checked here against "
        "the simulator's predictions, computed from mechanism costs and workload descriptions only; the "
        "paper's numbers are the claims being checked, never inputs. Claims are read at the calibrated "
        f"platform values ({describe_point(data.swept_calibration(data.over)) or 'none swept'}); sensitivity "
        "sweeps are in the figures."
        + ("" if manifests else " No manifest.yaml was found beside the results, so for each swept platform "
           "parameter the median swept value stands in for its calibrated value."),
        "",
        f"Experiments: {', '.join(experiments)}; {len(data.runs)} successful runs, "
        f"{data.over.attrs.get('failed_runs', 0)} failed runs left out.",
        *_provenance(data.runs),
        "",
        "## Claims",
        "",
        *_claims_table(claims),
        "",
        *METHOD,
    ]
    for claim in claims:
        lines += [f"### {claim.claim}: {claim.verdict}", "", f"Paper: {claim.paper}. Simulated: {claim.simulated}.",
                  "", f"Conditions: {claim.conditions}." if claim.conditions else "", "", *claim.details, ""]
    lines += ["## Figures", ""]
    for name, path in figures.items():
        link = Path(os.path.relpath(path, out.parent)).as_posix()
        lines += [f"### {FIGURE_TITLES.get(name, name)}", "", f"![{name}]({link})", ""]
    lines += [f"- {note}" for note in notes]
    table = parameter_table(data.runs, manifests)
    assumption = table["kind"] == "assumption"
    lines += [
        "",
        "## Calibrated parameters",
        "",
        *_table(table.loc[~assumption, ["parameter", "value", "kind", "range", "swept", "source"]]),
        "",
        "## Assumptions (no measurement found) and the range swept",
        "",
        *_table(table.loc[assumption, ["parameter", "value", "range", "swept", "source"]]),
        "",
    ]
    return "\n".join(lines)


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)
    return path
