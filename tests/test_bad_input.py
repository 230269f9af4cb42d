"""Bad input: each case gives exit 2 and exactly one stderr line naming the file and the key path,
with no traceback and nothing written; the same error is raised at library level."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from veilperf import cli
from veilperf.config.checks import check_file
from veilperf.config.loader import load_run_config
from veilperf.errors import ConfigError

FIXTURES = Path(__file__).parent / "fixtures" / "config"
MILAN = Path(__file__).parents[1] / "configs" / "platforms" / "milan.yaml"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A writable copy of the fixture experiment with its own copy of the Milan profile."""
    for name in ("experiment.yaml", "workload.yaml", "workload-open.yaml"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    shutil.copy(MILAN, tmp_path / "platform.yaml")
    edit_text(tmp_path / "experiment.yaml", "../../../configs/platforms/milan.yaml", "platform.yaml")
    return tmp_path


@pytest.fixture
def validate_only(monkeypatch):
    """Build the CLI with only `validate`, so these cases do not depend on other commands."""
    monkeypatch.setattr(cli, "COMMANDS", ("validate",))


def edit_data(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def edit_text(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"fixture no longer contains {old!r}"
    path.write_text(text.replace(old, new))


def rename_param(d: dict) -> None:
    d["params"]["swich_one_way"] = d["params"].pop("switch_one_way")


# (case, file edited, edit, file named in the error, key path, message fragment)
CASES = [
    ("missing key", "workload.yaml", lambda p: edit_data(p, lambda d: d["steps"][1]["syscall"].pop("kernel")),
     "workload.yaml", "steps.1.syscall.kernel", "missing required key"),
    ("unknown key", "platform.yaml", lambda p: edit_data(p, rename_param),
     "platform.yaml", "params.swich_one_way", "unknown key 'swich_one_way'; did you mean 'switch_one_way'?"),
    ("unknown top-level key", "experiment.yaml",
     lambda p: edit_data(p, lambda d: d.__setitem__("replication", d.pop("replications"))),
     "experiment.yaml", "replication", "did you mean 'replications'?"),
    ("bare number", "workload.yaml", lambda p: edit_text(p, "compute: 10us", "compute: 12"),
     "workload.yaml", "steps.0.compute", "bare number 12: a duration needs a unit"),
    ("bare number in the platform", "platform.yaml", lambda p: edit_data(
        p, lambda d: d["params"]["monitor_dispatch"].__setitem__("value", 50)),
     "platform.yaml", "params.monitor_dispatch.value", "bare number 50"),
    ("bad unit", "experiment.yaml", lambda p: edit_text(p, "iterations: 10", "duration: 1sec"),
     "experiment.yaml", "run.duration", "unknown time unit 'sec'"),
    ("bad clock unit", "platform.yaml", lambda p: edit_text(p, "value: 2.8GHz", "value: 2.8GHZ"),
     "platform.yaml", "clock.value", "unknown rate unit 'GHZ'"),
    ("negative duration", "workload.yaml", lambda p: edit_text(p, "compute: 10us", "compute: -5us"),
     "workload.yaml", "steps.0.compute", "negative duration"),
    ("wrong type", "experiment.yaml", lambda p: edit_text(p, "vcpus: 1", "vcpus: two"),
     "experiment.yaml", "setup.vcpus", "valid integer"),
    ("bad distribution", "workload-open.yaml", lambda p: edit_text(p, "mean: 100us", "mean: 100"),
     "workload-open.yaml", "steps.0.compute.mean", "bare number 100"),
    ("YAML syntax error", "workload.yaml", lambda p: edit_text(p, "threads: 1", "threads: [1"),
     "workload.yaml", "line 8", "invalid YAML"),
    ("duplicate key", "experiment.yaml", lambda p: edit_text(p, "seed: 3", "seed: 3\nseed: 4"),
     "experiment.yaml", "line 13", "duplicate key 'seed' (first at line 12)"),
    ("empty file", "experiment.yaml", lambda p: p.write_text("# nothing here\n"),
     "experiment.yaml", "<top level>", "file is empty"),
    ("top level not a mapping", "workload.yaml", lambda p: p.write_text("- compute: 1us\n"),
     "workload.yaml", "<top level>", "top level must be a mapping"),
    ("missing file", "experiment.yaml", lambda p: p.unlink(),
     "experiment.yaml", "<top level>", "file not found"),
    ("missing workload reference", "experiment.yaml", lambda p: edit_data(
        p, lambda d: d["workloads"].append("gone.yaml")),
     "experiment.yaml", "workloads.2", "'gone.yaml' not found"),
    ("missing platform reference", "experiment.yaml", lambda p: edit_text(p, "platform: platform.yaml", "platform: nowhere.yaml"),
     "experiment.yaml", "platform", "'nowhere.yaml' not found"),
    ("zip lengths differ", "experiment.yaml", lambda p: edit_text(p, "service_vcpus: [1, 1]", "service_vcpus: [1, 1, 2]"),
     "experiment.yaml", "sweep.zip.0", "equal length"),
    ("bad sweep value", "experiment.yaml", lambda p: edit_text(p, "6us]", "6uss]"),
     "experiment.yaml", 'sweep.grid["platform.params.switch_one_way"]', "unknown time unit 'uss'"),
    ("service without Veil", "experiment.yaml", lambda p: edit_text(
        p, "mode: veil", "mode: cvm\n  services: {enc: {enabled: true}}"),
     "experiment.yaml", "setup", "mode cvm has no Veil services"),
]


@pytest.mark.parametrize(("case", "edited", "edit", "named", "key_path", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_cli_reports_one_line_and_exits_2(project, validate_only, capsys, case, edited, edit, named, key_path, fragment):
    edit(project / edited)
    before = sorted(p.name for p in project.iterdir())

    code = cli.main(["validate", str(project / "experiment.yaml")])

    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert code == 2
    assert len(lines) == 1, err
    assert f"{project / named}: {key_path}: " in lines[0]
    assert fragment in lines[0]
    assert "Traceback" not in err and out == ""
    assert sorted(p.name for p in project.iterdir()) == before


@pytest.mark.parametrize(("case", "edited", "edit", "named", "key_path", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_library_raises_config_error(project, case, edited, edit, named, key_path, fragment):
    edit(project / edited)
    with pytest.raises(ConfigError) as caught:
        check_file(project / "experiment.yaml")
    assert caught.value.file == str(project / named)
    assert (caught.value.key_path or "<top level>") == key_path
    assert fragment in caught.value.message


@pytest.mark.parametrize(("override", "key_path", "fragment"), [
    ("setup.vcpuz=2", "setup.vcpuz", "unknown key 'vcpuz' in setup; did you mean 'setup.vcpus'?"),
    ("platform.params.switch_one_way=3", "platform.params.switch_one_way.value", "bare number 3"),
    ("workload.steps.7.compute=1us", "workload.steps.7.compute", "not an index"),
    ("seed", "seed", "expected key.path=value"),
])
def test_bad_override_names_the_set_option(project, override, key_path, fragment):
    with pytest.raises(ConfigError) as caught:
        load_run_config(project / "experiment.yaml", [override])
    assert caught.value.key_path == key_path
    assert fragment in caught.value.message


def test_cli_stops_at_first_bad_file_after_ok_lines(project, validate_only, capsys):
    edit_text(project / "workload.yaml", "compute: 10us", "compute: 12")
    code = cli.main(["validate", str(project / "platform.yaml"), str(project / "workload.yaml"),
                     str(project / "experiment.yaml")])
    out, err = capsys.readouterr()
    assert code == 2
    assert out.splitlines() == [f"OK {project / 'platform.yaml'}: platform profile 'milan'"]
    assert err.splitlines() == [f"veilperf: error: {project / 'workload.yaml'}: steps.0.compute: "
                                "bare number 12: a duration needs a unit (one of ns, us, µs, μs, ms, s, cycles)"]
