"""Mutated real trace lines (and a real strace -c table): the importer either warns and skips, or
raises TraceError; nothing else."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from veilperf.config.workload import WorkloadSpec
from veilperf.trace.importer import ImportOptions, import_trace
from veilperf.trace.strace_parser import TraceError

FIX = Path(__file__).parent / "fixtures" / "trace"
SOURCES = {name: (FIX / name).read_text().splitlines()
           for name in ("real_http_excerpt.strace", "real_sha256sum_head.strace", "threads.strace",
                        "real_gzip.c.txt")}
ORIGINAL_C_CALLS = 2161  # total row of real_gzip.c.txt
ALPHABET = "0123456789.:<>()=?- ,\"+xEN[]{}resumed"

mutation = st.tuples(
    st.sampled_from(["delete_char", "insert_char", "truncate_line", "duplicate_line", "delete_line",
                     "swap_lines", "truncate_file"]),
    st.integers(min_value=0, max_value=10_000),  # line
    st.integers(min_value=0, max_value=10_000),  # position in the line / second line
    st.sampled_from(ALPHABET),
)


def mutate(lines: list[str], kind: str, i: int, j: int, char: str) -> list[str]:
    lines = list(lines)
    if not lines:
        return lines
    i %= len(lines)
    line = lines[i]
    at = j % (len(line) + 1)
    if kind == "delete_char" and line:
        lines[i] = line[:at % len(line)] + line[at % len(line) + 1:]
    elif kind == "insert_char":
        lines[i] = line[:at] + char + line[at:]
    elif kind == "truncate_line":
        lines[i] = line[:at]
    elif kind == "duplicate_line":
        lines.insert(i, line)
    elif kind == "delete_line":
        del lines[i]
    elif kind == "swap_lines":
        k = j % len(lines)
        lines[i], lines[k] = lines[k], lines[i]
    elif kind == "truncate_file":
        lines = lines[:i] + [line[:at]]
    return lines


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=st.sampled_from(sorted(SOURCES)), mutations=st.lists(mutation, min_size=1, max_size=6),
       mode=st.sampled_from(["replay", "sample"]), final_newline=st.booleans(),
       wall=st.one_of(st.none(), st.floats(min_value=1e3, max_value=1e10)))
def test_mutated_traces_warn_or_raise_trace_error(source, mutations, mode, final_newline, wall):
    lines = SOURCES[source]
    for m in mutations:
        lines = mutate(lines, *m)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mutated.strace"
        path.write_text("\n".join(lines) + ("\n" if final_newline else ""))
        try:
            result = import_trace([path], ImportOptions(mode=mode, wall_time_ns=wall))
        except TraceError as err:
            assert str(path) in str(err)
            return
    spec = WorkloadSpec.model_validate(result.workload)  # the importer's output is always valid
    assert math.isfinite(result.expected_total_ns) and result.expected_total_ns >= 0
    # each lane lasts at most the traced span (or the untraced wall time, if longer); what is removed came out of the lanes
    # (sample mode rounds iterations per thread, hence the slack)
    # nothing is added, except that a given untraced wall time above the traced span stretches the
    # timelines to it (the measurement is the anchor): each lane by at most that much, since a lane
    # lasts at most the span
    stretch = 0.0 if wall is None else max(0.0, wall - result.traced_span_ns)
    assert result.correction_ns >= -stretch * spec.threads * (1 + 1e-9)
    if spec.replay is not None or source.endswith(".strace"):
        assert (result.expected_total_ns + result.correction_ns
                <= 1.01 * max(result.traced_span_ns, wall or 0.0) * spec.threads + 1e-6)
    steps = [s for thread in spec.replay for s in thread] if spec.replay else []
    durations = [s.compute for s in steps if s.compute is not None]
    durations += [s.syscall.kernel for s in steps if s.syscall is not None]
    assert all(math.isfinite(d) and d >= 0 for d in durations)
    if source.endswith(".c.txt"):  # a -c table: unless warned about, its counts are the original's
        if not result.warnings:
            assert sum(e.weight for e in spec.mix.calls) == ORIGINAL_C_CALLS
        return
    calls = sum(s.syscall.repeat for s in steps if s.syscall) if spec.replay else spec.iterations * spec.threads
    assert calls <= len(lines) + spec.threads  # sample mode rounds iterations per thread


def test_mutation_that_breaks_a_line_is_reported():
    lines = list(SOURCES["real_sha256sum_head.strace"])
    lines[10] = lines[10][:25]  # cut mid-call
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cut.strace"
        path.write_text("\n".join(lines) + "\n")
        result = import_trace([path], ImportOptions())
    assert any("line 11: unreadable line; skipped" in w for w in result.warnings)


def test_duplicated_call_line_is_reported_not_counted_twice():
    lines = list(SOURCES["real_sha256sum_head.strace"])
    lines.insert(5, lines[4])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dup.strace"
        path.write_text("\n".join(lines) + "\n")
        result = import_trace([path], ImportOptions())
    assert result.workload["iterations"] == len(SOURCES["real_sha256sum_head.strace"])
    assert any("line 6: " in w and "starts before its previous call" in w for w in result.warnings)
