"""Run layer: one resolved point -> validated config -> model -> one flat record."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from veilperf import build
from veilperf.config.loader import platform_clock_hz
from veilperf.config.run_config import RunConfig
from veilperf.model import boot
from veilperf.model.system import System
from veilperf.trace.noise import Spread

LONG_LIST = 4  # lists longer than this are stored as JSON text in one column


def validate_raw(raw_point: dict) -> RunConfig:
    """Validate a raw point dict (unit strings, platform and workload inlined)."""
    clock = platform_clock_hz(raw_point.get("platform"))
    return RunConfig.model_validate(raw_point, context={"clock_hz": clock})


def service_label(cfg: RunConfig) -> str:
    """``none`` or the enabled services joined by ``+`` (e.g. ``enc+log``)."""
    return "+".join(cfg.setup.services.active) or "none"


def config_columns(cfg: RunConfig) -> dict[str, Any]:
    """Every resolved config value as ``cfg.<dotted.path>`` columns (SI units).

    Workload bodies (steps, mix, replay) can be long; they are summarised by a hash.
    """
    data = cfg.model_dump(mode="json")
    columns: dict[str, Any] = {}
    if data.get("workload") is not None:
        workload = data["workload"]
        body = {k: workload.pop(k) for k in ("steps", "mix", "replay")}
        text = json.dumps(body, sort_keys=True).encode()
        workload["body_sha256"] = hashlib.sha256(text).hexdigest()[:16]
    _flatten("cfg", data, columns)
    return columns


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}", item, out)
    elif isinstance(value, list):
        if len(value) <= LONG_LIST and all(not isinstance(v, (dict, list)) for v in value):
            for index, item in enumerate(value):
                out[f"{prefix}.{index}"] = item
        else:
            out[prefix] = json.dumps(value, sort_keys=True)
    else:
        out[prefix] = value


def simulate_workload(cfg: RunConfig) -> dict[str, Any]:
    """Run one workload point and return its metrics (see docs/architecture.md for columns)."""
    return System(build.model_inputs(cfg)).run()


def simulate_boot(cfg: RunConfig) -> dict[str, Any]:
    """Simulate the boot of ``cfg`` (``kind: boot``) and return its record metrics."""
    return boot.simulate_boot(build.boot_costs(cfg))


def simulate(cfg: RunConfig) -> dict[str, Any]:
    """Simulate a validated config; returns the metrics (workload or boot model)."""
    if cfg.kind == "boot":
        return simulate_boot(cfg)
    return simulate_workload(cfg)


def native_estimated(cfg: RunConfig) -> bool:
    """Whether the workload's native run time was estimated from its trace alone."""
    native = cfg.workload.provenance.native if cfg.workload is not None else None
    return native is not None and native.source == "estimated"


def native_noisy(cfg: RunConfig) -> bool:
    """Whether the workload's measured native runs spread beyond the noise limit around their median
    (:mod:`veilperf.trace.noise`): its baseline time, and so its overhead, is uncertain by that much."""
    native = cfg.workload.provenance.native if cfg.workload is not None else None
    if native is None or native.source != "measured":
        return False
    return Spread.of_native(native).noisy


def run_config(cfg: RunConfig) -> dict[str, Any]:
    """Simulate ``cfg`` and return its record: labels, metrics, wall time, config columns."""
    started = time.perf_counter()
    metrics = simulate(cfg)
    wall = time.perf_counter() - started
    record: dict[str, Any] = {
        "workload": cfg.workload.name if cfg.workload is not None else "boot",
        "service": service_label(cfg),
        "mode": cfg.setup.mode,
        "native_estimated": native_estimated(cfg),
        "native_noisy": native_noisy(cfg),
    }
    record.update(metrics)
    record["wall_s"] = wall
    record.update(config_columns(cfg))
    return record


def run_resolved(raw_point: dict) -> dict[str, Any]:
    """Validate and run one raw point dict (tests, benchmarks; sweep workers receive points
    validated once at planning and call :func:`run_config`)."""
    return run_config(validate_raw(raw_point))
