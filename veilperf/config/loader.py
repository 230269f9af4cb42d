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
from veilperf.config.errors_map import Locator, to_config_error
from veilperf.config.experiment import POINT_KEYS, ExperimentFile
from veilperf.config.overrides import SET, PathError, get_path, parse_override, set_note, set_path
from veilperf.config.set_axes import fold_overrides
from veilperf.config.settable import FILE_LEVEL_OVERRIDES, check_settable
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

PLATFORM_AXIS = "platform"
"""The axis of an experiment that lists several platforms (``platform: [milan, genoa]``): its
values are profile names, and a point's assignment of it picks the whole profile."""


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
    platform_files: dict[str, Path]  # profile name -> file, in the order the experiment lists them
    platforms: dict[str, dict]  # profile name -> raw profile; several make the axis PLATFORM_AXIS
    grid: dict[str, list]
    zip: list[dict[str, list]]
    replications: int
    baseline: dict[str, object]
    overrides: list[tuple[str, object]]
    force_large: bool = False  # lift the budgets of config.bounds (operations per point, points)
    notes: tuple[str, ...] = ()  # a --set that replaced a sweep axis, one line each (config.set_axes)

    @property
    def platform_file(self) -> Path:
        """The profile file of an experiment on one platform; ConfigError when it lists several
        (a caller that needs one platform refuses a platform axis in one line)."""
        if len(self.platform_files) > 1:
            raise self._several_platforms()
        return next(iter(self.platform_files.values()))

    def _several_platforms(self) -> ConfigError:
        return ConfigError(self.file, "platform", f"lists {len(self.platforms)} platforms "
                                                  f"({', '.join(self.platforms)}), and this command runs on "
                                                  f"one: choose it with --set platform={next(iter(self.platforms))}")

    def resolve(self, workload_index: int | None, assignments: Mapping[str, object],
                *, baseline: bool = False) -> dict:
        """One raw point: a copy of ``base`` on the platform ``assignments[PLATFORM_AXIS]`` names
        (needed when the experiment lists several), workload ``workload_index`` inlined at
        ``workload``, then the other ``assignments`` (sweep values), then the ``--set`` overrides;
        with ``baseline=True`` the baseline overrides are applied last, so a ``--set`` cannot leak
        into the baseline (and a baseline runs on its treatment's platform)."""
        platform = assignments.get(PLATFORM_AXIS)
        raw = copy_tree(self.base)
        if platform is not None or len(self.platforms) > 1:
            raw["platform"] = copy_tree(self._profile(platform))
        if workload_index is not None:
            if not 0 <= workload_index < len(self.workloads):
                raise ConfigError(self.file, "workloads",
                                  f"no workload number {workload_index}: the experiment has {len(self.workloads)}")
            raw["workload"] = copy_tree(self.workloads[workload_index])
        values = [(path, value) for path, value in assignments.items() if path != PLATFORM_AXIS]
        steps = [*values, *self.overrides, *(self.baseline.items() if baseline else ())]
        for path, value in steps:
            try:
                set_path(raw, path, copy_tree(value))
            except PathError as exc:
                file, key_path, note = self._origin(path, workload_index, baseline, platform=platform)
                raise ConfigError(file, key_path, f"cannot set {path}: {exc}{note}") from None
        return raw

    def _profile(self, name: object) -> dict:
        """The raw profile named ``name``; ConfigError when it is not one of the experiment's, or
        when ``name`` is None and the experiment lists several (a single point needs one)."""
        if name is None and len(self.platforms) > 1:
            raise self._several_platforms()
        if name is None:
            return next(iter(self.platforms.values()))
        if name not in self.platforms:
            raise ConfigError(self.file, "platform", f"no platform named {name!r} in this experiment "
                                                     f"(it lists {', '.join(self.platforms)})")
        return self.platforms[name]

    def platform_of(self, raw_point: Mapping[str, Any]) -> str:
        """The name of the experiment's platform a raw point runs on (the first if it cannot be told)."""
        profile = raw_point.get("platform")
        name = profile.get("name") if isinstance(profile, dict) else None
        return name if name in self.platforms else next(iter(self.platforms))

    def _on_platform(self, platform: str) -> dict[str, object]:
        """The assignment that picks ``platform`` when the experiment has a platform axis."""
        return {PLATFORM_AXIS: platform} if len(self.platforms) > 1 else {}

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
        as_written = self.resolve(workload_index, self._on_platform(self.platform_of(raw_point)))
        return get_path(raw_point, axis_path) != get_path(as_written, axis_path)

    def _origin(self, key_path: str, workload_index: int | None, baseline: bool,
                raw_point: Mapping[str, Any] | None = None,
                platform: str | None = None) -> tuple[Path | str, str, str]:
        """(file, key path in it, note) for a point key path; the note says where a value was set.
        Given the point, a sweep axis is named only if the point's value differs from the file's.
        A platform key names the profile file of ``platform`` (else of the point's platform)."""
        if baseline:
            for path in self.baseline:
                if _under(key_path, path):
                    return self.file, key_path, " (in the baseline point)"
        for path, value in reversed(self.overrides):
            if _under(key_path, path):
                return SET, key_path, set_note(path, value)
        axes = [(path, f'sweep.grid["{path}"]') for path in self.grid if path != PLATFORM_AXIS]
        axes += [(path, f'sweep.zip.{n}["{path}"]') for n, group in enumerate(self.zip) for path in group]
        for path, axis in axes:
            if _under(key_path, path) and (raw_point is None or self._swept(raw_point, path, workload_index)):
                return self.file, axis, ""
        inside = [f"{path}={value}" for path, value in self.overrides if _under(path, key_path)]
        note = f" (after --set {', '.join(inside)})" if inside else ""
        head, _, rest = key_path.partition(".")
        if head == "platform":
            name = platform or (self.platform_of(raw_point) if raw_point is not None else next(iter(self.platforms)))
            return self.platform_files[name], rest, note
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

    def locate(key_path: str) -> tuple[Path | str, str, str]:
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


