"""The results store of one experiment: ``<results>/<experiment>/``.

Layout::

    runs.parquet     one row per run (the table users and the analysis read)
    manifest.yaml    the experiment as run (see :mod:`veilperf.sweep.manifest`)
    parts/           part files of a sweep in progress, one per finished batch (Arrow IPC)

Crash safety: every file is written to a temporary sibling and renamed into place, so a sweep
killed at any moment (SIGKILL included) leaves only whole files. Finished batches go to
``parts/<time>-<hash>.arrow`` (Arrow IPC, fast to write) as they come in; at the end they are
compacted into ``runs.parquet`` (again by rename) and then deleted. A finished point is one with a
row, in ``runs.parquet`` or in a part, whose ``error`` is empty; a rerun skips those and
recomputes the rest (points that failed are retried).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import yaml

from veilperf.sweep.table import merge_tables, write_table_atomic

__all__ = ["ResultsStore"]


def _read(path: Path, columns: list[str] | None = None) -> pa.Table:
    if path.suffix == ".arrow":
        return feather.read_table(path, columns=columns, memory_map=False)
    return pq.read_table(path, columns=columns)


class ResultsStore:
    """Reads and writes ``<root>/<experiment>/``."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.runs_path = self.directory / "runs.parquet"
        self.manifest_path = self.directory / "manifest.yaml"
        self.parts_dir = self.directory / "parts"

    def part_paths(self) -> list[Path]:
        """Finished part files, oldest first (names start with the write time)."""
        if not self.parts_dir.is_dir():
            return []
        return sorted(self.parts_dir.glob("[0-9]*.arrow"))

    def _sources(self) -> list[Path]:
        return ([self.runs_path] if self.runs_path.exists() else []) + self.part_paths()

    def finished_ids(self) -> set[str]:
        """Point ids with a successful row in ``runs.parquet`` or a part file."""
        finished: set[str] = set()
        for path in self._sources():
            table = _read(path, columns=["point_id", "error"])
            for point_id, error in zip(table.column("point_id").to_pylist(), table.column("error").to_pylist()):
                if not error:
                    finished.add(point_id)
        return finished

    def write_part(self, table: pa.Table) -> Path:
        """Store one finished batch as a new part file (atomic)."""
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        ids = "".join(sorted(table.column("point_id").to_pylist()))
        path = self.parts_dir / f"{time.time_ns():020d}-{hashlib.sha256(ids.encode()).hexdigest()[:12]}.arrow"
        tmp = path.with_name(f".{path.name}.tmp")
        feather.write_feather(table, tmp, compression="uncompressed")
        tmp.replace(path)
        return path

    def read_all(self) -> list[pa.Table]:
        """``runs.parquet`` then every part, in write order."""
        return [_read(path) for path in self._sources()]

    def compact(self, keep: set[str]) -> bool:
        """Merge ``runs.parquet`` and the parts into ``runs.parquet``, keeping the last row of each
        point in ``keep`` (rows of other points are dropped); then delete the merged parts and any
        temporary file a killed sweep left behind. Returns whether ``runs.parquet`` changed."""
        parts = self.part_paths()
        changed = bool(parts) or not self.runs_path.exists() or not self._ids(self.runs_path) <= keep
        if changed:
            self.directory.mkdir(parents=True, exist_ok=True)
            write_table_atomic(merge_tables(self.read_all(), keep), self.runs_path)
        for path in parts:
            path.unlink()
        for leftover in [*self.directory.glob(".*.tmp"), *self.parts_dir.glob(".*.tmp")]:
            leftover.unlink()
        if self.parts_dir.is_dir() and not any(self.parts_dir.iterdir()):
            self.parts_dir.rmdir()
        return changed

    @staticmethod
    def _ids(path: Path) -> set[str]:
        return set(_read(path, columns=["point_id"]).column("point_id").to_pylist())

    def read_manifest(self) -> dict | None:
        """The manifest, or None when there is none yet."""
        if not self.manifest_path.exists():
            return None
        return yaml.safe_load(self.manifest_path.read_text(encoding="utf-8"))

    def write_manifest(self, text: str) -> None:
        """Write ``manifest.yaml`` (atomic)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.manifest_path.with_name(".manifest.yaml.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(self.manifest_path)
