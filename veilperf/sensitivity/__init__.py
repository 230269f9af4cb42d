"""Global sensitivity of Veil's predictions to the platform's assumed costs (SALib Morris / Sobol).

Modules, in data-flow order:

- :mod:`~veilperf.sensitivity.assumptions` which parameters vary, over which range, in which unit
- :mod:`~veilperf.sensitivity.sampling`    SALib sampling plan and estimators
- :mod:`~veilperf.sensitivity.study`       the study as an experiment for the sweep engine
- :mod:`~veilperf.sensitivity.runner`      end to end: plan, sweep, outcomes (:func:`run_sensitivity`)
- :mod:`~veilperf.sensitivity.outcomes`    per-sample metric, indices, summary (Parquet)
- :mod:`~veilperf.analysis.tables.sensitivity_summaries` reading them back (:func:`load_summaries`; the
  analysis reads what a study stored, and this package depends on the analysis, not the reverse)
- :mod:`~veilperf.sensitivity.figure`      the tornado figure

Names are imported on first use, so importing the package loads neither pandas nor SALib.
"""

from __future__ import annotations

from veilperf.lazy import lazy_exports

_EXPORTS = {
    "load_summaries": "analysis.tables.sensitivity_summaries",
    "load_indices": "analysis.tables.sensitivity_summaries",
    "run_sensitivity": "sensitivity.runner",
    "tornado": "sensitivity.figure",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports("veilperf", _EXPORTS, owner=__name__)
