"""Workload schema: what a program does, as steps, a sampled syscall mix, or an exact replay."""

from __future__ import annotations

import difflib
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from veilperf.config.types import Duration, Rate, Size, Strict
from veilperf.services.syscall_classes import MM_CALLS
from veilperf.syscalls import NAMES as SYSCALL_NAMES


def _known_syscall(name: str) -> str:
    """``name`` if it is in the x86-64 system-call table, else an error with the closest names."""
    if name not in SYSCALL_NAMES:
        close = difflib.get_close_matches(name, SYSCALL_NAMES, n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise ValueError(f"unknown system call {name!r} (not in the x86-64 table){hint}")
    return name


SyscallName = Annotated[str, AfterValidator(_known_syscall)]
"""A name from the x86-64 system-call table (:mod:`veilperf.syscalls`)."""

Pages = Annotated[float | None, Field(default=None, ge=0)]
"""Pages a memory-management call maps, unmaps or changes (its length over 4 KiB; a mix call's
mean); unset: not known (private enclave page tables then assume 1 page and the record says so)."""


def _pages_only_for_mm_calls(call):
    if call.pages is not None and call.name not in MM_CALLS:
        raise ValueError(f"pages is for memory-management calls ({', '.join(sorted(MM_CALLS))}), not {call.name}")
    return call

class Distribution(Strict):
    """A random duration. ``fixed`` uses ``value``; ``exponential`` and ``lognormal`` use ``mean``
    (``lognormal`` also ``cv``, the coefficient of variation); ``uniform`` uses ``low``/``high``;
    ``empirical`` draws uniformly from ``samples``."""

    dist: Literal["fixed", "exponential", "lognormal", "uniform", "empirical"]
    value: Duration | None = None
    mean: Duration | None = None
    cv: float | None = Field(default=None, ge=0)
    low: Duration | None = None
    high: Duration | None = None
    samples: list[Duration] | None = None

    @model_validator(mode="after")
    def _needs(self):
        need = {
            "fixed": ("value",),
            "exponential": ("mean",),
            "lognormal": ("mean", "cv"),
            "uniform": ("low", "high"),
            "empirical": ("samples",),
        }[self.dist]
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"dist {self.dist!r} needs {', '.join(missing)}")
        if self.dist == "uniform" and self.low > self.high:
            raise ValueError("uniform low is above high")
        if self.dist == "empirical" and not self.samples:
            raise ValueError("empirical needs at least one sample")
        return self

    @property
    def expected(self) -> float:
        """Mean of the distribution in ns."""
        if self.dist == "fixed":
            return self.value
        if self.dist in ("exponential", "lognormal"):
            return self.mean
        if self.dist == "uniform":
            return (self.low + self.high) / 2
        return sum(self.samples) / len(self.samples)


TimeSpec = Duration | Distribution


class Syscall(Strict):
    """One system call: kernel (CPU) time, time ``blocked`` asleep waiting (the VCPU is free
    meanwhile; open-loop requests skip it, their arrivals being the wait), bytes copied in
    (write-like) and out (read-like)."""

    name: SyscallName
    kernel: TimeSpec
    blocked: TimeSpec = 0.0
    bytes_in: Size = 0.0
    bytes_out: Size = 0.0
    repeat: int = Field(default=1, ge=1)
    vdso: bool = False  # served in user space (e.g. clock_gettime): never leaves the caller's domain
    pages: Pages = None  # memory-management calls: pages per call (see Pages)

    _pages = model_validator(mode="after")(_pages_only_for_mm_calls)


class DomainCall(Strict):
    """An explicit call into VeilMon or a service (a round trip). Under ``cvm`` the handler's work
    runs natively in the kernel: the baseline does the same work without isolation."""

    domain: Literal["mon", "ser"]
    handler: TimeSpec
    bytes: Size = 0.0


class KciOp(Strict):
    """A kernel page-permission change mediated by VeilS-Kci (module load, JIT, text patching)."""

    op: Literal["module_load", "module_unload", "jit", "text_patch"]
    pages: int = Field(ge=1)


