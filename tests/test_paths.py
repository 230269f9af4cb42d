"""The path policy of veilperf/sweep/paths.py, function by function (the commands that apply it
are walked in tests/test_sweep_faults.py and tests/test_bad_input_corpus.py)."""

from __future__ import annotations

import re

import pytest

from veilperf.errors import VeilperfError
from veilperf.sweep.manifest import EDITED, INTACT, UNVERIFIED, dump_manifest, manifest_state
from veilperf.sweep.paths import (ResultsIOError, check_root, file_system_of, inside, plain_name, refuse_inputs,
                                  remove_leftovers, remove_owned, safe_name, write_atomic)


@pytest.mark.parametrize("name, ok", [
    ("enclave", True), ("a.b-c_1", True), ("x" * 64, True), ("x" * 65, False), (".", False), ("..", False),
    ("../x", False), ("a/b", False), ("/abs", False), ("", False), (".hidden", False), ("-dash", False),
    ("a\0b", False), ("a b", False), (3, False), (None, False),
])
def test_safe_names_are_slugs_only(name, ok):
    if ok:
        assert safe_name(name, "m.yaml") == name
    else:
        with pytest.raises(ResultsIOError, match=r"^m\.yaml: experiment: .* is not a safe name"):
            safe_name(name, "m.yaml")


@pytest.mark.parametrize("name, ok", [
    ("claims.png", True), ("my results-overhead.png", True), ("claims.pdf", False), ("../x.png", False),
    ("/etc/x.png", False), ("sub/x.png", False), (".hidden.png", False), ("a\\b.png", False), ("", False),
    ("a\0.png", False), ("x" * 252 + ".png", False), (["x.png"], False),
])
def test_index_entries_must_be_plain_file_names(name, ok):
    assert plain_name(name, ".png") is ok


def test_inside_follows_every_symlink(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "exp").mkdir(parents=True)
    outside.mkdir()
    (root / "exp" / "parts").symlink_to(outside)
    (root / "inner").symlink_to(root / "exp")
    assert inside(root, root / "exp" / "runs.parquet") == root / "exp" / "runs.parquet"
    assert inside(root, root / "inner" / "x")  # a link that stays inside is fine
    for path in (root / "exp" / "parts" / "p.arrow", root / ".." / "outside", tmp_path):
        with pytest.raises(ResultsIOError, match="refusing to write outside the results folder"):
            inside(root, path)


def test_results_roots_are_ordinary_folders(tmp_path):
    assert check_root(tmp_path / "new") == tmp_path / "new"  # creatable
    (tmp_path / "file").write_text("x")
    with pytest.raises(ResultsIOError, match="results folder is a file"):
        check_root(tmp_path / "file")
    if file_system_of("/proc") != "proc":
        pytest.skip("no proc file system mounted at /proc")
    for root in ("/proc", "/proc/self", "/sys/kernel"):
        with pytest.raises(ResultsIOError, match="not an ordinary folder"):
            check_root(root)


def test_remove_owned_deletes_only_plain_regular_marked_files(tmp_path):
    folder, outside = tmp_path / "figures", tmp_path / "outside.png"
    folder.mkdir()
    outside.write_text("x")
    (folder / "ours.png").write_text("veilperf-inputs:abc")
    (folder / "theirs.png").write_text("no mark")
    (folder / "link.png").symlink_to(outside)
    (folder / "sub.png").mkdir()
    mark = lambda path: "veilperf-inputs:" in path.read_text()  # noqa: E731
    assert [remove_owned(folder, n, mark) for n in ("ours.png", "theirs.png", "link.png", "sub.png",
                                                    "../outside.png", str(outside), "gone.png")] == \
        [True, False, False, False, False, False, False]
    assert sorted(p.name for p in folder.iterdir()) == ["link.png", "sub.png", "theirs.png"] and outside.exists()


def test_leftovers_are_only_veilperfs_temporaries(tmp_path):
    for name in (".runs.parquet.tmp", ".manifest.yaml.tmp", ".notes.tmp", "runs.parquet.tmp", ".runs.parquet.tmp.x"):
        (tmp_path / name).write_text("x")
    (tmp_path / "target").write_text("keep")
    (tmp_path / ".linked.yaml.tmp").symlink_to(tmp_path / "target")
    removed = remove_leftovers(tmp_path, re.compile(r"runs\.parquet|manifest\.yaml|linked\.yaml"))
    assert sorted(p.name for p in removed) == [".manifest.yaml.tmp", ".runs.parquet.tmp"]
    assert (tmp_path / "target").read_text() == "keep" and (tmp_path / ".linked.yaml.tmp").is_symlink()


def test_outputs_never_resolve_to_inputs(tmp_path):
    (tmp_path / "t.strace").write_text("x")
    (tmp_path / "ff").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "t.strace")
    refuse_inputs([tmp_path / "w.yaml", tmp_path / "ffx" / "w.yaml"], [tmp_path / "t.strace", tmp_path / "ff"])
    for out, fragment in ((tmp_path / "t.strace", "is the input"), (tmp_path / "alias", "is the input"),
                          (tmp_path / "ff" / ".." / "t.strace", "is the input"),
                          (tmp_path / "ff" / "w.yaml", "inside the input folder")):
        with pytest.raises(VeilperfError, match=fragment):
            refuse_inputs([out], [tmp_path / "t.strace", tmp_path / "ff"])


def test_atomic_writes_never_follow_a_link_at_the_temporary_name(tmp_path):
    (tmp_path / "victim").write_text("keep")
    (tmp_path / ".out.txt.tmp").symlink_to(tmp_path / "victim")
    write_atomic(tmp_path / "out.txt", lambda tmp: tmp.write_text("new"))
    assert (tmp_path / "victim").read_text() == "keep" and (tmp_path / "out.txt").read_text() == "new"


def test_a_manifest_says_whether_it_was_edited():
    text = dump_manifest({"experiment": "x", "date": "2026-01-01", "experiment_text": "a: 1\nb: [2]\n"}).encode()
    assert manifest_state(text) == INTACT
    assert manifest_state(text.replace(b"2026-01-01", b"2027-02-02")) == INTACT  # the date is not content
    assert manifest_state(text.replace(b"a: 1", b"a: 2")) == EDITED
    assert manifest_state(text + b"extra: 1\n") == EDITED
    assert manifest_state(text.replace(b"checksum: sha256:", b"checksum: sha256:0")) == EDITED
    assert manifest_state(b"experiment: x\npoints: 2\n") == UNVERIFIED  # written before checksums
    assert dump_manifest({"experiment": "x", "checksum": "forged"}).count("checksum:") == 1
