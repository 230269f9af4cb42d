"""Config loading: inlining, --set overrides, dotted paths, cycles with the platform clock,
sweep axes and baseline, file kinds, and where errors point."""

from __future__ import annotations

from pathlib import Path

import pytest

from veilperf import cli
from veilperf.config.checks import check_experiment, check_file, file_kind
from veilperf.config.loader import (
    Experiment,
    load_experiment,
    load_run_config,
    load_yaml,
    parse_override,
    set_path,
    validate_point,
)
from veilperf.config.overrides import get_path
from veilperf.errors import ConfigError

ROOT = Path(__file__).parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "config"
EXPERIMENT = FIXTURES / "experiment.yaml"
MILAN = ROOT / "configs" / "platforms" / "milan.yaml"


@pytest.fixture(scope="module")
def exp() -> Experiment:
    return load_experiment(EXPERIMENT)


# --- dotted paths and --set ---------------------------------------------------------------


def test_set_path_creates_intermediate_mappings():
    data = {"setup": {"mode": "veil"}}
    set_path(data, "setup.services.enc.enabled", True)
    assert data == {"setup": {"mode": "veil", "services": {"enc": {"enabled": True}}}}


def test_set_path_indexes_lists_with_numbers():
    data = {"workload": {"steps": [{"compute": "1us"}, {"compute": "2us"}]}}
    set_path(data, "workload.steps.1.compute", "5us")
    assert data["workload"]["steps"] == [{"compute": "1us"}, {"compute": "5us"}]


def test_scalar_on_a_parameter_replaces_only_its_value():
    data = {"params": {"x": {"value": "2us", "kind": "assumption", "range": ["1us", "3us"], "source": "s"}}}
    set_path(data, "params.x", "2.5us")
    assert data["params"]["x"] == {"value": "2.5us", "kind": "assumption", "range": ["1us", "3us"], "source": "s"}


def test_mapping_on_a_parameter_replaces_it_whole():
    data = {"params": {"x": {"value": "2us", "kind": "derived", "source": "s"}}}
    set_path(data, "params.x", {"value": "1us", "kind": "measured", "source": "t"})
    assert data["params"]["x"] == {"value": "1us", "kind": "measured", "source": "t"}


@pytest.mark.parametrize(("path", "fragment"), [
    ("seed.low", "seed holds 1, not a mapping"),
    ("steps.2", "steps is a list of 1"),
    ("steps.x", "'x' is not an index"),
])
def test_set_path_refuses_impossible_paths(path, fragment):
    with pytest.raises(ValueError, match=fragment):
        set_path({"seed": 1, "steps": [{}]}, path, 0)


def test_get_path_reads_what_set_path_wrote():
    data: dict = {}
    set_path(data, "a.b", [10, {"c": 20}])
    assert get_path(data, "a.b.1.c") == 20
    assert get_path(data, "a.b.0") == 10
    assert get_path(data, "a.x", "absent") == "absent"
    assert get_path(data, "") is data


@pytest.mark.parametrize(("text", "expected"), [
    ("setup.vcpus=4", ("setup.vcpus", 4)),
    ("platform.params.switch_one_way=3us", ("platform.params.switch_one_way", "3us")),
    ("setup.services.enc.enabled=true", ("setup.services.enc.enabled", True)),
    ("sweep.grid=[1, 2]", ("sweep.grid", [1, 2])),
    ("workload.steps.0.compute={dist: exponential, mean: 5us}",
     ("workload.steps.0.compute", {"dist": "exponential", "mean": "5us"})),
    ("description=a=b", ("description", "a=b")),
    ("run.duration=", ("run.duration", None)),
    ("provenance.date=2024-05-01", ("provenance.date", "2024-05-01")),  # dates stay text
])
def test_parse_override(text, expected):
    assert parse_override(text) == expected


@pytest.mark.parametrize(("text", "fragment"), [
    ("setup.vcpus", "expected key.path=value"),
    ("=4", "empty key path"),
    ("setup..vcpus=4", "empty key path"),
    ("setup.vcpus=[1, 2", "cannot read value"),
])
def test_parse_override_errors(text, fragment):
    with pytest.raises(ConfigError, match=fragment) as caught:
        parse_override(text)
    assert caught.value.file == "--set"


