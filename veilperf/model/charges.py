"""What each Veil mechanism charges: the one place a mechanism's cost is written.

A :class:`Charge` says where the time goes: work per domain, domain switches by (from, to) and
the time they take, and the Veil-added time by cause. The event path (``ThreadRunner.apply``),
the fast paths (which count operations and apply ``charge.times(count)``), the vectorised mix
batches, the log reader, the dedicated pools, boot's closed forms, the run layer (the switch from
its parts) and the analysis (per-crossing costs, read back from the record's ``costs.*`` columns
the services fill from the functions below) all take their costs from here; none re-derives them.

This module is pure: no SimPy, no ``veilperf.config``, so the analysis, the sensitivity study and
boot import it without loading the simulator (``tests/test_layers.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from veilperf.model.costs import PAGE_SIZE, PlatformCosts
from veilperf.model.domains import ENC, MON, SER, UNT
from veilperf.model.vcpu import CAUSE_NAMES, COPY, MONITOR, PAGETABLE, SERVICE, SWITCH

_NO_WORK = (0.0, 0.0, 0.0, 0.0)
_NO_CAUSE = (0.0,) * len(CAUSE_NAMES)
RMPADJUST_PER_ENCLAVE_PAGE = 2  # revoke VMPL-3 access, grant VMPL-2 access (docs/references.md)


@dataclass(frozen=True, slots=True)
class Charge:
    """Time one mechanism costs a VCPU.

    ``domain_ns``: work per domain (MON, SER, ENC, UNT); ``switches``: (from, to, count);
    ``switch_ns``: time spent in those switches; ``cause_ns``: Veil-added time by cause (indices
    of ``vcpu.CAUSE_NAMES``); ``ends_in``: the domain the VCPU runs afterwards (None: unchanged).
    """

    domain_ns: tuple[float, float, float, float] = _NO_WORK
    switches: tuple[tuple[int, int, int], ...] = ()
    switch_ns: float = 0.0
    cause_ns: tuple[float, ...] = _NO_CAUSE
    ends_in: int | None = None
    total_ns: float = field(init=False, compare=False, repr=False)
    """Time the charge takes on the VCPU that pays it."""
    work_items: tuple[tuple[int, float], ...] = field(init=False, compare=False, repr=False)
    """(domain, ns) of the non-zero work, for booking it fast."""
    cause_items: tuple[tuple[int, float], ...] = field(init=False, compare=False, repr=False)
    """(cause, ns) of the non-zero causes."""
    work_ns: float = field(init=False, compare=False, repr=False)
    """The work without the switches: what a dedicated VCPU does when it serves the charge."""
    served_cause_items: tuple[tuple[int, float], ...] = field(init=False, compare=False, repr=False)
    """``cause_items`` without the switches, for a charge served by a dedicated VCPU."""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "total_ns", sum(self.domain_ns) + self.switch_ns)
        set_(self, "work_items", tuple((d, ns) for d, ns in enumerate(self.domain_ns) if ns))
        set_(self, "cause_items", tuple((c, ns) for c, ns in enumerate(self.cause_ns) if ns))
        set_(self, "work_ns", sum(self.domain_ns))
        set_(self, "served_cause_items", tuple((c, ns) for c, ns in self.cause_items if c != SWITCH))

    def __add__(self, other: "Charge") -> "Charge":
        merged: dict[tuple[int, int], int] = {}
        for a, b, n in self.switches + other.switches:
            merged[(a, b)] = merged.get((a, b), 0) + n
        return Charge(
            tuple(x + y for x, y in zip(self.domain_ns, other.domain_ns)),
            tuple((a, b, n) for (a, b), n in merged.items()),
            self.switch_ns + other.switch_ns,
            tuple(x + y for x, y in zip(self.cause_ns, other.cause_ns)),
            other.ends_in if other.ends_in is not None else self.ends_in,
        )

    def times(self, count: float) -> "Charge":
        """``count`` repetitions (switch counts must stay whole)."""
        return Charge(
            tuple(x * count for x in self.domain_ns),
            tuple((a, b, int(n * count)) for a, b, n in self.switches),
            self.switch_ns * count,
            tuple(x * count for x in self.cause_ns),
            self.ends_in,
        )


NOTHING = Charge()


def work(domain: int, ns: float, cause: int | None = None) -> Charge:
    """``ns`` of work in ``domain``; Veil-added and attributed to ``cause`` when one is given."""
    domain_ns = [0.0, 0.0, 0.0, 0.0]
    domain_ns[domain] = ns
    causes = list(_NO_CAUSE)
    if cause is not None:
        causes[cause] = ns
    return Charge(tuple(domain_ns), cause_ns=tuple(causes))


SWITCH_MODELS: dict[str, tuple[str, ...]] = {
    "one_way": ("switch_one_way",),
    "parts": ("switch_exit", "switch_vmsa_swap", "switch_entry"),
}
"""The platform parameters each ``switch_model`` of a profile reads."""


def switch_one_way_ns(model: str, params: Mapping[str, float]) -> float:
    """One hypervisor-mediated domain switch, one way, from a profile's parameters (ns):
    ``switch_one_way`` itself, or under the ``parts`` model the sum of its parts (VMGEXIT exit,
    VMSA pointer swap + VMCB dirty, VMRUN entry). The platform gives one figure for every
    direction; :func:`switch` is where a direction's cost is taken from it."""
    return sum(params[name] for name in SWITCH_MODELS[model])


