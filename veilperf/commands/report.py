"""`veilperf report`: the reproduction report (claims vs simulated values) from stored results."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path



def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` sub-command."""
    parser = subparsers.add_parser("report", help="write the reproduction report from stored results")
    parser.add_argument("results", nargs="?", default="results", metavar="RESULTS_DIR",
                        help="results root or one experiment folder (default: results)")
    parser.add_argument("--out", default=None,
                        help="report file (default: RESULTS_DIR/REPORT.md); figures go beside it in figures/")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from veilperf.analysis import report  # matplotlib and pandas load only when reporting

    from veilperf.sweep.lock import locked_results

    out = Path(args.out) if args.out else Path(args.results) / "REPORT.md"
    with locked_results([args.results]):  # never beside a sweep writing these results
        written, notes = report([args.results], out)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    print(written[-1])
    return 0
