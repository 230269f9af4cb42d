"""The core model against closed forms, queueing theory and conservation laws."""

from __future__ import annotations

import math

import pytest

from veilperf.model.costs import PlatformCosts
from veilperf.build import platform_costs
from veilperf.run import simulate_workload
from veilperf.run import run_config

US = 1e3


def costs_of(cfg) -> PlatformCosts:
    return platform_costs(cfg.platform)


STEPS = [
    {"compute": "10us"},
    {"syscall": {"name": "read", "kernel": "1.3us", "bytes_out": "4096B"}},
    {"compute": "2us"},
    {"syscall": {"name": "write", "kernel": "600ns", "bytes_in": "512B", "repeat": 3}},
    {"syscall": {"name": "clock_gettime", "kernel": "50ns", "vdso": True}},
    {"call": {"domain": "ser", "handler": "1us", "bytes": "10000B"}},
]
NATIVE_PER_ITER = (10 + 1.3 + 2 + 3 * 0.6 + 0.05 + 1) * US  # the call's handler runs natively in cvm


@pytest.mark.parametrize("mode", ["cvm", "veil"])
def test_closed_form_single_thread(make_cfg, mode):
    """One thread on one VCPU: simulated time is the sum of step costs plus Veil's call path."""
    cfg = make_cfg(STEPS, setup={"mode": mode}, run={"iterations": 7})
    record = simulate_workload(cfg)
    c = costs_of(cfg)
    expected = NATIVE_PER_ITER
    if mode == "veil":
        rounds = math.ceil(10000 / 4088)  # the calling area holds 4,088 bytes
        assert rounds == 3
        expected += rounds * (2 * c.switch_one_way + c.monitor_map_unmap + c.monitor_dispatch)
        expected += rounds * c.channel_fixed + 10000 / c.copy_bytes_per_ns
    assert record["sim_time_ns"] == pytest.approx(7 * expected, rel=1e-12)
    assert record["switches_total"] == (7 * 2 * 3 if mode == "veil" else 0)


def test_closed_form_enclave_ocalls(make_cfg):
    """Enclave thread: each non-vDSO syscall adds two switches and two copies; creation and the
    replica are one-off service/monitor calls; timer exits add two switches per tick."""
    steps = STEPS[:5]
    cfg = make_cfg(steps, setup={"mode": "veil", "services": {"enc": {"enabled": True, "timer_hz": "1000Hz"}}},
                   run={"iterations": 50})
    record = simulate_workload(cfg)
    c = costs_of(cfg)
    sw = c.switch_one_way
    ocalls = 50 * 4
    copies = 50 * (c.copy_ns(0) + c.copy_ns(4096) + 3 * (c.copy_ns(512) + c.copy_ns(0)))
    mon = c.monitor_map_unmap + c.monitor_dispatch
    pages = 16 * 1024**2 / 4096
    create = (2 * sw + mon + pages * 2 * c.rmpadjust + 16 * 1024**2 / c.sha256_bytes_per_ns
              + c.tlb_flush_global)
    replica = 2 * sw + mon + c.rmpadjust + 4096 / c.copy_bytes_per_ns + c.ghcb_roundtrip  # VMSA set-up
    native = 50 * (10 + 1.3 + 2 + 3 * 0.6 + 0.05) * US
    enclave_time = 50 * (10 + 2 + 0.05) * US + copies  # user work and copies run in DomEnc
    ticks = math.floor(enclave_time * 1000 / 1e9 + 1e-9)
    expected = native + ocalls * 2 * sw + copies + create + replica + 2 * sw + ticks * 2 * sw
    assert record["enc.ocalls"] == ocalls
    assert record["enc.vdso_calls"] == 50
    assert record["enc.timer_exits"] == ticks
    assert record["sim_time_ns"] == pytest.approx(expected, rel=1e-12)
    assert record["switches.enc_unt"] == ocalls + ticks + 1
    assert record["switches.unt_enc"] == ocalls + ticks + 1


def test_veil_without_services_adds_nothing(make_cfg):
    """Normal execution: same workload and seed under cvm and veil give the same time, no switches."""
    steps = [{"compute": {"dist": "exponential", "mean": "20us"}},
             {"syscall": {"name": "read", "kernel": {"dist": "lognormal", "mean": "2us", "cv": 0.5}}}]
    records = [simulate_workload(make_cfg(steps, setup={"mode": m, "vcpus": 2},
                                          workload={"threads": 3}, run={"iterations": 300}))
               for m in ("cvm", "veil")]
    assert records[1]["switches_total"] == 0
    assert records[1]["sim_time_ns"] == records[0]["sim_time_ns"]
    assert records[1]["latency_mean_ns"] == records[0]["latency_mean_ns"]


