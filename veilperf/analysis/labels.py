"""Short, readable names for the non-platform sweep settings of a point (``vcpu_model=static``,
``log.rules.select=classes``), used in tables and figure legends."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from veilperf.analysis.profile import param_name
from veilperf.units import format_size

_PREFIXES = ("cfg.", "setup.", "services.")
_LIST_ITEM = re.compile(r"^(.*)\.(\d+)$")
_SERVICE_PATH = re.compile(r"^cfg\.setup\.services\.(\w+)\.")
_SIZE_KEY = re.compile(r"(size|memory|buffer|chunk)$")  # schema fields holding bytes


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def short_value(value: Any) -> str:
    """A config value for labels: ``4`` not ``4.0``, three significant digits for other floats."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def short_key(column: str) -> str:
    """``cfg.setup.services.log.rules.select`` -> ``log.rules.select``; ``cfg.run.iterations`` -> ``run.iterations``."""
    key = column
    for prefix in _PREFIXES:
        key = key.removeprefix(prefix)
    return key


def setting_axes(axes: list[str]) -> list[str]:
    """The axes worth naming in a label: not platform parameters (captions name those), not a
    service's ``enabled`` flag (the ``service`` column says it)."""
    return [a for a in axes if param_name(a) is None and not a.endswith(".enabled")]


def describe_setting(row: pd.Series | Mapping[str, Any], axes: list[str]) -> str:
    """``row``'s values of ``axes``, list items regrouped (``classes=[file, network]``); settings of a
    service the row does not use are left out."""
    services = set(str(row.get("service", "")).split("+"))
    values: dict[str, list[str]] = {}
    for column in axes:
        owner = _SERVICE_PATH.match(column)
        if (owner and owner.group(1) not in services) or column not in row or _missing(row[column]):
            continue
        item = _LIST_ITEM.match(column)
        key = short_key(item.group(1) if item else column)
        if owner and len(services) == 1:  # the label already names the service
            key = key.removeprefix(f"{owner.group(1)}.")
        value = row[column]
        shown = format_size(value) if _SIZE_KEY.search(column) and isinstance(value, (int, float)) else short_value(value)
        values.setdefault(key, []).append(shown)
    return ", ".join(f"{k}={v[0]}" if len(v) == 1 else f"{k}=[{', '.join(v)}]" for k, v in values.items())
