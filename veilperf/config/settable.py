"""Which dotted key paths a ``--set`` may name, and the closest known ones to a path it may not.

A ``--set`` path is either one of the experiment file's own keys that change the file
(``platform``, ``workloads``, ``replications``, ``sweep.grid``, ...: set whole), or a path into a
point, followed through the schema (:class:`~veilperf.config.run_config.RunConfig`: ``setup.*``,
``run.*``, ``platform.params.*``, ``workload.*``, ...). Suggestions are full dotted paths: a bare
leaf finds its place (``switch_one_way`` -> ``platform.params.switch_one_way``), a misspelt key
its neighbour (``replicatons`` -> ``replications``, ``sweeep.grid`` -> ``sweep.grid``).
"""

from __future__ import annotations

import difflib
from functools import cache
from typing import Any, get_args, get_origin

from veilperf.config.errors_map import is_model, is_union, unwrap
from veilperf.config.experiment import ExperimentFile
from veilperf.config.overrides import SET
from veilperf.config.params import _Param
from veilperf.config.run_config import RunConfig
from veilperf.errors import ConfigError

__all__ = ["FILE_LEVEL_OVERRIDES", "check_settable", "suggestions", "settable_paths"]

FILE_LEVEL_OVERRIDES = ("name", "platform", "workload", "workloads", "replications", "baseline", "sweep", "sweep.grid",
                        "sweep.zip")
"""``--set`` keys (exact) that change the experiment file itself rather than its points."""

_FILE_ONLY = {name: ExperimentFile.model_fields[name].annotation
              for name in ("workloads", "replications", "sweep", "baseline")}
"""Experiment-file keys that are not point keys: settable only whole (see FILE_LEVEL_OVERRIDES)."""

_ROOT: dict[str, Any] = {**{name: info.annotation for name, info in RunConfig.model_fields.items()}, **_FILE_ONLY}
"""Every top-level key a ``--set`` may start with, and its type."""


def _fields(tp: Any) -> dict[str, Any] | None:
    """The named children of a type (a model's fields), or None when its keys are not fixed."""
    tp = unwrap(tp)
    if is_model(tp):
        return {name: info.annotation for name, info in tp.model_fields.items()}
    return None


def _unknown_at(tp: Any, parts: list[str], depth: int) -> int | None:
    """Index of the first part of ``parts[depth:]`` that ``tp`` does not know, or None when all
    are known or the schema cannot tell (free-form mappings, list indices, scalars: setting
    through those fails later with its own message)."""
    if depth == len(parts):
        return None
    tp = unwrap(tp)
    if is_union(tp):
        found = [_unknown_at(branch, parts, depth) for branch in get_args(tp)]
        return None if None in found else max(found)  # type: ignore[type-var]
    if is_model(tp):
        info = tp.model_fields.get(parts[depth])
        return depth if info is None else _unknown_at(info.annotation, parts, depth + 1)
    origin, args = get_origin(tp), get_args(tp)
    if origin in (list, tuple) and args and parts[depth].isdigit():
        index = int(parts[depth])
        fixed = origin is tuple and args[-1] is not Ellipsis
        return _unknown_at(args[index] if fixed and index < len(args) else args[0], parts, depth + 1)
    if origin is dict and len(args) == 2:
        return _unknown_at(args[1], parts, depth + 1)
    return None


def _unknown(parts: list[str]) -> int | None:
    """Index of the first unknown part of a ``--set`` path, or None (see :func:`_unknown_at`)."""
    if parts[0] not in _ROOT:
        return 0
    return _unknown_at(_ROOT[parts[0]], parts, 1)


def _keys_at(parts: list[str]) -> list[str]:
    """The keys known under a known path (the top-level keys under the empty path)."""
    if not parts:
        return list(_ROOT)
    tp: Any = _ROOT[parts[0]]
    for part in parts[1:]:
        tp = (_fields(tp) or {}).get(part)
    return list(_fields(tp) or {})


def _is_parameter(tp: Any) -> bool:
    tp = unwrap(tp)
    return isinstance(tp, type) and issubclass(tp, _Param)


@cache
def settable_paths() -> tuple[str, ...]:
    """Every dotted path through the schema's models, down to platform parameters (set whole or
    by value), lists, mappings and scalars; the file-level keys first."""
    paths: dict[str, None] = dict.fromkeys(FILE_LEVEL_OVERRIDES)

    def walk(prefix: str, tp: Any) -> None:
        paths[prefix] = None
        if _is_parameter(tp):
            return
        for name, child in (_fields(tp) or {}).items():
            walk(f"{prefix}.{name}", child)

    for name, tp in _ROOT.items():
        walk(name, None if name in _FILE_ONLY else tp)
    return tuple(paths)


def suggestions(path: str) -> list[str]:
    """Known full paths close to ``path``: a bare name's exact places (up to three); under a known
    prefix, the closest sibling of the first unknown key; else the closest full path or leaf name."""
    known = settable_paths()
    parts = path.split(".")
    if len(parts) == 1:
        exact = [p for p in known if p.rsplit(".", 1)[-1] == path and p != path]
        if exact:
            return exact[:3]
    depth = _unknown(parts)
    if depth:
        close = difflib.get_close_matches(parts[depth], _keys_at(parts[:depth]), n=1, cutoff=0.6)
        fixed = [*parts[:depth], *close, *parts[depth + 1:]]
        return [".".join(fixed if _unknown(fixed) is None else fixed[:depth + 1])] if close else []
    close = difflib.get_close_matches(path, known, n=1, cutoff=0.6)
    if close:
        return close
    leaves = {p.rsplit(".", 1)[-1]: p for p in reversed(known)}
    return [leaves[name] for name in difflib.get_close_matches(parts[-1], list(leaves), n=1, cutoff=0.75)]


def check_settable(path: str, note: str) -> None:
    """Refuse a ``--set`` key path the experiment file and the point schema do not know, with the
    closest known full paths (or the complete list of known keys there); ``note`` ends the message."""
    if path in FILE_LEVEL_OVERRIDES:
        return
    parts = path.split(".")
    if parts[0] in _FILE_ONLY:
        whole = max((key for key in FILE_LEVEL_OVERRIDES if path.startswith(key + ".")), key=len)
        raise ConfigError(SET, path, f"{whole} is set whole (--set '{whole}=...'), not key by key{note}")
    depth = _unknown(parts)
    if depth is None:
        return
    where = f" in {'.'.join(parts[:depth])}" if depth else ""
    close = suggestions(path)
    hint = ("; did you mean " + " or ".join(repr(p) for p in close) + "?" if close
            else f" (known keys: {', '.join(_keys_at(parts[:depth]))})")
    raise ConfigError(SET, path, f"unknown key {parts[depth]!r}{where}{hint}{note}")
