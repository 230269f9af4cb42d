"""From a study's runs to its outcomes: the metric of every sample, the indices, the summary.

Per sample and setting the metric is the whole-run overhead of Veil over its paired baseline
(``overhead_pct``, the sweep's pairing and basis: :func:`veilperf.analysis.tables.pairing.basis` and
``cost_per_unit``), or for a boot experiment the boot increment in seconds (``boot_increment_s``),
averaged over replications. Files written beside the runs (``<results>/<experiment>/sensitivity/``):

- ``samples.parquet``: experiment, workload, service, setting, metric, sample, value, and the
  sample's parameter values (SI units);
- ``indices.parquet``: one row per (workload, service, setting, parameter): Morris ``mu``,
  ``mu_star``, ``mu_star_conf``, ``sigma`` or Sobol ``S1``, ``S1_conf``, ``ST``, ``ST_conf``, and
  ``rank``;
- ``summary.parquet``: one row per (workload, service, setting): p5, p50, p95 of the metric over
  the samples, n_samples, method, top_params (most influential first), share_in_band, and
  ``reference`` (true for the experiment's first setting, the one :func:`load_summaries` returns)
  and ``featured`` (the reference, or it with one axis at its last value: drawn and printed).

Percentiles are over the plan's points: a Sobol (Saltelli) plan covers the space quasi-uniformly;
a Morris plan sits on a 4-level grid, so its percentiles are coarser.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from veilperf.analysis.tables.load import read_runs
from veilperf.analysis.tables.pairing import COST_COLUMNS, basis, cost_per_unit, failed
from veilperf.errors import VeilperfError
from veilperf.sensitivity.sampling import SamplingPlan, analyze
from veilperf.sensitivity.study import Study

__all__ = ["BAND", "read_study_runs", "sample_metrics", "outcomes", "write_outcomes", "TOP"]

TOP = 3  # parameters named per workload
NEGLIGIBLE = 1e-9  # an influence below this fraction of the largest is float rounding, not an effect
BAND = {"overhead_pct": (2.0, 64.0), "boot_increment_s": (-np.inf, 2.0)}
"""The paper's outcomes as bands: overhead within 2-64%, boot increment below 2 s."""


class StudyError(VeilperfError):
    """The study's runs cannot give indices (failed points, missing rows)."""


def _paired(runs: pd.DataFrame) -> pd.DataFrame:
    ok = runs[~failed(runs)].copy()
    ok["cost_ns"] = cost_per_unit(ok, basis(ok))
    treatment = ok[ok["role"] == "treatment"]
    base = ok.loc[ok["role"] == "baseline", ["pair_key", "replication", "cost_ns"]]
    base = base.rename(columns={"cost_ns": "baseline_cost_ns"})
    return treatment.merge(base, on=["pair_key", "replication"], how="inner", validate="many_to_one")


def read_study_runs(study: Study, path: Path) -> pd.DataFrame:
    """The columns of the study's ``runs.parquet`` that its outcomes read (pairing, basis, the
    sampled parameters, the settings' axes): a study of 10^5 points stays small in memory."""
    return read_runs(path, columns=[*COST_COLUMNS, *_assumption_columns(study), *{c for s in study.settings
                                                                                 for c in s.cfg}])


def _assumption_columns(study: Study) -> list[str]:
    return [f"cfg.{a.path}.value" for a in study.plan.assumptions]


def sample_metrics(study: Study, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (setting, sample): workload, service, setting, metric, sample, value."""
    paired = _paired(runs)
    boot = study.source.kind == "boot"
    metric = "boot_increment_s" if boot else "overhead_pct"
    paired["value"] = ((paired["cost_ns"] - paired["baseline_cost_ns"]) / 1e9 if boot
                       else (paired["cost_ns"] / paired["baseline_cost_ns"] - 1.0) * 100.0)
    plan = study.plan
    columns = _assumption_columns(study)
    missing = [c for c in columns if c not in paired.columns]
    if missing:
        raise StudyError(f"the study's runs lack column(s) {', '.join(missing)}")
    per_point = paired.groupby(["workload", "service"] + columns  # mean over replications
                               + sorted({c for s in study.settings for c in s.cfg}), dropna=False)["value"].mean()
    per_point = per_point.reset_index()
    samples = pd.DataFrame(plan.values, columns=columns)
    samples["sample"] = np.arange(len(samples))
    frames = []
    for setting in study.settings:
        rows = per_point
        workload = (study.source.workloads[setting.workload_index].get("name")
                    if setting.workload_index is not None else "boot")
        rows = rows[rows["workload"] == workload]
        for column, value in setting.cfg.items():  # an axis value of None (e.g. run.iterations: null) is NaN in rows
            rows = rows[rows[column].isna() if value is None else rows[column] == value]
        joined = samples.merge(rows.drop_duplicates(subset=columns), on=columns, how="left")
        if joined["value"].isna().any():
            lost = int(joined["value"].isna().sum())
            raise StudyError(f"{workload} {setting.label}: {lost} of {len(joined)} samples have no finished "
                             "treatment/baseline pair (failed points?); rerun to retry them")
        services = sorted(set(joined["service"]))
        frames.append(pd.DataFrame({
            "experiment": study.source.name, "workload": workload, "service": "+".join(services),
            "setting": setting.label, "reference": setting.reference, "featured": setting.featured,
            "metric": metric, "sample": joined["sample"], "value": joined["value"],
        }))
    return pd.concat(frames, ignore_index=True)


def outcomes(study: Study, metrics: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(indices, summary) from :func:`sample_metrics`."""
    plan: SamplingPlan = study.plan
    indices, summary = [], []
    keys = ["experiment", "workload", "service", "setting", "reference", "featured", "metric"]
    for key, rows in metrics.groupby(keys, sort=False):
        values = rows.sort_values("sample")["value"].to_numpy()
        table = analyze(plan, values)
        for name, value in zip(keys, key):
            table.insert(keys.index(name), name, value)
        table.insert(len(keys), "method", plan.method)
        indices.append(table)
        influence = table["mu_star" if plan.method == "morris" else "ST"]
        moves = influence > NEGLIGIBLE * influence.abs().max()  # rounding noise of cancelling costs is not an effect
        top = table[moves].sort_values("rank")["param"].head(TOP)
        low, high = BAND[key[-1]]
        p5, p50, p95 = np.percentile(values, [5, 50, 95])
        summary.append({**dict(zip(keys, key)), "p5": p5, "p50": p50, "p95": p95, "n_samples": len(values),
                        "method": plan.method, "top_params": ",".join(top),
                        "share_in_band": float(np.mean((values >= low) & (values <= high) if np.isfinite(low)
                                                       else values < high))})
    return pd.concat(indices, ignore_index=True), pd.DataFrame(summary)


def write_outcomes(directory: Path, study: Study, metrics: pd.DataFrame, indices: pd.DataFrame,
                   summary: pd.DataFrame) -> list[Path]:
    """Write samples, indices and summary Parquet files atomically; returns their paths."""
    params = study.plan.table().rename(columns=lambda c: c if c == "sample" else f"param.{c}")
    tables = {"samples.parquet": metrics.merge(params, on="sample"), "indices.parquet": indices,
              "summary.parquet": summary}
    written = []
    for name, frame in tables.items():
        path = directory / name
        tmp = path.with_name(f".{name}.tmp")
        frame.to_parquet(tmp, index=False)
        tmp.replace(path)
        written.append(path)
    return written
