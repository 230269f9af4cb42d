"""Render one run record as a readable terminal table (used by ``veilperf run``)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from veilperf.services.registry import SPECS
from veilperf.units import format_duration

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
