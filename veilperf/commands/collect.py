"""``veilperf collect DIR...``: merge the results of sharded sweeps."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "collect", help="merge results of `veilperf sweep --shard K/N` runs",
        description="Merge runs.parquet and unfinished part files from result directories (experiment "
                    "directories or results roots) into <results>/<experiment>/runs.parquet.")
    parser.add_argument("dirs", nargs="+", metavar="DIR", help="results directories written by shards")
    parser.add_argument("--results", default="results", metavar="DIR",
                        help="where merged results go (default: results/); replaced, so list it among DIR to keep it")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from veilperf.sweep.collect import collect

    incomplete = 0
    for summary in collect(args.dirs, args.results):
        expected = f"/{summary.expected}" if summary.expected is not None else ""
        print(f"{summary.experiment}: {summary.rows}{expected} points from {summary.sources} "
              f"director{'y' if summary.sources == 1 else 'ies'} -> {summary.directory}/runs.parquet")
        incomplete += summary.expected is not None and summary.rows < summary.expected
    return 1 if incomplete else 0
