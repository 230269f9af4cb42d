"""Errors that reach the user as one clear line."""

from __future__ import annotations

from pathlib import Path


class VeilperfError(Exception):
    """Base class for errors the CLI reports without a traceback (exit code 2)."""


class ConfigError(VeilperfError):
    """Bad input: names the file, the key path inside it, and what is wrong."""

    def __init__(self, file: str | Path, key_path: str, message: str) -> None:
        self.file = str(file)
        self.key_path = key_path
        self.message = message
        super().__init__(f"{self.file}: {key_path or '<top level>'}: {message}")

    def __reduce__(self):
        # Rebuilt as a plain ConfigError from its three parts (subclasses build their key path
        # differently), so the error and its message survive pickling across worker processes.
        return (ConfigError, (self.file, self.key_path, self.message))
