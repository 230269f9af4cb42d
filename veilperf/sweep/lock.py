"""One writer per results root: an exclusive file lock that sweeps, ``report`` and ``plot`` take.

The lock is ``<root>/.veilperf.lock`` (``filelock``: an OS lock, released by the kernel when the
holder dies, even by SIGKILL). Beside it, ``<root>/.veilperf.holder`` says who holds it (pid,
host, start time, command) so a second command can name the holder. A second command waits with
a message on stderr, or with ``wait=False`` raises :class:`LockBusy` at once (exit 2).

A root whose file system refuses the lock file as read-only (``EROFS``, or ``EACCES``/``EPERM``
for another user's folder) cannot be written by anyone else through this path either; the lock is
then skipped and :attr:`ResultsLock.writable` is False, so callers can still read (a sweep with
nothing to run succeeds) and refuse before they would write.

Locks are re-entrant in one process (the CLI holds the root while the engine also asks for it).
Forked workers do not keep the lock: filelock closes inherited lock descriptors in a forked child.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from veilperf.errors import VeilperfError
from veilperf.sweep.paths import check_root, write_atomic

__all__ = ["LockBusy", "ResultsLock", "results_lock", "results_root_of", "locked_results", "LOCK_NAME", "HOLDER_NAME"]

LOCK_NAME = ".veilperf.lock"
HOLDER_NAME = ".veilperf.holder"
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)
_RETRIES = 20


class LockBusy(VeilperfError):
    """Another command holds the results root and the caller asked not to wait."""


@dataclass
class ResultsLock:
    """A held (or, on a read-only root, skipped) lock on ``root``."""

    root: Path
    writable: bool = True


_held: dict[Path, tuple[ResultsLock, int]] = {}  # resolved root -> (lock, depth) held by this process


def results_root_of(path: str | Path) -> Path:
    """The results root a path belongs to: an experiment folder's parent (it holds a
    ``manifest.yaml`` or ``runs.parquet``), else the path itself."""
    path = Path(path)
    if (path / "manifest.yaml").is_file() or (path / "runs.parquet").is_file():
        return path.parent
    return path


@contextlib.contextmanager
def locked_results(paths: Iterable[str | Path], *, wait: bool = True) -> Iterator[None]:
    """Hold the lock of the results root of every path (results roots or experiment folders) that
    exists, so ``report`` and ``plot`` never read or write beside a running sweep."""
    roots = sorted({results_root_of(path).resolve() for path in paths if Path(path).is_dir()})
    with contextlib.ExitStack() as stack:
        for root in roots:
            stack.enter_context(results_lock(root, wait=wait))
        yield


def _holder(root: Path) -> str:
    try:
        text = (root / HOLDER_NAME).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        text = ""
    return text or "another process (no holder recorded)"


def _write_holder(root: Path) -> None:
    command = " ".join(["veilperf", *sys.argv[1:]]) if sys.argv and sys.argv[0] else "veilperf"
    since = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    text = f"pid {os.getpid()} on {socket.gethostname()} since {since}: {command}\n"
    write_atomic(root / HOLDER_NAME, lambda tmp: tmp.write_text(text, encoding="utf-8"), "write the lock holder")


def _remove_holder(root: Path) -> None:
    with contextlib.suppress(OSError):
        (root / HOLDER_NAME).unlink()


@contextlib.contextmanager
def results_lock(root: str | Path, *, wait: bool = True,
                 say: Callable[[str], None] | None = None) -> Iterator[ResultsLock]:
    """Hold the exclusive lock of results root ``root`` (created if missing) for the block.

    Busy: with ``wait`` say who holds it (``say``, default stderr) and wait; else raise
    :class:`LockBusy` naming the holder. OS errors become one-line VeilperfErrors naming the path.
    """
    root = Path(root)
    key = Path(os.path.realpath(root))  # realpath: a symlink loop fails below as an OSError, not here
    if key in _held:
        lock, depth = _held[key]
        _held[key] = (lock, depth + 1)
        try:
            yield lock
        finally:
            _release_depth(key)
        return
    from filelock import FileLock

    check_root(root)
    created = not root.exists()
    _make_root(root)
    file_lock = FileLock(root / LOCK_NAME, timeout=0, fallback_to_soft=False)
    writable = _acquire(file_lock, root, wait, say)
    lock = ResultsLock(root, writable)
    _held[key] = (lock, 1)
    try:
        if writable:
            _write_holder(root)
        yield lock
    finally:
        _held.pop(key, None)
        if writable:
            _remove_holder(root)
            _release(file_lock, root, tidy=created)


def _make_root(root: Path) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        what = "a symlink that leads nowhere (a loop, or a missing target)" if root.is_symlink() else "a file"
        raise VeilperfError(f"{root}: results folder is {what}, not a folder") from None
    except OSError as exc:
        if not root.is_dir():  # an existing folder on a read-only file system is fine to read
            raise VeilperfError(f"{root}: cannot create the results folder: {exc.strerror or exc}") from None
    _probe(root)


def _probe(root: Path) -> None:
    """Create the lock file once by hand: a folder that takes no new file although it exists (a
    pseudo file system the mount table did not name) is one line, not a wait that never ends."""
    try:
        os.close(os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644))
    except FileNotFoundError:
        if root.is_dir():
            raise VeilperfError(f"{root}: not an ordinary folder (no file can be created in it); give a "
                                "results folder on a disk") from None
    except OSError:
        pass  # read-only or otherwise refused: the lock itself reports it (see _acquire)


def _release(file_lock, root: Path, tidy: bool) -> None:
    """Release; a root this command created and left empty is removed again (nothing written).
    A command waiting on the removed lock file creates the root anew (see :func:`_acquire`)."""
    empty = tidy and {p.name for p in root.iterdir()} <= {LOCK_NAME}
    if empty:
        with contextlib.suppress(OSError):
            (root / LOCK_NAME).unlink()
    file_lock.release()
    if empty:
        with contextlib.suppress(OSError):
            root.rmdir()


def _acquire(file_lock, root: Path, wait: bool, say: Callable[[str], None] | None) -> bool:
    """Take ``file_lock``; False when the root is read-only (nobody can write it through us)."""
    from filelock import Timeout

    waiting = False
    for _ in range(_RETRIES):
        try:
            try:
                file_lock.acquire(timeout=-1 if waiting else 0)
                return True
            except Timeout:
                holder = _holder(root)
                if not wait:
                    raise LockBusy(f"{root}: results folder in use by {holder}; "
                                   "wait for it, or run without --no-wait to queue behind it") from None
                (say or _stderr)(f"veilperf: waiting for {root}: in use by {holder}")
                waiting = True
                file_lock.acquire(timeout=-1)
                return True
        except FileNotFoundError:  # the holder removed the root it had created: create it again
            _make_root(root)
        except OSError as exc:
            if exc.errno in _READ_ONLY:
                return False
            raise VeilperfError(f"{exc.filename or root / LOCK_NAME}: cannot lock the results folder: "
                                f"{exc.strerror or exc}") from None
    raise VeilperfError(f"{root}: cannot lock the results folder: it keeps disappearing")


def _release_depth(key: Path) -> None:
    lock, depth = _held[key]
    if depth <= 1:
        _held.pop(key, None)
    else:
        _held[key] = (lock, depth - 1)


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
