"""Adding a service is one module and one registry line: a minimal service plugged in here."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from services_support import nominal

from veilperf.build import model_inputs
from veilperf.model import charges
from veilperf.model.domains import SER
from veilperf.model.system import System
from veilperf.services.registry import SERVICES


@dataclass(frozen=True)
class NotarySettings:
    handler_ns: float


class NotaryService:
    """Example: after every system call the kernel asks DomSer to notarise it (one service call
    with a fixed handler), and counts them."""

    name = "notary"

    def __init__(self, settings: NotarySettings, system: System) -> None:
        self.settings, self.system, self.calls = settings, system, 0

    def attach(self) -> None:
        self.system.after_syscall.append(self.on_syscall)

    def on_syscall(self, runner, name: str):
        charge = charges.domain_call(runner.ctx.costs, runner.vcpu.domain, SER,
                                     handler_ns=self.settings.handler_ns)
        yield from runner.call(charge)
        self.calls += 1

    def metrics(self) -> dict[str, float]:
        return {"notary.calls": self.calls}


def test_a_new_service_plugs_in_through_the_registry(make_cfg, milan_raw):
    """With the example service: time = native + calls x (two switches + the callee's map/unmap
    and dispatch + the handler), closed form from the profile's numbers; nothing else changes."""
    n = nominal(milan_raw)
    cfg = make_cfg([{"compute": "10us"}, {"syscall": {"name": "read", "kernel": "1us", "repeat": 3}}],
                   setup={"mode": "veil"}, run={"iterations": 40})
    plain = model_inputs(cfg)
    inputs = replace(plain, services=(("notary", NotarySettings(handler_ns=500.0)),))
    record = System(inputs, services={**SERVICES, "notary": NotaryService}).run()
    baseline = System(plain).run()
    calls = 40 * 3
    assert record["notary.calls"] == calls
    assert record["switches.unt_ser"] == record["switches.ser_unt"] == calls
    expected = baseline["sim_time_ns"] + calls * (n.round_trip + 500.0)
    assert record["sim_time_ns"] == pytest.approx(expected, rel=1e-12)
    assert record["cause.service_ns"] == pytest.approx(calls * 500.0, rel=1e-12)