def test_same_seed_same_record_different_seed_differs(make_cfg):
    steps = [{"compute": {"dist": "exponential", "mean": "5us"}},
             {"syscall": {"name": "write", "kernel": {"dist": "uniform", "low": "1us", "high": "3us"}}}]
    setup = {"mode": "veil", "services": {"enc": {"enabled": True}}}

    def record(seed):
        r = run_config(make_cfg(steps, setup=setup, run={"iterations": 200}, seed=seed))
        r.pop("wall_s")
        return r

    assert record(3) == record(3)
    assert record(3)["sim_time_ns"] != record(4)["sim_time_ns"]


def _erlang_c_response(lam: float, mu: float, c: int) -> float:
    """Mean response time of M/M/c (Erlang C): W = C(c, a) / (c mu - lam) + 1 / mu."""
    a = lam / mu
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    wait_prob = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return wait_prob / (c * mu - lam) + 1 / mu


@pytest.mark.parametrize("vcpus,rho", [(1, 0.5), (4, 0.7)])
def test_open_loop_matches_erlang_c(make_cfg, vcpus, rho):
    """Poisson arrivals, exponential service, c VCPUs: mean response within 3% of Erlang C."""
    mean_service_us = 10.0
    mu = 1 / mean_service_us
    lam = rho * vcpus * mu  # per us
    cfg = make_cfg([{"compute": {"dist": "exponential", "mean": f"{mean_service_us}us"}}],
                   setup={"mode": "cvm", "vcpus": vcpus},
                   workload={"loop": "open", "arrival_rate": f"{lam * 1e6}/s"},
                   run={"iterations": 60_000}, seed=11)
    record = simulate_workload(cfg)
    expected_ns = _erlang_c_response(lam, mu, vcpus) * US
    assert record["completed"] == 60_000
    assert record["latency_mean_ns"] == pytest.approx(expected_ns, rel=0.03)


CONSERVATION_SETUPS = [
    ({"mode": "veil", "vcpus": 2, "services": {"enc": {"enabled": True}}}, {"threads": 5}),
    ({"mode": "veil", "vcpus": 2, "services": {"log": {"enabled": True, "reader_period": "200us"}}},
     {"threads": 2}),
    ({"mode": "veil", "vcpus": 4, "vcpu_model": "static", "services": {"kci": {"enabled": True}}},
     {"threads": 3}),
    ({"mode": "veil", "vcpus": 3, "services": {"enc": {"enabled": True, "switchless": True}}},
     {"threads": 2}),
    ({"mode": "cvm", "vcpus": 3}, {"loop": "open", "arrival_rate": "150000/s"}),
]


@pytest.mark.parametrize("setup,workload", CONSERVATION_SETUPS)
def test_time_is_conserved_per_vcpu(make_cfg, setup, workload):
    """Per VCPU: charged time (domains + switching) equals the time it was held, measured
    independently from acquire/release instants; held + idle = elapsed, idle >= 0."""
    steps = [{"compute": {"dist": "exponential", "mean": "8us"}},
             {"syscall": {"name": "read", "kernel": "1us", "bytes_out": "2KiB"}},
             {"kci": {"op": "jit", "pages": 3}},
             {"call": {"domain": "ser", "handler": "500ns"}}]
    record = simulate_workload(make_cfg(steps, setup=setup, workload=workload, run={"iterations": 400}))
    elapsed = record["sim_time_ns"]
    vcpus = sorted({k.split(".")[0] for k in record if k.startswith("vcpu")})
    assert vcpus
    for v in vcpus:
        charged = sum(record[f"{v}.{d}_ns"] for d in ("mon", "ser", "enc", "unt")) + record[f"{v}.switching_ns"]
        assert charged == pytest.approx(record[f"{v}.held_ns"], rel=1e-9, abs=1e-6)
        assert record[f"{v}.idle_ns"] >= -1e-6
        assert charged + record[f"{v}.idle_ns"] == pytest.approx(elapsed, rel=1e-12)


def test_shared_vcpu_switches_enclave_once_per_time_slice(make_cfg):
    """Two enclave threads on one VCPU: each holds it for a scheduler quantum (1 ms = ten 100 us
    iterations), so the enclave is entered and left once per slice, not once per iteration.
    The first slice also pays the enclave's creation (~14 ms > quantum), so it ends after one
    iteration: thread 0 has 1 + ceil(99 / 10) = 11 slices, thread 1 (replica exists) 10."""
    cfg = make_cfg([{"compute": "100us"}],
                   setup={"mode": "veil", "vcpus": 1, "sched_quantum": "1ms",
                          "services": {"enc": {"enabled": True, "timer_hz": "0Hz"}}},
                   workload={"threads": 2}, run={"iterations": 100})
    record = simulate_workload(cfg)
    slices = 1 + math.ceil(99 / 10) + 100 // 10
    assert record["switches.unt_enc"] == slices
    assert record["switches.enc_unt"] == slices
    assert record["completed"] == 200


