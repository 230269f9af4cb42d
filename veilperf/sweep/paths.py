"""The one path policy for every file veilperf writes or deletes, and OS errors on them as one line.

- A **results root** (``--results``) is an ordinary folder, existing or creatable: not a file, not
  on a pseudo file system (``/proc``, ``/sys``, ``/dev``, ...): :func:`check_root`.
- Every path written or deleted under a root (or a user's ``--out`` folder) is resolved and must
  lie inside it, so a symlink leading out of it is refused: :func:`inside`.
- A name read from a file (a manifest's ``experiment``, a figure index entry) is used as a path
  component only if it is a safe slug (:func:`safe_name`) or, for a file listed in veilperf's own
  index, a plain visible file name (:func:`plain_name`).
- veilperf deletes only what it wrote: a file named by its own index or naming scheme, checked as
  above, a regular file (never a symlink or a folder), and, where the file can say so, carrying
  veilperf's mark (:func:`remove_owned`); leftover temporaries only under the names veilperf gives
  them (:func:`remove_leftovers`).
- No command writes over one of its inputs (:func:`refuse_inputs`).
- Writes go to a hidden temporary sibling renamed into place (:func:`write_atomic`).
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from pathlib import Path
from typing import Callable, Iterable, Iterator

from veilperf.errors import VeilperfError
from veilperf.names import SAFE_NAME

__all__ = ["ResultsIOError", "results_io", "inside", "os_error_line", "remove_quietly", "write_atomic",
           "SAFE_NAME", "safe_name", "plain_name", "check_root", "remove_owned", "remove_leftovers",
           "refuse_inputs", "temporary_of", "file_system_of", "PSEUDO_FILE_SYSTEMS"]


PSEUDO_FILE_SYSTEMS = frozenset({
    "proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "debugfs", "tracefs", "securityfs", "pstore",
    "bpf", "configfs", "fusectl", "mqueue", "binfmt_misc", "autofs", "efivarfs", "hugetlbfs", "rpc_pipefs",
    "nsfs", "selinuxfs"})
"""File systems that are views of the kernel or devices, not storage: never a results root."""


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
    """``path``, after checking that it resolves inside ``root`` (ResultsIOError otherwise): every
    symlink on the way is followed, so one leading out of ``root`` is refused."""
    resolved_root = Path(os.path.realpath(root))
    resolved = Path(os.path.realpath(path))
    if resolved != resolved_root and resolved_root not in resolved.parents:
        raise ResultsIOError(f"{path}: refusing to write outside the results folder {root} "
                             f"(it leads to {resolved})")
    return Path(path)


def safe_name(name: object, where: str | Path, key: str = "experiment") -> str:
    """``name``, read from file ``where`` under ``key``, if it is a safe slug (:data:`SAFE_NAME`);
    else ResultsIOError: such a name never becomes a path."""
    if isinstance(name, str) and SAFE_NAME.fullmatch(name):
        return name
    shown = repr(name) if len(repr(name)) <= 60 else repr(name)[:57] + "..."
    raise ResultsIOError(f"{where}: {key}: {shown} is not a safe name (1-64 letters, digits, '_', '-' or '.', "
                         "starting with a letter or digit); refusing to use it as a path")


def plain_name(name: object, suffix: str = "") -> bool:
    """Whether ``name`` is one visible file name (no folder part, not hidden, no NUL) ending in
    ``suffix``: what an entry of veilperf's own index must be before it is used as a path."""
    return (isinstance(name, str) and bool(name) and name == os.path.basename(name) and "\\" not in name
            and not name.startswith(".") and "\0" not in name and name.endswith(suffix) and len(name) <= 255)


def _mounts() -> list[tuple[str, str]]:
    """(mount point, file-system type) of every mount, longest mount point first ([] off Linux)."""
    try:
        lines = Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    mounts = []
    for line in lines:
        fields = line.split()
        if "-" in fields[6:]:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            mounts.append((point, fields[fields.index("-", 6) + 1]))
    return sorted(mounts, key=lambda m: -len(m[0]))


