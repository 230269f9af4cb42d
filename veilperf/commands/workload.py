"""`veilperf workload record -- CMD...`, `veilperf workload import TRACE...` and
`veilperf workload show FILE`."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from pathlib import Path

from typing import TYPE_CHECKING

from veilperf.errors import ConfigError, VeilperfError
from veilperf.sweep.paths import refuse_inputs
from veilperf.units import UnitError, format_duration, parse_duration

if TYPE_CHECKING:
    from veilperf.trace.importer import ImportResult


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``workload`` sub-command with ``import`` and ``show``."""
    parser = subparsers.add_parser("workload", help="record a program or import an strace trace as a "
                                                    "workload, or show one",
                                   description="Build workloads from system-call traces and inspect them.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    rec = actions.add_parser(
        "record", help="run a command natively and under strace, and write its workload",
        description="Run CMD natively --runs times (the first a discarded warm-up) for its median wall, "
                    "user and system time and peak RSS, then once under `strace -f -tt -T`; import the "
                    "trace anchored to the measured times and write the workload (with the measured "
                    "native time and footprint) and its compressed trace beside it, traces/STEM.strace.gz "
                    "(STEM: the workload file's name without .yaml; STEM-2, -3, ... when that file "
                    "exists and is not this workload's own trace: a trace is never overwritten for "
                    "another workload).")
    rec.add_argument("--runs", type=int, default=5, metavar="N",
                     help="native runs, the first a warm-up (default 5; at least 2)")
    rec.add_argument("--out", metavar="FILE", help="workload file to write (default: NAME.yaml)")
    rec.add_argument("--name", help="workload name (default: the command's base name)")
    rec.add_argument("--mode", choices=("replay", "sample"), default="sample",
                     help="replay the traced sequence exactly, or sample a fitted mix (default)")
    rec.add_argument("--description")
    rec.add_argument("--input", help="the program's input, for provenance")
    rec.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD ARGS...")
    rec.set_defaults(handler=run_record)

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
    show.add_argument("--json", action="store_true",
                      help="print the summary as JSON (ns, bytes, per-second rates; every system call)")
    show.set_defaults(handler=run_show)


def _duration_option(text: str | None, option: str) -> float | None:
    if text is None:
        return None
    try:
        return parse_duration(text)
    except UnitError as exc:
        raise ConfigError("<command line>", option, str(exc)) from None


def _report(result: ImportResult, mode: str, out: str | None) -> None:
    """Warnings, the blind estimate if any, and a one-line account, on stderr."""
    for warning in result.warnings:
        print(f"veilperf: warning: {warning}", file=sys.stderr)
    if result.blind is not None:
        b = result.blind
        print(f"veilperf: estimated native run time {format_duration(b.wall_ns)} (range "
              f"{format_duration(b.low_ns)} to {format_duration(b.high_ns)}), from the trace alone; "
              "record the program (veilperf workload record) for precision", file=sys.stderr)
    print(f"veilperf: imported {mode}: expected run time {format_duration(result.expected_run_ns)} "
          f"(its longest thread, as `workload show` says; traced span {format_duration(result.traced_span_ns)}, "
          f"strace overhead removed {format_duration(result.correction_ns)})" + (f" -> {out}" if out else ""),
          file=sys.stderr)


def run_import(args: argparse.Namespace) -> int:
    """Import, print warnings and a one-line account to stderr, write the YAML."""
    from veilperf.trace.importer import ImportOptions, import_trace  # not loaded by other commands
    from veilperf.trace.yaml_out import check_out, dump, write_atomic

    if args.out:
        check_out(args.out)
        refuse_inputs([args.out], args.traces)
    if args.length is not None and args.length < 1:
        raise ConfigError("<command line>", "--length", "must be at least 1")
    if args.wall_time is not None and args.strace_overhead is not None:
        raise ConfigError("<command line>", "--strace-overhead", "give --wall-time or --strace-overhead, not both")
    options = ImportOptions(mode=args.mode, name=args.name, description=args.description,
                            command=args.command, machine=args.machine, date=args.date,
                            input=args.input, wall_time_ns=_duration_option(args.wall_time, "--wall-time"),
                            overhead_ns=_duration_option(args.strace_overhead, "--strace-overhead"),
                            user_ns=_duration_option(args.user_time, "--user-time"),
                            length=args.length, coalesce=args.coalesce)
    result = import_trace(args.traces, options)
    if args.out:  # provenance.trace relative to the workload file, as `record` writes it (validate checks it)
        folder = Path(args.out).parent
        result.workload["provenance"]["trace"] = " ".join(os.path.relpath(f, folder) for f in result.trace_files)
    text = dump(result.workload, encoding="utf-8" if args.out else (sys.stdout.encoding or "utf-8"))
    if args.out:
        write_atomic(args.out, text)
    else:
        sys.stdout.write(text)
    _report(result, args.mode, args.out)
    return 0


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def run_record(args: argparse.Namespace) -> int:
    """Check the arguments and output paths, record, then write the trace and the workload."""
    from veilperf.trace.record import find_strace, record, trace_path_for  # only this action runs programs
    from veilperf.trace.yaml_out import check_out, dump, write_atomic

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise ConfigError("<command line>", "CMD", "give the command to record after `--` "
                          "(e.g. veilperf workload record -- gzip -k big.txt)")
    if args.runs < 2:
        raise ConfigError("<command line>", "--runs", "at least 2 (the first run is a discarded warm-up)")
    name = args.name or Path(command[0]).name
    if not _NAME.match(name):
        raise ConfigError("<command line>", "--name", f"{name!r}: use letters, digits, '.', '_' and '-'")
    out = check_out(args.out or f"{name}.yaml")
    traces = out.parent / "traces"
    trace_path = trace_path_for(out)
    if traces.exists() and not traces.is_dir():
        raise VeilperfError(f"{traces}: exists and is not a folder; the trace goes there")
    if traces.is_dir():
        check_out(trace_path, "trace")
    refuse_inputs([out, trace_path], _command_files(command))
    find_strace()
    recording = record(command, args.runs, name, os.path.relpath(trace_path, out.parent), args.mode,
                       args.description, args.input)
    text = dump(recording.result.workload)
    traces.mkdir(exist_ok=True)
    write_atomic(trace_path, recording.trace_gz)
    write_atomic(out, text)
    _report(recording.result, args.mode, str(out))
    taken = "" if trace_path.name == f"{out.stem}.strace.gz" else \
        f" (traces/{out.stem}.strace.gz belongs to another workload or was not written for this one)"
    print(f"veilperf: trace -> {trace_path}{taken}", file=sys.stderr)
    return 0


def _command_files(command: list[str]) -> list[Path]:
    """The program and every argument naming an existing file: what the recorded command reads."""
    program = shutil.which(command[0])
    return [Path(p) for p in [program, *command[1:]] if p and Path(p).exists()]


PIPED_WIDTH = 1000
"""Console width when standard output is not a terminal: values are printed whole, never cut."""


def run_show(args: argparse.Namespace) -> int:
    """Print the summary of one workload file (a table, or JSON with ``--json``)."""
    from veilperf.trace.show import load_workload, render, summarize, summary_json

    spec = load_workload(args.file)
    summary = summarize(spec)
    if args.json:
        import json

        print(json.dumps(summary_json(summary, spec), indent=2))
        return 0
    from rich.console import Console  # not loaded by other commands

    render(summary, Console() if sys.stdout.isatty() else Console(width=PIPED_WIDTH), spec)
    return 0
