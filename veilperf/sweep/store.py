"""The results store of one experiment: ``<results>/<experiment>/``.

Layout::

    runs.parquet     one row per run (the table users and the analysis read)
    manifest.yaml    the experiment as run (see :mod:`veilperf.sweep.manifest`)
    parts/           part files of a sweep in progress, one per finished batch (Arrow IPC)
    superseded/      rows a later sweep no longer had, one Parquet file per sweep that dropped
                     some (the last :data:`KEEP_SUPERSEDED` are kept)

Crash safety: every file is written to a temporary sibling and renamed into place, so a sweep
killed at any moment (SIGKILL included) leaves only whole files. Finished batches go to
``parts/<time>-<hash>.arrow`` (Arrow IPC, fast to write) as they come in; at the end they are
compacted into ``runs.parquet`` (again by rename) and then deleted. A finished point is one with a
row, in ``runs.parquet`` or in a part, whose ``error`` is empty; a rerun skips those and
recomputes the rest (points that failed are retried).

Every path written or deleted is checked to resolve inside the results root
(:func:`veilperf.sweep.paths.inside`: a ``parts`` or ``superseded`` symlink leading out is refused),
and only files under the names the store gives them are deleted.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.feather as feather
import yaml

from veilperf.config.yaml_file import MAX_YAML_BYTES, YAML_SIZE_VARIABLE
from veilperf.encoding import is_utf8, shown
from veilperf.files import NotRegularFile, TooLarge, read_limited, size_limit
from veilperf.sweep.merge import StoredRows
from veilperf.sweep.merge import read_file as _read
from veilperf.sweep.paths import ResultsIOError, inside, remove_leftovers, remove_owned, results_io, write_atomic
from veilperf.sweep.table import write_table_atomic

__all__ = ["ResultsStore", "Compaction", "KEEP_SUPERSEDED", "MISSING"]

_READ_ATTEMPTS = 3
PART_COMPRESSION = "zstd"
"""Part files' buffer compression: a part of a few hundred rows shrinks about 4x (most config
columns hold one value per batch), at the cost of a few ms per part."""
MISSING = "missing"
"""State of an experiment folder's manifest when there is none (see :meth:`ResultsStore.manifest_status`)."""
KEEP_SUPERSEDED = 3
"""How many superseded sets (one per sweep that dropped stored rows) an experiment keeps; older
ones are deleted when a new one is written."""
_PART = re.compile(r"[0-9]{20}-[0-9a-f]{1,64}\.arrow")
_OWN_FILES = re.compile(r"runs\.parquet|manifest\.yaml")
_SUPERSEDED = re.compile(r"[0-9]{8}T[0-9]{6}\.[0-9]{6}Z\.parquet")


@dataclass
class Compaction:
    """What :meth:`ResultsStore.compact` did: whether ``runs.parquet`` changed, and how many stored
    points it dropped (not in ``keep``) into which superseded file."""

    changed: bool
    dropped: int = 0
    superseded: Path | None = None


