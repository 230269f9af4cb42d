"""`veilperf schema`: the JSON Schema accepts every shipped file and rejects bad ones."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from veilperf.cli import main
from veilperf.config.json_schema import json_schema
from veilperf.config.yaml_file import load_yaml

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = {"experiment": sorted((ROOT / "configs").glob("*.yaml")),
           "workload": sorted((ROOT / "workloads").glob("*.yaml"))}


def validator(kind: str) -> jsonschema.Draft202012Validator:
    schema = json_schema(kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("kind", sorted(SHIPPED))
def test_every_shipped_file_is_valid(kind):
    check = validator(kind)
    assert SHIPPED[kind]
    for file in SHIPPED[kind]:
        errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in check.iter_errors(load_yaml(file))]
        assert not errors, f"{file.name}: {errors[:3]}"


def test_bad_files_are_rejected():
    experiment = load_yaml(ROOT / "configs" / "enclave.yaml")
    check = validator("experiment")
    for key, value in (("replications", 0), ("kind", "benchmark"), ("colour", "red"),
                       ("setup", {"vcpus": 2, "sched_quantum": 3000000}),  # a bare number: no unit
                       ("setup", {"services": {"enc": {"enclave_size": "16 parsecs"}}})):
        assert not check.is_valid({**experiment, key: value}), key
    workload = load_yaml(ROOT / "workloads" / "example-syscall-loop.yaml")
    bad_step = {**workload, "steps": [{"compute": "10us"}, {"syscall": {"name": "getpid", "kernel": "281"}}]}
    assert not validator("workload").is_valid(bad_step)
    # a unit field accepts what veilperf parses, e.g. cycles, and the model's own spellings
    ok_step = {**workload, "steps": [{"compute": "33000cycles"}, {"syscall": {"name": "getpid", "kernel": "2.5µs"}}]}
    assert validator("workload").is_valid(ok_step)


def test_cli_writes_the_schema(tmp_path, capsys):
    out = tmp_path / "workload.schema.json"
    assert main(["schema", "workload", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == json_schema("workload")
    assert capsys.readouterr().out == f"wrote {out}\n"
    assert main(["schema", "experiment"]) == 0
    assert json.loads(capsys.readouterr().out)["title"].startswith("veilperf experiment")
