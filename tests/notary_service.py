"""An example protected service, whole in one module, as a contributor would add one: after every
system call the kernel asks DomSer to notarise it (one service call with a fixed handler).

Plugged in with one line in ``veilperf/services/registry.py`` (the tests add it at run time) it
gets its settings section in the YAML schema (``setup.services.notary``), its record columns, its
crossing in the report's explanation and its label in the figures, with no other file touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from veilperf.model import charges
from veilperf.model.domains import SER, UNT
from veilperf.services.spec import Column, Crossing, CrossingPart, Quantity, ServiceSpec


@dataclass(frozen=True, slots=True)
class NotarySettings:
    """VeilS-Notary (example): every system call is notarised by a DomSer handler."""

    handler: Annotated[float, Quantity("duration")] = 500.0  # the handler's work per call


class NotaryService:
    """Counts the notarised calls; each is one call into DomSer with the settings' handler."""

    name = "notary"

    def __init__(self, settings: NotarySettings, system) -> None:
        self.settings, self.system, self.calls = settings, system, 0

    def attach(self) -> None:
        self.system.after_syscall.append(self.on_syscall)

    def on_syscall(self, runner, name: str):
        yield from runner.call(self.charge(runner.vcpu.domain))
        self.calls += 1

    def charge(self, origin: int) -> charges.Charge:
        return charges.domain_call(self.system.ctx.costs, origin, SER, handler_ns=self.settings.handler)

    def metrics(self) -> dict[str, float]:
        call = self.charge(UNT)
        return {"notary.calls": self.calls, "costs.notary.call_ns": call.total_ns,
                "costs.notary.call_switching_ns": call.switch_ns}


SPEC = ServiceSpec(
    name="notary",
    display_name="VeilS-Notary (example)",
    settings=NotarySettings,
    model=f"{__name__}:NotaryService",
    columns=(Column("notary.calls", "system calls notarised", "count"),
             Column("costs.notary.call_ns", "one notarising call into DomSer", "ns"),
             Column("costs.notary.call_switching_ns", "the domain switches in costs.notary.call_ns", "ns")),
    short_label=lambda settings: f"notary {settings.handler:g} ns",
    color="#8c564b",
    crossing=Crossing("notarising calls", (CrossingPart("notary.calls", "costs.notary.call_ns",
                                                        "costs.notary.call_switching_ns"),),
                      "a call into DomSer (two switches, map/unmap, dispatch) and the notary's handler"),
)
