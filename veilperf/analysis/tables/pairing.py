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

from veilperf.analysis.tables.load import IDENTITY_COLUMNS, ResultsError
from veilperf.analysis.tables.labels import ProfileCosts, describe_setting, off_profile, point_label, setting_axes
from veilperf.analysis.tables.columns import KIND, LOOP, NATIVE_ESTIMATED, NATIVE_NOISY, ONEOFF, PLATFORM, SATURATED
from veilperf.analysis.tables.profile import describes_platform, param_name
from veilperf.analysis.tables.stats import ci_half_width
from veilperf.services.registry import SPECS

PAIR_KEY = ["experiment", "pair_key", "replication"]
POINT_KEY = ["experiment", "pair_key", "point"]

COUNT_PREFIXES = ("completed", "offered_load", "switches_total", "switches.", "cause.", "costs.", *(f"{s.name}." for s in SPECS))
"""Treatment metrics averaged over replications into the overhead table (the counts behind it, and
the costs the model charged)."""

DESCRIPTOR_COLUMNS = (
    "cfg.setup.vcpus",
    "cfg.setup.vcpu_model",
    "cfg.boot.memory",
    "cfg.boot.acceptance",
    "cfg.platform.params.switch_one_way.value",
    "cfg.setup.services.enc.switchless",
    "cfg.setup.services.log.records_per_call",
    PLATFORM,
)
"""Config columns carried into the overhead table even when they do not vary (figures use them)."""

_NOT_AXES = ("cfg.seed", "cfg.name", "cfg.description", KIND)

ONEOFF_FLAG_SHARE = 0.25
"""Points whose one-off set-up is more than this share of Veil's added time are marked: their
whole-run overhead says more about the run's length than about the service's steady cost."""

BASIS_COLUMN = {
    "boot_time": "boot.total_ns",
    "latency": "latency_mean_ns",
    "throughput": "throughput_per_s",
    "sim_time": "sim_time_ns",
}
"""How a run's cost per unit of work is measured, and the column it needs."""


class SharedList(list):
    """A list that deep copies share: pandas deep-copies a frame's ``attrs`` on every operation,
    and the figures filter frames thousands of times. Never mutate one in place."""

    def __deepcopy__(self, memo: dict) -> SharedList:
        return self


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df.columns else pd.Series(np.nan, index=df.index, dtype=object)


_SCALAR_KINDS = frozenset({"empty", "string", "integer", "floating", "mixed-integer-float", "boolean", "decimal"})


def _without_lists(values: pd.Series | np.ndarray) -> bool:
    """Whether no cell is list-valued (checked in C: most object columns are empty or plain values)."""
    return values.dtype != object or pd.api.types.infer_dtype(values, skipna=True) in _SCALAR_KINDS


def _hashable(series: pd.Series) -> pd.Series:
    """List-valued cells (e.g. a parameter's range) as tuples, so they can be compared and counted."""
    if _without_lists(series):
        return series
    return series.map(lambda v: tuple(v) if isinstance(v, (list, tuple, np.ndarray)) else v)


def is_boot(df: pd.DataFrame) -> pd.Series:
    """Rows of boot experiments (workload ``boot`` or ``cfg.kind == boot``)."""
    return (df["workload"] == "boot") | (_column(df, KIND) == "boot")


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
    open_loop = _column(df, LOOP) == "open"
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


def _varying(frame: pd.DataFrame, candidates: list[str]) -> list[str]:
    """``candidates`` that take more than one value in ``frame`` (list cells compared as tuples)."""
    return [c for c in candidates if _hashable(frame[c]).nunique(dropna=False) > 1]


def _one_value(values: np.ndarray) -> np.ndarray:
    """Per column of a 2-D array of one dtype without list cells, whether its rows certainly hold one
    value as a grouped ``nunique(dropna=False)`` counts values: all equal to the first row (such
    object columns hold only numbers and strings, for which pandas' equality is ``==``) or all
    missing (every missing value is the same one there). False where unsure."""
    first = values[0]
    try:
        same = values == first
    except TypeError:  # pandas' NA is neither equal nor unequal
        return np.zeros(values.shape[1], dtype=bool)
    missing = pd.isna(first)
    same[:, missing] |= pd.isna(values[:, missing])
    return same.all(axis=0)


