"""`veilperf workload import TRACE...` and `veilperf workload show FILE`."""

from __future__ import annotations

import argparse
import sys

from veilperf.errors import ConfigError
from veilperf.units import UnitError, format_duration, parse_duration


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``workload`` sub-command with ``import`` and ``show``."""
    parser = subparsers.add_parser("workload", help="import a workload from an strace trace, or show one",
                                   description="Build workloads from system-call traces and inspect them.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    imp = actions.add_parser(
        "import", help="turn an strace trace into a workload file",
        description="Read `strace -f -tt -T` output (one file, or the -ff files of one run; .gz "
                    "accepted) or one `strace -c` table, remove strace's overhead, and write a "
                    "workload: an exact replay per thread or a fitted, sampled mix.")
    imp.add_argument("traces", nargs="+", metavar="TRACE")
    imp.add_argument("--mode", choices=("replay", "sample"), default="sample",
                     help="replay the traced sequence exactly, or sample a fitted mix (default)")
    imp.add_argument("--name", help="workload name (default: the trace file's stem)")
    imp.add_argument("--description")
    imp.add_argument("--out", metavar="FILE", help="write here (atomically) instead of stdout")
    imp.add_argument("--command", help="the traced command line, for provenance")
    imp.add_argument("--machine", help="the machine it ran on, for provenance")
    imp.add_argument("--input", help="the program's input, for provenance")
    imp.add_argument("--date", help="when it was traced (default: the trace file's date)")
    imp.add_argument("--wall-time", metavar="DURATION",
                     help="untraced wall time of the same run (e.g. 1.23s); gives the strace "
                          "overhead; without it, it is estimated from the trace alone")
    imp.add_argument("--strace-overhead", metavar="DURATION",
                     help="total time strace added, measured another way (e.g. a server's load "
                          "phase traced minus untraced); instead of --wall-time")
    imp.add_argument("--user-time", metavar="DURATION",
                     help="untraced user CPU time (e.g. from /usr/bin/time): the compute total; "
                          "kernel times get the rest of the corrected time")
    imp.add_argument("--length", type=int, metavar="N",
                     help="sample mode: iterations per thread (default: traced calls per thread)")
    imp.add_argument("--coalesce", action="store_true",
                     help="replay mode: merge runs of identical calls into one step with repeat")
    imp.set_defaults(handler=run_import)

    show = actions.add_parser("show", help="syscall rate, bytes/s, kernel CPU, blocked and compute time, "
                                            "top system calls",
                              description="Summarise a workload file from its expected values.")
    show.add_argument("file", metavar="FILE")
    show.set_defaults(handler=run_show)


def _duration_option(text: str | None, option: str) -> float | None:
    if text is None:
        return None
    try:
        return parse_duration(text)
    except UnitError as exc:
        raise ConfigError("<command line>", option, str(exc)) from None


def run_import(args: argparse.Namespace) -> int:
    """Import, print warnings and a one-line account to stderr, write the YAML."""
    if args.length is not None and args.length < 1:
        raise ConfigError("<command line>", "--length", "must be at least 1")
    if args.wall_time is not None and args.strace_overhead is not None:
        raise ConfigError("<command line>", "--strace-overhead", "give --wall-time or --strace-overhead, not both")
    from veilperf.trace.importer import ImportOptions, import_trace  # not loaded by other commands
    from veilperf.trace.yaml_out import dump, write_atomic

    options = ImportOptions(mode=args.mode, name=args.name, description=args.description,
                            command=args.command, machine=args.machine, date=args.date,
                            input=args.input, wall_time_ns=_duration_option(args.wall_time, "--wall-time"),
                            overhead_ns=_duration_option(args.strace_overhead, "--strace-overhead"),
                            user_ns=_duration_option(args.user_time, "--user-time"),
                            length=args.length, coalesce=args.coalesce)
    result = import_trace(args.traces, options)
    for warning in result.warnings:
        print(f"veilperf: warning: {warning}", file=sys.stderr)
    text = dump(result.workload)
    if args.out:
        write_atomic(args.out, text)
    else:
        sys.stdout.write(text)
    print(f"veilperf: imported {args.mode}: expected total {format_duration(result.expected_total_ns)} "
          f"(traced span {format_duration(result.traced_span_ns)}, strace overhead removed "
          f"{format_duration(result.correction_ns)})" + (f" -> {args.out}" if args.out else ""),
          file=sys.stderr)
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print the summary of one workload file."""
    from rich.console import Console  # not loaded by other commands

    from veilperf.trace.show import load_workload, render, summarize

    render(summarize(load_workload(args.file)), Console())
    return 0
