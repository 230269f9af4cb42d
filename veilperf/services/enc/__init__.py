"""VeilS-Enc, enclave management: the service's spec (settings, record columns, crossings,
labels). Its model is :mod:`veilperf.services.enc.model`, imported only to simulate."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

from veilperf.model.costs import PAGE_SIZE
from veilperf.services.spec import AtLeast, Column, Crossing, CrossingPart, Quantity, ServiceSpec
from veilperf.units import format_size

FALLBACK_ENCLAVE_SIZE = 16 * 1024**2
"""Assumption for workloads that state no footprint (no enclave image size is published for
Veil): 16 MiB, within the 4-64 MiB that configs/enclave.yaml sweeps."""


@dataclass(frozen=True, slots=True)
class EncSettings:
    """VeilS-Enc: every application thread of the workload runs inside an enclave (DomEnc).

    ``enclave_size``: the bytes measured and permission-changed at creation. Unset (null), it is
    the program's own memory, the workload's ``footprint`` (peak RSS from ``veilperf workload
    record``, or mapped memory seen in the trace), else ``FALLBACK_ENCLAVE_SIZE``; the record's
    ``enc.size_source`` says which. ``timer_hz`` is the guest's CONFIG_HZ (250 on Debian/Ubuntu
    x86-64 kernels; 100-1000 possible).
    """

    enclave_size: Annotated[float | None, Quantity("size")] = None  # bytes measured and permission-changed at creation
    timer_hz: Annotated[float, Quantity("rate")] = 250.0  # timer interrupts taken in the enclave: exit + re-entry each
    switchless: bool = False  # what-if: ocalls posted to a polling worker on another VCPU
    switchless_workers: Annotated[int, AtLeast(1)] = 1


DEFAULTS = EncSettings()


def enclave_size(settings: EncSettings, footprint: float | None) -> tuple[float, str]:
    """(bytes, source) of the enclave: the setting, else the program's footprint rounded up to
    whole pages, else :data:`FALLBACK_ENCLAVE_SIZE`."""
    if settings.enclave_size is not None:
        return settings.enclave_size, "setting"
    if footprint:
        return math.ceil(footprint / PAGE_SIZE) * PAGE_SIZE, "workload"
    return FALLBACK_ENCLAVE_SIZE, "fallback"


def short_label(settings: EncSettings) -> str:
    """``enc``, ``enc switchless``, ``enc switchless x2``, ``enc 4MiB``, ``enc 1000 Hz``: what
    differs from the defaults."""
    parts = ["enc"]
    if settings.switchless:
        workers = settings.switchless_workers
        parts.append("switchless" if workers == 1 else f"switchless x{workers}")
    if settings.enclave_size is not None:
        parts.append(format_size(settings.enclave_size))
    if settings.timer_hz != DEFAULTS.timer_hz:
        parts.append(f"{settings.timer_hz:g} Hz")
    return " ".join(parts)


COLUMNS = (
    Column("enc.ocalls", "system calls the enclave made through the untrusted kernel (vDSO calls excluded)", "count"),
    Column("enc.vdso_calls", "vDSO calls, which stay in the enclave", "count"),
    Column("enc.timer_exits", "timer interrupts taken in DomEnc, each an exit and a re-entry", "count"),
    Column("enc.replicas", "DomEnc VCPU replicas created (one per VCPU that ran enclave code)", "count"),
    Column("enc.create_ns", "time the threads spent creating the enclave and their replicas, or waiting for them",
           "ns"),
    Column("enc.size_bytes", "the enclave measured and permission-changed at creation", "bytes"),
    Column("enc.size_source", "where enc.size_bytes came from: setting, workload (footprint) or fallback", "text"),
    Column("costs.enc.ocall_ns", "Veil's cost of one ocall at the run's mean argument bytes (the zero-byte ocall "
           "when it made none): exit and re-entry with both deep copies, or with a dedicated pool the copies and "
           "its message both ways (no queueing)", "ns"),
    Column("costs.enc.ocall_switching_ns", "the domain switches in costs.enc.ocall_ns", "ns"),
    Column("costs.enc.timer_exit_ns", "one timer interrupt taken in the enclave: exit and re-entry", "ns"),
    Column("costs.enc.timer_exit_switching_ns", "the domain switches in costs.enc.timer_exit_ns", "ns"),
    Column("costs.enc.creation_ns", "the VeilS-Enc call creating the enclave of enc.size_bytes", "ns"),
    Column("costs.enc.replica_ns", "the VeilMon call creating one DomEnc replica", "ns"),
)

SPEC = ServiceSpec(
    name="enc",
    display_name="VeilS-Enc (enclaves)",
    settings=EncSettings,
    model="veilperf.services.enc.model:EnclaveService",
    columns=COLUMNS,
    short_label=short_label,
    color="#1f77b4",
    crossing=Crossing(
        what="crossings (ocalls and timer exits)",
        parts=(CrossingPart("enc.ocalls", "costs.enc.ocall_ns", "costs.enc.ocall_switching_ns"),
               CrossingPart("enc.timer_exits", "costs.enc.timer_exit_ns", "costs.enc.timer_exit_switching_ns")),
        explains="an ocall leaves and re-enters the enclave (two one-way switches; VeilMon is not on this path) "
                 "and deep-copies its arguments both ways, at the program's mean bytes per ocall; a timer "
                 "interrupt taken in the enclave is an exit and a re-entry",
    ),
)
