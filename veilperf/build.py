"""Run layer: turn one validated ``RunConfig`` into the model's plain inputs.

Everything policy-like that is not a mechanism lives here: the run length (the run section, else
the workload's own), the VCPU layout (static partitions, switchless workers), which services run
(their specs, from the registry, give the model class and the settings) and unit conversions (SI
-> ns, bytes per ns). The model and the services import nothing from ``veilperf.config``.
"""

from __future__ import annotations

import math
from typing import Any

from veilperf.config.platform import PlatformProfile
from veilperf.config.run_config import RunConfig
from veilperf.config.workload import Distribution, Step, WorkloadSpec
from veilperf.model import charges
from veilperf.model import inputs as mi
from veilperf.model.boot_costs import BootCosts
from veilperf.model.costs import PAGE_SIZE, PlatformCosts
from veilperf.model.domains import BY_NAME
from veilperf.services.registry import SPECS


def platform_costs(profile: PlatformProfile) -> PlatformCosts:
    """Resolve a validated platform profile; the switch is one figure or the sum of its parts
    (``charges.switch_one_way_ns``)."""
    p = profile.params
    switch = charges.switch_one_way_ns(profile.switch_model, {name: getattr(p, name).value
                                                              for name in charges.SWITCH_MODELS[profile.switch_model]})
    return PlatformCosts(
        switch_one_way=switch,
        monitor_map_unmap=p.monitor_map_unmap.value,
        monitor_dispatch=p.monitor_dispatch.value,
        channel_fixed=p.channel_fixed.value,
        copy_bytes_per_ns=p.memcpy_bandwidth.value / 1e9,
        calling_area_bytes=p.calling_area_usable.value,
        sha256_bytes_per_ns=p.sha256_bandwidth.value / 1e9,
        rmpadjust=p.rmpadjust.value,
        pvalidate=p.pvalidate.value,
        tlb_flush_global=p.tlb_flush_global.value,
        pt_update=p.pt_update.value,
        ghcb_roundtrip=p.ghcb_roundtrip.value,
        ipi_notify=p.ipi_notify.value,
        poll_latency=p.poll_latency.value,
    )


def _time(spec: float | Distribution) -> mi.TimeSpec:
    if not isinstance(spec, Distribution):
        return float(spec)
    if spec.dist == "fixed":
        return float(spec.value)
    return mi.Dist(spec.dist, mean=spec.mean or 0.0, cv=spec.cv or 0.0, low=spec.low or 0.0,
                   high=spec.high or 0.0, samples=tuple(spec.samples or ()))


def _syscall(s: Any) -> mi.Syscall:
    return mi.Syscall(s.name, _time(s.kernel), _time(s.blocked), s.bytes_in, s.bytes_out,
                      getattr(s, "repeat", 1), s.vdso, s.pages)


def _step(step: Step) -> mi.Step:
    if step.compute is not None:
        return mi.Compute(_time(step.compute))
    if step.syscall is not None:
        return _syscall(step.syscall)
    if step.call is not None:
        return mi.Call(BY_NAME[step.call.domain], _time(step.call.handler), step.call.bytes)
    return mi.KciChange(step.kci.op, step.kci.pages)


def workload_input(wl: WorkloadSpec) -> mi.WorkloadInput:
    """The workload as plain steps, mix or replay."""
    steps = tuple(_step(s) for s in wl.steps) if wl.steps is not None else None
    replay = tuple(tuple(_step(s) for s in thread) for thread in wl.replay) if wl.replay is not None else None
    mix = None
    if wl.mix is not None:
        mix = mi.Mix(_time(wl.mix.gap), tuple(mi.MixCall(_syscall(e), e.weight) for e in wl.mix.calls))
    return mi.WorkloadInput(
        name=wl.name, threads=wl.threads, open_loop=wl.loop == "open",
        arrival_per_ns=(wl.arrival_rate or 0.0) / 1e9, iterations_per_request=wl.iterations_per_request,
        steps=steps, mix=mix, replay=replay, footprint=wl.footprint)


