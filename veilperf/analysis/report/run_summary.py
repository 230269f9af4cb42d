"""What `veilperf run` says about each workload it simulated, built from the records alone: the
overhead against the baseline (pairing's, with its CI over replications), the baseline's and the
treatment's simulated time, Veil's added time by cause in one line, the services' settings that
differ from their defaults, and warnings (lost audit records, a saturated server, a large one-off
share, a noisy or estimated native time)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from veilperf.analysis.tables.columns import NATIVE_ESTIMATED, NATIVE_NOISY, SATURATED
from veilperf.analysis.tables.labels import ProfileCosts, settings_of
from veilperf.analysis.tables.lost import LostRecords
from veilperf.analysis.tables.pairing import ONEOFF_FLAG_SHARE, overheads
from veilperf.services.registry import SPECS
from veilperf.services.spec import Quantity, field_types
from veilperf.units import format_duration, format_size

CAUSE = "cause."


def _mean(records: Sequence[Mapping[str, Any]], column: str) -> float:
    values = [float(r[column]) for r in records if r.get(column) is not None]
    return float(np.mean(values)) if values else float("nan")


def cause_line(records: Sequence[Mapping[str, Any]]) -> str:
    """Veil's added time by cause (every ``cause.*`` column, mean over ``records``) with its share:
    ``1.42 ms added: switch 1.1 ms (77%), copy 201 us (14%), service 120 us (9%)``; causes that
    added nothing are left out."""
    causes = {c: _mean(records, c) for c in records[0] if c.startswith(CAUSE)} if records else {}
    causes = {c.removeprefix(CAUSE).removesuffix("_ns"): v for c, v in causes.items() if v > 0}
    total = sum(causes.values())
    if not total:
        return "added no time"
    parts = [f"{name} {format_duration(v)} ({v / total:.0%})" for name, v in sorted(causes.items(), key=lambda kv: -kv[1])]
    return f"{format_duration(total)} added: " + ", ".join(parts)


def _shown(value: Any, tp: Any) -> str:
    kind = next((m.kind for m in getattr(tp, "__metadata__", ()) if isinstance(m, Quantity)), None)
    if value is None:
        return "null"
    if kind == "size":
        return format_size(float(value))
    if kind == "duration":
        return format_duration(float(value))
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def settings_diff(settings: Any, defaults: Any, prefix: str = "") -> list[str]:
    """``key=value`` for every field of a service's ``settings`` that differs from ``defaults``
    (nested sections as dotted keys): ``rules.select=classes``, ``ring_size=80KiB``."""
    diff = []
    for name, tp in field_types(type(settings)).items():
        value, default = getattr(settings, name), getattr(defaults, name)
        if dataclasses.is_dataclass(value) and dataclasses.is_dataclass(default):
            diff += settings_diff(value, default, f"{prefix}{name}.")
        elif value != default:
            diff.append(f"{prefix}{name}={_shown(value, tp)}")
    return diff


def settings_line(record: Mapping[str, Any]) -> str:
    """Each service the record ran with, its short label and the settings that differ from the
    spec's defaults: ``log file+net: rules.select=classes, rules.classes=[file, network]``."""
    names = str(record.get("service", "none")).split("+")
    parts = []
    for spec in (s for s in SPECS if s.name in names):
        settings = settings_of(spec, record)
        diff = settings_diff(settings, spec.defaults)
        parts.append(f"{spec.short_label(settings)} ({', '.join(diff) if diff else 'as designed: every default'})")
    return "; ".join(parts) or "no protected service"


