"""`veilperf run EXPERIMENT.yaml`: simulate one point and print its record."""

from __future__ import annotations

import argparse
import json

from veilperf.config.loader import load_run_config
from veilperf.present import print_record
from veilperf.run import run_config


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``run`` sub-command."""
    parser = subparsers.add_parser(
        "run",
        help="simulate one point of an experiment and print its metrics",
        description="Simulate one point of EXPERIMENT (its first workload, or --workload N; no "
                    "sweep axes) and print a table of its metrics, or the record as JSON.",
    )
    parser.add_argument("experiment", metavar="EXPERIMENT.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a value (value parsed as YAML); repeatable")
    parser.add_argument("--seed", type=int, help="root seed (default: the experiment's)")
    parser.add_argument("--workload", type=int, default=0, metavar="N",
                        help="index of the experiment's workload to run (default 0)")
    parser.add_argument("--json", action="store_true", help="print the record as JSON")
    parser.add_argument("--force-large", action="store_true", help="run a point above the operations budget")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load, simulate, print."""
    overrides = list(args.overrides) + ([f"seed={args.seed}"] if args.seed is not None else [])
    cfg = load_run_config(args.experiment, overrides, workload_index=args.workload, force_large=args.force_large)
    record = run_config(cfg)
    if args.json:
        print(json.dumps(record, indent=1, sort_keys=True, default=str))
    else:
        subject = record["workload"]
        print_record(record, f"{cfg.name}: {subject} ({cfg.setup.mode}, services: {record['service']})")
    return 0
