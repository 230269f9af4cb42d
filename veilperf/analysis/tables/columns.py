"""Names of the record columns analysis reads by name, in one place (the run record's contract is
in docs/architecture.md; service columns are declared by each service's spec)."""

from __future__ import annotations

PLATFORM = "cfg.platform.name"
"""Which platform profile a run used."""
KIND = "cfg.kind"
"""``workload`` or ``boot``."""
LOOP = "cfg.workload.loop"
"""``closed`` or ``open`` (open-loop servers)."""
ARRIVAL = "cfg.workload.arrival_rate"
"""Offered load of an open-loop server, requests per second."""
VCPUS = "cfg.setup.vcpus"
VCPU_MODEL = "cfg.setup.vcpu_model"
"""``replicas`` (Veil as built) or ``static`` (partitioning, a design alternative)."""
MEMORY = "cfg.boot.memory"
"""Guest memory of a boot run, bytes."""
ACCEPTANCE = "cfg.boot.acceptance"
"""``eager`` or ``lazy`` memory acceptance of a boot run."""
FIRST_TOUCH = "boot.first_touch_ns"
"""Validation a lazily accepted guest pays when it first touches memory after boot."""
ONEOFF = "oneoff_ns"
"""Simulated time a run spent on Veil's one-off set-up on its critical path."""
NATIVE_ESTIMATED = "native_estimated"
"""The workload's native time was estimated from its trace alone."""
SWITCH_COSTS = "costs.switch."
"""Prefix of the one-way switch cost the model charged per direction (``costs.switch.<from>_<to>_ns``)."""
SATURATED = "saturated"
"""An open-loop server whose offered load reached its capacity (``offered_load`` >= 1: the model's
rule, ``model.metrics.SATURATED_LOAD``): its latency measures the run's length, so no overhead is
given for it."""
