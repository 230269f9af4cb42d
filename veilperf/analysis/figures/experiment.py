"""Figures of one experiment each (file ``<experiment>-<name>.<fmt>``): one question per figure.

Each builder takes the experiment's :class:`~veilperf.analysis.tables.figdata.FigureData` and returns a
Figure; a string saying why the figure is omitted although the experiment has data of its kind;
or None when the figure does not apply to the experiment at all. The builders live by kind:
:mod:`.overhead` (overhead, switch cost, VCPU designs), :mod:`.servers` (latency, queueing),
:mod:`.shares` (causes, time per domain) and :mod:`.boot`.
"""

from __future__ import annotations

from veilperf.analysis.figures.boot import boot_time
from veilperf.analysis.figures.names import EXPERIMENT_FIGURES
from veilperf.analysis.figures.overhead import overhead, replicas_vs_static, switch_cost
from veilperf.analysis.figures.servers import latency, queueing
from veilperf.analysis.figures.shares import causes, time_per_domain

_BUILDERS = {f.__name__: f for f in (overhead, switch_cost, replicas_vs_static, latency, queueing, causes,
                                     time_per_domain, boot_time)}
PER_EXPERIMENT = {name: _BUILDERS[name] for name in EXPERIMENT_FIGURES}
"""Figure name -> builder, in the order the report shows an experiment's figures."""
