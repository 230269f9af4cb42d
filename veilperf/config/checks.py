"""Check configuration files without running them (``veilperf validate``).

A file is an experiment, a platform profile or a workload; the kind is told by its directory
(``configs/platforms/``, ``workloads/``, ``configs/``) or else by its keys.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from pydantic import BaseModel, ValidationError

from veilperf.config.bounds import check_sweep_size
from veilperf.config.errors_map import to_config_error
from veilperf.config.loader import PLATFORM_AXIS, Experiment, load_experiment, platform_clock_hz, validate_point
from veilperf.config.platform import PlatformProfile
from veilperf.config.workload import WorkloadSpec
from veilperf.config.yaml_file import load_yaml
from veilperf.errors import ConfigError
from veilperf.units import UnitError

__all__ = ["file_kind", "kind_by_keys", "check_file", "check_files", "check_experiment"]


_KIND_OF_DIRECTORY = {"platforms": "platform", "workloads": "workload", "configs": "experiment"}


def _kind_by_directory(path: Path) -> str | None:
    for directory in Path(os.path.realpath(path)).parents:  # realpath: a symlink loop is not an error here
        if directory.name in _KIND_OF_DIRECTORY:
            return _KIND_OF_DIRECTORY[directory.name]
    return None


def kind_by_keys(data: dict) -> str | None:
    """``"experiment"``, ``"platform"`` or ``"workload"`` as a file's keys tell, else None."""
    if "platform" in data:
        return "experiment"
    if "clock" in data and "params" in data:
        return "platform"
    if data.keys() & {"steps", "mix", "replay", "provenance"}:
        return "workload"
    return None


def file_kind(path: Path, data: dict) -> str:
    """``"experiment"``, ``"platform"`` or ``"workload"``; ConfigError if it cannot be told."""
    kind = _kind_by_directory(path) or kind_by_keys(data)
    if kind is not None:
        return kind
    raise ConfigError(path, "", "cannot tell whether this is an experiment, a platform profile or a "
                                "workload (an experiment names a platform:, a profile has clock: and "
                                "params:, a workload has steps:)")


def check_experiment(exp: Experiment) -> int:
    """Validate every workload and the baseline as the file writes them (on each of its
    platforms), then every value of every sweep axis together with the first value of every other
    axis (axes may depend on each other, e.g. ``workload.loop: open`` needs
    ``workload.arrival_rate``), not every combination; return the number of points of the full
    sweep (ConfigError above the point budget)."""
    check_sweep_size(exp, force_large=exp.force_large)
    first: dict[str, object] = {path: values[0] for path, values in exp.grid.items()}
    for group in exp.zip:
        first.update({path: values[0] for path, values in group.items()})
    indices: list[int | None] = list(range(len(exp.workloads))) or [None]
    platforms = [{PLATFORM_AXIS: name} for name in exp.platforms] if len(exp.platforms) > 1 else [{}]
    for index in indices:
        for platform in platforms:
            validate_point(exp, exp.resolve(index, platform), workload_index=index)
            validate_point(exp, exp.resolve(index, platform, baseline=True), workload_index=index, baseline=True)
    axes = [{**first, path: value} for path, values in exp.grid.items() for value in values]
    axes += [{**first, **{path: values[i] for path, values in group.items()}}
             for group in exp.zip for i in range(len(next(iter(group.values()))))]
    for assignment in axes:
        validate_point(exp, exp.resolve(indices[0], assignment), workload_index=indices[0])
    sizes = [len(values) for values in exp.grid.values()]
    sizes += [len(next(iter(group.values()))) for group in exp.zip]
    return len(indices) * math.prod(sizes)


def _check_model(path: Path, data: dict, model: type[BaseModel], clock_hz: float | None) -> BaseModel:
    try:
        return model.model_validate(data, context={"clock_hz": clock_hz})
    except ValidationError as exc:
        raise to_config_error(exc, model, data, lambda key_path: (path, key_path, "")) from None


