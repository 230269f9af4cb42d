"""Open trace files (plain or ``.gz``) and hand them, line by line, to the right parser.

Traces are streamed: memory does not grow with the length of the file (only with the calls kept,
see :mod:`veilperf.trace.events`). Only regular files are read (a FIFO would block, ``/dev/zero``
never ends); a trace may hold at most :data:`MAX_TRACE_BYTES` (a ``.gz`` counted decompressed, so
a small file of a gigabyte of newlines is refused after reading that much, not first inflated in
memory), or what ``VEILPERF_MAX_TRACE_SIZE`` allows; a line longer than :data:`MAX_LINE_BYTES` is
cut there (no strace line is that long; the rest of it is skipped).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import re
import zlib
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from veilperf.files import NotRegularFile, open_regular, size_limit
from veilperf.trace.events import ParsedTrace, SummaryTable
from veilperf.trace.strace_parser import TraceError, TraceParser
from veilperf.trace.summary_parser import HEADER_LINES, is_summary, parse_summary

__all__ = ["MAX_TRACE_BYTES", "TRACE_SIZE_VARIABLE", "expand_folders", "ff_tid", "read_trace", "sha256_of",
           "trace_lines"]

_FF_SUFFIX = re.compile(r"\.(\d+)$")  # strace -ff -o PREFIX writes PREFIX.<pid>

MAX_TRACE_BYTES = 512 << 20
"""Bytes of trace read by default (decompressed): about 4.5 million calls, ~0.5 GB to import."""
TRACE_SIZE_VARIABLE = "VEILPERF_MAX_TRACE_SIZE"
MAX_LINE_BYTES = 1 << 20
_CHUNK = 1 << 20


@contextlib.contextmanager
def trace_lines(path: str | Path) -> Iterator[Iterator[tuple[int, str]]]:
    """The file's lines as ``(number, text)`` (1-based, no line end, decoded as UTF-8 with bad bytes
    replaced, split as ``str.splitlines`` splits), read as they are iterated; ``.gz`` files are
    decompressed on the way. Empty lines are numbered but not yielded (a file of newlines costs no
    Python work per line), except the file's last line, so a reader knows which line is last.
    TraceError naming the file for a missing, unreadable, special, corrupt or too large file."""
    path = Path(path)
    limit = size_limit(TRACE_SIZE_VARIABLE, MAX_TRACE_BYTES)
    try:
        handle = open_regular(path)
    except FileNotFoundError:
        raise TraceError(str(path), None, "no such trace file") from None
    except NotRegularFile as exc:
        raise TraceError(str(path), None, f"is {exc.kind}, not a trace file") from None
    except OSError as exc:
        raise TraceError(str(path), None, f"cannot read: {exc.strerror or exc}") from None
    with handle:
        source: BinaryIO = gzip.GzipFile(fileobj=handle, mode="rb") if path.suffix == ".gz" else handle
        yield _numbered_lines(path, source, limit)


_TEXT = re.compile(rb"[^\n]+")


def _numbered_lines(path: Path, source: BinaryIO, limit: int) -> Iterator[tuple[int, str]]:
    number = last = read = 0  # lines counted, the last one yielded, bytes read
    carry = b""  # the start of a line whose end is not read yet
    skipping = False  # within an overlong line, already yielded cut: drop bytes up to its end
    try:
        while chunk := source.read(_CHUNK):
            read += len(chunk)
            _check_size(path, read, limit)
            if skipping:
                cut = chunk.find(b"\n")
                if cut < 0:
                    continue
                chunk, skipping = chunk[cut + 1:], False
            data = carry + chunk
            end = data.rfind(b"\n") + 1  # data[:end] holds whole lines, each ended by a newline
            position = 0
            for match in _TEXT.finditer(data, 0, end):
                number += data.count(b"\n", position, match.start())  # empty lines before it
                for text in _decoded(match[0]):
                    number += 1
                    last = number
                    yield number, text
                position = match.end() + 1
            number += data.count(b"\n", position, end)
            carry = data[end:]
            if len(carry) > MAX_LINE_BYTES:  # no strace line is that long: cut it, skip the rest
                number += 1
                last = number
                yield number, _decoded(carry[:MAX_LINE_BYTES], newline_follows=False)[0]
                carry, skipping = b"", True
        for text in _decoded(carry, newline_follows=False) if carry else ():
            number += 1
            last = number
            yield number, text
        if number > last:
            yield number, ""  # the last line is empty: said, so that the one before is not taken as last
    except (OSError, EOFError, zlib.error) as exc:
        raise TraceError(str(path), None, f"cannot read: {exc}") from None


def _check_size(path: Path, read: int, limit: int) -> None:
    if read > limit:
        raise TraceError(str(path), None, f"holds more than {limit / (1 << 20):,.0f} MiB of trace"
                         f"{' once decompressed' if path.suffix == '.gz' else ''}; set {TRACE_SIZE_VARIABLE} "
                         f"(e.g. {TRACE_SIZE_VARIABLE}=2GiB) to read it")


_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
"""Line boundaries of ``str.splitlines`` besides ``\\n`` and ``\\r`` (which ends a line with a ``\\n`` after it)."""


def _decoded(raw: bytes, newline_follows: bool = True) -> list[str]:
    """The lines of a piece of text without ``\\n``, as ``str.splitlines`` splits the whole file: a
    piece ending in another line boundary before the ``\\n`` that follows it ends one more, empty, line."""
    text = raw.decode("utf-8", errors="replace")
    lines = text.splitlines() or [""]
    if newline_follows and text and text[-1] in _BREAKS:
        lines.append("")
    return lines


def sha256_of(paths: list[str | Path]) -> str:
    """SHA-256 over the files' bytes, in the order given (read in chunks)."""
    digest = hashlib.sha256()
    for path in paths:
        with open_regular(path) as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def ff_tid(path: str | Path) -> int | None:
    """The thread id in an ``-ff`` file name (``trace.1234`` or ``trace.1234.gz``), if any."""
    name = Path(path).name.removesuffix(".gz")
    m = _FF_SUFFIX.search(name)
    return int(m[1]) if m else None


