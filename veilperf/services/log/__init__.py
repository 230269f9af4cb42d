"""VeilS-Log, the tamper-proof audit log: the service's spec (settings, record columns, crossings,
labels). Its model is :mod:`veilperf.services.log.model`, imported only to simulate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from veilperf.services.spec import AtLeast, Column, Crossing, CrossingPart, Quantity, ServiceSpec
from veilperf.services.syscall_classes import CLASS_NAMES, names_path, syscall_class
from veilperf.units import format_duration, format_size


@dataclass(frozen=True, slots=True)
class AuditRules:
    """Which system calls produce an audit record: ``all``, a list of ``names``, or ``classes``."""

    select: Literal["all", "names", "classes"] = "all"
    names: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()  # names in veilperf.services.syscall_classes.CLASS_NAMES

    def __post_init__(self) -> None:
        if self.select == "names" and not self.names:
            raise ValueError("select: names needs a non-empty names list")
        if self.select == "classes" and not self.classes:
            raise ValueError("select: classes needs a non-empty classes list")
        unknown = [c for c in self.classes if c not in CLASS_NAMES]
        if unknown:
            raise ValueError(f"unknown syscall class(es) {', '.join(unknown)}; "
                             f"known: {', '.join(CLASS_NAMES)}")

    def selects(self, name: str) -> bool:
        """Whether these rules produce records for system call ``name``."""
        if self.select == "all":
            return True
        if self.select == "names":
            return name in self.names
        return syscall_class(name) in self.classes


@dataclass(frozen=True, slots=True)
class AuditRecordSizes:
    """Bytes of each record of one Linux audit syscall event, as the kernel formats it.

    Measured from the example event in the RHEL 7 Security Guide, "Understanding Audit Log Files"
    (``cat /etc/ssh/sshd_config`` under a file watch), counting the kernel's text from
    ``audit(<time>:<serial>):`` on: SYSCALL 349 B, CWD 51 B, PATH 215 B, PROCTITLE 88 B; the EOE
    record the kernel ends every syscall event with (kernel/auditsc.c, audit_log_exit) is only
    that 29 B header. Real sizes vary with path lengths, the command line and the SELinux label.
    """

    syscall: Annotated[float, Quantity("size")] = 349.0
    cwd: Annotated[float, Quantity("size")] = 51.0
    path: Annotated[float, Quantity("size")] = 215.0
    proctitle: Annotated[float, Quantity("size")] = 88.0
    eoe: Annotated[float, Quantity("size")] = 29.0


@dataclass(frozen=True, slots=True)
class LogSettings:
    """VeilS-Log: audit records protected in a ring owned by DomSer."""

    rules: AuditRules = AuditRules()
    # event: each audited call produces the Linux audit event's records (SYSCALL, CWD + PATH for
    # calls naming a path, PROCTITLE, EOE), each handed to the service on its own;
    # single: one record of record_size per audited call (a leaner hook, for comparison)
    record_model: Literal["event", "single"] = "event"
    record_sizes: AuditRecordSizes = AuditRecordSizes()
    # assumption, for record_model single only: one record per call, between the EOE header (29 B)
    # and a whole event (~730 B with a path, record_sizes); sweep within that range
    record_size: Annotated[float, Quantity("size")] = 256.0
    transit_buffer: Annotated[float, Quantity("size")] = 1024.0  # prototype: per-CPU transit buffer (docs/references.md)
    ring_size: Annotated[float, Quantity("size")] = 40 * 1024.0  # prototype: 10 x 4 KiB ring (docs/references.md)
    record_align: Annotated[float, Quantity("size")] = 64.0  # prototype: records rounded up to 64 B (docs/references.md)
    # assumption (no reader is described): an auditd-like reader drains the ring every 10 ms
    reader_period: Annotated[float | None, Quantity("duration")] = 10e6  # ns between ring drains; None: never read
    read_chunk: Annotated[float, Quantity("size")] = 128.0  # bytes returned per read call (prototype, docs/references.md)
    records_per_call: Annotated[int, AtLeast(1)] = 1  # what-if: batching

    def record_sizes_for(self, name: str) -> tuple[float, ...]:
        """Sizes in bytes (after truncation to the transit buffer) of the records system call
        ``name`` produces; empty when the audit rules do not select it."""
        if not self.rules.selects(name):
            return ()
        if self.record_model == "single":
            sizes: tuple[float, ...] = (self.record_size,)
        else:
            r = self.record_sizes
            named = (r.cwd, r.path) if names_path(name) else ()
            sizes = (r.syscall, *named, r.proctitle, r.eoe)
        return tuple(min(size, self.transit_buffer) for size in sizes)


DEFAULTS = LogSettings()
CLASS_ABBREVIATIONS = {"fileinfo": "finfo", "network": "net", "process": "proc", "memory": "mem"}
"""Audit classes as short labels spell them."""


def _rules_label(rules: AuditRules) -> str:
    if rules.select == "all":
        return "all"
    if rules.select == "classes":
        return "+".join(CLASS_ABBREVIATIONS.get(c, c) for c in rules.classes)
    shown = ",".join(rules.names[:3])
    return shown + (f",+{len(rules.names) - 3}" if len(rules.names) > 3 else "")


def short_label(settings: LogSettings) -> str:
    """``log all``, ``log file+net``, ``log read,write``, then what else differs from the defaults
    (``single``, ``batch 4``, ``ring 80KiB``, ``read every 1 ms``, ``unread``)."""
    parts = ["log", _rules_label(settings.rules)]
    if settings.record_model != DEFAULTS.record_model:
        parts.append(settings.record_model)
    if settings.records_per_call != DEFAULTS.records_per_call:
        parts.append(f"batch {settings.records_per_call}")
    if settings.ring_size != DEFAULTS.ring_size:
        parts.append(f"ring {format_size(settings.ring_size)}")
    if settings.reader_period is None:
        parts.append("unread")
    elif settings.reader_period != DEFAULTS.reader_period:
        parts.append(f"read every {format_duration(settings.reader_period)}")
    return " ".join(parts)


COLUMNS = (
    Column("log.events", "audited system calls", "count"),
    Column("log.records", "audit records produced (an event is several under record_model: event)", "count"),
    Column("log.bytes", "bytes of those records (after truncation to the transit buffer)", "bytes"),
    Column("log.calls", "append calls into VeilS-Log", "count"),
    Column("log.appended", "records appended to the ring", "count"),
    Column("log.pending", "records still in a per-VCPU transit batch when the run ended (records_per_call > 1)",
           "count"),
    Column("log.pending_bytes", "bytes of those records", "bytes"),
    Column("log.lost", "records overwritten in the ring before they were read", "count"),
    Column("log.lost_bytes", "bytes of the records lost (as log.bytes counts them, not their ring slots)", "bytes"),
    Column("log.lost_share", "log.lost / log.records (0 without records)", "share"),
    Column("log.read", "records the reader drained", "count"),
    Column("log.read_bytes", "bytes of the records read back", "bytes"),
    Column("log.unread", "records left in the ring, unread, when the run ended", "count"),
    Column("log.unread_bytes", "bytes of those records", "bytes"),
    Column("log.read_calls", "read calls into VeilS-Log: per drain, ceil(ring bytes drained / read_chunk)", "count"),
    Column("log.ring_bytes", "ring bytes (slots: sizes rounded up to record_align) of every appended record", "bytes"),
    Column("log.ring_high_water_bytes", "most ring bytes ever unread at once", "bytes"),
    Column("costs.log.call_ns", "one append call at the run's mean records and bytes per call (the empty call "
           "when it made none): the records' transit copies, the call into DomSer, their copies into the ring "
           "(aligned); with static partitioning the DomSer pool's message both ways instead of the switches "
           "(no queueing for the ring or the pool)", "ns"),
    Column("costs.log.call_switching_ns", "the domain switches in costs.log.call_ns", "ns"),
    Column("costs.log.read_call_ns", "one read call returning read_chunk bytes through the calling area", "ns"),
    Column("costs.log.read_call_switching_ns", "the domain switches in costs.log.read_call_ns", "ns"),
)

SPEC = ServiceSpec(
    name="log",
    display_name="VeilS-Log (audit log)",
    settings=LogSettings,
    model="veilperf.services.log.model:LogService",
    columns=COLUMNS,
    short_label=short_label,
    color="#d62728",
    crossing=Crossing(
        what="service calls (writes and reads)",
        parts=(CrossingPart("log.calls", "costs.log.call_ns", "costs.log.call_switching_ns"),
               CrossingPart("log.read_calls", "costs.log.read_call_ns", "costs.log.read_call_switching_ns")),
        explains="a write is a call into DomSer (two switches, VeilMon's map/unmap and dispatch) whose records "
                 "are copied twice (audit hook -> transit buffer, service -> ring, aligned to 64 B), at the "
                 "program's mean records and bytes per call; a read is a call returning read_chunk (128 B) bytes",
    ),
)
