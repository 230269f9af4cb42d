"""Read the results store: ``results/<experiment>/runs.parquet`` and ``manifest.yaml``.

Rows leave out the provenance their experiment's manifest holds (sources, kinds, ranges, notes,
descriptions: :mod:`veilperf.sweep.provenance`); :func:`read_runs` puts it back from the
manifest beside the table, so a table reads as every column of every run. Tables written before
(every row whole) read as they are.

pandas, pyarrow and PyYAML load on first read: finding the results files needs none of them.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from veilperf.encoding import is_utf8, shown
from veilperf.errors import VeilperfError
from veilperf.files import NotRegularFile, TooLarge, check_regular, read_limited, size_limit

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

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
    for file in files:
        if not is_utf8(file.parent.name):  # experiment names are UTF-8: this folder is not one of them
            raise ResultsError(shown(file.parent), "folder name is not UTF-8 text (experiment names are); rename it")
    if not files:
        raise ResultsError(
            path, f"holds no {RUNS_FILE} (expected {path}/{RUNS_FILE} or {path}/<experiment>/{RUNS_FILE})"
        )
    return files


def read_runs(file: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """One results table with the provenance its rows leave out put back from the manifest beside
    it (``columns``: only these, those the table has), checked for the identity columns, at least
    one metric, and the metric column each row's basis needs
    (:func:`veilperf.analysis.tables.pairing.basis`)."""
    from veilperf.analysis.tables.pairing import BASIS_COLUMN, basis
    from veilperf.sweep.provenance import PROVENANCE_ID, Provenance, ProvenanceError, restore

    keys = [*IDENTITY_COLUMNS, *METRIC_COLUMNS, PROVENANCE_ID, "cfg.platform.name"]
    table = read_table(file, "Parquet results table", columns=None if columns is None else [*columns, *keys])
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
        raise ResultsError(file, f"column role has value(s) {_listed(bad_roles)}; expected treatment or baseline")
    for how in sorted(set(basis(df))):
        if BASIS_COLUMN[how] not in df.columns:
            raise ResultsError(file, f"runs measured by {how} need column {BASIS_COLUMN[how]}, which is missing")
    return df


def read_parquet(file: Path, what: str, advice: str = "") -> pd.DataFrame:
    """A Parquet file as a DataFrame; ResultsError ("not a readable <what>", then ``advice``) naming
    the file when it is not a regular file or not Parquet."""
    import pandas as pd

    with _reading(file, what, advice):
        return pd.read_parquet(file)


def read_table(file: Path, what: str, advice: str = "", columns: list[str] | None = None) -> pa.Table:
    """A Parquet file as an Arrow table (``columns``: those of them it has), with
    :func:`read_parquet`'s errors."""
    import pyarrow.parquet as pq

    with _reading(file, what, advice):
        names = None if columns is None else set(pq.read_schema(file).names)
        return pq.read_table(file, columns=None if names is None else [c for c in dict.fromkeys(columns)
                                                                         if c in names])


@contextlib.contextmanager
def _reading(file: Path, what: str, advice: str) -> Iterator[None]:
    import pyarrow

    advice = f"; {advice}" if advice else ""
    try:
        check_regular(file)
        yield
    except NotRegularFile as exc:
        raise ResultsError(file, f"not a readable {what}: it is {exc.kind}{advice}") from None
    except (OSError, ValueError, pyarrow.ArrowException) as exc:
        raise ResultsError(file, f"not a readable {what} ({short_error(exc)}){advice}") from None


MAX_SHOWN = 5
"""Values listed in an error line; the rest are counted (a bad table may have thousands)."""


def _listed(values: list) -> str:
    listed = [str(v)[:40] for v in values[:MAX_SHOWN]]
    return f"{listed}" + (f" and {len(values) - MAX_SHOWN:,} more" if len(values) > MAX_SHOWN else "")


def short_error(exc: BaseException, limit: int = 200) -> str:
    """A library's error message on one line, at most ``limit`` characters (pyarrow's may list a
    whole schema)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


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
    """A manifest's mapping; ResultsError naming the file when it is not one."""
    import yaml

    from veilperf.config.yaml_file import MAX_YAML_BYTES, YAML_SIZE_VARIABLE

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when built with it: 10x faster
    try:
        text = read_limited(file, size_limit(YAML_SIZE_VARIABLE, MAX_YAML_BYTES), YAML_SIZE_VARIABLE)
        data = yaml.load(text.decode("utf-8"), Loader=loader)
    except (NotRegularFile, TooLarge) as exc:
        raise ResultsError(file, f"not a readable manifest: {str(exc).split(': ', 1)[1]}") from None
    except UnicodeDecodeError as exc:
        raise ResultsError(file, f"not a readable manifest: not UTF-8 text ({exc.reason} at byte "
                                 f"{exc.start})") from None
    except yaml.YAMLError as exc:
        raise ResultsError(file, f"not valid YAML ({short_error(exc)})") from None
    if not isinstance(data, dict):
        raise ResultsError(file, "expected a mapping at the top level")
    return data