@dataclass
class WorkloadResult:
    """One workload of a `veilperf run`: its records, its overhead row (None without a baseline)
    and what to warn about."""

    workload: str
    treatments: list[dict]
    baselines: list[dict]
    overhead: pd.Series | None
    warnings: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return str(self.overhead["label"]) if self.overhead is not None else str(self.treatments[0]["service"])

    def overhead_json(self) -> dict[str, Any] | None:
        """The overhead for ``--json``: whole run and steady state (%, with their 95% CI when there
        are several replications), the baseline's and treatment's cost per unit of work (ns) and
        simulated time, the basis, saturation and the one-off share."""
        row = self.overhead
        if row is None:
            return None
        several = int(row["n"]) > 1

        def number(column: str) -> float | None:
            value = row.get(column)
            return None if value is None or pd.isna(value) else float(value)

        saturated = bool(row.get(SATURATED, False))
        return {
            "label": str(row["label"]), "basis": str(row["basis"]), "replications": int(row["n"]),
            "saturated": saturated,
            "whole_run_pct": None if saturated else number("overhead_pct"),
            "whole_run_ci_pct": [number("ci_low"), number("ci_high")] if several and not saturated else None,
            "steady_state_pct": None if saturated else number("steady_pct"),
            "steady_state_ci_pct": [number("steady_ci_low"), number("steady_ci_high")] if several and not saturated
            else None,
            "oneoff_share": number("oneoff_share"),
            "baseline_cost_ns": number("baseline_cost_ns"), "treatment_cost_ns": number("treatment_cost_ns"),
            "baseline_time_ns": _mean(self.baselines, "sim_time_ns"),
            "treatment_time_ns": _mean(self.treatments, "sim_time_ns"),
        }


def run_results(records: Sequence[dict], profiles: ProfileCosts) -> list[WorkloadResult]:
    """Per workload (in the records' order), its treatment and baseline records and its overhead
    row (``pairing.overheads``: the sweep's pairing and CI), with the warnings of :func:`warnings_of`.
    ``records`` carry the sweep's identity columns (experiment, point_id, pair_key, role, replication)."""
    frame = pd.DataFrame(list(records))
    table = overheads(frame, profiles=profiles) if (frame["role"] == "baseline").any() else None
    results = []
    for workload in dict.fromkeys(frame["workload"]):
        mine = [r for r in records if r["workload"] == workload]
        treatments = [r for r in mine if r["role"] == "treatment"] or [r for r in mine if r["role"] == "baseline"]
        baselines = [r for r in mine if r["role"] == "baseline" and treatments and r not in treatments]
        rows = table[table["workload"] == workload] if table is not None else pd.DataFrame()
        row = rows.iloc[0] if len(rows) else None
        result = WorkloadResult(str(workload), treatments, baselines, row)
        result.warnings = warnings_of(result)
        results.append(result)
    return results


def means(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One record standing for ``records`` (replications of one point): numbers averaged, other
    values taken from the first."""
    first = dict(records[0])
    numbers = [c for c, v in first.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return first | {c: _mean(records, c) for c in numbers}


def _saturation(result: WorkloadResult) -> str:
    for who, records in (("the server", result.treatments), ("the baseline's server", result.baselines)):
        if any(bool(r.get(SATURATED)) for r in records):
            return (f"saturated: {who} could not keep up with its offered load (arrival rate x VCPU time per "
                    f"request = {_mean(records, 'offered_load'):.2f} of its VCPUs): its latency measures the run's "
                    "length, so no overhead is given; lower the arrival rate or add VCPUs")
    return ""


def _native_time(result: WorkloadResult) -> str:
    records = result.treatments + result.baselines
    if any(bool(r.get(NATIVE_NOISY)) for r in records):
        return (f"noisy native measurement: {result.workload}'s recorded runs spread beyond +/-15% of their median "
                f"(`veilperf workload show` gives the range), so its baseline time and this overhead are uncertain "
                "by as much: record it again on a quieter machine or with more --runs")
    if any(bool(r.get(NATIVE_ESTIMATED)) for r in records):
        return (f"estimated native time: {result.workload}'s run time was estimated from its trace alone "
                "(`veilperf workload show` gives the range): record the program for a measured baseline")
    return ""


def warnings_of(result: WorkloadResult) -> list[str]:
    """Lost audit records (how many, why, what avoids it), a saturated server, a one-off set-up above
    a quarter of Veil's added time, a noisy or estimated native time."""
    lines = []
    lost = LostRecords.of(means(result.treatments))
    if lost is not None:
        lines.append(lost.text())
    row = result.overhead
    saturation = _saturation(result)
    if saturation:
        lines.append(saturation)
    elif row is not None and pd.notna(row["oneoff_share"]) and row["oneoff_share"] > ONEOFF_FLAG_SHARE:
        oneoff = format_duration(_mean(result.treatments, "oneoff_ns"))
        lines.append(f"the one-off set-up ({oneoff}: enclave creation and replicas) is {row['oneoff_share']:.0%} of "
                     f"Veil's added time: the steady state ({row['steady_pct']:+.2f}%) is what a long-running "
                     "instance pays")
    native = _native_time(result)
    if native:
        lines.append(native)
    return lines
