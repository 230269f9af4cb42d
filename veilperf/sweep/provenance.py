"""Provenance kept once per experiment: rows carry values, the manifest says where they come from.

A record's config columns (:func:`veilperf.run.config_columns`) include text that only describes
a value: a platform parameter's ``kind``, ``source``, ``note`` and ``range``, the profile's, the
workload's and the experiment's ``description``, the workload's ``provenance``. It is the same for
every point of one platform and workload, so a sweep keeps it once, in the experiment's
``manifest.yaml`` (section ``provenance``: ``experiment``, ``platforms`` by name, ``workloads`` by
name), and a row that matches it leaves those columns out and names the entry it matches by a
digest in its ``provenance_id`` column. A row that does not match (a sweep axis or a baseline
setting a source, a kind, a range...) keeps its own provenance columns and an empty
``provenance_id``. :func:`restore` puts the columns back when results are read, checking each
row's digest against the manifest, so a table is read exactly as it was simulated or not at all.

pyarrow only: the analysis reads results through this module without the simulator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from veilperf.errors import VeilperfError
from veilperf.sweep.identity import digest
from veilperf.sweep.table import ordered_columns, records_to_table

__all__ = ["PROVENANCE_ID", "Provenance", "ProvenanceError", "is_provenance", "restore"]

PROVENANCE_ID = "provenance_id"
"""Row column: digest of the manifest entry holding the row's provenance ("" when the row keeps it)."""
PLATFORM = "cfg.platform.name"
WORKLOAD = "workload"
_GROUPS = (("platforms", "cfg.platform."), ("workloads", "cfg.workload."), ("experiment", "cfg."))
"""Manifest section and column prefix of each group, most specific first."""
_PARAM_TEXT = re.compile(r"^cfg\.platform\.(?:.+\.)?[^.]+\.(?:kind|source|note|range(?:\.\d+)?)$")
_TEXT = ("cfg.description", "cfg.platform.description", "cfg.workload.description")


def is_provenance(column: str) -> bool:
    """Whether a record column only says where a value comes from (see the module docstring)."""
    return (column in _TEXT or column == "cfg.workload.provenance" or column.startswith("cfg.workload.provenance.")
            or bool(_PARAM_TEXT.match(column)))


def _group(column: str) -> tuple[str, str]:
    """(manifest section, key inside an entry) of a provenance column."""
    for section, prefix in _GROUPS:
        if column.startswith(prefix):
            return section, column[len(prefix):]
    raise ValueError(f"not a config column: {column}")


class ProvenanceError(VeilperfError):
    """Lean rows whose provenance the manifest beside them does not hold."""


@dataclass
class Provenance:
    """One experiment's provenance: the experiment's own entry, one per platform and per workload
    (by name), as :func:`veilperf.run.config_columns` gives them without the ``cfg.`` group prefix."""

    experiment: dict[str, Any] = field(default_factory=dict)
    platforms: dict[str, dict[str, Any]] = field(default_factory=dict)
    workloads: dict[str, dict[str, Any]] = field(default_factory=dict)
    _digests: dict[tuple, str | None] = field(default_factory=dict, repr=False, compare=False)

    def add(self, columns: Mapping[str, Any], workload: str) -> None:
        """Take the provenance of one point's config columns as its platform's and workload's
        entry (an entry already known is kept: the first point of each stands for all)."""
        entries: dict[str, dict[str, Any]] = {"platforms": {}, "workloads": {}, "experiment": {}}
        for column, value in columns.items():
            if is_provenance(column):
                section, key = _group(column)
                entries[section][key] = value
        if not self.experiment:
            self.experiment = entries["experiment"]
        self.platforms.setdefault(str(columns.get(PLATFORM)), entries["platforms"])
        if entries["workloads"]:
            self.workloads.setdefault(workload, entries["workloads"])
        self._digests.clear()

    def columns(self, platform: Any, workload: Any) -> dict[str, Any] | None:
        """The provenance columns of a row on ``platform`` running ``workload`` (None when the
        manifest has no entry for its platform)."""
        entry = self.platforms.get(str(platform)) if platform is not None else None
        if entry is None:
            return None
        columns = {f"cfg.{key}": value for key, value in self.experiment.items()}
        columns.update({f"cfg.platform.{key}": value for key, value in entry.items()})
        columns.update({f"cfg.workload.{key}": value for key, value in self.workloads.get(str(workload), {}).items()})
        return columns

    def digest(self, platform: Any, workload: Any) -> str | None:
        """Digest of :meth:`columns` (None when there is no entry)."""
        key = (platform, workload)
        if key not in self._digests:
            columns = self.columns(platform, workload)
            self._digests[key] = None if columns is None else digest(columns)
        return self._digests[key]

    def lean(self, record: dict[str, Any]) -> dict[str, Any]:
        """``record`` without its provenance columns when they are exactly this experiment's for
        its platform and workload (``provenance_id`` names the entry); else unchanged, with an
        empty ``provenance_id``."""
        expected = self.columns(record.get(PLATFORM), record.get(WORKLOAD))
        own = {column: value for column, value in record.items() if is_provenance(column)}
        if expected is None or own != expected:
            record[PROVENANCE_ID] = ""
            return record
        lean = {column: value for column, value in record.items() if column not in own}
        lean[PROVENANCE_ID] = self.digest(record.get(PLATFORM), record.get(WORKLOAD))
        return lean

    def to_manifest(self) -> dict[str, Any]:
        """The manifest's ``provenance`` section."""
        return {"experiment": self.experiment, "platforms": self.platforms, "workloads": self.workloads}

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any] | None) -> Provenance | None:
        """The ``provenance`` section of a manifest (None when it has none, or not as written)."""
        section = manifest.get("provenance") if isinstance(manifest, Mapping) else None
        if not isinstance(section, Mapping):
            return None
        parts = [section.get(name) for name in ("experiment", "platforms", "workloads")]
        if not all(isinstance(part, dict) for part in parts):
            return None
        experiment, platforms, workloads = parts
        if not all(isinstance(entry, dict) for entry in [*platforms.values(), *workloads.values()]):
            return None
        return cls(dict(experiment), dict(platforms), dict(workloads))


