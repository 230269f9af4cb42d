"""`veilperf plot`: draw every figure from stored results (current figures are kept)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from veilperf.analysis.figures.formats import FORMATS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``plot`` sub-command."""
    parser = subparsers.add_parser("plot", help="draw every figure from stored results (nothing is simulated)")
    parser.add_argument("results", nargs="*", default=["results"], metavar="RESULTS",
                        help="results root or experiment folders (default: results)")
    parser.add_argument("--out", help="folder for the figures (default: figures/ in the first RESULTS, where "
                        "`veilperf report` looks for them)")
    parser.add_argument("--format", default="png", choices=FORMATS, help="file format (default: png)")
    parser.add_argument("--force", action="store_true",
                        help="redraw every figure, also those drawn from the current results")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from veilperf.analysis import plot  # matplotlib and pandas load only when plotting

    from veilperf.sweep.lock import locked_results

    with locked_results(args.results):  # never beside a sweep writing these results
        out = args.out or Path(args.results[0]) / "figures"
        written, notes = plot(args.results, out, args.format, force=args.force)
    for path in written:
        print(path)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return 0