def _check_platform(path: Path, data: dict) -> str:
    try:
        clock_hz = platform_clock_hz(data)
    except UnitError as exc:
        raise ConfigError(path, "clock.value", str(exc)) from None
    profile = _check_model(path, data, PlatformProfile, clock_hz)
    return f"platform profile {profile.name!r}"


def _check_workload(path: Path, data: dict, platform: Path | None) -> str:
    clock_hz = None
    if platform is not None:
        platform_data = load_yaml(platform)
        try:
            clock_hz = platform_clock_hz(platform_data)
        except UnitError as exc:
            raise ConfigError(platform, "clock.value", str(exc)) from None
    try:
        spec = _check_model(path, data, WorkloadSpec, clock_hz)
    except ConfigError as exc:
        if clock_hz is None and "cycles" in exc.message and "clock" in exc.message:
            raise ConfigError(exc.file, exc.key_path, exc.message + "; pass --platform PROFILE") from None
        raise
    body = "steps" if spec.steps is not None else "mix" if spec.mix is not None else "replay"
    summary = f"workload {spec.name!r} ({spec.loop} loop, {spec.threads} thread(s), {body})"
    return summary + _check_trace(path, spec)


def _check_trace(path: Path, spec: WorkloadSpec) -> str:
    """What the trace the workload was made from says: its sha256 is checked against the one in
    the provenance (ConfigError when it differs: the workload no longer describes that file). A
    missing trace is a warning, not an error: the workload's body is what is simulated, the trace
    is its evidence (imports of old write the path as given on the command line)."""
    prov = spec.provenance
    if not prov.trace or not prov.sha256:
        return ""
    files = [path.parent / name for name in prov.trace.split()]
    missing = next((f for f in files if not f.is_file()), None)
    if missing is not None:
        return f"; warning: its trace {missing} is not there, its sha256 is not checked"
    hasher = hashlib.sha256()
    for name in files:  # in the order given, as the importer hashed them
        try:
            with open(name, "rb") as trace:
                while chunk := trace.read(1 << 20):
                    hasher.update(chunk)
        except OSError as exc:
            raise ConfigError(path, "provenance.trace", f"cannot read the trace {name}: {exc.strerror}") from None
    digest = hasher.hexdigest()
    if digest != prov.sha256:
        raise ConfigError(path, "provenance.sha256",
                          f"the trace {prov.trace} has sha256 {digest[:16]}..., not {prov.sha256[:16]}...: "
                          "it changed since this workload was made from it (restore it, or import or "
                          "record again)")
    return f"; trace {prov.trace} matches its sha256"


def check_file(path: str | Path, overrides: Sequence[str] = (), platform: str | Path | None = None, *,
               force_large: bool = False) -> str:
    """Validate one file of any kind; return a one-line summary of what it holds.

    ``overrides`` (``--set``) apply to experiments; ``platform`` gives the clock for cycles in a
    workload checked on its own; ``force_large`` lifts the budgets of ``config.bounds``.
    """
    path = Path(path)
    data = load_yaml(path)
    kind = file_kind(path, data)
    if kind == "platform":
        return _check_platform(path, data)
    if kind == "workload":
        return _check_workload(path, data, Path(platform) if platform is not None else None)
    exp = load_experiment(path, overrides, force_large=force_large)
    points = check_experiment(exp)
    return (f"experiment {exp.name!r} ({exp.kind}): {len(exp.workloads)} workload(s), "
            f"{points} point(s) x {exp.replications} replication(s)")


def check_files(paths: Sequence[str | Path], overrides: Sequence[str] = (),
                platform: str | Path | None = None, *, force_large: bool = False) -> Iterator[tuple[str, str]]:
    """Check files in order, yielding (file, summary); stop with ConfigError at the first bad one.

    Without ``platform``, workloads checked alone take the clock of the first platform profile
    among ``paths``.
    """
    if platform is None:
        platform = next((p for p in paths if _kind_by_directory(Path(p)) == "platform"), None)
    for path in paths:
        yield str(path), check_file(path, overrides, platform, force_large=force_large)
