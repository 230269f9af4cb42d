"""The limits behind the bad-input corpus: alias expansion, size bounds and their estimates, and
what they must still let through (every shipped experiment, ordinary anchors, shipped platforms
by name)."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest

from veilperf.config import bounds
from veilperf.config.bounds import MAX_POINTS, OPS_BUDGET, estimate_ops, estimate_points, iteration_cost_ns
from veilperf.config.loader import SHIPPED_PLATFORMS, load_experiment, load_run_config
from veilperf.config.yaml_file import MAX_ALIAS_NODES, parse_yaml_value
from veilperf.errors import ConfigError
from veilperf.sweep.points import expand, raw_point
from veilperf.run import validate_raw

ROOT = Path(__file__).resolve().parents[1]


def alias_chain(width: int, depth: int) -> str:
    """A flow mapping whose last level expands to ``width ** depth`` leaves through aliases."""
    levels = ["&l0 [" + ", ".join(["x"] * width) + "]"]
    levels += [f"&l{d} [" + ", ".join([f"*l{d - 1}"] * width) + "]" for d in range(1, depth)]
    return "{" + ", ".join(f"k{d}: {level}" for d, level in enumerate(levels)) + "}"


def test_aliases_may_add_up_to_the_bound_and_no_more():
    # Each alias *a repeats the 10 nodes of the anchored sequence (the sequence and its 9 items).
    def repeated(aliases: int) -> str:
        return "{a: &a [" + ", ".join(["x"] * 9) + "], b: [" + ", ".join(["*a"] * aliases) + "]}"

    allowed = MAX_ALIAS_NODES // 10
    assert len(parse_yaml_value(repeated(allowed), source="--set", key_path="k")["b"]) == allowed
    with pytest.raises(ConfigError, match="at most 100,000 more"):
        parse_yaml_value(repeated(allowed + 1), source="--set", key_path="k")
    with pytest.raises(ConfigError, match="alias bomb"):
        parse_yaml_value(alias_chain(10, 9), source="--set", key_path="k")  # 10^9 leaves: refused at once


def test_ordinary_anchors_are_fine_and_shared_values_are_equal():
    data = parse_yaml_value("{base: &b {vcpus: 2, mode: veil}, a: *b, c: *b}", source="--set", key_path="k")
    assert data["a"] == data["c"] == {"vcpus": 2, "mode": "veil"}


@pytest.mark.parametrize("text", ["&a [*a]", "&a {x: [1, {y: *a}]}"])
def test_recursive_aliases_are_refused(text):
    with pytest.raises(ConfigError, match="recursive alias"):
        parse_yaml_value(text, source="--set", key_path="k")


def test_every_shipped_experiment_is_within_every_budget():
    for file in sorted(glob.glob(str(ROOT / "configs" / "*.yaml"))):
        exp = load_experiment(file)
        points = expand(exp)
        assert len(points) <= estimate_points(exp) <= MAX_POINTS, file
        if exp.kind == "workload":
            worst = max(estimate_ops(validate_raw(raw_point(exp, p))) for p in points)
            assert 0 < worst < OPS_BUDGET / 100, file  # far from the budget


def test_point_estimate_is_exact_without_shared_baselines():
    exp = load_experiment(ROOT / "tests" / "fixtures" / "sweep" / "experiment.yaml")
    # 2 grid values x 2 zip rows x 2 replications, each with its own baseline
    assert estimate_points(exp) == len(expand(exp)) == 16


def test_iteration_cost_and_operations_follow_the_steps(make_cfg):
    steps = [{"compute": "10us"},
             {"syscall": {"name": "read", "kernel": "2us", "blocked": "3us", "repeat": 4}},
             {"call": {"domain": "ser", "handler": {"dist": "uniform", "low": "1us", "high": "3us"}}}]
    cfg = make_cfg(steps, run={"iterations": 1000}, workload={"threads": 3})
    assert iteration_cost_ns(cfg.workload) == (10e3 + 4 * 2e3 + 2e3, 4 * 3e3, 1 + 4 + 1)
    assert estimate_ops(cfg) == 1000 * 3 * 6
    # a duration: each of the 3 threads fits 1 s / 32 us iterations, but 1 VCPU runs only
    # 1 s / 20 us of their CPU time
    timed = make_cfg(steps, run={"duration": "1s"}, workload={"threads": 3})
    assert estimate_ops(timed) == pytest.approx(1e9 / 20e3 * 6)


def test_open_loop_operations_come_from_the_arrival_rate(make_cfg):
    cfg = make_cfg([{"compute": "5us"}], run={"duration": "2s"},
                   workload={"loop": "open", "arrival_rate": "1000/s", "iterations_per_request": 3})
    assert estimate_ops(cfg) == pytest.approx(2 * 1000 * 3)


def test_force_large_lifts_the_budget_but_not_the_hard_limits():
    example = ROOT / "configs" / "example.yaml"
    long_run = ["run.iterations=null", "run.duration=3000s"]
    with pytest.raises(ConfigError, match="budget"):
        load_run_config(example, long_run)
    exp = load_experiment(example, long_run, force_large=True)
    assert exp.force_large
    from veilperf.config.loader import validate_point

    assert validate_point(exp, exp.resolve(0, {})).run.duration == 3000e9
    with pytest.raises(ConfigError, match="KVM_MAX_VCPUS"):
        huge = load_experiment(example, ["setup.vcpus=2048"], force_large=True)
        validate_point(huge, huge.resolve(0, {}))


def test_budget_constants_say_why():
    for name in ("MAX_VCPUS", "MAX_THREADS", "MAX_ITERATIONS", "MAX_DURATION_NS", "OPS_BUDGET", "MAX_POINTS"):
        assert hasattr(bounds, name)
    assert bounds.MAX_VCPUS == 1024  # KVM_MAX_VCPUS on x86-64


def test_shipped_platforms_resolve_by_name(tmp_path):
    (tmp_path / "exp.yaml").write_text(
        f"name: byname\nplatform: milan\nworkloads: [{ROOT / 'workloads' / 'example-syscall-loop.yaml'}]\n"
        "run: {iterations: 5}\n")
    exp = load_experiment(tmp_path / "exp.yaml")
    assert exp.platform_file == SHIPPED_PLATFORMS / "milan.yaml" and exp.base["platform"]["name"] == "milan"
    # a profile of that name beside the experiment wins over the shipped one; paths still work
    (tmp_path / "platforms").mkdir()
    (tmp_path / "platforms" / "milan.yaml").write_text((SHIPPED_PLATFORMS / "milan.yaml").read_text())
    assert load_experiment(tmp_path / "exp.yaml").platform_file == tmp_path / "platforms" / "milan.yaml"
    assert load_experiment(ROOT / "configs" / "example.yaml").platform_file == SHIPPED_PLATFORMS / "milan.yaml"
