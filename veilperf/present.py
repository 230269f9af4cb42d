"""What `veilperf run` prints: per workload a row (native, baseline and Veil simulated time,
overhead), Veil's added time by cause and warnings, each record's metric table with ``--details``,
or all of it as JSON."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from veilperf.config.set_axes import value_text
from veilperf.services.registry import SPECS
from veilperf.units import format_duration

WIDTH = 120
"""Columns of the output when it is not a terminal (a terminal's own width otherwise)."""
_SECTIONS = (*(spec.name for spec in SPECS), "boot")
"""Record prefixes shown as sections of their own: each registered service's, and boot's."""
from veilperf.analysis.tables.columns import SWITCH_COSTS as _SWITCH_COSTS

_SUMMARY = (
    ("sim_time_ns", "simulated time", "duration"),
    ("completed", "iterations / requests completed", "count"),
    ("throughput_per_s", "throughput (per s)", "rate"),
    ("latency_mean_ns", "latency mean", "duration"),
    ("latency_p50_ns", "latency p50", "duration"),
    ("latency_p99_ns", "latency p99", "duration"),
    ("switches_total", "domain switches", "count"),
)


def _fmt(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if kind == "duration":
        return format_duration(float(value))
    if kind == "rate":
        return f"{float(value):,.1f}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.3f}"
    return f"{int(value):,}" if isinstance(value, (int, float)) else str(value)


def record_rows(record: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(section, metric, formatted value) rows: summary, switches, time, causes, services."""
    rows = [("run", label, _fmt(record.get(key), kind)) for key, label, kind in _SUMMARY if key in record]
    for key, value in record.items():
        if key.startswith("switches.") and value:
            rows.append(("switches", key.removeprefix("switches.").replace("_", " -> "), _fmt(value, "count")))
    for key, value in record.items():
        if key.startswith("time."):
            rows.append(("time (all VCPUs)", key.removeprefix("time.").removesuffix("_ns"), _fmt(value, "duration")))
    for key, value in record.items():
        if key.startswith("cause.") and value:
            rows.append(("Veil-added, by cause", key.removeprefix("cause.").removesuffix("_ns"), _fmt(value, "duration")))
    for key, value in record.items():
        if key.split(".")[0] in _SECTIONS:
            kind = "duration" if key.endswith("_ns") else "count"
            rows.append((key.split(".")[0], key.split(".", 1)[1], _fmt(value, kind)))
    rows += _cost_rows(record)
    rows.append(("simulator", "events", _fmt(record.get("events"), "count")))
    rows.append(("simulator", "wall time (s)", f"{record.get('wall_s', float('nan')):.3f}"))
    return rows


def _cost_rows(record: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The resolved costs (``costs.*``): the switch once when every direction costs the same."""
    switches = {k.removeprefix(_SWITCH_COSTS).removesuffix("_ns"): v for k, v in record.items()
                if k.startswith(_SWITCH_COSTS)}
    if len(set(switches.values())) == 1:
        switches = {"one way, every direction": next(iter(switches.values()))}
    rows = [("costs used", f"switch {name.replace('_', ' -> ')}", _fmt(value, "duration"))
            for name, value in switches.items()]
    rows += [("costs used", key.removeprefix("costs.").removesuffix("_ns"), _fmt(value, "duration"))
             for key, value in record.items() if key.startswith("costs.") and not key.startswith(_SWITCH_COSTS)]
    return rows


def print_record(record: dict[str, Any], title: str, console: Console | None = None) -> None:
    """Print the record's rows as one table."""
    table = Table(title=title, show_lines=False)
    table.add_column("section", style="dim")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for section, metric, value in record_rows(record):
        table.add_row(section, metric, value)
    (console or Console()).print(table)


def _native(record: dict[str, Any]) -> str:
    """The workload's native run time and its range, from the record's provenance columns."""
    prefix = "cfg.workload.provenance.native."
    wall, low, high = (record.get(prefix + k) for k in ("wall", "low", "high"))
    if wall is None or wall != wall:
        return "-"
    estimated = " estimated" if record.get(prefix + "source") == "estimated" else ""
    return f"{format_duration(wall)}{estimated} ({format_duration(low)} to {format_duration(high)})"


def _overhead(row: Any) -> tuple[str, str]:
    """(whole run, steady state) of an overhead row: ``+0.74% [+0.70, +0.78]`` with a CI over
    several replications, ``saturated`` for a server that could not keep up."""
    if row is None:
        return "-", "-"
    if bool(row.get("saturated", False)):
        return "saturated", "saturated"
    if row["basis"] == "boot_time":
        return f"{row['increment_ns'] / 1e9:+.3f} s ({row['overhead_pct']:+.2f}%)", "-"

    def pct(column: str, low: str, high: str) -> str:
        value = row[column]
        if value != value:
            return "-"
        ci = f" [{row[low]:+.2f}, {row[high]:+.2f}]" if row["n"] > 1 else ""
        return f"{value:+.2f}%{ci}"

    return pct("overhead_pct", "ci_low", "ci_high"), pct("steady_pct", "steady_ci_low", "steady_ci_high")


_BASIS = {"sim_time": "time per iteration", "throughput": "1 / throughput", "latency": "mean latency per request",
          "boot_time": "boot time"}


def run_heading(exp: Any, results: list[Any]) -> list[str]:
    """What `veilperf run` simulated: the experiment, its services and their settings, the baseline,
    the replications, the costs (the profile's or which differ), the sweep axes it leaves out."""
    from veilperf.analysis.report.run_summary import settings_line
    from veilperf.analysis.tables.labels import off_profile_text, profile_costs
    import pandas as pd

    first = results[0].treatments[0]
    records = pd.DataFrame([r for result in results for r in result.treatments])
    off = off_profile_text(records, profile_costs({exp.name: {"platforms": list(exp.platforms.values())}}))
    platform = first.get("cfg.platform.name", "")
    replications = f"{exp.replications} replication" + ("s" if exp.replications > 1 else "")
    baseline = ", ".join(f"{k}={value_text(v)}" for k, v in exp.baseline.items())
    lines = [f"{exp.name}: {settings_line(first)}",
             f"  against: {baseline} (same seed); {replications}" if baseline else f"  no baseline; {replications}",
             f"  costs: {platform} profile, " + (f"at {off}" if off else "calibrated")]
    axes = [a for a, values in [*exp.grid.items(), *(kv for group in exp.zip for kv in group.items())]
            if len({value_text(v) for v in values}) > 1]
    if axes:
        lines.append(f"  the experiment's own values, without its sweep axes ({', '.join(axes)}): "
                     "`veilperf sweep` runs those")
    return lines


def print_run(exp: Any, results: list[Any], details: bool = False, console: Console | None = None) -> None:
    """`veilperf run`'s output: the heading, one row per workload, then per workload Veil's added time
    by cause and its warnings; ``details`` adds every treatment record's metric table."""
    console = console or Console(width=None if Console().is_terminal else WIDTH)
    for line in run_heading(exp, results):
        console.print(escape(line), overflow="fold")
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in ("workload", "native", "baseline (sim)", "Veil (sim)", "overhead", "steady state", "basis"):
        table.add_column(column, justify="left" if column in ("workload", "basis") else "right")
    for result in results:
        row = result.overhead
        whole, steady = _overhead(row)
        baseline = format_duration(float(row["baseline_cost_ns"])) if row is not None and row["basis"] == "boot_time" \
            else _time(result.baselines)
        table.add_row(escape(result.workload), _native(result.treatments[0]), baseline, _time(result.treatments),
                      whole, steady, _BASIS.get(str(row["basis"]), "") if row is not None else "")
    console.print(table)
    from veilperf.analysis.report.run_summary import cause_line

    for result in results:
        if any(c.startswith("cause.") for c in result.treatments[0]):  # boots have no causes
            console.print(escape(f"{result.workload}: Veil {cause_line(result.treatments)}"), overflow="fold")
        for warning in result.warnings:
            console.print(escape(f"  warning: {warning}"), overflow="fold")
    if details:
        for result in results:
            print_record(result.treatments[0], f"{exp.name}: {result.workload} ({result.label})", console)


def _time(records: list[dict[str, Any]]) -> str:
    values = [float(r["sim_time_ns"]) for r in records if "sim_time_ns" in r]
    return format_duration(sum(values) / len(values)) if values else "-"


def run_json(exp: Any, results: list[Any]) -> dict[str, Any]:
    """`veilperf run --json`: per workload its overhead (whole run, steady state, baseline time, CI over
    replications), settings, causes and warnings beside its treatment and baseline records."""
    from veilperf.analysis.report.run_summary import cause_line, settings_line

    return {"experiment": exp.name, "file": str(exp.file), "replications": exp.replications,
            "results": [{"workload": r.workload, "settings": settings_line(r.treatments[0]),
                         "overhead": r.overhead_json(), "causes": cause_line(r.treatments), "warnings": r.warnings,
                         "records": r.treatments, "baselines": r.baselines} for r in results]}
