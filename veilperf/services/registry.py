"""The protected services the model knows, by the name the setup enables them under."""

from __future__ import annotations

from veilperf.services.base import Service
from veilperf.services.enc import EnclaveService
from veilperf.services.kci import KciService
from veilperf.services.log import LogService

SERVICES: dict[str, type[Service]] = {
    "enc": EnclaveService,
    "log": LogService,
    "kci": KciService,
}
