"""Settings of Veil's protected services (VeilS-Enc, VeilS-Log, VeilS-Kci)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from veilperf.config.types import Duration, Rate, Size, Strict


class EncService(Strict):
    """VeilS-Enc: every application thread of the workload runs inside an enclave (DomEnc)."""

    enabled: bool = False
    enclave_size: Size = 16 * 1024**2  # bytes measured and permission-changed at creation
    timer_hz: Rate = 250.0  # timer interrupts taken in the enclave: exit + re-entry each
    switchless: bool = False  # what-if: ocalls posted to a polling worker on another VCPU
    switchless_workers: int = Field(default=1, ge=1)


class AuditRules(Strict):
    """Which system calls produce an audit record: ``all``, a list of ``names``, or ``classes``."""

    select: Literal["all", "names", "classes"] = "all"
    names: list[str] = []
    classes: list[Literal["file", "network", "process", "memory", "ipc", "time", "other"]] = []

    @model_validator(mode="after")
    def _has_selection(self):
        if self.select == "names" and not self.names:
            raise ValueError("select: names needs a non-empty names list")
        if self.select == "classes" and not self.classes:
            raise ValueError("select: classes needs a non-empty classes list")
        return self


class LogService(Strict):
    """VeilS-Log: audit records protected in a ring owned by DomSer."""

    enabled: bool = False
    rules: AuditRules = AuditRules()
    record_size: Size = 256.0  # bytes of one audit record
    transit_buffer: Size = 1024.0
    ring_size: Size = 40 * 1024.0
    record_align: Size = 64.0
    reader_period: Duration | None = 10e6  # ns between ring drains; None: never read
    read_chunk: Size = 128.0  # bytes returned per read call
    records_per_call: int = Field(default=1, ge=1)  # what-if: batching


class KciService(Strict):
    """VeilS-Kci: kernel text write-protected for DomUnt; permission changes through the service."""

    enabled: bool = False
    pages_per_call: int = Field(default=510, ge=1)
    hash_pages: bool = True


class Services(Strict):
    enc: EncService = EncService()
    log: LogService = LogService()
    kci: KciService = KciService()

    @property
    def active(self) -> list[str]:
        """Names of the enabled services, in a fixed order."""
        return [n for n in ("enc", "log", "kci") if getattr(self, n).enabled]
