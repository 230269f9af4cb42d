"""Trace import: the time of calls that can block split into kernel CPU and blocked (by hand on a
small fixture, conservation on real traces), `workload show` of the split, and the closed-loop
simulation spending blocked time with the VCPU idle."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from veilperf.cli import main
from veilperf.config.workload import WorkloadSpec
from veilperf.run import run_resolved
from veilperf.trace.blocking import BLOCKING, cpu_estimates, low_quantile, split_blocking
from veilperf.trace.correction import corrected_timeline, estimate, lanes
from veilperf.trace.fit import bin_means, time_spec
from veilperf.trace.importer import MIN_LANE_SHARE, ImportOptions, import_trace
from veilperf.trace.reader import read_trace
from veilperf.trace.show import summarize
from veilperf.trace.yaml_out import dump

ROOT = Path(__file__).parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "trace" / "blocking.strace"
TRACES = ROOT / "workloads" / "traces"
US = 1e3

# tests/fixtures/trace/blocking.strace by hand (one thread, 10 us gaps, no strace correction):
# non-blocking read 8, write 12, read 5, close 4 us: median (nearest rank, 2nd of 4) 5 us;
# futex 3, 50, 200 us: 5% quantile 3 us (below 5: kept) -> CPU 3, 3, 3; blocked 0, 47, 197;
# poll 400, 300 us: 5% quantile 300 us, above 5 (every poll waited) -> CPU 5, 5; blocked 395, 295.
EXPECTED_SPLIT = [("read", 8, 0), ("futex", 3, 0), ("write", 12, 0), ("futex", 3, 47), ("read", 5, 0),
                  ("poll", 5, 395), ("futex", 3, 197), ("close", 4, 0), ("poll", 5, 295)]
SPAN_US = 1062
GAPS_US = 8 * 10
BLOCKED_US = 47 + 197 + 395 + 295
KERNEL_US = 8 + 3 + 12 + 3 + 5 + 5 + 3 + 4 + 5


def mean(spec) -> float:
    return spec if isinstance(spec, float) else spec.expected


def uncorrected() -> ImportOptions:
    return ImportOptions(mode="replay", overhead_ns=0.0)


@pytest.mark.parametrize("values, q, expected", [
    (list(range(1, 41)), 0.05, 2),  # rank ceil(0.05 * 40) = 2
    (list(range(20, 0, -1)), 0.05, 1),  # 20 values or fewer: the minimum
    ([7.0], 0.05, 7.0),
    ([4, 5, 8, 12], 0.5, 5),  # rank ceil(2) = 2
    ([4, 5, 8, 12, 1], 0.5, 5),  # rank ceil(2.5) = 3
])
def test_low_quantile_nearest_rank(values, q, expected):
    assert low_quantile(values, q) == expected


def test_cpu_estimate_by_hand():
    trace = read_trace([FIXTURE])
    correction, _ = estimate(trace, None, overhead_ns=0.0)
    estimates = cpu_estimates([corrected_timeline(trace.calls[500], correction)])
    assert set(estimates) == {"futex", "poll"}
    futex, poll = estimates["futex"], estimates["poll"]
    assert (futex.cpu_ns, futex.quantile_ns, futex.calls, futex.capped) == (3 * US, 3 * US, 3, False)
    assert (poll.cpu_ns, poll.quantile_ns, poll.calls, poll.capped) == (5 * US, 300 * US, 2, True)


def test_replay_split_by_hand():
    result = import_trace([FIXTURE], uncorrected())
    calls = [step["syscall"] for step in result.workload["replay"][0] if "syscall" in step]
    got = [(c["name"], c["kernel"], c.get("blocked")) for c in calls]
    assert got == [(name, f"{cpu}us", f"{blocked}us" if blocked else None)
                   for name, cpu, blocked in EXPECTED_SPLIT]
    assert result.expected_total_ns == pytest.approx(SPAN_US * US)
    notes = result.workload["provenance"]["notes"]
    assert f"kernel CPU {KERNEL_US * US / 1e9:.6f} s and blocked (asleep, VCPU free) " \
           f"{BLOCKED_US * US / 1e9:.6f} s" in notes
    assert "poll 5us (capped; its own 300us is waiting too) x2" in notes


def test_sample_split_by_hand():
    result = import_trace([FIXTURE], ImportOptions(overhead_ns=0.0))
    entries = {e.name: e for e in WorkloadSpec.model_validate(result.workload).mix.calls}
    assert entries["futex"].kernel == pytest.approx(3 * US)
    assert sorted(entries["futex"].blocked.samples) == pytest.approx([0, 47 * US, 197 * US])
    assert entries["poll"].kernel == pytest.approx(5 * US)
    assert sorted(entries["poll"].blocked.samples) == pytest.approx([295 * US, 395 * US])
    assert all(e.blocked == 0 for name, e in entries.items() if name not in BLOCKING)
    assert "blocked" not in dump(result.workload).split("name: read")[1].split("\n")[0]  # zero: omitted


def _corrected(name: str, options: ImportOptions):
    """The corrected timelines the importer starts from, before the split."""
    trace = read_trace([TRACES / f"{name}.strace.gz"])
    kept = [lane for lane in lanes(trace) if len(lane) >= MIN_LANE_SHARE * trace.call_count]
    correction, _ = estimate(trace, options.wall_time_ns, options.overhead_ns, kept, options.user_ns)
    return [corrected_timeline(lane, correction) for lane in kept]


@pytest.mark.parametrize("name, overhead_s", [("redis", 2.508064), ("http", 1.207734)])
def test_split_preserves_real_trace_totals(name, overhead_s):
    """Per call, kernel CPU + blocked equals the corrected time; only blocking calls block; and the
    imported mix keeps every name's total (weight x mean kernel + weight x mean blocked)."""
    options = ImportOptions(overhead_ns=overhead_s * 1e9)
    before = _corrected(name, options)
    after, _ = split_blocking(before)
    pairs = [(b, a) for tb, ta in zip(before, after) for b, a in zip(tb.calls, ta.calls)]
    assert all(a.kernel_ns + a.blocked_ns == pytest.approx(b.kernel_ns, abs=1e-6) for b, a in pairs)
    assert all(a.blocked_ns == 0 for _, a in pairs if a.call.name not in BLOCKING)
    assert all(0 <= a.kernel_ns <= b.kernel_ns for b, a in pairs)
    blocked = math.fsum(a.blocked_ns for _, a in pairs)
    assert blocked > 0.5 * math.fsum(b.kernel_ns for b, a in pairs if a.call.name in BLOCKING)

    spec = WorkloadSpec.model_validate(import_trace([TRACES / f"{name}.strace.gz"], options).workload)
    for entry in spec.mix.calls:
        traced = math.fsum(b.kernel_ns for b, _ in pairs if b.call.name == entry.name)
        assert entry.weight * (mean(entry.kernel) + mean(entry.blocked)) == pytest.approx(traced, rel=1e-5)
    assert math.fsum(e.weight * mean(e.blocked) for e in spec.mix.calls) == pytest.approx(blocked, rel=1e-5)