def expand_folders(paths: list[str | Path]) -> list[str | Path]:
    """``paths`` with each folder replaced by the ``-ff`` files in it (``PREFIX.<pid>``, optionally
    ``.gz``), in name order; a folder without any is an error."""
    expanded: list[str | Path] = []
    for path in paths:
        if not Path(path).is_dir():
            expanded.append(path)
            continue
        files = sorted(p for p in Path(path).iterdir() if p.is_file() and ff_tid(p) is not None)
        if not files:
            raise TraceError(str(path), None, "a folder given as a trace holds no strace -ff files "
                             "(named PREFIX.<pid>, from `strace -ff -tt -T -o DIR/PREFIX command`)")
        expanded.extend(files)
    return expanded


def read_trace(paths: list[str | Path]) -> ParsedTrace | SummaryTable:
    """Parse one ``strace -c`` table, or one or more ``strace -f -tt -T`` files of one run (a
    folder stands for the ``-ff`` files in it).

    Lines without a pid prefix belong to the thread named by the file's ``-ff`` suffix, or else to
    a thread numbered after the file's position (-1, -2, ...)."""
    paths = expand_folders(paths)
    if not paths:
        raise TraceError("<no file>", None, "give at least one trace file")
    summaries = [_is_summary(p) for p in paths]
    if any(summaries):
        if len(paths) != 1:
            raise TraceError(str(paths[summaries.index(True)]), None,
                             "an strace -c table must be imported on its own")
        with trace_lines(paths[0]) as lines:
            return parse_summary(str(paths[0]), lines)
    parser = TraceParser([str(p) for p in paths])
    for index, path in enumerate(paths):
        tid = ff_tid(path)
        with trace_lines(path) as lines:
            parser.parse_file(str(path), lines, default_tid=tid if tid is not None else -(index + 1))
    return parser.finish()


def _is_summary(path: str | Path) -> bool:
    with trace_lines(path) as lines:
        head = [text for number, text in islice(lines, HEADER_LINES) if number <= HEADER_LINES]
    return is_summary(head)

