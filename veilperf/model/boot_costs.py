"""Boot costs in model units (ns, bytes) and their closed forms.

Everything that scales with pages is charged here in closed form, so a boot of any size costs the
event loop the same number of events. The SimPy process in :mod:`veilperf.model.boot` only decides
*who* pays *when*.

Validation (memory acceptance) of ``n`` pages, as a contiguous run:

* plain CVM: ``n * (accept_host + pvalidate)``: the kernel asks the hypervisor to make the pages
  private (page-state change, RMPUPDATE, host fault-in: ``accept_host``) and PVALIDATEs them.
* Veil: the kernel at VMPL-3 may not PVALIDATE, so after the same hypervisor step it calls VeilMon,
  one call per ``monitor_call_pages`` (510) pages. Per call: two switches outside the monitor, and
  inside it the caller's area/VMSA map+unmap, dispatch and one global TLB flush. Per page inside the
  monitor: map, PVALIDATE, ``validate_rmpadjusts`` (3) RMPADJUST, unmap.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property, partial

from veilperf.model import charges
from veilperf.model.costs import PlatformCosts
from veilperf.model.domains import MON, UNT

BOOT_DOMAINS = ("mon", "ser", "unt")
"""Domains that have a replica of every VCPU from boot on. A plain CVM already has one VMSA per VCPU;
Veil adds the others. Enclave (DomEnc) replicas are created with an enclave, not at boot."""


@dataclass(frozen=True, slots=True)
class MonitorCall:
    """One VeilMon call, split at the monitor lock: ``before`` is the caller's hypervisor work and
    its switch in, ``inside`` is spent holding the monitor lock, ``after`` is the switch out."""

    before: float
    inside: float
    after: float

    @classmethod
    def of(cls, costs: PlatformCosts, charge: charges.Charge, caller_before: float = 0.0) -> "MonitorCall":
        """Split a one-round VeilMon call from DomUnt: the switch in (DomUnt -> DomMon) on the
        caller's side, the callee's work inside, the switch out (DomMon -> DomUnt) after."""
        switch_in = charges.switch(costs, UNT, MON)
        switch_out = charges.switch(costs, MON, UNT)
        assert charge.switch_ns == switch_in.switch_ns + switch_out.switch_ns, "not a one-round call"
        return cls(caller_before + switch_in.switch_ns, charge.total_ns - charge.switch_ns, switch_out.switch_ns)


@dataclass(frozen=True)
class BootCosts:
    """Boot-phase and per-operation costs of one run, in ns (sizes in bytes); built by the run
    layer. Veil's mechanisms (validation calls, AP boot calls, replicas, Kci) are charged by
    ``model.charges``."""

    costs: PlatformCosts
    veil: bool
    vcpus: int
    memory_pages: int
    lazy: bool
    kci: bool
    # fixed phases
    vmm_launch: float
    firmware: float
    kernel_fixed: float
    # scaling parts of the kernel phase
    ap_bringup: float
    struct_page_init: float
    memmap_fraction: float  # memmap bytes per byte of guest memory
    boot_touched_pages: int
    ap_touched_pages: int
    # acceptance
    accept_host: float
    chunk_pages: int
    call_pages: int
    page_map_unmap: float  # Veil: mapping and unmapping one page inside VeilMon
    validate_rmpadjusts: int  # Veil: RMPADJUSTs per validated page (grant VMPL-1..3)
    # Veil's additions
    monitor_load: float
    ap_boot_rmpadjusts: int
    kci_text_pages: int
    kci_pages_per_call: int
    kci_hash: bool

    @property
    def page_in_monitor(self) -> float:
        """Veil, per validated page inside VeilMon: map, PVALIDATE, RMPADJUSTs, unmap."""
        return charges.page_validation_ns(self.costs, self.validate_rmpadjusts, self.page_map_unmap)

    @property
    def replica(self) -> float:
        """Setting up one VMSA (VeilMon does it itself at boot: no call)."""
        return charges.vmsa_setup_ns(self.costs)

    @cached_property
    def ap_call(self) -> MonitorCall:
        """Booting one AP through VeilMon."""
        return MonitorCall.of(self.costs, charges.ap_boot_call(self.costs, self.ap_boot_rmpadjusts))

    @property
    def kci_calls(self) -> int:
        return charges.calls_for(self.kci_text_pages, self.kci_pages_per_call) if self.kci else 0

    @cached_property
    def kci_phase(self) -> float:
        """VeilS-Kci write-protecting the kernel text, in closed form."""
        if not self.kci:
            return 0.0
        return charges.kci_run(self.costs, UNT, self.kci_text_pages, self.kci_pages_per_call,
                               self.kci_hash).total_ns

    # --- closed forms -------------------------------------------------------------------------

    def calls_for(self, pages: int) -> int:
        """VeilMon calls to validate a contiguous run of ``pages`` (0 in a plain CVM)."""
        return charges.calls_for(pages, self.call_pages) if self.veil else 0

    def validate_call(self, pages: int) -> MonitorCall:
        """One Veil validation call of ``pages`` (at most ``call_pages``) pages, after the
        hypervisor's part of accepting them."""
        return MonitorCall.of(self.costs, self._validation(pages),
                              caller_before=charges.host_acceptance_ns(pages, self.accept_host))

    @cached_property
    def _validation(self) -> Callable[[int], charges.Charge]:
        """``charges.validation_call`` for a page count, computed once per count (a boot asks for
        a handful of distinct counts, many times)."""
        return cache(partial(charges.validation_call, self.costs, page_in_monitor_ns=self.page_in_monitor))

    def validate_run_ns(self, pages: int) -> float:
        """Accepting a contiguous run of ``pages`` pages, batched, in closed form."""
        if not self.veil:
            return charges.cvm_acceptance_ns(self.costs, pages, self.accept_host)
        return charges.veil_acceptance_ns(pages, self.accept_host, self.call_pages, self._validation)

    def chunked_pages(self, pages: int) -> int:
        """Pages accepted when ``pages`` are touched lazily: whole chunks, at most all memory."""
        chunks = math.ceil(pages / self.chunk_pages)
        return min(self.memory_pages, chunks * self.chunk_pages)

    def chunks_of(self, pages: int) -> list[int]:
        """Split a lazily accepted page count into its chunks' sizes (the last may be short)."""
        full, rest = divmod(pages, self.chunk_pages)
        return [self.chunk_pages] * full + ([rest] if rest else [])

    def chunked_ns(self, pages: int) -> float:
        """Accepting ``pages`` (a sum of chunks) chunk by chunk, in closed form."""
        full, rest = divmod(pages, self.chunk_pages)
        return full * self.validate_run_ns(self.chunk_pages) + self.validate_run_ns(rest)

    def chunked_calls(self, pages: int) -> int:
        """VeilMon calls to accept ``pages`` chunk by chunk."""
        full, rest = divmod(pages, self.chunk_pages)
        return full * self.calls_for(self.chunk_pages) + self.calls_for(rest)

    def cost_columns(self) -> dict[str, float]:
        """The resolved costs of Veil's boot mechanisms for the record (``costs.boot.*``, ns)."""
        return {
            "costs.boot.page_validation_ns": self.page_in_monitor,
            "costs.boot.validation_call_ns": self._validation(self.call_pages).total_ns,
            "costs.boot.ap_boot_call_ns": charges.ap_boot_call(self.costs, self.ap_boot_rmpadjusts).total_ns,
            "costs.boot.replica_ns": self.replica,
            "costs.boot.monitor_load_ns": self.monitor_load,
        }

    @property
    def memmap_pages(self) -> int:
        """Pages of memmap (struct page array) for the guest's memory."""
        return math.ceil(self.memory_pages * self.memmap_fraction)

    @property
    def replicas(self) -> int:
        """VMSAs Veil sets up at boot beyond the one per VCPU a plain CVM has."""
        return self.vcpus * (len(BOOT_DOMAINS) - 1) if self.veil else 0
