"""Bad input to `veilperf workload record`: one line on stderr, exit 2, nothing written (the
trace-side cases, empty or impossible traces, are in test_trace_validation.py)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from veilperf import cli

needs_strace = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")


def record(tmp_path: Path, capsys, *args: str) -> str:
    """Run `workload record` in ``tmp_path``; check exit 2, one line, nothing written; the line."""
    before = sorted(tmp_path.rglob("*"))
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        code = cli.main(["workload", "record", *args])
    finally:
        os.chdir(cwd)
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if not line.startswith("veilperf: native run")
              and not line.startswith("veilperf: traced run")]  # progress lines are not errors
    assert code == 2 and len(errors) == 1 and "Traceback" not in "\n".join(err), err
    assert errors[0].startswith("veilperf: error: ")
    assert sorted(tmp_path.rglob("*")) == before
    return errors[0]


def test_missing_strace_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    line = record(tmp_path, capsys, "--out", "w.yaml", "--", sys.executable, "-c", "pass")
    assert "strace not found" in line and "apt-get install strace" in line


@needs_strace
@pytest.mark.parametrize("command, says", [
    (["false"], "`false` exited with status 1"),
    ([sys.executable, "-c", "import sys; sys.stderr.write('disk on fire\\n'); sys.exit(3)"],
     "exited with status 3 (its last message: 'disk on fire')"),
    ([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"],
     "was killed by signal 9"),
    (["no-such-program-veilperf"], "cannot run 'no-such-program-veilperf': No such file or directory"),
])
def test_failing_command_names_its_status(tmp_path, capsys, command, says):
    line = record(tmp_path, capsys, "--out", "w.yaml", "--", *command)
    assert says in line and "nothing written" in line


@pytest.mark.parametrize("out, says", [
    (".", "Is a directory"),
    ("missing/w.yaml", "No such file or directory (folder missing does not exist)"),
])
def test_bad_out_is_refused_before_running_anything(tmp_path, capsys, out, says):
    line = record(tmp_path, capsys, "--out", out, "--", "touch", str(tmp_path / "ran"))
    assert says in line


def test_unwritable_out_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(os, "access", lambda *a, **k: False)  # tests may run as root
    line = record(tmp_path, capsys, "--out", "w.yaml", "--", "touch", str(tmp_path / "ran"))
    assert "Permission denied (cannot write there)" in line


def test_out_of_a_read_only_place_fails_at_write_with_one_line(tmp_path, capsys, monkeypatch):
    """An OS error at the final write (e.g. a read-only file system) is one line; nothing is left."""
    import tempfile

    from veilperf.trace import yaml_out

    def refuse(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(Exception) as err:
        yaml_out.write_atomic(tmp_path / "w.yaml", "x: 1\n")
    assert str(err.value) == f"{tmp_path / 'w.yaml'}: cannot write: Read-only file system"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, says", [
    (["--out", "w.yaml"], "give the command to record after `--`"),
    (["--runs", "1", "--out", "w.yaml", "--", "true"], "--runs: at least 2"),
    (["--name", "../x", "--out", "w.yaml", "--", "true"], "--name: '../x'"),
])
def test_bad_arguments(tmp_path, capsys, args, says):
    assert says in record(tmp_path, capsys, *args)
