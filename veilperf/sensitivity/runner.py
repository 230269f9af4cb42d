"""Run a sensitivity study end to end: assumptions, plan, study experiment, sweep engine, outcomes.

Library entry point :func:`run_sensitivity`; ``veilperf sensitivity`` is a thin wrapper. Bad input
(unknown parameter, empty range, no assumptions, a bad sampled point) raises ConfigError before
anything is written. The study holds the results root's lock throughout, writes only inside it, and
replaces a stored study of another plan only with ``replace`` (its rows go to ``superseded/``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from veilperf.config.loader import load_experiment
from veilperf.errors import ConfigError
from veilperf.sensitivity.assumptions import assumptions_of
from veilperf.sensitivity.outcomes import outcomes, read_study_runs, sample_metrics, write_outcomes
from veilperf.sensitivity.sampling import DEFAULT_SAMPLES, METHODS, make_plan
from veilperf.sensitivity.study import Study, build_study, remove_created, replaced_study, study_dir, write_study
from veilperf.sweep.lock import results_lock
from veilperf.sweep.options import ClusterOptions, Shard, SweepError
from veilperf.sweep.supersede import KEPT_NOTE

__all__ = ["StudyResult", "run_sensitivity", "check_options"]


@dataclass
class StudyResult:
    """What a study did and found; ``indices``/``summary`` are None for a shard or a failed run."""

    study: Study
    directory: Path
    sweep: object  # veilperf.sweep.engine.SweepSummary
    indices: pd.DataFrame | None = None
    summary: pd.DataFrame | None = None
    written: list[Path] | None = None


def check_options(method: str, samples: int | None) -> int:
    """The number of samples for ``method`` (its default when None); SweepError when unusable."""
    if method not in METHODS:
        raise SweepError(f"--method {method}: expected one of {', '.join(METHODS)}")
    samples = DEFAULT_SAMPLES[method] if samples is None else samples
    if samples < 2:
        raise SweepError(f"--samples {samples}: need at least 2")
    if method == "sobol" and samples & (samples - 1):
        raise SweepError(f"--samples {samples}: Sobol needs a power of two (e.g. 64)")
    return samples


def run_sensitivity(file: str | Path, *, method: str = "morris", samples: int | None = None,
                    params: Sequence[str] = (), only: bool = False, seed: int | None = None,
                    replications: int = 1, overrides: Sequence[str] = (), results_dir: str | Path = "results",
                    jobs: int | None = None, executor: str = "local", scheduler: str | None = None,
                    shard: Shard | None = None, force: bool = False, force_large: bool = False,
                    wait: bool = True, replace: bool = False, cluster: ClusterOptions | None = None) -> StudyResult:
    """Study experiment ``file`` over its assumptions and store runs, indices and summary under
    ``<results_dir>/<experiment>/sensitivity/``. A rerun with the same options reuses every
    finished point (the plan is a function of method, samples, seed and the assumptions); a study
    of another plan replaces the stored one only with ``replace`` (SweepError otherwise)."""
    samples = check_options(method, samples)
    exp = load_experiment(file, overrides, force_large=force_large)
    assumptions = assumptions_of(exp, params, only=only)
    root_seed = int(exp.base.get("seed", 0)) if seed is None else seed
    plan = make_plan(assumptions, method, samples, root_seed)
    study = build_study(exp, plan, overrides, replications=replications)
    with results_lock(results_dir, wait=wait):
        directory = study_dir(results_dir, exp.name)
        replaced = replaced_study(study, directory)
        if replaced and not replace:
            raise SweepError(f"{directory}: holds {replaced}; rerun with --replace to replace it (its rows are "
                             f"moved to {directory / 'superseded'}, {KEPT_NOTE})")
        return _run(study, directory, overrides, jobs=jobs, executor=executor, scheduler=scheduler, shard=shard,
                    force=force, force_large=force_large, wait=wait, replace=replace, cluster=cluster)


def _run(study: Study, directory: Path, overrides: Sequence[str], *, shard: Shard | None, **options) -> StudyResult:
    """Write the study, run it with the sweep engine, and compute and store its outcomes."""
    from veilperf.sweep import engine

    study_file, created = write_study(study, directory)
    try:
        summary = engine.run_sweep([study_file], overrides, results_dir=directory.parent, shard=shard, **options)
    except ConfigError:
        remove_created(created)
        raise
    result = StudyResult(study, directory, summary)
    if shard is None and not summary.failed:
        metrics = sample_metrics(study, read_study_runs(study, directory / "runs.parquet"))
        result.indices, result.summary = outcomes(study, metrics)
        result.written = write_outcomes(directory, study, metrics, result.indices, result.summary)
    return result
