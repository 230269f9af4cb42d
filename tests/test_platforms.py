"""Platforms (issue 22.1): the Genoa profile against a closed form from its own YAML, a platform
list as a sweep axis (twice the points, pairs within a platform, axes and --set on every
platform, errors naming the profile file), and the analysis reading each platform at its own
calibration without mixing two profiles."""

from __future__ import annotations

import json
import math
import shutil
from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from services_support import enclave_setup_ns, nominal

from veilperf import cli
from veilperf.analysis.claims.verdicts import service_candidates
from veilperf.analysis.tables.load import load_manifests, load_results
from veilperf.analysis.tables.pairing import overheads
from veilperf.analysis.tables.profile import (
    PLATFORM,
    PerPlatform,
    at_calibration,
    calibration_point,
    describe_point,
    find_profile,
    find_profiles,
    parameter_table,
    param_column,
    profile_ranges,
)
from veilperf.config.loader import load_experiment, validate_point
from veilperf.errors import ConfigError
from veilperf.run import run_config
from veilperf.sensitivity.assumptions import assumptions_of
from veilperf.sweep.points import BASELINE, combinations, expand, expand_combinations, raw_point
from veilperf.units import parse_rate

ROOT = Path(__file__).resolve().parents[1]
GENOA = ROOT / "configs" / "platforms" / "genoa.yaml"
MILAN = ROOT / "configs" / "platforms" / "milan.yaml"
TINY = ROOT / "tests" / "fixtures" / "sweep" / "tiny-workload.yaml"
SWITCH = param_column("switch_one_way")

OCALL_LOOP = """\
name: ocall-loop
provenance: {source: synthetic}
threads: 1
steps:
  - {compute: 54000cycles}
  - {syscall: {name: read, kernel: 2700cycles, bytes_out: 4096B}}
"""


def experiment(tmp_path: Path, platform: str, body: str = "", *, workload: Path = TINY) -> Path:
    """An experiment file on ``platform`` (a name, a path or a YAML list) with one workload."""
    path = tmp_path / "exp.yaml"
    path.write_text(f"name: plat\nplatform: {platform}\nworkloads: [{workload}]\n"
                    f"setup: {{mode: veil, vcpus: 1, services: {{enc: {{enabled: true}}}}}}\n"
                    f"run: {{iterations: 20}}\nseed: 3\n" + body)
    return path


# --- the Genoa profile ---------------------------------------------------------------------------

def test_genoa_single_ocall_loop_equals_its_closed_form(tmp_path):
    """One enclave thread doing compute then one ocall, on `platform: genoa`: Veil adds two
    switches per ocall, both argument copies, the one-off enclave set-up and two switches per
    timer tick in the enclave; the native run is the workload's cycles at Genoa's 2.7 GHz. Every
    number comes from genoa.yaml read as plain YAML (on Milan's 2.8 GHz the native time would be
    3.6% shorter, so a run on the wrong profile fails)."""
    genoa = yaml.safe_load(GENOA.read_text())
    n = nominal(genoa)
    clock = parse_rate(genoa["clock"]["value"])
    (tmp_path / "loop.yaml").write_text(OCALL_LOOP)
    exp = load_experiment(experiment(tmp_path, "genoa", workload=tmp_path / "loop.yaml"))
    iterations = 20
    treat = run_config(validate_point(exp, exp.resolve(0, {})))
    base = run_config(validate_point(exp, exp.resolve(0, {}, baseline=True), baseline=True))
    compute, kernel = 54000 / clock * 1e9, 2700 / clock * 1e9
    copies = iterations * (n.copy(0) + n.copy(4096))
    ticks = math.floor((iterations * compute + copies) * 250 / 1e9 + 1e-9)
    added = iterations * 2 * n.switch + copies + enclave_setup_ns(n) + ticks * 2 * n.switch
    assert treat["cfg.platform.name"] == base["cfg.platform.name"] == "genoa"
    assert base["sim_time_ns"] == pytest.approx(iterations * (compute + kernel), rel=1e-12)
    assert treat["sim_time_ns"] - base["sim_time_ns"] == pytest.approx(added, rel=1e-9)
    assert treat["enc.ocalls"] == iterations and treat["switches_total"] == 2 * iterations + 6 + 2 * ticks


