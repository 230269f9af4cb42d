"""Every figure's name, in one place (no matplotlib or pandas: the index and the report read these
without drawing). A builder of :mod:`~veilperf.analysis.figures.headline` or
:mod:`~veilperf.analysis.figures.experiment` is the function of the same name."""

from __future__ import annotations

GLOBAL_UNIT = ""
"""The unit of the figures over all experiments (an experiment's unit is its name)."""
GLOBAL_FIGURES = ("claims", "crossings")
"""Names of the figures over all experiments, in report order."""
EXPERIMENT_FIGURES = ("overhead", "switch_cost", "replicas_vs_static", "latency", "causes", "time_per_domain",
                      "boot_time")
"""Names of each experiment's figures, in the order of the questions they answer (report order); the
file of one is ``<experiment>-<name>.<fmt>``."""
LEGACY = ("overhead_by_service", "overhead_vs_switch_cost", "overhead_by_cause", "boot_time", "time_per_domain",
          "latency_vs_throughput", "replicas_vs_static")
"""Figure files of earlier versions (one file stacking every experiment), removed when found in a
results root's own ``figures/`` folder (never in a folder given with ``--out``)."""
