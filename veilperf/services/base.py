"""How a protected service plugs into the model: one small protocol.

A service is constructed with its settings (a frozen dataclass of its own module, built by the run
layer) and the :class:`~veilperf.model.system.System`; ``attach`` wires it into the hooks the
system offers, and ``metrics`` returns its ``<name>.*`` record columns. Hooks a service may use:

- ``system.home``: the domain application threads run in (an enclave service sets DomEnc);
- ``system.syscall_path``: how system calls execute (e.g. ocalls);
- ``system.after_syscall``: generators run after each non-vDSO system call (e.g. an audit hook);
- ``system.entry``: an object with ``enter(runner)``, ``leave(runner)`` and ``set_up(vcpus)``
  that puts application threads in their domain (one service may own it);
- ``system.background``: generator factories started as SimPy processes (e.g. a log reader);
- ``system.ctx``: the shared run context (costs, ledger, ``kci_handler``, timer ticks, pools).

The model calls nothing service-specific: ``System`` attaches every service of its inputs through
``veilperf.services.registry.SERVICES``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from veilperf.model.system import System


class Service(Protocol):
    """A protected service of the model."""

    name: str

    def __init__(self, settings: Any, system: "System") -> None: ...

    def attach(self) -> None:
        """Register the service's hooks on its system."""

    def metrics(self) -> dict[str, float]:
        """The service's counters for the run record."""
