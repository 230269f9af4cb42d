"""``veilperf list workloads|platforms|experiments [--dir DIR] [--json]``: what veilperf ships (and
what a folder of yours holds), one line each."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import textwrap
from itertools import groupby
from pathlib import Path

MIN_TEXT_WIDTH = 24
"""Narrowest description column when wrapping to a terminal."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``list`` sub-command."""
    parser = subparsers.add_parser(
        "list", help="list the shipped workloads, platform profiles or experiments",
        description="List the workloads, platform profiles or experiments veilperf ships (and, with "
                    "--dir, those in your folders) with each file's one-line description. On a terminal "
                    "descriptions wrap to its width; piped, each file is one full line.")
    parser.add_argument("kind", choices=("workloads", "platforms", "experiments"), help="which files to list")
    parser.add_argument("--dir", dest="folders", action="append", default=[], metavar="DIR",
                        help="also list the YAML files of this kind in DIR (repeatable)")
    parser.add_argument("--json", action="store_true", help="print a JSON list of {name, description, file}")
    parser.set_defaults(handler=handle)


def _shown(path: str) -> str:
    """A path relative to the current folder when it is inside it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def _lines(entries: list, width: int | None) -> list[str]:
    """One line per entry (``name  description``, names aligned), under a line naming its folder;
    with ``width``, descriptions wrap under themselves instead of running past it."""
    name_width = max(len(entry.name) for entry in entries)
    lines: list[str] = []
    for folder, group in groupby(entries, key=lambda entry: os.path.dirname(_shown(entry.file)) or "."):
        lines.append(f"{folder}/")
        for entry in group:
            head = f"  {entry.name:<{name_width}}  "
            text = entry.description or "(no description)"
            if width is None:
                lines.append(head + text)
                continue
            wrapped = textwrap.wrap(text, max(MIN_TEXT_WIDTH, width - len(head)), break_on_hyphens=False,
                                    break_long_words=False) or [""]
            lines += [head + wrapped[0], *(" " * len(head) + rest for rest in wrapped[1:])]
    return lines


def handle(args: argparse.Namespace) -> int:
    """Print the listing (a file that is not readable YAML stops it with one line, exit 2)."""
    from veilperf.config.catalog import entries

    found = entries(args.kind, [Path(folder) for folder in args.folders])
    if args.json:
        print(json.dumps([{**entry.as_dict(), "file": _shown(entry.file)} for entry in found], indent=1))
    elif found:
        width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
        print("\n".join(_lines(found, width)))
    return 0
