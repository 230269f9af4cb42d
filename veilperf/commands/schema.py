"""``veilperf schema experiment|workload [--out FILE]``: JSON Schema of a file kind, for YAML editors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from veilperf.errors import VeilperfError
from veilperf.files import NotRegularFile, open_regular
from veilperf.sweep.paths import write_atomic

KINDS = ("experiment", "workload")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``schema`` sub-command."""
    parser = subparsers.add_parser(
        "schema", help="print the JSON Schema of experiment or workload files (for YAML editors)",
        description="Print (or write with --out) the JSON Schema of an experiment or workload file, "
                    "generated from veilperf's own models. Point your editor at it, e.g. the first line "
                    "'# yaml-language-server: $schema=experiment.schema.json'.")
    parser.add_argument("kind", choices=KINDS, help="which file kind")
    parser.add_argument("--out", metavar="FILE", help="write the schema to FILE instead of printing it")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from veilperf.config.json_schema import json_schema

    text = json.dumps(json_schema(args.kind), indent=2) + "\n"
    if args.out:
        out = Path(args.out)
        _refuse_other_file(out)
        write_atomic(out, lambda tmp: tmp.write_text(text, encoding="utf-8"), "write the schema")
        print(f"wrote {out}")
    else:
        print(text, end="")
    return 0


def _refuse_other_file(out: Path) -> None:
    """An existing ``out`` is replaced only if it is a JSON Schema (one veilperf wrote, most likely),
    never an experiment, a workload or any other file of the user's."""
    if not out.exists() or out.is_dir():
        return  # a folder fails on writing, with the OS's reason
    try:
        with open_regular(out) as existing:  # a FIFO or device is refused, never read or replaced
            schema = json.loads(existing.read(10_000_000))
    except NotRegularFile as error:
        raise VeilperfError(f"--out {out}: is {error.kind}, not a regular file; refusing to replace it") from None
    except (OSError, ValueError):
        schema = None
    if not (isinstance(schema, dict) and "$schema" in schema):
        raise VeilperfError(f"--out {out}: exists and is not a JSON Schema; refusing to replace it (choose another "
                            "file, or delete it first)")