# --- loading and inlining -------------------------------------------------------------------


def test_experiment_inlines_platform_and_keeps_raw_units(exp):
    assert exp.name == "fixture" and exp.kind == "workload" and exp.replications == 2
    assert exp.platform_file.resolve() == MILAN.resolve()
    assert exp.base["platform"] == load_yaml(MILAN)
    assert exp.base["setup"] == {"mode": "veil", "vcpus": 1}
    assert not exp.base.keys() & {"workload", "workloads", "sweep", "replications", "baseline"}
    assert [w["name"] for w in exp.workloads] == ["fixture-loop", "fixture-open"]
    assert exp.workload_files == [FIXTURES / "workload.yaml", FIXTURES / "workload-open.yaml"]
    assert exp.grid == {"platform.params.switch_one_way": ["1.6us", "2.1us", "6us"]}
    assert exp.zip == [{"setup.vcpus": [1, 2], "setup.static.service_vcpus": [1, 1]}]


def test_default_baseline_is_cvm_without_services(exp):
    assert exp.baseline["setup.mode"] == "cvm"
    base = validate_point(exp, exp.resolve(0, {"setup.services.enc.enabled": True}, baseline=True))
    assert base.setup.mode == "cvm" and base.setup.services.active == []


def test_explicit_baseline_replaces_the_default(tmp_path):
    experiment = tmp_path / "e.yaml"
    text = EXPERIMENT.read_text().replace("../../../configs", str(ROOT / "configs"))
    text = text.replace("workloads: [workload.yaml, workload-open.yaml]", f"workload: {FIXTURES / 'workload.yaml'}")
    experiment.write_text(text + "baseline: {setup.vcpus: 2}\n")
    exp = load_experiment(experiment)
    assert exp.baseline == {"setup.vcpus": 2}
    baseline = validate_point(exp, exp.resolve(0, {}, baseline=True))
    assert (baseline.setup.vcpus, baseline.setup.mode) == (2, "veil")


def test_cycles_convert_with_the_platform_clock():
    config = load_run_config(EXPERIMENT)
    assert config.platform.clock.value == 2.8e9
    assert config.workload.steps[1].syscall.kernel == pytest.approx(1_000.0)  # 2800 cycles / 2.8 GHz


def test_cycles_follow_an_overridden_clock():
    config = load_run_config(EXPERIMENT, ["platform.clock=1.4GHz"])
    assert config.workload.steps[1].syscall.kernel == pytest.approx(2_000.0)  # 2800 cycles / 1.4 GHz


def test_overrides_change_validated_values():
    plain = load_run_config(EXPERIMENT)
    changed = load_run_config(EXPERIMENT, ["platform.params.switch_one_way=3us", "setup.vcpus=2",
                                           "workload.steps.0.compute=5us", "seed=9"])
    assert plain.platform.params.switch_one_way.value != 3_000.0
    assert changed.platform.params.switch_one_way.value == 3_000.0
    assert changed.platform.params.switch_one_way.kind == plain.platform.params.switch_one_way.kind
    assert (changed.setup.vcpus, changed.workload.steps[0].compute, changed.seed) == (2, 5_000.0, 9)


def test_file_level_override_picks_another_workload():
    config = load_run_config(EXPERIMENT, ["workload=workload-open.yaml"])
    assert config.workload.name == "fixture-open" and config.workload.loop == "open"


def test_load_run_config_selects_a_workload():
    assert load_run_config(EXPERIMENT, workload_index=1).workload.name == "fixture-open"
    with pytest.raises(ConfigError, match="no workload number 5"):
        load_run_config(EXPERIMENT, workload_index=5)


