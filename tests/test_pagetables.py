"""Private enclave page tables (issue 22 items 2-4): closed forms for memory-management calls
and first-touch faults from the profiles' own YAML numbers (Milan and Genoa), shared page tables
reproducing main's records, a shipped mm-heavy program's overhead rising by count x cost, and bad
settings refused in one line."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
import yaml
from services_support import WORKLOADS, enclave_setup_ns, load_workload, nominal

from veilperf.config.loader import load_experiment, validate_point
from veilperf.errors import ConfigError
from veilperf.run import run_config, simulate_workload
from veilperf.units import parse_rate

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "pagetables"
US = 1e3


def _enc(page_tables: str, **settings) -> dict:
    return {"mode": "veil", "services": {"enc": {"enabled": True, "enclave_size": "1MiB",
                                                 "page_tables": page_tables, **settings}}}


MM_STEPS = [
    {"compute": "30us"},
    {"syscall": {"name": "mmap", "kernel": "2us", "pages": 8}},     # adds 8 pages: 2 touched at 0.25
    {"syscall": {"name": "munmap", "kernel": "1us", "pages": 8}},   # changes 2 (the touched ones)
    {"syscall": {"name": "mprotect", "kernel": "1us"}},             # no pages stated: 1 assumed, 0.25 changed
    {"syscall": {"name": "brk", "kernel": "500ns", "pages": 0}},    # a query: a service call, nothing changed
    {"syscall": {"name": "read", "kernel": "1us", "bytes_out": "512B"}},
]


def test_one_mm_call_and_one_fault_cost_the_sum_of_their_mechanisms(make_cfg, milan_raw):
    """Per memory-management call a VeilS-Enc round trip from the kernel (two switches, map/unmap
    and dispatch), a global TLB flush and per page changed two RMPADJUSTs and an entry write; per
    first touch of a page mmap added an exit, such a round trip mapping one page and a re-entry.
    Shared and private runs differ by exactly those (no DomEnc work in them: same timer ticks)."""
    n = nominal(milan_raw)
    iterations = 50
    run = {"iterations": iterations}
    private = simulate_workload(make_cfg(MM_STEPS, setup=_enc("private", touched_share=0.25), run=run))
    shared = simulate_workload(make_cfg(MM_STEPS, setup=_enc("shared", touched_share=0.25), run=run))
    changed = 0.25 * 8 + 0.25 * 1  # munmap's touched pages, mprotect's assumed page
    faults = iterations * 2
    added = iterations * (4 * n.mm_call(0) + changed * n.page_change) + faults * n.pt_fault
    assert private["sim_time_ns"] - shared["sim_time_ns"] == pytest.approx(added, rel=1e-12)
    assert private["costs.enc.pt_fault_ns"] == pytest.approx(n.pt_fault, rel=1e-12)
    assert private["costs.enc.mm_call_ns"] == pytest.approx(n.mm_call(changed / 4), rel=1e-12)
    assert private["costs.enc.mm_call_switching_ns"] == pytest.approx(2 * n.switch, rel=1e-12)
    assert private["costs.enc.pt_fault_switching_ns"] == pytest.approx(4 * n.switch, rel=1e-12)
    assert (private["enc.mm_calls"], private["enc.pt_faults"]) == (4 * iterations, faults)
    assert private["enc.mm_pages_changed"] == pytest.approx(iterations * changed)
    assert private["cause.pagetable_ns"] == pytest.approx(
        iterations * (4 * n.tlb_flush + changed * n.page_change) + faults * n.page_change, rel=1e-12)
    assert private["switches_total"] - shared["switches_total"] == iterations * 4 * 2 + faults * 4
    assert private["enc.timer_exits"] == shared["enc.timer_exits"]
    for record in (private, shared):  # counted whatever the page tables
        assert (record["enc.mm_ocalls"], record["enc.mm_pages"], record["enc.mm_pages_assumed"]) == \
               (4 * iterations, iterations * 17, iterations)
    assert (shared["enc.mm_calls"], shared["enc.pt_faults"], shared["cause.pagetable_ns"]) == (0, 0, 0.0)


@pytest.mark.parametrize("iterations", [1, 2, 3, 7, 40])
def test_fractional_faults_are_carried_not_rounded(make_cfg, iterations):
    """An mmap of 3 pages at touched share 0.5 expects 1.5 faults: whole faults are taken as the
    expectation crosses them (1, 3, 4, 10, 60), the fraction carried to the next call."""
    steps = [{"compute": "10us"}, {"syscall": {"name": "mmap", "kernel": "1us", "pages": 3}}]
    record = simulate_workload(make_cfg(steps, setup=_enc("private", touched_share=0.5),
                                        run={"iterations": iterations}))
    assert record["enc.pt_faults"] == math.floor(1.5 * iterations)


GENOA_LOOP = """\
name: mm-loop
provenance: {source: synthetic}
threads: 1
steps:
  - {compute: 54000cycles}
  - {syscall: {name: mmap, kernel: 2700cycles, pages: 16}}
  - {syscall: {name: munmap, kernel: 2700cycles, pages: 16}}
