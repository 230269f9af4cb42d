"""Reading input files without blocking or unbounded memory: only regular files are read (a FIFO
would block forever, ``/dev/zero`` never ends), and every read has a size limit.

:func:`open_regular` opens without blocking and checks the opened file, so a path swapped for a
FIFO between a check and the open cannot block. :func:`size_limit` reads a limit from the
environment (``VEILPERF_MAX_YAML_SIZE``, ``VEILPERF_MAX_TRACE_SIZE``, documented in the README), so
every command honours the same override.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from veilperf.errors import VeilperfError

__all__ = ["NotRegularFile", "TooLarge", "check_regular", "open_regular", "read_limited", "size_limit",
           "special_kind"]

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


class NotRegularFile(VeilperfError):
    """A path that is not a regular file (``kind`` says what it is)."""

    def __init__(self, path: str | Path, kind: str) -> None:
        super().__init__(f"{path}: is {kind}, not a regular file")
        self.path, self.kind = str(path), kind


class TooLarge(VeilperfError):
    """More bytes than a limit allows (``limit``, and the variable that raises it)."""

    def __init__(self, path: str | Path, limit: int, variable: str) -> None:
        super().__init__(f"{path}: larger than {_size(limit)} (set {variable}, e.g. {variable}="
                         f"{-(-limit * 4 // (1 << 20))}MiB, to read it)")
        self.path, self.limit, self.variable = str(path), limit, variable


def special_kind(mode: int) -> str | None:
    """None for a regular file's ``st_mode``, else what the file is (``"a FIFO (named pipe)"``, ...)."""
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return None if stat.S_ISREG(mode) else "not a regular file"


def check_regular(path: str | Path) -> None:
    """:class:`NotRegularFile` unless ``path`` (followed if a symlink) is a regular file, for a reader
    that takes a path (pyarrow). OSError (missing, a symlink loop) propagates."""
    kind = special_kind(os.stat(path).st_mode)
    if kind is not None:
        raise NotRegularFile(path, kind)


def open_regular(path: str | Path) -> BinaryIO:
    """``path`` opened for binary reading; :class:`NotRegularFile` for a directory, FIFO, device or
    socket (checked on the opened descriptor: opening a FIFO this way does not block). OSError
    (missing, unreadable, a symlink loop) propagates for the caller to name."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        kind = special_kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise NotRegularFile(path, kind)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_limited(path: str | Path, limit: int, variable: str) -> bytes:
    """The bytes of regular file ``path``, at most ``limit`` of them (:class:`TooLarge` beyond)."""
    with open_regular(path) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(path, limit, variable)
    return data


def size_limit(variable: str, default: int) -> int:
    """The byte limit set by environment ``variable`` (a size with a unit, ``64MiB``), else ``default``."""
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    from veilperf.units import UnitError, parse_size

    try:
        value = parse_size(text)
    except UnitError as exc:
        raise VeilperfError(f"environment variable {variable}={text!r}: {exc}") from None
    if not 0 < value < 2 ** 62:
        raise VeilperfError(f"environment variable {variable}={text!r}: expected a positive size such as 64MiB")
    return int(value)


def _size(count: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.4g} {unit}"
    return f"{count} B"
