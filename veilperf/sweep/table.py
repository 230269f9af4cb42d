"""Records to Arrow tables and back: one row per run, columns in a fixed order.

Column types are inferred per column over all rows (``1`` and ``2.5`` make a float column, a
missing value is null), and tables written by different batches are merged with permissive type
promotion, so the final table does not depend on how points were batched.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from veilperf.sweep.options import SweepError
from veilperf.sweep.paths import write_atomic

__all__ = ["IDENTITY_COLUMNS", "SOURCE_KEY", "ordered_columns", "records_to_table", "concat_tables", "unified_schema",
           "merge_tables", "write_table_atomic"]

IDENTITY_COLUMNS = (
    "experiment", "point_id", "pair_key", "role", "replication", "seed",
    "workload", "service", "mode", "error", "wall_s", "veilperf_version", "git_commit",
)


def records_to_table(records: list[dict]) -> pa.Table:
    """One Arrow table from flat record dicts whose keys may differ (missing values are null)."""
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    columns = {}
    for name in names:
        values = [record.get(name) for record in records]
        try:
            columns[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise SweepError(f"record column {name!r} mixes value types ({exc})") from None
    return pa.table(columns)


def merge_tables(tables: list[pa.Table], keep: set[str] | None = None) -> pa.Table:
    """Concatenate, keep the last row of each ``point_id`` (restricted to ``keep`` when given),
    sort rows by point id and columns identity-first then by name."""
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return pa.table({})
    table = concat_tables(tables)
    last = {point_id: row for row, point_id in enumerate(table.column("point_id").to_pylist())}
    rows = [last[point_id] for point_id in sorted(last) if keep is None or point_id in keep]
    table = table.take(pa.array(rows, type=pa.int64()))
    return table.select(ordered_columns(table.column_names))


def concat_tables(tables: list[pa.Table]) -> pa.Table:
    """The rows of ``tables`` in order, columns joined with permissive type promotion (SweepError
    naming the files whose types disagree), without the tables' source metadata."""
    try:
        table = pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise SweepError(_disagreement([t.schema for t in tables])
                         or f"result tables disagree on a column's type: {exc}") from None
    return table.replace_schema_metadata(
        {k: v for k, v in (table.schema.metadata or {}).items() if k != SOURCE_KEY} or None)


def unified_schema(schemas: list[pa.Schema]) -> pa.Schema:
    """The schema :func:`concat_tables` gives tables of ``schemas`` (their source metadata dropped)."""
    try:
        schema = pa.unify_schemas(schemas, promote_options="permissive") if schemas else pa.schema([])
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise SweepError(_disagreement(schemas) or f"result tables disagree on a column's type: {exc}") from None
    return schema.remove_metadata()


def ordered_columns(names: list[str]) -> list[str]:
    """Results order: the identity columns first, then the others by name."""
    identity = [name for name in IDENTITY_COLUMNS if name in names]
    return identity + sorted(name for name in names if name not in IDENTITY_COLUMNS)


SOURCE_KEY = b"veilperf:source"
"""Schema metadata naming the file a table was read from (set by the store's reader, for errors)."""


def _disagreement(schemas: list[pa.Schema]) -> str | None:
    """``"<file>: column C is T1 there but T2 in <other file>..."`` for the first column whose type differs."""
    first: dict[str, tuple[pa.DataType, str]] = {}
    for number, schema in enumerate(schemas, start=1):
        source = (schema.metadata or {}).get(SOURCE_KEY, f"result table {number}".encode()).decode()
        for field in schema:
            if pa.types.is_null(field.type):
                continue
            seen = first.setdefault(field.name, (field.type, source))
            if not _compatible(seen[0], field.type):
                return (f"{seen[1]}: column {field.name} is {seen[0]} there but {field.type} in {source}: one of "
                        "them is not a results file veilperf wrote (move it away and rerun)")
    return None


def _compatible(a: pa.DataType, b: pa.DataType) -> bool:
    numeric = (pa.types.is_integer, pa.types.is_floating)
    return a == b or (any(t(a) for t in numeric) and any(t(b) for t in numeric))


def write_table_atomic(table: pa.Table, path: Path) -> None:
    """Write Parquet to a temporary sibling, then rename over ``path`` (never a half-written file)."""
    write_atomic(path, lambda tmp: pq.write_table(table, tmp), "write results")
