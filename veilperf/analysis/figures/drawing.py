"""Draw figures with matplotlib: every builder by name, one figure per task on forked processes.

Loaded only when a figure must be drawn (:func:`veilperf.analysis.figures.index.render_figures`), so that
reusing current figures and writing the report never import matplotlib.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from veilperf.analysis.tables.figdata import FigureData
from veilperf.analysis.figures.headline import GLOBAL
from veilperf.analysis.figures.experiment import PER_EXPERIMENT
from veilperf.analysis.figures.names import GLOBAL_UNIT
from veilperf.analysis.figures.style import STYLE, save_figure
from veilperf.interrupts import stop_pool, worker_signals

FIGURES = {**GLOBAL, **PER_EXPERIMENT}
"""Every figure builder by name (global ones take all results, the others one experiment's); the
names are those of :data:`~veilperf.analysis.figures.names.GLOBAL_FIGURES` and ``EXPERIMENT_FIGURES``."""


def builders(unit: str) -> dict[str, Callable[[FigureData], object]]:
    """The builders of one unit, by figure (file) name."""
    return GLOBAL if unit == GLOBAL_UNIT else {f"{unit}-{name}": build for name, build in PER_EXPERIMENT.items()}


def _subset(data: FigureData, unit: str) -> FigureData:
    """The data a unit's figures are drawn from, computed once per process and unit."""
    if unit == GLOBAL_UNIT:
        return data
    if unit not in _SUBSETS:
        _SUBSETS[unit] = data.only(unit)
    return _SUBSETS[unit]


_SUBSETS: dict[str, FigureData] = {}
"""Each experiment's data while one drawing run lasts (cleared when it ends)."""


def _draw_one(unit: str, name: str, data: FigureData, out_dir: Path, fmt: str, key: str) -> tuple[str | None, str]:
    """Draw and save one figure: ``(file name, "")``, ``(None, note)`` when omitted with a reason,
    ``(None, "")`` when it does not apply."""
    subset = _subset(data, unit)
    with matplotlib.rc_context(STYLE):
        result = builders(unit)[name](subset)
    if result is None or isinstance(result, str):
        return None, f"{name}: omitted, {result}" if result else ""
    path = out_dir / f"{name}.{fmt}"
    try:
        return save_figure(result, path, fmt, key).name, ""
    except OSError as exc:
        if exc.filename is not None:
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None  # a failed write names no file


_SHARED: dict = {}
"""The data a forked drawing process inherits (set just before the pool starts)."""


def _draw_shared(unit: str, name: str, out_dir: Path, fmt: str, key: str) -> tuple[str | None, str]:
    return _draw_one(unit, name, _SHARED["data"], out_dir, fmt, key)


def _warm_up() -> None:
    """Load the fonts and glyph caches once, before forking, rather than in every process."""
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(1, 1))
        figure.text(0.5, 0.5, "0.1% µs –", fontsize=8)
        FigureCanvasAgg(figure).draw()


def draw_units(stale: dict[str, str], data: FigureData, out_dir: Path, fmt: str) -> dict[str, dict]:
    """Draw every figure of the stale units (``{unit: key}``), one task per figure, on forked
    processes (one per core) where the platform can fork and this process runs no other thread;
    each file depends only on its data, so the order does not matter. Returns each unit's index
    entry: ``{"key", "files": {name: file}, "notes"}``."""
    tasks = [(unit, name) for unit in stale for name in builders(unit)]
    workers = min(len(tasks), os.cpu_count() or 1)
    try:
        # forking a process that runs other threads (e.g. a Dask client's) can deadlock the child
        if workers < 2 or "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
            results = [_draw_one(unit, name, data, out_dir, fmt, stale[unit]) for unit, name in tasks]
        else:
            _SHARED["data"] = data
            _warm_up()
            # the largest units first (the global one draws from everything), so that no process is
            # left alone with a big figure at the end
            size = data.runs["experiment"].value_counts()
            order = sorted(range(len(tasks)), key=lambda i: -size.sum() if tasks[i][0] == GLOBAL_UNIT
                           else -size.get(tasks[i][0], 0))
            gc.freeze()  # the inherited objects: never scanned (nor copied on write) by the children's GC
            pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                       initializer=worker_signals)
            try:
                futures = {i: pool.submit(_draw_shared, *tasks[i], out_dir, fmt, stale[tasks[i][0]]) for i in order}
                results = [futures[i].result() for i in range(len(tasks))]
            except BaseException:  # Ctrl-C, SIGTERM, a failed figure: no drawing process outlives it
                stop_pool(pool)
                raise
            pool.shutdown(wait=True)
    finally:
        gc.unfreeze()
        _SHARED.clear()
        _SUBSETS.clear()
    entries = {unit: {"key": key, "files": {}, "notes": []} for unit, key in stale.items()}
    for (unit, name), (file, note) in zip(tasks, results):
        if file:
            entries[unit]["files"][name] = file
        elif note:
            entries[unit]["notes"].append(note)
    return entries


def draw_all(data: FigureData) -> dict[str, object]:
    """Every figure of ``data`` as Figure objects or skip notes, without saving (for notebooks)."""
    units = [GLOBAL_UNIT, *sorted(data.runs["experiment"].unique())]
    out: dict[str, object] = {}
    try:
        for unit in units:
            subset = _subset(data, unit)
            for name, build in builders(unit).items():
                with matplotlib.rc_context(STYLE):
                    out[name] = build(subset)
    finally:
        _SUBSETS.clear()
    return out
