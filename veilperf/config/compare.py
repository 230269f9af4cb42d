"""The experiment `veilperf compare` generates: every given workload under each chosen protected
service, Veil as built (every setting at its spec's default; VeilS-Log also with file and network
rules only), each against the plain SNP CVM with the same seed, at the workloads' own lengths, on
one platform. It is an ordinary experiment file, run by the sweep engine like any other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from veilperf.config.yaml_file import load_yaml
from veilperf.errors import ConfigError
from veilperf.services.registry import SPECS

__all__ = ["SERVICE_ROWS", "MARKER", "compare_experiment", "parse_services"]

ALL_RULES = {"select": "all"}
SERVICE_ROWS: dict[str, list[dict[str, Any]]] = {
    spec.name: [{}] for spec in SPECS
} | {"log": [{"setup.services.log.rules": ALL_RULES},
             {"setup.services.log.rules": {"select": "classes", "classes": ["file", "network"]}}]}
"""Per service, the rows it adds (beside enabling it): one as designed; VeilS-Log's default rules
audit every call, so it also runs with file and network rules only, to show what narrower rules buy."""
MARKER = "# written by veilperf compare"
"""The first line of a generated experiment: the only experiment file `compare` writes over."""


def parse_services(text: str) -> list[str]:
    """``enc,log`` -> ``["enc", "log"]``, in the order given; ConfigError naming ``--services`` for an
    unknown or repeated name."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SERVICE_ROWS]
    if unknown or not names or len(set(names)) < len(names):
        problem = f"unknown service {unknown[0]!r}" if unknown else ("no service" if not names else "a service twice")
        raise ConfigError("--services", text, f"{problem}; choose from {', '.join(SERVICE_ROWS)} (comma-separated)")
    return names


def _threads(path: Path) -> int:
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(path, "", "not a workload file (a mapping with name, steps, mix or replay)")
    replay = data.get("replay")
    return len(replay) if isinstance(replay, list) and replay else int(data.get("threads", 1) or 1)


def _names(paths: list[Path]) -> None:
    """Refuse two workloads of one name: the table tells programs apart by it."""
    seen: dict[str, Path] = {}
    for path in paths:
        data = load_yaml(path)
        name = data.get("name") if isinstance(data, dict) else None
        if name in seen:
            raise ConfigError(path, "name", f"{seen[name]} is named {name!r} too: give each program its own name "
                                            "(veilperf workload record --name NAME, or edit name:)")
        seen[str(name)] = path


def compare_experiment(workloads: list[Path], services: list[str], platform: str, replications: int,
                       name: str = "compare") -> dict[str, Any]:
    """The experiment as YAML data: ``workloads`` (absolute paths), the rows of ``services``, on
    ``platform`` (a shipped profile's name or a file's absolute path), with as many VCPUs as the
    busiest workload has threads (each thread its own VCPU, in baseline and treatment alike)."""
    _names(workloads)
    every = [spec.name for spec in SPECS]
    rows = [{**{f"setup.services.{s}.enabled": s == service for s in every}, "setup.services.log.rules": ALL_RULES,
             **extra} for service in services for extra in SERVICE_ROWS[service]]
    zip_group = {key: [row[key] for row in rows] for key in rows[0]}
    return {
        "name": name,
        "description": f"veilperf compare: {len(workloads)} programs under {', '.join(services)}, Veil as built",
        "kind": "workload",
        "platform": platform,
        "workloads": [str(p) for p in workloads],
        "setup": {"mode": "veil", "vcpus": max(_threads(p) for p in workloads)},
        "seed": 1,
        "replications": replications,
        "sweep": {"zip": [zip_group]},
        "baseline": {"setup.mode": "cvm", **{f"setup.services.{s}.enabled": False for s in every},
                     "setup.services.log.rules": ALL_RULES},
    }
