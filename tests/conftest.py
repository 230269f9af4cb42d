"""Shared fixtures: build validated run configs in code from the shipped Milan platform. Property tests
run derandomized (the same examples every run: the README's test command is deterministic); set
``HYPOTHESIS_PROFILE=explore`` to search new random examples, and keep any failure it finds as a test."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
import yaml
from hypothesis import settings

from veilperf.run import validate_raw

settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

ROOT = Path(__file__).resolve().parents[1]
MILAN = ROOT / "configs" / "platforms" / "milan.yaml"


@pytest.fixture(scope="session")
def milan_raw() -> dict:
    """The shipped Milan platform profile as a raw dict."""
    return yaml.safe_load(MILAN.read_text())


def _merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@pytest.fixture
def make_cfg(milan_raw):
    """Factory: ``make_cfg(steps=[...], setup={...}, run={...}, workload={...}, params={...})``."""

    def build(steps=None, *, setup=None, run=None, workload=None, params=None, seed=1, raw=False):
        wl = {"name": "test", "provenance": {"source": "synthetic"}, "threads": 1}
        if steps is not None:
            wl["steps"] = steps
        wl = _merge(wl, workload or {})
        platform = copy.deepcopy(milan_raw)
        for name, value in (params or {}).items():
            platform["params"][name]["value"] = value
        point = {
            "name": "test",
            "platform": platform,
            "setup": setup or {"mode": "veil"},
            "workload": wl,
            "run": run or {"iterations": 10},
            "seed": seed,
        }
        return point if raw else validate_raw(point)

    return build


@pytest.fixture(scope="session")
def main_command_results(tmp_path_factory) -> Path:
    """The README's main command's experiments (every shipped configs/*.yaml) swept into a fresh
    results folder with one replication each (no figures, no report): real results to draw from."""
    from veilperf import cli

    root = tmp_path_factory.mktemp("main-command") / "results"
    configs = sorted(str(p) for p in (ROOT / "configs").glob("*.yaml"))
    assert cli.main(["sweep", *configs, "--results", str(root), "--no-plots", "--set", "replications=1"]) == 0
    return root


@pytest.fixture(scope="session")
def synthetic_results(tmp_path_factory) -> Path:
    """The synthetic results store (tests/fixtures/analysis/synthetic.py), written once; read only."""
    from fixtures.analysis.synthetic import write_results

    return write_results(tmp_path_factory.mktemp("synthetic"))