class ResultsStore:
    """Reads and writes ``<root>/<experiment>/``."""

    def __init__(self, directory: Path) -> None:
        if not is_utf8(directory):  # its path goes into manifests and tables, which hold UTF-8 only
            raise ResultsIOError(f"{shown(directory)}: folder name is not UTF-8 text; rename it")
        self.directory = Path(directory)
        self.root = self.directory.parent
        self.runs_path = self.directory / "runs.parquet"
        self.manifest_path = self.directory / "manifest.yaml"
        self.parts_dir = self.directory / "parts"
        self.superseded_dir = self.directory / "superseded"

    @classmethod
    def of(cls, root: str | Path, experiment: str) -> ResultsStore:
        """The store of ``experiment`` under results root ``root``, checked to lie inside it."""
        return cls(inside(root, Path(root) / experiment))

    def _inside(self, path: Path) -> Path:
        """``path`` after checking it resolves inside the results root (before any write or delete)."""
        return inside(self.root, path)

    def part_paths(self) -> list[Path]:
        """Finished part files, oldest first (names start with the write time); a parts folder
        leading out of the results root is refused, for reading as for writing."""
        if not self.parts_dir.is_dir():
            return []
        self._inside(self.parts_dir)
        return sorted(p for p in self.parts_dir.glob("[0-9]*.arrow") if _PART.fullmatch(p.name))

    def _sources(self) -> list[Path]:
        return ([self.runs_path] if self.runs_path.exists() else []) + self.part_paths()

    @staticmethod
    def _retrying(read: Callable[[], set[str]]) -> set[str]:
        """``read()``, again when a sweep running beside an unlocked reader (``--dry-run``) merges
        a part away meanwhile."""
        for _ in range(_READ_ATTEMPTS - 1):
            with contextlib.suppress(FileNotFoundError):
                return read()
        return read()

    def finished_ids(self) -> set[str]:
        """Point ids with a successful row in ``runs.parquet`` or a part file."""
        return self._retrying(self._finished_ids)

    def stored_ids(self) -> set[str]:
        """Point ids with any row (finished or failed) in ``runs.parquet`` or a part file."""
        return self._retrying(lambda: set().union(*(self._ids(path) for path in self._sources())))

    def _finished_ids(self) -> set[str]:
        finished: set[str] = set()
        for path in self._sources():
            table = _read(path, columns=["point_id", "error"])
            for point_id, error in zip(table.column("point_id").to_pylist(), table.column("error").to_pylist()):
                if not error:
                    finished.add(point_id)
        return finished

    def write_part(self, table: pa.Table) -> Path:
        """Store one finished batch as a new part file (atomic)."""
        self._mkdir(self._inside(self.parts_dir))
        ids = "".join(sorted(table.column("point_id").to_pylist()))
        path = self.parts_dir / f"{time.time_ns():020d}-{hashlib.sha256(ids.encode()).hexdigest()[:12]}.arrow"
        return write_atomic(self._inside(path),
                            lambda tmp: feather.write_feather(table, tmp, compression=PART_COMPRESSION),
                            "write results")

    @staticmethod
    def _mkdir(directory: Path) -> None:
        with results_io(directory, "create the results folder"):
            directory.mkdir(parents=True, exist_ok=True)

    def read_all(self) -> list[pa.Table]:
        """``runs.parquet`` then every part, in write order."""
        return [_read(path) for path in self._sources()]

    def compact(self, keep: set[str]) -> Compaction:
        """Merge ``runs.parquet`` and the parts into ``runs.parquet``, keeping the last row of each
        point in ``keep``, a chunk of rows at a time (:mod:`veilperf.sweep.merge`); rows of other
        points are moved to ``superseded/<time>.parquet`` (the last :data:`KEEP_SUPERSEDED` sets are
        kept), never just deleted. Then delete the merged parts and the temporary files a killed
        sweep left under the store's own names."""
        parts = self.part_paths()
        result = Compaction(False)
        if self.needs_compaction(keep):
            self._mkdir(self._inside(self.directory))
            stored = StoredRows.of(self._sources())
            result = self._set_aside(stored, keep)
            stored.write(self._inside(self.runs_path), sorted(p for p in stored.where if p in keep))
        with results_io(self.directory, "tidy the results folder"):
            for path in parts:
                path.unlink()
            remove_leftovers(self.directory, _OWN_FILES)
            if self.parts_dir.is_dir():
                remove_leftovers(self.parts_dir, _PART)
                if not any(self.parts_dir.iterdir()):
                    self.parts_dir.rmdir()
        return result

    def replace_rows(self, table: pa.Table) -> Compaction:
        """Make ``table`` the whole of ``runs.parquet`` (``collect``): stored points it lacks are
        moved to ``superseded/``; the part files, now merged or replaced, are deleted."""
        ids = set(table.column("point_id").to_pylist()) if table.num_rows else set()
        result = self._set_aside(StoredRows.of(self._sources()), ids)
        write_table_atomic(table, self._inside(self.runs_path))
        with results_io(self.parts_dir, "remove merged part files"):
            for part in self.part_paths():
                part.unlink()
        return result

    def _set_aside(self, stored: StoredRows, keep: set[str]) -> Compaction:
        """Write the stored rows of points not in ``keep`` to a new superseded file (deleting all
        but the newest :data:`KEEP_SUPERSEDED`); the compaction says how many and where."""
        result = Compaction(True)
        dropped = sorted(p for p in stored.where if p not in keep)
        if not dropped:
            return result
        self._mkdir(self._inside(self.superseded_dir))
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        path = self._inside(self.superseded_dir / f"{stamp}.parquet")
        stored.write(path, dropped)
        for old in self.superseded_paths()[:-KEEP_SUPERSEDED]:
            remove_owned(self.superseded_dir, old.name)
        result.dropped, result.superseded = len(dropped), path
        return result

    def superseded_paths(self) -> list[Path]:
        """Superseded sets, oldest first."""
        if not self.superseded_dir.is_dir():
            return []
        return sorted(p for p in self.superseded_dir.glob("*.parquet") if _SUPERSEDED.fullmatch(p.name))

    def needs_compaction(self, keep: set[str]) -> bool:
        """Whether :meth:`compact` would write ``runs.parquet`` (parts to merge, no table yet, or
        rows of points not in ``keep``)."""
        return bool(self.part_paths()) or not self.runs_path.exists() or not self._ids(self.runs_path) <= keep

    @staticmethod
    def _ids(path: Path) -> set[str]:
        return set(_read(path, columns=["point_id"]).column("point_id").to_pylist())

    def read_manifest(self) -> dict | None:
        """The manifest, or None when there is none yet."""
        if not self.manifest_path.exists():
            return None
        try:
            text = self._manifest_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ResultsIOError(f"{self.manifest_path}: not a readable manifest: not UTF-8 text ({exc.reason} at "
                                 f"byte {exc.start})") from None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}: " if mark is not None else ""
            raise ResultsIOError(f"{self.manifest_path}: not a readable manifest ({where}"
                                 f"{getattr(exc, 'problem', None) or 'invalid YAML'})") from None

    def manifest_status(self) -> str:
        """``"missing"``, or the state of ``manifest.yaml``'s text (:func:`veilperf.sweep.manifest.manifest_state`:
        ``intact``, ``edited`` since veilperf wrote it, ``unverified`` when it has no checksum)."""
        from veilperf.sweep.manifest import manifest_state

        if not self.manifest_path.exists():
            return MISSING
        return manifest_state(self._manifest_bytes())

    def _manifest_bytes(self) -> bytes:
        """``manifest.yaml``'s bytes: a regular file within the YAML size limit (a FIFO would block)."""
        try:
            with results_io(self.manifest_path, "read the manifest"):
                return read_limited(self.manifest_path, size_limit(YAML_SIZE_VARIABLE, MAX_YAML_BYTES),
                                    YAML_SIZE_VARIABLE)
        except (NotRegularFile, TooLarge) as exc:
            cause = str(exc).split(": ", 1)[1]
            raise ResultsIOError(f"{self.manifest_path}: not a readable manifest: {cause}") from None

    def write_manifest(self, text: str) -> None:
        """Write ``manifest.yaml`` (atomic)."""
        self._mkdir(self._inside(self.directory))
        write_atomic(self._inside(self.manifest_path), lambda tmp: tmp.write_text(text, encoding="utf-8"),
                     "write the manifest")
