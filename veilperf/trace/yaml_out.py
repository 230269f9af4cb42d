"""Write generated workload YAML compactly (one line per step, samples inline) and atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml

from veilperf.errors import VeilperfError


class Flow(dict):
    """A mapping written on one line: ``{name: read, kernel: 1.2us}``."""


class FlowList(list):
    """A list written on one line: ``[1us, 2us]``."""


class _Dumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(Flow, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items(),
                                                               flow_style=True))
_Dumper.add_representer(FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v,
                                                                    flow_style=True))
_Dumper.add_representer(str, _text)


def dump(data: dict, *, encoding: str = "utf-8") -> str:
    """YAML text for ``data``, keys in insertion order, encodable in ``encoding`` (characters it
    lacks are written as YAML escapes, e.g. for an ASCII standard output)."""
    def text(unicode: bool) -> str:
        return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100,
                         allow_unicode=unicode)

    readable = text(True)
    try:
        readable.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return text(False)
    return readable


def check_out(path: str | Path, option: str = "--out") -> Path:
    """``path`` as a Path if a file can be written there, else one line saying why (before any work)."""
    path = Path(path)
    if path.is_dir():
        raise VeilperfError(f"{option} {path}: Is a directory (give a file name, e.g. {path / 'workload.yaml'})")
    folder = path.parent
    if not folder.is_dir():
        raise VeilperfError(f"{option} {path}: No such file or directory (folder {folder} does not exist)")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise VeilperfError(f"{option} {path}: Permission denied (cannot write there)")
    return path


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and os.replace; an
    OS error is one line naming the path, and leaves nothing behind."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise VeilperfError(f"{path}: cannot write: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb" if isinstance(data, bytes) else "w") as out:
            out.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file ordinary permissions
        os.replace(tmp, path)
    except BaseException as exc:
        os.unlink(tmp)
        if isinstance(exc, OSError):
            raise VeilperfError(f"{path}: cannot write: {exc.strerror}") from None
        raise
