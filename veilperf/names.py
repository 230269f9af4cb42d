"""The safe-name rule shared by the config layer (experiment names) and the path policy (names read
back from results files): one definition, importable by both without an import circle."""

from __future__ import annotations

import re

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
"""A safe slug: a folder or file name that cannot escape or hide (experiment names, names read from
files). 1-64 letters, digits, ``_``, ``-``, ``.``, starting with a letter or digit."""