def file_system_of(path: str | Path) -> str | None:
    """The type of the file system ``path`` (resolved) lies on, or None when it cannot be told."""
    resolved = os.path.realpath(path)
    for point, kind in _mounts():
        if resolved == point or resolved.startswith(point.rstrip("/") + "/"):
            return kind
    return None


def check_root(root: str | Path) -> Path:
    """``root`` if it can be a results root: an existing folder or a path that can become one, on
    a file system that stores files; ResultsIOError in one line otherwise."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise ResultsIOError(f"{root}: results folder is a file, not a folder")
    kind = file_system_of(root)
    if kind in PSEUDO_FILE_SYSTEMS:
        raise ResultsIOError(f"{root}: not an ordinary folder (it is on a {kind} file system, a view of "
                             "the kernel, not storage); give a results folder on a disk")
    return root


def temporary_of(path: str | Path) -> Path:
    """The hidden temporary sibling a file is written to before it is renamed into place."""
    path = Path(path)
    return path.with_name(f".{path.name}.tmp")


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def remove_owned(folder: str | Path, name: str, mark: Callable[[Path], bool] | None = None) -> bool:
    """Delete ``folder/name`` if veilperf can own it: ``name`` a plain file name, the path inside
    ``folder``, a regular file (not a symlink), and, with ``mark``, ``mark(path)`` true (the file
    says veilperf wrote it). Returns whether it was deleted; anything else is left alone."""
    if not plain_name(name):
        return False
    path = Path(folder) / name
    try:
        inside(folder, path)
    except ResultsIOError:
        return False
    if not _regular(path) or (mark is not None and not mark(path)):
        return False
    with results_io(path, "delete an old output"):
        path.unlink(missing_ok=True)
    return True


def remove_leftovers(folder: str | Path, names: re.Pattern[str]) -> list[Path]:
    """Delete the temporaries (:func:`temporary_of`) that a killed run left in ``folder`` for files
    whose names fullmatch ``names``: regular files under exactly the names veilperf gives them,
    nothing else. Returns the files deleted."""
    folder = Path(folder)
    removed = []
    for tmp in folder.glob(".*.tmp"):
        if names.fullmatch(tmp.name[1:-4]) and _regular(tmp):
            inside(folder, tmp)
            with results_io(tmp, "delete a temporary file left by an interrupted run"):
                tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def refuse_inputs(outputs: Iterable[str | Path], inputs: Iterable[str | Path], option: str = "--out") -> None:
    """VeilperfError when an output resolves to one of the inputs, or lies inside an input that is a
    folder (a folder of trace files, a source of ``collect``): no command writes over, or into,
    what it reads. ``option`` names where the output comes from ("" for a file the command names)."""
    inputs = [Path(i) for i in inputs]
    for out in outputs:
        out = Path(out)
        where, label = Path(os.path.realpath(out)), f"{option} {out}".strip()
        for source in inputs:
            if _same(out, source):
                raise VeilperfError(f"{label}: is the input {source}; refusing to write over what this command "
                                    "reads (choose another path)")
            if source.is_dir() and Path(os.path.realpath(source)) in where.parents:
                raise VeilperfError(f"{label}: inside the input folder {source}; refusing to write into what this "
                                    "command reads (choose another path)")


def remove_quietly(path: Path) -> None:
    """Delete ``path`` if it exists (a temporary file after a failed write)."""
    with contextlib.suppress(OSError):
        path.unlink()


def write_atomic(path: Path, write: Callable[[Path], object], what: str = "write") -> Path:
    """Call ``write(temporary)`` on a hidden sibling of ``path``, then rename it over ``path``: the
    file is whole or absent, never half-written. OS errors become a :class:`ResultsIOError` naming
    ``path``; the temporary file is removed on any failure (including Ctrl-C). A killed run's leftover
    temporary is simply replaced."""
    tmp = temporary_of(path)
    if tmp.is_symlink():  # never write through a link left under veilperf's temporary name
        remove_quietly(tmp)
    try:
        with results_io(path, what):
            write(tmp)
            tmp.replace(path)
    except BaseException:
        remove_quietly(tmp)
        raise
    return path