def test_genoa_carries_every_unmeasured_cost_as_an_assumption_at_least_as_wide_as_milan():
    """Values nobody measured on Zen 4 are assumptions whose range contains Milan's."""
    from veilperf.units import parse_bandwidth, parse_duration

    genoa, milan = (yaml.safe_load(p.read_text()) for p in (GENOA, MILAN))
    parse = {"memcpy_bandwidth": parse_bandwidth, "sha256_bandwidth": parse_bandwidth}
    for name in ("rmpadjust", "pvalidate", "tlb_flush_global", "monitor_map_unmap", "monitor_dispatch",
                 "channel_fixed", "switch_exit", "switch_vmsa_swap", "switch_entry", "poll_latency",
                 "memcpy_bandwidth", "switch_one_way"):
        ours, theirs = genoa["params"][name], milan["params"][name]
        to_si = parse.get(name, parse_duration)
        assert ours["kind"] == "assumption", name
        low, high = (to_si(v) for v in ours["range"])
        their_low, their_high = (to_si(v) for v in theirs["range"])
        assert low <= their_low and high >= their_high, name
    for name, param in genoa["boot"].items():
        assert param["kind"] in ("assumption", "prototype", "measured"), name
        if param["kind"] == "measured":  # only software facts stay measured on another part
            assert "software" in param["source"], name


# --- a list of platforms is an axis --------------------------------------------------------------

def _platform(exp, point) -> str:
    return raw_point(exp, point)["platform"]["name"]


def test_platform_list_doubles_the_points_and_pairs_within_a_platform(tmp_path):
    body = "replications: 2\nsweep: {grid: {platform.params.switch_one_way: [1.6us, 6us]}}\n"
    one = expand(load_experiment(experiment(tmp_path, "milan", body)))
    both = load_experiment(experiment(tmp_path, "[milan, genoa]", body))
    points = expand(both)
    assert len(points) == 2 * len(one) == 16
    by_pair: dict[str, set] = defaultdict(set)
    roles: dict[str, set] = defaultdict(set)
    for point in points:
        by_pair[point.pair_key].add(_platform(both, point))
        roles[point.pair_key].add(point.role)
    assert all(len(names) == 1 for names in by_pair.values())  # a pair never spans two platforms
    assert all(r == {"treatment", BASELINE} for r in roles.values())
    assert sorted(next(iter(n)) for n in by_pair.values()).count("genoa") == len(by_pair) // 2


def test_set_platform_list_gives_the_same_points_as_writing_it(tmp_path):
    written = expand(load_experiment(experiment(tmp_path, "[milan, genoa]")))
    from_set = expand(load_experiment(experiment(tmp_path, "milan"), ["platform=[milan, genoa]"]))
    assert [p.point_id for p in written] == [p.point_id for p in from_set]
    single = expand(load_experiment(experiment(tmp_path, "milan")))
    assert {p.point_id for p in single} < {p.point_id for p in written}  # milan's points are unchanged


def test_parameter_axes_and_set_apply_to_every_platform(tmp_path):
    body = "sweep: {grid: {platform.params.switch_one_way: [1.6us, 6us]}}\n"
    exp = load_experiment(experiment(tmp_path, "[milan, genoa]", body), ["platform.params.channel_fixed=50ns"])
    points = expand_combinations(exp, combinations(exp), validate_if=lambda _: True)
    seen = {(p.config.platform.name, p.config.platform.params.switch_one_way.value) for p in points}
    assert seen == {(name, s) for name in ("milan", "genoa") for s in (1600.0, 6000.0)}
    assert {p.config.platform.params.channel_fixed.value for p in points} == {50.0}
    assert {p.config.platform.clock.value for p in points if p.config.platform.name == "genoa"} == {2.7e9}


def test_an_error_in_a_listed_profile_names_that_profile(tmp_path):
    broken = tmp_path / "genoa-broken.yaml"
    broken.write_text(GENOA.read_text().replace("value: 0.5us", "value: 0.5", 1))
    exp = load_experiment(experiment(tmp_path, f"[milan, {broken.name}]"))
    with pytest.raises(ConfigError) as caught:
        expand_combinations(exp, combinations(exp), validate_if=lambda _: True)
    assert Path(caught.value.file) == broken and caught.value.key_path == "params.rmpadjust.value"