def limits(cfg: RunConfig) -> mi.Limits:
    """Run length: the run section, else the workload's own; a replay runs once by default."""
    run, wl = cfg.run, cfg.workload
    iterations, duration = run.iterations, run.duration
    if iterations is None and duration is None:
        iterations, duration = wl.iterations, wl.duration
    if iterations is None and duration is None and wl.replay is not None:
        iterations = 1
    if iterations is None and duration is None:
        raise ValueError("no run length: set run.iterations or run.duration")
    return mi.Limits(iterations if iterations is not None else math.inf,
                     duration if duration is not None else math.inf)


def layout(cfg: RunConfig) -> mi.Layout:
    """Application VCPUs, then static DomSer / DomEnc partitions, then switchless workers."""
    setup = cfg.setup
    enc = setup.services.enc
    static = setup.mode == "veil" and setup.vcpu_model == "static"
    ser = setup.static.service_vcpus if static else 0
    enclave = setup.static.enclave_vcpus if static and enc.enabled else 0
    workers = enc.switchless_workers if enc.enabled and enc.switchless and not static else 0
    return mi.Layout(app=setup.vcpus - ser - enclave - workers, ser=ser, enc=enclave, workers=workers)


def service_settings(cfg: RunConfig) -> tuple[tuple[str, Any, Any], ...]:
    """(name, model class, settings dataclass) of each enabled service, in the registry's order."""
    out = []
    for spec in SPECS:
        section = getattr(cfg.setup.services, spec.name)
        if section.enabled:
            data = section.model_dump(exclude={"enabled"})
            out.append((spec.name, spec.load_model(), spec.settings_of(data)))
    return tuple(out)


def model_inputs(cfg: RunConfig) -> mi.ModelInputs:
    """Everything the workload model needs, as plain frozen data."""
    return mi.ModelInputs(
        costs=platform_costs(cfg.platform), workload=workload_input(cfg.workload),
        veil=cfg.setup.mode == "veil", layout=layout(cfg), limits=limits(cfg), seed=cfg.seed,
        sched_quantum_ns=cfg.setup.sched_quantum, services=service_settings(cfg))


def boot_costs(cfg: RunConfig) -> BootCosts:
    """Boot-phase costs of a ``kind: boot`` run configuration."""
    pc = platform_costs(cfg.platform)
    b = cfg.platform.boot
    veil = cfg.setup.mode == "veil"
    kci_cfg = cfg.setup.services.kci
    pages = lambda nbytes: math.ceil(nbytes / PAGE_SIZE)  # noqa: E731
    return BootCosts(
        costs=pc,
        veil=veil,
        vcpus=cfg.setup.vcpus,
        memory_pages=pages(cfg.boot.memory),
        lazy=cfg.boot.acceptance == "lazy",
        kci=veil and (cfg.boot.kci_protect_text or kci_cfg.enabled),
        vmm_launch=b.vmm_launch.value,
        firmware=b.firmware.value,
        kernel_fixed=b.kernel_fixed.value,
        ap_bringup=b.ap_bringup.value,
        struct_page_init=b.struct_page_init.value,
        memmap_fraction=b.struct_page_size.value / PAGE_SIZE,
        boot_touched_pages=pages(b.boot_touched.value),
        ap_touched_pages=pages(b.ap_touched.value),
        accept_host=b.accept_host.value,
        chunk_pages=pages(b.accept_chunk.value),
        call_pages=b.monitor_call_pages.value,
        page_map_unmap=b.page_map_unmap.value,
        validate_rmpadjusts=b.validate_rmpadjusts.value,
        monitor_load=charges.monitor_launch_ns(pc, b.monitor_memory.value, b.monitor_launch_bandwidth.value,
                                               b.monitor_image.value, b.monitor_init.value),
        ap_boot_rmpadjusts=b.ap_boot_rmpadjusts.value,
        kci_text_pages=pages(b.kernel_text.value),
        kci_pages_per_call=kci_cfg.pages_per_call,
        kci_hash=kci_cfg.hash_pages,
    )
