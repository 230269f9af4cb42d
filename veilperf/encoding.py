"""Text that may not be UTF-8: command-line arguments and file names arrive from the OS as bytes,
decoded with ``surrogateescape``, so an undecodable byte becomes a lone surrogate that no UTF-8
file (YAML, Parquet, the report) can hold. These helpers tell such text apart and show it."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["is_utf8", "shown"]


def is_utf8(text: str | Path) -> bool:
    """Whether ``text`` encodes to UTF-8 (it holds no undecodable byte from the OS)."""
    try:
        str(text).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(text: str | Path) -> str:
    """``text`` printable on any terminal: each undecodable byte as ``\\xNN``, quoted when it had any."""
    text = str(text)
    if is_utf8(text):
        return text
    raw = os.fsencode(text)
    return repr(raw)[1:]  # b'R\\xff' -> 'R\\xff'
