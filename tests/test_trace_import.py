"""Trace import: strace correction (closed forms), replay/sample totals, -c import, CLI, and the
cvm simulation of an imported real trace reproducing the untraced wall time."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from veilperf.cli import main
from veilperf.config.workload import WorkloadSpec
from veilperf.run import run_resolved
from veilperf.services.syscall_classes import MM_CALLS
from veilperf.trace.correction import corrected_timeline, estimate, lanes
from veilperf.trace.importer import ImportOptions, import_trace
from veilperf.trace.reader import read_trace, sha256_of
from veilperf.trace.strace_parser import TraceError
from veilperf.units import parse_duration, parse_size

ROOT = Path(__file__).parents[1]
FIX = ROOT / "tests" / "fixtures" / "trace"
TRACES = ROOT / "workloads" / "traces"
US = 1e3

# tests/fixtures/trace/single.strace by hand: 9 calls, 8 gaps between them
SINGLE_SPAN = 1350 * US
SINGLE_KERNEL = (100 + 2 + 5 + 10 + 20 + 3 + 4 + 2 + 50) * US
SINGLE_GAPS = (100 + 98 + 95 + 90 + 480 + 97 + 96 + 98) * US
SINGLE_FIXED = 9 * 2 * US + 8 * 90 * US  # shortest kernel time 2 us, shortest gap 90 us


def mean(spec) -> float:
    """Expected value of a TimeSpec (a duration in ns or a Distribution)."""
    return spec if isinstance(spec, float) else spec.expected


def replay_total(workload: dict) -> float:
    spec = WorkloadSpec.model_validate(workload)
    total = 0.0
    for steps in spec.replay:
        for step in steps:
            if step.compute is not None:
                total += step.compute
            else:
                total += (step.syscall.kernel + step.syscall.blocked) * step.syscall.repeat
    return total


def test_uncorrected_import_keeps_the_hand_counted_times():
    trace = read_trace([FIX / "single.strace"])
    correction, _ = estimate(trace, None, overhead_ns=0.0)
    timeline = corrected_timeline(trace.calls[100], correction)
    assert sum(c.kernel_ns for c in timeline.calls) == pytest.approx(SINGLE_KERNEL)
    assert sum(c.gap_ns for c in timeline.calls) == pytest.approx(SINGLE_GAPS)
    assert timeline.total_ns == pytest.approx(trace.span_ns)


@pytest.mark.parametrize("wall_us, expected_us", [
    (1000, 1000),  # less than the minima: the uniform part is scaled down
    (400, 400),  # more than the minima: the rest comes off the gaps in proportion
    (5000, 5000),  # untraced slower than traced (a busy machine): stretched to the anchor
])
def test_correction_removes_exactly_the_overhead(wall_us, expected_us):
    wall = wall_us * US
    result = import_trace([FIX / "single.strace"], ImportOptions(mode="replay", wall_time_ns=wall))
    assert replay_total(result.workload) == pytest.approx(expected_us * US, rel=1e-5)
    assert result.expected_total_ns == pytest.approx(expected_us * US, rel=1e-9)
    assert result.correction_ns == pytest.approx(SINGLE_SPAN - expected_us * US, rel=1e-9)


def test_correction_split_closed_form():
    trace = read_trace([FIX / "single.strace"])
    correction, _ = estimate(trace, 400 * US)
    rest = (SINGLE_SPAN - 400 * US) - SINGLE_FIXED
    left = SINGLE_SPAN - SINGLE_FIXED
    assert correction.kernel_ns == pytest.approx(2 * US) and correction.gap_ns == pytest.approx(90 * US)
    assert correction.gap_scale == pytest.approx(1 - rest / left)
    assert correction.kernel_scale == pytest.approx(correction.gap_scale)
    timeline = corrected_timeline(trace.calls[100], correction)
    assert all(c.gap_ns >= 0 and c.kernel_ns >= 0 for c in timeline.calls)
    assert timeline.calls[1].kernel_ns == 0.0  # brk, the shortest call
    assert timeline.calls[5].gap_ns == pytest.approx((480 - 90) * US * correction.gap_scale)
    assert timeline.calls[4].kernel_ns == pytest.approx((20 - 2) * US * correction.kernel_scale)


def test_correction_given_as_measured_total():
    trace = read_trace([FIX / "single.strace"])
    correction, _ = estimate(trace, None, overhead_ns=350 * US)
    assert correction.gap_scale == pytest.approx(1.0) and correction.kernel_scale == pytest.approx(1.0)
    assert correction.kernel_ns == pytest.approx(2 * US * 350 / 738)
    assert corrected_timeline(trace.calls[100], correction).total_ns == pytest.approx(1000 * US)
    everything, _ = estimate(trace, None, overhead_ns=10 * SINGLE_SPAN)  # more than the span
    assert everything.gap_scale == 0.0 and everything.kernel_scale == 0.0
    assert corrected_timeline(trace.calls[100], everything).total_ns == pytest.approx(0.0, abs=1e-6)


def test_user_time_sets_the_compute_total():
    trace = read_trace([FIX / "single.strace"])
    correction, _ = estimate(trace, 400 * US, user_ns=300 * US)
    timeline = corrected_timeline(trace.calls[100], correction)
    assert sum(c.gap_ns for c in timeline.calls) == pytest.approx(300 * US)
    assert sum(c.kernel_ns for c in timeline.calls) == pytest.approx(100 * US)
    capped, _ = estimate(trace, 400 * US, user_ns=900 * US)  # more user time than wall: all compute
    timeline = corrected_timeline(trace.calls[100], capped)
    assert sum(c.gap_ns for c in timeline.calls) == pytest.approx(400 * US)
    assert sum(c.kernel_ns for c in timeline.calls) == pytest.approx(0.0, abs=1e-6)


def test_sample_mix_weights_bytes_and_expected_total():
    result = import_trace([FIX / "single.strace"], ImportOptions(wall_time_ns=1000 * US))
    spec = WorkloadSpec.model_validate(result.workload)
    entries = {e.name: e for e in spec.mix.calls}
    assert {k: e.weight for k, e in entries.items()} == {
        "openat": 2, "read": 2, "brk": 1, "close": 1, "execve": 1, "exit_group": 1, "write": 1}
    assert entries["read"].bytes_out == 2048  # mean of 4096 and 0
    assert entries["write"].bytes_in == 6
    assert spec.iterations == 9 and spec.threads == 1
    mean_kernel = sum(e.weight * mean(e.kernel) for e in spec.mix.calls) / 9
    assert 9 * (mean(spec.mix.gap) + mean_kernel) == pytest.approx(1000 * US, rel=1e-5)


def test_threads_fold_into_lanes_and_replay_lists():
    trace = read_trace(sorted((FIX / "ff").iterdir()))
    folded = lanes(trace)
    assert [sorted({c.tid for c in lane}) for lane in folded] == [[300], [301, 302]]
    result = import_trace(sorted((FIX / "ff").iterdir()), ImportOptions(mode="replay"))
    assert result.workload["threads"] == 2 and len(result.workload["replay"]) == 2
    lane = result.workload["replay"][1]
    names = [s["syscall"]["name"] for s in lane if "syscall" in s]
    assert names == ["getpid", "write", "exit_group", "getpid", "exit_group"]


def test_coalesce_keeps_totals_and_shrinks():
    path = TRACES / "sha256sum.strace.gz"
    plain = import_trace([path], ImportOptions(mode="replay"))
    merged = import_trace([path], ImportOptions(mode="replay", coalesce=True))
    assert replay_total(merged.workload) == pytest.approx(replay_total(plain.workload), rel=1e-5)
    assert len(merged.workload["replay"][0]) < len(plain.workload["replay"][0]) / 10
    calls = [s["syscall"] for s in merged.workload["replay"][0] if "syscall" in s]
    traced = read_trace([path])
    assert sum(c.get("repeat", 1) for c in calls) == traced.call_count
    bytes_out = sum(parse_size(c.get("bytes_out", "0B")) * c.get("repeat", 1) for c in calls)
    assert bytes_out == sum(c.bytes_out for calls in traced.calls.values() for c in calls)


def test_summary_table_import():
    result = import_trace([FIX / "summary.c.txt"], ImportOptions(wall_time_ns=2000 * US))
    spec = WorkloadSpec.model_validate(result.workload)
    assert spec.mix.gap == pytest.approx((2000 - 1000) / 80 * US)
    assert {e.name: (e.weight, e.kernel) for e in spec.mix.calls} == {
        "read": (30, pytest.approx(20 * US)), "openat": (30, pytest.approx(10 * US)),
        "close": (20, pytest.approx(5 * US))}
    assert spec.iterations == 80 and result.expected_total_ns == pytest.approx(2000 * US)
    with pytest.raises(TraceError, match="--wall-time"):
        import_trace([FIX / "summary.c.txt"], ImportOptions())
    with pytest.raises(TraceError, match="--mode sample"):
        import_trace([FIX / "summary.c.txt"], ImportOptions(mode="replay", wall_time_ns=1e6))


def _measured_wall_ns(workload: str) -> float:
    """The untraced median wall time `veilperf workload record` measured for a shipped workload."""
    data = yaml.safe_load((ROOT / "workloads" / f"{workload}.yaml").read_text())
    return parse_duration(data["provenance"]["native"]["wall"])


def _milan() -> dict:
    return yaml.safe_load((ROOT / "configs" / "platforms" / "milan.yaml").read_text())


@pytest.mark.parametrize("mode, length_factor", [("replay", None), ("sample", 20)])
def test_cvm_simulation_reproduces_untraced_wall_time(mode, length_factor):
    """Single-thread real trace (sha256sum of 64 MiB): imported with the measured untraced wall
    time, simulated in cvm mode on one VCPU, it takes that wall time (x length) within 5%."""
    path = TRACES / "sha256sum.strace.gz"
    wall = _measured_wall_ns("sha256sum")
    calls = read_trace([path]).call_count
    length = calls * length_factor if length_factor else None
    result = import_trace([path], ImportOptions(mode=mode, wall_time_ns=wall, length=length))
    record = run_resolved({"name": "trace-check", "kind": "workload", "platform": _milan(),
                               "setup": {"mode": "cvm", "vcpus": 1}, "workload": result.workload,
                               "seed": 3})
    assert record["sim_time_ns"] == pytest.approx(wall * (length_factor or 1), rel=0.05)


def test_cli_import_and_show(tmp_path, capsys):
    out = tmp_path / "w.yaml"
    code = main(["workload", "import", str(FIX / "threads.strace"), "--mode", "replay", "--out", str(out),
                 "--command", "prog", "--machine", "test box", "--wall-time", "500us"])
    assert code == 0
    data = yaml.safe_load(out.read_text())
    assert data["provenance"]["command"] == "prog" and len(data["provenance"]["sha256"]) == 64
    # two lanes: 200's calls (423 us) and gaps (180 us), 201's (160 us; exit_group ends at the exit
    # 50 us later) and gaps (170 us): 933 us of lane time over the 700 us span, so the 200 us that
    # strace added to the wall time came off 933/700 lanes at once
    concurrency = (603 + 330) / 700
    assert parse_duration(data["provenance"]["strace_overhead_per_call"]) == pytest.approx(
        (700 - 500) * concurrency * US / 8, rel=1e-4)
    assert "SIGCHLD x1" in data["provenance"]["notes"]
    assert main(["workload", "show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "wait4" in shown and "system calls" in shown


def test_cli_bad_trace_exits_2_and_writes_nothing(tmp_path, capsys):
    junk = tmp_path / "junk.strace"
    junk.write_text("not a trace\n")
    out = tmp_path / "w.yaml"
    assert main(["workload", "import", str(junk), "--out", str(out)]) == 2
    assert "junk.strace" in capsys.readouterr().err and not out.exists()
    assert main(["workload", "import", str(FIX / "single.strace"), "--wall-time", "12"]) == 2
    assert "--wall-time" in capsys.readouterr().err


def test_shipped_workloads_match_their_traces():
    """Every trace-derived workload names a shipped trace with the right sha256, and its mix
    counts every traced call but those of idle helper lanes, which the notes report."""
    shipped = [p for p in sorted((ROOT / "workloads").glob("*.yaml"))
               if yaml.safe_load(p.read_text()).get("provenance", {}).get("source") == "trace"]
    assert len(shipped) >= 7
    for path in shipped:
        spec = WorkloadSpec.model_validate(yaml.safe_load(path.read_text()))
        files = [path.parent / f for f in spec.provenance.trace.split()]  # relative to the workload
        assert sha256_of(files) == spec.provenance.sha256, path
        weights, traced = sum(e.weight for e in spec.mix.calls), read_trace(files).call_count
        assert weights == traced or (0.97 * traced < weights < traced and "dropped" in spec.provenance.notes)


def test_shipped_workloads_carry_the_pages_their_traces_give():
    """Each memory-management call of a shipped mix says the mean pages the importer reads from
    the workload's own trace (mmap/munmap/mprotect/madvise lengths, brk moves), and only those
    calls say any: re-importing the trace gives the same weights and pages."""
    shipped = [p for p in sorted((ROOT / "workloads").glob("*.yaml"))
               if yaml.safe_load(p.read_text()).get("provenance", {}).get("source") == "trace"]
    for path in shipped:
        spec = WorkloadSpec.model_validate(yaml.safe_load(path.read_text()))
        fresh = import_trace([path.parent / f for f in spec.provenance.trace.split()], ImportOptions())
        again = {e["name"]: (e["weight"], e.get("pages")) for e in fresh.workload["mix"]["calls"]}
        assert {e.name: (e.weight, e.pages) for e in spec.mix.calls} == again, path
        assert {e.name for e in spec.mix.calls if e.pages is not None} == {n for n in again if n in MM_CALLS}, path


def test_idle_helper_threads_are_dropped():
    """Redis: one event-loop thread does the work; its bio threads block in futex all run long."""
    result = import_trace([TRACES / "redis.strace.gz"], ImportOptions())
    assert result.workload["threads"] == 1
    assert "4 lanes with under 1% of the calls each dropped" in result.workload["provenance"]["notes"]


MM_TRACE = """\
100 10:00:00.000100 brk(NULL)         = 0x55c000000000 <0.000002>
100 10:00:00.000200 mmap(NULL, 10000, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000 <0.000003>
100 10:00:00.000300 brk(0x55c000021000) = 0x55c000021000 <0.000002>
100 10:00:00.000400 mprotect(0x7f0000000000, 4096, PROT_READ) = 0 <0.000002>
100 10:00:00.000500 brk(0x55c000011000) = 0x55c000011000 <0.000002>
100 10:00:00.000600 madvise(0x7f0000000000, 8368128, MADV_DONTNEED) = 0 <0.000002>
100 10:00:00.000700 mremap(0x7f0000000000, 12288, 40960, MREMAP_MAYMOVE) = 0x7f1000000000 <0.000002>
100 10:00:00.000800 mmap(NULL, 65536, PROT_READ, MAP_PRIVATE, 3, 0) = -1 EBADF (Bad file descriptor) <0.000002>
100 10:00:00.000900 munmap(0x7f1000000000, 40960) = 0 <0.000002>
100 10:00:00.001000 read(3, "abcd", 4) = 4 <0.000002>
100 10:00:00.001100 mmap(NULL, 10000, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000 <0.000003>
100 10:00:00.001200 exit_group(0) = ?
100 10:00:00.001300 +++ exited with 0 +++
"""


def test_memory_management_calls_carry_their_pages(tmp_path):
    """Lengths over 4 KiB rounded up (mmap 10000 B: 3 pages; mprotect 1; madvise 8368128 B: 2043;
    mremap's new size 40960 B: 10; munmap 10), brk's move since the thread's previous break (the
    first, a query: 0; +0x21000: 33; -0x10000: 16), a failed call 0; replay steps and coalesced
    runs keep them, a mix call gets the mean, and only memory-management calls say any."""
    path = tmp_path / "mm.strace"
    path.write_text(MM_TRACE)
    replay = import_trace([path], ImportOptions(mode="replay", overhead_ns=0.0)).workload
    calls = [s["syscall"] for s in replay["replay"][0] if "syscall" in s]
    assert [(c["name"], c.get("pages")) for c in calls] == [
        ("brk", 0), ("mmap", 3), ("brk", 33), ("mprotect", 1), ("brk", 16), ("madvise", 2043), ("mremap", 10),
        ("mmap", 0), ("munmap", 10), ("read", None), ("mmap", 3), ("exit_group", None)]
    mix = import_trace([path], ImportOptions(overhead_ns=0.0)).workload["mix"]["calls"]
    assert {c["name"]: c.get("pages") for c in mix} == {
        "brk": pytest.approx(49 / 3, rel=1e-5), "mmap": 2, "mprotect": 1, "madvise": 2043, "mremap": 10, "munmap": 10,
        "read": None, "exit_group": None}
    WorkloadSpec.model_validate(replay)


def test_pages_beyond_32_bits_import_and_a_corrupt_length_is_capped_at_the_address_space(tmp_path):
    """A break moved by 80 TiB (2^34.3 pages: more than 32 bits hold; the fuzz test's mutation of a real
    trace found it as an OverflowError) keeps its page count; an mmap length beyond any 64-bit address
    space (a corrupt trace) counts the 2^52 pages of that address space, not an overflow."""
    path = tmp_path / "big.strace"
    path.write_text("100 10:00:00.000100 brk(NULL) = 0x10000000 <0.000002>\n"
                    "100 10:00:00.000200 brk(0x500010000000) = 0x500010000000 <0.000002>\n"
                    f"100 10:00:00.000300 mmap(NULL, {1 << 70}, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) "
                    "= 0x7f0000000000 <0.000003>\n")
    replay = import_trace([path], ImportOptions(mode="replay", overhead_ns=0.0)).workload
    pages = [s["syscall"].get("pages") for s in replay["replay"][0] if "syscall" in s]
    assert pages == [0, 0x500000000000 // 4096, (1 << 64) // 4096]


def test_coalesced_replay_keeps_calls_of_other_pages_apart(tmp_path):
    lines = [f"100 10:00:00.{i:06d} munmap(0x7f0000000000, {size}) = 0 <0.000001>"
             for i, size in enumerate((4096, 4096, 8192), start=1)]
    path = tmp_path / "runs.strace"
    path.write_text("\n".join(lines) + "\n")
    steps = import_trace([path], ImportOptions(mode="replay", coalesce=True, overhead_ns=0.0)).workload["replay"][0]
    assert [(s["syscall"]["pages"], s["syscall"].get("repeat", 1)) for s in steps if "syscall" in s] == [(1, 2), (2, 1)]
