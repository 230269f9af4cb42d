"""The model's plain inputs: frozen dataclasses in model units (ns, bytes), built by the run layer.

The model and the services read only these; they import nothing from ``veilperf.config``
(``veilperf/build.py`` turns a validated ``RunConfig`` into a :class:`ModelInputs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

from veilperf.model.costs import PlatformCosts

if TYPE_CHECKING:
    from veilperf.model.service import ServiceFactory


@dataclass(frozen=True, slots=True)
class Dist:
    """A random duration in ns: ``kind`` is exponential (``mean``), lognormal (``mean``, ``cv``),
    uniform (``low``, ``high``) or empirical (``samples``)."""

    kind: str
    mean: float = 0.0
    cv: float = 0.0
    low: float = 0.0
    high: float = 0.0
    samples: tuple[float, ...] = ()


TimeSpec = Union[float, Dist]
"""A constant duration in ns, or a distribution."""


@dataclass(frozen=True, slots=True)
class Compute:
    time: TimeSpec


@dataclass(frozen=True, slots=True)
class Syscall:
    """One system call: kernel CPU time, time asleep (``blocked``), bytes copied in and out, and
    for a memory-management call the pages it maps, unmaps or changes (None: not known)."""

    name: str
    kernel: TimeSpec
    blocked: TimeSpec = 0.0
    bytes_in: float = 0.0
    bytes_out: float = 0.0
    repeat: int = 1
    vdso: bool = False
    pages: float | None = None


@dataclass(frozen=True, slots=True)
class Call:
    """An explicit round trip into VeilMon or a service (``domain`` is a domain index)."""

    domain: int
    handler: TimeSpec
    nbytes: float = 0.0


@dataclass(frozen=True, slots=True)
class KciChange:
    """A kernel page-permission change (module load, JIT, text patching, unload)."""

    op: str
    pages: int


Step = Union[Compute, Syscall, Call, KciChange]


@dataclass(frozen=True, slots=True)
class MixCall:
    """One call of a sampled mix, drawn with probability proportional to ``weight``."""

    syscall: Syscall
    weight: float


@dataclass(frozen=True, slots=True)
class Mix:
    """Each iteration: one compute ``gap``, then one call drawn from ``calls``."""

    gap: TimeSpec
    calls: tuple[MixCall, ...]


@dataclass(frozen=True, slots=True)
class WorkloadInput:
    """What the program does: exactly one of ``steps``, ``mix``, ``replay`` (one list per thread)."""

    name: str
    threads: int
    open_loop: bool
    arrival_per_ns: float = 0.0
    iterations_per_request: int = 1
    steps: tuple[Step, ...] | None = None
    mix: Mix | None = None
    replay: tuple[tuple[Step, ...], ...] | None = None
    footprint: float | None = None
    """The program's memory in bytes (peak RSS or mapped memory), if the workload states it."""


@dataclass(frozen=True, slots=True)
class Layout:
    """How the VCPUs are used: application VCPUs first, then dedicated DomSer VCPUs and DomEnc
    VCPUs (static partitioning), then switchless polling workers."""

    app: int
    ser: int = 0
    enc: int = 0
    workers: int = 0


@dataclass(frozen=True, slots=True)
class Limits:
    """Run length: iterations per thread (or requests) and a deadline in ns (``inf`` = none)."""

    iterations: float
    deadline_ns: float


@dataclass(frozen=True, slots=True)
class ModelInputs:
    """Everything one workload simulation needs."""

    costs: PlatformCosts
    workload: WorkloadInput
    veil: bool
    layout: Layout
    limits: Limits
    seed: int
    sched_quantum_ns: float = 3e6
    services: tuple[tuple[str, "ServiceFactory", Any], ...] = ()
    """(name, model class, settings) of each enabled service, from its spec (the run layer reads
    the registry; the model imports no service)."""
