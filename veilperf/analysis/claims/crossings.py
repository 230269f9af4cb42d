"""The claim explained: a protected service's overhead is about (Veil crossings per second of native
run time) x (cost of one crossing).

What a crossing is comes from each service's spec (``ServiceSpec.crossing``: the record columns
counting crossings and the ``costs.*`` column holding the cost of one); the cost is the one the
model charged, read from the record (the service wrote it with the cost module's functions, at the
run's mean argument bytes, records or pages per call), never re-derived here nor taken from the
paper. A point's cost per crossing is the count-weighted mean over its kinds of crossing; a
service's is the median over its points. Only the switch range (the ends of the platform
profile's range for the one-way switch, or for its parts) comes from the manifest, to move the
switching part of each cost to the range's ends. Results on several platforms get one model per
service and platform (each with its own profile's range): costs of two platforms are never pooled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from veilperf.analysis.claims.verdicts import SERVICE_CLAIM_PCT
from veilperf.analysis.tables.figdata import SERVICE_LABEL, distinguishing_settings
from veilperf.analysis.tables.columns import PLATFORM, SWITCH_COSTS
from veilperf.analysis.tables.profile import find_profile, platforms_in, profile_ranges
from veilperf.model.charges import SWITCH_MODELS, at_switch, switch_one_way_ns
from veilperf.services.registry import SPECS
from veilperf.services.spec import ServiceSpec
from veilperf.units import format_duration

"""Prefix of the record's per-direction switch costs (``costs.switch.<from>_<to>_ns``)."""


@dataclass(frozen=True)
class CrossingModel:
    """One service's crossing: its spec, the cost of one crossing (median over the service's
    points, and that median with every switch at the ends of the switch range), the one-way switch
    the points ran with and the range's ends (ns; equal to it without a platform profile)."""

    spec: ServiceSpec
    platform: str | None  # None: the results hold one platform
    cost_ns: float
    cost_low_ns: float
    cost_high_ns: float
    cost_spread: tuple[float, float]  # lowest and highest point cost
    switch_ns: tuple[float, float, float]  # as recorded (median), range low, range high
    points: int

    @property
    def service(self) -> str:
        return self.spec.name

    @property
    def count_columns(self) -> tuple[str, ...]:
        return self.spec.crossing.count_columns

    @property
    def title(self) -> str:
        """``enc``, or ``enc on genoa`` when the results hold several platforms."""
        return self.service + (f" on {self.platform}" if self.platform else "")

    @property
    def has_range(self) -> bool:
        """Whether the switch range is known (a platform profile with a range was found)."""
        return self.switch_ns[1] != self.switch_ns[2]

    def rate_at(self, overhead_pct: float, cost_ns: float | None = None) -> float:
        """Crossings per second of native run time at which ``overhead_pct`` is reached."""
        return overhead_pct / 100.0 / ((cost_ns or self.cost_ns) * 1e-9)

    @staticmethod
    def overhead_pct(rate_per_s: Any, cost_ns: Any) -> Any:
        """The count x cost curve: overhead (%) of ``rate_per_s`` crossings per second of native
        run time at ``cost_ns`` each (numbers or arrays)."""
        return rate_per_s * cost_ns * 1e-9 * 100


def recorded_switch_ns(frame: pd.DataFrame) -> pd.Series:
    """Per row, the one-way switch the run was charged: the mean of its ``costs.switch.*``
    columns (every direction costs the same on the shipped platforms)."""
    columns = [c for c in frame.columns if c.startswith(SWITCH_COSTS)]
    return frame[columns].mean(axis=1) if columns else pd.Series(np.nan, index=frame.index)