def test_resolve_applies_sweep_values_then_overrides():
    exp = load_experiment(EXPERIMENT, ["setup.vcpus=3"])
    raw = exp.resolve(1, {"setup.vcpus": 2, "platform.params.switch_one_way": "6us"})
    assert raw["setup"]["vcpus"] == 3  # --set wins over the sweep
    assert raw["platform"]["params"]["switch_one_way"]["value"] == "6us"
    assert raw["workload"]["name"] == "fixture-open"
    assert exp.base["setup"]["vcpus"] == 1 and exp.workloads[1].get("threads") is None  # not mutated


def test_baseline_applies_after_overrides():
    exp = load_experiment(EXPERIMENT, ["setup.services.log.enabled=true"])
    treatment = validate_point(exp, exp.resolve(0, {}))
    baseline = validate_point(exp, exp.resolve(0, {}, baseline=True), baseline=True)
    assert treatment.setup.services.active == ["log"]
    assert baseline.setup.services.active == [] and baseline.setup.mode == "cvm"


def test_source_of_points_into_the_file_the_value_came_from(exp):
    workload_file, platform_file = FIXTURES / "workload-open.yaml", exp.platform_file
    assert exp.source_of("workload.steps.0.compute", 1) == (workload_file, "steps.0.compute")
    assert exp.source_of("platform.params.rmpadjust.value") == (platform_file, "params.rmpadjust.value")
    assert exp.source_of("setup.mode") == (EXPERIMENT, "setup.mode")
    assert exp.source_of("platform.params.switch_one_way.value") == (
        EXPERIMENT, 'sweep.grid["platform.params.switch_one_way"]')
    assert exp.source_of("setup.static.service_vcpus") == (EXPERIMENT, 'sweep.zip.0["setup.static.service_vcpus"]')


def test_error_above_an_override_names_the_file_and_the_override():
    exp = load_experiment(EXPERIMENT, ["workload.loop=open"])
    with pytest.raises(ConfigError, match=r"needs a positive arrival_rate \(after --set workload.loop=open\)") as caught:
        validate_point(exp, exp.resolve(0, {}))
    assert (caught.value.file, caught.value.key_path) == (str(FIXTURES / "workload.yaml"), "")


def test_point_error_names_the_workload_file_of_that_point(exp):
    raw = exp.resolve(1, {"workload.steps.0.compute.mean": "-1us"})
    with pytest.raises(ConfigError) as caught:
        validate_point(exp, raw)
    assert caught.value.file == str(FIXTURES / "workload-open.yaml")
    assert caught.value.key_path == "steps.0.compute.mean"
    assert "negative duration" in caught.value.message


def test_every_sweep_value_validates(exp):
    # 2 workloads x 3 grid values x 2 zip positions
    assert check_experiment(exp) == 12
    for value in exp.grid["platform.params.switch_one_way"]:
        config = validate_point(exp, exp.resolve(0, {"platform.params.switch_one_way": value}))
        assert config.platform.params.switch_one_way.value in (1_600.0, 2_100.0, 6_000.0)


def test_boot_experiment_has_no_workloads(tmp_path):
    experiment = tmp_path / "boot.yaml"
    experiment.write_text(f"name: b\nkind: boot\nplatform: {MILAN}\nworkloads: [x.yaml]\nboot: {{}}\n")
    with pytest.raises(ConfigError, match="a boot experiment has no workloads") as caught:
        load_experiment(experiment)
    assert caught.value.file == str(experiment)


# --- YAML reading -------------------------------------------------------------------------


