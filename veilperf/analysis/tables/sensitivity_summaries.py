"""Read stored sensitivity results: :func:`load_summaries` and :func:`load_indices` (for the report,
the claims figure and notebooks; never simulates). The analysis reads what ``veilperf.sensitivity``
wrote, so this reader lives here: the sensitivity package imports the analysis (its overhead
basis), never the other way round (``tests/test_layers.py``); it re-exports these names."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["SUMMARY_COLUMNS", "load_summaries", "load_indices"]

SUMMARY_COLUMNS = ["experiment", "workload", "service", "metric", "p5", "p50", "p95", "n_samples", "method",
                   "top_params", "share_in_band"]


def _tables(results_root: Path, name: str, columns: list[str]) -> list[pd.DataFrame]:
    """Every stored ``name`` table, each checked to be a readable Parquet file with ``columns``."""
    return [_read(path, columns) for path in sorted(Path(results_root).glob(f"*/sensitivity/{name}"))]


def _read(path: Path, columns: list[str]) -> pd.DataFrame:
    from veilperf.analysis.tables.load import ResultsError, read_parquet

    rerun = "rerun `veilperf sensitivity` or move it away"
    table = read_parquet(path, "sensitivity table", rerun)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ResultsError(path, f"not a sensitivity table veilperf wrote: no column {', '.join(missing)}; {rerun}")
    if "reference" in columns and table["reference"].dtype != bool:
        raise ResultsError(path, f"not a sensitivity table veilperf wrote: column reference is not true/false; {rerun}")
    return table


def load_summaries(results_root: Path) -> pd.DataFrame:
    """One row per (experiment, workload, service) studied, at the experiment's reference setting
    (its first guest or load setting): the metric's 5th/50th/95th percentile over the assumption
    space, samples, method, the most influential parameters (comma-separated, most first) and the
    share of samples inside the paper's band (overhead 2-64%, boot increment < 2 s). Empty (with
    these columns) when nothing is stored."""
    frames = [t[t["reference"]]
              for t in _tables(results_root, "summary.parquet", [*SUMMARY_COLUMNS, "reference"])]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SUMMARY_COLUMNS})
    table = pd.concat(frames, ignore_index=True)[SUMMARY_COLUMNS]
    return table.sort_values(["experiment", "workload", "service"], kind="stable").reset_index(drop=True)


def load_indices(results_root: Path, experiment: str | None = None) -> pd.DataFrame:
    """Every stored index row (Morris mu*/sigma or Sobol S1/ST with confidence), optionally of one
    experiment; empty when nothing is stored."""
    frames = _tables(results_root, "indices.parquet", ["experiment", "param"])
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["experiment", "param"])
    return table[table["experiment"] == experiment].reset_index(drop=True) if experiment else table
