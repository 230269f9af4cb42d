"""Recordings never collide, and `validate` notices a trace that changed under its workload.

`record` names the trace after the workload file (`traces/<stem>.strace.gz`), takes the next free
name when that file belongs to another workload (or to none), stores the trace's sha256 in the
provenance, and `veilperf validate` checks it."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from veilperf import cli

needs_strace = pytest.mark.skipif(shutil.which("strace") is None,
                                  reason="strace is not installed (apt-get install strace)")

FIX = Path(__file__).parent / "fixtures" / "trace"


def record(out: Path, program: str) -> None:
    assert cli.main(["workload", "record", "--runs", "2", "--out", str(out), "--",
                     sys.executable, "-c", program]) == 0


def provenance(workload: Path) -> dict:
    return yaml.safe_load(workload.read_text())["provenance"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@needs_strace
def test_two_recordings_of_one_program_name_keep_their_own_traces(tmp_path, capsys):
    """Two `python3 -c` programs recorded into one folder: two traces, each named after its
    workload, each the one its workload's sha256 describes, each holding its own program."""
    first, second = tmp_path / "first.yaml", tmp_path / "other.yaml"
    record(first, "print('first program')")
    record(second, "import os; os.getpid(); print('second program')")
    for workload, text in ((first, "first program"), (second, "second program")):
        prov = provenance(workload)
        trace = tmp_path / prov["trace"]
        assert trace == tmp_path / "traces" / f"{workload.stem}.strace.gz"
        assert sha256(trace) == prov["sha256"]
        assert text in gzip.decompress(trace.read_bytes()).decode()
    capsys.readouterr()
    assert cli.main(["validate", str(first), str(second)]) == 0
    assert capsys.readouterr().out.count("matches its sha256") == 2
    trace = tmp_path / "traces" / "other.strace.gz"  # edited: the other program's workload no longer matches
    trace.write_bytes(gzip.compress(gzip.decompress(trace.read_bytes()) + b"\n", mtime=0))
    assert cli.main(["validate", str(first), str(second)]) == 2
    captured = capsys.readouterr()
    assert captured.out.count("OK ") == 1 and f"{second}: provenance.sha256:" in captured.err


@needs_strace
def test_a_trace_another_workload_names_is_never_overwritten(tmp_path, capsys):
    """Re-recording a workload replaces its own trace; when another workload names that trace
    too (a copy), the new recording takes the next free name and both stay valid."""
    mine = tmp_path / "mine.yaml"
    record(mine, "print(1)")
    assert provenance(mine)["trace"] == "traces/mine.strace.gz"
    record(mine, "print(2)")  # its own trace: replaced in place
    assert provenance(mine)["trace"] == "traces/mine.strace.gz"
    shutil.copy(mine, tmp_path / "copy.yaml")  # now another workload names traces/mine.strace.gz
    kept = sha256(tmp_path / "traces" / "mine.strace.gz")
    capsys.readouterr()
    record(mine, "print(3)")
    assert "traces/mine-2.strace.gz" in capsys.readouterr().err
    assert provenance(mine)["trace"] == "traces/mine-2.strace.gz"
    assert sha256(tmp_path / "traces" / "mine.strace.gz") == kept == provenance(tmp_path / "copy.yaml")["sha256"]
    assert cli.main(["validate", str(mine), str(tmp_path / "copy.yaml")]) == 0


def test_a_file_no_workload_names_is_not_taken_either(tmp_path):
    from veilperf.trace.record import trace_path_for

    (tmp_path / "traces").mkdir()
    (tmp_path / "traces" / "w.strace.gz").write_bytes(b"a user's file")
    assert trace_path_for(tmp_path / "w.yaml") == tmp_path / "traces" / "w-2.strace.gz"


@pytest.fixture
def imported(tmp_path) -> Path:
    """A workload imported from a copy of a fixture trace, next to it."""
    shutil.copy(FIX / "single.strace", tmp_path / "single.strace")
    out = tmp_path / "w" / "single.yaml"
    out.parent.mkdir()
    assert cli.main(["workload", "import", str(tmp_path / "single.strace"), "--out", str(out)]) == 0
    return out


def test_validate_fails_in_one_line_when_the_trace_changed(imported, capsys):
    assert provenance(imported)["trace"] == "../single.strace"  # relative to the workload file
    capsys.readouterr()
    assert cli.main(["validate", str(imported)]) == 0
    assert "matches its sha256" in capsys.readouterr().out
    trace = imported.parent.parent / "single.strace"
    trace.write_text(trace.read_text().replace("<0.000020>", "<0.000021>", 1))
    assert cli.main(["validate", str(imported)]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert str(imported) in err and "provenance.sha256" in err and "changed" in err
    assert "OK" not in captured.out


def test_validate_warns_when_the_trace_is_gone(imported, capsys):
    (imported.parent.parent / "single.strace").unlink()
    capsys.readouterr()
    assert cli.main(["validate", str(imported)]) == 0
    assert "warning: its trace" in capsys.readouterr().out
