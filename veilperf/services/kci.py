"""VeilS-Kci: kernel code integrity.

Kernel text and module pages are write-protected for DomUnt; every run-time permission change
(module load/unload, JIT, text patching) goes through the service, which hashes the pages it is
asked to protect (text and read-only data) and changes their permissions with one RMPADJUST per
page, in calls of at most ``pages_per_call`` pages, each ending with a global TLB flush. An unload
only gives the pages back (RMPADJUST, no hash). Without the service (cvm,
or veil with Kci off) the kernel changes permissions itself and the op costs nothing extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from veilperf.config.services import KciService as KciSettings
from veilperf.model.costs import PAGE_SIZE
from veilperf.model.domains import SER
from veilperf.model.vcpu import SERVICE

if TYPE_CHECKING:
    from veilperf.model.costs import PlatformCosts
    from veilperf.model.thread import Gen, ThreadRunner

_HASHED_OPS = frozenset({"module_load", "jit", "text_patch"})  # pages that become executable


class KciService:
    """Mediates kernel page-permission changes; counts calls and pages."""

    def __init__(self, settings: KciSettings, costs: "PlatformCosts") -> None:
        self.settings = settings
        self.costs = costs
        self.calls = 0
        self.pages = 0

    def handler_ns(self, op: str, pages: int) -> float:
        """The service's work for one call covering ``pages`` pages."""
        costs = self.costs
        per_page = costs.rmpadjust
        if self.settings.hash_pages and op in _HASHED_OPS:
            per_page += costs.sha256_ns(PAGE_SIZE)
        return pages * per_page + costs.tlb_flush_global

    def run_op(self, runner: "ThreadRunner", op: str, pages: int) -> "Gen":
        """Mediate one permission-change op, in batches of ``pages_per_call``."""
        per_call = self.settings.pages_per_call
        remaining = pages
        while remaining:
            batch = min(per_call, remaining)
            yield from runner.domain_call(SER, self.handler_ns(op, batch), 0.0, SERVICE)
            self.calls += 1
            self.pages += batch
            remaining -= batch

    def metrics(self) -> dict[str, float]:
        """Counters for the run record (``kci.*``)."""
        return {"kci.calls": self.calls, "kci.pages": self.pages}
