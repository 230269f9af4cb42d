"""VeilS-Enc against closed forms computed from the platform profile's own numbers."""

from __future__ import annotations

import math

import pytest
from services_support import PAGE, WORKLOADS, enclave_setup_ns, load_workload, nominal, run_pair

from veilperf.build import workload_input
from veilperf.model.program import COMPUTE, SYSCALL, iteration_source
from veilperf.model.sampling import draw
from veilperf.run import simulate_workload
from veilperf.units import parse_duration

US = 1e3
ENC = {"mode": "veil", "services": {"enc": {"enabled": True}}}

STEPS = [
    {"compute": "20us"},
    {"syscall": {"name": "read", "kernel": "1.3us", "bytes_out": "4096B"}},
    {"syscall": {"name": "write", "kernel": "600ns", "bytes_in": "512B", "repeat": 3}},
    {"syscall": {"name": "clock_gettime", "kernel": "50ns", "vdso": True}},
    {"compute": "5us"},
]


def test_single_thread_overhead_is_count_times_cost(make_cfg, milan_raw):
    """One enclave thread, no contention: Veil adds, per ocall, two switches and the two argument
    copies; once, the creation, the replica, entry and exit; per timer tick in the enclave (HZ x
    time in DomEnc), an exit and a re-entry. Everything else is the native run."""
    n = nominal(milan_raw)
    iterations = 40
    treat, base = run_pair(make_cfg, steps=STEPS, setup=ENC, run={"iterations": iterations})
    native = iterations * (20 + 1.3 + 3 * 0.6 + 0.05 + 5) * US
    ocalls = iterations * 4
    copies = iterations * (n.copy(0) + n.copy(4096) + 3 * (n.copy(512) + n.copy(0)))
    in_enclave = iterations * (20 + 0.05 + 5) * US + copies  # user code, vDSO call and copies
    ticks = math.floor(in_enclave * 250 / 1e9 + 1e-9)
    added = ocalls * 2 * n.switch + copies + enclave_setup_ns(n) + ticks * 2 * n.switch
    assert base["sim_time_ns"] == pytest.approx(native, rel=1e-12)
    assert treat["sim_time_ns"] - base["sim_time_ns"] == pytest.approx(added, rel=1e-9)
    assert treat["enc.ocalls"] == ocalls and treat["enc.vdso_calls"] == iterations
    assert treat["enc.timer_exits"] == ticks
    assert treat["switches_total"] == 2 * ocalls + 2 + 2 + 2 + 2 * ticks


def _overhead(treat: dict, base: dict, *, per_call_only: bool = False) -> float:
    added = treat["sim_time_ns"] - base["sim_time_ns"]
    if per_call_only:
        added -= treat["enc.create_ns"]
    return added / base["sim_time_ns"]


def test_overhead_grows_with_switch_cost_at_the_switch_count(make_cfg):
    """Each step in the switch cost adds exactly (number of switches) x (step) to the run."""
    results = []
    for switch in ("1.6us", "2.07us", "3us", "6us"):
        treat, base = run_pair(make_cfg, steps=STEPS, setup=ENC, run={"iterations": 30},
                               params={"switch_one_way": switch})
        results.append((float(switch[:-2]) * US, treat, _overhead(treat, base)))
    overheads = [r[2] for r in results]
    assert overheads == sorted(overheads) and len(set(overheads)) == len(overheads)
    for (s0, t0, _), (s1, t1, _) in zip(results, results[1:]):
        assert t0["switches_total"] == t1["switches_total"]
        assert t1["sim_time_ns"] - t0["sim_time_ns"] == pytest.approx(t0["switches_total"] * (s1 - s0), rel=1e-9)


def test_overhead_grows_with_system_call_rate(make_cfg):
    """The same ocall between shrinking compute gaps: a higher call rate, a higher overhead (with
    and without the one-off creation)."""
    per_call, total = [], []
    for gap in ("200us", "50us", "10us", "2us"):
        steps = [{"compute": gap}, {"syscall": {"name": "read", "kernel": "1us", "bytes_out": "256B"}}]
        treat, base = run_pair(make_cfg, steps=steps, setup=ENC, run={"iterations": 200})
        per_call.append(_overhead(treat, base, per_call_only=True))
        total.append(_overhead(treat, base))
    for series in (per_call, total):
        assert all(a < b for a, b in zip(series, series[1:]))


