"""Analysis layer: load stored results, pair treatments with baselines, overheads with confidence
intervals, figures and the reproduction report. Never re-simulates."""

from veilperf.analysis.load import ResultsError, load_manifests, load_results
from veilperf.analysis.outputs import plot, regenerate, report
from veilperf.analysis.pairing import overheads, pair_runs, sweep_axes

__all__ = [
    "ResultsError",
    "load_manifests",
    "load_results",
    "overheads",
    "pair_runs",
    "plot",
    "regenerate",
    "report",
    "sweep_axes",
]
