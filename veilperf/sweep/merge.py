"""Reading an experiment's stored result files, and merging them a chunk of rows at a time.

Stored files are ``runs.parquet`` (read by row group) and part files (Arrow, each read whole: a
part holds at most :data:`veilperf.sweep.parts.PART_ROWS` rows). :class:`StoredRows` finds where
the last row of each point is and the schema all rows share (permissive type promotion, as
:func:`veilperf.sweep.table.merge_tables` gives them), then writes the rows of chosen points,
sorted by point id, :data:`CHUNK_ROWS` at a time: the sweep's process holds one chunk and one
stored unit, whatever the number of points (reading every part once per chunk).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.feather as feather
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from veilperf.files import NotRegularFile, check_regular
from veilperf.sweep.paths import ResultsIOError, write_atomic
from veilperf.sweep.table import SOURCE_KEY, ordered_columns, unified_schema

__all__ = ["CHUNK_ROWS", "StoredRows", "read_file"]

CHUNK_ROWS = 16384
"""Rows written per row group of a merged file (and held in memory while merging)."""


@contextlib.contextmanager
def _reading(path: Path, columns: list[str] | None = None) -> Iterator[None]:
    """Errors reading a stored file as one line naming it (a regular file is checked first)."""
    try:
        check_regular(path)
        yield
    except FileNotFoundError:
        raise  # a part merged away by a sweep running beside an unlocked reader (--dry-run)
    except OSError as exc:
        raise ResultsIOError(f"{path}: cannot read results: {exc.strerror or exc}") from None
    except NotRegularFile as exc:
        raise ResultsIOError(f"{path}: cannot read results: it is {exc.kind}, not a regular file") from None
    except (pa.ArrowInvalid, KeyError) as exc:
        missing = _missing_columns(path, columns)
        if missing:
            raise ResultsIOError(f"{path}: not a results file veilperf wrote: no column {', '.join(missing)}; "
                                 "move it away and rerun") from None
        raise ResultsIOError(f"{path}: not a readable results file ({exc}); move it away and rerun") from None


def _missing_columns(path: Path, columns: list[str] | None) -> list[str]:
    """Which of ``columns`` the file's schema lacks (none when it cannot be read at all)."""
    if not columns:
        return []
    try:
        names = set(pa.ipc.open_file(path).schema.names if path.suffix == ".arrow" else pq.read_schema(path).names)
    except (OSError, pa.ArrowInvalid):
        return []
    return [c for c in columns if c not in names]


def read_file(path: Path, columns: list[str] | None = None, unit: int | None = None) -> pa.Table:
    """A stored results file's rows (``columns`` only, when given; ``unit``: one row group of a
    Parquet file, a part file being one unit), its source named in its schema metadata."""
    with _reading(path, columns):
        if path.suffix == ".arrow":
            table = feather.read_table(path, columns=columns, memory_map=False)
        elif unit is None:
            table = pq.read_table(path, columns=columns)
        else:
            table = pq.ParquetFile(path).read_row_group(unit, columns=columns)
    if "point_id" not in table.column_names:
        raise ResultsIOError(f"{path}: not a results file veilperf wrote: no column point_id; move it away and rerun")
    if not pa.types.is_string(table.schema.field("point_id").type):
        raise ResultsIOError(f"{path}: column point_id is {table.schema.field('point_id').type}, not the text "
                             "veilperf writes: not a results file veilperf wrote; move it away and rerun")
    return table.replace_schema_metadata({**(table.schema.metadata or {}), SOURCE_KEY: str(path).encode()})


def _units(path: Path) -> int:
    with _reading(path):
        return 1 if path.suffix == ".arrow" else pq.ParquetFile(path).num_row_groups


def _schema(path: Path) -> pa.Schema:
    """A stored file's schema, its source named in its metadata."""
    with _reading(path):
        if path.suffix == ".arrow":
            with ipc.open_file(path) as reader:
                schema = reader.schema
        else:
            schema = pq.read_schema(path)
    return schema.with_metadata({**(schema.metadata or {}), SOURCE_KEY: str(path).encode()})


@dataclass
class StoredRows:
    """The stored rows of an experiment: per point id where its last row is, ``(source, unit,
    row)``, and the schema of the merged table."""

    sources: list[Path]
    where: dict[str, tuple[int, int, int]]
    schema: pa.Schema

    @classmethod
    def of(cls, sources: list[Path]) -> StoredRows:
        """Index ``sources`` (in write order: a later row of a point wins), reading point ids only."""
        where: dict[str, tuple[int, int, int]] = {}
        schemas = []
        for source, path in enumerate(sources):
            rows = 0
            for unit in range(_units(path)):
                ids = read_file(path, ["point_id"], unit).column("point_id").to_pylist()
                where.update((point_id, (source, unit, row)) for row, point_id in enumerate(ids))
                rows += len(ids)
            if rows:  # an empty table's columns take no part, as in merge_tables
                schemas.append(_schema(path))
        schema = unified_schema(schemas)
        return cls(sources, where, pa.schema([schema.field(name) for name in ordered_columns(schema.names)]))

    def write(self, path: Path, ids: list[str]) -> None:
        """Write the rows of ``ids`` (stored points, sorted) to Parquet ``path``, atomically."""
        def write(tmp: Path) -> None:
            with pq.ParquetWriter(tmp, self.schema) as writer:
                for start in range(0, len(ids), CHUNK_ROWS):
                    writer.write_table(self._gather(ids[start:start + CHUNK_ROWS]), row_group_size=CHUNK_ROWS)

        if not ids:
            write_atomic(path, lambda tmp: pq.write_table(self.schema.empty_table(), tmp), "write results")
            return
        write_atomic(path, write, "write results")

    def _gather(self, ids: list[str]) -> pa.Table:
        """The rows of ``ids`` (sorted) in the merged schema, in that order."""
        wanted: dict[tuple[int, int], list[int]] = {}
        for point_id in ids:
            source, unit, row = self.where[point_id]
            wanted.setdefault((source, unit), []).append(row)
        pieces = [self._conform(read_file(self.sources[source], None, unit).take(pa.array(rows, pa.int64())))
                  for (source, unit), rows in sorted(wanted.items())]
        table = pa.concat_tables(pieces)
        return table.take(pc.sort_indices(table.column("point_id")))

    def _conform(self, table: pa.Table) -> pa.Table:
        columns = []
        for field in self.schema:
            if field.name in table.column_names:
                column = table.column(field.name)
                columns.append(column if column.type == field.type else column.cast(field.type))
            else:
                columns.append(pa.nulls(table.num_rows, field.type))
        return pa.Table.from_arrays(columns, schema=self.schema)
