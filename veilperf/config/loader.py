"""Load an experiment file: inline its platform profile and workloads, apply ``--set`` overrides,
and validate resolved points into RunConfig objects with errors that name file and key path.

Typical use::

    exp = load_experiment("configs/example.yaml", ["setup.vcpus=2"])
    config = validate_point(exp, exp.resolve(0, {"platform.params.switch_one_way": "3us"}))
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from veilperf.config.bounds import check_point
from veilperf.config.errors_map import to_config_error
from veilperf.config.experiment import POINT_KEYS, ExperimentFile
from veilperf.config.overrides import PathError, get_path, parse_override, set_path
from veilperf.config.run_config import RunConfig
from veilperf.config.services import Services
from veilperf.config.yaml_file import load_yaml
from veilperf.errors import ConfigError
from veilperf.units import UnitError, parse_rate

__all__ = [
    "Experiment",
    "load_experiment",
    "validate_point",
    "load_run_config",
    "platform_clock_hz",
    "set_path",
    "parse_override",
    "load_yaml",
]

FILE_LEVEL_OVERRIDES = ("name", "platform", "workload", "workloads", "replications", "baseline", "sweep")
"""``--set`` keys (exact, undotted) that change the experiment file itself rather than its points."""


def copy_tree(data: Any) -> Any:
    """Copy YAML data (dicts, lists, scalars): 4x faster than ``copy.deepcopy`` for sweep points."""
    if isinstance(data, dict):
        return {key: copy_tree(value) for key, value in data.items()}
    if isinstance(data, list):
        return [copy_tree(value) for value in data]
    return data


def default_baseline() -> dict[str, object]:
    """The same point as a plain SNP CVM: mode ``cvm`` and every Veil service disabled."""
    return {"setup.mode": "cvm", **{f"setup.services.{name}.enabled": False for name in Services.model_fields}}


def _under(key_path: str, prefix: str) -> bool:
    return key_path == prefix or key_path.startswith(prefix + ".")


@dataclass(frozen=True)
class Experiment:
    """An experiment file with its platform profile and workloads inlined (still raw YAML data)."""

    file: Path
    name: str
    kind: str
    base: dict
    workloads: list[dict]
    workload_files: list[Path]
    platform_file: Path
    grid: dict[str, list]
    zip: list[dict[str, list]]
    replications: int
    baseline: dict[str, object]
    overrides: list[tuple[str, object]]
    force_large: bool = False  # lift the budgets of config.bounds (operations per point, points)

    def resolve(self, workload_index: int | None, assignments: Mapping[str, object],
                *, baseline: bool = False) -> dict:
        """One raw point: a copy of ``base``, workload ``workload_index`` inlined at ``workload``,
        then ``assignments`` (sweep values), then the ``--set`` overrides; with ``baseline=True``
        the baseline overrides are applied last, so a ``--set`` cannot leak into the baseline."""
        raw = copy_tree(self.base)
        if workload_index is not None:
            if not 0 <= workload_index < len(self.workloads):
                raise ConfigError(self.file, "workloads",
                                  f"no workload number {workload_index}: the experiment has {len(self.workloads)}")
            raw["workload"] = copy_tree(self.workloads[workload_index])
        steps = [*assignments.items(), *self.overrides, *(self.baseline.items() if baseline else ())]
        for path, value in steps:
            try:
                set_path(raw, path, copy_tree(value))
            except PathError as exc:
                file, key_path, note = self._origin(path, workload_index, baseline)
                raise ConfigError(file, key_path, f"cannot set {path}: {exc}{note}") from None
        return raw

    def source_of(self, key_path: str, workload_index: int | None = None) -> tuple[Path, str]:
        """The file and key path inside it that a point key path comes from.

        ``"workload.steps.0.compute"`` -> (workload file, ``"steps.0.compute"``);
        ``"platform.params.x"`` -> (platform file, ``"params.x"``); values set by a sweep axis
        point at the axis in the experiment file. ``workload_index`` is needed only when the
        experiment has several workloads.
        """
        file, inner, _ = self._origin(key_path, workload_index, False)
        return file, inner

    def _swept(self, raw_point: Mapping[str, Any], axis_path: str, workload_index: int | None) -> bool:
        """True when the point's value at ``axis_path`` differs from the file's (a sweep set it)."""
        return get_path(raw_point, axis_path) != get_path(self.resolve(workload_index, {}), axis_path)

    def _origin(self, key_path: str, workload_index: int | None, baseline: bool,
                raw_point: Mapping[str, Any] | None = None) -> tuple[Path, str, str]:
        """(file, key path in it, note) for a point key path; the note says where a value was set.
        Given the point, a sweep axis is named only if the point's value differs from the file's."""
        if baseline:
            for path in self.baseline:
                if _under(key_path, path):
                    return self.file, key_path, " (in the baseline point)"
        for path, value in reversed(self.overrides):
            if _under(key_path, path):
                return self.file, key_path, f" (from --set {path}={value})"
        axes = [(path, f'sweep.grid["{path}"]') for path in self.grid]
        axes += [(path, f'sweep.zip.{n}["{path}"]') for n, group in enumerate(self.zip) for path in group]
        for path, axis in axes:
            if _under(key_path, path) and (raw_point is None or self._swept(raw_point, path, workload_index)):
                return self.file, axis, ""
        inside = [f"{path}={value}" for path, value in self.overrides if _under(path, key_path)]
        note = f" (after --set {', '.join(inside)})" if inside else ""
        head, _, rest = key_path.partition(".")
        if head == "platform":
            return self.platform_file, rest, note
        if head == "workload" and workload_index is not None and workload_index < len(self.workload_files):
            return self.workload_files[workload_index], rest, note
        return self.file, key_path, note

    def workload_index_of(self, raw_point: Mapping[str, Any]) -> int | None:
        """Which workload a raw point holds (by name), or None if that cannot be told."""
        if len(self.workloads) == 1:
            return 0
        workload = raw_point.get("workload")
        name = workload.get("name") if isinstance(workload, dict) else None
        matches = [i for i, w in enumerate(self.workloads) if w.get("name") == name]
        return matches[0] if len(matches) == 1 else None


def platform_clock_hz(platform: Any) -> float | None:
    """The platform clock in Hz from a raw profile, or None when it is absent (the schema then
    reports it). Raises UnitError for a bad or non-positive clock."""
    clock = platform.get("clock") if isinstance(platform, dict) else None
    value = clock.get("value") if isinstance(clock, dict) else clock
    if value is None:
        return None
    hz = parse_rate(value)
    if hz <= 0:
        raise UnitError(f"the platform clock must be positive, got {value!r}")
    return hz


def validate_point(exp: Experiment, raw_point: dict, *, workload_index: int | None = None,
                   baseline: bool = False) -> RunConfig:
    """Validate one raw point (from :meth:`Experiment.resolve`) into a RunConfig.

    Durations in cycles are converted with the point's platform clock; the result is checked
    against :mod:`veilperf.config.bounds`. Raises one ConfigError naming the file and key path the
    bad value came from.
    """
    index = workload_index if workload_index is not None else exp.workload_index_of(raw_point)

    def locate(key_path: str) -> tuple[Path, str, str]:
        return exp._origin(key_path, index, baseline, raw_point)

    try:
        clock_hz = platform_clock_hz(raw_point.get("platform"))
    except UnitError as exc:
        file, key_path, note = locate("platform.clock.value")
        raise ConfigError(file, key_path, f"{exc}{note}") from None
    try:
        config = RunConfig.model_validate(raw_point, context={"clock_hz": clock_hz})
    except ValidationError as exc:
        raise to_config_error(exc, RunConfig, raw_point, locate) from None
    check_point(config, locate, force_large=exp.force_large)
    return config


SHIPPED_PLATFORMS = Path(__file__).resolve().parents[2] / "configs" / "platforms"
"""The platform profiles shipped with veilperf (``platform: milan`` names ``milan.yaml`` there)."""


def _platform_path(experiment_file: Path, reference: str) -> Path:
    """A platform reference: a path relative to the experiment file, or the bare name of a shipped
    profile (``milan``), looked up in ``platforms/`` beside the experiment, then in
    :data:`SHIPPED_PLATFORMS`."""
    path = Path(os.path.normpath(experiment_file.parent / reference))
    if path.is_file() or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", reference) or reference.endswith(".yaml"):
        return path
    for folder in (experiment_file.parent / "platforms", SHIPPED_PLATFORMS):
        if (folder / f"{reference}.yaml").is_file():
            return Path(os.path.normpath(folder / f"{reference}.yaml"))
    known = sorted(p.stem for p in SHIPPED_PLATFORMS.glob("*.yaml"))
    raise ConfigError(experiment_file, "platform", f"no platform file or shipped profile named {reference!r} "
                                                   f"(shipped: {', '.join(known) or 'none'})")


def _load_referenced(experiment_file: Path, key: str, reference: str) -> tuple[Path, dict]:
    if key == "platform":
        path = _platform_path(experiment_file, reference)
    else:
        path = Path(os.path.normpath(experiment_file.parent / reference))
    if not path.is_file():
        raise ConfigError(experiment_file, key, f"file {reference!r} not found (looked for {path})")
    return path, load_yaml(path)


def _from_command_line(value: object) -> object:
    """A file named in a ``--set`` (platform, workload, workloads) is where the user points from
    the current folder; if there is no such file it stays relative to the experiment file (and a
    bare platform name stays a name)."""
    if isinstance(value, list):
        return [_from_command_line(item) for item in value]
    if isinstance(value, str) and Path(value).is_file():
        return str(Path(value).resolve())
    return value


def _apply_file_level(raw: dict, overrides: list[tuple[str, object]]) -> None:
    for path, value in overrides:
        if path in ("platform", "workload", "workloads"):
            value = _from_command_line(value)
        raw[path] = value
        if path in ("workload", "workloads"):
            raw.pop("workloads" if path == "workload" else "workload", None)


def load_experiment(path: str | Path, overrides: Sequence[str] = (), *, force_large: bool = False) -> Experiment:
    """Load an experiment file, inline its platform and workloads, and parse ``--set`` overrides
    (``"a.b.c=value"``, value parsed as YAML). Overrides of ``platform``, ``workload(s)``,
    ``replications``, ``baseline`` or ``sweep`` change the file itself; all others apply to
    every point, after the sweep values. ``force_large`` lifts the budgets of
    :mod:`veilperf.config.bounds` for this experiment's points."""
    file = Path(path)
    raw = load_yaml(file)
    parsed = [parse_override(text) for text in overrides]
    file_level = [(p, v) for p, v in parsed if p in FILE_LEVEL_OVERRIDES]
    _apply_file_level(raw, file_level)

    def locate(key_path: str) -> tuple[Path, str, str]:
        for p, v in reversed(file_level):
            if _under(key_path, p):
                return file, key_path, f" (from --set {p}={v})"
        return file, key_path, ""

    try:
        spec = ExperimentFile.model_validate(raw)
    except ValidationError as exc:
        raise to_config_error(exc, ExperimentFile, raw, locate) from None

    platform_file, platform = _load_referenced(file, "platform", spec.platform)
    keys = ["workload"] if spec.workload is not None else [f"workloads.{i}" for i in range(len(spec.workload_paths))]
    loaded = [_load_referenced(file, key, ref) for key, ref in zip(keys, spec.workload_paths)]
    base = {key: copy_tree(raw[key]) for key in POINT_KEYS if key in raw}
    base["platform"] = platform
    return Experiment(
        file=file,
        name=spec.name,
        kind=spec.kind,
        base=base,
        workloads=[data for _, data in loaded],
        workload_files=[p for p, _ in loaded],
        platform_file=platform_file,
        grid=dict(spec.sweep.grid),
        zip=[dict(group) for group in spec.sweep.zip],
        replications=spec.replications,
        baseline=dict(spec.baseline) if spec.baseline is not None else default_baseline(),
        overrides=[(p, v) for p, v in parsed if p not in FILE_LEVEL_OVERRIDES],
        force_large=force_large,
    )


def load_run_config(path: str | Path, overrides: Sequence[str] = (), workload_index: int = 0, *,
                    force_large: bool = False) -> RunConfig:
    """The single point ``veilperf run`` simulates: workload ``workload_index`` (none for a boot
    experiment), the experiment's own values, ``--set`` overrides, no sweep axes."""
    exp = load_experiment(path, overrides, force_large=force_large)
    index = None if exp.kind == "boot" else workload_index
    return validate_point(exp, exp.resolve(index, {}), workload_index=index)