def _unsettled(frame: pd.DataFrame, candidates: list[str], groups: list[np.ndarray]) -> list[list[str]]:
    """Per group of row positions, the ``candidates`` that may take more than one value there (list
    cells as tuples): one vectorised pass per dtype settles those that certainly hold one (most)."""
    values = frame[candidates]
    settled: list[set[str]] = [set() for _ in groups]
    for dtype, names in values.columns.groupby(values.dtypes).items():
        if not isinstance(dtype, np.dtype):
            continue
        block = values[names].to_numpy()
        comparable = np.fromiter((_without_lists(column) for column in block.T), dtype=bool, count=len(names))
        names, block = np.asarray(names, dtype=object)[comparable], block[:, comparable]
        for rows, done in zip(groups, settled):
            done.update(names[_one_value(block[rows])])
    return [[c for c in candidates if c not in done] for done in settled]


def experiment_axes(df: pd.DataFrame) -> dict[str, list[str]]:
    """Per experiment, the ``cfg.*`` columns that vary among treatment runs of one workload."""
    treatment = df[df["role"] == "treatment"]
    candidates = [c for c in df.columns if c.startswith("cfg.") and not c.startswith(_NOT_AXES)
                  and not describes_platform(c)]
    groups = treatment.groupby(["experiment", "workload"], sort=True).indices
    unsettled: dict[str, set[str]] = {}  # cheap pre-filter: most columns hold one value per workload
    for (experiment, _), columns in zip(groups, _unsettled(treatment, candidates, list(groups.values()))):
        unsettled.setdefault(experiment, set()).update(columns)
    axes: dict[str, list[str]] = {}
    for experiment, rows in treatment.groupby("experiment", sort=True):
        varying = [c for c in candidates if c in unsettled.get(experiment, ())]
        if varying:
            values = rows[varying].apply(_hashable)
            counts = values.groupby(rows["workload"]).nunique(dropna=False)
            axes[experiment] = sorted(c for c in varying if (counts[c] > 1).any())
        else:
            axes[experiment] = []
    return axes


def sweep_axes(df: pd.DataFrame) -> list[str]:
    """``cfg.*`` columns that vary among treatment runs of one workload within one experiment."""
    return sorted({c for columns in experiment_axes(df).values() for c in columns})


def with_columns(frame: pd.DataFrame, **columns: pd.Series) -> pd.DataFrame:
    """``frame`` with columns added (or replaced) in one step (results tables have hundreds of columns)."""
    kept = frame.drop(columns=[c for c in columns if c in frame.columns])
    return pd.concat([kept, pd.DataFrame(columns, index=frame.index)], axis=1)


def point_key(df: pd.DataFrame) -> pd.Series:
    """Per row, a digest of its configuration without the seed: equal for the replications of a
    point. Only columns that vary in ``df`` can tell points apart, so only those are hashed."""
    columns = sorted(c for c in df.columns if c.startswith("cfg.") and c != "cfg.seed")
    varying = _varying(df, ["workload", "service", "mode", *columns])
    rows = df[varying].apply(_hashable).itertuples(index=False, name=None)
    digests = [hashlib.sha256("\x1f".join(map(str, row)).encode()).hexdigest()[:16] for row in rows]
    return pd.Series(digests, index=df.index, dtype=object)


def steady_cost(df: pd.DataFrame, cost: pd.Series, how: pd.Series) -> pd.Series:
    """Cost per unit of work with the run's one-off set-up (``oneoff_ns``) taken out of its elapsed
    time: scaled by (sim_time - oneoff) / sim_time for iteration and throughput bases, unchanged for
    open-loop latency (servers set up before the first request), NaN for boots and where
    ``oneoff_ns`` is unknown (results from before the column existed)."""
    if ONEOFF not in df.columns:
        return pd.Series(np.nan, index=df.index, dtype=float)
    oneoff = df[ONEOFF].astype(float)
    elapsed = df["sim_time_ns"].astype(float) if "sim_time_ns" in df.columns else pd.Series(np.nan, index=df.index)
    scaled = cost * (elapsed - oneoff) / elapsed
    steady = np.select([how == "latency", how.isin(["sim_time", "throughput"])], [cost, scaled], np.nan)
    return pd.Series(steady, index=df.index, dtype=float).where(oneoff.notna())


def successful_runs(df: pd.DataFrame) -> pd.DataFrame:
    """The runs that did not fail, with their ``point`` key."""
    ok = df[~failed(df)]
    return with_columns(ok, point=point_key(ok))


def saturated(df: pd.DataFrame) -> pd.Series:
    """Per run, whether it was a saturated open-loop server (the record's ``saturated``; False
    where results predate the column or the run is not a server)."""
    return _column(df, SATURATED).eq(True)