def switch(costs: PlatformCosts, src: int, dst: int) -> Charge:
    """One hypervisor-mediated domain switch from ``src`` to ``dst``: VMGEXIT, VMSA pointer swap,
    VMRUN of the target (every direction costs the platform's one-way figure)."""
    ns = costs.switch_one_way
    causes = list(_NO_CAUSE)
    causes[SWITCH] = ns
    return Charge(switches=((src, dst, 1),), switch_ns=ns, cause_ns=tuple(causes), ends_in=dst)


def round_trip(costs: PlatformCosts, origin: int, target: int) -> Charge:
    """Switch to ``target`` and back."""
    return switch(costs, origin, target) + switch(costs, target, origin)


def domain_call(costs: PlatformCosts, origin: int, target: int, nbytes: float = 0.0,
                handler_ns: float = 0.0, handler_cause: int = SERVICE) -> Charge:
    """A call into VeilMon or a service: per calling-area round a round trip plus the callee's
    map/unmap and dispatch, the payload copied through the calling area, then the handler."""
    rounds = costs.calling_area_rounds(nbytes)
    charge = round_trip(costs, origin, target).times(rounds)
    charge += work(target, rounds * costs.monitor_overhead_ns(), MONITOR)
    if nbytes:
        charge += work(target, rounds * costs.copy_ns(nbytes / rounds), COPY)
    if handler_ns:
        charge += work(target, handler_ns, handler_cause)
    return charge


# -- dedicated pools (static partitioning, switchless workers) ------------------------------

@dataclass(frozen=True, slots=True)
class Message:
    """Reaching a dedicated VCPU through shared memory instead of a switch: the time to get the
    request seen (``notify_ns``) and to see the reply (``reply_ns``)."""

    notify_ns: float
    reply_ns: float

    @property
    def total_ns(self) -> float:
        """Both legs of one request."""
        return self.notify_ns + self.reply_ns


def ipi_message(costs: PlatformCosts) -> Message:
    """A statically partitioned VCPU is woken by an IPI; the caller polls for the reply."""
    return Message(costs.ipi_notify, costs.poll_latency)


def polled_message(costs: PlatformCosts) -> Message:
    """A switchless worker polls shared memory for requests; the caller polls for the reply."""
    return Message(costs.poll_latency, costs.poll_latency)


def served_ns(work_ns: float, message: Message) -> float:
    """A request served by a pool VCPU, from posting it to seeing the reply (no queueing):
    the message both ways around the work."""
    return message.notify_ns + work_ns + message.reply_ns


def paid_ns(charge: Charge, message: Message | None) -> float:
    """What a Veil call costs its caller: the charge itself on VCPU replicas (``message`` None),
    or, served by a dedicated pool reached by ``message``, its work without the switches plus the
    message (no queueing)."""
    return charge.total_ns if message is None else served_ns(charge.work_ns, message)


