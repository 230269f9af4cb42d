"""Open trace files (plain or ``.gz``) and hand them to the right parser."""

from __future__ import annotations

import gzip
import hashlib
import re
import zlib
from pathlib import Path

from veilperf.trace.events import ParsedTrace, SummaryTable
from veilperf.trace.strace_parser import TraceError, finish_trace, parse_strace
from veilperf.trace.summary_parser import is_summary, parse_summary

_FF_SUFFIX = re.compile(r"\.(\d+)$")  # strace -ff -o PREFIX writes PREFIX.<pid>


def read_lines(path: str | Path) -> list[str]:
    """The file's lines without newlines; ``.gz`` files are decompressed."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
    except FileNotFoundError:
        raise TraceError(str(path), None, "no such trace file") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise TraceError(str(path), None, f"cannot read: {exc}") from None
    return raw.decode("utf-8", errors="replace").splitlines()


def sha256_of(paths: list[str | Path]) -> str:
    """SHA-256 over the files' bytes, in the order given."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).read_bytes())
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
    texts = [(str(p), read_lines(p)) for p in paths]
    summaries = [is_summary(lines) for _, lines in texts]
    if any(summaries):
        if len(texts) != 1:
            raise TraceError(texts[summaries.index(True)][0], None,
                             "an strace -c table must be imported on its own")
        return parse_summary(*texts[0])
    trace = ParsedTrace(files=[p for p, _ in texts])
    for index, (path, lines) in enumerate(texts):
        tid = ff_tid(path)
        parse_strace(trace, path, lines, default_tid=tid if tid is not None else -(index + 1))
    for calls in trace.calls.values():
        calls.sort(key=lambda c: c.start_ns)
    return finish_trace(trace)
