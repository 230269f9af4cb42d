"""Boot-model settings: the platform's boot-phase costs and an experiment's guest shape.

(Owned by the boot model; extended there.)
"""

from __future__ import annotations

from veilperf.config.types import Strict


class BootPlatform(Strict):
    """Boot-phase costs of the platform (VMM launch, firmware, kernel), with provenance."""


class BootSpec(Strict):
    """The guest being booted."""
