"""`veilperf report`: the reproduction report (claims vs simulated values), its figures and
``overheads.csv`` from stored results; current figures are reused, a current report is kept."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` sub-command."""
    parser = subparsers.add_parser(
        "report", help="write the reproduction report, overheads.csv and any stale figure from stored results")
    parser.add_argument("results", nargs="?", default="results", metavar="RESULTS_DIR",
                        help="results root or one experiment folder (default: results)")
    parser.add_argument("--out", default=None,
                        help="report file (default: RESULTS_DIR/REPORT.md); figures go beside it in figures/, "
                             "the overhead of every point in overheads.csv")
    parser.add_argument("--force", action="store_true", help="rewrite the report even if it is current")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from veilperf.analysis.report.outputs import write_report  # matplotlib and pandas load only when needed

    from veilperf.sweep.lock import locked_results

    out = Path(args.out) if args.out else Path(args.results) / "REPORT.md"
    with locked_results([args.results]):  # never beside a sweep writing these results
        outcome = write_report([args.results], out, force=args.force)
    for note in [*outcome.rendered.warnings, *(n for notes in outcome.rendered.notes.values() for n in notes)]:
        print(f"note: {note}", file=sys.stderr)
    state = "written" if outcome.rebuilt else "up to date"
    print(f"{out} ({state}; figures: {outcome.rendered.drawn} drawn, {outcome.rendered.reused} reused; "
          f"{out.parent / 'overheads.csv'})")
    return 0
