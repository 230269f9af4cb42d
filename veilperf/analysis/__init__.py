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

# a literal list (linters read only literals); tests/test_lazy_exports.py checks it equals _EXPORTS
__all__ = ["ResultsError", "is_current", "load_figure_data", "load_manifests", "load_results", "overheads",
           "pair_runs", "plot", "refresh", "regenerate", "report", "sweep_axes", "write_report"]

__getattr__ = lazy_exports(__name__, _EXPORTS)
