"""Pair treatment runs with their baselines (same pair_key, same replication: common random
numbers) and compute per-point overheads with 95% confidence intervals over replications.

Several treatments may share one baseline (one pair_key) when they differ only in keys the
baseline overrides (e.g. two audit-rule breadths against the same plain CVM); a treatment point is
therefore identified by its pair_key and its configuration without the seed (column ``point``).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from veilperf.analysis.load import IDENTITY_COLUMNS, ResultsError
from veilperf.analysis.labels import describe_setting, setting_axes
from veilperf.analysis.stats import ci_half_width

PAIR_KEY = ["experiment", "pair_key", "replication"]
POINT_KEY = ["experiment", "pair_key", "point"]

COUNT_PREFIXES = ("completed", "switches_total", "switches.", "cause.", "enc.", "log.", "kci.")
"""Treatment metrics averaged over replications into the overhead table (the counts behind it)."""

DESCRIPTOR_COLUMNS = (
    "cfg.setup.vcpus",
    "cfg.setup.vcpu_model",
    "cfg.boot.memory",
    "cfg.boot.acceptance",
    "cfg.platform.params.switch_one_way.value",
    "cfg.setup.services.enc.switchless",
    "cfg.setup.services.log.records_per_call",
)
"""Config columns carried into the overhead table even when they do not vary (figures use them)."""

_NOT_AXES = ("cfg.seed", "cfg.name", "cfg.description", "cfg.kind")

BASIS_COLUMN = {
    "boot_time": "boot.total_ns",
    "latency": "latency_mean_ns",
    "throughput": "throughput_per_s",
    "sim_time": "sim_time_ns",
}
"""How a run's cost per unit of work is measured, and the column it needs."""


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df.columns else pd.Series(np.nan, index=df.index, dtype=object)


def _hashable(series: pd.Series) -> pd.Series:
    """List-valued cells (e.g. a parameter's range) as tuples, so they can be compared and counted."""
    if series.dtype != object:
        return series
    return series.map(lambda v: tuple(v) if isinstance(v, (list, tuple, np.ndarray)) else v)


def is_boot(df: pd.DataFrame) -> pd.Series:
    """Rows of boot experiments (workload ``boot`` or ``cfg.kind == boot``)."""
    return (df["workload"] == "boot") | (_column(df, "cfg.kind") == "boot")


def failed(df: pd.DataFrame) -> pd.Series:
    """Rows whose point raised (non-empty ``error``)."""
    err = _column(df, "error")
    return err.notna() & (err.astype(str).str.strip() != "")


def basis(df: pd.DataFrame) -> pd.Series:
    """Per row, how cost per unit of work is measured.

    ``boot_time`` for boots; ``latency`` (mean per request) for open-loop workloads, whose
    throughput is set by the arrival rate; ``throughput`` for fixed-duration runs; otherwise
    ``sim_time`` (fixed iterations: simulated time per completed iteration).
    """
    run_duration = _column(df, "cfg.run.duration").notna()
    run_iterations = _column(df, "cfg.run.iterations").notna()
    workload_duration = _column(df, "cfg.workload.duration").notna()
    fixed_duration = run_duration | (~run_iterations & workload_duration)
    open_loop = _column(df, "cfg.workload.loop") == "open"
    choice = np.select(
        [is_boot(df), open_loop, fixed_duration], ["boot_time", "latency", "throughput"], "sim_time"
    )
    return pd.Series(choice, index=df.index)


def cost_per_unit(df: pd.DataFrame, how: pd.Series) -> pd.Series:
    """Nanoseconds per unit of work (per iteration, per request, or per boot) on the given basis."""
    source = df.attrs.get("source", "<results table>")
    for name in sorted(set(how)):
        if BASIS_COLUMN[name] not in df.columns:
            raise ResultsError(source, f"runs measured by {name} need column {BASIS_COLUMN[name]}, which is missing")
    cost = pd.Series(np.nan, index=df.index, dtype=float)
    for name, column in BASIS_COLUMN.items():
        rows = how == name
        if not rows.any():
            continue
        value = df.loc[rows, column].astype(float)
        if name == "throughput":
            value = 1e9 / value
        elif name == "sim_time" and "completed" in df.columns:
            done = df.loc[rows, "completed"].astype(float)
            value = value.where(~(done > 0), value / done)
        cost[rows] = value
    return cost


def sweep_axes(df: pd.DataFrame) -> list[str]:
    """``cfg.*`` columns that vary among treatment runs of one workload within one experiment."""
    treatment = df[df["role"] == "treatment"]
    candidates = [c for c in df.columns if c.startswith("cfg.") and not c.startswith(_NOT_AXES)]
    if treatment.empty or not candidates:
        return []
    values = treatment[candidates].apply(_hashable)
    counts = values.groupby([treatment["experiment"], treatment["workload"]]).nunique(dropna=False)
    return sorted(c for c in candidates if (counts[c] > 1).any())


def with_columns(frame: pd.DataFrame, **columns: pd.Series) -> pd.DataFrame:
    """``frame`` with columns added (or replaced) in one step (results tables have hundreds of columns)."""
    kept = frame.drop(columns=[c for c in columns if c in frame.columns])
    return pd.concat([kept, pd.DataFrame(columns, index=frame.index)], axis=1)


