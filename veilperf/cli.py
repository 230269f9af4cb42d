"""`veilperf` command line: argument handling only; each command lives in veilperf/commands/.

Every failure reaches the user as one line on stderr, never a traceback: bad input and OS errors
(naming the path and the cause) exit 2, Ctrl-C exits 130 saying what is saved, and a closed
standard output (``veilperf ... | head -1``) ends the command quietly with 141, as SIGPIPE would.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import NoReturn

from veilperf import __version__
from veilperf.errors import VeilperfError
from veilperf.sweep.paths import os_error_line

COMMANDS = ("run", "validate", "sweep", "collect", "workload", "plot", "report", "sensitivity", "schema", "list")
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


class _Parser(argparse.ArgumentParser):
    """Reports a bad command line in one line (the usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per command module."""
    parser = _Parser(
        prog="veilperf",
        description="Discrete-event performance simulator of Veil on AMD SEV-SNP confidential VMs.",
    )
    parser.add_argument("--version", action="version", version=f"veilperf {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"veilperf.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, dispatch, and turn every expected failure into one line on stderr."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad command line (already reported)
        return int(exc.code or 0)
    try:
        return int(args.handler(args) or 0)
    except VeilperfError as exc:
        return _fail(str(exc))
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:  # results, report, figures, --out: the path and the cause
        return _fail(os_error_line(exc))
    except KeyboardInterrupt as exc:
        print(f"veilperf: {exc}" if str(exc) else "veilperf: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _fail(message: str) -> int:
    one_line = " ".join(message.split())  # a library message (pyarrow's, say) may span lines
    print(f"veilperf: error: {one_line}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not complain again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout replaced by something without a file descriptor (tests)
        pass


if __name__ == "__main__":
    sys.exit(main())
