"""`veilperf run EXPERIMENT.yaml`: simulate one point and print its record, and its overhead
against the experiment's baseline (the same point with the baseline overrides, same seed)."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``run`` sub-command."""
    parser = subparsers.add_parser(
        "run",
        help="simulate one point of an experiment and print its metrics",
        description="Simulate one point of EXPERIMENT (its first workload, or --workload N; no "
                    "sweep axes) and print a table of its metrics and its overhead against the "
                    "experiment's baseline, or the record as JSON.",
    )
    parser.add_argument("experiment", metavar="EXPERIMENT.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a value (value parsed as YAML); repeatable")
    parser.add_argument("--seed", type=int, help="root seed (default: the experiment's)")
    parser.add_argument("--workload", type=int, default=0, metavar="N",
                        help="index of the experiment's workload to run (default 0)")
    parser.add_argument("--json", action="store_true", help="print the record as JSON (no baseline run)")
    parser.add_argument("--no-baseline", action="store_true", help="do not simulate the baseline point")
    parser.add_argument("--force-large", action="store_true", help="run a point above the operations budget")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load, simulate (the point, then its baseline when it differs), print."""
    from veilperf.config.loader import load_experiment, validate_point  # not loaded by other commands
    from veilperf.present import print_record
    from veilperf.run import run_config

    overrides = list(args.overrides) + ([f"seed={args.seed}"] if args.seed is not None else [])
    exp = load_experiment(args.experiment, overrides, force_large=args.force_large)
    index = None if exp.kind == "boot" else args.workload
    raw = exp.resolve(index, {})
    cfg = validate_point(exp, raw, workload_index=index)
    record = run_config(cfg)
    if args.json:
        print(json.dumps(record, indent=1, sort_keys=True, default=str))
        return 0
    print_record(record, f"{cfg.name}: {record['workload']} ({cfg.setup.mode}, services: {record['service']})")
    baseline_raw = exp.resolve(index, {}, baseline=True)
    if not args.no_baseline and baseline_raw != raw:
        baseline = run_config(validate_point(exp, baseline_raw, workload_index=index, baseline=True))
        from veilperf.analysis.tables.pairing import describe_overhead  # pandas loads only here

        print(describe_overhead(record, baseline))
    return 0