class Step(Strict):
    """Exactly one of ``compute``, ``syscall``, ``call``, ``kci``."""

    compute: TimeSpec | None = None
    syscall: Syscall | None = None
    call: DomainCall | None = None
    kci: KciOp | None = None

    @model_validator(mode="after")
    def _exactly_one(self):
        given = [k for k in ("compute", "syscall", "call", "kci") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a step has exactly one of compute, syscall, call, kci"
                             + (f" (got {', '.join(given)})" if given else ""))
        return self


class MixEntry(Strict):
    """One system call of a sampled mix, drawn with probability proportional to ``weight``
    (``kernel`` and ``blocked`` as in :class:`Syscall`)."""

    name: SyscallName
    weight: float = Field(gt=0)
    kernel: TimeSpec
    blocked: TimeSpec = 0.0
    bytes_in: Size = 0.0
    bytes_out: Size = 0.0
    vdso: bool = False
    pages: Pages = None  # memory-management calls: mean pages per call (see Pages)

    _pages = model_validator(mode="after")(_pages_only_for_mm_calls)


class SyscallMix(Strict):
    """A fitted model: each iteration is one compute gap followed by one system call from ``calls``."""

    gap: TimeSpec
    calls: list[MixEntry] = Field(min_length=1)


class NativeTime(Strict):
    """The program's untraced run time: ``measured`` by ``veilperf workload record`` (median of the
    kept runs, ``low``/``high`` their min/max: their spread, ``stdev`` their sample standard
    deviation), or ``estimated`` from the trace alone by a blind import (``low``/``high`` the stated
    uncertainty range)."""

    source: Literal["measured", "estimated"]
    wall: Duration
    low: Duration
    high: Duration
    stdev: Duration | None = None
    user: Duration | None = None
    sys: Duration | None = None
    runs: int | None = Field(default=None, ge=1)
    peak_rss: Size | None = None

    @model_validator(mode="after")
    def _ordered(self):
        if not 0 <= self.low <= self.wall <= self.high:
            raise ValueError("needs 0 <= low <= wall <= high")
        return self


class Provenance(Strict):
    source: Literal["trace", "measurement", "citation", "synthetic"]
    command: str | None = None
    machine: str | None = None
    date: str | None = None
    input: str | None = None
    trace: str | None = None  # the trace file(s); `record` writes it relative to the workload file
    sha256: str | None = None
    citation: str | None = None
    strace_overhead_per_call: Duration | None = None
    kernel: str | None = None  # uname -r of the machine traced on
    tracer: str | None = None  # e.g. "strace -- version 6.1"
    native: NativeTime | None = None
    footprint_source: str | None = None  # how the workload's footprint was obtained
    notes: str | None = None


class WorkloadSpec(Strict):
    """A workload: ``threads`` run ``steps`` (or draw from ``mix``, or replay ``replay``)."""

    name: str
    description: str = ""
    provenance: Provenance
    footprint: Size | None = Field(default=None, gt=0)  # the program's memory (see provenance)
    threads: int = Field(default=1, ge=1)
    loop: Literal["closed", "open"] = "closed"
    iterations: int | None = Field(default=None, ge=1)
    duration: Duration | None = None
    arrival_rate: Rate | None = None
    iterations_per_request: int = Field(default=1, ge=1)  # open loop: steps (or mix draws) per request
    steps: list[Step] | None = None
    mix: SyscallMix | None = None
    replay: list[list[Step]] | None = None  # one exact step list per traced thread

    @model_validator(mode="after")
    def _consistent(self):
        bodies = [k for k in ("steps", "mix", "replay") if getattr(self, k) is not None]
        if len(bodies) != 1:
            raise ValueError("a workload has exactly one of steps, mix, replay")
        if self.loop == "open":
            if self.arrival_rate is None or self.arrival_rate <= 0:
                raise ValueError("an open-loop workload needs a positive arrival_rate")
            if self.replay is not None:
                raise ValueError("replay workloads are closed-loop")
        elif self.iterations_per_request != 1:
            raise ValueError("iterations_per_request applies to open-loop workloads only")
        if self.replay is not None and len(self.replay) != self.threads:
            raise ValueError(f"replay has {len(self.replay)} thread lists but threads is {self.threads}")
        return self
