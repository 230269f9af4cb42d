"""strace parsing against hand counts: calls, pairs, signals, exits, failures, bytes, -ff, -c."""

from __future__ import annotations

from pathlib import Path

import pytest

from veilperf.trace.events import SummaryTable
from veilperf.trace.reader import read_trace
from veilperf.trace.strace_parser import TraceError

FIX = Path(__file__).parent / "fixtures" / "trace"
US = 1e3


def test_single_thread_hand_counts():
    t = read_trace([FIX / "single.strace"])
    calls = t.calls[100]
    assert [c.name for c in calls] == ["execve", "brk", "openat", "openat", "read", "read", "write",
                                       "close", "exit_group"]
    assert t.errors() == {"openat": 1}
    assert calls[2].errno == "ENOENT" and calls[2].ret == -1
    assert calls[1].ret == 0x55d0c3a4e000
    # a string argument containing ") = 7 <0.1>" does not fool the parser
    assert calls[4].ret == 4096 and calls[4].kernel_ns == pytest.approx(20 * US)
    assert calls[-1].kernel_ns == pytest.approx(50 * US)  # exit_group: until its exit line
    assert t.exits == {100: "exited with 0"}
    assert t.span_ns == pytest.approx(1350 * US)
    assert t.warnings == []


def test_bytes_from_return_values():
    t = read_trace([FIX / "single.strace"])
    by_name = {}
    for c in t.calls[100]:
        b_in, b_out = by_name.get(c.name, (0, 0))
        by_name[c.name] = (b_in + c.bytes_in, b_out + c.bytes_out)
    assert by_name["read"] == (0, 4096)  # 4096 + 0 at end of file
    assert by_name["write"] == (6, 0)
    assert by_name["openat"] == (0, 0)  # a descriptor, not a byte count
    threads = read_trace([FIX / "threads.strace"])
    moved = {c.name: (c.bytes_in, c.bytes_out) for cs in threads.calls.values() for c in cs}
    assert moved["write"] == (10, 0) and moved["read"] == (0, 4)
    assert moved["sendto"] == (4, 0) and moved["recvfrom"] == (0, 5)  # -y fd paths in the args
    assert moved["kill"] == (0, 0)


def test_unfinished_resumed_signals_exits():
    t = read_trace([FIX / "threads.strace"])
    assert sorted(t.calls) == [200, 201]
    assert [c.name for c in t.calls[200]] == ["clone", "wait4", "sendto", "recvfrom", "kill"]
    assert [c.name for c in t.calls[201]] == ["write", "read", "exit_group"]
    wait4 = t.calls[200][1]
    assert wait4.start_ns - t.first_ns == pytest.approx(100 * US)  # start from the unfinished line
    assert wait4.kernel_ns == pytest.approx(360 * US) and wait4.ret == 201
    read = t.calls[201][1]
    assert read.start_ns - t.first_ns == pytest.approx(200 * US) and read.bytes_out == 4
    assert t.signals == {"SIGUSR1": 1, "SIGCHLD": 1}
    assert t.exits == {201: "exited with 3", 200: "killed by SIGKILL"}
    assert t.errors() == {"kill": 1}
    assert t.call_count == 8 and t.warnings == []


def test_ff_files_take_pid_from_name_and_read_gz():
    t = read_trace(sorted((FIX / "ff").iterdir()))
    assert {tid: len(calls) for tid, calls in t.calls.items()} == {300: 4, 301: 3, 302: 2}
    assert t.warnings == []  # both children were created by the root's traced clones
    assert t.signals == {"SIGCHLD": 1}
    assert set(t.exits) == {300, 301, 302}
    assert t.span_ns == pytest.approx(750 * US)


def test_pid_bracket_prefix_epoch_timestamps_pread_pwrite():
    t = read_trace([FIX / "pidbracket_epoch.strace"])
    assert {tid: [c.name for c in cs] for tid, cs in t.calls.items()} == {
        400: ["getppid", "pread64"], 401: ["pwrite64"]}
    assert t.calls[400][1].bytes_out == 2 and t.calls[401][0].bytes_in == 3
    assert t.span_ns == pytest.approx(23 * US)
    assert t.warnings == ["thread 401 (" + str(FIX / "pidbracket_epoch.strace") + ":3) was not created "
                          "by a traced clone/fork: attached later, or a corrupt pid"]


def test_midnight_wrap():
    t = read_trace([FIX / "midnight.strace"])
    assert t.span_ns == pytest.approx(21 * US)


def test_truncated_last_line_is_a_warning():
    t = read_trace([FIX / "truncated.strace"])
    assert [c.name for c in t.calls[100]][-1] == "close" and t.call_count == 8
    assert len(t.warnings) == 1 and "line 9: truncated last line" in t.warnings[0]


def test_unreadable_and_orphan_lines_warn(tmp_path):
    lines = (FIX / "threads.strace").read_text().splitlines()
    del lines[1]  # wait4's unfinished line: its resumed line becomes an orphan
    lines.insert(3, "this is not strace output")
    path = tmp_path / "t.strace"
    path.write_text("\n".join(lines) + "\n")
    t = read_trace([path])
    assert [c.name for c in t.calls[200]] == ["clone", "sendto", "recvfrom", "kill"]
    assert any("line 4: " in w and "unreadable" in w for w in t.warnings)
    assert any("wait4 resumed without its unfinished start" in w for w in t.warnings)


def test_summary_table_hand_counts():
    table = read_trace([FIX / "summary.c.txt"])
    assert isinstance(table, SummaryTable)
    assert [(r.name, r.calls, r.errors) for r in table.rows] == [("read", 30, 0), ("openat", 30, 2),
                                                                ("close", 20, 0)]
    assert table.total_calls == 80 and table.total_seconds == pytest.approx(0.001)


def test_real_summary_matches_its_total_row():
    table = read_trace([Path(__file__).parents[1] / "workloads" / "traces" / "gzip.c.txt"])
    assert table.warnings == [] and table.total_calls > 1000


@pytest.mark.parametrize("name, message", [
    ("summary_no_total.c.txt", "no 'total' row"),
    ("does-not-exist.strace", "no such trace file"),
])
def test_bad_files_raise_trace_error(name, message):
    with pytest.raises(TraceError, match=message) as err:
        read_trace([FIX / name])
    assert str(FIX / name) in str(err.value)


def test_text_without_calls_is_an_error(tmp_path):
    path = tmp_path / "junk.strace"
    path.write_text("hello\nworld\n")
    with pytest.raises(TraceError, match="no system call") as err:
        read_trace([path])
    assert "line 1" in str(err.value)  # the first skipped line is named
