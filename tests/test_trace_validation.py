"""Impossible trace values: a few bad lines are warnings with counts, many refuse the trace with the
line number; empty traces are refused; an -ff folder is accepted; --out faults are one line, exit 2,
nothing written. Footprint of a blind import from the calls' own arguments."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from veilperf import cli
from veilperf.trace.importer import ImportOptions, import_trace
from veilperf.trace.reader import read_trace
from veilperf.trace.strace_parser import BAD_SHARE, MAX_BAD_LINES, TraceError

FIX = Path(__file__).parent / "fixtures" / "trace"


def good_lines(n: int, tid: int = 100) -> list[str]:
    """``n`` well-formed calls 100 us apart, each 2 us long."""
    return [f"{tid}  10:00:{i // 10000:02d}.{(i % 10000) * 100:06d} close(3) = 0 <0.000002>" for i in range(n)]


def write(tmp_path: Path, lines: list[str], name: str = "t.strace") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


BAD = {  # kind -> (a bad line stamped {ts} = the previous good line's stamp, message fragment)
    "hour 99": ("100  99:99:99.000000 close(3) = 0 <0.000002>", "impossible timestamp"),
    "pid 10^23": (f"{10**23}  {{ts}} close(3) = 0 <0.000002>", "impossible pid"),
    "return 10^30": (f"100  {{ts}} read(3, \"\", 9) = {10**30} <0.000002>", "impossible return value"),
    "return 2^63": (f"100  {{ts}} read(3, \"\", 9) = {2**63} <0.000002>", "impossible return value"),
    "backwards": ("100  09:59:59.000000 close(3) = 0 <0.000002>", "timestamp runs backwards"),
    "10^11 s call": ("100  {ts} close(3) = 0 <100000000000.000000>", "impossible duration"),
    "epoch among -tt": ("100  1700000000.000550 close(3) = 0 <0.000002>", "mixed timestamps"),
    "unknown name": ("100  {ts} raed(3) = 0 <0.000002>", "unknown system call 'raed'"),
}


def insert_bad(lines: list[str], kind: str, at: int) -> None:
    """Insert the bad line of ``kind`` before ``lines[at]``, stamped like the line before it."""
    stamp = lines[at - 1].split()[1]
    lines.insert(at, BAD[kind][0].format(ts=stamp))


@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_few_impossible_lines_are_counted_warnings(tmp_path, kind):
    lines = good_lines(400)
    insert_bad(lines, kind, 6)
    trace = read_trace([write(tmp_path, lines)])
    assert trace.call_count == 400  # the bad line is skipped, nothing else
    assert trace.warnings[0].startswith("1 of 401 lines with impossible values skipped")
    assert any(BAD[kind][1] in w and "line 7" in w for w in trace.warnings)


@pytest.mark.parametrize("kind", sorted(BAD))
def test_many_impossible_lines_refuse_the_trace_naming_the_first(tmp_path, kind):
    lines = good_lines(100)
    for at in range(10, 20):  # 10 of 110 lines: over max(3, 1%)
        insert_bad(lines, kind, at)
    with pytest.raises(TraceError, match=BAD[kind][1]) as err:
        read_trace([write(tmp_path, lines)])
    assert "line 11:" in str(err.value) and "10 of 110 lines" in str(err.value)


def test_the_tolerance_is_max_of_a_count_and_a_share(tmp_path):
    lines = good_lines(1000)
    allowed = int(max(MAX_BAD_LINES, BAD_SHARE * 1000))
    for at in range(allowed):
        insert_bad(lines, "hour 99", 10 + at)
    assert read_trace([write(tmp_path, lines)]).call_count == 1000
    insert_bad(lines, "hour 99", 10)
    with pytest.raises(TraceError):
        read_trace([write(tmp_path, lines)])


def test_backwards_trace_is_refused_not_silently_emptied(tmp_path):
    """Issue 14: timestamps running backwards gave a zero-time workload with 199 of 200 lines skipped."""
    lines = [f"100  10:00:{59 - i // 10:02d}.{(9 - i % 10) * 100000:06d} close(3) = 0 <0.000002>" for i in range(200)]
    with pytest.raises(TraceError, match="line 2: timestamp runs backwards"):
        import_trace([write(tmp_path, lines)], ImportOptions())


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_empty_trace_is_an_error(tmp_path, text):
    path = tmp_path / "empty.strace"
    path.write_text(text)
    with pytest.raises(TraceError, match="empty trace"):
        read_trace([path])


def test_ff_folder_is_read_like_its_files(tmp_path):
    folder = FIX / "ff"
    files = sorted(p for p in folder.iterdir() if p.is_file())
    by_files, by_folder = read_trace(files), read_trace([folder])
    assert by_folder.call_count == by_files.call_count > 0
    assert sorted(by_folder.calls) == sorted(by_files.calls)
    (tmp_path / "notes.txt").write_text("nothing\n")
    with pytest.raises(TraceError, match="no strace -ff files"):
        read_trace([tmp_path])


def test_blind_footprint_sums_mappings_brk_and_binary(tmp_path):
    binary = tmp_path / "prog"
    binary.write_bytes(b"\0" * 5000)
    lines = [
        f'100  10:00:00.000000 execve("{binary}", ["prog"], 0x7ffd /* 3 vars */) = 0 <0.000100>',
        "100  10:00:00.000200 brk(NULL) = 0x1000000 <0.000002>",
        "100  10:00:00.000300 mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, 3, 0) = 0x7f0000000000 <0.000005>",
        "100  10:00:00.000400 mmap(NULL, 1048576, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)"
        " = 0x7f0000100000 <0.000005>",
        "100  10:00:00.000500 munmap(0x7f0000100000, 1048576) = 0 <0.000005>",
        "100  10:00:00.000600 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)"
        " = 0x7f0000200000 <0.000005>",
        "100  10:00:00.000700 brk(0x1021000) = 0x1021000 <0.000002>",
        "100  10:00:00.000800 exit_group(0) = ?",
        "100  10:00:00.000900 +++ exited with 0 +++",
    ]
    result = import_trace([write(tmp_path, lines)], ImportOptions())
    # peak mmap total: 8 KiB + 1 MiB at once; brk grew 0x21000; the binary is 5000 B
    assert result.workload["footprint"] == f"{8192 + 1048576 + 0x21000 + 5000}B"
    assert "peak mmap total" in result.workload["provenance"]["footprint_source"]
    native = result.workload["provenance"]["native"]
    assert native["source"] == "estimated"


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    code = cli.main(args)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("case", ["folder", "missing folder", "unwritable"])
def test_import_out_faults_are_one_line_and_write_nothing(tmp_path, capsys, monkeypatch, case):
    out = {"folder": tmp_path, "missing folder": tmp_path / "no" / "w.yaml",
           "unwritable": tmp_path / "w.yaml"}[case]
    if case == "unwritable":  # the tests may run as root, who may write anywhere: deny it
        monkeypatch.setattr(os, "access", lambda *a, **k: False)
    before = sorted(tmp_path.rglob("*"))
    code, err = run_cli(["workload", "import", str(FIX / "single.strace"), "--out", str(out)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert str(out) in err and {"folder": "Is a directory", "missing folder": "No such file or directory",
                                "unwritable": "Permission denied"}[case] in err
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("case", ["empty", "backwards", "hour 99", "return 2^63", "return 10^30",
                                  "epoch among -tt", "10^11 s call"])
def test_bad_trace_by_cli_is_one_line_exit_2(tmp_path, capsys, case):
    if case == "empty":
        lines = []
    elif case == "backwards":
        lines = list(reversed(good_lines(20)))
    else:
        lines = good_lines(20)
        for at in range(3, 8):
            insert_bad(lines, case, at)
    trace = write(tmp_path, lines)
    out = tmp_path / "w.yaml"
    code, err = run_cli(["workload", "import", str(trace), "--out", str(out)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert str(trace) in err and ("empty trace" in err if case == "empty" else "line " in err)
    assert not out.exists()
