"""VCPUs with one replica per domain, and the run-wide ledger of switches and Veil-added causes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from veilperf.model.domains import UNT

if TYPE_CHECKING:
    from veilperf.model.charges import Charge

# Causes of Veil-added time (indices into Ledger.causes). ``pagetable``: VeilS-Enc's work on an
# enclave's private page tables (page permissions, entries, TLB flushes; the page_tables what-if).
SWITCH, COPY, MONITOR, SERVICE, NOTIFY, QUEUE, PAGETABLE = range(7)
CAUSE_NAMES = ("switch", "copy", "monitor", "service", "notify", "queue", "pagetable")


class Vcpu:
    """One VCPU: which replica (domain) it is running, and where its time went.

    ``steal`` holds work injected by background activity (e.g. the log reader) that the thread
    running on this VCPU pays at its next flush. ``held`` is measured independently of the
    charges: simulated time during which some thread or request held the VCPU.
    """

    __slots__ = ("index", "domain", "busy", "switching", "steal", "role", "held", "_since")

    def __init__(self, index: int, role: str = "app") -> None:
        self.index = index
        self.role = role
        self.domain = UNT
        self.busy = [0.0, 0.0, 0.0, 0.0]
        self.switching = 0.0
        self.steal = 0.0
        self.held = 0.0
        self._since = 0.0

    def acquire(self, now: float) -> "Vcpu":
        """Mark the VCPU as held from ``now``."""
        self._since = now
        return self

    def release(self, now: float) -> None:
        """Add the time since :meth:`acquire` to ``held``."""
        self.held += now - self._since


class Ledger:
    """Run-wide counters: domain switches by (from, to), Veil-added time by cause, timer
    interrupts taken outside DomUnt and first-touch page faults through VeilS-Enc."""

    __slots__ = ("switches", "causes", "timer_exits", "pt_faults")

    def __init__(self) -> None:
        self.switches = [[0, 0, 0, 0] for _ in range(4)]
        self.causes = [0.0] * len(CAUSE_NAMES)
        self.timer_exits = 0
        self.pt_faults = 0

    def account(self, vcpu: Vcpu, charge: "Charge") -> None:
        """Book a charge's work, switches and causes on ``vcpu`` and the ledger (no time passes)."""
        busy = vcpu.busy
        for domain, ns in charge.work_items:
            busy[domain] += ns
        if charge.switch_ns:
            vcpu.switching += charge.switch_ns
            switches = self.switches
            for src, dst, count in charge.switches:
                switches[src][dst] += count
        causes = self.causes
        for cause, ns in charge.cause_items:
            causes[cause] += ns
