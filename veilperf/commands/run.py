"""`veilperf run EXPERIMENT.yaml`: simulate each of the experiment's workloads at its own values
(no sweep axes), with its baseline (same seed), and say what ran: one row per workload with the
baseline's and Veil's simulated time and the overhead, Veil's added time by cause, the services'
settings and warnings; ``--details`` adds every record's metric table, ``--json`` prints the
overhead beside the records."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``run`` sub-command."""
    parser = subparsers.add_parser(
        "run",
        help="simulate an experiment's workloads (no sweep axes) against their baseline and say what they cost",
        description="Simulate each workload of EXPERIMENT (or --workload N) at the experiment's own values, without "
                    "its sweep axes, and its baseline (the same point with the baseline overrides, same seed); print "
                    "one row per workload with the overhead, Veil's added time by cause, the services' settings and "
                    "warnings (lost audit records, saturation, one-off set-up, native-time noise). One replication "
                    "unless --set replications=N (then the 95%% CI over them).",
    )
    parser.add_argument("experiment", metavar="EXPERIMENT.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a value (value parsed as YAML); repeatable")
    parser.add_argument("--seed", type=int, help="root seed (default: the experiment's)")
    parser.add_argument("--workload", type=int, default=None, metavar="N",
                        help="run only the experiment's workload number N (from 0; default: every one)")
    parser.add_argument("--details", action="store_true", help="also print every run's metric table")
    parser.add_argument("--json", action="store_true",
                        help="print the overhead and the records (treatment and baseline) of each workload as JSON")
    parser.add_argument("--no-baseline", action="store_true", help="do not simulate the baseline points")
    parser.add_argument("--force-large", action="store_true", help="run a point above the operations budget")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load, simulate every chosen workload and its baseline, print."""
    from veilperf.config.loader import load_experiment  # not loaded by other commands
    from veilperf.config.overrides import parse_override
    from veilperf.sweep.single import run_workloads

    sets_replications = any(parse_override(text)[0] == "replications" for text in args.overrides)
    overrides = ([] if sets_replications else ["replications=1"]) + list(args.overrides)
    overrides += [f"seed={args.seed}"] if args.seed is not None else []
    exp = load_experiment(args.experiment, overrides, force_large=args.force_large)
    if exp.kind == "boot":
        workloads: list[int | None] = [None]
    elif args.workload is not None:
        exp.resolve(args.workload, {})  # an unknown number is one line naming the experiment's count
        workloads = [args.workload]
    else:
        workloads = list(range(len(exp.workloads)))
    records = run_workloads(exp, workloads, baseline=not args.no_baseline)
    from veilperf.analysis.report.run_summary import run_results  # pandas loads only here
    from veilperf.analysis.tables.labels import profile_costs
    from veilperf.present import print_run, run_json

    results = run_results(records, profile_costs({exp.name: {"platforms": list(exp.platforms.values())}}))
    if args.json:
        print(json.dumps(run_json(exp, results), indent=1, sort_keys=True, default=str))
    else:
        print_run(exp, results, details=args.details)
    return 0