@pytest.mark.parametrize("body, fragment", [
    ("sweep: {grid: {platform: [milan, genoa]}}\n", "sweep platforms with the platform key itself"),
    ("baseline: {platform: genoa}\n", "a baseline runs on its treatment's platform"),
])
def test_platform_choices_outside_the_platform_key_are_refused(tmp_path, body, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_experiment(experiment(tmp_path, "milan", body))


def test_one_point_commands_refuse_a_platform_list_in_one_line(tmp_path):
    exp = load_experiment(experiment(tmp_path, "[milan, genoa]"))
    for attempt in (lambda: exp.resolve(0, {}), lambda: exp.platform_file, lambda: assumptions_of(exp)):
        with pytest.raises(ConfigError, match=r"lists 2 platforms \(milan, genoa\).*--set platform=milan"):
            attempt()


def test_run_with_set_platform_genoa_runs_on_genoa(capsys):
    assert cli.main(["run", str(ROOT / "configs" / "enclave.yaml"), "--set", "platform=genoa", "--json",
                     "--workload", "0"]) == 0
    record = json.loads(capsys.readouterr().out)["results"][0]["records"][0]
    assert record["cfg.platform.name"] == "genoa" and record["cfg.platform.clock.value"] == 2.7e9


def test_shipped_platforms_experiment_runs_each_workload_and_service_on_both():
    exp = load_experiment(ROOT / "configs" / "platforms.yaml")
    single = load_experiment(ROOT / "configs" / "platforms.yaml", ["platform=milan"])
    points = expand(exp)
    assert len(points) == 2 * len(expand(single))
    treatments = {(p.workload, _platform(exp, p), json.dumps(p.assignments, sort_keys=True, default=str))
                  for p in points if p.role == "treatment"}
    assert len(treatments) == len(exp.workloads) * 2 * 3  # enclave + two log rule breadths, per platform


# --- analysis: each platform at its own calibration ----------------------------------------------

@pytest.fixture(scope="module")
def two_platform_results(tmp_path_factory):
    """A swept switch cost on milan and on a profile whose own switch is 1.6 us."""
    folder = tmp_path_factory.mktemp("plat")
    fast = yaml.safe_load(MILAN.read_text())
    fast["name"] = "fast"
    fast["params"]["switch_one_way"]["value"] = "1.6us"
    (folder / "fast.yaml").write_text(yaml.safe_dump(fast))
    shutil.copy(MILAN, folder / "milan.yaml")
    exp = experiment(folder, "[milan.yaml, fast.yaml]",
                     "replications: 2\nsweep: {grid: {platform.params.switch_one_way: [1.6us, 2.07us]}}\n")
    results = folder / "results"
    assert cli.main(["sweep", str(exp), "--jobs", "1", "--no-plots", "--results", str(results)]) == 0
    return load_results(results), load_manifests(results)


def test_each_platform_is_read_at_its_own_calibration(two_platform_results):
    runs, manifests = two_platform_results
    over = overheads(runs)
    chosen = calibration_point(runs, over.attrs["axes"], manifests)
    assert chosen[SWITCH] == PerPlatform({"fast": 1600.0, "milan": 2070.0})
    assert param_column("clock") not in chosen  # a platform's own value is not a sweep
    kept = at_calibration(over, chosen)
    assert sorted(zip(kept[PLATFORM], kept[SWITCH])) == [("fast", 1600.0), ("milan", 2070.0)]
    assert "1.6 us on fast" in describe_point(chosen).replace("µs", "us")
    assert calibration_point(runs, over.attrs["axes"], manifests, platform="fast") == {SWITCH: 1600.0}


def test_profiles_are_looked_up_by_platform_never_mixed(two_platform_results):
    runs, manifests = two_platform_results
    manifest = manifests["plat"]
    assert list(find_profiles(manifest)) == ["milan", "fast"]
    assert find_profile(manifest) is None  # which one? the caller must say
    assert find_profile(manifest, "fast")["params"]["switch_one_way"]["value"] == "1.6us"
    assert profile_ranges(manifests, "fast")["switch_one_way"][0] == 1600.0
    assert profile_ranges(manifests) == {}
    table = parameter_table(runs, manifests, platform="fast").set_index("parameter")
    assert table.loc["switch_one_way", "value"] == "1.6us"
    assert table.loc["switch_one_way", "swept"].endswith("(2 values)")
    settings = overheads(runs)["setting"]
    assert settings.str.contains("platform.name=fast").any() and not settings.str.contains("source=").any()


def test_a_platform_comparison_is_no_evidence_for_the_papers_claims(two_platform_results):
    runs, _ = two_platform_results
    over = overheads(runs)
    assert len(over[over["service"] == "enc"]) and service_candidates(over).empty
