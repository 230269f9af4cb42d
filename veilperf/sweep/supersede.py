"""No silent loss of stored results: what a sweep would drop from an experiment's store, and why.

After a sweep (not a shard) ``runs.parquet`` holds exactly the experiment's current points; rows of
other points are moved to ``superseded/`` by :meth:`~veilperf.sweep.store.ResultsStore.compact`.
Before anything runs, :func:`check_store` compares the stored manifest with the sweep's own:

- stored points of **another experiment file** under the same name, or of an unknown origin (the
  manifest deleted or edited since veilperf wrote it), are refused unless ``replace``;
- points dropped by the same file (an axis edited away, other ``--set`` values, a changed workload
  or platform) are said: how many and why;
- a deleted or edited manifest is said, and written anew from the sweep.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from veilperf.sweep.manifest import EDITED, INTACT, UNVERIFIED
from veilperf.sweep.options import SweepError
from veilperf.sweep.paths import ResultsIOError
from veilperf.sweep.store import KEEP_SUPERSEDED, MISSING, ResultsStore

__all__ = ["StoreCheck", "check_store", "raise_refusals", "KEPT_NOTE"]

KEPT_NOTE = f"the last {KEEP_SUPERSEDED} superseded sets are kept"

UNREADABLE = "unreadable"
_MANIFEST_NOTES = {
    MISSING: "manifest.yaml was deleted",
    EDITED: "manifest.yaml was edited since veilperf wrote it",
    UNREADABLE: "manifest.yaml is not a readable manifest",
}


@dataclass
class StoreCheck:
    """What a sweep will do to one experiment's stored rows."""

    experiment: str
    directory: Path
    dropped: int = 0  # stored points that are not points of this sweep
    reason: str = ""  # why they are not
    refused: str = ""  # the one-line refusal when they may not be dropped without --replace
    manifest: str = INTACT  # state of the stored manifest (MISSING, EDITED, INTACT, UNVERIFIED)

    @property
    def rewrites_manifest(self) -> bool:
        """The stored manifest cannot be trusted and must be written anew even if nothing runs."""
        return self.manifest in _MANIFEST_NOTES

    def note(self, superseded: Path | None = None) -> str:
        """One line for the user ("" when there is nothing to say)."""
        parts = []
        if self.manifest in _MANIFEST_NOTES:
            parts.append(f"{_MANIFEST_NOTES[self.manifest]}; written anew from this sweep")
        if self.dropped:
            where = superseded or self.directory / "superseded"
            parts.append(f"{self.dropped} stored point{'s' * (self.dropped != 1)} not in this sweep "
                         f"({self.reason}) moved to {where} ({KEPT_NOTE})")
        return f"{self.experiment}: {'; '.join(parts)}" if parts else ""


def check_store(store: ResultsStore, name: str, keep: set[str], new: dict, *, replace: bool) -> StoreCheck:
    """Compare ``store`` (its stored point ids and manifest) with a sweep of ``keep`` points whose
    manifest is ``new`` (:func:`veilperf.sweep.manifest.manifest_data`). ``refused`` is set when
    stored points of another experiment file, or of an unknown origin, would be dropped and
    ``replace`` is false."""
    check = StoreCheck(name, store.directory)
    stored = store.stored_ids()
    if not stored and not store.manifest_path.exists():
        return check  # a new experiment folder
    check.manifest, old = _stored_manifest(store)
    gone = stored - keep
    if not gone:
        return check
    check.dropped = len(gone)
    other = _other_file(old, new)
    if check.manifest in _MANIFEST_NOTES:
        check.reason = f"{_MANIFEST_NOTES[check.manifest]}: their origin cannot be checked"
    elif other:
        check.reason = f"they are points of another experiment file, {other}, also named {name!r}"
    else:
        check.reason = _why_changed(old, new)
        return check
    if not replace:
        check.refused = (f"{store.directory}: {check.dropped} stored point{'s' * (check.dropped != 1)} would be "
                         f"dropped ({check.reason}); rerun with --replace to replace them (they are moved to "
                         f"{store.directory / 'superseded'}, {KEPT_NOTE}) or give this experiment another name "
                         "(--set name=...)")
    return check


def _stored_manifest(store: ResultsStore) -> tuple[str, dict]:
    """The state of the stored manifest and, when it can be trusted, its content."""
    state = store.manifest_status()
    if state not in (INTACT, UNVERIFIED):
        return state, {}
    try:
        old = store.read_manifest()
    except ResultsIOError:
        return UNREADABLE, {}
    return (state, old) if isinstance(old, dict) else (UNREADABLE, {})


def raise_refusals(checks: list[StoreCheck]) -> None:
    """SweepError for the first refused check (nothing has been written yet)."""
    for check in checks:
        if check.refused:
            raise SweepError(check.refused)


def _other_file(old: dict, new: dict) -> str:
    """The stored manifest's experiment file if it is another file than the sweep's, else ""."""
    old_path = old.get("file_path")
    if isinstance(old_path, str):
        return old_path if old_path != new["file_path"] else ""
    # a manifest of an older veilperf: the same text, or the same path as given, is the same file
    if old.get("experiment_text") == new["experiment_text"] or old.get("file") == new["file"]:
        return ""
    return str(old.get("file") or "unknown")


def _why_changed(old: dict, new: dict) -> str:
    """Why the same experiment file has other points now, from what differs in the manifests."""
    reasons = []
    if old.get("experiment_text") != new["experiment_text"]:
        reasons.append(f"{os.path.basename(new['file'])} was edited")
    if (old.get("overrides") or []) != new["overrides"]:
        shown = [" ".join(v) or "none" for v in (old.get("overrides") or [], new["overrides"])]
        reasons.append(f"--set values changed from {shown[0]} to {shown[1]}")
    if old.get("workload_files") != new["workload_files"]:
        reasons.append("a workload file changed")
    if any(old.get(key) != new.get(key) for key in ("platform", "platforms")):
        reasons.append("the platform changed")
    if old.get("veilperf_version") != new["veilperf_version"]:
        reasons.append(f"veilperf {old.get('veilperf_version')} -> {new['veilperf_version']}")
    if not reasons:  # --set of replications, sweep or baseline: the manifest keeps no file-level --set
        reasons.append(f"the experiment's points changed ({old.get('points')} -> {new['points']} points)")
    return "; ".join(reasons)