"""


def test_genoa_mm_call_loop_equals_its_closed_form(tmp_path):
    """mmap and munmap of 16 pages in a loop on `platform: genoa` with private page tables and
    half the pages touched: Veil adds two ocalls, two VeilS-Enc calls (the munmap changing 8
    pages) and 8 faults per iteration, the one-off enclave set-up and two switches per timer tick;
    the native run is the cycles at Genoa's 2.7 GHz. Every number comes from genoa.yaml read as
    plain YAML (Milan's pt_update or clock would give another sum)."""
    genoa = yaml.safe_load((ROOT / "configs" / "platforms" / "genoa.yaml").read_text())
    n = nominal(genoa)
    clock = parse_rate(genoa["clock"]["value"])
    (tmp_path / "loop.yaml").write_text(GENOA_LOOP)
    (tmp_path / "exp.yaml").write_text(
        f"name: g\nplatform: genoa\nworkloads: [{tmp_path / 'loop.yaml'}]\n"
        "setup: {mode: veil, services: {enc: {enabled: true, page_tables: private, touched_share: 0.5}}}\n"
        "run: {iterations: 30}\nseed: 3\n")
    exp = load_experiment(tmp_path / "exp.yaml")
    treat = run_config(validate_point(exp, exp.resolve(0, {})))
    base = run_config(validate_point(exp, exp.resolve(0, {}, baseline=True), baseline=True))
    iterations, compute, kernel = 30, 54000 / clock * 1e9, 2700 / clock * 1e9
    copies = iterations * 2 * (n.copy(0) + n.copy(0))
    ticks = math.floor((iterations * compute + copies) * 250 / 1e9 + 1e-9)
    per_iteration = 2 * 2 * n.switch + n.mm_call(0) + n.mm_call(8) + 8 * n.pt_fault
    added = iterations * per_iteration + copies + enclave_setup_ns(n, 16 * 2**20) + ticks * 2 * n.switch
    assert treat["cfg.platform.name"] == "genoa" and treat["enc.size_source"] == "fallback"
    assert base["sim_time_ns"] == pytest.approx(iterations * (compute + 2 * kernel), rel=1e-12)
    assert treat["sim_time_ns"] - base["sim_time_ns"] == pytest.approx(added, rel=1e-9)
    assert (treat["enc.mm_calls"], treat["enc.pt_faults"]) == (2 * iterations, 8 * iterations)


def test_shared_page_tables_reproduce_mains_records():
    """The shipped enclave experiment's points (calibrated switch, 6 us switch, 4 MiB enclave,
    each with its CVM baseline; 20 ms, one seed) give main's records column for column: the new
    platform cost, the workloads' page counts and the new settings change nothing under shared
    page tables. Only new columns are added (fixtures/pagetables/records.py says how main's
    were made)."""
    sys.path.insert(0, str(FIXTURES))
    try:
        import records
    finally:
        sys.path.remove(str(FIXTURES))
    main = json.loads((FIXTURES / "main_records.json").read_text())
    now = records.records()
    assert sorted(now) == sorted(main)
    new = ("cause.pagetable_ns", "enc.mm_", "enc.pt_faults", "costs.enc.mm_", "costs.enc.pt_fault")
    flags = {"saturated", "native_noisy"}  # flags added since (issue 19): describe a run, change no result
    for key, record in main.items():
        assert {c: now[key].get(c) for c in record} == record, key
        assert all(c.startswith(new) or c in flags for c in set(now[key]) - set(record)), key


def _http_static(make_cfg, setup: dict) -> dict:
    raw = load_workload(next(p for p in WORKLOADS if p.name == "http-static.yaml"))
    raw.pop("iterations", None)
    return simulate_workload(make_cfg(setup={"vcpus": 4, **setup}, workload=raw, run={"iterations": 3000}))


def test_an_mm_heavy_programs_overhead_rises_by_count_times_cost(make_cfg):
    """http-static (python3 -m http.server: a thread per request, each mapping, unmapping and
    madvising its memory) under private page tables: its overhead rises over shared page tables by
    (VeilS-Enc calls x their recorded cost + faults x theirs) per thread over the baseline's
    time, within 10% (its three lanes run side by side on their own VCPUs, so the run lasts as
    long as its longest lane, not the sum of the three)."""
    base = _http_static(make_cfg, {"mode": "cvm"})
    shared = _http_static(make_cfg, _enc("shared") | {"vcpus": 4})
    private = _http_static(make_cfg, _enc("private") | {"vcpus": 4})
    threads = private["completed"] / 3000
    rise = (private["sim_time_ns"] - shared["sim_time_ns"]) / base["sim_time_ns"]
    count_times_cost = (private["enc.mm_calls"] * private["costs.enc.mm_call_ns"]
                        + private["enc.pt_faults"] * private["costs.enc.pt_fault_ns"])
    assert private["enc.mm_calls"] > 300 and rise > 0.05
    assert rise == pytest.approx(count_times_cost / threads / base["sim_time_ns"], rel=0.10)


@pytest.mark.parametrize("enc,extra,message", [
    ({"page_tables": "secret"}, {}, "setup.services.enc.page_tables: Input should be 'shared' or 'private'"),
    ({"touched_share": 1.5}, {}, "setup.services.enc: touched_share is a share of pages: at most 1, not 1.5"),
    ({"touched_share": -0.1}, {}, "setup.services.enc.touched_share: Input should be greater than or equal to 0"),
    ({"page_tables": "private", "switchless": True}, {"vcpus": 2},
     "page_tables: private is modelled for ocalls on VCPU replicas, not switchless ones"),
    ({"page_tables": "private"}, {"vcpus": 3, "vcpu_model": "static"},
     "page_tables: private is modelled for ocalls on VCPU replicas, not with static partitioning"),
])
def test_bad_page_table_settings_are_one_line(tmp_path, enc, extra, message):
    workload = ROOT / "tests" / "fixtures" / "sweep" / "tiny-workload.yaml"
    setup = {"mode": "veil", **extra, "services": {"enc": {"enabled": True, **enc}}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"name": "bad", "platform": str(ROOT / "configs" / "platforms" / "milan.yaml"),
                                    "workloads": [str(workload)], "setup": setup, "run": {"iterations": 2}}))
    with pytest.raises(ConfigError) as info:
        loaded = load_experiment(path, [])
        validate_point(loaded, loaded.resolve(0, {}, baseline=False))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_pages_on_a_call_that_maps_nothing_is_one_line_naming_the_workload_file(tmp_path):
    (tmp_path / "w.yaml").write_text("name: w\nprovenance: {source: synthetic}\nsteps:\n"
                                     "  - {syscall: {name: read, kernel: 1us, pages: 4}}\n")
    (tmp_path / "exp.yaml").write_text(f"name: e\nplatform: milan\nworkloads: [{tmp_path / 'w.yaml'}]\n"
                                       "setup: {mode: veil}\nrun: {iterations: 2}\n")
    with pytest.raises(ConfigError) as info:
        loaded = load_experiment(tmp_path / "exp.yaml", [])
        validate_point(loaded, loaded.resolve(0, {}))
    text = str(info.value)
    assert text.startswith(str(tmp_path / "w.yaml")) and "steps.0.syscall" in text
    assert "pages is for memory-management calls" in text and "not read" in text