def paid_switching_ns(charge: Charge, message: Message | None) -> float:
    """The part of :func:`paid_ns` spent in domain switches (none when a pool serves the call)."""
    return charge.switch_ns if message is None else 0.0


def at_switch(cost_ns: float, switching_ns: float, switch_ns: float, other_switch_ns: float) -> float:
    """A cost charged with one-way switches of ``switch_ns`` (``switching_ns`` of it spent
    switching), had every switch cost ``other_switch_ns`` instead (the analysis moves recorded
    costs over the switch's range with it)."""
    return cost_ns + switching_ns * (other_switch_ns / switch_ns - 1.0)


# -- VeilS-Enc -------------------------------------------------------------------------------

def ocall_copy_in(costs: PlatformCosts, bytes_in: float) -> Charge:
    """The syscall-sanitizer deep-copies an enclave system call's arguments to the shared buffer."""
    return work(ENC, costs.copy_ns(bytes_in), COPY)


def ocall_copy_out(costs: PlatformCosts, bytes_out: float) -> Charge:
    """... and deep-copies its results back into the enclave."""
    return work(ENC, costs.copy_ns(bytes_out), COPY)


def ocall_exit(costs: PlatformCosts, bytes_in: float) -> Charge:
    """An enclave system call's way out: copy the arguments, exit to the kernel."""
    return ocall_copy_in(costs, bytes_in) + switch(costs, ENC, UNT)


def ocall_return(costs: PlatformCosts, bytes_out: float) -> Charge:
    """An enclave system call's way back: re-enter, copy the results in."""
    return switch(costs, UNT, ENC) + ocall_copy_out(costs, bytes_out)


def ocall(costs: PlatformCosts, bytes_in: float, bytes_out: float) -> Charge:
    """One ocall on VCPU replicas (the kernel's own work is the workload's, not Veil's)."""
    return ocall_exit(costs, bytes_in) + ocall_return(costs, bytes_out)


def remote_ocall_copies(costs: PlatformCosts, bytes_in: float, bytes_out: float) -> Charge:
    """An ocall posted to a dedicated pool: both deep copies, no switch (the pool adds notify)."""
    return ocall_copy_in(costs, bytes_in) + ocall_copy_out(costs, bytes_out)


def remote_ocall_ns(costs: PlatformCosts, bytes_in: float, bytes_out: float, message: Message) -> float:
    """Veil's part of an ocall a dedicated pool runs: both deep copies and the message both ways
    (the kernel's own work is the workload's; queueing for the pool not included)."""
    return remote_ocall_copies(costs, bytes_in, bytes_out).total_ns + message.total_ns


def timer_exit(costs: PlatformCosts) -> Charge:
    """A timer interrupt taken in DomEnc: exit to the kernel and re-enter (the VCPU ends where
    it was)."""
    return replace(round_trip(costs, ENC, UNT), ends_in=None)


def vmsa_setup_ns(costs: PlatformCosts) -> float:
    """Setting up one VCPU replica: RMPADJUST the page into a VMSA, initialise it (one page
    written), register it with the hypervisor (a GHCB round trip)."""
    return costs.rmpadjust + PAGE_SIZE / costs.copy_bytes_per_ns + costs.ghcb_roundtrip


def replica_creation(costs: PlatformCosts, origin: int) -> Charge:
    """A DomEnc replica for one VCPU: one VeilMon call that sets up its VMSA."""
    return domain_call(costs, origin, MON, handler_ns=vmsa_setup_ns(costs))


def enclave_creation_ns(costs: PlatformCosts, size: float) -> float:
    """The service's work to create an enclave of ``size`` bytes: two RMPADJUST per page, the
    SHA-256 measurement of the image, a global TLB flush."""
    pages = size / PAGE_SIZE
    return pages * RMPADJUST_PER_ENCLAVE_PAGE * costs.rmpadjust + costs.sha256_ns(size) + costs.tlb_flush_global


