"""Draw the figures, or reuse those that are current.

Figures come in *units*: the figures over all experiments (``claims``, ``crossings``; unit ``""``)
and each experiment's own (``<experiment>-<name>``). A unit's key hashes the analysis code, the
format and the digests of the results it is drawn from; every figure file carries its unit's key
(see :mod:`veilperf.analysis.freshness`), and ``.figures-<fmt>.json`` in the figure folder lists
each unit's files and skip notes. A unit whose files all carry the current key is reused without
loading any results; results are loaded only when some unit is stale.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

from veilperf.analysis.figdata import SWITCH, FigureData
from veilperf.analysis.figs_claims import GLOBAL
from veilperf.analysis.figs_experiment import PER_EXPERIMENT
from veilperf.analysis.freshness import code_digest, combine, embedded_key
from veilperf.analysis.plotting import STYLE, save_figure

__all__ = ["FIGURES", "GLOBAL", "PER_EXPERIMENT", "SWITCH", "FigureData", "Rendered", "render_figures",
           "unit_keys", "draw_all"]

FIGURES = {**GLOBAL, **PER_EXPERIMENT}
"""Every figure builder by name (global ones take all results, the others one experiment's)."""
GLOBAL_UNIT = ""
LEGACY = ("overhead_by_service", "overhead_vs_switch_cost", "overhead_by_cause", "boot_time", "time_per_domain",
          "latency_vs_throughput", "replicas_vs_static")
"""Figure files of earlier versions (one file stacking every experiment), removed when found."""


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
        index = json.loads(_index_path(out_dir, fmt).read_text())
    except (OSError, ValueError):
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


def _builders(unit: str) -> dict[str, Callable[[FigureData], object]]:
    return GLOBAL if unit == GLOBAL_UNIT else {f"{unit}-{name}": build for name, build in PER_EXPERIMENT.items()}


def _draw_one(unit: str, name: str, data: FigureData, out_dir: Path, fmt: str, key: str) -> tuple[str | None, str]:
    """Draw and save one figure: ``(file name, "")``, ``(None, note)`` when omitted with a reason,
    ``(None, "")`` when it does not apply."""
    subset = data if unit == GLOBAL_UNIT else data.only(unit)
    with matplotlib.rc_context(STYLE):
        result = _builders(unit)[name](subset)
    if result is None or isinstance(result, str):
        return None, f"{name}: omitted, {result}" if result else ""
    return save_figure(result, out_dir / f"{name}.{fmt}", fmt, key).name, ""


_SHARED: dict = {}
"""The data a forked drawing process inherits (set just before the pool starts)."""


def _draw_shared(unit: str, name: str, out_dir: Path, fmt: str, key: str) -> tuple[str | None, str]:
    return _draw_one(unit, name, _SHARED["data"], out_dir, fmt, key)


def _draw_units(stale: dict[str, str], data: FigureData, out_dir: Path, fmt: str) -> dict[str, dict]:
    """Draw every figure of the stale units, one task per figure, on forked processes (one per
    core) where the platform can fork and this process runs no other thread; each file depends only on its data, so the order does not
    matter. Returns each unit's index entry."""
    tasks = [(unit, name) for unit in stale for name in _builders(unit)]
    workers = min(len(tasks), os.cpu_count() or 1)
    # forking a process that runs other threads (e.g. a Dask client's) can deadlock the child
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        results = [_draw_one(unit, name, data, out_dir, fmt, stale[unit]) for unit, name in tasks]
    else:
        _SHARED["data"] = data
        try:
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
                futures = [pool.submit(_draw_shared, unit, name, out_dir, fmt, stale[unit]) for unit, name in tasks]
                results = [future.result() for future in futures]
        finally:
            _SHARED.clear()
    entries = {unit: {"key": key, "files": {}, "notes": []} for unit, key in stale.items()}
    for (unit, name), (file, note) in zip(tasks, results):
        if file:
            entries[unit]["files"][name] = file
        elif note:
            entries[unit]["notes"].append(note)
    return entries


def render_figures(digests: dict[str, str], sensitivity: str, out_dir: Path, fmt: str,
                   load: Callable[[], FigureData], force: bool = False) -> Rendered:
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
        drawn = _draw_units(stale, data, out_dir, fmt)
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


def draw_all(data: FigureData) -> dict[str, object]:
    """Every figure of ``data`` as Figure objects or skip notes, without saving (for notebooks)."""
    units = [GLOBAL_UNIT, *sorted(data.runs["experiment"].unique())]
    out: dict[str, object] = {}
    for unit in units:
        subset = data if unit == GLOBAL_UNIT else data.only(unit)
        for name, build in _builders(unit).items():
            with matplotlib.rc_context(STYLE):
                out[name] = build(subset)
    return out
