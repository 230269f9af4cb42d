"""Which figures are current, and drawing the stale ones (:mod:`veilperf.analysis.drawing`).

Figures come in *units*: the figures over all experiments (``claims``, ``crossings``; unit ``""``)
and each experiment's own (``<experiment>-<name>``). A unit's key hashes the analysis code, the
format and the digests of the results it is drawn from; every figure file carries its unit's key
(see :mod:`veilperf.analysis.freshness`), and ``.figures-<fmt>.json`` in the figure folder lists
each unit's files and skip notes. A unit whose files all carry the current key is reused without
loading any results; results (and matplotlib) are loaded only when some unit is stale.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from veilperf.analysis.freshness import code_digest, combine, embedded_key
from veilperf.files import NotRegularFile, open_regular
from veilperf.lazy import lazy_exports

__all__ = ["FIGURES", "GLOBAL", "PER_EXPERIMENT", "SWITCH", "FigureData", "Rendered", "render_figures",
           "unit_keys", "draw_all", "GLOBAL_FIGURES", "EXPERIMENT_FIGURES"]

GLOBAL_UNIT = ""
GLOBAL_FIGURES = ("claims", "crossings")
"""Names of the figures over all experiments, in report order."""
EXPERIMENT_FIGURES = ("overhead", "switch_cost", "replicas_vs_static", "latency", "causes", "time_per_domain",
                      "boot_time")
"""Names of each experiment's figures, in the order of the questions they answer (report order)."""
LEGACY = ("overhead_by_service", "overhead_vs_switch_cost", "overhead_by_cause", "boot_time", "time_per_domain",
          "latency_vs_throughput", "replicas_vs_static")
"""Figure files of earlier versions (one file stacking every experiment), removed when found."""
_DRAWING = {"FIGURES": "drawing", "GLOBAL": "figs_claims", "PER_EXPERIMENT": "figs_experiment",
            "draw_all": "drawing", "SWITCH": "figdata", "FigureData": "figdata"}


__getattr__ = lazy_exports("veilperf.analysis", _DRAWING, __name__)
"""The builders and :func:`draw_all` (for notebooks), imported with matplotlib on first use."""


@dataclass
class Rendered:
    """Figure files by name (report order: global, then per experiment), skip notes per unit, and
    how many figures were drawn or reused."""

    files: dict[str, Path] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    drawn: int = 0
    reused: int = 0


def unit_keys(digests: dict[str, str], sensitivity: str, fmt: str) -> dict[str, str]:
    """Key of every unit: the global one over all digests and the sensitivity summaries, and one
    per experiment over that experiment's digest alone."""
    keys = {GLOBAL_UNIT: combine(code_digest(), fmt, sensitivity, *(f"{e}={d}" for e, d in sorted(digests.items())))}
    keys.update({e: combine(code_digest(), fmt, e, d) for e, d in sorted(digests.items())})
    return keys


def _index_path(out_dir: Path, fmt: str) -> Path:
    return out_dir / f".figures-{fmt}.json"


def _read_index(out_dir: Path, fmt: str) -> dict:
    try:
        with open_regular(_index_path(out_dir, fmt)) as handle:  # never a FIFO: it would block
            index = json.loads(handle.read())
    except (OSError, ValueError, NotRegularFile):
        return {}
    return index if isinstance(index, dict) else {}


def _write_index(out_dir: Path, fmt: str, index: dict) -> None:
    path = _index_path(out_dir, fmt)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(index, indent=1, sort_keys=True))
    os.replace(temporary, path)


def _current(entry: dict | None, key: str, out_dir: Path) -> bool:
    return bool(entry) and entry.get("key") == key and all(
        embedded_key(out_dir / name) == key for name in entry.get("files", {}).values())


def render_figures(digests: dict[str, str], sensitivity: str, out_dir: Path, fmt: str,
                   load: Callable[[], Any], force: bool = False) -> Rendered:
    """Reuse every current unit (none with ``force``), draw the others (``load`` is called once,
    only if one is stale), delete figure files the units no longer have, and update the index."""
    out_dir = Path(out_dir)
    index = _read_index(out_dir, fmt)
    keys = unit_keys(digests, sensitivity, fmt)
    rendered = Rendered()
    stale = {unit: key for unit, key in keys.items() if force or not _current(index.get(unit), key, out_dir)}
    drawn: dict[str, dict] = {}
    if stale:
        data = load()  # bad results raise here, before anything is written
        out_dir.mkdir(parents=True, exist_ok=True)
        from veilperf.analysis.drawing import draw_units  # matplotlib loads only here

        drawn = draw_units(stale, data, out_dir, fmt)
    for unit in keys:
        old = index.get(unit)
        if unit in drawn:
            entry = drawn[unit]
            rendered.drawn += len(entry["files"])
            for name in set((old or {}).get("files", {}).values()) - set(entry["files"].values()):
                (out_dir / name).unlink(missing_ok=True)
        else:
            entry = old
            rendered.reused += len(entry["files"])
        index[unit] = entry
        rendered.files.update({name: out_dir / file for name, file in entry["files"].items()})
        rendered.notes[unit] = list(entry["notes"])
    if drawn:  # also when the stale units drew nothing: their entries say so
        for stem in LEGACY:
            (out_dir / f"{stem}.{fmt}").unlink(missing_ok=True)
        _write_index(out_dir, fmt, index)
    return rendered
