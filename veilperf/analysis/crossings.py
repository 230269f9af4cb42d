"""The claim explained: a protected service's overhead is about (Veil crossings per second of native
run time) x (cost of one crossing). The cost of one crossing is derived here from the platform's
mechanism costs (the manifest's profile), never from the paper's results.

- enclave ocall (``enc.ocalls``): exit + entry, two one-way domain switches (VeilMon is not on this
  path), plus a fixed copy round each way through the shared message buffer.
- logging service call (``log.calls`` writing records, ``log.read_calls`` reading them back): a call
  into DomSer, two switches; VeilMon maps and unmaps the calling area and dispatches; the record
  is copied twice (audit hook -> transit buffer, service -> ring), each copy a fixed round plus
  its bytes at memcpy bandwidth.
- kernel-code-integrity service call (``kci.calls``): two switches, map/unmap, dispatch, and one
  RMPADJUST per page it changes.

Per-byte argument copies of ocalls, queueing and idle time are not in this closed form, so a point
can sit above its curve; the report says by how much.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from veilperf.analysis.claims import SERVICE_CLAIM_PCT
from veilperf.analysis.figdata import distinguishing_settings
from veilperf.analysis.profile import find_profile, profile_ranges
from veilperf.units import format_duration

SWITCH_PARTS = ("switch_exit", "switch_vmsa_swap", "switch_entry")


@dataclass(frozen=True)
class CrossingModel:
    """One service's crossing: what is counted, and its cost at calibration and at the ends of the
    one-way switch cost's range (ns)."""

    service: str
    what: str  # "ocalls", "service calls"
    count_columns: tuple[str, ...]  # summed
    cost_ns: float
    cost_low_ns: float
    cost_high_ns: float
    switch_ns: tuple[float, float, float]  # calibrated, low, high
    formula: str

    def rate_at(self, overhead_pct: float, cost_ns: float | None = None) -> float:
        """Crossings per second of native run time at which ``overhead_pct`` is reached."""
        return overhead_pct / 100.0 / ((cost_ns or self.cost_ns) * 1e-9)


def _switch(profile_raw: dict[str, Any], params: dict[str, tuple[float, float, float]]) -> tuple[float, float, float]:
    """One-way switch cost (calibrated, low, high): ``switch_one_way``, or the sum of its parts when
    the profile's ``switch_model`` is ``parts``."""
    if profile_raw.get("switch_model") == "parts" and all(p in params for p in SWITCH_PARTS):
        return tuple(sum(params[p][i] for p in SWITCH_PARTS) for i in range(3))  # type: ignore[return-value]
    return params["switch_one_way"]


def _median_ratio(points: pd.DataFrame, numerator: str, denominator: str) -> float:
    if numerator not in points or denominator not in points:
        return 0.0
    ratio = (points[numerator] / points[denominator]).replace([np.inf, -np.inf], np.nan).dropna()
    return float(ratio.median()) if len(ratio) else 0.0


def _models(params: dict[str, tuple[float, float, float]], points: pd.DataFrame,
            switch: tuple[float, float, float]) -> list[CrossingModel]:
    value = {name: v[0] for name, v in params.items()}
    copy_fixed = value.get("channel_fixed", 0.0)
    monitor = value.get("monitor_map_unmap", 0.0) + value.get("monitor_dispatch", 0.0)
    bandwidth = value.get("memcpy_bandwidth", np.inf)
    record_bytes = _median_ratio(points[points["service"] == "log"], "log.bytes", "log.records")
    pages = _median_ratio(points[points["service"] == "kci"], "kci.pages", "kci.calls")
    builders: dict[str, tuple[str, tuple[str, ...], Callable[[float], float], str]] = {
        "enc": ("ocalls", ("enc.ocalls",), lambda s: 2 * s + 2 * copy_fixed,
                "2 x switch_one_way + 2 x channel_fixed"),
        "log": ("service calls (writes and reads)", ("log.calls", "log.read_calls"),
                lambda s: 2 * s + monitor + 2 * (copy_fixed + record_bytes / bandwidth * 1e9),
                f"2 x switch_one_way + monitor_map_unmap + monitor_dispatch + 2 x (channel_fixed + "
                f"{record_bytes:.0f} B / memcpy_bandwidth)"),
        "kci": ("service calls", ("kci.calls",), lambda s: 2 * s + monitor + pages * value.get("rmpadjust", 0.0),
                f"2 x switch_one_way + monitor_map_unmap + monitor_dispatch + {pages:.1f} pages x rmpadjust"),
    }
    models = []
    for service, (what, columns, cost, formula) in builders.items():
        if columns[0] in points and (points["service"] == service).any():
            models.append(CrossingModel(service, what, columns, cost(switch[0]), cost(switch[1]), cost(switch[2]),
                                        switch, formula))
    return models


