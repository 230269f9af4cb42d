"""VeilS-Enc, enclave management: the service's spec (settings, record columns, crossings,
labels). Its model is :mod:`veilperf.services.enc.model`, imported only to simulate."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal

from veilperf.model.costs import PAGE_SIZE
from veilperf.services.spec import AtLeast, Column, Crossing, CrossingPart, Quantity, ServiceSpec
from veilperf.units import format_size

FALLBACK_ENCLAVE_SIZE = 16 * 1024**2
"""Assumption for workloads that state no footprint (no enclave image size is published for
Veil): 16 MiB, within the 4-64 MiB that configs/enclave.yaml sweeps."""


@dataclass(frozen=True, slots=True)
class EncSettings:
    """VeilS-Enc: every application thread of the workload runs inside an enclave (DomEnc).

    ``enclave_size``: the bytes measured and permission-changed at creation. Unset (null), it is
    the program's own memory, the workload's ``footprint`` (peak RSS from ``veilperf workload
    record``, or mapped memory seen in the trace), else ``FALLBACK_ENCLAVE_SIZE``; the record's
    ``enc.size_source`` says which. ``timer_hz`` is the guest's CONFIG_HZ (250 on Debian/Ubuntu
    x86-64 kernels; 100-1000 possible).

    ``page_tables``: ``shared`` is Veil as built (the enclave runs on its process's page tables,
    which the kernel writes: no memory-management call costs more than an ocall); ``private`` is
    the what-if where only VeilS-Enc writes them: each memory-management call (mmap, munmap,
    mprotect, brk, mremap, madvise) pays a VeilS-Enc call from the kernel validating and applying
    it (a global TLB flush; per page it changes, two RMPADJUSTs and a page-table entry), and each
    first touch of a page that mmap or brk added is a fault round trip through the service. Which
    pages: ``touched_share`` of the pages a call names (its range, from the workload's ``pages``;
    1 page when unstated), for the faults of mmap/brk pages and for the pages already mapped that
    munmap, mprotect, mremap and madvise change. Assumption 0.5, range 0.05-1: peak RSS over peak
    mapped memory (VmHWM/VmPeak at exit) measured 0.55-0.70 for gzip, sha256sum, sqlite3, find and
    tar, 0.09 for python3 -m http.server after 200 requests (its 8 MiB thread stacks barely used).
    """

    enclave_size: Annotated[float | None, Quantity("size")] = None  # bytes measured and permission-changed at creation
    timer_hz: Annotated[float, Quantity("rate")] = 250.0  # timer interrupts taken in the enclave: exit + re-entry each
    switchless: bool = False  # what-if: ocalls posted to a polling worker on another VCPU
    switchless_workers: Annotated[int, AtLeast(1)] = 1
    page_tables: Literal["shared", "private"] = "shared"  # what-if: private = only VeilS-Enc writes them
    touched_share: Annotated[float, AtLeast(0.0)] = 0.5  # private: share of a call's pages touched (range 0.05-1)

    def __post_init__(self) -> None:
        if self.touched_share > 1:
            raise ValueError(f"touched_share is a share of pages: at most 1, not {self.touched_share:g}")
        if self.page_tables == "private" and self.switchless:
            raise ValueError("page_tables: private is modelled for ocalls on VCPU replicas, not switchless ones")


DEFAULTS = EncSettings()


def enclave_size(settings: EncSettings, footprint: float | None) -> tuple[float, str]:
    """(bytes, source) of the enclave: the setting, else the program's footprint rounded up to
    whole pages, else :data:`FALLBACK_ENCLAVE_SIZE`."""
    if settings.enclave_size is not None:
        return settings.enclave_size, "setting"
    if footprint:
        return math.ceil(footprint / PAGE_SIZE) * PAGE_SIZE, "workload"
    return FALLBACK_ENCLAVE_SIZE, "fallback"


def short_label(settings: EncSettings) -> str:
    """``enc``, ``enc switchless``, ``enc switchless x2``, ``enc private PT``, ``enc private PT
    touched 0.1``, ``enc 4MiB``, ``enc 1000 Hz``: what differs from the defaults (the touched share
    only where it counts, with private page tables)."""
    parts = ["enc"]
    if settings.switchless:
        workers = settings.switchless_workers
        parts.append("switchless" if workers == 1 else f"switchless x{workers}")
    if settings.page_tables == "private":
        parts.append("private PT")
        if settings.touched_share != DEFAULTS.touched_share:
            parts.append(f"touched {settings.touched_share:g}")
    if settings.enclave_size is not None:
        parts.append(format_size(settings.enclave_size))
    if settings.timer_hz != DEFAULTS.timer_hz:
        parts.append(f"{settings.timer_hz:g} Hz")
    return " ".join(parts)


COLUMNS = (
    Column("enc.ocalls", "system calls the enclave made through the untrusted kernel (vDSO calls excluded)", "count"),
    Column("enc.vdso_calls", "vDSO calls, which stay in the enclave", "count"),
    Column("enc.timer_exits", "timer interrupts taken in DomEnc, each an exit and a re-entry", "count"),
    Column("enc.replicas", "DomEnc VCPU replicas created (one per VCPU that ran enclave code)", "count"),
    Column("enc.create_ns", "time the threads spent creating the enclave and their replicas, or waiting for them",
           "ns"),
    Column("enc.size_bytes", "the enclave measured and permission-changed at creation", "bytes"),
    Column("enc.size_source", "where enc.size_bytes came from: setting, workload (footprint) or fallback", "text"),
    Column("costs.enc.ocall_ns", "Veil's cost of one ocall at the run's mean argument bytes (the zero-byte ocall "
           "when it made none): exit and re-entry with both deep copies, or with a dedicated pool the copies and "
           "its message both ways (no queueing)", "ns"),
    Column("costs.enc.ocall_switching_ns", "the domain switches in costs.enc.ocall_ns", "ns"),
    Column("costs.enc.timer_exit_ns", "one timer interrupt taken in the enclave: exit and re-entry", "ns"),
    Column("costs.enc.timer_exit_switching_ns", "the domain switches in costs.enc.timer_exit_ns", "ns"),
    Column("costs.enc.creation_ns", "the VeilS-Enc call creating the enclave of enc.size_bytes", "ns"),
    Column("costs.enc.replica_ns", "the VeilMon call creating one DomEnc replica", "ns"),
    Column("enc.mm_ocalls", "memory-management ocalls (mmap, munmap, mprotect, brk, mremap, madvise), "
           "whatever the page tables", "count"),
    Column("enc.mm_pages", "pages those calls named (their ranges; 1 per call whose workload step states none)",
           "count"),
    Column("enc.mm_pages_assumed", "memory-management ocalls whose workload step states no pages (1 page assumed)",
           "count"),
    Column("enc.mm_calls", "VeilS-Enc calls applying memory-management calls to private page tables (0 when "
           "shared)", "count"),
    Column("enc.mm_pages_changed", "pages those VeilS-Enc calls changed: touched_share of the pages named by "
           "munmap, mprotect, mremap and madvise", "count"),
    Column("enc.pt_faults", "first touches of pages mmap or brk added, each a fault round trip through VeilS-Enc "
           "(private page tables: touched_share of those pages)", "count"),
    Column("costs.enc.mm_call_ns", "one VeilS-Enc call applying a memory-management call to private page tables, "
           "at the run's mean pages changed per call (charged only under private page tables)", "ns"),
    Column("costs.enc.mm_call_switching_ns", "the domain switches in costs.enc.mm_call_ns", "ns"),
    Column("costs.enc.pt_fault_ns", "one first-touch fault through VeilS-Enc: exit, the service maps the page, "
           "re-entry (charged only under private page tables)", "ns"),
    Column("costs.enc.pt_fault_switching_ns", "the domain switches in costs.enc.pt_fault_ns", "ns"),
)

SPEC = ServiceSpec(
    name="enc",
    display_name="VeilS-Enc (enclaves)",
    settings=EncSettings,
    model="veilperf.services.enc.model:EnclaveService",
    columns=COLUMNS,
    short_label=short_label,
    color="#1f77b4",
    crossing=Crossing(
        what="crossings (ocalls, timer exits; with private page tables, their service calls and faults)",
        parts=(CrossingPart("enc.ocalls", "costs.enc.ocall_ns", "costs.enc.ocall_switching_ns"),
               CrossingPart("enc.timer_exits", "costs.enc.timer_exit_ns", "costs.enc.timer_exit_switching_ns"),
               CrossingPart("enc.mm_calls", "costs.enc.mm_call_ns", "costs.enc.mm_call_switching_ns"),
               CrossingPart("enc.pt_faults", "costs.enc.pt_fault_ns", "costs.enc.pt_fault_switching_ns")),
        explains="an ocall leaves and re-enters the enclave (two one-way switches; VeilMon is not on this path) "
                 "and deep-copies its arguments both ways, at the program's mean bytes per ocall; a timer "
                 "interrupt taken in the enclave is an exit and a re-entry; with private page tables a "
                 "memory-management ocall adds a VeilS-Enc call from the kernel (a TLB flush, per page changed two "
                 "RMPADJUSTs and an entry) and a first touch of a page mmap or brk added is an exit, a VeilS-Enc "
                 "call mapping it and a re-entry",
    ),
)
