"""Helpers for the services tests: platform numbers parsed straight from the shipped Milan
profile (independently of veilperf.model.costs), the shipped workload files, and paired runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from veilperf.run import simulate_workload
from veilperf.units import parse_bandwidth, parse_duration

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = sorted((ROOT / "workloads").glob("*.yaml"))
PAGE = 4096
MIB = 1024**2


@dataclass(frozen=True)
class Nominal:
    """The profile's nominal costs in ns, bandwidths in bytes per ns."""

    switch: float
    map_unmap: float
    dispatch: float
    channel_fixed: float
    copy_bw: float
    sha_bw: float
    rmpadjust: float
    tlb_flush: float
    ghcb: float
    pt_update: float

    @property
    def monitor(self) -> float:
        """The callee's fixed work per round trip (map/unmap + dispatch)."""
        return self.map_unmap + self.dispatch

    @property
    def round_trip(self) -> float:
        """One call into VeilMon or a service without payload or handler: two switches + monitor."""
        return 2 * self.switch + self.monitor

    @property
    def page_change(self) -> float:
        """One page of private enclave page tables changed: two RMPADJUSTs and an entry written."""
        return 2 * self.rmpadjust + self.pt_update

    def mm_call(self, pages: float) -> float:
        """One VeilS-Enc call applying a memory-management call: a service round trip, ``pages``
        pages changed, one global TLB flush."""
        return self.round_trip + pages * self.page_change + self.tlb_flush

    @property
    def pt_fault(self) -> float:
        """One first-touch fault: exit, a service round trip mapping one page, re-entry."""
        return 2 * self.switch + self.round_trip + self.page_change

    def copy(self, nbytes: float) -> float:
        """One shared-memory copy of ``nbytes``."""
        return self.channel_fixed + nbytes / self.copy_bw


def nominal(milan_raw: dict, **values: str) -> Nominal:
    """Costs of the raw Milan profile, with some parameter values replaced (unit strings)."""
    params = {name: p["value"] for name, p in milan_raw["params"].items()}
    params.update(values)
    d = lambda name: parse_duration(params[name])  # noqa: E731
    return Nominal(
        switch=d("switch_one_way"),
        map_unmap=d("monitor_map_unmap"),
        dispatch=d("monitor_dispatch"),
        channel_fixed=d("channel_fixed"),
        copy_bw=parse_bandwidth(params["memcpy_bandwidth"]) / 1e9,
        sha_bw=parse_bandwidth(params["sha256_bandwidth"]) / 1e9,
        rmpadjust=d("rmpadjust"),
        tlb_flush=d("tlb_flush_global"),
        ghcb=d("ghcb_roundtrip"),
        pt_update=d("pt_update"),
    )


def enclave_setup_ns(n: Nominal, enclave_bytes: float = 16 * MIB) -> float:
    """One-off enclave costs: the creation call (2 RMPADJUST per page, SHA-256 of the image, a
    global TLB flush), the DomEnc replica (a VMSA: 1 RMPADJUST, the page initialised, an AP-create
    GHCB request), the first entry and the final exit (one switch each)."""
    create = n.round_trip + enclave_bytes / PAGE * 2 * n.rmpadjust + enclave_bytes / n.sha_bw + n.tlb_flush
    replica = n.round_trip + n.rmpadjust + PAGE / n.copy_bw + n.ghcb
    return create + replica + 2 * n.switch


def load_workload(path: Path) -> dict:
    """A shipped workload file as a raw dict."""
    return yaml.safe_load(path.read_text())


def run_pair(make_cfg, *, setup: dict, baseline_setup: dict | None = None, **kwargs) -> tuple[dict, dict]:
    """(treatment, baseline) records of the same point under ``setup`` and under a plain CVM."""
    base = baseline_setup or {"mode": "cvm", "vcpus": setup.get("vcpus", 1)}
    return (simulate_workload(make_cfg(setup=setup, **kwargs)),
            simulate_workload(make_cfg(setup=base, **kwargs)))