def _runs(make_cfg, workload: str, steps: list, page_tables: str, touched: float) -> list[dict]:
    """A treatment and its CVM baseline as overhead-table rows of one experiment."""
    run = {"iterations": 200}
    setup = _enc(page_tables, touched_share=touched)
    treatment = run_config(make_cfg(steps, setup=setup, run=run))
    baseline = run_config(make_cfg(steps, setup={"mode": "cvm"}, run=run))
    pair = f"{workload}-{page_tables}-{touched}"
    identity = {"experiment": "x", "replication": 0}
    return [{**treatment, **identity, "workload": workload, "pair_key": pair, "role": "treatment"},
            {**baseline, **identity, "workload": workload, "pair_key": pair, "role": "baseline"}]


def test_the_report_names_the_programs_private_page_tables_change_most_and_why(make_cfg):
    """Two programs, each under shared and private page tables (touched share 0.5 and 1): the
    paragraph ranks the one mapping 20 pages every 50 us first, with its rate (one call per
    iteration of 52 us native: 19,231/s), pages per call, the rise private - shared, and the
    count x cost of a one-thread program equal to that rise."""
    import pandas as pd

    from veilperf.analysis.report.pagetables import page_table_lines
    from veilperf.analysis.tables.pairing import overheads

    heavy = [{"compute": "50us"}, {"syscall": {"name": "mmap", "kernel": "2us", "pages": 20}}]
    light = [{"compute": "500us"}, {"syscall": {"name": "munmap", "kernel": "2us", "pages": 2}}]
    rows = [r for name, steps in (("heavy", heavy), ("light", light))
            for tables, touched in (("shared", 0.5), ("private", 0.5), ("private", 1.0))
            for r in _runs(make_cfg, name, steps, tables, touched)]
    over = overheads(pd.DataFrame(rows))
    lines = page_table_lines(over)
    table = [line for line in lines if line.startswith("| heavy") or line.startswith("| light")]
    assert [line.split(" | ")[0] for line in table] == ["| heavy", "| light"]
    over = over.set_index(["workload", "cfg.setup.services.enc.page_tables", "cfg.setup.services.enc.touched_share"])
    rise = over.loc[("heavy", "private", 0.5), "overhead_pct"] - over.loc[("heavy", "shared", 0.5), "overhead_pct"]
    cells = table[0].split(" | ")
    assert cells[3] == f"{rise:+.1f}" and cells[4] == "19,231" and cells[5] == "20"
    assert cells[7] == f"{rise:.1f}%" and cells[8].startswith("1: ")
    assert "It changes **heavy**" in "\n".join(lines)
    assert page_table_lines(over.reset_index().query("`cfg.setup.services.enc.page_tables` == 'shared'")) == []


def test_private_page_tables_are_a_what_if_kept_out_of_the_claims():
    import pandas as pd

    from veilperf.analysis.claims.verdicts import as_designed

    frame = pd.DataFrame({"cfg.setup.services.enc.page_tables": ["shared", "private", None],
                          "overhead_pct": [5.0, 50.0, 1.0]})
    assert as_designed(frame)["overhead_pct"].tolist() == [5.0, 1.0]