def point_key(df: pd.DataFrame) -> pd.Series:
    """Per row, a digest of its configuration without the seed: equal for the replications of a point."""
    columns = sorted(c for c in df.columns if c.startswith("cfg.") and c != "cfg.seed")
    rows = df[["workload", "service", "mode", *columns]].apply(_hashable).itertuples(index=False)
    digests = [hashlib.sha256("\x1f".join(map(str, row)).encode()).hexdigest()[:16] for row in rows]
    return pd.Series(digests, index=df.index, dtype=object)


def pair_runs(df: pd.DataFrame) -> pd.DataFrame:
    """Treatment runs joined with their baseline's cost (columns ``point``, ``cost_ns``,
    ``baseline_cost_ns``). Failed runs are left out; treatments without a baseline run are dropped.
    """
    ok = df[~failed(df)]
    how = basis(ok)
    ok = with_columns(ok, point=point_key(ok), basis=how, cost_ns=cost_per_unit(ok, how))
    treatment = ok[ok["role"] == "treatment"]
    baseline = ok.loc[ok["role"] == "baseline", PAIR_KEY + ["cost_ns"]]
    baseline = baseline.rename(columns={"cost_ns": "baseline_cost_ns"})
    try:
        return treatment.merge(baseline, on=PAIR_KEY, how="inner", validate="many_to_one")
    except pd.errors.MergeError:
        source = df.attrs.get("source", "<results table>")
        raise ResultsError(source, "several baseline runs share one (experiment, pair_key, replication)") from None


def _settings(df: pd.DataFrame, points: pd.DataFrame) -> pd.Series:
    """Per overhead row, its values of the experiment's non-platform axes, e.g. ``vcpu_model=static``."""
    setting = pd.Series("", index=points.index, dtype=object)
    for experiment, rows in points.groupby("experiment", sort=True):
        axes = setting_axes(sweep_axes(df[df["experiment"] == experiment]))
        if axes:
            setting[rows.index] = rows.apply(lambda r: describe_setting(r, axes), axis=1)
    return setting


def _aggregate(paired: pd.DataFrame, carried: list[str], counts: list[str]) -> pd.DataFrame:
    """Per treatment point: mean overhead and increment with 95% t-intervals, first config values,
    mean counts."""
    paired = with_columns(
        paired,
        overhead_pct=(paired["cost_ns"] / paired["baseline_cost_ns"] - 1.0) * 100.0,
        increment_ns=paired["cost_ns"] - paired["baseline_cost_ns"],
        kind=pd.Series(np.where(paired["basis"] == "boot_time", "boot", "workload"), index=paired.index),
    )
    groups = paired.groupby(POINT_KEY, sort=True)
    n = groups.size()
    columns: dict[str, pd.Series] = {"n": n}
    for column, low, high in (("overhead_pct", "ci_low", "ci_high"),
                              ("increment_ns", "increment_ci_low", "increment_ci_high")):
        mean, std = groups[column].mean(), groups[column].std()
        half = pd.Series([ci_half_width(s, k) for s, k in zip(std, n)], index=n.index)
        columns.update({column: mean, low: mean - half, high: mean + half})
    columns["treatment_cost_ns"] = groups["cost_ns"].mean()
    columns["baseline_cost_ns"] = groups["baseline_cost_ns"].mean()
    means = groups[counts].mean() if counts else pd.DataFrame(index=n.index)
    first = groups[["workload", "service", "mode", "kind", "basis", *carried]].first()
    return pd.concat([first, pd.DataFrame(columns), means], axis=1).reset_index()


def overheads(df: pd.DataFrame) -> pd.DataFrame:
    """One row per treatment point (``pair_key`` and ``point``), aggregated over replications.

    Per replication, overhead_pct = (treatment cost per unit of work / baseline's - 1) * 100, the
    baseline being the run with the same pair_key and replication (same seed). Columns:
    experiment, pair_key, point, workload, service, mode, setting (the experiment's non-platform axis
    values, e.g. ``vcpu_model=static``), kind (workload|boot), basis, n, overhead_pct
    (mean), ci_low, ci_high (95% t-interval), increment_ns (treatment - baseline cost, ns per unit
    of work or per boot) with its interval, the sweep axes (``cfg.*`` varying within an
    experiment), a few descriptive ``cfg.*`` columns, and mean counts (switches, causes, services).
    """
    missing = [c for c in IDENTITY_COLUMNS if c not in df.columns]
    if missing:
        source = df.attrs.get("source", "<results table>")
        raise ResultsError(source, f"missing required column(s): {', '.join(missing)}")
    paired = pair_runs(df)
    axes = sweep_axes(df)
    carried = sorted(set(axes) | {c for c in DESCRIPTOR_COLUMNS if c in df.columns})
    counts = sorted(
        c for c in df.columns
        if c.startswith(COUNT_PREFIXES) and pd.api.types.is_numeric_dtype(df[c]) and c not in carried
    )
    columns = ["experiment", "pair_key", "point", "workload", "service", "mode", "kind", "basis", "n",
               "overhead_pct", "ci_low", "ci_high", "increment_ns", "increment_ci_low",
               "increment_ci_high", "treatment_cost_ns", "baseline_cost_ns", *carried, *counts]
    result = _aggregate(paired, carried, counts)[columns] if len(paired) else pd.DataFrame(columns=columns)
    result.insert(6, "setting", _settings(df, result) if len(result) else pd.Series(dtype=object))
    result.attrs["axes"] = axes
    result.attrs["failed_runs"] = int(failed(df).sum())
    return result
