"""Analysis layer: load stored results, pair treatments with baselines, overheads with confidence
intervals, figures and the reproduction report. Never re-simulates.

Names are imported on first use, so that importing a light submodule (e.g. ``formats`` for the CLI)
does not load pandas and matplotlib.
"""

from __future__ import annotations

from veilperf.lazy import lazy_exports

_EXPORTS = {
    "ResultsError": "tables.load",
    "load_manifests": "tables.load",
    "load_results": "tables.load",
    "plot": "report.outputs",
    "regenerate": "report.outputs",
    "refresh": "report.outputs",
    "report": "report.outputs",
    "write_report": "report.outputs",
    "is_current": "report.outputs",
    "load_figure_data": "report.outputs",
    "overheads": "tables.pairing",
    "pair_runs": "tables.pairing",
    "sweep_axes": "tables.pairing",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
