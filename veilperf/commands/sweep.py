"""``veilperf sweep FILE...``: run experiments in parallel into results/<experiment>/."""

from __future__ import annotations

import argparse

from veilperf.sweep.lock import results_lock
from veilperf.sweep.options import (EXECUTORS, add_cluster_arguments, check_executor, cluster_options, parse_jobs,
                                    parse_shard)

MAX_FAILURES_SHOWN = 20


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep", help="run experiments (grid, zip, replications, baselines) in parallel, resumably",
        description="Expand each experiment into points, run the points not already in the results, "
                    "store one row per run in <results>/<experiment>/runs.parquet. Exit status: 0 all "
                    "points ran, 1 some points failed (listed at the end), 2 bad input.")
    parser.add_argument("files", nargs="+", metavar="FILE", help="experiment YAML files")
    parser.add_argument("--jobs", "-j", default=None, metavar="N",
                        help="worker processes (default: all cores; 1 runs in this process); with --executor "
                             "dask and no --scheduler, the LocalCluster's workers")
    parser.add_argument("--executor", default="local", metavar="|".join(EXECUTORS),
                        help="local processes (default) or a Dask cluster (needs veilperf[dask])")
    parser.add_argument("--scheduler", metavar="ADDR",
                        help="Dask scheduler of an existing cluster, e.g. tcp://host:8786, whose workers have "
                             "this veilperf installed (default: start a LocalCluster on 127.0.0.1)")
    parser.add_argument("--shard", metavar="K/N", help="run only shard K of N (merge with `veilperf collect`)")
    parser.add_argument("--force", action="store_true", help="rerun points that are already in the results")
    parser.add_argument("--replace", action="store_true",
                        help="replace stored points of another experiment file with the same name (or whose "
                             "manifest.yaml was deleted or edited); they are moved to <experiment>/superseded/, "
                             "the last 3 sets kept")
    parser.add_argument("--dry-run", action="store_true", help="list the points and exit; writes nothing")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set platform.params.switch_one_way=3us")
    parser.add_argument("--results", default="results", metavar="DIR", help="results root (default: results/)")
    parser.add_argument("--no-plots", action="store_true", help="do not bring figures and REPORT.md up to date afterwards "
                        "(the per-workload summary is printed anyway)")
    parser.add_argument("--no-wait", action="store_true",
                        help="exit (status 2) instead of waiting when another command is writing the results folder")
    parser.add_argument("--force-large", action="store_true",
                        help="run points above the budget of simulated operations per point and sweeps above the "
                             "point budget (see docs/architecture.md, bounds)")
    add_cluster_arguments(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from veilperf.sweep import engine

    shard = parse_shard(args.shard) if args.shard else None
    jobs = parse_jobs(args.jobs) if args.jobs is not None else None
    check_executor(args.executor, args.scheduler)
    cluster = cluster_options(args)
    if args.dry_run:
        plans = engine.plan(args.files, args.overrides, results_dir=args.results, shard=shard, force=args.force,
                            force_large=args.force_large)
        checks = engine.check_plans(plans, shard=shard, replace=args.replace)
        print("\n".join(engine.describe_points(plans, checks)))
        return 0
    with results_lock(args.results, wait=not args.no_wait):  # the sweep and the report after it
        return _sweep(args, engine, jobs, shard, cluster)


def _sweep(args: argparse.Namespace, engine, jobs: int | None, shard, cluster) -> int:
    summary = engine.run_sweep(args.files, args.overrides, results_dir=args.results, jobs=jobs,
                               executor=args.executor, scheduler=args.scheduler, shard=shard, force=args.force,
                               force_large=args.force_large, replace=args.replace, cluster=cluster)
    print("\n".join(engine.summary_lines(summary, MAX_FAILURES_SHOWN)))
    if shard is None:
        from veilperf.analysis.report.console import after_sweep  # pandas and matplotlib load only here

        after_sweep(args.results, [e.name for e in summary.experiments], plots=not args.no_plots)
    return 1 if summary.failed else 0
