"""Package attributes imported on first use, so that importing a package stays cheap."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str], owner: str | None = None) -> Callable[[str], Any]:
    """A module ``__getattr__`` (for module ``owner``, default ``package``) that imports
    ``package.<exports[name]>`` on first access of ``name`` and returns its ``name``."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        raise AttributeError(f"module {owner or package!r} has no attribute {name!r}")

    return __getattr__
