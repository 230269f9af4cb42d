"""The protected services veilperf knows, in the order records and reports list them.

Adding a service is one module (or package) declaring a :class:`~veilperf.services.spec.ServiceSpec`
and one line here (docs/architecture.md, "Adding a service"). Importing this module loads only
the specs, never a service's model (no SimPy).
"""

from __future__ import annotations

from veilperf.services import enc, kci, log
from veilperf.services.spec import ServiceSpec

SPECS: tuple[ServiceSpec, ...] = (
    enc.SPEC,
    log.SPEC,
    kci.SPEC,
)


def spec(name: str) -> ServiceSpec:
    """The spec of the service enabled under ``setup.services.<name>``."""
    for candidate in SPECS:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no service {name!r} (known: {', '.join(s.name for s in SPECS)})")
