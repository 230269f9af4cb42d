"""Provenance of a sweep: the manifest written next to the results, and the git commit.

A manifest ends with ``checksum: sha256:<hex>`` over the rest of its text (the ``date`` line left
out, so an unchanged sweep writes an unchanged digest): :func:`manifest_state` tells a manifest
veilperf wrote from one edited since, so the results' origin is never taken from an edited file.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import re
import subprocess
from pathlib import Path

import yaml

from veilperf import __version__
from veilperf.config.loader import Experiment
from veilperf.sweep.provenance import Provenance

__all__ = ["git_commit", "manifest_data", "manifest_text", "dump_manifest", "manifest_state", "INTACT", "EDITED",
           "UNVERIFIED"]

INTACT, EDITED, UNVERIFIED = "intact", "edited", "unverified"
"""States of a manifest's text: its checksum holds, does not hold, or it has none (older veilperf)."""
_CHECKSUM = re.compile(rb"^checksum: sha256:([0-9a-f]{64})\n\Z", re.MULTILINE)
_DATE_LINE = re.compile(rb"^date: .*\n", re.MULTILINE)


def git_commit() -> str:
    """Commit of the veilperf source checkout (``-dirty`` when it has local changes), else ``""``."""
    source = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=source, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "."],
                                cwd=source.parent, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return ""
    return head + ("-dirty" if status.stdout.strip() else "")


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings (the experiment file text) as literal blocks."""


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _str)


def manifest_data(exp: Experiment, experiment_text: str, *, points: int, shard: str | None, commit: str,
                  provenance: Provenance | None = None) -> dict:
    """The manifest as a mapping: what was run (``file_path``: the experiment file resolved, which
    tells two files of one name apart), with which overrides, platform and code, and the
    provenance its rows leave out (:mod:`veilperf.sweep.provenance`)."""
    data = {
        "experiment": exp.name,
        "file": str(exp.file),
        "file_path": os.path.realpath(exp.file),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "veilperf_version": __version__,
        "git_commit": commit,
        "overrides": [f"{path}={value}" for path, value in exp.overrides],
        "points": points,
        "shard": shard,
        "workload_files": {str(path): _sha256(Path(path)) for path in exp.workload_files},
        "experiment_text": experiment_text,
    }
    # One profile as before; several (a platform axis) as a list, each naming itself, so no reader
    # takes the first for all of them (analysis.profile.find_profiles reads both shapes).
    profiles = list(exp.platforms.values())
    data.update({"platform": profiles[0]} if len(profiles) == 1 else {"platforms": profiles})
    if provenance is not None:
        data["provenance"] = provenance.to_manifest()
    return data


def manifest_text(exp: Experiment, experiment_text: str, *, points: int, shard: str | None, commit: str,
                  provenance: Provenance | None = None) -> str:
    """YAML text of the manifest (:func:`manifest_data`), with its checksum."""
    return dump_manifest(manifest_data(exp, experiment_text, points=points, shard=shard, commit=commit,
                                       provenance=provenance))


def dump_manifest(data: dict) -> str:
    """YAML text of a manifest mapping, multi-line strings as literal blocks, ending with the
    checksum of the rest (any ``checksum`` in ``data`` is replaced)."""
    body = yaml.dump({k: v for k, v in data.items() if k != "checksum"}, Dumper=_Dumper, sort_keys=False,
                     allow_unicode=True)
    return body + f"checksum: sha256:{_checksum(body.encode('utf-8'))}\n"


def _checksum(body: bytes) -> str:
    return hashlib.sha256(_DATE_LINE.sub(b"", body)).hexdigest()


def manifest_state(data: bytes) -> str:
    """:data:`INTACT` when the manifest's text matches its checksum, :data:`EDITED` when it does not
    (or the checksum line was tampered with), :data:`UNVERIFIED` when it has none."""
    match = _CHECKSUM.search(data)
    if match is None:
        return EDITED if b"\nchecksum:" in b"\n" + data else UNVERIFIED
    return INTACT if _checksum(data[:match.start()]) == match.group(1).decode() else EDITED


def _sha256(path: Path) -> str:
    try:
        return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""
