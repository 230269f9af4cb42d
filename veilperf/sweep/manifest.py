"""Provenance of a sweep: the manifest written next to the results, and the git commit."""

from __future__ import annotations

import datetime as _dt
import hashlib
import subprocess
from pathlib import Path

import yaml

from veilperf import __version__
from veilperf.config.loader import Experiment

__all__ = ["git_commit", "manifest_text", "dump_manifest"]


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


def manifest_text(exp: Experiment, experiment_text: str, *, points: int, shard: str | None, commit: str) -> str:
    """YAML text of the manifest: what was run, with which overrides, platform and code."""
    data = {
        "experiment": exp.name,
        "file": str(exp.file),
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
    return dump_manifest(data)


def dump_manifest(data: dict) -> str:
    """YAML text of a manifest mapping, multi-line strings as literal blocks."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True)


def _sha256(path: Path) -> str:
    try:
        return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""
