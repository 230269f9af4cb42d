"""VeilS-Kci, kernel code integrity: the service's spec (settings, record columns, crossings,
labels). Its model is :mod:`veilperf.services.kci.model`, imported only to simulate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from veilperf.services.spec import AtLeast, Column, Crossing, CrossingPart, ServiceSpec


@dataclass(frozen=True, slots=True)
class KciSettings:
    """VeilS-Kci: kernel text write-protected for DomUnt; permission changes through the service."""

    # assumption (Kci is not in the released code): a call lists its pages' frame numbers in the
    # 4,088-byte calling area, as the monitor's validation calls do with 510 pages per call
    pages_per_call: Annotated[int, AtLeast(1)] = 510
    hash_pages: bool = True  # measure pages made executable or read-only before protecting them


DEFAULTS = KciSettings()


def short_label(settings: KciSettings) -> str:
    """``kci``, ``kci unhashed``, ``kci 64 pages/call``: what differs from the defaults."""
    parts = ["kci"]
    if not settings.hash_pages:
        parts.append("unhashed")
    if settings.pages_per_call != DEFAULTS.pages_per_call:
        parts.append(f"{settings.pages_per_call} pages/call")
    return " ".join(parts)


COLUMNS = (
    Column("kci.calls", "VeilS-Kci calls (permission changes, in calls of at most pages_per_call pages)", "count"),
    Column("kci.pages", "pages whose permissions the service changed", "count"),
    Column("costs.kci.call_ns", "one VeilS-Kci call at the run's mean pages per call and share of hashed pages "
           "(the empty call when it made none): the call into DomSer, per page an RMPADJUST and, for pages made "
           "executable, a SHA-256, then a global TLB flush; with static partitioning the DomSer pool's message "
           "both ways instead of the switches (no queueing)", "ns"),
    Column("costs.kci.call_switching_ns", "the domain switches in costs.kci.call_ns", "ns"),
)

SPEC = ServiceSpec(
    name="kci",
    display_name="VeilS-Kci (kernel code integrity)",
    settings=KciSettings,
    model="veilperf.services.kci.model:KciService",
    columns=COLUMNS,
    short_label=short_label,
    color="#2ca02c",
    crossing=Crossing(
        what="service calls",
        parts=(CrossingPart("kci.calls", "costs.kci.call_ns", "costs.kci.call_switching_ns"),),
        explains="a call into DomSer (two switches, VeilMon's map/unmap and dispatch) changing the permissions "
                 "of its pages (an RMPADJUST each, a SHA-256 of each page made executable) and flushing the TLB, "
                 "at the program's mean pages per call",
    ),
)
