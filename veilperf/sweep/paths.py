"""Paths the sweep writes: kept inside the results root, and OS errors on them as one line."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Callable, Iterator

from veilperf.errors import VeilperfError

__all__ = ["ResultsIOError", "results_io", "inside", "os_error_line", "remove_quietly", "write_atomic"]


class ResultsIOError(VeilperfError):
    """Reading or writing results failed (disk full, read-only, not a folder, ...)."""


def os_error_line(exc: OSError) -> str:
    """``"<path>: <cause>"`` for an OSError (just the cause when it names no path)."""
    cause = exc.strerror or str(exc) or type(exc).__name__
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    return f"{' -> '.join(paths)}: {cause}" if paths else cause


@contextlib.contextmanager
def results_io(path: str | Path, what: str) -> Iterator[None]:
    """Turn an OSError raised in the block into a :class:`ResultsIOError` naming ``path`` and the cause."""
    try:
        yield
    except OSError as exc:  # named by the file meant, not by a temporary sibling the OS saw
        raise ResultsIOError(f"{path}: cannot {what}: {exc.strerror or exc}") from None


def inside(root: str | Path, path: str | Path) -> Path:
    """``path``, after checking that it resolves inside ``root`` (ResultsIOError otherwise)."""
    resolved_root = Path(os.path.realpath(root))
    resolved = Path(os.path.realpath(path))
    if resolved != resolved_root and resolved_root not in resolved.parents:
        raise ResultsIOError(f"{path}: refusing to write outside the results folder {root}")
    return Path(path)


def remove_quietly(path: Path) -> None:
    """Delete ``path`` if it exists (a temporary file after a failed write)."""
    with contextlib.suppress(OSError):
        path.unlink()


def write_atomic(path: Path, write: Callable[[Path], object], what: str = "write") -> Path:
    """Call ``write(temporary)`` on a hidden sibling of ``path``, then rename it over ``path``: the
    file is whole or absent, never half-written. OS errors become a :class:`ResultsIOError` naming
    ``path``; the temporary file is removed on any failure (including Ctrl-C)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with results_io(path, what):
            write(tmp)
            tmp.replace(path)
    except BaseException:
        remove_quietly(tmp)
        raise
    return path
