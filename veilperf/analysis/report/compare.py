"""`veilperf compare`'s table, files and figure, from the results of its generated experiment
(:mod:`veilperf.config.compare`) alone: one row per program x service.

Columns: the program's native time and range (its provenance, carried in the records), Veil
crossings per second of native run time (the services' crossing definitions and the records'
counts: :mod:`veilperf.analysis.claims.crossings`), the whole-run and steady-state overhead with
their 95% CIs, the one-off share, the share of audit records lost, where the overhead falls
against the paper's 2-64%, the three system calls that add the most Veil time, Veil's added time
by cause (every ``cause.*`` column the records carry, with shares), and flags.

The top system calls are a closed form, not a measurement: each call's count in the workload's
own run (``workload show``'s summary) x the crossings one such call makes under the point's
settings (:data:`CROSSINGS_PER_CALL`) x the cost of one crossing the record carries (the first
part of the service's crossing: an ocall, a log append call, at the run's mean bytes or records).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from veilperf.analysis.claims.crossings import crossing_models, crossing_points
from veilperf.analysis.claims.verdicts import SERVICE_CLAIM_PCT
from veilperf.analysis.report.console import lost_share
from veilperf.analysis.report.run_summary import cause_line
from veilperf.analysis.tables.columns import NATIVE_ESTIMATED, SATURATED
from veilperf.analysis.tables.figdata import FigureData
from veilperf.analysis.tables.labels import settings_of
from veilperf.analysis.tables.pairing import ONEOFF_FLAG_SHARE
from veilperf.config.workload import WorkloadSpec
from veilperf.services.registry import SPECS
from veilperf.units import format_duration

NATIVE = "cfg.workload.provenance.native."
TOP_CALLS = 3

CROSSINGS_PER_CALL: dict[str, Callable[[Any, str, bool], float]] = {
    "enc": lambda settings, name, vdso: 0.0 if vdso else 1.0,  # every call the kernel serves is an ocall
    "log": lambda settings, name, vdso: len(settings.record_sizes_for(name)) / settings.records_per_call,
}
"""Per service, the crossings one system call ``name`` makes under ``settings`` (its first crossing
part: an ocall; a log append call per record the audit rules produce, over the batch size). A
service without an entry (VeilS-Kci: no system call crosses) has no top calls."""

COLUMNS = ["program", "service", "native", "native_low", "native_high", "native_source", "crossings_per_s",
           "overhead_pct", "ci_low", "ci_high", "steady_pct", "steady_ci_low", "steady_ci_high", "oneoff_share",
           "lost_share", "band", "top_calls", "causes", "flags"]


def _vdso_names(spec: WorkloadSpec) -> set[str]:
    """Names of the calls the workload serves in user space (vDSO)."""
    steps = [*(spec.steps or ()), *(s for lane in spec.replay or () for s in lane)]
    names = {s.syscall.name for s in steps if s.syscall is not None and s.syscall.vdso}
    return names | {c.name for c in (spec.mix.calls if spec.mix is not None else ()) if c.vdso}


def top_calls(row: Mapping[str, Any], run: Mapping[str, Any], workload: WorkloadSpec) -> list[tuple[str, float]]:
    """The system calls that add the most Veil time to the point ``row`` (an overhead row: its mean
    costs), whose services' settings ``run`` (one of its runs' records) holds, as (name, ns per
    run), largest first (module docstring)."""
    from veilperf.trace.show import summarize  # the trace package loads only here

    calls = summarize(workload).by_call
    vdso = _vdso_names(workload)
    added: dict[str, float] = {}
    for spec in SPECS:
        per_call = CROSSINGS_PER_CALL.get(spec.name)
        if spec.name not in str(row.get("service", "")).split("+") or per_call is None or spec.crossing is None:
            continue
        cost = row.get(spec.crossing.parts[0].cost)
        if cost is None or cost != cost:
            continue
        settings = settings_of(spec, run)
        for name, stats in calls.items():
            added[name] = added.get(name, 0.0) + stats.calls * per_call(settings, name, name in vdso) * float(cost)
    ranked = sorted(((n, t) for n, t in added.items() if t > 0), key=lambda item: -item[1])
    return ranked[:TOP_CALLS]


def _band(row: pd.Series) -> str:
    low, high = SERVICE_CLAIM_PCT
    if bool(row.get(SATURATED, False)):
        return "saturated"
    value = row["overhead_pct"]
    return "inside" if low <= value <= high else ("below" if value < low else "above")


def _flags(row: pd.Series, native: Mapping[str, Any]) -> str:
    flags = []
    if bool(row.get(SATURATED, False)):
        flags.append("saturated")
    if native.get("source") == "estimated" or bool(row.get(NATIVE_ESTIMATED, False)):
        flags.append("estimated native")
    if pd.notna(row.get("oneoff_share")) and row["oneoff_share"] > ONEOFF_FLAG_SHARE:
        flags.append("one-off > 25%")
    return ", ".join(flags)


def compare_table(data: FigureData, workloads: Mapping[str, WorkloadSpec]) -> pd.DataFrame:
    """One row per program (``workloads`` by name) x service setting of the compare results ``data``."""
    over = data.over[(data.over["kind"] == "workload") & (data.over["service"] != "none")].copy()
    if over.empty:
        return pd.DataFrame(columns=COLUMNS)
    over["lost_share"] = lost_share(over)
    table = crossing_points(over, crossing_models(over, data.manifests))
    rates = {(r["workload"], r["label"]): r["rate_per_s"] for _, r in table.iterrows()} if len(table) else {}
    runs = data.runs[data.runs["role"] == "treatment"].groupby(["experiment", "point"]).head(1)
    run_of = {(r["experiment"], r["point"]): r for r in runs.to_dict("records")}
    rows = []
    for _, row in over.sort_values(["workload", "service", "label"]).iterrows():
        run = run_of[(row["experiment"], row["point"])]
        native = {k.removeprefix(NATIVE): v for k, v in run.items() if k.startswith(NATIVE)}
        saturated = bool(row.get(SATURATED, False))
        spec = workloads.get(row["workload"])
        calls = top_calls(row, run, spec) if spec is not None else []
        total = sum(t for _, t in calls)
        rows.append({
            "program": row["workload"], "service": row["label"],
            "native": native.get("wall"), "native_low": native.get("low"), "native_high": native.get("high"),
            "native_source": native.get("source"),
            "crossings_per_s": rates.get((row["workload"], row["label"]), 0.0),
            **{c: (None if saturated else row[c]) for c in COLUMNS[7:13]},
            "oneoff_share": row["oneoff_share"], "lost_share": row["lost_share"], "band": _band(row),
            "top_calls": ", ".join(f"{n} {format_duration(t)} ({t / total:.0%})" for n, t in calls),
            "causes": cause_line([row.to_dict()]),
            "flags": _flags(row, native),
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def _pct(value: Any, low: Any = None, high: Any = None) -> str:
    """``342.8 ±13.2``: a mean with the half-width of its (symmetric) 95% t-interval, when there is one."""
    if value is None or value != value:
        return "-"
    ci = f" ±{(high - low) / 2:.1f}" if low is not None and low == low and high != low else ""
    return f"{value:.1f}{ci}"


def _native(wall: Any, low: Any, high: Any) -> str:
    """``27 ms (26.7–27.4 ms)``."""
    if wall is None or wall != wall:
        return "-"
    ends = [format_duration(v) for v in (low, high)]
    units = {e.split()[1] for e in ends}
    span = f"{ends[0].split()[0]}–{ends[1]}" if len(units) == 1 else " to ".join(ends)
    return f"{format_duration(wall)} ({span})"


def shown_rows(table: pd.DataFrame, brief: bool = False) -> list[dict[str, str]]:
    """The table as text cells, for Markdown, or ``brief``ly for a terminal (the top calls by name)."""
    out = []
    for _, r in table.iterrows():
        native = _native(r["native"], r["native_low"], r["native_high"])
        out.append({
            "program": str(r["program"]), "service": str(r["service"]), "native (range)": native,
            "crossings/s": f"{r['crossings_per_s']:,.0f}",
            "whole run %": "saturated" if r["band"] == "saturated" else _pct(r["overhead_pct"], r["ci_low"],
                                                                                     r["ci_high"]),
            "steady %": "saturated" if r["band"] == "saturated" else _pct(r["steady_pct"],
                                                                                  r["steady_ci_low"],
                                                                                  r["steady_ci_high"]),
            "one-off": "-" if r["oneoff_share"] != r["oneoff_share"] else f"{r['oneoff_share']:.0%}",
            "lost": "" if not r["lost_share"] > 0 else f"{r['lost_share']:.0%}",
            "vs 2-64%": str(r["band"]), "flags": str(r["flags"]),
            "top calls" if brief else "top calls (Veil time)":
                ", ".join(c.split()[0] for c in str(r["top_calls"]).split(", ") if c) if brief else str(r["top_calls"]),
            **({} if brief else {"Veil time by cause (mean per run)": str(r["causes"])}),
        })
    return out


NOTES = [
    "native: the program's own run time and its range (measured by `veilperf workload record`, or estimated from its "
    "trace alone); crossings/s: Veil crossings (ocalls, audit-log calls, KCI calls) per second of the CVM baseline's "
    "simulated run, from the records' counts; whole run and steady state (one-off set-up taken out) against the plain SNP CVM, same "
    "seed, ± the half-width of the 95% CI over replications; lost: audit records overwritten before the reader read them; each audit record is its own service call "
    "(two switches). Top calls: a closed form, each call's count in the workload x the crossings it makes x the cost "
    "of one the record carries (not a measurement).",
]


def markdown(table: pd.DataFrame) -> str:
    """The table as Markdown, with the notes under it."""
    rows = shown_rows(table)
    if not rows:
        return "No protected-service points in these results.\n"
    heads = list(rows[0])
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    lines += ["| " + " | ".join(r[h].replace("|", "\\|") for h in heads) + " |" for r in rows]
    return "\n".join(["# What Veil would cost these programs", "", *lines, "", *NOTES]) + "\n"


def write_outputs(table: pd.DataFrame, out: Path, formats: list[str]) -> list[Path]:
    """``compare.<fmt>`` in ``out`` for each of ``formats`` (md, csv, json), written atomically."""
    from veilperf.sweep.paths import write_atomic

    texts = {"md": lambda: markdown(table), "csv": lambda: table.to_csv(index=False, float_format="%.6g"),
             "json": lambda: table.to_json(orient="records", indent=1)}
    written = []
    for fmt in formats:
        path = out / f"compare.{fmt}"
        text = texts[fmt]()
        written.append(write_atomic(path, lambda tmp, text=text: tmp.write_text(text, encoding="utf-8"), "write"))
    return written


def write_figure(data: FigureData, out: Path) -> Path | str:
    """The crossings figure of just these programs (``analysis.figures.headline.crossings``) as
    ``crossings.png`` in ``out``, or the reason it cannot be drawn."""
    import matplotlib

    from veilperf.analysis.figures.headline import crossings
    from veilperf.analysis.figures.style import STYLE, save_figure

    with matplotlib.rc_context(STYLE):
        figure = crossings(data)
        if isinstance(figure, str):
            return figure
        return save_figure(figure, out / "crossings.png", "png")


def print_compare(results: Path, workload_files: list[Path], out: Path, formats: list[str],
                  console: Any = None) -> None:
    """Read the compare results under ``results``, print the table and its notes, write
    ``compare.<fmt>`` and ``crossings.png`` in ``out`` and say where."""
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from veilperf.analysis.report.outputs import Inputs
    from veilperf.trace.show import load_workload

    console = console or Console(width=None if Console().is_terminal else 160)
    data = Inputs.of([results]).data
    workloads = {spec.name: spec for spec in map(load_workload, workload_files)}
    table = compare_table(data, workloads)
    shown = shown_rows(table, brief=True)
    if shown:
        console.print("What Veil would cost these programs (vs the plain SNP CVM; Veil time per call: compare.md)")
        grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        numbers = ("crossings/s", "whole run %", "steady %", "one-off", "lost")
        for head in shown[0]:
            grid.add_column(head, justify="right" if head in numbers else "left", overflow="fold")
        for row in shown:
            grid.add_row(*(escape(v) for v in row.values()))
        console.print(grid)
    for note in NOTES:
        console.print(escape(note), overflow="fold")
    written = write_outputs(table, out, formats)
    figure = write_figure(data, out)
    shown_figure = str(figure) if isinstance(figure, Path) else f"no crossings figure ({figure})"
    console.print(escape(f"wrote {', '.join(map(str, written))}; {shown_figure}"), overflow="fold")