def test_yaml_keeps_dates_as_text(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text("date: 2024-05-01\n")
    assert load_yaml(path) == {"date": "2024-05-01"}


def test_yaml_error_gives_the_line(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text("a: 1\nb: [1, 2\nc: 3\n")
    with pytest.raises(ConfigError, match="invalid YAML") as caught:
        load_yaml(path)
    assert caught.value.key_path.startswith("line ")


# --- file kinds and the validate command ----------------------------------------------------


@pytest.mark.parametrize(("path", "data", "kind"), [
    (ROOT / "configs" / "platforms" / "x.yaml", {}, "platform"),
    (ROOT / "workloads" / "x.yaml", {}, "workload"),
    (ROOT / "configs" / "x.yaml", {}, "experiment"),
    (Path("/elsewhere/x.yaml"), {"platform": "p.yaml"}, "experiment"),
    (Path("/elsewhere/x.yaml"), {"clock": {}, "params": {}}, "platform"),
    (Path("/elsewhere/x.yaml"), {"steps": []}, "workload"),
])
def test_file_kind(path, data, kind):
    assert file_kind(path, data) == kind


def test_file_kind_unknown():
    with pytest.raises(ConfigError, match="cannot tell"):
        file_kind(Path("/elsewhere/x.yaml"), {"hello": 1})


def test_shipped_example_files_validate(monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMANDS", ("validate",))
    files = ["configs/example.yaml", "configs/platforms/milan.yaml", "workloads/example-syscall-loop.yaml"]
    monkeypatch.chdir(ROOT)
    assert cli.main(["validate", *files]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert [line.split(":")[0] for line in out.splitlines()] == [f"OK {f}" for f in files]


def test_shipped_example_getpid_matches_calibration():
    # docs/references.md: native getpid in an SNP guest is 788 cycles at a 2.8 GHz TSC.
    config = load_run_config(ROOT / "configs" / "example.yaml")
    assert config.workload.steps[1].syscall.kernel == pytest.approx(788 / 2.8, abs=0.5)
    assert config.setup.mode == "veil" and config.run.iterations == 1000 and config.seed == 1


def test_workload_in_cycles_checked_alone_uses_the_given_platform():
    assert "fixture-loop" in check_file(FIXTURES / "workload.yaml", platform=MILAN)
    with pytest.raises(ConfigError, match="pass --platform"):
        check_file(FIXTURES / "workload.yaml")


def test_config_errors_survive_pickling_to_and_from_workers():
    import pickle

    from veilperf.errors import ConfigError
    from veilperf.trace.strace_parser import TraceError

    for error in (ConfigError("a.yaml", "setup.vcpus", "must be >= 1"), TraceError("t.strace", 12, "bad line")):
        again = pickle.loads(pickle.dumps(error))
        assert isinstance(again, ConfigError)
        assert str(again) == str(error)


def test_validate_checks_dependent_sweep_axes_together(tmp_path):
    """servers.yaml sweeps workload.loop=open with workload.arrival_rate on another axis: each
    value is checked beside the other axes' first values, so the pair validates, and a bad rate
    is still reported at its axis."""
    from veilperf.config.checks import check_file

    root = Path(__file__).resolve().parents[1]
    assert "10 point(s)" in check_file(root / "configs" / "servers.yaml")
    text = (root / "configs" / "servers.yaml").read_text()
    text = text.replace("platforms/milan.yaml", str(root / "configs" / "platforms" / "milan.yaml"))
    text = text.replace("../workloads/", str(root / "workloads") + "/")
    copy = tmp_path / "configs" / "servers.yaml"
    copy.parent.mkdir()
    copy.write_text(text.replace("40000/s]", "40000]"))
    with pytest.raises(ConfigError, match="arrival_rate.*bare number 40000"):
        check_file(copy)


def test_files_named_in_set_are_found_from_the_current_folder(tmp_path, monkeypatch):
    """`--set workloads=[mine.yaml]` names a file where the user stands; a name that is no file
    there still resolves beside the experiment (the shipped `../workloads/...` references)."""
    from pathlib import Path

    from veilperf.config.loader import load_experiment

    root = Path(__file__).resolve().parents[1]
    shipped = root / "workloads" / "example-syscall-loop.yaml"
    (tmp_path / "mine.yaml").write_text(shipped.read_text().replace("name: example-syscall-loop", "name: mine"))
    monkeypatch.chdir(tmp_path)
    exp = load_experiment(root / "configs" / "example.yaml", ["workloads=[mine.yaml, ../workloads/gzip.yaml]"])
    assert exp.workload_files == [tmp_path / "mine.yaml", root / "workloads" / "gzip.yaml"]
    assert exp.workloads[0]["name"] == "mine"
