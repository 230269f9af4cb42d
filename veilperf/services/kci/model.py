"""VeilS-Kci's model: kernel code integrity (spec: :mod:`veilperf.services.kci`).

Kernel text and module pages are write-protected for DomUnt; every run-time permission change
(module load/unload, JIT, text patching) goes through the service, which hashes the pages it is
asked to protect (text and read-only data) and changes their permissions with one RMPADJUST per
page, in calls of at most ``pages_per_call`` pages, each ending with a global TLB flush. An unload
only gives the pages back (RMPADJUST, no hash). Without the service (cvm,
or veil with Kci off) the kernel changes permissions itself and the op costs nothing extra.
"""

from __future__ import annotations

from functools import cache, partial
from typing import TYPE_CHECKING

from veilperf.model import charges
from veilperf.model.domains import UNT
from veilperf.services.kci import KciSettings

if TYPE_CHECKING:
    from veilperf.model.program import KciOp
    from veilperf.model.system import System
    from veilperf.model.thread import Gen, ThreadRunner

HASHED_OPS = frozenset({"module_load", "jit", "text_patch"})  # pages that become executable


class KciService:
    """Mediates kernel page-permission changes; counts calls and pages."""

    name = "kci"

    def __init__(self, settings: KciSettings, system: "System") -> None:
        self.settings = settings
        self.costs = system.ctx.costs
        self.system = system
        self._call = cache(partial(charges.kci_call, self.costs))
        self.calls = 0
        self.pages = 0
        self.hashed_pages = 0  # for the mean call whose cost is recorded

    def attach(self) -> None:
        self.system.ctx.kci_handler = self.run_op

    def run_op(self, runner: "ThreadRunner", op: "KciOp") -> "Gen":
        """Mediate one permission-change op, in calls of at most ``pages_per_call`` pages."""
        per_call = self.settings.pages_per_call
        hashed = 1.0 if self.settings.hash_pages and op.op in HASHED_OPS else 0.0
        remaining = op.pages
        while remaining:
            batch = min(per_call, remaining)
            yield from runner.call(self._call(runner.vcpu.domain, batch, hashed))
            self.calls += 1
            self.pages += batch
            self.hashed_pages += batch if hashed else 0
            remaining -= batch

    def metrics(self) -> dict[str, float]:
        """Counters and resolved costs for the run record (columns in ``services.kci.COLUMNS``;
        the kernel calls from DomUnt)."""
        pool = self.system.ctx.service_pool
        message = pool.message if pool is not None else None
        pages = self.pages / self.calls if self.calls else 0.0
        hashed = self.hashed_pages / self.pages if self.pages else 0.0
        call = charges.kci_call(self.costs, UNT, pages, hashed)
        return {"kci.calls": self.calls, "kci.pages": self.pages,
                "costs.kci.call_ns": charges.paid_ns(call, message),
                "costs.kci.call_switching_ns": charges.paid_switching_ns(call, message)}
