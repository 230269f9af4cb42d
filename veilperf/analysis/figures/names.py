"""Every figure's name, in one place (no matplotlib or pandas: the index and the report read these
without drawing). A builder of :mod:`~veilperf.analysis.figures.headline` or
:mod:`~veilperf.analysis.figures.experiment` is the function of the same name."""

from __future__ import annotations

GLOBAL_UNIT = ""
"""The unit of the figures over all experiments (an experiment's unit is its name)."""
GLOBAL_FIGURES = ("claims", "crossings")
"""Names of the figures over all experiments, in report order."""
EXPERIMENT_FIGURES = ("overhead", "switch_cost", "replicas_vs_static", "latency", "queueing", "causes",
                      "time_per_domain", "boot_time")
"""Names of each experiment's figures, in the order of the questions they answer (report order); the
file of one is ``<experiment>-<name>.<fmt>``."""
QUESTIONS = {
    "overhead": "What does Veil cost each program, at calibrated costs?",
    "switch_cost": "How does the overhead move with the cost of one domain switch?",
    "replicas_vs_static": "Which VCPU design costs least, and by how much?",
    "latency": "How does a server's latency grow with the offered load, and where does it saturate?",
    "queueing": "Where does the latency Veil adds to a request go: Veil's own work, or waiting for the VCPU?",
    "causes": "What is Veil's added time made of?",
    "time_per_domain": "What does each VCPU spend its time on?",
    "boot_time": "How much does Veil add to boot, for which guests?",
}
"""The question each experiment figure answers (its heading in the report)."""
LEGACY = ("overhead_by_service", "overhead_vs_switch_cost", "overhead_by_cause", "boot_time", "time_per_domain",
          "latency_vs_throughput", "replicas_vs_static")
"""Figure files of earlier versions (one file stacking every experiment), removed when found in a
results root's own ``figures/`` folder (never in a folder given with ``--out``)."""
SENSITIVITY_FIGURE = "sensitivity_{experiment}.png"
"""File name of a sensitivity study's tornado figure in a results root's ``figures/`` folder (drawn
by `veilperf sensitivity`, embedded by the report)."""
