"""``veilperf compare W1.yaml W2.yaml ...``: what Veil would cost these programs. Every workload
under each protected service, Veil as built, against the plain SNP CVM, through the sweep engine
(cached, parallel, Dask, resumable) into ``--out``: one table, one row per program x service,
written as Markdown, CSV and JSON, and the crossings figure of just these programs."""

from __future__ import annotations

import argparse
from pathlib import Path

from veilperf.sweep.lock import results_lock
from veilperf.sweep.options import EXECUTORS, add_cluster_arguments, check_executor, cluster_options, parse_jobs

FORMATS = ("md", "csv", "json")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``compare`` sub-command."""
    parser = subparsers.add_parser(
        "compare", help="what Veil would cost your programs: every workload under each protected service, one table",
        description="Run every given workload (recorded or imported) under each protected service, Veil as built "
                    "(enc; log with all calls audited and with file and network rules only; kci), against the plain "
                    "SNP CVM with the same seed, through the sweep engine into OUT/results (cached: rerun the same "
                    "command to resume). Prints one table, one row per program x service, and writes OUT/compare.md, "
                    ".csv, .json and OUT/crossings.png.")
    parser.add_argument("workloads", nargs="+", metavar="WORKLOAD.yaml")
    parser.add_argument("--services", default="enc,log,kci", metavar="enc,log,kci",
                        help="the services to run each program under (default: all three)")
    parser.add_argument("--platform", default="milan", metavar="P",
                        help="a shipped platform profile's name or a profile file (default: milan)")
    parser.add_argument("--out", default="compare", metavar="DIR",
                        help="folder for the experiment, its results and the table (default: compare/)")
    parser.add_argument("--format", default=",".join(FORMATS), metavar="md,csv,json",
                        help="which table files to write (default: all three)")
    parser.add_argument("--replications", type=int, default=3, metavar="N",
                        help="runs per program and service, for the 95%% CI (default 3)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a value of every point, e.g. --set setup.vcpus=2")
    parser.add_argument("--jobs", "-j", default=None, metavar="N", help="worker processes (default: all cores)")
    parser.add_argument("--executor", default="local", metavar="|".join(EXECUTORS),
                        help="local processes (default) or a Dask cluster (needs veilperf[dask])")
    parser.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler of an existing cluster")
    parser.add_argument("--force", action="store_true", help="rerun points that are already in the results")
    parser.add_argument("--no-wait", action="store_true",
                        help="exit (status 2) instead of waiting when another command is writing the results folder")
    parser.add_argument("--force-large", action="store_true", help="run points above the operations budget")
    add_cluster_arguments(parser)
    parser.set_defaults(handler=handle)


def _formats(text: str) -> list[str]:
    from veilperf.errors import ConfigError

    formats = [f.strip() for f in text.split(",") if f.strip()]
    if not formats or any(f not in FORMATS for f in formats):
        raise ConfigError("--format", text, f"choose from {', '.join(FORMATS)} (comma-separated)")
    return list(dict.fromkeys(formats))


def _write_experiment(path: Path, data: dict, inputs: list[Path]) -> None:
    """The generated experiment at ``path``, over a file only if `compare` wrote it."""
    import yaml

    from veilperf.config.compare import MARKER
    from veilperf.errors import VeilperfError
    from veilperf.sweep.paths import refuse_inputs, write_atomic

    refuse_inputs([path], inputs, "--out")
    if path.exists() and not (path.is_file() and path.read_text(encoding="utf-8", errors="replace").startswith(MARKER)):
        raise VeilperfError(f"{path}: not an experiment veilperf compare wrote; refusing to replace it "
                            "(choose another --out)")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = f"{MARKER} (rerun the same command to resume; edit nothing here)\n" + yaml.safe_dump(data, sort_keys=False)
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), "write")


def handle(args: argparse.Namespace) -> int:
    from veilperf.config.compare import compare_experiment, parse_services
    from veilperf.errors import ConfigError
    from veilperf.sweep import engine
    from veilperf.sweep.paths import check_root, refuse_inputs

    services, formats = parse_services(args.services), _formats(args.format)
    if args.replications < 1:
        raise ConfigError("--replications", str(args.replications), "at least 1 run per program and service")
    jobs = parse_jobs(args.jobs) if args.jobs is not None else None
    check_executor(args.executor, args.scheduler)
    out = Path(args.out)
    results = check_root(out / "results")
    workloads = [Path(w).resolve() for w in args.workloads]
    platform = str(Path(args.platform).resolve()) if Path(args.platform).is_file() else args.platform
    experiment = out / "experiment.yaml"
    refuse_inputs([*(out / f"compare.{f}" for f in FORMATS), out / "crossings.png"], workloads, "--out")
    _write_experiment(experiment, compare_experiment(workloads, services, platform, args.replications), workloads)
    with results_lock(results, wait=not args.no_wait):
        summary = engine.run_sweep([experiment], args.overrides, results_dir=results, jobs=jobs,
                                   executor=args.executor, scheduler=args.scheduler, force=args.force,
                                   force_large=args.force_large, cluster=cluster_options(args))
        print("\n".join(engine.summary_lines(summary)))
        from veilperf.analysis.report.compare import print_compare  # pandas and matplotlib load only here

        print_compare(results, workloads, out, formats)
    return 1 if summary.failed else 0