def _per_point(frame: pd.DataFrame, spec: ServiceSpec) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(crossings per unit of work, cost of one, its switching part) of each row of ``frame``."""
    parts = [p for p in spec.crossing.parts if p.count in frame]
    counts = [frame[p.count].fillna(0.0) for p in parts]
    total = sum(counts) if counts else pd.Series(0.0, index=frame.index)
    spent = sum(c * frame[p.cost] for c, p in zip(counts, parts) if p.cost in frame)
    switching = sum(c * frame[p.switching] for c, p in zip(counts, parts) if p.switching in frame)
    crossings = total.where(total > 0)
    per_unit = total / frame["completed"].where(frame["completed"] > 0, 1.0)
    return per_unit, spent / crossings, switching / crossings


def _switch_range(manifests: dict[str, dict[str, Any]], platform: str | None) -> tuple[float, float] | None:
    """The one-way switch at the low and high ends of the range(s) of ``platform``'s profile."""
    params = profile_ranges(manifests, platform)
    profile = next((p for p in (find_profile(manifests[e], platform) for e in sorted(manifests)) if p is not None),
                   None)
    if profile is None:
        return None
    model = profile.get("switch_model", "one_way")
    names = SWITCH_MODELS.get(model, ())
    if not names or any(n not in params for n in names):
        return None
    return tuple(switch_one_way_ns(model, {n: params[n][end] for n in names}) for end in (1, 2))  # type: ignore[return-value]


def _service_rows(points: pd.DataFrame, spec: ServiceSpec, platform: str | None = None) -> pd.DataFrame:
    """Points of ``spec``'s service (on ``platform``, if given) whose crossings and their costs are
    recorded."""
    crossing = spec.crossing
    needed = ("service", "completed", "baseline_cost_ns", crossing.parts[0].count, crossing.parts[0].cost) \
        if crossing is not None else ()
    if not needed or any(column not in points for column in needed):
        return points.iloc[0:0]
    rows = points[(points["service"] == spec.name) & points[crossing.parts[0].count].notna()
                  & points[crossing.parts[0].cost].notna()]
    return rows[rows[PLATFORM] == platform] if platform is not None else rows


def crossing_models(points: pd.DataFrame, manifests: dict[str, dict[str, Any]]) -> list[CrossingModel]:
    """A crossing model per registered service present in ``points`` (overhead rows) whose
    crossings and their costs are recorded, in the registry's order (per service, one per
    platform when the points hold several)."""
    platforms = platforms_in(points)
    models = []
    for spec in SPECS:
        for platform in platforms if len(platforms) > 1 else [None]:
            model = _model(points, manifests, spec, platform, platforms[0] if platforms else None)
            if model is not None:
                models.append(model)
    return models


def _model(points: pd.DataFrame, manifests: dict[str, dict[str, Any]], spec: ServiceSpec, platform: str | None,
           profile_of: str | None) -> CrossingModel | None:
    """``spec``'s crossing model over its points on ``platform`` (None: all points, one platform:
    ``profile_of``, whose profile gives the switch range)."""
    rows = _service_rows(points, spec, platform)
    if rows.empty:
        return None
    _, cost, switching = _per_point(rows, spec)
    known = cost.notna()
    if not known.any():
        return None
    cost, switching, switch = cost[known], switching[known].fillna(0.0), recorded_switch_ns(rows[known])
    low, high = _switch_range(manifests, platform or profile_of) or (float(switch.median()),) * 2
    at = {end: float(at_switch(cost, switching, switch, end).median()) for end in (low, high)}
    return CrossingModel(spec, platform, float(cost.median()), at[low], at[high],
                         (float(cost.min()), float(cost.max())), (float(switch.median()), low, high),
                         int(known.sum()))


def _shown_setting(frame: pd.DataFrame) -> pd.Series:
    """What tells a service's points apart: the short label of its settings read from the record
    (``log file+net``; empty where it is the bare service name), else the distinguishing settings."""
    if SERVICE_LABEL not in frame.columns:
        return distinguishing_settings(frame)
    return frame[SERVICE_LABEL].where(frame[SERVICE_LABEL] != frame["service"], "").astype(str)


def crossing_points(points: pd.DataFrame, models: list[CrossingModel]) -> pd.DataFrame:
    """Per point: crossings per second of native run time (``rate_per_s``), the cost of one
    crossing it was charged (``cost_ns``), the overhead the count x cost curve gives at that cost
    (``curve_pct``) and the simulated one (``simulated_pct``: steady-state where known, else
    whole-run)."""
    rows = []
    for model in models:
        frame = _service_rows(points, model.spec, model.platform)
        if frame.empty:
            continue
        per_unit, cost, _ = _per_point(frame, model.spec)
        frame, per_unit, cost = frame[cost.notna()], per_unit[cost.notna()], cost[cost.notna()]
        rate = per_unit / frame["baseline_cost_ns"] * 1e9
        simulated = frame["steady_pct"].where(frame["steady_pct"].notna(), frame["overhead_pct"])
        rows.append(frame.assign(rate_per_s=rate, cost_ns=cost, curve_pct=model.overhead_pct(rate, cost),
                                 simulated_pct=simulated, steady=frame["steady_pct"].notna(),
                                 shown_setting=_shown_setting(frame)))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def rows_of(table: pd.DataFrame, model: CrossingModel) -> pd.DataFrame:
    """The rows of :func:`crossing_points` ``table`` that ``model`` explains."""
    rows = table[table["service"] == model.service]
    return rows[rows[PLATFORM] == model.platform] if model.platform is not None else rows