def _platform_path(experiment_file: Path, reference: str, locate: Locator, key: str) -> Path:
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
    file, key_path, note = locate(key)
    raise ConfigError(file, key_path, f"no platform file or shipped profile named {reference!r} "
                                      f"(shipped: {', '.join(known) or 'none'}){note}")


def _load_referenced(experiment_file: Path, key: str, reference: str, locate: Locator) -> tuple[Path, dict]:
    if key.partition(".")[0] == "platform":
        path = _platform_path(experiment_file, reference, locate, key)
    else:
        path = Path(os.path.normpath(experiment_file.parent / reference))
    if not path.exists():
        file, key_path, note = locate(key)
        raise ConfigError(file, key_path, f"file {reference!r} not found (looked for {path}){note}")
    return path, load_yaml(path)  # a FIFO, device or folder is refused there, naming it


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
        try:
            set_path(raw, path, value)
        except PathError as exc:
            raise ConfigError(SET, path, f"cannot set {path}: {exc}{set_note(path, value)}") from None
        if path in ("workload", "workloads"):
            raw.pop("workloads" if path == "workload" else "workload", None)


def _load_platforms(file: Path, spec: ExperimentFile, locate: Locator) -> tuple[dict[str, Path], dict[str, dict]]:
    """The experiment's platform profiles by name, in the order it lists them. Names must differ:
    a record says which platform it ran on by ``cfg.platform.name``."""
    references = spec.platform if isinstance(spec.platform, list) else [spec.platform]
    keys = [f"platform.{i}" for i in range(len(references))] if isinstance(spec.platform, list) else ["platform"]
    files: dict[str, Path] = {}
    profiles: dict[str, dict] = {}
    for key, reference in zip(keys, references):
        path, profile = _load_referenced(file, key, reference, locate)
        name = str(profile.get("name", Path(reference).stem))
        if name in files:
            where, key_path, note = locate(key)
            raise ConfigError(where, key_path, f"{files[name]} and {path} are both named {name!r}: give "
                                               f"each platform its own name (records tell them apart by it){note}")
        files[name], profiles[name] = path, profile
    return files, profiles