def enclave_creation(costs: PlatformCosts, origin: int, size: float) -> Charge:
    """Creating the enclave: one VeilS-Enc call."""
    return domain_call(costs, origin, SER, handler_ns=enclave_creation_ns(costs, size))


# -- VeilS-Enc with private page tables (the page_tables: private what-if) ----------------

def enclave_page_change_ns(costs: PlatformCosts) -> float:
    """VeilS-Enc changing one page of an enclave's private page tables: the page's RMP permission
    moved between DomUnt and DomEnc (the enclave creation's two RMPADJUSTs) and its entry written."""
    return RMPADJUST_PER_ENCLAVE_PAGE * costs.rmpadjust + costs.pt_update


def mm_handler_ns(costs: PlatformCosts, pages: float) -> float:
    """VeilS-Enc's work applying one memory-management call to the enclave's private page tables:
    validate it, change ``pages`` pages (a run's mean may be fractional), flush the TLB once."""
    return pages * enclave_page_change_ns(costs) + costs.tlb_flush_global


def mm_call(costs: PlatformCosts, pages: float) -> Charge:
    """The VeilS-Enc call the kernel (DomUnt) makes after doing its part of an enclave's
    memory-management call (mmap, munmap, ...): the service validates and applies the change to
    the private page tables, changing ``pages`` pages."""
    return domain_call(costs, UNT, SER, handler_ns=mm_handler_ns(costs, pages), handler_cause=PAGETABLE)


def pt_fault(costs: PlatformCosts) -> Charge:
    """A first touch of a newly mapped enclave page: the enclave exits to the kernel, which picks
    the page and asks VeilS-Enc to map it (one page changed; a new entry needs no TLB flush), and
    the enclave is re-entered."""
    service = domain_call(costs, UNT, SER, handler_ns=enclave_page_change_ns(costs), handler_cause=PAGETABLE)
    return switch(costs, ENC, UNT) + service + switch(costs, UNT, ENC)


# -- VeilS-Log -------------------------------------------------------------------------------

def audit_transit(costs: PlatformCosts, size: float) -> Charge:
    """The kernel's audit hook copies one record into the per-CPU transit buffer."""
    return work(UNT, costs.copy_ns(size), COPY)


def ring_copy_ns(costs: PlatformCosts, ring_sizes: tuple[float, ...]) -> float:
    """VeilS-Log copying records (sizes already aligned for the ring) into its ring: the handler
    of one append call (a ``domain_call`` into DomSer)."""
    return sum(costs.copy_ns(size) for size in ring_sizes)


def log_append(costs: PlatformCosts, origin: int, ring_sizes: tuple[float, ...]) -> tuple[Charge, Charge]:
    """One append call (its records' transit copies are charged apart, record by record): the
    call into DomSer, and apart from it its handler copying the records into the ring (only the
    handler holds the ring)."""
    return domain_call(costs, origin, SER), work(SER, ring_copy_ns(costs, ring_sizes), SERVICE)


def log_call(costs: PlatformCosts, origin: int, records: float, record_bytes: float,
             ring_bytes: float) -> Charge:
    """One append call carrying ``records`` records of ``record_bytes`` bytes in all
    (``ring_bytes`` once aligned for the ring), their transit copies included. Each copy is a
    fixed round plus its bytes, so at a run's means per call (fractional records allowed) this is
    the run's mean cost per call."""
    charge = domain_call(costs, origin, SER)
    if records:
        charge += audit_transit(costs, record_bytes / records).times(records)
        charge += work(SER, records * costs.copy_ns(ring_bytes / records), SERVICE)
    return charge


def log_read(costs: PlatformCosts, origin: int, chunk: float) -> Charge:
    """One read call of the log: ``chunk`` bytes returned through the calling area."""
    return domain_call(costs, origin, SER, nbytes=chunk)


# -- VeilS-Kci -------------------------------------------------------------------------------

def kci_handler_ns(costs: PlatformCosts, pages: float, hashed: float) -> float:
    """VeilS-Kci's work for one call: per page an RMPADJUST (and a SHA-256 of the page when it
    becomes executable or read-only: ``hashed`` is the share of such pages, 1.0 or 0.0 for one
    call, between for a run's mean call), then a global TLB flush."""
    per_page = costs.rmpadjust + hashed * costs.sha256_ns(PAGE_SIZE)
    return pages * per_page + costs.tlb_flush_global


