"""What a protected service declares about itself: the one place each service is described.

A :class:`ServiceSpec` holds a service's settings schema (a frozen dataclass whose defaults are
the only ones written; unit-carrying fields are marked with :class:`Quantity`, bounded ones with
:class:`AtLeast`, cross-field rules raise ``ValueError`` from ``__post_init__``), where its model
class lives, its record columns (name, meaning, unit), its crossing (which record columns count
Veil crossings and which ``costs.*`` column is the cost of one), its human labels and its colour.
The registry (:mod:`veilperf.services.registry`) lists the specs; the config layer builds the YAML
schema from them, the run layer hands their model classes to ``System``, and the analysis reads
their labels and crossings, so none of those layers has per-service code.

Pure: no SimPy, no pydantic, no ``veilperf.config`` (``tests/test_layers.py``).
"""

from __future__ import annotations

import dataclasses
import importlib
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

__all__ = ["AtLeast", "Column", "Crossing", "CrossingPart", "Quantity", "ServiceSpec", "field_types",
           "settings_from"]

QUANTITY_KINDS = ("duration", "size", "rate", "bandwidth")


@dataclass(frozen=True)
class Quantity:
    """Marks a settings field written with a unit in YAML (``2.5us``, ``16MiB``, ``250Hz``,
    ``18GB/s``) and held in model units (ns, bytes, Hz, bytes/s): ``kind`` is one of
    :data:`QUANTITY_KINDS`."""

    kind: str

    def __post_init__(self) -> None:
        if self.kind not in QUANTITY_KINDS:
            raise ValueError(f"unknown quantity kind {self.kind!r}; known: {', '.join(QUANTITY_KINDS)}")


@dataclass(frozen=True)
class AtLeast:
    """Marks a numeric settings field that may not be below ``minimum``."""

    minimum: float


@dataclass(frozen=True)
class Column:
    """One record column a service writes: ``name``, a one-line ``meaning`` and its ``unit``
    (``ns``, ``bytes``, ``count``, ``share`` (a fraction, 0-1), ``text``)."""

    name: str
    meaning: str
    unit: str


@dataclass(frozen=True)
class CrossingPart:
    """One kind of Veil crossing: the record column counting them, the ``costs.*`` column holding
    the cost of one (ns), and the ``costs.*`` column holding the part of that cost spent in domain
    switches (ns; what moves when the switch cost does)."""

    count: str
    cost: str
    switching: str


@dataclass(frozen=True)
class Crossing:
    """A service's crossings: what one is (``what``, plural, for axis labels), its kinds
    (``parts``: the crossings of a point are their counts summed, the cost of one their
    count-weighted mean), and one line saying what a crossing costs (``explains``)."""

    what: str
    parts: tuple[CrossingPart, ...]
    explains: str

    @property
    def count_columns(self) -> tuple[str, ...]:
        """The record columns whose sum is a point's crossings."""
        return tuple(part.count for part in self.parts)


@dataclass(frozen=True)
class ServiceSpec:
    """Everything the rest of veilperf knows about one protected service.

    ``name``: the key under ``setup.services`` and the prefix of its record columns (the short
    name, e.g. ``log``); ``display_name``: for readers (``VeilS-Log (audit log)``); ``settings``:
    the settings dataclass (its docstring describes the YAML section); ``model``: ``module:Class``
    of the model's service class (imported only to simulate); ``columns``: the record columns its
    model writes; ``crossing``: its crossings, if it has any; ``short_label``: a short label of
    one point's settings for tables and legends (``log all``, ``log file+net``, ``enc
    switchless``); ``color``: its colour in figures."""

    name: str
    display_name: str
    settings: type
    model: str
    columns: tuple[Column, ...]
    short_label: Callable[[Any], str]
    color: str
    crossing: Crossing | None = None

    def load_model(self) -> type:
        """The model's service class (imports the model module)."""
        module, _, attribute = self.model.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def settings_of(self, data: Mapping[str, Any]) -> Any:
        """The settings dataclass from plain data (nested mappings for nested sections, lists
        for tuples; missing keys take their defaults)."""
        return settings_from(self.settings, data)

    @property
    def defaults(self) -> Any:
        """The settings with every default."""
        return self.settings()

    def column(self, name: str) -> Column:
        """The declared column ``name``."""
        return next(c for c in self.columns if c.name == name)


def field_types(cls: type) -> dict[str, Any]:
    """Each field's annotation of settings dataclass ``cls``, markers (``Annotated``) kept."""
    return get_type_hints(cls, include_extras=True)


def _bare(tp: Any) -> Any:
    """``tp`` without ``Annotated`` and without a ``None`` branch."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
            continue
        if origin in (Union, types.UnionType):
            branches = [b for b in get_args(tp) if b is not type(None)]
            if len(branches) == 1:
                tp = branches[0]
                continue
        return tp


def settings_from(cls: type, data: Mapping[str, Any]) -> Any:
    """Build settings dataclass ``cls`` from plain ``data`` (see :meth:`ServiceSpec.settings_of`);
    unknown keys are an error (the config layer has reported them already)."""
    hints = field_types(cls)
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name not in hints:
            raise TypeError(f"{cls.__name__} has no setting {name!r}")
        tp = _bare(hints[name])
        if dataclasses.is_dataclass(tp) and isinstance(value, Mapping):
            value = settings_from(tp, value)
        elif get_origin(tp) is tuple and isinstance(value, (list, tuple)):
            value = tuple(value)
        values[name] = value
    return cls(**values)
