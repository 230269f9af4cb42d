"""`veilperf` command line: argument handling only; each command lives in veilperf/commands/.

Every failure reaches the user as one line on stderr, never a traceback: bad input and OS errors
(naming the path and the cause) exit 2; Ctrl-C, SIGTERM and SIGHUP stop the workers and exit 130,
143 and 129 saying what is saved (:mod:`veilperf.interrupts`); a closed standard output
(``veilperf ... | head -1``) ends the command quietly with 141, as SIGPIPE would. Arguments that
are not UTF-8 are refused (paths and values end up in YAML and Parquet, which hold only UTF-8), and
text standard output never fails on a character its encoding lacks (``PYTHONIOENCODING=ascii``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from typing import NoReturn

from veilperf import __version__
from veilperf.encoding import is_utf8, shown
from veilperf.errors import VeilperfError
from veilperf.interrupts import signal_exit_code, signal_word, termination_as_interrupt
from veilperf.sweep.paths import os_error_line

COMMANDS = ("run", "validate", "sweep", "compare", "collect", "workload", "plot", "report", "sensitivity", "schema",
            "list")
EXIT_BAD_INPUT = 2
EXIT_BROKEN_PIPE = 141
MAX_ERROR_CHARS = 1000
"""An error line longer than this is cut (a library may list thousands of items in one message)."""


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
    argv = sys.argv[1:] if argv is None else list(argv)
    _tolerant_output()
    with termination_as_interrupt():  # SIGTERM and SIGHUP stop the command as Ctrl-C does
        try:
            return _dispatch(argv)
        except KeyboardInterrupt as exc:
            _say(f"veilperf: {exc}" if str(exc) else f"veilperf: {signal_word(exc)}")
            return signal_exit_code(exc)


def _dispatch(argv: list[str]) -> int:
    for number, arg in enumerate(argv, start=1):
        if not is_utf8(arg):
            return _fail(f"argument {number} ({shown(arg)}) is not UTF-8 text: veilperf stores paths "
                         "and values in UTF-8 files; rename the file or folder")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad command line (already reported)
        return int(exc.code or 0)
    try:
        code = int(args.handler(args) or 0)
        _flush_stdout()  # a full or failing standard output is reported here, not at exit
        return code
    except VeilperfError as exc:
        return _fail(str(exc))
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except _StdoutError as exc:
        _silence_stdout()
        return _fail(f"<standard output>: {os_error_line(exc)}")
    except OSError as exc:  # results, report, figures, --out, standard output: the path and the cause
        if exc.filename is None and _stdout_fails():
            return _fail(f"<standard output>: {os_error_line(exc)}")
        return _fail(os_error_line(exc))


def _fail(message: str) -> int:
    one_line = " ".join(message.split())  # a library message (pyarrow's, say) may span lines
    if len(one_line) > MAX_ERROR_CHARS:
        one_line = one_line[:MAX_ERROR_CHARS - 40] + f" ... ({len(one_line):,} characters in all)"
    _say(f"veilperf: error: {one_line}")
    return EXIT_BAD_INPUT


def _say(line: str) -> None:
    """One line on stderr; a closed or broken stderr (a hung-up terminal) is not an error."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


class _StdoutError(OSError):
    """Writing standard output failed (it names no file)."""


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise _StdoutError(exc.errno, exc.strerror) from None


def _stdout_fails() -> bool:
    """Whether standard output cannot be written (``> /dev/full``: even an empty write fails); then
    it is silenced so that the interpreter's last flush does not fail again."""
    try:
        os.write(sys.stdout.fileno(), b"")
    except OSError:
        _silence_stdout()
        return True
    except (ValueError, AttributeError):  # stdout replaced by something without a descriptor (tests)
        return False
    return False


def _tolerant_output() -> None:
    """Let text output show characters its encoding lacks as escapes (``PYTHONIOENCODING=ascii``)
    rather than fail on them; machine-read output (YAML, JSON) is written encodable by its writer."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", None) == "strict":
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="backslashreplace")


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