def _range_text(model: CrossingModel) -> str:
    s, s_low, s_high = model.switch_ns
    text = f"switch {format_duration(s)}"
    if model.has_range:
        text += (f"; {format_duration(model.cost_low_ns)}–{format_duration(model.cost_high_ns)} over the switch "
                 f"range {format_duration(s_low)}–{format_duration(s_high)}")
    return text


def _rates_text(model: CrossingModel) -> str:
    low, high = SERVICE_CLAIM_PCT
    text = f"{low:g}% is reached at {model.rate_at(low):,.0f} crossings/s and {high:g}% at {model.rate_at(high):,.0f}/s"
    if model.has_range:
        text += (f" (over the switch range: {model.rate_at(low, model.cost_high_ns):,.0f}–"
                 f"{model.rate_at(low, model.cost_low_ns):,.0f}/s and {model.rate_at(high, model.cost_high_ns):,.0f}–"
                 f"{model.rate_at(high, model.cost_low_ns):,.0f}/s)")
    return text + "."


def explain(points: pd.DataFrame, models: list[CrossingModel]) -> list[str]:
    """The report paragraph: per service, what a crossing is and what one costs, the crossing
    rates at which the overhead reaches the band's ends, and where each workload falls."""
    low, high = SERVICE_CLAIM_PCT
    if not models:
        return ["No service points with crossing counts and their costs (`costs.*` columns) in these results: "
                "the claim cannot be explained from crossing rates (results simulated before veilperf recorded "
                "costs need `veilperf sweep --force` to be explained)."]
    table = crossing_points(points, models)
    lines = [
        "A protected service costs its program about (Veil crossings per second of native run time) x "
        "(cost of one crossing). The cost of a crossing is the one the model charged, recorded with each run "
        "(`costs.*` columns, from the platform's mechanism costs, docs/references.md), not the paper's; the "
        "band's ends then become crossing rates:",
        "",
    ]
    for model in models:
        spread = model.cost_spread
        median = (f"median over {model.points} points, {format_duration(spread[0])}–{format_duration(spread[1])}; "
                  if model.points > 1 and spread[0] != spread[1] else "")
        lines.append(
            f"- **{model.title}** — {model.spec.display_name}, {model.spec.crossing.what}: "
            f"{model.spec.crossing.explains}. One crossing costs {format_duration(model.cost_ns)} at calibration "
            f"({median}{_range_text(model)}). {_rates_text(model)}")
        rows = rows_of(table, model).sort_values("rate_per_s")
        for _, r in rows.iterrows():
            where = "inside" if low <= r["simulated_pct"] <= high else ("below" if r["simulated_pct"] < low else "above")
            ratio = r["simulated_pct"] / r["curve_pct"] if r["curve_pct"] > 0 else np.nan
            setting = f", {r['shown_setting']}" if r["shown_setting"] else ""
            lines.append(f"  - {r['workload']}{setting}: {r['rate_per_s']:,.0f}/s x {format_duration(r['cost_ns'])} "
                         f"-> {r['simulated_pct']:.1f}% simulated ({where}; the count x cost curve gives "
                         f"{r['curve_pct']:.1f}%" + (f", simulated/curve {ratio:.2f}" if np.isfinite(ratio) else "") + ")")
    lines += ["", "Programs land inside the paper's band when their crossing rate lies between those two "
              "rates. A simulated point sits above its curve by what the count x cost product leaves out (one-off "
              "set-up in whole-run points, queueing for a busy VCPU, the log ring or a dedicated VCPU), below it "
              "when crossings overlap with other threads' work or with time blocked in the kernel (the run's "
              "elapsed time grows by less than their sum)."]
    return lines
