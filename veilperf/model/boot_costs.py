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
from dataclasses import dataclass

from veilperf.config.run_config import RunConfig
from veilperf.model.costs import PAGE_SIZE, PlatformCosts

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


@dataclass(frozen=True, slots=True)
class BootCosts:
    """Boot-phase and per-operation costs of one run, in ns (sizes in bytes)."""

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
    pvalidate: float
    chunk_pages: int
    call_pages: int
    page_in_monitor: float  # Veil, per validated page inside VeilMon
    call_in_monitor: float  # Veil, per call inside VeilMon (map/unmap area+VMSA, dispatch, TLB flush)
    switch: float  # one way
    # Veil's additions
    monitor_load: float
    replica: float  # one VMSA set-up
    ap_call_in_monitor: float  # booting one AP through VeilMon, inside the monitor
    kci_phase: float
    kci_calls: int

    @classmethod
    def from_config(cls, cfg: RunConfig) -> "BootCosts":
        """Resolve a ``kind: boot`` run configuration."""
        pc = PlatformCosts.from_profile(cfg.platform)
        b = cfg.platform.boot
        veil = cfg.setup.mode == "veil"
        page_map_unmap = b.page_map_unmap.value
        call_in_monitor = pc.monitor_overhead_ns() + pc.tlb_flush_global
        kci_cfg = cfg.setup.services.kci
        kci = veil and (cfg.boot.kci_protect_text or kci_cfg.enabled)
        text_pages = _pages(b.kernel_text.value)
        kci_calls = math.ceil(text_pages / kci_cfg.pages_per_call) if kci else 0
        kci_hash = pc.sha256_ns(text_pages * PAGE_SIZE) if kci_cfg.hash_pages else 0.0
        return cls(
            veil=veil,
            vcpus=cfg.setup.vcpus,
            memory_pages=_pages(cfg.boot.memory),
            lazy=cfg.boot.acceptance == "lazy",
            kci=kci,
            vmm_launch=b.vmm_launch.value,
            firmware=b.firmware.value,
            kernel_fixed=b.kernel_fixed.value,
            ap_bringup=b.ap_bringup.value,
            struct_page_init=b.struct_page_init.value,
            memmap_fraction=b.struct_page_size.value / PAGE_SIZE,
            boot_touched_pages=_pages(b.boot_touched.value),
            ap_touched_pages=_pages(b.ap_touched.value),
            accept_host=b.accept_host.value,
            pvalidate=pc.pvalidate,
            chunk_pages=_pages(b.accept_chunk.value),
            call_pages=b.monitor_call_pages.value,
            page_in_monitor=pc.pvalidate + b.validate_rmpadjusts.value * pc.rmpadjust + page_map_unmap,
            call_in_monitor=call_in_monitor,
            switch=pc.switch_one_way,
            monitor_load=(b.monitor_memory.value / b.monitor_launch_bandwidth.value * 1e9
                          + pc.sha256_ns(b.monitor_image.value) + b.monitor_init.value),
            replica=pc.rmpadjust + PAGE_SIZE / pc.copy_bytes_per_ns + pc.ghcb_roundtrip,
            ap_call_in_monitor=(pc.monitor_overhead_ns() + b.ap_boot_rmpadjusts.value * pc.rmpadjust
                                + pc.tlb_flush_global),
            kci_phase=(kci_calls * (2 * pc.switch_one_way + call_in_monitor)
                       + text_pages * pc.rmpadjust + kci_hash),
            kci_calls=kci_calls,
        )

    # --- closed forms -------------------------------------------------------------------------

    def calls_for(self, pages: int) -> int:
        """VeilMon calls to validate a contiguous run of ``pages`` (0 in a plain CVM)."""
        return math.ceil(pages / self.call_pages) if self.veil else 0

    def validate_call(self, pages: int) -> MonitorCall:
        """One Veil validation call of ``pages`` (at most ``call_pages``) pages."""
        return MonitorCall(
            before=pages * self.accept_host + self.switch,
            inside=self.call_in_monitor + pages * self.page_in_monitor,
            after=self.switch,
        )

    def validate_run_ns(self, pages: int) -> float:
        """Accepting a contiguous run of ``pages`` pages, batched, in closed form."""
        if not self.veil:
            return pages * (self.accept_host + self.pvalidate)
        calls = self.calls_for(pages)
        return (pages * (self.accept_host + self.page_in_monitor)
                + calls * (2 * self.switch + self.call_in_monitor))

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

    @property
    def memmap_pages(self) -> int:
        """Pages of memmap (struct page array) for the guest's memory."""
        return math.ceil(self.memory_pages * self.memmap_fraction)

    @property
    def replicas(self) -> int:
        """VMSAs Veil sets up at boot beyond the one per VCPU a plain CVM has."""
        return self.vcpus * (len(BOOT_DOMAINS) - 1) if self.veil else 0


def _pages(nbytes: float) -> int:
    return math.ceil(nbytes / PAGE_SIZE)
