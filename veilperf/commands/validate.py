"""`veilperf validate FILE...`: check experiments, platform profiles and workloads without running."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``validate`` sub-command."""
    parser = subparsers.add_parser(
        "validate",
        help="check experiment, platform and workload files without running them",
        description="Check each FILE (an experiment, a platform profile or a workload) and print "
                    "one OK line per file; stop at the first bad file with its error (exit 2).",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="YAML files to check")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a value in experiments (value parsed as YAML); repeatable")
    parser.add_argument("--platform", metavar="PROFILE",
                        help="platform profile whose clock converts cycles in workloads checked alone "
                             "(default: the first profile among FILE)")
    parser.add_argument("--force-large", action="store_true",
                        help="accept points and sweeps above the size budgets (as `veilperf sweep --force-large`)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Check the files in order; a ConfigError propagates to the CLI (one line, exit 2)."""
    from veilperf.config.checks import check_files  # not loaded by other commands

    for file, summary in check_files(args.files, args.overrides, args.platform, force_large=args.force_large):
        print(f"OK {file}: {summary}")
    return 0
