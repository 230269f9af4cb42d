"""The limits behind the bad-input corpus: alias expansion, size bounds and their estimates, and
what they must still let through (every shipped experiment, ordinary anchors, shipped platforms
by name)."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest

from veilperf.config import bounds
from veilperf.config.bounds import MAX_POINTS, OPS_BUDGET, estimate_ops, estimate_points, iteration_cost_ns
from veilperf.config.loader import SHIPPED_PLATFORMS, load_experiment, load_run_config
from veilperf.config.yaml_file import MAX_ALIAS_NODES, parse_yaml_value
from veilperf.errors import ConfigError
from veilperf.sweep.points import expand, raw_point
from veilperf.run import validate_raw

ROOT = Path(__file__).resolve().parents[1]


def alias_chain(width: int, depth: int) -> str:
    """A flow mapping whose last level expands to ``width ** depth`` leaves through aliases."""
    levels = ["&l0 [" + ", ".join(["x"] * width) + "]"]
    levels += [f"&l{d} [" + ", ".join([f"*l{d - 1}"] * width) + "]" for d in range(1, depth)]
    return "{" + ", ".join(f"k{d}: {level}" for d, level in enumerate(levels)) + "}"


def test_aliases_may_add_up_to_the_bound_and_no_more():
    # Each alias *a repeats the 10 nodes of the anchored sequence (the sequence and its 9 items).
    def repeated(aliases: int) -> str:
        return "{a: &a [" + ", ".join(["x"] * 9) + "], b: [" + ", ".join(["*a"] * aliases) + "]}"

    allowed = MAX_ALIAS_NODES // 10
    assert len(parse_yaml_value(repeated(allowed), source="--set", key_path="k")["b"]) == allowed
    with pytest.raises(ConfigError, match="at most 100,000 more"):
        parse_yaml_value(repeated(allowed + 1), source="--set", key_path="k")
    with pytest.raises(ConfigError, match="alias bomb"):
        parse_yaml_value(alias_chain(10, 9), source="--set", key_path="k")  # 10^9 leaves: refused at once


def test_ordinary_anchors_are_fine_and_shared_values_are_equal():
    data = parse_yaml_value("{base: &b {vcpus: 2, mode: veil}, a: *b, c: *b}", source="--set", key_path="k")
    assert data["a"] == data["c"] == {"vcpus": 2, "mode": "veil"}


@pytest.mark.parametrize("text", ["&a [*a]", "&a {x: [1, {y: *a}]}"])
def test_recursive_aliases_are_refused(text):
    with pytest.raises(ConfigError, match="recursive alias"):
        parse_yaml_value(text, source="--set", key_path="k")


def test_every_shipped_experiment_is_within_every_budget():
    for file in sorted(glob.glob(str(ROOT / "configs" / "*.yaml"))):
        exp = load_experiment(file)
        points = expand(exp)
        assert len(points) <= estimate_points(exp) <= MAX_POINTS, file
        if exp.kind == "workload":
            worst = max(estimate_ops(validate_raw(raw_point(exp, p))) for p in points)
            assert 0 < worst < OPS_BUDGET / 100, file  # far from the budget


def test_point_estimate_is_exact_without_shared_baselines():
    exp = load_experiment(ROOT / "tests" / "fixtures" / "sweep" / "experiment.yaml")
    # 2 grid values x 2 zip rows x 2 replications, each with its own baseline
    assert estimate_points(exp) == len(expand(exp)) == 16


def test_iteration_cost_and_operations_follow_the_steps(make_cfg):
    steps = [{"compute": "10us"},
             {"syscall": {"name": "read", "kernel": "2us", "blocked": "3us", "repeat": 4}},
             {"call": {"domain": "ser", "handler": {"dist": "uniform", "low": "1us", "high": "3us"}}}]
    cfg = make_cfg(steps, run={"iterations": 1000}, workload={"threads": 3})
    assert iteration_cost_ns(cfg.workload) == (10e3 + 4 * 2e3 + 2e3, 4 * 3e3, 1 + 4 + 1)
    assert estimate_ops(cfg) == 1000 * 3 * 6
    # a duration: each of the 3 threads fits 1 s / 32 us iterations, but 1 VCPU runs only
    # 1 s / 20 us of their CPU time
    timed = make_cfg(steps, run={"duration": "1s"}, workload={"threads": 3})
    assert estimate_ops(timed) == pytest.approx(1e9 / 20e3 * 6)


def test_open_loop_operations_come_from_the_arrival_rate(make_cfg):
    cfg = make_cfg([{"compute": "5us"}], run={"duration": "2s"},
                   workload={"loop": "open", "arrival_rate": "1000/s", "iterations_per_request": 3})
    assert estimate_ops(cfg) == pytest.approx(2 * 1000 * 3)


def test_force_large_lifts_the_budget_but_not_the_hard_limits():
    example = ROOT / "configs" / "example.yaml"
    long_run = ["run.iterations=null", "run.duration=3000s"]
    with pytest.raises(ConfigError, match="budget"):
        load_run_config(example, long_run)
    exp = load_experiment(example, long_run, force_large=True)
    assert exp.force_large
    from veilperf.config.loader import validate_point

    assert validate_point(exp, exp.resolve(0, {})).run.duration == 3000e9
    with pytest.raises(ConfigError, match="KVM_MAX_VCPUS"):
        huge = load_experiment(example, ["setup.vcpus=2048"], force_large=True)
        validate_point(huge, huge.resolve(0, {}))


def test_budget_constants_say_why():
    for name in ("MAX_VCPUS", "MAX_THREADS", "MAX_ITERATIONS", "MAX_DURATION_NS", "OPS_BUDGET", "MAX_POINTS"):
        assert hasattr(bounds, name)
    assert bounds.MAX_VCPUS == 1024  # KVM_MAX_VCPUS on x86-64


def test_shipped_platforms_resolve_by_name(tmp_path):
    (tmp_path / "exp.yaml").write_text(
        f"name: byname\nplatform: milan\nworkloads: [{ROOT / 'workloads' / 'example-syscall-loop.yaml'}]\n"
        "run: {iterations: 5}\n")
    exp = load_experiment(tmp_path / "exp.yaml")
    assert exp.platform_file == SHIPPED_PLATFORMS / "milan.yaml" and exp.base["platform"]["name"] == "milan"
    # a profile of that name beside the experiment wins over the shipped one; paths still work
    (tmp_path / "platforms").mkdir()
    (tmp_path / "platforms" / "milan.yaml").write_text((SHIPPED_PLATFORMS / "milan.yaml").read_text())
    assert load_experiment(tmp_path / "exp.yaml").platform_file == tmp_path / "platforms" / "milan.yaml"
    assert load_experiment(ROOT / "configs" / "example.yaml").platform_file == SHIPPED_PLATFORMS / "milan.yaml"


# === Issue 20, item 7 (helper `robust`): bounded reads. The limits themselves (their boundaries,
# each with its override), the streamed line reader against str.splitlines, and the columns that
# keep a trace's memory at a fixed cost per call whatever its lines' length.

import gzip  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402

import numpy as np  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from veilperf.config.yaml_file import MAX_DEPTH, load_yaml  # noqa: E402
from veilperf.errors import VeilperfError  # noqa: E402
from veilperf.files import NotRegularFile, open_regular, size_limit  # noqa: E402
from veilperf.trace import reader  # noqa: E402
from veilperf.trace.events import CallTable, SyscallEvent  # noqa: E402
from veilperf.trace.strace_parser import TraceError  # noqa: E402

TRACE_LINE = "100  10:00:{s:02d}.{us:06d} read(3, \"{arg}\"..., 4096) = 4096 <0.000012>\n"


def lines_of(path: Path) -> list[tuple[int, str]]:
    with reader.trace_lines(path) as lines:
        return list(lines)


@settings(max_examples=300, deadline=None)
@given(data=st.lists(st.sampled_from([b"a", b"bc", b"\n", b"\n", b"\r", b"\r\n", b" ", b"\xff", b"\xc3\xa9",
                                      b"\x0b", b"\x1c", b"\xe2\x80\xa8"]), max_size=60).map(b"".join),
       chunk=st.integers(min_value=1, max_value=9))
def test_streamed_lines_are_the_lines_splitlines_gives(tmp_path_factory, data, chunk):
    """Numbered as ``text.splitlines()`` numbers them, every non-empty one given; and the last line
    (empty or not) is given last, so that a parser knows it (a truncated last line is told apart)."""
    path = tmp_path_factory.mktemp("lines") / "t.strace"
    path.write_bytes(data)
    original = reader._CHUNK
    reader._CHUNK = chunk  # block boundaries anywhere, inside lines and between \r and \n
    try:
        got = lines_of(path)
    finally:
        reader._CHUNK = original
    want = list(enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1))
    assert [line for line in got if line[1]] == [line for line in want if line[1]]
    assert (got or [None])[-1] == (want or [None])[-1]


def test_an_overlong_line_is_cut_and_the_next_lines_keep_their_numbers(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "MAX_LINE_BYTES", 16)
    monkeypatch.setattr(reader, "_CHUNK", 5)
    path = tmp_path / "t.strace"
    path.write_bytes(b"ab\n" + b"x" * 100 + b"\ncd\n\nef")
    assert lines_of(path) == [(1, "ab"), (2, "x" * 16), (3, "cd"), (5, "ef")]


@pytest.mark.parametrize("compress", [False, True])
def test_the_trace_size_limit_holds_at_its_boundary(tmp_path, monkeypatch, compress):
    text = "".join(TRACE_LINE.format(s=i // 1000, us=i % 1000, arg="x" * 20) for i in range(200)).encode()
    path = tmp_path / ("t.strace.gz" if compress else "t.strace")
    path.write_bytes(gzip.compress(text) if compress else text)
    monkeypatch.setenv(reader.TRACE_SIZE_VARIABLE, f"{len(text)}B")
    assert len(lines_of(path)) == 200
    monkeypatch.setenv(reader.TRACE_SIZE_VARIABLE, f"{len(text) - 1}B")
    with pytest.raises(TraceError, match="set VEILPERF_MAX_TRACE_SIZE"):
        lines_of(path)
    monkeypatch.delenv(reader.TRACE_SIZE_VARIABLE)
    assert size_limit(reader.TRACE_SIZE_VARIABLE, reader.MAX_TRACE_BYTES) == 512 << 20


def test_the_yaml_size_limit_holds_at_its_boundary(tmp_path, monkeypatch):
    path = tmp_path / "w.yaml"
    path.write_text("name: w\nnotes: " + "x" * 1000 + "\n")
    size = path.stat().st_size
    monkeypatch.setenv("VEILPERF_MAX_YAML_SIZE", f"{size}B")
    assert load_yaml(path)["name"] == "w"
    monkeypatch.setenv("VEILPERF_MAX_YAML_SIZE", f"{size - 1}B")
    with pytest.raises(ConfigError, match=rf"larger than {size - 1} B \(set VEILPERF_MAX_YAML_SIZE, e.g. "
                                          r"VEILPERF_MAX_YAML_SIZE=1MiB, to read it\)"):
        load_yaml(path)
    monkeypatch.setenv("VEILPERF_MAX_YAML_SIZE", "-3MiB")
    with pytest.raises(VeilperfError, match="VEILPERF_MAX_YAML_SIZE='-3MiB'"):
        load_yaml(path)


def test_nesting_up_to_the_limit_is_read_and_one_level_more_is_refused(tmp_path):
    def depth(levels: int) -> Path:  # the top-level mapping is one level, then nested lists
        path = tmp_path / f"d{levels}.yaml"
        path.write_text("a: " + "[" * (levels - 1) + "1" + "]" * (levels - 1) + "\n")
        return path

    assert load_yaml(depth(MAX_DEPTH))["a"] is not None
    with pytest.raises(ConfigError, match=f"nested more than {MAX_DEPTH} levels deep"):
        load_yaml(depth(MAX_DEPTH + 1))
    with pytest.raises(ConfigError, match=f"nested more than {MAX_DEPTH} levels deep"):
        parse_yaml_value("[" * 500 + "]" * 500, source="--set", key_path="k")  # RecursionError before


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "f"
    os.mkfifo(fifo)

    def hung(signum, frame):
        raise AssertionError("opening a FIFO blocked")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(10)
    try:
        with pytest.raises(NotRegularFile, match="is a FIFO"):
            open_regular(fifo)
        with pytest.raises(TraceError, match="is a FIFO"):
            lines_of(fifo)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_calls_survive_the_columns_exactly():
    events = [SyscallEvent(7, "mmap", 1.5e13, 12000.0, 0xFFFF_FFFF_FFFF_F000, None, 0, 0, "a.strace:3"),
              SyscallEvent(7, "read", 1.6e13, 2000.0, 4096, None, 0, 4096, "a.strace:4"),
              SyscallEvent(8, "openat", 1.7e13, 5000.0, -2, "ENOENT", 0, 0, "b.strace:9"),
              SyscallEvent(8, "exit_group", 1.8e13, 0.0, None, None, 0, 0, "b.strace:10")]
    table = CallTable.of(events)
    assert list(table) == events and table[-1] == events[-1] and list(table[1:3]) == events[1:3]
    assert table.failed.tolist() == [False, False, True, False]


def test_a_trace_costs_the_same_per_call_whatever_its_lines_length(tmp_path):
    """Memory follows the calls, not the text: 10x longer lines, the same column bytes."""
    def column_bytes(arg: str) -> tuple[int, int]:
        path = tmp_path / f"t{len(arg)}.strace"
        path.write_text("".join(TRACE_LINE.format(s=i // 1000, us=i % 1000, arg=arg) for i in range(3000)))
        trace = reader.read_trace([path])
        return trace.call_count, sum(a.nbytes for t in trace.calls.values() for a in t.columns.values())

    short, long = column_bytes("x" * 10), column_bytes("x" * 1000)
    # 65 bytes a call: tid 4, name 2, start 8, kernel 8, ret 8, ret kind 1, errno 2, bytes in/out 8 + 8,
    # file 4, line 4, pages 8 (64-bit: one mmap may span more pages than 32 bits count)
    assert short == long and short[1] == 65 * short[0]


def test_local_stops_are_the_window_quantiles_by_definition():
    """The vectorised local stop costs against the definition: per call, the sorted -T times of the
    calls within WINDOW on each side, the one at position min(n - 1, int(q n))."""
    from veilperf.trace.blind import STOP_QUANTILES, WINDOW, _local_stops

    rng = np.random.default_rng(3)
    for n in (1, 5, 2 * WINDOW, 2 * WINDOW + 1, 40, 1000):
        kernel = rng.exponential(10e3, n).round(-3)  # -T resolution: many ties
        for i, stops in enumerate(_local_stops(kernel)):
            near = sorted(kernel[max(0, i - WINDOW):i + WINDOW + 1])
            assert stops.tolist() == [near[min(len(near) - 1, int(q * len(near)))] for q in STOP_QUANTILES]


def test_size_limits_read_units_and_refuse_nonsense(monkeypatch):
    monkeypatch.setenv("VEILPERF_X", "64MiB")
    assert size_limit("VEILPERF_X", 1) == 64 << 20
    monkeypatch.setenv("VEILPERF_X", " ")
    assert size_limit("VEILPERF_X", 5) == 5
    for bad in ("64", "0B", "lots"):
        monkeypatch.setenv("VEILPERF_X", bad)
        with pytest.raises(VeilperfError, match="environment variable VEILPERF_X"):
            size_limit("VEILPERF_X", 1)