def pair_runs(df: pd.DataFrame, ok: pd.DataFrame | None = None) -> pd.DataFrame:
    """Treatment runs joined with their baseline's cost (columns ``point``, ``cost_ns``,
    ``steady_cost_ns`` (one-off set-up taken out; NaN when unknown), ``baseline_cost_ns``,
    ``saturated`` and ``baseline_saturated``). Failed runs are left out; treatments without a
    baseline run are dropped.
    ``ok``: :func:`successful_runs` of ``df`` when the caller has it already.
    """
    ok = successful_runs(df) if ok is None else ok
    how = basis(ok)
    cost = cost_per_unit(ok, how)
    ok = with_columns(ok, basis=how, cost_ns=cost, steady_cost_ns=steady_cost(ok, cost, how))
    ok = with_columns(ok, **{SATURATED: saturated(ok)})
    treatment = ok[ok["role"] == "treatment"]
    baseline = ok.loc[ok["role"] == "baseline", PAIR_KEY + ["cost_ns", SATURATED]]
    baseline = baseline.rename(columns={"cost_ns": "baseline_cost_ns", SATURATED: "baseline_saturated"})
    try:
        return treatment.merge(baseline, on=PAIR_KEY, how="inner", validate="many_to_one")
    except pd.errors.MergeError:
        source = df.attrs.get("source", "<results table>")
        raise ResultsError(source, "several baseline runs share one (experiment, pair_key, replication)") from None


def _settings(points: pd.DataFrame, axes_of: dict[str, list[str]]) -> pd.Series:
    """Per overhead row, its values of the experiment's non-platform axes, e.g. ``vcpu_model=static``."""
    setting = pd.Series("", index=points.index, dtype=object)
    for experiment, rows in points.groupby("experiment", sort=True):
        axes = setting_axes(axes_of.get(experiment, []))
        if axes:  # rows as plain mappings of the columns read: a Series per row cost more than the labels
            columns = ["service", *(a for a in axes if a in rows.columns)]
            values = rows[columns].to_numpy(dtype=object)
            setting[rows.index] = [describe_setting(dict(zip(columns, row)), axes) for row in values]
    return setting


def _label_axes(treatment: pd.DataFrame, axes: list[str]) -> list[str]:
    """``axes`` a label names: a platform parameter only if it varies among one platform's runs (the
    platform's name says the rest: genoa's clock is not a setting)."""
    if PLATFORM not in treatment:
        return axes
    per_platform = treatment.groupby(PLATFORM, sort=False)
    return [a for a in axes if param_name(a) is None or (per_platform[a].nunique(dropna=False) > 1).any()]


def _labels(paired: pd.DataFrame, points: pd.DataFrame, axes_of: dict[str, list[str]],
            profiles: ProfileCosts) -> pd.Series:
    """Per overhead row, :func:`~veilperf.analysis.tables.labels.point_label` of its first treatment
    run: what was simulated, read from the record (services' settings, the experiment's axes, and
    every platform cost that differs from the profile the experiment was swept with)."""
    label = pd.Series("", index=points.index, dtype=object)
    first = paired.groupby(POINT_KEY, sort=True).head(1)
    named = {e: _label_axes(paired[paired["experiment"] == e], axes) for e, axes in axes_of.items()}
    off = off_profile(first, profiles)
    read = [c for c in first.columns if c == "service" or c.startswith("cfg.setup.services.")
            or c in off.columns or any(c in axes for axes in named.values())]
    records = first[list(dict.fromkeys(POINT_KEY + read))].to_dict("records")
    by_point = {}
    for row, (_, differs) in zip(records, off.iterrows()):
        extra = [c for c in off.columns if differs[c] and c not in named.get(row["experiment"], [])]
        by_point[tuple(row[k] for k in POINT_KEY)] = (row, extra)
    for index, key in zip(points.index, points[POINT_KEY].itertuples(index=False, name=None)):
        if key in by_point:
            row, extra = by_point[key]
            label[index] = point_label(row, named.get(key[0], []) + extra)
    return label


