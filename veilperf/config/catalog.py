"""The workloads, platform profiles and experiments veilperf ships (and those in a user's folder),
each with its name and one-line description, for ``veilperf list``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from veilperf.config.checks import kind_by_keys
from veilperf.config.loader import SHIPPED_PLATFORMS
from veilperf.config.yaml_file import load_yaml
from veilperf.errors import ConfigError

__all__ = ["KINDS", "SHIPPED", "Entry", "entries"]

_CONFIGS = SHIPPED_PLATFORMS.parent
SHIPPED = {"workloads": _CONFIGS.parent / "workloads", "platforms": SHIPPED_PLATFORMS, "experiments": _CONFIGS}
"""The folder each kind of file ships in."""
KINDS = tuple(SHIPPED)


@dataclass(frozen=True)
class Entry:
    """One listed file: its ``name`` (the file's own, else its stem), its one-line description and
    its path."""

    name: str
    description: str
    file: str

    def as_dict(self) -> dict[str, str]:
        """The entry as plain JSON-ready data."""
        return asdict(self)


def _entry(path: Path, kind: str) -> Entry | None:
    """The entry of one YAML file, None when its keys say it is another kind of file; ConfigError
    (naming it) when it is not readable YAML."""
    data = load_yaml(path)
    if kind_by_keys(data) not in (kind.removesuffix("s"), None):
        return None
    description = data.get("description")
    text = " ".join(description.split()) if isinstance(description, str) else ""
    return Entry(str(data.get("name", path.stem)), text, str(path))


def entries(kind: str, folders: list[Path] | None = None) -> list[Entry]:
    """The ``kind`` files (``workloads``, ``platforms`` or ``experiments``) of the shipped folder,
    then of each of ``folders``, sorted by name within each folder; a folder that does not exist or
    a file that is not readable YAML is a ConfigError naming it."""
    found: list[Entry] = []
    seen: set[Path] = set()
    for folder in [SHIPPED[kind], *(folders or [])]:
        if not folder.is_dir():
            raise ConfigError(folder, "", "no such folder (--dir names a folder of YAML files)")
        if folder.resolve() in seen:
            continue
        seen.add(folder.resolve())
        listed = (_entry(path, kind) for path in sorted(folder.glob("*.yaml")) if path.is_file())
        found += sorted((entry for entry in listed if entry is not None), key=lambda e: e.name)
    return found
