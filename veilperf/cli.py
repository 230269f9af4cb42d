"""`veilperf` command line: argument handling only; each command lives in veilperf/commands/."""

from __future__ import annotations

import argparse
import importlib
import sys

from veilperf import __version__
from veilperf.errors import VeilperfError

COMMANDS = ("run", "validate", "sweep", "collect", "workload", "plot", "report", "sensitivity", "schema")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per command module."""
    parser = argparse.ArgumentParser(
        prog="veilperf",
        description="Discrete-event performance simulator of Veil on AMD SEV-SNP confidential VMs.",
    )
    parser.add_argument("--version", action="version", version=f"veilperf {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"veilperf.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, dispatch, and turn VeilperfError into one line on stderr and exit 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except VeilperfError as exc:
        print(f"veilperf: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("veilperf: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
