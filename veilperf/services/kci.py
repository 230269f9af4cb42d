"""VeilS-Kci: kernel code integrity.

Kernel text and module pages are write-protected for DomUnt; every run-time permission change
(module load/unload, JIT, text patching) goes through the service, which hashes the pages it is
asked to protect (text and read-only data) and changes their permissions with one RMPADJUST per
page, in calls of at most ``pages_per_call`` pages, each ending with a global TLB flush. An unload
only gives the pages back (RMPADJUST, no hash). Without the service (cvm,
or veil with Kci off) the kernel changes permissions itself and the op costs nothing extra.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from veilperf.model import charges
from veilperf.model.charges import Charge

if TYPE_CHECKING:
    from veilperf.model.program import KciOp
    from veilperf.model.system import System
    from veilperf.model.thread import Gen, ThreadRunner

HASHED_OPS = frozenset({"module_load", "jit", "text_patch"})  # pages that become executable


@dataclass(frozen=True, slots=True)
class KciSettings:
    """Pages listed per service call, and whether pages made executable are measured first."""

    pages_per_call: int = 510
    hash_pages: bool = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "KciSettings":
        return cls(**data)


class KciService:
    """Mediates kernel page-permission changes; counts calls and pages."""

    name = "kci"

    def __init__(self, settings: KciSettings, system: "System") -> None:
        self.settings = settings
        self.costs = system.ctx.costs
        self.system = system
        self._charges: dict[tuple[int, int, bool], Charge] = {}
        self.calls = 0
        self.pages = 0

    def attach(self) -> None:
        self.system.ctx.kci_handler = self.run_op

    def _call(self, origin: int, pages: int, hashed: bool) -> Charge:
        key = (origin, pages, hashed)
        charge = self._charges.get(key)
        if charge is None:
            charge = self._charges[key] = charges.kci_call(self.costs, origin, pages, hashed)
        return charge

    def run_op(self, runner: "ThreadRunner", op: "KciOp") -> "Gen":
        """Mediate one permission-change op, in calls of at most ``pages_per_call`` pages."""
        per_call = self.settings.pages_per_call
        hashed = self.settings.hash_pages and op.op in HASHED_OPS
        remaining = op.pages
        while remaining:
            batch = min(per_call, remaining)
            yield from runner.call(self._call(runner.vcpu.domain, batch, hashed))
            self.calls += 1
            self.pages += batch
            remaining -= batch

    def metrics(self) -> dict[str, float]:
        """Counters for the run record (``kci.*``)."""
        return {"kci.calls": self.calls, "kci.pages": self.pages}
