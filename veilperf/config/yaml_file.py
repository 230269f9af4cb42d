"""Read YAML strictly: one mapping per file, no duplicate keys, dates kept as text, aliases,
nesting and file size bounded.

Aliases (``*name``) share one node, so a few lines can stand for billions of values (an "alias
bomb") that later copies and validation would expand. The node graph is measured before anything
is built: aliases may add at most :data:`MAX_ALIAS_NODES` nodes once expanded, a recursive alias
(a node containing itself) is refused, and so is nesting deeper than :data:`MAX_DEPTH` (building
and validating it would exhaust Python's recursion limit). A file must be a regular file (a FIFO or
a device is refused, never read) of at most :data:`MAX_YAML_BYTES`, or what the environment
variable ``VEILPERF_MAX_YAML_SIZE`` allows (a 50 MB YAML file takes ~3 GB to load).

Every problem becomes a :class:`~veilperf.errors.ConfigError` naming the file (and, for syntax
errors, the line), so the CLI can print it as one line.
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

from veilperf.errors import ConfigError
from veilperf.files import NotRegularFile, TooLarge, read_limited, size_limit

__all__ = ["load_yaml", "parse_yaml_value", "read_text", "MAX_ALIAS_NODES", "MAX_DEPTH", "MAX_YAML_BYTES",
           "YAML_SIZE_VARIABLE"]

MAX_ALIAS_NODES = 100_000
"""Nodes that aliases may add when expanded (far above any real use of anchors in configs)."""
MAX_DEPTH = 64
"""Levels of nested mappings and lists (the deepest shipped file, a replay workload, has 6)."""
MAX_YAML_BYTES = 16 << 20
"""Size of a YAML file read by default: a replay workload of about 200,000 calls (~1 GB to load)."""
YAML_SIZE_VARIABLE = "VEILPERF_MAX_YAML_SIZE"


_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser: ~10x faster on large workloads


class _StrictLoader(_SafeBase):
    """SafeLoader that rejects duplicate keys and leaves dates such as ``2024-05-01`` as strings."""


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> dict:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable):
            continue  # construct_mapping reports it
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {seen[key].start_mark.line + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


class _AliasError(yaml.YAMLError):
    """Aliases expand too far, or refer to themselves."""


def _expanded_size(root: yaml.Node) -> tuple[int, int]:
    """(distinct nodes, nodes once every alias is expanded) of a composed document, in time linear
    in the distinct nodes; _AliasError for a node that contains itself or is nested too deep."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            children = _children(node)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise _AliasError(f"recursive alias at line {node.start_mark.line + 1}: a node contains itself")
        if len(on_path) >= MAX_DEPTH and _children(node):
            raise _AliasError(f"nested more than {MAX_DEPTH} levels deep at line {node.start_mark.line + 1}")
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                raise _AliasError(f"recursive alias at line {child.start_mark.line + 1}: a node contains itself")
            if id(child) not in sizes:
                stack.append((child, False))
    return len(sizes), sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _load_bounded(text: str) -> Any:
    """Parse one YAML document like ``yaml.load`` with the strict loader, measuring aliases first."""
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        distinct, expanded = _expanded_size(node)
        if expanded - distinct > MAX_ALIAS_NODES:
            raise _AliasError(f"aliases expand {distinct:,} nodes to {expanded:,}: at most {MAX_ALIAS_NODES:,} more "
                              "are allowed (an alias bomb?); write the values out instead")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _syntax_error(file: str | Path, exc: yaml.YAMLError) -> ConfigError:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f"line {mark.line + 1}" if mark is not None else ""
    column = f" (column {mark.column + 1})" if mark is not None else ""
    return ConfigError(file, where, f"invalid YAML: {problem}{column}")


def parse_yaml_value(text: str, *, source: str, key_path: str) -> Any:
    """Parse one value written in YAML (as given to ``--set``); errors name ``source``."""
    try:
        return _load_bounded(text)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        shown = repr(text) if len(text) <= 60 else repr(text[:57]) + "..."
        raise ConfigError(source, key_path, f"cannot read value {shown} as YAML: {problem}") from None


def read_text(path: Path) -> str:
    """The text of a config file; ConfigError naming it when it is missing, unreadable, not a
    regular file, larger than the limit or not UTF-8."""
    try:
        data = read_limited(path, size_limit(YAML_SIZE_VARIABLE, MAX_YAML_BYTES), YAML_SIZE_VARIABLE)
        return data.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(path, "", "file not found") from None
    except NotRegularFile as exc:
        expected = ", expected a YAML file" if exc.kind == "a directory" else ", not a regular file"
        raise ConfigError(path, "", f"is {exc.kind}{expected}") from None
    except TooLarge as exc:
        raise ConfigError(path, "", str(exc).removeprefix(f"{path}: ")) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(path, "", f"cannot read file: {exc.strerror or exc}") from None


def load_yaml(path: str | Path) -> dict:
    """Load a YAML file whose top level is a mapping.

    Raises ConfigError for a missing or unreadable file, an empty file, a syntax error (with its
    line number), a duplicate key, or a top level that is not a mapping.
    """
    path = Path(path)
    text = read_text(path)
    try:
        data = _load_bounded(text)
    except yaml.YAMLError as exc:
        raise _syntax_error(path, exc) from None
    if data is None:
        raise ConfigError(path, "", "file is empty")
    if not isinstance(data, dict):
        raise ConfigError(path, "", f"top level must be a mapping of keys, got a {type(data).__name__}")
    return data