def test_show_reports_blocked_apart(tmp_path, capsys):
    result = import_trace([FIXTURE], uncorrected())
    summary = summarize(WorkloadSpec.model_validate(result.workload))
    assert summary.blocked_ns == pytest.approx(BLOCKED_US * US)
    assert summary.kernel_ns == pytest.approx(KERNEL_US * US)
    assert summary.compute_ns == pytest.approx(GAPS_US * US)
    assert summary.wall_ns == pytest.approx(SPAN_US * US)  # closed loop: blocked time included
    assert summary.by_call["poll"].blocked_ns == pytest.approx(690 * US)
    out = tmp_path / "b.yaml"
    assert main(["workload", "import", str(FIXTURE), "--strace-overhead", "0s", "--out", str(out)]) == 0
    assert main(["workload", "show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "kernel CPU 48 us, blocked 934 us, compute 80 us" in shown
    assert "1.06 ms" in shown


def test_closed_loop_cvm_spends_blocked_time_idle():
    """Simulated on one VCPU, the replay takes the traced span; the VCPU is busy for compute +
    kernel CPU and idle for exactly the blocked time."""
    result = import_trace([FIXTURE], uncorrected())
    platform = yaml.safe_load((ROOT / "configs" / "platforms" / "milan.yaml").read_text())
    record = run_resolved({"name": "blocked-check", "kind": "workload", "platform": platform,
                           "setup": {"mode": "cvm", "vcpus": 1}, "workload": result.workload, "seed": 1})
    assert record["sim_time_ns"] == pytest.approx(SPAN_US * US, rel=1e-6)
    assert record["vcpu0.idle_ns"] == pytest.approx(BLOCKED_US * US, rel=1e-6)
    assert record["time.unt_ns"] == pytest.approx((GAPS_US + KERNEL_US) * US, rel=1e-6)


def test_equal_values_fit_their_mean_exactly():
    """1002 equal kernel times (every capped poll of http.server) in 16 bins of 62 or 63: the
    bins' means differ by size, so the fixed value must be the values' mean, not a bin's."""
    assert time_spec([10 * US] * 1002, 16) == "10us"
    samples = bin_means([float(v) for v in range(1002)], 16)
    assert math.fsum(samples) / 16 == pytest.approx(1001 / 2)