def crossing_models(points: pd.DataFrame, manifests: dict[str, dict[str, Any]]) -> list[CrossingModel]:
    """A crossing model per service present in ``points`` (overhead rows) whose crossing count is
    recorded; empty without a manifest holding the platform profile."""
    params = profile_ranges(manifests)
    profile = next((p for p in (find_profile(manifests[e]) for e in sorted(manifests)) if p is not None), None)
    if profile is None or "switch_one_way" not in params:
        return []
    return _models(params, points, _switch(profile, params))


def crossing_points(points: pd.DataFrame, models: list[CrossingModel]) -> pd.DataFrame:
    """Per point: crossings per second of native run time (``rate_per_s``), the overhead the curve
    predicts at calibration (``curve_pct``) and the simulated one (``simulated_pct``: steady-state
    where known, else whole-run)."""
    rows = []
    for model in models:
        frame = points[(points["service"] == model.service) & points[model.count_columns[0]].notna()]
        count = sum(frame[c].fillna(0.0) for c in model.count_columns if c in frame)
        per_unit = count / frame["completed"].where(frame["completed"] > 0, 1.0)
        rate = per_unit / frame["baseline_cost_ns"] * 1e9
        simulated = frame["steady_pct"].where(frame["steady_pct"].notna(), frame["overhead_pct"])
        rows.append(frame.assign(rate_per_s=rate, curve_pct=rate * model.cost_ns * 1e-9 * 100,
                                 simulated_pct=simulated, steady=frame["steady_pct"].notna(),
                                 shown_setting=distinguishing_settings(frame)))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def explain(points: pd.DataFrame, models: list[CrossingModel]) -> list[str]:
    """The report paragraph: per service, the cost of one crossing, the crossing rates at which the
    overhead reaches the band's ends, and where each workload falls."""
    low, high = SERVICE_CLAIM_PCT
    if not models:
        return ["No crossing counts or platform profile in these results: the claim cannot be explained "
                "from crossing rates."]
    table = crossing_points(points, models)
    lines = [
        "A protected service costs its program about (Veil crossings per second of native run time) x "
        "(cost of one crossing). The cost of a crossing is derived from the platform's mechanism costs "
        "(docs/references.md), not from the paper; the band's ends then become crossing rates:",
        "",
    ]
    for model in models:
        s, s_low, s_high = model.switch_ns
        r_low, r_high = model.rate_at(low), model.rate_at(high)
        lines.append(
            f"- **{model.service}** ({model.what}): {model.formula} = {format_duration(model.cost_ns)} per "
            f"crossing at calibration (switch {format_duration(s)}; {format_duration(model.cost_low_ns)}–"
            f"{format_duration(model.cost_high_ns)} over the switch range {format_duration(s_low)}–"
            f"{format_duration(s_high)}). {low:g}% is reached at {r_low:,.0f} crossings/s and {high:g}% at "
            f"{r_high:,.0f}/s (over the switch range: {model.rate_at(low, model.cost_high_ns):,.0f}–"
            f"{model.rate_at(low, model.cost_low_ns):,.0f}/s and {model.rate_at(high, model.cost_high_ns):,.0f}–"
            f"{model.rate_at(high, model.cost_low_ns):,.0f}/s).")
        rows = table[table["service"] == model.service].sort_values("rate_per_s")
        for _, r in rows.iterrows():
            where = "inside" if low <= r["simulated_pct"] <= high else ("below" if r["simulated_pct"] < low else "above")
            ratio = r["simulated_pct"] / r["curve_pct"] if r["curve_pct"] > 0 else np.nan
            setting = f", {r['shown_setting']}" if r["shown_setting"] else ""
            lines.append(f"  - {r['workload']}{setting}: {r['rate_per_s']:,.0f}/s -> {r['simulated_pct']:.1f}% "
                         f"simulated ({where}; the count x cost curve gives {r['curve_pct']:.1f}%"
                         + (f", simulated/curve {ratio:.2f}" if np.isfinite(ratio) else "") + ")")
    lines += ["", "Programs land inside the paper's band when their crossing rate lies between those two "
              "rates. A simulated point sits above its curve by what the closed form leaves out (argument "
              "bytes copied, queueing for a busy VCPU), below it when crossings overlap with other threads' "
              "work or with time blocked in the kernel (the run's elapsed time grows by less than their sum)."]
    return lines
