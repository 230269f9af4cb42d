"""Sweep expansion: point counts, ids, seeds and baseline pairing (no simulation)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from veilperf.config.loader import load_experiment
from veilperf.errors import ConfigError
from veilperf.sweep.identity import derive_seed
from veilperf.sweep.options import SweepError, parse_shard
from veilperf.sweep.points import combinations, expand, raw_point, workload_name

FIXTURES = Path(__file__).parent / "fixtures" / "sweep"
EXPERIMENT = FIXTURES / "experiment.yaml"
MILAN = (FIXTURES / "../../../configs/platforms/milan.yaml").resolve()
TINY = (FIXTURES / "tiny-workload.yaml").resolve()


def write_experiment(tmp_path: Path, body: str, name: str = "exp.yaml") -> Path:
    """An experiment file in tmp_path using the shipped platform and the tiny test workload."""
    path = tmp_path / name
    path.write_text(f"platform: {MILAN}\nworkloads: [{TINY}]\n" + body)
    return path


def test_counts_follow_grid_times_zip_times_replications():
    exp = load_experiment(EXPERIMENT)
    points = expand(exp)
    # grid 2 values x zip 2 rows x 2 replications x 1 workload = 8 treatments, each with a baseline
    assert sum(p.role == "treatment" for p in points) == 2 * 2 * 2
    assert sum(p.role == "baseline" for p in points) == 8
    assert len({p.point_id for p in points}) == len(points)


def test_point_id_is_sha256_of_canonical_json_of_the_raw_point():
    exp = load_experiment(EXPERIMENT)
    for point in expand(exp):
        raw = raw_point(exp, point)
        text = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert point.point_id == hashlib.sha256(text.encode()).hexdigest()[:16]
        assert raw["seed"] == point.seed


def test_pairs_share_seed_and_key_and_differ_only_by_the_baseline_overrides():
    exp = load_experiment(EXPERIMENT)
    points = expand(exp)
    by_pair: dict[tuple[str, int], dict[str, object]] = {}
    for p in points:
        by_pair.setdefault((p.pair_key, p.replication), {})[p.role] = p
    assert len(by_pair) == 8
    for pair in by_pair.values():
        treatment, baseline = pair["treatment"], pair["baseline"]
        assert treatment.seed == baseline.seed
        raw_t, raw_b = raw_point(exp, treatment), raw_point(exp, baseline)
        assert raw_t["setup"]["mode"] == "veil" and raw_b["setup"]["mode"] == "cvm"
        assert raw_b["setup"]["services"]["enc"]["enabled"] is False
        raw_t["setup"], raw_b["setup"] = None, None
        assert raw_t == raw_b


def test_seed_is_numpy_seed_sequence_of_root_pair_key_and_replication():
    key = "00000001000000ff"
    expected = np.random.SeedSequence(entropy=7, spawn_key=(1, 255, 3)).generate_state(1)[0]
    assert derive_seed(7, key, 3) == int(expected)


def test_replications_get_distinct_seeds_and_root_seed_changes_all():
    exp = load_experiment(EXPERIMENT)
    points = expand(exp)
    treatments = [p for p in points if p.role == "treatment"]
    assert len({p.seed for p in treatments}) == len(treatments)
    reseeded = expand(load_experiment(EXPERIMENT, ["seed=8"]))
    assert not {p.seed for p in points} & {p.seed for p in reseeded}


def test_ids_and_seeds_do_not_depend_on_axis_order(tmp_path):
    body = ("name: order\nsetup: {{services: {{enc: {{enabled: true}}}}}}\nrun: {{iterations: 10}}\n"
            "seed: 3\nreplications: 2\nsweep:\n  grid:\n"
            "    platform.params.switch_one_way: {a}\n    setup.vcpus: {b}\n")
    forward = write_experiment(tmp_path, body.format(a="[1.6us, 6us]", b="[1, 2]"), "f.yaml")
    backward = tmp_path / "b"
    backward.mkdir()
    backward = write_experiment(backward, body.format(a="[6us, 1.6us]", b="[2, 1]"), "f.yaml")
    a = {p.point_id: (p.seed, p.pair_key, p.role) for p in expand(load_experiment(forward))}
    b = {p.point_id: (p.seed, p.pair_key, p.role) for p in expand(load_experiment(backward))}
    assert a == b and len(a) == 2 * 2 * 2 * 2


def test_treatments_with_one_baseline_share_it_and_its_seed(tmp_path):
    # enc on/off under Veil: the baseline (cvm, all services off) is the same config for both.
    path = write_experiment(tmp_path, "name: shared\nrun: {iterations: 10}\nreplications: 3\n"
                                      "sweep: {grid: {setup.services.enc.enabled: [true, false]}}\n")
    points = expand(load_experiment(path))
    assert sum(p.role == "treatment" for p in points) == 2 * 3
    baselines = [p for p in points if p.role == "baseline"]
    assert len(baselines) == 3
    for base in baselines:
        partners = [p for p in points if p.pair_key == base.pair_key and p.replication == base.replication]
        assert len(partners) == 3 and {p.seed for p in partners} == {base.seed}


def test_treatment_identical_to_its_baseline_is_one_baseline_point(tmp_path):
    services = "{enc: {enabled: false}, log: {enabled: false}, kci: {enabled: false}}"
    path = write_experiment(tmp_path, f"name: same\nrun: {{iterations: 10}}\nsetup: {{services: {services}}}\n"
                                      "sweep: {grid: {setup.mode: [cvm, veil]}}\n")
    points = expand(load_experiment(path))
    assert sorted(p.role for p in points) == ["baseline", "treatment"]
    assert len({p.pair_key for p in points}) == 1


def test_boot_experiment_points_have_no_workload():
    exp = load_experiment(Path(__file__).parents[1] / "configs" / "boot.yaml",
                          ["sweep={grid: {setup.vcpus: [1, 2]}}"])
    points, combos = expand(exp), combinations(exp)
    assert len(points) == 4 and {workload_name(exp, combos[p.combination][0]) for p in points} == {"boot"}
    assert all(combos[p.combination][0] is None for p in points)


def test_shards_partition_the_points():
    points = expand(load_experiment(EXPERIMENT))
    shards = [parse_shard(f"{k}/3") for k in (1, 2, 3)]
    chosen = [{p.point_id for p in points if shard.holds(p.point_id)} for shard in shards]
    assert set().union(*chosen) == {p.point_id for p in points}
    assert sum(len(c) for c in chosen) == len(points)


@pytest.mark.parametrize("text", ["3/2", "0/2", "1/0", "a/b", "2", "1/2/3", ""])
def test_bad_shard_is_one_clear_error(text):
    with pytest.raises(SweepError, match="--shard"):
        parse_shard(text)


def test_unsettable_axis_path_names_the_experiment_file(tmp_path):
    path = write_experiment(tmp_path, "name: bad\nrun: {iterations: 10}\nsweep: {grid: {run.iterations.x: [1]}}\n")
    with pytest.raises(ConfigError) as info:
        expand(load_experiment(path))
    assert info.value.file == str(path)


def test_configs_validate_shared_models_once_and_equal_a_full_validation(monkeypatch):
    """Configs rebuilds a point's config around the platform and workload models of points that
    share them: in full once per role here (every point has the workload of the role's first
    point), and every config equals the point validated on its own."""
    from veilperf.config.loader import validate_point
    from veilperf.sweep import configs as configs_module
    from veilperf.sweep.configs import Configs

    exp = load_experiment(EXPERIMENT)
    full = []
    monkeypatch.setattr(configs_module, "validate_point", lambda *a, **k: full.append(1) or validate_point(*a, **k))
    configs, combos = Configs(exp), combinations(exp)
    points = expand(exp)
    built = [configs.build(p, combos[p.combination]) for p in points]
    assert len(full) == 2  # the first treatment and the first baseline
    for point, config in zip(points, built):
        alone = validate_point(exp, raw_point(exp, point), workload_index=0, baseline=point.role == "baseline")
        assert config == alone
