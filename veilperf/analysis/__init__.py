"""Analysis layer: load stored results, pair treatments with baselines, overheads with confidence
intervals, figures and the reproduction report. Never re-simulates.

Names are imported on first use, so that importing a light submodule (e.g. ``formats`` for the CLI)
does not load pandas and matplotlib.
"""

from __future__ import annotations

from veilperf.lazy import lazy_exports

_EXPORTS = {
    "ResultsError": "load",
    "load_manifests": "load",
    "load_results": "load",
    "plot": "outputs",
    "regenerate": "outputs",
    "refresh": "outputs",
    "report": "outputs",
    "write_report": "outputs",
    "is_current": "outputs",
    "overheads": "pairing",
    "pair_runs": "pairing",
    "sweep_axes": "pairing",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
