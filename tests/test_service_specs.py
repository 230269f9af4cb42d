"""Each service's spec is the one description of it: the YAML schema and its error lines are built
from its settings dataclass, its crossings name columns it declares, its short labels read back
from a record."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from veilperf.analysis.tables.labels import display_name, short_service_label
from veilperf.config.loader import load_experiment, validate_point
from veilperf.config.services import Services
from veilperf.errors import ConfigError
from veilperf.run import run_config
from veilperf.services.registry import SPECS, spec

ROOT = Path(__file__).resolve().parents[1]

# The error lines of main before the settings moved into the services' modules (file: key: message).
BAD_SETTINGS = [
    ({"enc": {"enclave_size": 16}}, "setup.services.enc.enclave_size: bare number 16: a size needs a unit"),
    ({"enc": {"switchless_workers": 0}},
     "setup.services.enc.switchless_workers: Input should be greater than or equal to 1 (got 0)"),
    ({"enc": {"timer_hz": "abc"}}, "setup.services.enc.timer_hz: cannot read 'abc' as a rate"),
    ({"enc": {"colour": 1}}, "setup.services.enc.colour: unknown key 'colour' (known keys: enabled, enclave_size, "
                             "timer_hz, switchless, switchless_workers, page_tables, touched_share)"),
    ({"log": {"rules": {"select": "some"}}},
     "setup.services.log.rules.select: Input should be 'all', 'names' or 'classes' (got 'some')"),
    ({"log": {"rules": {"select": "names"}}}, "setup.services.log.rules: select: names needs a non-empty names list"),
    ({"log": {"rules": {"select": "classes", "classes": ["files"]}}},
     "setup.services.log.rules: unknown syscall class(es) files; known: file, fileinfo, io, network, process, "
     "memory, ipc, time, module, other"),
    ({"log": {"rules": {"selec": "all"}}}, "setup.services.log.rules.selec: unknown key 'selec'; did you mean 'select'?"),
    ({"log": {"record_sizes": {"cwd": 5}}}, "setup.services.log.record_sizes.cwd: bare number 5: a size needs a unit"),
    ({"log": {"records_per_call": 0}},
     "setup.services.log.records_per_call: Input should be greater than or equal to 1 (got 0)"),
    ({"log": {"rules": {"names": "read"}}}, "setup.services.log.rules.names: Input should be a valid list (got 'read')"),
    ({"kci": {"pages_per_call": "x"}}, "setup.services.kci.pages_per_call: Input should be a valid integer"),
    ({"notary": {"enabled": True}}, "setup.services.notary: unknown key 'notary' (known keys: enc, log, kci)"),
]


@pytest.mark.parametrize("services,message", BAD_SETTINGS, ids=[m.split(":")[0] for _, m in BAD_SETTINGS])
def test_bad_service_settings_are_one_line_naming_the_file_and_key_as_before(tmp_path, services, message):
    experiment = yaml.safe_load((ROOT / "configs" / "example.yaml").read_text())
    experiment["platform"] = str(ROOT / "configs" / "platforms" / "milan.yaml")
    experiment["workloads"] = [str(ROOT / "workloads" / "example-syscall-loop.yaml")]
    experiment["setup"]["services"] = services
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(experiment))
    with pytest.raises(ConfigError) as info:
        loaded = load_experiment(path, [])
        validate_point(loaded, loaded.resolve(0, {}, baseline=False))
    assert f"{path}: {message}" in str(info.value)
    assert "\n" not in str(info.value)


def test_the_yaml_defaults_are_the_settings_dataclasses_defaults():
    """Written once: the validated empty section equals the dataclass's defaults, field by field."""
    services = Services()
    for service in SPECS:
        section = getattr(services, service.name).model_dump(exclude={"enabled"})
        assert service.settings_of(section) == service.defaults, service.name
        assert [f.name for f in dataclasses.fields(service.settings)] == list(section)


def test_every_crossing_names_columns_its_service_declares():
    for service in SPECS:
        declared = {c.name for c in service.columns}
        assert all(c.name.startswith((f"{service.name}.", f"costs.{service.name}.")) for c in service.columns)
        assert all(c.unit in ("ns", "bytes", "count", "share", "text") for c in service.columns)
        for part in service.crossing.parts:
            assert {part.count, part.cost, part.switching} <= declared


@pytest.mark.parametrize("name,settings,label", [
    ("enc", {}, "enc"),
    ("enc", {"switchless": True}, "enc switchless"),
    ("enc", {"switchless": True, "switchless_workers": 2, "enclave_size": 4 * 2**20}, "enc switchless x2 4MiB"),
    ("enc", {"page_tables": "private"}, "enc private PT"),
    ("enc", {"page_tables": "private", "touched_share": 0.05}, "enc private PT touched 0.05"),
    ("enc", {"touched_share": 0.05}, "enc"),  # no effect with shared page tables
    ("log", {}, "log all"),
    ("log", {"rules": {"select": "classes", "classes": ["file", "network"]}}, "log file+net"),
    ("log", {"rules": {"select": "names", "names": ["read", "write", "openat", "close"]}, "records_per_call": 4},
     "log read,write,openat,+1 batch 4"),
    ("log", {"reader_period": None, "record_model": "single"}, "log all single unread"),
    ("kci", {"hash_pages": False, "pages_per_call": 64}, "kci unhashed 64 pages/call"),
])
def test_short_labels_say_what_differs_from_the_defaults(name, settings, label):
    assert spec(name).short_label(spec(name).settings_of(settings)) == label


def test_short_labels_and_names_read_back_from_a_record(make_cfg):
    setup = {"mode": "veil", "vcpus": 2, "services": {
        "enc": {"enabled": True, "switchless": True, "enclave_size": "1MiB"},
        "kci": {"enabled": True, "hash_pages": False}}}
    record = run_config(make_cfg([{"compute": "5us"}, {"syscall": {"name": "read", "kernel": "1us"}}],
                                 setup=setup, run={"iterations": 20}))
    assert record["service"] == "enc+kci"
    assert short_service_label(record) == "enc switchless 1MiB + kci unhashed"
    assert display_name(record["service"]) == "VeilS-Enc (enclaves) + VeilS-Kci (kernel code integrity)"
    logged = run_config(make_cfg([{"syscall": {"name": "read", "kernel": "1us"}}], run={"iterations": 5}, setup={
        "mode": "veil", "services": {"log": {"enabled": True, "rules": {"select": "classes",
                                                                          "classes": ["file", "io", "ipc", "time", "memory"]}}}}))
    assert short_service_label(logged) == "log file+io+ipc+time+mem"  # five classes: stored as JSON text
