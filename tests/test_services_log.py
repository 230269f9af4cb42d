"""VeilS-Log: the ring's losses in closed form, the cost of each record, the audit rules."""

from __future__ import annotations

import math

import pytest
from services_support import nominal, run_pair

from veilperf.model.vcpu import Vcpu
from veilperf.run import simulate_workload
from veilperf.services.syscall_classes import names_path, syscall_class

RING = 40 * 1024
READ_CHUNK = 128
GAP = 10e6  # ns of compute around each burst


def _aligned(size: float) -> float:
    return math.ceil(size / 64) * 64


@pytest.mark.parametrize("record_size, burst", [
    (256, 100),   # 160 fit: the reader keeps up
    (256, 160),   # exactly full: still nothing lost
    (256, 200),   # 40 lost per period
    (100, 400),   # 100 B -> 128 B in the ring: 320 fit, 80 lost per period
])
def test_ring_losses_match_closed_form(make_cfg, milan_raw, record_size, burst):
    """A deterministic producer writes a burst of B audited calls (one record each) in the middle
    of every iteration of length T; the reader drains the ring once per period P.

    The ring holds C = floor(capacity / a) records of aligned size a = ceil(size / 64) x 64. A
    burst into an empty ring keeps min(B, C) records and overwrites the oldest max(0, B - C), so
    with one burst per period lost = N x max(0, B - C) over N periods, whatever B.

    The drain costs s = ceil(min(B, C) x a / 128) read calls (two switches, monitor work, a 128 B
    copy each), stolen from the thread's VCPU and paid at its next flush, so every iteration after
    a drain lasts T + s. With P = T + s each drain falls s into the first compute half of the next
    iteration, after the previous burst and before the next: exactly one burst per period. The run
    ends before the N-th drain: N - 1 drains read min(B, C) records each.
    """
    n = nominal(milan_raw)
    kernel = 1e3
    a = _aligned(record_size)
    per_record = kernel + n.copy(record_size) + n.round_trip + n.copy(a)
    period_records = min(burst, RING // a)
    iteration = GAP + burst * per_record
    steal = math.ceil(period_records * a / READ_CHUNK) * (n.round_trip + n.copy(READ_CHUNK))
    assert steal < GAP / 2  # the drains stay inside the compute half
    periods = 6
    steps = [{"compute": f"{GAP / 2}ns"},
             {"syscall": {"name": "write", "kernel": f"{kernel}ns", "repeat": burst}},
             {"compute": f"{GAP / 2}ns"}]
    log = {"enabled": True, "record_model": "single", "record_size": f"{record_size}B",
           "reader_period": f"{iteration + steal}ns"}
    record = simulate_workload(make_cfg(steps, setup={"mode": "veil", "services": {"log": log}},
                                        run={"iterations": periods}))
    assert record["log.records"] == record["log.appended"] == periods * burst
    assert record["log.lost"] == periods * max(0, burst - RING // a)
    assert record["log.read"] == (periods - 1) * period_records
    assert record["log.read_bytes"] == (periods - 1) * period_records * record_size
    assert record["log.unread"] == period_records and record["log.lost_bytes"] == record["log.lost"] * record_size
    assert record["log.ring_bytes"] == periods * burst * a
    assert record["log.read_calls"] == (periods - 1) * math.ceil(period_records * a / READ_CHUNK)
    assert record["log.ring_high_water_bytes"] == period_records * a
    assert record["sim_time_ns"] == pytest.approx(periods * iteration + (periods - 1) * steal, rel=1e-12)


STEPS = [
    {"compute": "30us"},
    {"syscall": {"name": "openat", "kernel": "3us"}},
    {"syscall": {"name": "read", "kernel": "1.5us", "bytes_out": "4096B"}},
    {"syscall": {"name": "close", "kernel": "0.5us"}},
    {"syscall": {"name": "accept4", "kernel": "4us"}},
    {"syscall": {"name": "clock_gettime", "kernel": "50ns", "vdso": True}},
]
SIZES = {"syscall": 349, "cwd": 51, "path": 215, "proctitle": 88, "eoe": 29}  # RHEL 7 guide example


def _event(name: str) -> list[int]:
    """Records of one Linux audit syscall event: SYSCALL, CWD + PATH for a named path, PROCTITLE, EOE."""
    named = [SIZES["cwd"], SIZES["path"]] if name in ("openat",) else []
    return [SIZES["syscall"], *named, SIZES["proctitle"], SIZES["eoe"]]


@pytest.mark.parametrize("rules, audited", [
    ({"select": "all"}, ["openat", "read", "close", "accept4"]),
    ({"select": "classes", "classes": ["file", "network"]}, ["openat", "close", "accept4"]),
    ({"select": "names", "names": ["read"]}, ["read"]),
])
@pytest.mark.parametrize("per_call", [1, 4])
def test_each_record_costs_its_copies_and_its_share_of_a_call(make_cfg, milan_raw, rules, audited, per_call):
    """Reader off. Per record: a transit copy of its bytes and a ring copy of its aligned bytes;
    per ``per_call`` records one service call (two switches + monitor work). vDSO calls are never
    audited. A batch fills across system calls on one VCPU, so calls = floor(records / per_call)
    and the ring holds the records of completed calls (a last partial batch is still in transit)."""
    n = nominal(milan_raw)
    iterations = 9
    log = {"enabled": True, "rules": rules, "reader_period": None, "records_per_call": per_call}
    treat, base = run_pair(make_cfg, steps=STEPS, setup={"mode": "veil", "services": {"log": log}},
                           run={"iterations": iterations})
    sizes = [size for name in audited for size in _event(name)] * iterations
    calls = len(sizes) // per_call
    appended = sizes[:calls * per_call]
    added = (sum(n.copy(s) for s in sizes) + calls * n.round_trip
             + sum(n.copy(_aligned(s)) for s in appended))
    assert treat["log.events"] == len(audited) * iterations
    assert treat["log.records"] == len(sizes)
    assert treat["log.bytes"] == sum(sizes)
    assert treat["log.calls"] == calls
    assert treat["log.appended"] == len(appended) and treat["log.lost"] == 0
    assert treat["log.pending"] == len(sizes) - len(appended)  # the last partial batch, in transit
    assert treat["log.pending_bytes"] == sum(sizes[len(appended):])
    assert treat["log.ring_bytes"] == sum(_aligned(s) for s in appended)
    assert treat["switches_total"] == 2 * calls
    assert treat["sim_time_ns"] - base["sim_time_ns"] == pytest.approx(added, rel=1e-9)


def test_records_are_truncated_to_the_transit_buffer(make_cfg):
    """A record longer than the 1 KiB transit buffer is cut to it; the ring takes 1 KiB."""
    log = {"enabled": True, "record_model": "single", "record_size": "3000B", "reader_period": None}
    record = simulate_workload(make_cfg([{"syscall": {"name": "write", "kernel": "1us"}}],
                                        setup={"mode": "veil", "services": {"log": log}},
                                        run={"iterations": 50}))
    assert record["log.bytes"] == 50 * 1024
    assert record["log.appended"] == 50 and record["log.lost"] == 50 - RING // 1024


def test_audit_classes_follow_the_rule_sets():
    """Data transfer is not a file-rule event; open/close and socket set-up are."""
    assert [syscall_class(c) for c in ("openat", "close", "read", "sendto", "accept4", "newfstatat")] == \
        ["file", "file", "io", "io", "network", "fileinfo"]
    assert names_path("openat") and names_path("newfstatat") and not names_path("read")
    assert syscall_class("no_such_call") == "other"


@pytest.mark.parametrize("with_spare", [False, True])
def test_reader_runs_on_a_spare_vcpu_when_there_is_one(make_cfg, milan_raw, with_spare):
    """Two drains of 40 records of 256 B each: 2 x 10,240 B / 128 B = 160 read calls. With a spare VCPU the
    reader runs there (busy and held, nothing stolen from the workload's VCPU); without one the
    cost is stolen from the workload's VCPU, to be paid at its next flush."""
    from veilperf.build import model_inputs
    from veilperf.model.domains import SER
    from veilperf.model.system import System

    n = nominal(milan_raw)
    cfg = make_cfg([{"compute": "10ms"}], run={"iterations": 1},
                   setup={"mode": "veil", "vcpus": 2 if with_spare else 1,
                          "services": {"log": {"enabled": True, "reader_period": "1ms"}}})
    system = System(model_inputs(cfg))  # the workload's thread is never started: only the reader runs
    service, env, ledger = system.services[0], system.env, system.ctx.ledger
    app = system.vcpus[0]
    spare = system.vcpus[1] if with_spare else Vcpu(1)
    env.process(service.reader())
    for at in (0.5e6, 1.5e6):
        env.run(until=at)
        for _ in range(40):
            service.ring.append(256)
    env.run(until=2.5e6)
    cost = 160 * (n.round_trip + n.copy(READ_CHUNK))
    assert service.read_calls == 160 and ledger.switches[1][3] == 160
    target, other = (spare, app) if with_spare else (app, spare)
    assert target.switching + target.busy[SER] == pytest.approx(cost, rel=1e-12)
    assert (target.held, target.steal) == ((pytest.approx(cost, rel=1e-12), 0.0) if with_spare
                                           else (0.0, pytest.approx(cost, rel=1e-12)))
    assert other.switching == other.steal == other.held == 0.0


def test_static_partitioning_reader_crosses_no_domain(make_cfg, milan_raw):
    """Under static partitioning VeilS-Log runs on dedicated DomSer VCPUs: appends and the reader's
    calls are messages to them, so no UNT<->SER switch at all; every record is still read back,
    one call per 128 B (the ring never overflows here), and each read call costs the DomSer VCPU
    its monitor work and copy (a domain call without its switches)."""
    n = nominal(milan_raw)
    cfg = make_cfg([{"compute": "20us"}, {"syscall": {"name": "write", "kernel": "1us"}}],
                   setup={"mode": "veil", "vcpus": 2, "vcpu_model": "static",
                          "services": {"log": {"enabled": True, "reader_period": "200us"}}},
                   run={"iterations": 500})
    record = simulate_workload(cfg)
    assert record["switches_total"] == 0
    assert record["log.lost"] == 0
    read_calls = record["log.read_calls"]
    assert read_calls >= math.ceil(record["log.read_bytes"] / READ_CHUNK)
    assert read_calls > 0 and record["log.read_bytes"] > 0
    ser_busy = record["vcpu1.ser_ns"]  # the DomSer VCPU: appends and reads, nothing else
    appends = record["log.calls"] * n.monitor + sum_ring_copies(record, n)
    reads = read_calls * (n.monitor + n.copy(READ_CHUNK))
    assert ser_busy == pytest.approx(appends + reads, rel=1e-9)


def sum_ring_copies(record: dict, n) -> float:
    """Ring copies of the event-model records of one ``write`` (no path): SYSCALL, PROCTITLE, EOE,
    each rounded up to 64 B, one copy each."""
    per_event = sum(n.copy(math.ceil(size / 64) * 64) for size in (349, 88, 29))
    return record["log.events"] * per_event


@pytest.mark.parametrize("threads", [1, 4])
def test_appends_queue_for_the_one_ring(make_cfg, milan_raw, threads):
    """The ring is one FIFO server: one thread never waits for it; four threads on four VCPUs
    making audited calls back to back do (cause `queue`), and the ring is never busy longer
    than the run (its busy time is the calls' ring copies)."""
    n = nominal(milan_raw)
    cfg = make_cfg([{"syscall": {"name": "write", "kernel": "200ns"}}],
                   setup={"mode": "veil", "vcpus": threads,
                          "services": {"log": {"enabled": True, "reader_period": None,
                                               "record_model": "single", "record_size": "1KiB"}}},
                   workload={"threads": threads}, run={"iterations": 300})
    record = simulate_workload(cfg)
    ring_busy = record["log.calls"] * n.copy(1024)
    assert record["log.calls"] == 300 * threads
    assert ring_busy <= record["sim_time_ns"]
    if threads == 1:
        assert record["cause.queue_ns"] == 0.0
    else:
        assert record["cause.queue_ns"] > 0.0
        # every VCPU's time is still conserved: charged (waiting included) = held
        for v in range(threads):
            charged = sum(record[f"vcpu{v}.{d}_ns"] for d in ("mon", "ser", "enc", "unt"))
            assert charged + record[f"vcpu{v}.switching_ns"] == pytest.approx(record[f"vcpu{v}.held_ns"], rel=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_the_ring_reservation_waits_exactly_as_a_capacity_one_simpy_resource(seed):
    """`LogService._reserve_ring` stands in for a capacity-1 SimPy resource (without its events):
    for random arrival instants (some simultaneous) and hold times, every caller's wait equals the
    wait the resource gives the same callers in the same order."""
    import random
    import types

    import simpy

    from veilperf.services.log.model import LogService

    rng = random.Random(seed)
    arrivals = sorted(rng.choice([0.0, 50.0, 100.0]) + rng.randrange(0, 4000, 25) for _ in range(60))
    holds = [rng.uniform(10.0, 300.0) for _ in arrivals]

    env = simpy.Environment()
    ring = simpy.Resource(env, capacity=1)
    reference: list[float] = [0.0] * len(arrivals)

    def caller(i: int):
        yield env.timeout(arrivals[i])
        with ring.request() as turn:
            yield turn
            reference[i] = env.now - arrivals[i]
            yield env.timeout(holds[i])

    for i in range(len(arrivals)):
        env.process(caller(i))
    env.run()

    state = types.SimpleNamespace(ring_free_at=0.0)
    waits = [LogService._reserve_ring(state, a, h) for a, h in zip(arrivals, holds)]
    assert waits == pytest.approx(reference, abs=1e-9)
    assert sum(waits) > 0  # the draw did make callers queue
