"""Read the results store: ``results/<experiment>/runs.parquet`` and ``manifest.yaml``.

Rows leave out the provenance their experiment's manifest holds (sources, kinds, ranges, notes,
descriptions: :mod:`veilperf.sweep.provenance`); :func:`read_runs` puts it back from the
manifest beside the table, so a table reads as every column of every run. Tables written before
(every row whole) read as they are.

pandas, pyarrow and PyYAML load on first read: finding the results files needs none of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from veilperf.errors import VeilperfError

if TYPE_CHECKING:
    import pandas as pd

RUNS_FILE = "runs.parquet"
MANIFEST_FILE = "manifest.yaml"

IDENTITY_COLUMNS = ("experiment", "pair_key", "role", "replication", "workload", "service", "mode")
"""Columns every results table must have (docs/architecture.md, records)."""

METRIC_COLUMNS = ("sim_time_ns", "throughput_per_s", "boot.total_ns")
"""A results table must have at least one of these to compute anything from."""

ROLES = ("treatment", "baseline")

SORT_KEY = ["experiment", "pair_key", "role", "replication"]
"""Order of the runs of a results table: everything downstream is deterministic."""

REBUILD = ("rerun the sweep (or sensitivity study) that wrote it: finished points are not run again and the "
           "manifest is written anew")
"""How to rebuild a manifest the rows of a table need."""


class ResultsError(VeilperfError):
    """Missing or malformed results: names the file and what is wrong with it."""

    def __init__(self, file: str | Path, message: str) -> None:
        self.file = str(file)
        self.message = message
        super().__init__(f"{self.file}: {message}")


def results_files(path: str | Path) -> list[Path]:
    """The ``runs.parquet`` files under ``path``: a file, an experiment folder, or a results root."""
    path = Path(path)
    if not path.exists():
        raise ResultsError(path, "no such results directory or file")
    if path.is_file():
        return [path]
    if (path / RUNS_FILE).is_file():
        return [path / RUNS_FILE]
    files = sorted(path.glob(f"*/{RUNS_FILE}"))
    if not files:
        raise ResultsError(
            path, f"holds no {RUNS_FILE} (expected {path}/{RUNS_FILE} or {path}/<experiment>/{RUNS_FILE})"
        )
    return files


def read_runs(file: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """One results table with the provenance its rows leave out put back from the manifest
    beside it, checked for the identity columns and at least one metric; ``columns``: only these
    (those the table has)."""
    import pyarrow
    import pyarrow.parquet as pq

    from veilperf.sweep.provenance import PROVENANCE_ID, Provenance, ProvenanceError, restore

    try:
        if columns is not None:
            names = set(pq.read_schema(file).names)
            read = [c for c in dict.fromkeys([*columns, *IDENTITY_COLUMNS, *METRIC_COLUMNS, PROVENANCE_ID,
                                              "cfg.platform.name"]) if c in names]
        table = pq.read_table(file, columns=None if columns is None else read)
    except (OSError, ValueError, pyarrow.ArrowException) as exc:
        raise ResultsError(file, f"not a readable Parquet results table ({exc})") from None
    manifest = file.parent / MANIFEST_FILE
    lean = PROVENANCE_ID in table.column_names and manifest.is_file()
    try:
        table = restore(table, Provenance.from_manifest(_read_manifest(manifest)) if lean else None,
                        manifest=str(manifest), only=columns, rebuild=REBUILD)
    except ProvenanceError as exc:
        raise ResultsError(file, str(exc)) from None
    df = table.to_pandas()
    missing = [c for c in IDENTITY_COLUMNS if c not in df.columns]
    if missing:
        raise ResultsError(file, f"missing required column(s): {', '.join(missing)}")
    if not any(c in df.columns for c in METRIC_COLUMNS):
        raise ResultsError(file, f"has none of the metric columns {', '.join(METRIC_COLUMNS)}")
    bad_roles = sorted(set(df["role"].astype(str)) - set(ROLES))
    if bad_roles:
        raise ResultsError(file, f"column role has value(s) {bad_roles}; expected treatment or baseline")
    return df


def load_results(path: str | Path) -> pd.DataFrame:
    """All runs under ``path`` (one experiment folder, or a results root holding several).

    Tables are concatenated (columns absent from one table are NaN there) and sorted by
    :data:`SORT_KEY`.
    """
    import pandas as pd

    frames = [read_runs(f) for f in results_files(path)]
    df = pd.concat(frames, ignore_index=True, sort=False) if len(frames) > 1 else frames[0]
    df = df.sort_values(SORT_KEY, kind="stable").reset_index(drop=True)
    # plain object columns in a few consolidated blocks: pandas' Arrow-backed strings keep one block per
    # column, and every row selection then copies ~300 blocks (17x slower on the shipped results);
    # converted after sorting: strings created in row order make every later pass over a column faster
    # (point_key 0.090 -> 0.078 s against converting first)
    strings = [c for c, dtype in df.dtypes.items() if isinstance(dtype, pd.StringDtype)]
    df = df.astype(dict.fromkeys(strings, object)).copy()
    df.attrs["source"] = str(path)
    return df


def load_manifests(path: str | Path) -> dict[str, dict[str, Any]]:
    """``{experiment folder name: manifest}`` for every ``manifest.yaml`` beside a results table."""
    manifests: dict[str, dict[str, Any]] = {}
    for runs in results_files(path):
        file = runs.parent / MANIFEST_FILE
        if file.is_file():
            manifests[runs.parent.name] = _read_manifest(file)
    return manifests


def _read_manifest(file: Path) -> dict[str, Any]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when built with it: 10x faster
    try:
        data = yaml.load(file.read_text(), Loader=loader)
    except yaml.YAMLError as exc:
        raise ResultsError(file, f"not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ResultsError(file, "expected a mapping at the top level")
    return data
