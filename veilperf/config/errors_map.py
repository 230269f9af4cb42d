"""Turn a pydantic ValidationError into one ConfigError: the key path the user wrote, one message.

Pydantic reports every failed branch of a union (``compute: 12`` fails both as a duration and as a
distribution) and puts branch tags such as ``function-before[...]`` into error locations. Here the
tags are removed by following the location through the schema's types, errors from branches that
cannot fit the input's shape (a mapping vs a scalar) are dropped, and the first remaining error is
reported, an unknown key first (a misspelt key is also reported missing under its real name);
unknown keys get a "did you mean".
"""

from __future__ import annotations

import difflib
import re
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Callable, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from veilperf.config.overrides import get_path
from veilperf.errors import ConfigError

__all__ = ["Locator", "to_config_error", "did_you_mean", "unwrap", "is_model", "is_union"]

Locator = Callable[[str], tuple[Path | str, str, str]]
"""Maps a dotted key path of the validated data to (file, key path in that file, note to append)."""

_MISSING = object()


@dataclass
class _Located:
    """An error location with union-branch tags removed."""

    parts: list[str | int] = field(default_factory=list)
    container: type[BaseModel] | None = None  # the model holding the last part
    branches: list[tuple[int, bool]] = field(default_factory=list)  # (depth, chose a model branch)


def is_model(tp: Any) -> bool:
    """Whether ``tp`` is a pydantic model class."""
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def is_union(tp: Any) -> bool:
    """Whether ``tp`` is a union type (``A | B`` or ``Union[A, B]``)."""
    return get_origin(tp) in (Union, types.UnionType)


def unwrap(tp: Any) -> Any:
    """Strip Annotated and a None branch; keep real unions."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
        elif is_union(tp):
            branches = [b for b in get_args(tp) if b is not type(None)]
            if len(branches) != 1:
                return Union[tuple(branches)]
            tp = branches[0]
        else:
            return tp


def _looks_like_tag(part: str) -> bool:
    return "[" in part or bool(re.fullmatch(r"[A-Z]\w*", part))


def _choose_branch(tp: Any, tag: str) -> Any:
    """The union branch a tag names: a model by class name, else the scalar branch for a
    validator or type tag; None for tags not understood (e.g. discriminator values)."""
    branches = [unwrap(b) for b in get_args(tp)]
    for branch in branches:
        if is_model(branch) and re.search(rf"\b{re.escape(branch.__name__)}\b", tag):
            return branch
    if "[" in tag or tag in ("str", "int", "float", "bool"):
        return next((b for b in branches if not is_model(b)), None)
    return None


def _locate(root: type[BaseModel], loc: tuple) -> _Located:
    found = _Located()
    tp: Any = root
    for part in loc:
        tp = unwrap(tp)
        if isinstance(part, str) and (is_union(tp) or (tp is None and _looks_like_tag(part))):
            tp = _choose_branch(tp, part) if tp is not None else None
            if tp is not None:
                found.branches.append((len(found.parts), is_model(tp)))
            continue
        found.parts.append(part)
        found.container = tp if is_model(tp) else None
        if is_model(tp):
            info = tp.model_fields.get(part)
            tp = info.annotation if info is not None else None
        elif get_origin(tp) is list:
            tp = get_args(tp)[0]
        elif get_origin(tp) is tuple:
            args = get_args(tp)
            tp = args[part] if isinstance(part, int) and part < len(args) else None
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        else:
            tp = None
    return found


def _fits(located: _Located, data: Any) -> bool:
    """False when a union branch was taken that cannot match the input's shape."""
    for depth, chose_model in located.branches:
        value = get_path(data, ".".join(str(p) for p in located.parts[:depth]), _MISSING)
        if value is not _MISSING and chose_model != isinstance(value, dict):
            return False
    return True


def did_you_mean(word: str, known: list[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest known word, else the list of known words."""
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f" (known keys: {', '.join(known)})" if known else ""


def _message(error: dict, located: _Located) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(located.parts[-1]) if located.parts else "?"
        known = list(located.container.model_fields) if located.container else []
        return f"unknown key {key!r}{did_you_mean(key, known)}"
    if kind == "missing":
        return "missing required key"
    if kind in ("value_error", "assertion_error"):
        cause = (error.get("ctx") or {}).get("error")
        return str(cause) if cause is not None else re.sub(r"^(Value|Assertion) error, ", "", error["msg"])
    shown = repr(error.get("input"))
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return f"{error['msg']} (got {shown})"


def to_config_error(exc: ValidationError, model: type[BaseModel], data: Any, locate: Locator) -> ConfigError:
    """The one ConfigError to show for ``exc``, raised when validating ``data`` as ``model``."""
    errors = [(error, _locate(model, tuple(error["loc"]))) for error in exc.errors()]
    fitting = [pair for pair in errors if _fits(pair[1], data)] or errors
    # A misspelt key is both unknown and (its real name) missing: the unknown key explains both.
    unknown = [pair for pair in fitting if pair[0]["type"] == "extra_forbidden"]
    error, located = (unknown or fitting)[0]
    file, key_path, note = locate(".".join(str(p) for p in located.parts))
    return ConfigError(file, key_path, _message(error, located) + note)
