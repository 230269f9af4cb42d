"""The reproduction report (REPORT.md): the paper's claims beside the simulated values, figures,
and the provenance of every platform parameter."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from veilperf.analysis.claims.crossings import crossing_models, explain
from veilperf.analysis.claims.lost_records import lost_share
from veilperf.analysis.claims.verdicts import EXACT_NOTE, Claim, oneoff_flagged, service_points
from veilperf.analysis.report.pagetables import page_table_lines
from veilperf.analysis.figures.index import Rendered
from veilperf.analysis.figures.names import EXPERIMENT_FIGURES, GLOBAL_UNIT, QUESTIONS
from veilperf.analysis.report.findings import lost_records_section, open_loop_lines
from veilperf.analysis.report.hardware import hardware_section
from veilperf.analysis.tables.columns import NATIVE_ESTIMATED, NATIVE_NOISY, SATURATED
from veilperf.analysis.tables.figdata import SERVICE_LABEL, FigureData
from veilperf.analysis.tables.profile import describe_point, param_name, parameter_table

METHOD = [
    "## Method",
    "",
    "- Every treatment run (Veil) is paired with the baseline run (plain SNP CVM) of the same `pair_key` "
    "and replication, which share a seed (common random numbers).",
    "- Overhead of one pair = (treatment cost per unit of work / baseline's - 1) x 100, the cost being "
    "simulated time per completed iteration (fixed-iteration runs), 1 / throughput (fixed-duration runs), "
    "mean latency per request (open-loop servers, whose throughput is set by the arrival rate), or the "
    "whole boot (boot runs; the increment is treatment minus baseline).",
    "- Each point reports the mean over replications with a 95% Student-t interval (figures draw intervals only "
    "from at least 3 replications; a single replication has none, written `n = 1`, and replications that agree "
    "exactly have none either, written `exact`). Failed runs and treatments without a baseline are left out.",
    "- An open-loop point that serves less than 95% of its offered load is *saturated*: its queue grows for as "
    "long as the run lasts, so it gets the mark and no overhead or interval (`overheads.csv`: `saturated` true, "
    "the overhead columns empty).",
    "- Whole-run overhead counts everything the run did; steady-state overhead takes the treatment's one-off "
    "set-up on its critical path (`oneoff_ns`: enclave creation, replica creation, service set-up) out of "
    "its elapsed time. One-off share = (whole-run - steady-state) / whole-run of the added time; points "
    "where it exceeds 25% are marked, since their whole-run overhead depends on the run's length.",
    "- Claims use Veil as built: points of design alternatives the paper did not measure (static VCPU "
    "partitioning, switchless ocalls, batched audit records, private enclave page tables), sensitivity settings away from their sourced "
    "defaults (enclave size, audit record model), design-study experiments (replicas vs static) and "
    "open-loop server load studies (their latency ratio depends on the offered load) are shown in the "
    "figures but not counted.",
    "",
]

MEANING = [
    "What the verdicts mean. The paper's per-workload results are not public: veilperf's sources on Veil (the "
    "paper's abstract, a published summary and the released prototype, docs/references.md) give its three "
    "headline results, not which programs it measured, with which inputs, audit rules and run lengths, nor what "
    "each cost. So a verdict compares the model's predictions for the programs shipped here with the paper's "
    "ranges, nothing finer. *partly* says that some of these programs land inside 2–64% and others outside it, "
    "and why (each program's crossing rate times the cost of one crossing: next section); it does not say that "
    "the model disagrees with measurements it cannot be checked against, nor that the paper's programs would "
    "land where these do. *holds by construction* says the model adds nothing where Veil adds nothing: its 0% "
    "checks the model, not Veil.",
    "",
]

REFERENCES = Path(__file__).resolve().parents[2] / "docs" / "references.md"
"""Where every measurement and design fact the report and the platform file cite is described."""

CSV_COLUMNS = ["experiment", "workload", "service", "mode", "label", SERVICE_LABEL, "setting", "kind", "basis", "n",
               SATURATED, "overhead_pct", "ci_low", "ci_high", "steady_pct", "steady_ci_low", "steady_ci_high",
               "oneoff_share", "oneoff_flag", "lost_share", NATIVE_ESTIMATED, NATIVE_NOISY, "increment_ns",
               "increment_ci_low", "increment_ci_high", "treatment_cost_ns", "baseline_cost_ns", "pair_key", "point"]


def _table(frame: pd.DataFrame) -> list[str]:
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |")
    return lines


def _claims_table(claims: list[Claim]) -> list[str]:
    frame = pd.DataFrame(
        [[c.claim, c.paper, c.simulated, f"**{c.verdict}**",
          c.conditions + (f"; {c.assumption_space}" if c.assumption_space else "")] for c in claims],
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


def overhead_table(data: FigureData) -> pd.DataFrame:
    """The overhead of every point (``overheads.csv``): identity, what ran (``label``, ``service_label``),
    ``saturated`` (the record's: open-loop points past capacity, no overhead, interval or increment), whole-run
    and steady-state overhead with CIs, one-off share and flag, the share of audit records lost,
    increment, costs, and the swept platform values."""
    over = data.over.assign(oneoff_flag=oneoff_flagged(data.over), lost_share=lost_share(data.over))
    params = [c for c in over.attrs.get("axes", []) if param_name(c) is not None and c in over]
    table = over[[c for c in CSV_COLUMNS if c in over] + params]
    return table.rename(columns={c: param_name(c) for c in params})


def _link(out: Path, target: Path) -> str:
    return Path(os.path.relpath(target, out.parent)).as_posix()


def _references(out: Path) -> str:
    if REFERENCES.is_file():
        return f"[docs/references.md]({_link(out, REFERENCES)})"
    return "docs/references.md in the veilperf source"


def _figure(out: Path, rendered: Rendered, name: str) -> list[str]:
    return [f"![{name}]({_link(out, rendered.files[name])})", ""] if name in rendered.files else []


def _headline(data: FigureData, rendered: Rendered, out: Path) -> list[str]:
    if "claims" not in rendered.files:
        return []
    return ["## Headline", "", *_figure(out, rendered, "claims"),
            "Every prediction for Veil as built at calibrated costs, sorted; filled dots are whole-run overheads "
            "(bars: 95% CI where there are at least 3 replications), open diamonds the steady state (one-off "
            "set-up taken out; absent when the results do not record `oneoff_ns`), † marks points whose one-off "
            "set-up is more than a quarter of Veil's added time, grey bars the 5th–95th percentile over the "
            "assumption space when a sensitivity study is stored. The band is the paper's 2–64%.", ""]


def _explained(data: FigureData, rendered: Rendered, out: Path) -> list[str]:
    points = service_points(data.over, data.calibration)
    if points.empty:
        return []
    return ["## The claim explained", "", *_figure(out, rendered, "crossings"),
            *explain(points, crossing_models(points, data.manifests)), ""]


def _sensitivity_figure(data: FigureData, out: Path, experiment: str) -> list[str]:
    study = data.studies.get(experiment)
    if study is None or study.figure is None:
        return []
    on = f" on {', '.join(study.platforms)}" if study.platforms else ""
    return ["#### Which assumed costs move its predictions (sensitivity study)", "",
            f"![sensitivity_{experiment}]({_link(out, study.figure)})", "",
            f"The stored study{on} (`veilperf sensitivity`): per workload, each parameter's influence over its "
            "assumption range (Morris: bar mu*, the mean absolute change of the overhead in points when it steps "
            "2/3 of its range; dot sigma, interactions).", ""]


def _experiments(data: FigureData, rendered: Rendered, out: Path) -> list[str]:
    lines = ["## Experiments", "",
             "One section per experiment stored under the results folder, each with its own figures "
             "(read at that experiment's calibrated platform values), headed by the question each answers.", ""]
    for experiment in sorted(data.runs["experiment"].unique()):
        rows = data.over[data.over["experiment"] == experiment]
        runs = data.runs[data.runs["experiment"] == experiment]
        workloads = ", ".join(sorted(runs["workload"].unique()))
        lines += [f"### {experiment}", "", f"{len(runs)} successful runs, {len(rows)} treatment points; "
                  f"workloads: {workloads}.", ""]
        for figure in EXPERIMENT_FIGURES:  # in the order of the questions they answer
            name = f"{experiment}-{figure}"
            if name in rendered.files:
                lines += [f"#### {QUESTIONS[figure]}", "", *_figure(out, rendered, name)]
        lines += open_loop_lines(data, experiment)
        lines += _sensitivity_figure(data, out, experiment)
        lines += [f"- {note}" for note in rendered.notes.get(experiment, [])] + [""]
    return lines


def _estimated(data: FigureData) -> list[str]:
    if "native_estimated" not in data.over or not data.over["native_estimated"].astype(bool).any():
        return []
    names = sorted(set(data.over.loc[data.over["native_estimated"].astype(bool), "workload"]))
    return [f"Note: {', '.join(names)}: native time estimated from the trace alone; record it for precision.", ""]


def render_report(data: FigureData, rendered: Rendered, out: Path, claims: list[Claim], key: str) -> str:
    """The report's Markdown (figure links relative to ``out``'s folder); its first line records
    ``key``, the digest of its inputs."""
    experiments = sorted(data.runs["experiment"].unique())
    steady = ("Steady-state overheads take each run's one-off set-up (`oneoff_ns`) out of its elapsed time."
              if data.over.attrs.get("steady_known") else
              "These results do not record `oneoff_ns`, so only whole-run overheads are shown.")
    lines = [
        f"<!-- veilperf-inputs: {key} -->",
        "# veilperf reproduction report",
        "",
        "Veil (Ahmad et al., ASPLOS 2023) claims three headline results. Each is checked here against "
        "the simulator's predictions, computed from mechanism costs and workload descriptions only; the "
        "paper's numbers are the claims being checked, never inputs. Claims are read at the calibrated "
        f"platform values ({describe_point(data.swept_calibration(data.over)) or 'none swept'}); sensitivity "
        f"sweeps are in the experiments' figures. Sources of every cost: {_references(out)}."
        + ("" if data.manifests else " No manifest.yaml was found beside the results, so for each swept platform "
           "parameter the median swept value stands in for its calibrated value."),
        "",
        f"Experiments: {', '.join(experiments)}; {len(data.runs)} successful runs, "
        f"{data.over.attrs.get('failed_runs', 0)} failed runs left out. {steady} Every point's overhead is in "
        "`overheads.csv` beside this report.",
        *_provenance(data.runs),
        "",
        *_headline(data, rendered, out),
        "## Claims",
        "",
        *_claims_table(claims),
        "",
        *MEANING,
        EXACT_NOTE,
        "",
        *_estimated(data),
        *_explained(data, rendered, out),
        *page_table_lines(data.over, data.calibration),
        *lost_records_section(data),
        *hardware_section(data),
        *METHOD,
    ]
    for claim in claims:
        lines += [f"### {claim.claim}: {claim.verdict}", "", f"Paper: {claim.paper}. Simulated: {claim.simulated}.",
                  "", f"Conditions: {claim.conditions}." if claim.conditions else "",
                  *([f"Sensitivity: {claim.assumption_space}.", ""] if claim.assumption_space else [""]),
                  *claim.details, ""]
    lines += _experiments(data, rendered, out)
    lines += [f"- {note}" for note in rendered.notes.get(GLOBAL_UNIT, [])]
    table = parameter_table(data.runs, data.manifests)
    assumption = table["kind"] == "assumption"
    lines += [
        "",
        "## Calibrated parameters",
        "",
        f"Where each measurement comes from, in words: {_references(out)}.",
        "",
        *_table(table.loc[~assumption, ["parameter", "value", "kind", "range", "swept", "source"]]),
        "",
        "## Assumptions (no measurement found) and the range swept",
        "",
        *_table(table.loc[assumption, ["parameter", "value", "range", "swept", "source"]]),
        "",
    ]
    return "\n".join(lines)
