"""``veilperf collect DIR...``: merge the results of sharded sweeps."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "collect", help="merge results of `veilperf sweep --shard K/N` runs",
        description="Merge runs.parquet and part files from result directories (experiment directories "
                    "or results roots) into <results>/<experiment>/runs.parquet. Exit status: 0 complete, "
                    "1 points missing (shards not collected), 2 bad input.")
    parser.add_argument("dirs", nargs="+", metavar="DIR", help="results directories written by shards")
    parser.add_argument("--results", default="results", metavar="DIR",
                        help="where merged results go (default: results/); replaced, so list it among DIR to keep "
                             "it (points it held that no DIR has are moved to <experiment>/superseded/)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from veilperf.sweep.collect import collect
    from veilperf.sweep.supersede import KEPT_NOTE

    incomplete = False
    for summary in collect(args.dirs, args.results):
        missing = (summary.expected or 0) - summary.rows
        note = f" (incomplete: {missing} points missing, collect the other shards too)" if missing > 0 else ""
        print(f"{summary.experiment}: {summary.rows} points from {summary.sources} "
              f"director{'y' if summary.sources == 1 else 'ies'} -> {summary.directory}/runs.parquet{note}")
        if summary.superseded:
            print(f"  note: {summary.superseded} point{'s' * (summary.superseded != 1)} stored there before and in "
                  f"none of the sources moved to {summary.superseded_path} ({KEPT_NOTE})")
        incomplete = incomplete or missing > 0
    return 1 if incomplete else 0