def _check_platform_keys(file: Path, platforms: dict[str, dict], grid: dict, zips: list[dict],
                         baseline: dict | None, point_overrides: list[tuple[str, object]]) -> None:
    """Refuse what would run a point on another platform than its own, or hide which one it ran on."""
    where = [(f'sweep.grid["{p}"]', p) for p in grid] + [(f'sweep.zip.{n}["{p}"]', p)
                                                        for n, group in enumerate(zips) for p in group]
    for key_path, path in where:
        if path == PLATFORM_AXIS:
            raise ConfigError(file, key_path, "sweep platforms with the platform key itself: "
                                              "platform: [milan, genoa]")
    for path in baseline or {}:
        if path == PLATFORM_AXIS:
            raise ConfigError(file, f"baseline.{path}", "a baseline runs on its treatment's platform; "
                                                        "set platform.params.NAME to change one of its costs")
    if len(platforms) < 2:
        return
    named = [(file, key_path, "") for key_path, path in where if _under(path, "platform.name")]
    named += [(file, "baseline", "") for path in baseline or {} if _under(path, "platform.name")]
    named += [(SET, path, set_note(path, value)) for path, value in point_overrides if _under(path, "platform.name")]
    if named:
        source, key_path, note = named[0]
        raise ConfigError(source, key_path, "the experiment runs on several platforms: renaming them would "
                                            f"hide which one a record ran on{note}")


def load_experiment(path: str | Path, overrides: Sequence[str] = (), *, force_large: bool = False) -> Experiment:
    """Load an experiment file, inline its platform(s) and workloads, and parse ``--set``
    overrides (``"a.b.c=value"``, value parsed as YAML). Overrides of ``platform``,
    ``workload(s)``, ``replications``, ``baseline``, ``sweep`` (or ``sweep.grid``, ``sweep.zip``)
    change the file itself; all others apply to every point, after the sweep values, and one on a
    swept key replaces that sweep axis (:mod:`veilperf.config.set_axes`; said in ``notes``); an
    unknown key path is refused with the closest known ones. A list of platforms becomes the first sweep
    axis. ``force_large`` lifts the budgets of :mod:`veilperf.config.bounds` for this
    experiment's points."""
    file = Path(path)
    raw = load_yaml(file)
    parsed = [parse_override(text) for text in overrides]
    for key_path, value in parsed:
        check_settable(key_path, set_note(key_path, value))
    file_level = [(p, v) for p, v in parsed if p in FILE_LEVEL_OVERRIDES]
    _apply_file_level(raw, file_level)

    def locate(key_path: str) -> tuple[Path | str, str, str]:
        for p, v in reversed(file_level):
            if _under(key_path, p):
                return SET, key_path, set_note(p, v)
        return file, key_path, ""

    try:
        spec = ExperimentFile.model_validate(raw)
    except ValidationError as exc:
        raise to_config_error(exc, ExperimentFile, raw, locate) from None

    point_overrides = [(p, v) for p, v in parsed if p not in FILE_LEVEL_OVERRIDES]
    platform_files, platforms = _load_platforms(file, spec, locate)
    _check_platform_keys(file, platforms, spec.sweep.grid, spec.sweep.zip, spec.baseline, point_overrides)
    keys = ["workload"] if spec.workload is not None else [f"workloads.{i}" for i in range(len(spec.workload_paths))]
    loaded = [_load_referenced(file, key, ref, locate) for key, ref in zip(keys, spec.workload_paths)]
    base = {key: copy_tree(raw[key]) for key in POINT_KEYS if key in raw}
    base["platform"] = next(iter(platforms.values()))
    platform_axis = {PLATFORM_AXIS: list(platforms)} if len(platforms) > 1 else {}
    grid, zips, notes = fold_overrides({**platform_axis, **spec.sweep.grid}, [dict(g) for g in spec.sweep.zip],
                                       point_overrides, skip=(PLATFORM_AXIS,))
    return Experiment(
        file=file,
        name=spec.name,
        kind=spec.kind,
        base=base,
        workloads=[data for _, data in loaded],
        workload_files=[p for p, _ in loaded],
        platform_files=platform_files,
        platforms=platforms,
        grid=grid,
        zip=zips,
        replications=spec.replications,
        baseline=dict(spec.baseline) if spec.baseline is not None else default_baseline(),
        overrides=point_overrides,
        force_large=force_large,
        notes=tuple(notes),
    )


def load_run_config(path: str | Path, overrides: Sequence[str] = (), workload_index: int = 0, *,
                    force_large: bool = False) -> RunConfig:
    """The single point ``veilperf run`` simulates: workload ``workload_index`` (none for a boot
    experiment), the experiment's own values, ``--set`` overrides, no sweep axes."""
    exp = load_experiment(path, overrides, force_large=force_large)
    index = None if exp.kind == "boot" else workload_index
    return validate_point(exp, exp.resolve(index, {}), workload_index=index)
