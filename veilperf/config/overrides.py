"""Dotted key paths: ``--set key.path=value`` parsing and setting a value deep inside raw config.

Every ``--set`` error has one wording: ``--set: KEY.PATH: PROBLEM (from --set KEY.PATH=VALUE)``
(:data:`SET` as the file, :func:`set_note` at the end), whether the key is unknown, the value
unreadable or invalid, or the text has no ``=``.
"""

from __future__ import annotations

from typing import Any

from veilperf.config.yaml_file import parse_yaml_value
from veilperf.errors import ConfigError

__all__ = ["PathError", "SET", "set_note", "parse_override", "set_path", "get_path", "is_parameter"]

SET = "--set"
"""What a ConfigError names as its file when the bad key or value came from a ``--set``."""


class PathError(ValueError):
    """A dotted path cannot be followed in the data (through a scalar, or a bad list index)."""


def is_parameter(node: Any) -> bool:
    """A platform parameter mapping ``{value, kind, source, ...}``."""
    return isinstance(node, dict) and "value" in node and "kind" in node


def set_note(path: str, value: object) -> str:
    """`` (from --set path=value)``: the end of every message about a value a ``--set`` gave."""
    return f" (from --set {path}={value})"


def parse_override(text: str) -> tuple[str, object]:
    """``"a.b.c=value"`` -> ``("a.b.c", value parsed as YAML)``; ConfigError without ``=``, for an
    empty key path or a value that is not YAML."""
    path, sep, value_text = text.partition("=")
    path = path.strip()
    if not sep:
        raise ConfigError(SET, text, f"expected key.path=value (from --set {text})")
    if not path or any(not part for part in path.split(".")):
        raise ConfigError(SET, text, f"empty key path: expected key.path=value (from --set {text})")
    try:
        return path, parse_yaml_value(value_text.strip(), source=SET, key_path=path)
    except ConfigError as exc:
        raise ConfigError(SET, path, f"{exc.message} (from --set {text})") from None


def set_path(data: dict, dotted: str, value: object) -> None:
    """Set ``value`` at ``dotted`` inside ``data``, creating intermediate mappings.

    Numeric parts index lists (``workload.steps.0.compute``). A scalar set on a parameter mapping
    (``{value, kind, ...}``) replaces only its ``value``. Raises PathError when the path runs
    through a scalar or past the end of a list.
    """
    parts = dotted.split(".")
    node: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[:depth]) or "the top level"
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise PathError(f"{where} is a list of {len(node)}; {part!r} is not an index into it")
            key: Any = int(part)
        elif isinstance(node, dict):
            key = part
        else:
            raise PathError(f"{where} holds {node!r}, not a mapping: cannot set {part!r} in it")
        if last:
            if is_parameter(node[key] if _has(node, key) else None) and not isinstance(value, (dict, list)):
                node[key]["value"] = value
            else:
                node[key] = value
            return
        if not _has(node, key) or node[key] is None:
            node[key] = {}
        node = node[key]


def get_path(data: Any, dotted: str, default: Any = None) -> Any:
    """The value at ``dotted`` inside ``data`` (numeric parts index lists), or ``default``;
    the empty path is ``data`` itself."""
    for part in dotted.split(".") if dotted else ():
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return default
    return data


def _has(node: dict | list, key: Any) -> bool:
    return key in node if isinstance(node, dict) else 0 <= key < len(node)
