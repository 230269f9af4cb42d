"""Global sensitivity of Veil's predictions to the platform's assumed costs (SALib Morris / Sobol).

Modules, in data-flow order:

- :mod:`~veilperf.sensitivity.assumptions` which parameters vary, over which range, in which unit
- :mod:`~veilperf.sensitivity.sampling`    SALib sampling plan and estimators
- :mod:`~veilperf.sensitivity.study`       the study as an experiment for the sweep engine
- :mod:`~veilperf.sensitivity.runner`      end to end: plan, sweep, outcomes (:func:`run_sensitivity`)
- :mod:`~veilperf.sensitivity.outcomes`    per-sample metric, indices, summary (Parquet)
- :mod:`~veilperf.sensitivity.summaries`   reading them back (:func:`load_summaries`)
- :mod:`~veilperf.sensitivity.figure`      the tornado figure

Names are imported on first use, so importing the package loads neither pandas nor SALib.
"""

from __future__ import annotations

from veilperf.lazy import lazy_exports

_EXPORTS = {
    "load_summaries": "summaries",
    "load_indices": "summaries",
    "run_sensitivity": "runner",
    "tornado": "figure",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
