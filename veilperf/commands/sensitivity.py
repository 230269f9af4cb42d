"""``veilperf sensitivity EXPERIMENT``: global sensitivity of its predictions to the assumed costs."""

from __future__ import annotations

import argparse

from veilperf.sweep.options import (EXECUTORS, add_cluster_arguments, check_executor, cluster_options, parse_jobs,
                                    parse_shard)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sensitivity`` sub-command."""
    parser = subparsers.add_parser(
        "sensitivity", help="which assumed costs each prediction hangs on, and its range over them (SALib)",
        description="Vary every platform parameter with a range (and any named with --params) over its "
                    "range for each workload x service of the experiment, Veil as built; run the points "
                    "with the sweep engine into <results>/<experiment>/sensitivity/ (cached, resumable); "
                    "store Morris or Sobol indices and print, per workload, the three most influential "
                    "parameters and the 5-95% range of its overhead (boot: increment). Exit status as sweep.")
    parser.add_argument("file", metavar="EXPERIMENT", help="experiment YAML file")
    parser.add_argument("--method", default="morris", metavar="morris|sobol",
                        help="Morris elementary effects (default; cheap screening) or Sobol variance indices")
    parser.add_argument("--samples", type=int, default=None, metavar="N",
                        help="Morris trajectories (default 10; N x (k+1) points) or Sobol base samples "
                             "(a power of two, default 64; N x (k+2) points)")
    parser.add_argument("--params", nargs="+", default=[], metavar="NAME[=LOW:HIGH]",
                        help="also vary these parameters (params.NAME or boot.NAME; a range with units is "
                             "needed for one without a range in the platform file)")
    parser.add_argument("--only", action="store_true", help="vary only the parameters given with --params")
    parser.add_argument("--seed", type=int, default=None, help="sampling seed (default: the experiment's seed)")
    parser.add_argument("--replications", type=int, default=1, metavar="N",
                        help="replications per sample (default 1: samples share seeds with their baseline)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value of every point (e.g. --set boot.memory=8GiB)")
    parser.add_argument("--jobs", "-j", default=None, metavar="N", help="worker processes (default: all cores)")
    parser.add_argument("--executor", default="local", metavar="|".join(EXECUTORS), help="as for sweep")
    parser.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler, as for sweep")
    parser.add_argument("--shard", metavar="K/N", help="run only shard K of N (merge with `veilperf collect`)")
    parser.add_argument("--force", action="store_true", help="rerun points that are already in the results")
    parser.add_argument("--replace", action="store_true",
                        help="replace a stored study of another plan (method, samples, seed, parameters); its rows "
                             "are moved to <experiment>/sensitivity/superseded/, the last 3 sets kept")
    parser.add_argument("--force-large", action="store_true",
                        help="lift the budgets on points per study and simulated operations per point")
    parser.add_argument("--no-wait", action="store_true",
                        help="exit (2) instead of waiting when another command holds the results folder")
    parser.add_argument("--results", default="results", metavar="DIR", help="results root (default: results/)")
    parser.add_argument("--no-plots", action="store_true", help="do not draw the tornado figure")
    add_cluster_arguments(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from veilperf.sensitivity.runner import run_sensitivity
    from veilperf.sweep import engine
    from veilperf.sweep.options import SweepError

    shard = parse_shard(args.shard) if args.shard else None
    jobs = parse_jobs(args.jobs) if args.jobs is not None else None
    check_executor(args.executor, args.scheduler)
    cluster = cluster_options(args)
    if args.replications < 1:
        raise SweepError(f"--replications {args.replications}: expected a positive number")
    result = run_sensitivity(args.file, method=args.method, samples=args.samples, params=args.params,
                             only=args.only, seed=args.seed, replications=args.replications,
                             overrides=args.overrides, results_dir=args.results, jobs=jobs,
                             executor=args.executor, scheduler=args.scheduler, shard=shard, force=args.force,
                             force_large=args.force_large, wait=not args.no_wait, replace=args.replace,
                             cluster=cluster)
    print("\n".join(engine.summary_lines(result.sweep)))
    if result.summary is None:
        return 1 if result.sweep.failed else 0
    print("\n".join(summary_lines(result)))
    if not args.no_plots:
        from veilperf.sensitivity.figure import figure_path, tornado
        from veilperf.sweep.paths import inside

        path = inside(args.results, figure_path(args.results, result.study.source.name))
        tornado(result.indices, path)
        print(f"figure: {path}")
    return 0


def summary_lines(result) -> list[str]:
    """Per workload x service (and setting), the top parameters and the metric's 5-95% range."""
    study, summary = result.study, result.summary
    plan = study.plan
    lines = [f"{study.source.name}: {plan.method} over {len(plan.assumptions)} assumptions "
             f"({', '.join(a.label for a in plan.assumptions)}), {len(plan.values)} samples, seed {plan.seed}; "
             f"pinned in the baseline: {len(study.pinned)}; stored in {result.directory}"]
    shown = summary[summary["featured"]]
    for row in shown.itertuples(index=False):
        if row.metric == "boot_increment_s":
            what = (f"boot increment 5-95%: {row.p5:.3g}-{row.p95:.3g} s (median {row.p50:.3g}), "
                    f"< 2 s in {row.share_in_band:.0%}")
        else:
            what = (f"overhead 5-95%: {row.p5:.3g}-{row.p95:.3g}% (median {row.p50:.3g}%), "
                    f"in 2-64% band in {row.share_in_band:.0%}")
        setting = f" [{row.setting}]" if row.setting else ""
        driven = row.top_params.replace(",", ", ") or "none of them (no assumed cost moves it)"
        lines.append(f"  {row.workload} ({row.service}){setting}: {what}; driven by {driven}")
    if len(summary) > len(shown):
        lines.append(f"  ({len(summary) - len(shown)} more settings in {result.directory}/summary.parquet)")
    return lines
