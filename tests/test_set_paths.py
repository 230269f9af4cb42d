"""`--set` key paths (issue 21.3): suggestions over full dotted paths, a complete list of known
keys, no refusal of a path the schema knows, and one wording for every `--set` error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from veilperf.config.experiment import ExperimentFile
from veilperf.config.loader import load_experiment
from veilperf.config.run_config import RunConfig
from veilperf.config.settable import check_settable, suggestions
from veilperf.config.yaml_file import load_yaml
from veilperf.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "configs" / "example.yaml"
ONE_WORDING = re.compile(r"^--set: \S+: .+ \(from --set .+\)$")


@pytest.mark.parametrize("path, expected", [
    ("switch_one_way", ["platform.params.switch_one_way"]),  # a bare leaf finds its place
    ("replicatons", ["replications"]),
    ("sweeep.grid", ["sweep.grid"]),  # not 'seed'
    ("setup.vcpuz", ["setup.vcpus"]),
    ("setup.services.enc.enclave_sise", ["setup.services.enc.enclave_size"]),
    ("platform.params.switch_one_way.valu", ["platform.params.switch_one_way.value"]),
    ("platform.boot.page_map_unmp", ["platform.boot.page_map_unmap"]),
    ("vcpus", ["setup.vcpus"]),
])
def test_suggestions_are_full_dotted_paths(path, expected):
    assert suggestions(path) == expected


def test_an_unknown_key_without_a_close_one_lists_every_top_level_key():
    with pytest.raises(ConfigError) as caught:
        check_settable("zzzz", " (from --set zzzz=1)")
    listed = re.search(r"known keys: ([^)]*)\)", caught.value.message).group(1).split(", ")
    assert set(listed) == set(ExperimentFile.model_fields) | set(RunConfig.model_fields)


def _shipped_paths() -> set[str]:
    """Every key path the shipped experiments sweep or put in a baseline."""
    paths: set[str] = set()
    for file in sorted((ROOT / "configs").glob("*.yaml")):
        data = load_yaml(file)
        sweep = data.get("sweep") or {}
        paths.update(sweep.get("grid") or {})
        for group in sweep.get("zip") or []:
            paths.update(group)
        paths.update(data.get("baseline") or {})
    return paths


@pytest.mark.parametrize("path", sorted(_shipped_paths() | {
    "platform", "workloads", "workload", "replications", "baseline", "sweep", "sweep.grid", "sweep.zip", "seed",
    "setup.vcpus", "setup.services.enc.switchless", "setup.services.log.rules", "platform.params.switch_one_way",
    "platform.params.switch_one_way.value", "platform.params.switch_one_way.range.1", "platform.boot.page_map_unmap",
    "platform.clock", "workload.steps.0.compute", "workload.steps.1.syscall.kernel", "workload.arrival_rate",
    "workload.mix.gap", "run.duration", "boot.memory", "setup.static.service_vcpus",
}))
def test_no_path_the_schema_knows_is_refused(path):
    check_settable(path, "")


@pytest.mark.parametrize("text", [
    "replicatons=5", "setup.vcpus=abc", "setup.vcpus", "setup.vcpus=[1", "=3", "sweep.grid.x=1",
    "platform.params.switch_one_way=3", "seed.x=1", "replications=0", "platform=nowhere.yaml",
])
def test_every_set_error_has_one_wording(text):
    with pytest.raises(ConfigError) as caught:
        exp = load_experiment(EXAMPLE, [text])
        from veilperf.sweep.configs import Configs
        from veilperf.sweep.points import combinations, expand
        configs, combos = Configs(exp), combinations(exp)
        for point in expand(exp):
            configs.build(point, combos[point.combination])
    assert ONE_WORDING.match(str(caught.value)), str(caught.value)