@pytest.mark.parametrize("calls_per_iteration", [1, 5, 25])
def test_switchless_takes_no_switch_per_call(make_cfg, milan_raw, calls_per_iteration):
    """Switchless: ocalls go to a polling worker on another VCPU, so the switch count is the
    one-off creation (2), replica (2), entry and exit (2), whatever the number of calls; on
    replicas it grows by two per call. The worker's VCPU is burned: never idle."""
    n = nominal(milan_raw)
    steps = [{"compute": "10us"},
             {"syscall": {"name": "write", "kernel": "1us", "bytes_in": "128B", "repeat": calls_per_iteration}}]
    quiet = {"timer_hz": "0Hz"}  # no timer exits, so every switch is accounted for here
    switchless = run_pair(
        make_cfg, steps=steps, run={"iterations": 20}, setup={"mode": "veil", "vcpus": 2, "services": {
            "enc": {"enabled": True, "switchless": True, **quiet}}})[0]
    replicas = run_pair(make_cfg, steps=steps, run={"iterations": 20}, setup={"mode": "veil", "services": {
        "enc": {"enabled": True, **quiet}}})[0]
    ocalls = 20 * calls_per_iteration
    assert switchless["enc.ocalls"] == replicas["enc.ocalls"] == ocalls
    assert switchless["switches_total"] == 6
    assert switchless["cause.switch_ns"] == pytest.approx(6 * n.switch, rel=1e-12)
    assert replicas["switches_total"] == 6 + 2 * ocalls
    assert switchless["vcpu1.role"] == "worker"
    assert switchless["vcpu1.idle_ns"] == pytest.approx(0.0, abs=1e-6 * switchless["sim_time_ns"])


def _imported_single_thread() -> list:
    picked = []
    for path in WORKLOADS:
        wl = load_workload(path)
        if wl["provenance"]["source"] == "trace" and wl.get("threads", 1) == 1 and wl.get("loop", "closed") == "closed":
            picked.append(pytest.param(path, id=path.stem))
    return picked or [pytest.param(None, marks=pytest.mark.skip(reason="no imported workload shipped yet"))]


@pytest.mark.parametrize("path", _imported_single_thread())
def test_imported_workload_as_enclave_matches_closed_form(make_cfg, milan_raw, path):
    """Issue 4's check on a traced program: predicted overhead = (ocalls x two switches + the
    argument copies both ways + creation, replica, entry/exit + 2 switches per timer tick) /
    native time. The ops and their drawn durations are re-enumerated from the workload with the
    run's seed (each op has its own random stream); costs come from the profile's numbers."""
    n = nominal(milan_raw)
    iterations = 400
    wl = load_workload(path)
    treat, base = run_pair(make_cfg, workload=wl, setup=ENC, run={"iterations": iterations})
    cfg = make_cfg(workload=wl, setup=ENC, run={"iterations": iterations})
    native = in_enclave = copies = 0.0
    ocalls = 0
    next_ops = iteration_source(workload_input(cfg.workload), cfg.seed, 0).next_ops
    for op in (op for _ in range(iterations) for op in next_ops()):
        if op.code == COMPUTE:
            ns = draw(op.time)
            native += ns
            in_enclave += ns
        elif op.code == SYSCALL:
            for _ in range(op.repeat):
                ns = draw(op.kernel)
                native += ns
                if op.vdso:  # stays in the enclave
                    in_enclave += ns
                else:
                    ocalls += 1
                    copies += n.copy(op.bytes_in) + n.copy(op.bytes_out)
                    native += draw(op.blocked) if op.blocked else 0.0  # asleep, outside the enclave
        else:
            pytest.fail(f"unexpected op {op.code} in a traced workload")
    in_enclave += copies
    ticks = math.floor(in_enclave * 250 / 1e9 + 1e-9)
    # the enclave is the workload's footprint (recorded workloads carry one), page-rounded
    added = ocalls * 2 * n.switch + copies + enclave_setup_ns(n, treat["enc.size_bytes"]) + ticks * 2 * n.switch
    assert base["sim_time_ns"] == pytest.approx(native, rel=1e-9)
    assert treat["enc.ocalls"] == ocalls
    assert treat["enc.timer_exits"] == ticks
    predicted = added / native
    assert (treat["sim_time_ns"] - base["sim_time_ns"]) / base["sim_time_ns"] == pytest.approx(predicted, rel=1e-7)


