"""A ``--set`` on a key the experiment sweeps replaces that sweep axis, so every point's axis values
(what the dry-run lists and what a point is known by) are the values it runs with.

Without this the ``--set`` applied after the sweep values: ``veilperf sweep configs/enclave.yaml
--set platform.params.switch_one_way=3us`` ran every treatment at 3 us while its points were
still listed as 1.6, 2.07 and 6 us. The rules, for each point-level ``--set PATH=VALUE``:

- PATH is a grid axis: the axis becomes ``[VALUE]``.
- PATH is a member of a zip group: VALUE replaces that member in every row of the group (the
  group's other members keep their values); rows made identical are run once.
- PATH lies inside the values of an axis (the axis sets a mapping, e.g.
  ``setup.services.log.rules``, and ``--set setup.services.log.rules.select=all``): it is set in
  each value of the axis, as the point would have it.
- PATH holds an axis (``--set setup.services.enc={enabled: true}`` while
  ``setup.services.enc.enclave_size`` is swept): refused in one line, since the value would
  silently replace the swept key.

The platform axis (``platform: [milan, genoa]``) names whole profiles: ``--set platform.params.*``
applies to each of them and is none of the above.
"""

from __future__ import annotations

import json
from typing import Any

from veilperf.config.overrides import SET, PathError, set_note, set_path
from veilperf.errors import ConfigError

__all__ = ["fold_overrides", "value_text"]


def _under(path: str, prefix: str) -> bool:
    return path.startswith(prefix + ".")


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _copy(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str)) if isinstance(value, (dict, list)) else value


def value_text(value: Any) -> str:
    """A YAML value as a user writes it: ``3us``, ``null``, ``{select: all}``, ``[file, network]``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {value_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    return str(value)


def _distinct(values: list[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for value in values:
        seen.setdefault(_key(value), value)
    return list(seen.values())


def _apply(axis: str, values: list[Any], path: str, value: Any) -> list[Any]:
    """``values`` of ``axis`` with the ``--set path=value`` applied (``path`` is the axis or lies inside it)."""
    if path == axis:
        return [_copy(value) for _ in values]
    inner = path[len(axis) + 1:]
    out = []
    for item in values:
        item = _copy(item)
        if isinstance(item, (dict, list)):
            try:
                set_path(item, inner, _copy(value))
            except PathError:
                pass  # the point cannot be resolved either: Experiment.resolve says so, naming the --set
        out.append(item)
    return out


def _refuse_holding(path: str, value: Any, axes: list[tuple[str, str]]) -> None:
    for axis, where in axes:
        if _under(axis, path):
            raise ConfigError(SET, path, f"would replace {axis}, which the experiment sweeps ({where}): set "
                                         f"{axis} itself (it replaces the sweep axis) or the other keys inside "
                                         f"{path} one by one{set_note(path, value)}")


def fold_overrides(grid: dict[str, list], zips: list[dict[str, list]], overrides: list[tuple[str, object]],
                   *, skip: tuple[str, ...] = ()) -> tuple[dict[str, list], list[dict[str, list]], list[str]]:
    """``grid`` and ``zips`` with every point-level ``overrides`` (path, value) that names a swept
    key folded in (module docstring), and one note per replaced axis:
    ``--set platform.params.switch_one_way=3us replaces the sweep axis [1.6us, 2.07us, 6us]``.
    Axes in ``skip`` (the platform axis) are left alone. ConfigError for a ``--set`` holding an axis."""
    grid = {axis: list(values) for axis, values in grid.items()}
    zips = [{axis: list(values) for axis, values in group.items()} for group in zips]
    where = [(a, f'sweep.grid["{a}"]') for a in grid if a not in skip]
    where += [(a, f"sweep.zip.{n}") for n, group in enumerate(zips) for a in group]
    notes = []
    for path, value in overrides:
        _refuse_holding(path, value, where)
        for axis in [a for a in grid if a not in skip and (path == a or _under(path, a))]:
            before = _distinct(grid[axis])
            grid[axis] = _distinct(_apply(axis, grid[axis], path, value))
            notes.append(_note(path, value, axis, before))
        for n, group in enumerate(zips):
            for axis in [a for a in group if path == a or _under(path, a)]:
                before, rows = _distinct(group[axis]), len(group[axis])
                group[axis] = _apply(axis, group[axis], path, value)
                zips[n] = group = _dedupe_rows(group)
                others = [a for a in group if a != axis]
                kept = len(next(iter(group.values())))
                detail = f" (sweep.zip.{n}" + (f", with {', '.join(others)}" if others else "") + \
                         (f": {rows} rows -> {kept}" if kept != rows else "") + ")"
                notes.append(_note(path, value, axis, before) + detail)
    return grid, zips, notes


def _note(path: str, value: Any, axis: str, before: list[Any]) -> str:
    shown = f"[{', '.join(map(value_text, before))}]"
    if axis == path:
        return f"--set {path}={value_text(value)} replaces the sweep axis {shown}"
    return f"--set {path}={value_text(value)} is set in every value of the sweep axis {axis} {shown}"


def _dedupe_rows(group: dict[str, list]) -> dict[str, list]:
    """The zip ``group`` with each distinct row once, in order."""
    axes = list(group)
    rows = list(zip(*group.values()))
    kept = {}
    for row in rows:
        kept.setdefault(_key(list(row)), row)
    return {axis: [row[i] for row in kept.values()] for i, axis in enumerate(axes)}
