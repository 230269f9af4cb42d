"""How a protected service's model plugs into the simulated system: one small protocol.

A service's model class is constructed with its settings (the frozen dataclass its spec declares,
built by the run layer) and the :class:`~veilperf.model.system.System`; ``attach`` wires it into
the hooks the system offers, and ``metrics`` returns its record columns (``<name>.*`` and
``costs.<name>.*``, as its spec lists them). Hooks a service may use:

- ``system.home``: the domain application threads run in (an enclave service sets DomEnc);
- ``system.syscall_path``: how system calls execute (e.g. ocalls);
- ``system.after_syscall``: generators run after each non-vDSO system call (e.g. an audit hook);
- ``system.entry``: an object with ``enter(runner)``, ``leave(runner)`` and ``set_up(vcpus)``
  that puts application threads in their domain (one service may own it);
- ``system.background``: generator factories started as SimPy processes (e.g. a log reader);
- ``system.ctx``: the shared run context (costs, ledger, ``kci_handler``, timer ticks, pools).

The model calls nothing service-specific and imports no service: the run layer puts each enabled
service's model class (from its spec in ``veilperf.services.registry``) and settings into the
model's inputs, and ``System`` constructs and attaches them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    from veilperf.model.system import System


class Service(Protocol):
    """A protected service of the model."""

    name: str

    def attach(self) -> None:
        """Register the service's hooks on its system."""

    def metrics(self) -> dict[str, float | str]:
        """The service's counters and resolved costs for the run record."""


ServiceFactory = Callable[[Any, "System"], Service]
"""Builds a service's model from its settings and the system (the service's model class)."""