@pytest.mark.parametrize("vcpu_model", ["replicas", "static"])
def test_creation_time_is_reported_on_either_vcpu_model(make_cfg, milan_raw, vcpu_model):
    """enc.create_ns is the creation and replica calls: on replicas two round trips, under static
    partitioning two requests to the DomSer VCPU (IPI to wake it, its work, polling for the
    reply); the service's work is the same."""
    n = nominal(milan_raw)
    ipi, poll = (parse_duration(milan_raw["params"][k]["value"]) for k in ("ipi_notify", "poll_latency"))
    setup = {"mode": "veil", "vcpus": 3, "vcpu_model": vcpu_model, "services": {"enc": {"enabled": True}}}
    record = simulate_workload(make_cfg(STEPS, setup=setup, run={"iterations": 2}))
    work = enclave_setup_ns(n) - 2 * n.round_trip - 2 * n.switch  # the two handlers only
    crossing = 2 * n.switch if vcpu_model == "replicas" else ipi + poll
    assert record["enc.create_ns"] == pytest.approx(work + 2 * (crossing + n.monitor), rel=1e-12)


def test_threads_that_start_together_wait_for_the_one_creation(make_cfg, milan_raw):
    """Three enclave threads on three VCPUs start at once: the first creates the enclave (C), the
    others sleep until it exists (their VCPUs idle), then each VCPU gets its DomEnc replica (R).
    Each thread's one-off set-up is C + R, and so is the run's (the critical path's)."""
    n = nominal(milan_raw)
    size = 2 * 1024**2
    cfg = make_cfg([{"compute": "100us"}], workload={"threads": 3}, run={"iterations": 10},
                   setup={"mode": "veil", "vcpus": 3,
                          "services": {"enc": {"enabled": True, "timer_hz": "0Hz", "enclave_size": "2MiB"}}})
    record = simulate_workload(cfg)
    create = n.round_trip + size / PAGE * 2 * n.rmpadjust + size / n.sha_bw + n.tlb_flush
    replica = n.round_trip + n.rmpadjust + PAGE / n.copy_bw + n.ghcb
    assert record["enc.replicas"] == 3
    assert record["oneoff_ns"] == pytest.approx(create + replica, rel=1e-12)
    assert record["enc.create_ns"] == pytest.approx(3 * (create + replica), rel=1e-12)
    assert record["sim_time_ns"] == pytest.approx(create + replica + 2 * n.switch + 10 * 100e3, rel=1e-12)
    assert record["vcpu1.idle_ns"] == pytest.approx(create, rel=1e-9)


def test_enclave_size_comes_from_the_setting_else_the_footprint_else_the_fallback(make_cfg):
    """enc.size_bytes / enc.size_source: an explicit setting wins; unset, the program's footprint
    (rounded up to whole pages) is measured; with neither, the 16 MiB fallback."""
    enc = {"mode": "veil", "services": {"enc": {"enabled": True}}}
    fallback = simulate_workload(make_cfg([{"compute": "1us"}], setup=enc))
    assert (fallback["enc.size_bytes"], fallback["enc.size_source"]) == (16 * 1024**2, "fallback")
    set_ = {"mode": "veil", "services": {"enc": {"enabled": True, "enclave_size": "4MiB"}}}
    setting = simulate_workload(make_cfg([{"compute": "1us"}], setup=set_))
    assert (setting["enc.size_bytes"], setting["enc.size_source"]) == (4 * 1024**2, "setting")
