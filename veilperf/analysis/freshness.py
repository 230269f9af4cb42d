"""Whether figures and the report are current, judged from the content of what they are drawn from.

An experiment's *digest* hashes its ``runs.parquet`` and its ``manifest.yaml`` (without the sweep
date, which changes on every sweep), and the analysis code. A figure carries the key it was drawn
from inside its own file (PNG text chunk, PDF/SVG metadata), and the report carries the digest of
everything in its first line; both files are written by rename, so whatever moment a run is killed
at, a file either holds its key or is the old file with the old key. Nothing here needs pandas or
matplotlib: deciding that nothing is stale is cheap.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

from veilperf.files import NotRegularFile, open_regular

RUNS_FILE, MANIFEST_FILE = "runs.parquet", "manifest.yaml"
SENSITIVITY_GLOB = "*/sensitivity/*.parquet"
KEY_PREFIX = "veilperf-inputs:"
REPORT_MARKER = re.compile(r"^<!-- veilperf-inputs: ([0-9a-f]+) -->")
_DATE_LINE = re.compile(rb"^date: .*$", re.MULTILINE)
_LINK = re.compile(r"!\[[^\]]*\]\(([^)]+)\)")


def _sha(parts: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:32]


@functools.cache
def code_digest() -> str:
    """Digest of the code figures and the report are drawn by: the analysis package's source, and
    what it reads from outside it (the services' specs: names, colours, crossings; the cost
    module): they change when it does."""
    package = Path(__file__).resolve().parents[1]
    sources = [*sorted((package / "analysis").glob("**/*.py")), *sorted((package / "services").glob("**/*.py")),
               package / "model" / "charges.py"]
    return _sha(path.read_bytes() for path in sources)


def _contents(path: Path) -> bytes:
    """The bytes of a regular file (a FIFO or a device in a results folder is refused, never read)."""
    with open_regular(path) as handle:
        return handle.read()


def experiment_digest(folder: Path) -> str:
    """Digest of one experiment folder's results (runs table, manifest without its date)."""
    runs = _contents(folder / RUNS_FILE)
    manifest = folder / MANIFEST_FILE
    text = _DATE_LINE.sub(b"", _contents(manifest)) if manifest.exists() else b""
    return _sha([runs, text])


def experiment_digests(paths: Iterable[Path]) -> dict[str, str]:
    """``{experiment folder name: digest}`` for the given experiment folders."""
    return {folder.name: experiment_digest(folder) for folder in paths}


def sensitivity_digest(roots: Iterable[Path]) -> str:
    """Digest of the stored sensitivity summaries under the results roots (empty input: a constant)."""
    return _sha(_contents(path) for root in roots for path in sorted(root.glob(SENSITIVITY_GLOB)))


def combine(*parts: str) -> str:
    """One key from several digests and names."""
    return _sha(part.encode() for part in parts)


def embedded_key(path: Path) -> str | None:
    """The input key written into a figure file, or None (no file, or no key)."""
    try:
        data = _contents(path)
    except (OSError, NotRegularFile):
        return None
    at = data.find(KEY_PREFIX.encode())
    if at < 0:
        return None
    return data[at + len(KEY_PREFIX):at + len(KEY_PREFIX) + 32].decode("ascii", "replace")


def report_key(report: Path) -> str | None:
    """The digest recorded in the report's first line, or None."""
    try:
        with open_regular(report) as handle:
            match = REPORT_MARKER.match(handle.readline(200).decode("utf-8", "replace"))
    except (OSError, NotRegularFile):
        return None
    return match.group(1) if match else None


def report_is_current(report: Path, key: str) -> bool:
    """The report was written from inputs with ``key``, and every figure it links is on disk."""
    if report_key(report) != key:
        return False
    links = _LINK.findall(_contents(report).decode("utf-8", "replace"))
    return all((report.parent / link).is_file() for link in links)