def _aggregate(paired: pd.DataFrame, carried: list[str], counts: list[str]) -> pd.DataFrame:
    """Per treatment point: mean overhead and increment with 95% t-intervals, first config values,
    mean counts."""
    paired = with_columns(
        paired,
        overhead_pct=(paired["cost_ns"] / paired["baseline_cost_ns"] - 1.0) * 100.0,
        steady_pct=(paired["steady_cost_ns"] / paired["baseline_cost_ns"] - 1.0) * 100.0,
        increment_ns=paired["cost_ns"] - paired["baseline_cost_ns"],
        kind=pd.Series(np.where(paired["basis"] == "boot_time", "boot", "workload"), index=paired.index),
    )
    groups = paired.groupby(POINT_KEY, sort=True)
    n = groups.size()
    columns: dict[str, pd.Series] = {"n": n}
    for column, low, high in (("overhead_pct", "ci_low", "ci_high"),
                              ("steady_pct", "steady_ci_low", "steady_ci_high"),
                              ("increment_ns", "increment_ci_low", "increment_ci_high")):
        mean, std = groups[column].mean(), groups[column].std()
        half = pd.Series([ci_half_width(s, k) for s, k in zip(std, n)], index=n.index)
        columns.update({column: mean, low: mean - half, high: mean + half})
    added = columns["overhead_pct"]
    columns["oneoff_share"] = ((added - columns["steady_pct"]) / added).where(added > 0)
    for flag in (NATIVE_ESTIMATED, NATIVE_NOISY):  # results stored before a flag existed lack its column
        columns[flag] = groups[flag].any() if flag in paired else False
    columns[SATURATED] = groups[SATURATED].any() | groups["baseline_saturated"].any()
    columns["treatment_cost_ns"] = groups["cost_ns"].mean()
    columns["baseline_cost_ns"] = groups["baseline_cost_ns"].mean()
    means = groups[counts].mean() if counts else pd.DataFrame(index=n.index)
    first = groups[["workload", "service", "mode", "kind", "basis", *carried]].first()
    return pd.concat([first, pd.DataFrame(columns), means], axis=1).reset_index()


def overheads(df: pd.DataFrame, ok: pd.DataFrame | None = None, profiles: ProfileCosts | None = None) -> pd.DataFrame:
    """One row per treatment point (``pair_key`` and ``point``), aggregated over replications.

    Per replication, overhead_pct = (treatment cost per unit of work / baseline's - 1) * 100, the
    baseline being the run with the same pair_key and replication (same seed). Columns:
    experiment, pair_key, point, workload, service, mode, setting (the experiment's non-platform axis
    values, e.g. ``vcpu_model=static``), label (what the point simulated in a few words, read from its
    record: ``log file+net 4 VCPUs``, with every platform cost that differs from ``profiles``, the
    profiles the experiments were swept with: :func:`~veilperf.analysis.tables.labels.profile_costs`
    of their manifests), kind (workload|boot), basis, n, overhead_pct (whole-run
    overhead, mean), ci_low, ci_high (95% t-interval), steady_pct with steady_ci_low/high (the same
    with the treatment's one-off set-up ``oneoff_ns`` taken out of its elapsed time; NaN when
    unknown), oneoff_share ((whole - steady) / whole of the added time), native_estimated (the
    workload's native time was estimated from its trace), native_noisy (its measured native runs spread
    beyond +/-15% of their median), saturated (an open-loop server, the
    treatment or its baseline in some replication, could not keep up with its offered load: its
    overhead measures the run's length, and tables print ``saturated`` instead), increment_ns (treatment - baseline cost,
    ns per unit of work or per boot) with its interval, the sweep axes (``cfg.*`` varying within an
    experiment), a few descriptive ``cfg.*`` columns, and mean counts (switches, causes, services).
    ``ok``: :func:`successful_runs` of ``df`` when the caller has it already.
    """
    missing = [c for c in IDENTITY_COLUMNS if c not in df.columns]
    if missing:
        source = df.attrs.get("source", "<results table>")
        raise ResultsError(source, f"missing required column(s): {', '.join(missing)}")
    paired = pair_runs(df, ok)
    axes_of = experiment_axes(df)
    axes = sorted({c for columns in axes_of.values() for c in columns})
    params = {c for c in df.columns if param_name(c) is not None}  # what every point ran at (labels, headings)
    carried = sorted(set(axes) | params | {c for c in DESCRIPTOR_COLUMNS if c in df.columns})
    counts = sorted(
        c for c in df.columns
        if c.startswith(COUNT_PREFIXES) and pd.api.types.is_numeric_dtype(df[c]) and c not in carried
    )
    counts += [ONEOFF] if ONEOFF in df.columns and ONEOFF not in counts else []
    columns = ["experiment", "pair_key", "point", "workload", "service", "mode", "kind", "basis", "n",
               "overhead_pct", "ci_low", "ci_high", "steady_pct", "steady_ci_low", "steady_ci_high",
               "oneoff_share", NATIVE_ESTIMATED, NATIVE_NOISY, SATURATED, "increment_ns", "increment_ci_low",
               "increment_ci_high", "treatment_cost_ns", "baseline_cost_ns", *carried, *counts]
    result = _aggregate(paired, carried, counts)[columns] if len(paired) else pd.DataFrame(columns=columns)
    result.insert(6, "setting", _settings(result, axes_of) if len(result) else pd.Series(dtype=object))
    result.insert(7, "label", _labels(paired, result, axes_of, profiles or {}) if len(result)
                  else pd.Series(dtype=object))
    result.attrs["axes"] = SharedList(axes)
    result.attrs["steady_known"] = ONEOFF in df.columns
    result.attrs["failed_runs"] = int(failed(df).sum())
    return result