def kci_call(costs: PlatformCosts, origin: int, pages: float, hashed: float) -> Charge:
    """One VeilS-Kci call covering ``pages`` pages (``hashed``: see :func:`kci_handler_ns`)."""
    return domain_call(costs, origin, SER, handler_ns=kci_handler_ns(costs, pages, hashed))


def kci_run(costs: PlatformCosts, origin: int, pages: int, per_call: int, hashed: bool) -> Charge:
    """Protecting ``pages`` pages in calls of at most ``per_call`` pages, in closed form."""
    share = 1.0 if hashed else 0.0
    full, rest = divmod(pages, per_call)
    charge = kci_call(costs, origin, per_call, share).times(full) if full else NOTHING
    return charge + kci_call(costs, origin, rest, share) if rest else charge


# -- VeilMon at boot -------------------------------------------------------------------------

def page_validation_ns(costs: PlatformCosts, rmpadjusts: int, map_unmap_ns: float) -> float:
    """VeilMon validating one page for the kernel: map it, PVALIDATE, ``rmpadjusts`` RMPADJUST
    (grant the lower VMPLs access), unmap it (``map_unmap_ns``)."""
    return costs.pvalidate + rmpadjusts * costs.rmpadjust + map_unmap_ns


def monitor_launch_ns(costs: PlatformCosts, memory: float, launch_bytes_per_s: float, image: float,
                      init_ns: float) -> float:
    """Adding VeilMon to a boot: the VMM launches its memory region (PSP launch update at
    ``launch_bytes_per_s``), its image is measured with SHA-256, it initialises."""
    return memory / launch_bytes_per_s * 1e9 + costs.sha256_ns(image) + init_ns


def host_acceptance_ns(pages: int, accept_host_ns: float) -> float:
    """The hypervisor's part of accepting ``pages`` pages (page-state change, RMPUPDATE, host
    fault-in: ``accept_host_ns`` each), with or without Veil."""
    return pages * accept_host_ns


def cvm_acceptance_ns(costs: PlatformCosts, pages: int, accept_host_ns: float) -> float:
    """A plain CVM accepting ``pages`` pages: per page the hypervisor's part and a PVALIDATE."""
    return pages * (accept_host_ns + costs.pvalidate)


def veil_acceptance_ns(pages: int, accept_host_ns: float, call_pages: int,
                       call: Callable[[int], Charge]) -> float:
    """Veil accepting a contiguous run of ``pages`` pages: the hypervisor's part, then VeilMon
    calls of at most ``call_pages`` pages each (``call(n)``: :func:`validation_call` of ``n``
    pages), in closed form."""
    full, rest = divmod(pages, call_pages)
    calls_ns = full * call(call_pages).total_ns
    return host_acceptance_ns(pages, accept_host_ns) + calls_ns + (call(rest).total_ns if rest else 0.0)


def validation_call(costs: PlatformCosts, pages: int, page_in_monitor_ns: float) -> Charge:
    """One VeilMon call validating ``pages`` pages (kernel below VMPL-0 may not PVALIDATE): per
    page map, PVALIDATE, RMPADJUSTs and unmap (``page_in_monitor_ns``); one global TLB flush."""
    handler = pages * page_in_monitor_ns + costs.tlb_flush_global
    return domain_call(costs, UNT, MON, handler_ns=handler, handler_cause=MONITOR)


def ap_boot_call(costs: PlatformCosts, rmpadjusts: int) -> Charge:
    """Booting one AP through VeilMon: its RMPADJUSTs (revoke, read-only, VMSA bit) and a global
    TLB flush."""
    handler = rmpadjusts * costs.rmpadjust + costs.tlb_flush_global
    return domain_call(costs, UNT, MON, handler_ns=handler, handler_cause=MONITOR)


def calls_for(pages: int, per_call: int) -> int:
    """Calls needed for ``pages`` pages at ``per_call`` pages per call."""
    return math.ceil(pages / per_call)
