"""Figures: which are current (:mod:`.index`, no matplotlib), drawing the stale ones
(:mod:`.drawing`), the builders (:mod:`.headline`: over all experiments; :mod:`.experiment`: one
experiment each), their style (:mod:`.style`), the PNG writer (:mod:`.png`) and every figure's name
(:mod:`.names`).

Names are imported on first use: reusing current figures never loads matplotlib.
"""

from __future__ import annotations

from veilperf.lazy import lazy_exports

_EXPORTS = {
    "FIGURES": "figures.drawing",
    "draw_all": "figures.drawing",
    "GLOBAL": "figures.headline",
    "PER_EXPERIMENT": "figures.experiment",
    "Rendered": "figures.index",
    "render_figures": "figures.index",
    "GLOBAL_FIGURES": "figures.names",
    "EXPERIMENT_FIGURES": "figures.names",
    "SWITCH": "tables.figdata",
    "FigureData": "tables.figdata",
}

# a literal list (linters read only literals); tests/test_lazy_exports.py checks it equals _EXPORTS
__all__ = ["EXPERIMENT_FIGURES", "FIGURES", "FigureData", "GLOBAL", "GLOBAL_FIGURES", "PER_EXPERIMENT", "Rendered",
           "SWITCH", "draw_all", "render_figures"]

__getattr__ = lazy_exports("veilperf.analysis", _EXPORTS, __name__)
