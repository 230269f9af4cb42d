"""The ``setup.services`` schema, built from the registered service specs.

Each service declares its settings once, as a frozen dataclass in its own module
(:mod:`veilperf.services.enc`, ...; listed by :mod:`veilperf.services.registry`). Here each becomes
a strict pydantic model with an ``enabled`` flag in front: a field marked ``Quantity(kind)`` gets
the unit-parsing type of that kind, ``AtLeast(n)`` a lower bound, a tuple a list, a nested
settings dataclass its own model; the dataclass's own checks (``__post_init__``) run as the
model's validator, so their message is reported at the section's key path.
"""

from __future__ import annotations

import dataclasses
import types
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import Field, create_model, model_validator

from veilperf.config.types import Bandwidth, Duration, Rate, Size, Strict
from veilperf.services.registry import SPECS
from veilperf.services.spec import AtLeast, Quantity, field_types, settings_from

__all__ = ["Services", "service_model"]

_UNIT_TYPES = {"duration": Duration, "size": Size, "rate": Rate, "bandwidth": Bandwidth}


def _schema_type(tp: Any) -> Any:
    """The pydantic annotation of a settings field's annotation."""
    if get_origin(tp) is Annotated:
        base, *markers = get_args(tp)
        quantity = next((m for m in markers if isinstance(m, Quantity)), None)
        bound = next((m for m in markers if isinstance(m, AtLeast)), None)
        inner = _schema_type(base)
        if quantity is not None:
            unit = _UNIT_TYPES[quantity.kind]
            optional = get_origin(base) in (Union, types.UnionType) and type(None) in get_args(base)
            inner = unit | None if optional else unit
        return Annotated[inner, Field(ge=bound.minimum)] if bound is not None else inner
    if get_origin(tp) in (Union, types.UnionType):
        return Union[tuple(_schema_type(arg) for arg in get_args(tp))]
    if get_origin(tp) is tuple:
        return list[get_args(tp)[0]]
    if dataclasses.is_dataclass(tp):
        return _section_model(tp, tp.__name__)
    return tp


def _default(value: Any) -> Any:
    """A settings default as the schema holds it (values are already in model units: not validated)."""
    if dataclasses.is_dataclass(value):
        model = _section_model(type(value), type(value).__name__)
        return model.model_construct(**{f.name: _default(getattr(value, f.name)) for f in dataclasses.fields(value)})
    return list(value) if isinstance(value, tuple) else value


def _check_with(settings: type):
    """The model validator running the settings dataclass's own checks."""

    def check(model: Strict) -> Strict:
        settings_from(settings, model.model_dump(exclude={"enabled"}))
        return model

    return model_validator(mode="after")(check)


@cache
def _section_model(settings: type, name: str, enabled: bool = False) -> type[Strict]:
    """The pydantic model of settings dataclass ``settings`` (with an ``enabled`` flag in front
    for a service's top-level section), an attribute of this module under ``name`` so that
    validated configs pickle (sweep workers receive them)."""
    hints = field_types(settings)
    fields: dict[str, Any] = {"enabled": (bool, False)} if enabled else {}
    for field in dataclasses.fields(settings):
        fields[field.name] = (_schema_type(hints[field.name]), _default(field.default))
    model = create_model(name, __base__=Strict, __doc__=settings.__doc__, __module__=__name__,
                         __validators__={"_settings_checks": _check_with(settings)}, **fields)
    if name in globals():
        raise TypeError(f"two settings sections are named {name}: rename one settings dataclass")
    globals()[name] = model
    return model


def service_model(name: str) -> type[Strict]:
    """The model of the ``setup.services.<name>`` section."""
    spec = next(s for s in SPECS if s.name == name)
    return _section_model(spec.settings, f"{spec.name.capitalize()}Service", enabled=True)


class _ServicesBase(Strict):
    @property
    def active(self) -> list[str]:
        """Names of the enabled services, in the registry's order."""
        return [name for name in type(self).model_fields if getattr(self, name).enabled]


Services = create_model(
    "Services", __base__=_ServicesBase,
    **{spec.name: (service_model(spec.name), service_model(spec.name)()) for spec in SPECS})
"""``setup.services``: one section per registered service."""
