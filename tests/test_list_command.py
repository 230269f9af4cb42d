"""`veilperf list` (issue 21.2): every shipped file with its own description, whole when piped,
wrapped (never cut) on a terminal, as JSON, and a user's folder beside the shipped one."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from veilperf import cli

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"workloads": ROOT / "workloads", "platforms": ROOT / "configs" / "platforms",
           "experiments": ROOT / "configs"}


def _described(folder: Path) -> dict[str, str]:
    """name -> description (whitespace collapsed) of every YAML file in ``folder``."""
    out = {}
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        out[data["name"]] = " ".join(str(data.get("description", "")).split())
    return out


@pytest.mark.parametrize("kind", sorted(FOLDERS))
def test_piped_listing_has_every_file_on_one_full_line(kind, capsys):
    assert cli.main(["list", kind]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = _described(FOLDERS[kind])
    entries = [line.split(None, 1) for line in lines if line.startswith("  ")]
    assert {name: text for name, text in entries} == expected


def test_terminal_listing_wraps_to_the_width_and_keeps_every_word(capsys, monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setattr(shutil, "get_terminal_size", lambda *a, **k: os.terminal_size((60, 24)))
    assert cli.main(["list", "workloads"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(len(line) <= 60 for line in lines)
    described = _described(FOLDERS["workloads"])
    words = " ".join(described.values()).split() + list(described)
    assert sorted(" ".join(lines[1:]).split()) == sorted(words)  # wrapped, no word cut or lost


def test_json_listing_names_each_file(capsys):
    assert cli.main(["list", "platforms", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {e["name"]: e["description"] for e in listed} == _described(FOLDERS["platforms"])
    assert all(Path(e["file"]).name == f"{e['name']}.yaml" for e in listed)


def test_a_users_folder_is_listed_by_kind(tmp_path, capsys):
    shutil.copy(ROOT / "workloads" / "gzip.yaml", tmp_path / "mine.yaml")
    shutil.copy(ROOT / "configs" / "platforms" / "milan.yaml", tmp_path / "host.yaml")  # another kind
    assert cli.main(["list", "workloads", "--dir", str(tmp_path), "--dir", str(ROOT / "workloads"), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [Path(e["file"]).name for e in listed if Path(e["file"]).parent == tmp_path] == ["mine.yaml"]
    assert len(listed) == len(_described(FOLDERS["workloads"])) + 1  # the shipped folder once
