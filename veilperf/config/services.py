"""Settings of Veil's protected services (VeilS-Enc, VeilS-Log, VeilS-Kci)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from veilperf.config.types import Duration, Rate, Size, Strict
from veilperf.services.syscall_classes import CLASS_NAMES


FALLBACK_ENCLAVE_SIZE = 16 * 1024**2
"""Assumption for workloads that state no footprint (no enclave image size is published for
Veil): 16 MiB, within the 4-64 MiB that configs/enclave.yaml sweeps."""


class EncService(Strict):
    """VeilS-Enc: every application thread of the workload runs inside an enclave (DomEnc).

    ``enclave_size``: the bytes measured and permission-changed at creation. Unset (null), it is
    the program's own memory, the workload's ``footprint`` (peak RSS from ``veilperf workload
    record``, or mapped memory seen in the trace), else ``FALLBACK_ENCLAVE_SIZE``; the record's
    ``enc.size_source`` says which. ``timer_hz`` is the guest's CONFIG_HZ (250 on Debian/Ubuntu
    x86-64 kernels; 100-1000 possible).
    """

    enabled: bool = False
    enclave_size: Size | None = None  # bytes measured and permission-changed at creation
    timer_hz: Rate = 250.0  # timer interrupts taken in the enclave: exit + re-entry each
    switchless: bool = False  # what-if: ocalls posted to a polling worker on another VCPU
    switchless_workers: int = Field(default=1, ge=1)


class AuditRules(Strict):
    """Which system calls produce an audit record: ``all``, a list of ``names``, or ``classes``."""

    select: Literal["all", "names", "classes"] = "all"
    names: list[str] = []
    classes: list[str] = []  # names in veilperf.services.syscall_classes.CLASS_NAMES

    @model_validator(mode="after")
    def _has_selection(self):
        if self.select == "names" and not self.names:
            raise ValueError("select: names needs a non-empty names list")
        if self.select == "classes" and not self.classes:
            raise ValueError("select: classes needs a non-empty classes list")
        unknown = [c for c in self.classes if c not in CLASS_NAMES]
        if unknown:
            raise ValueError(f"unknown syscall class(es) {', '.join(unknown)}; "
                             f"known: {', '.join(CLASS_NAMES)}")
        return self


class AuditRecordSizes(Strict):
    """Bytes of each record of one Linux audit syscall event, as the kernel formats it.

    Measured from the example event in the RHEL 7 Security Guide, "Understanding Audit Log Files"
    (``cat /etc/ssh/sshd_config`` under a file watch), counting the kernel's text from
    ``audit(<time>:<serial>):`` on: SYSCALL 349 B, CWD 51 B, PATH 215 B, PROCTITLE 88 B; the EOE
    record the kernel ends every syscall event with (kernel/auditsc.c, audit_log_exit) is only
    that 29 B header. Real sizes vary with path lengths, the command line and the SELinux label.
    """

    syscall: Size = 349.0
    cwd: Size = 51.0
    path: Size = 215.0
    proctitle: Size = 88.0
    eoe: Size = 29.0


class LogService(Strict):
    """VeilS-Log: audit records protected in a ring owned by DomSer."""

    enabled: bool = False
    rules: AuditRules = AuditRules()
    # event: each audited call produces the Linux audit event's records (SYSCALL, CWD + PATH for
    # calls naming a path, PROCTITLE, EOE), each handed to the service on its own;
    # single: one record of record_size per audited call (a leaner hook, for comparison)
    record_model: Literal["event", "single"] = "event"
    record_sizes: AuditRecordSizes = AuditRecordSizes()
    # assumption, for record_model single only: one record per call, between the EOE header (29 B)
    # and a whole event (~730 B with a path, record_sizes); sweep within that range
    record_size: Size = 256.0
    transit_buffer: Size = 1024.0  # prototype: per-CPU transit buffer (docs/references.md)
    ring_size: Size = 40 * 1024.0  # prototype: 10 x 4 KiB ring (docs/references.md)
    record_align: Size = 64.0  # prototype: records rounded up to 64 B (docs/references.md)
    # assumption (no reader is described): an auditd-like reader drains the ring every 10 ms
    reader_period: Duration | None = 10e6  # ns between ring drains; None: never read
    read_chunk: Size = 128.0  # bytes returned per read call (prototype, docs/references.md)
    records_per_call: int = Field(default=1, ge=1)  # what-if: batching


class KciService(Strict):
    """VeilS-Kci: kernel text write-protected for DomUnt; permission changes through the service."""

    enabled: bool = False
    # assumption (Kci is not in the released code): a call lists its pages' frame numbers in the
    # 4,088-byte calling area, as the monitor's validation calls do with 510 pages per call
    pages_per_call: int = Field(default=510, ge=1)
    hash_pages: bool = True  # measure pages made executable or read-only before protecting them


class Services(Strict):
    enc: EncService = EncService()
    log: LogService = LogService()
    kci: KciService = KciService()

    @property
    def active(self) -> list[str]:
        """Names of the enabled services, in a fixed order."""
        return [n for n in ("enc", "log", "kci") if getattr(self, n).enabled]
