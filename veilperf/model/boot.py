"""Boot of a SEV-SNP CVM, with or without Veil, as a SimPy process over its VCPUs.

Order on the bootstrap processor (BSP), each step one timeout (costs in :mod:`boot_costs`):

1. ``launch``: the VMM starts the guest and launches the firmware.
2. ``monitor_load`` (Veil): the VMM launches VeilMon's memory region (PSP launch update), VeilMon's
   image is measured with SHA-256, VeilMon starts.
3. ``replicas`` (Veil): VeilMon sets up one VMSA per VCPU for each boot domain the CVM lacks
   (allocate, initialise, RMPADJUST it into a VMSA, register it with the hypervisor).
4. ``firmware``: OVMF.
5. ``kernel``: the kernel's fixed work plus memmap initialisation (per page of guest memory).
6. ``validation``: eager: the BSP accepts all guest memory (as Linux does, before SMP bring-up);
   lazy: the BSP accepts only what it touches (``boot_touched`` plus memmap), in 4 MiB chunks.
7. ``kci`` (Veil, when enabled): VeilS-Kci write-protects kernel text, batched service calls.
8. ``ap_boot``: the BSP brings the APs up one after the other (serial bring-up, as SNP guests do);
   under Veil each AP is booted through one VeilMon call (7 RMPADJUST, a global TLB flush) before
   the kernel's own bring-up. Each AP, once online, accepts under lazy acceptance the memory it
   touches (``ap_touched``) while the BSP goes on with the next AP.

Assumptions: VeilMon serialises its work with one lock (a ``simpy.Resource`` of capacity 1); a
caller's hypervisor work and its two switches lie outside the lock. Steps 1-7 run before any AP
exists, so nothing can contend for VeilMon there and each is charged as one closed-form timeout
(the lock is taken once around eager or lazy BSP acceptance, uncontended by construction). APs
accepting memory lazily contend with each other and with the BSP's AP-boot calls, call by call.
Boot ends when the last VCPU is done. Lazily unaccepted memory is paid later, on first touch:
``boot.first_touch_ns`` reports that guest CPU time (summed, uncontended), not part of boot time.
"""

from __future__ import annotations

from collections.abc import Generator

import simpy

from veilperf.model.boot_costs import BootCosts
from veilperf.model.metrics import run_to, switch_cost_columns

PHASES = ("launch", "monitor_load", "replicas", "firmware", "kernel", "validation", "kci", "ap_boot")


class _Boot:
    """State of one simulated boot: the environment, VeilMon's lock, phase times and counters."""

    def __init__(self, costs: BootCosts) -> None:
        self.c = costs
        self.env = simpy.Environment()
        self.monitor = simpy.Resource(self.env, capacity=1)
        self.phase_ns = dict.fromkeys(PHASES, 0.0)
        self.monitor_calls = 0
        self.monitor_wait_ns = 0.0
        self.pages_validated = 0

    def charge(self, phase: str, ns: float) -> simpy.Timeout:
        """Account ``ns`` to ``phase`` and return the timeout that spends it."""
        self.phase_ns[phase] += ns
        return self.env.timeout(ns)

    def monitor_call(self, phase: str, before: float, inside: float, after: float) -> Generator:
        """One VeilMon call: ``before`` and ``after`` outside the monitor lock, ``inside`` holding it."""
        self.monitor_calls += 1
        yield self.charge(phase, before)
        asked = self.env.now
        with self.monitor.request() as granted:
            yield granted
            self.monitor_wait_ns += self.env.now - asked
            yield self.charge(phase, inside)
        yield self.charge(phase, after)

    def bsp(self) -> Generator:
        c = self.c
        yield self.charge("launch", c.vmm_launch)
        if c.veil:
            yield self.charge("monitor_load", c.monitor_load)
            yield self.charge("replicas", c.replicas * c.replica)
        yield self.charge("firmware", c.firmware)
        yield self.charge("kernel", c.kernel_fixed + c.memory_pages * c.struct_page_init)
        yield from self.bsp_acceptance()
        if c.kci:
            yield self.charge("kci", c.kci_phase)
        ap_budget = c.memory_pages - self.pages_validated
        for _ in range(c.vcpus - 1):
            if c.veil:
                call = c.ap_call
                yield from self.monitor_call("ap_boot", call.before, call.inside, call.after)
            yield self.charge("ap_boot", c.ap_bringup)
            ap_pages = min(c.chunked_pages(c.ap_touched_pages), ap_budget) if c.lazy else 0
            ap_budget -= ap_pages
            if ap_pages:
                self.env.process(self.ap_acceptance(ap_pages))

    def bsp_acceptance(self) -> Generator:
        """Eager: all memory; lazy: the chunks the BSP touches. One uncontended lock hold."""
        c = self.c
        pages = c.chunked_pages(c.boot_touched_pages + c.memmap_pages) if c.lazy else c.memory_pages
        self.pages_validated += pages
        self.monitor_calls += c.chunked_calls(pages) if c.lazy else c.calls_for(pages)
        ns = c.chunked_ns(pages) if c.lazy else c.validate_run_ns(pages)
        if not c.veil:
            yield self.charge("validation", ns)
            return
        with self.monitor.request() as granted:
            yield granted
            yield self.charge("validation", ns)

    def ap_acceptance(self, pages: int) -> Generator:
        """An AP accepts the chunks it touches on coming online, call by call (it may contend)."""
        c = self.c
        self.pages_validated += pages
        if not c.veil:
            yield self.charge("validation", c.chunked_ns(pages))
            return
        for chunk in c.chunks_of(pages):
            for start in range(0, chunk, c.call_pages):
                call = c.validate_call(min(c.call_pages, chunk - start))
                yield from self.monitor_call("validation", call.before, call.inside, call.after)


def simulate_boot(costs: BootCosts) -> dict[str, float]:
    """Simulate a boot and return its record metrics."""
    boot = _Boot(costs)
    boot.env.process(boot.bsp())
    events = run_to(boot.env)
    first_touch_pages = costs.memory_pages - boot.pages_validated
    record: dict[str, float] = {
        "sim_time_ns": boot.env.now,
        "boot.total_ns": boot.env.now,
    }
    record.update({f"boot.{name}_ns": ns for name, ns in boot.phase_ns.items()})
    record.update({
        "boot.monitor_wait_ns": boot.monitor_wait_ns,
        "boot.monitor_calls": boot.monitor_calls,
        "boot.kci_calls": costs.kci_calls,
        "boot.replicas": costs.replicas,
        "boot.pages_validated": boot.pages_validated,
        "boot.first_touch_pages": first_touch_pages,
        "boot.first_touch_ns": costs.chunked_ns(first_touch_pages),
        "boot.first_touch_monitor_calls": costs.chunked_calls(first_touch_pages),
    })
    if costs.veil:
        record.update(switch_cost_columns(costs.costs))
        record.update(costs.cost_columns())
    record["events"] = events
    return record