def test_static_enclave_vcpu_stays_in_domenc(make_cfg):
    """Under static partitioning the enclave VCPU is dedicated to DomEnc and ocalls are messages:
    no domain switch at all, however many threads share it."""
    cfg = make_cfg([{"compute": "20us"}, {"syscall": {"name": "read", "kernel": "1us"}}],
                   setup={"mode": "veil", "vcpus": 3, "vcpu_model": "static", "sched_quantum": "50us",
                          "services": {"enc": {"enabled": True}}},
                   workload={"threads": 3}, run={"iterations": 50})
    record = simulate_workload(cfg)
    assert record["switches_total"] == 0
    assert record["enc.ocalls"] == 150


def test_open_loop_requests_of_several_iterations_match_pollaczek_khinchine(make_cfg):
    """Each request runs 3 fixed 10 us iterations (deterministic service D = 30 us); Poisson
    arrivals at rho = 0.3 on one VCPU: M/D/1 mean response D + rho D / (2 (1 - rho))."""
    service_us, rho = 30.0, 0.3
    cfg = make_cfg([{"compute": "10us"}], setup={"mode": "cvm"},
                   workload={"loop": "open", "arrival_rate": f"{rho / service_us * 1e6}/s",
                             "iterations_per_request": 3},
                   run={"iterations": 40_000}, seed=5)
    record = simulate_workload(cfg)
    expected_us = service_us + rho * service_us / (2 * (1 - rho))
    assert record["latency_mean_ns"] == pytest.approx(expected_us * US, rel=0.03)


def test_blocked_time_passes_with_the_vcpu_idle(make_cfg):
    """Pinned thread: 10 us compute + a call with 1 us kernel and 50 us asleep, 40 times: elapsed
    40 x 61 us, VCPU busy 40 x 11 us, idle the rest, and the held time excludes the sleep."""
    cfg = make_cfg([{"compute": "10us"}, {"syscall": {"name": "epoll_wait", "kernel": "1us", "blocked": "50us"}}],
                   setup={"mode": "veil", "services": {"enc": {"enabled": True, "timer_hz": "0Hz"}}},
                   run={"iterations": 40})
    record = simulate_workload(cfg)
    c = costs_of(cfg)
    per_iteration = 61 * US + 2 * c.switch_one_way + c.copy_ns(0) * 2
    busy = record["vcpu0.enc_ns"] + record["vcpu0.unt_ns"] + record["vcpu0.mon_ns"] + record["vcpu0.ser_ns"]
    assert record["latency_mean_ns"] == pytest.approx(per_iteration, rel=1e-12)
    assert record["vcpu0.idle_ns"] == pytest.approx(40 * 50 * US, rel=1e-9)
    assert busy + record["vcpu0.switching_ns"] == pytest.approx(record["vcpu0.held_ns"], rel=1e-9)


def test_blocked_threads_give_their_shared_vcpu_to_others(make_cfg):
    """Two threads on one VCPU, each iteration 10 us compute then 100 us asleep: while one sleeps
    the other computes, so N iterations take 10 + N x 110 us (not 2 N x 110 us)."""
    cfg = make_cfg([{"compute": "10us"}, {"syscall": {"name": "poll", "kernel": "0ns", "blocked": "100us"}}],
                   setup={"mode": "cvm", "vcpus": 1}, workload={"threads": 2}, run={"iterations": 30})
    record = simulate_workload(cfg)
    assert record["sim_time_ns"] == pytest.approx((10 + 30 * 110) * US, rel=1e-12)
    assert record["vcpu0.unt_ns"] == pytest.approx(2 * 30 * 10 * US, rel=1e-12)


def test_open_loop_requests_do_not_wait_in_blocking_calls(make_cfg):
    """An open-loop request's arrival is the wait: a 1 ms blocked part is not served again."""
    cfg = make_cfg([{"compute": "10us"}, {"syscall": {"name": "epoll_wait", "kernel": "0ns", "blocked": "1ms"}}],
                   setup={"mode": "cvm", "vcpus": 1},
                   workload={"loop": "open", "arrival_rate": "100/s"}, run={"iterations": 200})
    record = simulate_workload(cfg)
    assert record["latency_p99_ns"] < 20 * US
