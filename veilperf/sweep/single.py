"""The points `veilperf run` simulates, in this process and without a results store: each chosen
workload at the experiment's own values (no sweep axes), its baseline, and the experiment's
replications, with the sweep's seeds and identity columns, so a run's records pair and aggregate
exactly as a sweep's (``analysis.tables.pairing``)."""

from __future__ import annotations

from veilperf.config.loader import Experiment
from veilperf.sweep.points import BASELINE, TREATMENT, distinct, expand_combinations
from veilperf.sweep.worker import identity_columns

__all__ = ["run_workloads"]


def run_workloads(exp: Experiment, workloads: list[int | None], *, baseline: bool = True) -> list[dict]:
    """The records of every point of ``workloads`` (indices into the experiment's workloads; None for
    a boot experiment) with no sweep assignment, each replication, treatments and (``baseline``)
    their baselines, in order. A treatment identical to its baseline is one run, kept as its own
    treatment when there is no baseline to show."""
    from veilperf.run import run_config  # the simulator loads only here

    points = distinct(expand_combinations(exp, [(index, {}) for index in workloads], lambda _: True))
    if not baseline:
        treated = {p.pair_key for p in points if p.role == TREATMENT}
        points = [p for p in points if p.role == TREATMENT or p.pair_key not in treated]
    records = []
    for point in points:
        record = run_config(point.config)
        record.update(identity_columns(point, ""))
        if not baseline and point.role == BASELINE:
            record["role"] = TREATMENT
        records.append(record)
    return records
