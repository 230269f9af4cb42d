"""Which figures are current, and drawing the stale ones (:mod:`veilperf.analysis.figures.drawing`).

Figures come in *units*: the figures over all experiments (``claims``, ``crossings``; unit ``""``)
and each experiment's own (``<experiment>-<name>``). A unit's key hashes the analysis code, the
format and the digests of the results it is drawn from; every figure file carries its unit's key
(see :mod:`veilperf.analysis.freshness`), and ``.figures-<fmt>.json`` in the figure folder lists
each unit's files and skip notes. A unit whose files all carry the current key is reused without
loading any results; results (and matplotlib) are loaded only when some unit is stale.

Ownership: a figure folder may be the user's (``--out``). The index is veilperf's record of what
it wrote there; an entry is used only if it is a plain file name with the format's suffix (an index
holding anything else is ignored whole, and said). A figure a unit no longer has is deleted only
if it is such a file, a regular file in the folder, and carries a veilperf key; figure names of
earlier versions (:data:`~veilperf.analysis.figures.names.LEGACY`) are deleted only in a results root's own ``figures/`` folder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from veilperf.analysis.freshness import code_digest, combine, embedded_key
from veilperf.files import NotRegularFile, open_regular
from veilperf.analysis.figures.names import GLOBAL_UNIT, LEGACY
from veilperf.sweep.paths import plain_name, remove_leftovers, remove_owned, write_atomic

__all__ = ["Rendered", "render_figures", "unit_keys"]

@dataclass
class Rendered:
    """Figure files by name (report order: global, then per experiment), skip notes per unit, and
    how many figures were drawn or reused."""

    files: dict[str, Path] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    drawn: int = 0
    reused: int = 0
    warnings: list[str] = field(default_factory=list)  # e.g. an index that was not veilperf's, ignored


def unit_keys(digests: dict[str, str], sensitivity: str, fmt: str) -> dict[str, str]:
    """Key of every unit: the global one over all digests and the sensitivity summaries, and one
    per experiment over that experiment's digest alone."""
    keys = {GLOBAL_UNIT: combine(code_digest(), fmt, sensitivity, *(f"{e}={d}" for e, d in sorted(digests.items())))}
    keys.update({e: combine(code_digest(), fmt, e, d) for e, d in sorted(digests.items())})
    return keys


def _index_path(out_dir: Path, fmt: str) -> Path:
    return out_dir / f".figures-{fmt}.json"


def _read_index(out_dir: Path, fmt: str) -> tuple[dict, str]:
    """The index of ``out_dir`` (empty when absent or unreadable) and a warning when it held an
    entry veilperf would not have written (then it is ignored whole: nothing it lists is trusted)."""
    path = _index_path(out_dir, fmt)
    try:
        with open_regular(path) as handle:  # never a FIFO: it would block
            index = json.loads(handle.read())
    except (OSError, ValueError, NotRegularFile):
        return {}, ""
    if not isinstance(index, dict):
        return {}, ""
    for unit, entry in index.items():
        bad = _bad_entry(entry, fmt)
        if bad:
            return {}, (f"{path}: ignored ({unit or 'global'} figures: {bad}); every figure is drawn again and "
                        "no file it lists is deleted")
    return index, ""


def _bad_entry(entry: object, fmt: str) -> str:
    """What is wrong with one unit's index entry ("" when it is one veilperf writes)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
        return "not an index entry"
    files, notes = entry.get("files"), entry.get("notes")
    if not isinstance(files, dict) or not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        return "not an index entry"
    for file in files.values():
        if not plain_name(file, f".{fmt}"):
            shown = repr(file) if len(repr(file)) <= 60 else repr(file)[:57] + "..."
            return f"{shown} is not a plain .{fmt} file name"
    return ""


def _write_index(out_dir: Path, fmt: str, index: dict) -> None:
    text = json.dumps(index, indent=1, sort_keys=True)
    write_atomic(_index_path(out_dir, fmt), lambda tmp: tmp.write_text(text, encoding="utf-8"),
                 "write the figure index")


def _current(entry: dict | None, key: str, out_dir: Path) -> bool:
    return bool(entry) and entry.get("key") == key and all(
        embedded_key(out_dir / name) == key for name in entry.get("files", {}).values())


def render_figures(digests: dict[str, str], sensitivity: str, out_dir: Path, fmt: str,
                   load: Callable[[], Any], force: bool = False, owned: bool = False) -> Rendered:
    """Reuse every current unit (none with ``force``), draw the others (``load`` is called once,
    only if one is stale), delete figure files of veilperf's the units no longer have, and update
    the index. ``owned``: ``out_dir`` is a results root's own figure folder, where figure files of
    earlier versions are deleted too."""
    out_dir = Path(out_dir)
    rendered = Rendered()
    index, warning = _read_index(out_dir, fmt)
    rendered.warnings += [warning] if warning else []
    keys = unit_keys(digests, sensitivity, fmt)
    stale = {unit: key for unit, key in keys.items() if force or not _current(index.get(unit), key, out_dir)}
    drawn: dict[str, dict] = {}
    if stale:
        data = load()  # bad results raise here, before anything is written
        out_dir.mkdir(parents=True, exist_ok=True)
        from veilperf.analysis.figures.drawing import draw_units  # matplotlib loads only here

        drawn = draw_units(stale, data, out_dir, fmt)
    for unit in keys:
        old = index.get(unit)
        if unit in drawn:
            entry = drawn[unit]
            rendered.drawn += len(entry["files"])
            for name in set((old or {}).get("files", {}).values()) - set(entry["files"].values()):
                remove_owned(out_dir, name, mark=lambda path: embedded_key(path) is not None)
        else:
            entry = old
            rendered.reused += len(entry["files"])
        index[unit] = entry
        rendered.files.update({name: out_dir / file for name, file in entry["files"].items()})
        rendered.notes[unit] = list(entry["notes"])
    if drawn:  # also when the stale units drew nothing: their entries say so
        if owned:
            for stem in LEGACY:
                remove_owned(out_dir, f"{stem}.{fmt}")
        _write_index(out_dir, fmt, index)
    if out_dir.is_dir():  # what a killed draw left under the names veilperf writes here
        names = [_index_path(out_dir, fmt).name, *(file for e in index.values() for file in e["files"].values())]
        remove_leftovers(out_dir, re.compile("|".join(map(re.escape, names))))
    return rendered
