"""Merge the outputs of sharded sweeps (``veilperf sweep --shard K/N``) into one results store.

Each source is an experiment directory (it holds ``manifest.yaml``) or a results root holding
such directories. Sources of one experiment must come from the same experiment text, overrides,
point count and provenance (the manifest's sources, kinds, ranges and descriptions, which its
rows leave out); their ``runs.parquet`` and part files are merged (last row per point id wins)
into ``<dest>/<experiment>/runs.parquet``, which is replaced: list the destination among the
sources to keep what it already holds. Points it held that no source has are moved to its
``superseded/`` folder (and said), never just deleted.

What a source's manifest says is checked before it is used: the experiment name must be a safe
name (it becomes a folder under ``dest``), and a manifest edited since veilperf wrote it is
refused. ``dest`` may not be, or lie inside, a source experiment folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from veilperf.sweep.lock import results_lock
from veilperf.sweep.manifest import EDITED, dump_manifest
from veilperf.sweep.options import SweepError
from veilperf.sweep.paths import refuse_inputs, safe_name
from veilperf.sweep.store import ResultsStore
from veilperf.sweep.table import merge_tables

__all__ = ["CollectSummary", "collect"]

_SAME_RUN_KEYS = ("experiment_text", "overrides", "points", "provenance")


@dataclass
class CollectSummary:
    experiment: str
    directory: Path
    rows: int
    expected: int | None  # the experiment's point count (all shards), from the manifest
    sources: int
    superseded: int = 0  # points the destination held that no source has (moved to superseded/)
    superseded_path: Path | None = None


def _experiment_dirs(source: Path) -> list[Path]:
    if (source / "manifest.yaml").is_file():
        return [source]
    found = sorted(path.parent for path in source.glob("*/manifest.yaml")) if source.is_dir() else []
    if not found:
        raise SweepError(f"{source}: not a results directory (no manifest.yaml in it or its subdirectories)")
    return found


def _group_by_experiment(sources: Sequence[str | Path]) -> dict[str, list[tuple[ResultsStore, dict]]]:
    groups: dict[str, list[tuple[ResultsStore, dict]]] = {}
    for source in sources:
        for directory in _experiment_dirs(Path(source)):
            store = ResultsStore(directory)
            if store.manifest_status() == EDITED:
                raise SweepError(f"{store.manifest_path}: edited since veilperf wrote it (its checksum does not "
                                 "match), so these results cannot be matched to their experiment; restore it or "
                                 "rerun that sweep")
            manifest = store.read_manifest() or {}
            if not isinstance(manifest, dict):
                raise SweepError(f"{store.manifest_path}: not a manifest (expected a mapping at the top level)")
            name = safe_name(manifest.get("experiment", directory.name), store.manifest_path)
            group = groups.setdefault(name, [])
            if any(s.directory.resolve() == directory.resolve() for s, _ in group):
                continue
            if group and any(group[0][1].get(k) != manifest.get(k) for k in _SAME_RUN_KEYS):
                raise SweepError(f"{directory} and {group[0][0].directory} hold different runs of {name!r} "
                                 f"(their manifests differ in {', '.join(_SAME_RUN_KEYS)})")
            group.append((store, manifest))
    return groups


def collect(sources: Sequence[str | Path], dest: str | Path = "results") -> list[CollectSummary]:
    """Merge ``sources`` into ``dest`` (holding its lock); one summary per experiment."""
    groups = _group_by_experiment(sources)
    # a results root holding the sources is fine (it keeps what it holds); a source folder itself is not
    refuse_inputs([dest], [store.directory for group in groups.values() for store, _ in group], "--results")
    with results_lock(dest):
        return [_merge_into(dest, name, group) for name, group in groups.items()]


def _merge_into(dest: str | Path, name: str, group: list[tuple[ResultsStore, dict]]) -> CollectSummary:
    merged = merge_tables([table for store, _ in group for table in store.read_all()])
    target = ResultsStore.of(dest, name)
    first_manifest = group[0][1]
    target.write_manifest(dump_manifest(
        dict(first_manifest, shard=None, collected_from=[str(store.directory) for store, _ in group])))
    done = target.replace_rows(merged)
    return CollectSummary(name, target.directory, merged.num_rows, first_manifest.get("points"), len(group),
                          done.dropped, done.superseded)