def restore(table: pa.Table, provenance: Provenance | None, *, manifest: str, rebuild: str,
            only: Iterable[str] | None = None) -> pa.Table:
    """``table`` with the provenance columns its lean rows left out put back from ``provenance``
    (the manifest's section), columns in results order and without ``provenance_id``; ``only``:
    restore just these columns. Tables without ``provenance_id`` (before lean records) are
    returned as they are. ProvenanceError (one line: ``manifest`` is what to name, ``rebuild``
    how to write it anew) when rows name an entry the manifest lacks or holds otherwise."""
    if PROVENANCE_ID not in table.column_names:
        return table
    ids = table.column(PROVENANCE_ID).to_pylist()
    lean = [bool(i) for i in ids]
    if any(lean):
        if provenance is None:
            raise ProvenanceError(f"{sum(lean)} rows keep their sources, kinds, ranges and descriptions in "
                                  f"{manifest}, which is missing or has no provenance section; {rebuild}")
        table = _filled(table, provenance, ids, lean, manifest=manifest, rebuild=rebuild, only=only)
    table = table.drop_columns([PROVENANCE_ID])
    return table.select(ordered_columns(table.column_names))


def _filled(table: pa.Table, provenance: Provenance, ids: list, lean: list[bool], *, manifest: str, rebuild: str,
            only: Iterable[str] | None) -> pa.Table:
    platforms = _values(table, PLATFORM)
    workloads = _values(table, WORKLOAD)
    entries: dict[tuple, int] = {}
    rows: list[dict[str, Any]] = []
    take: list[int | None] = []
    for is_lean, row_id, platform, workload in zip(lean, ids, platforms, workloads):
        if not is_lean:
            take.append(None)
            continue
        key = (platform, workload, row_id)
        if key not in entries:
            if provenance.digest(platform, workload) != row_id:
                raise ProvenanceError(f"rows of platform {platform!r}, workload {workload!r} ran with other sources, "
                                      f"kinds, ranges or descriptions than {manifest} holds; {rebuild}")
            entries[key] = len(rows)
            rows.append(provenance.columns(platform, workload) or {})
        take.append(entries[key])
    entries = records_to_table(rows)
    if only is not None:
        entries = entries.select([name for name in entries.column_names if name in set(only)])
    filled = entries.take(pa.array(take, pa.int64()))
    mask = pa.array(lean, pa.bool_())
    for name in filled.column_names:
        column = filled.column(name)
        if name in table.column_names:
            own, column = _unified(table.column(name), column)
            table = table.set_column(table.column_names.index(name), name, pc.if_else(mask, column, own))
        else:
            table = table.append_column(name, column)
    return table


def _values(table: pa.Table, name: str) -> list:
    return table.column(name).to_pylist() if name in table.column_names else [None] * table.num_rows


def _unified(a: pa.ChunkedArray, b: pa.ChunkedArray) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """Both columns cast to the type permissive concatenation gives them (as merging part files does)."""
    if a.type == b.type:
        return a, b
    common = pa.unify_schemas([pa.schema([("c", a.type)]), pa.schema([("c", b.type)])],
                              promote_options="permissive").field("c").type
    return a.cast(common), b.cast(common)
