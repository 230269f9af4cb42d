"""VeilS-Kci: calls and pages in closed form, and the shipped module-loop workload."""

from __future__ import annotations

import math

import pytest
from services_support import PAGE, ROOT, load_workload, nominal, run_pair

KCI = {"mode": "veil", "services": {"kci": {"enabled": True}}}


def _call_ns(n, pages: int, hashed: bool) -> float:
    """One service call for ``pages`` pages: round trip, RMPADJUST (+ SHA-256) per page, TLB flush."""
    per_page = n.rmpadjust + (PAGE / n.sha_bw if hashed else 0.0)
    return n.round_trip + pages * per_page + n.tlb_flush


@pytest.mark.parametrize("pages", [1, 509, 510, 511, 1500])
@pytest.mark.parametrize("per_call", [510, 64])
def test_calls_pages_and_time_in_closed_form(make_cfg, milan_raw, pages, per_call):
    """A load of P pages is ceil(P / per_call) calls, all full but the last; an unload the same
    without hashing. Calls, pages and added time over 3 iterations follow."""
    n = nominal(milan_raw)
    steps = [{"compute": "50us"}, {"kci": {"op": "module_load", "pages": pages}},
             {"kci": {"op": "module_unload", "pages": pages}}]
    setup = {"mode": "veil", "services": {"kci": {"enabled": True, "pages_per_call": per_call}}}
    treat, base = run_pair(make_cfg, steps=steps, setup=setup, run={"iterations": 3})
    calls = math.ceil(pages / per_call)
    batches = [per_call] * (calls - 1) + [pages - per_call * (calls - 1)]
    added = sum(_call_ns(n, b, True) + _call_ns(n, b, False) for b in batches)
    assert treat["kci.calls"] == 3 * 2 * calls
    assert treat["kci.pages"] == 3 * 2 * pages
    assert treat["switches_total"] == 3 * 2 * 2 * calls
    assert base["sim_time_ns"] == pytest.approx(3 * 50e3, rel=1e-12)
    assert treat["sim_time_ns"] - base["sim_time_ns"] == pytest.approx(3 * added, rel=1e-9)


def test_veil_without_kci_leaves_permission_changes_native(make_cfg):
    """With the service off, a permission change costs what it costs in the CVM: nothing extra."""
    steps = [{"compute": "50us"}, {"kci": {"op": "jit", "pages": 4}}]
    treat, base = run_pair(make_cfg, steps=steps, setup={"mode": "veil"}, run={"iterations": 5})
    assert treat["sim_time_ns"] == base["sim_time_ns"] and treat["switches_total"] == 0


KCI_WORKLOADS = sorted((ROOT / "workloads").glob("kci-*.yaml"))
HASHED = ("module_load", "jit", "text_patch")  # pages made executable or rewritten are measured


@pytest.mark.parametrize("path", KCI_WORKLOADS, ids=[p.stem for p in KCI_WORKLOADS])
def test_shipped_kci_workloads(make_cfg, milan_raw, path):
    """Each shipped Kci workload: per iteration one call per permission change (each asks for
    fewer pages than a call holds), hashing only for pages made executable or rewritten; the
    overhead is that work over the native run."""
    n = nominal(milan_raw)
    ops = [step["kci"] for step in load_workload(path)["steps"] if "kci" in step]
    assert ops and all(op["pages"] <= 510 for op in ops)
    treat, base = run_pair(make_cfg, workload=load_workload(path), setup=KCI, run={"iterations": 20})
    added = sum(_call_ns(n, op["pages"], op["op"] in HASHED) for op in ops)
    assert treat["kci.calls"] == 20 * len(ops)
    assert treat["kci.pages"] == 20 * sum(op["pages"] for op in ops)
    assert treat["sim_time_ns"] - base["sim_time_ns"] == pytest.approx(20 * added, rel=1e-9)
