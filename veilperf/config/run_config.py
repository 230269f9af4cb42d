"""One fully resolved run (a sweep point): platform, setup, one workload or a boot, length, seed."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from veilperf.config.boot import BootSpec
from veilperf.config.platform import PlatformProfile
from veilperf.config.services import Services
from veilperf.config.types import Duration, Strict
from veilperf.config.workload import WorkloadSpec


class StaticPartition(Strict):
    """Static partitioning (the design Veil rejects): dedicated VCPUs per non-application domain."""

    service_vcpus: int = Field(default=1, ge=1)
    enclave_vcpus: int = Field(default=1, ge=1)


class Setup(Strict):
    mode: Literal["cvm", "veil"] = "veil"
    vcpus: int = Field(default=1, ge=1)
    vcpu_model: Literal["replicas", "static"] = "replicas"
    static: StaticPartition = StaticPartition()
    services: Services = Services()
    # Time slice of a thread that shares a VCPU with others (more threads than VCPUs). Assumption:
    # Linux CFS gives a runnable thread a few ms (base slice 0.75-3 ms, at most sched_latency 24 ms);
    # sweep over [0.75ms, 24ms].
    sched_quantum: Duration = 3e6

    @model_validator(mode="after")
    def _consistent(self):
        services = self.services
        if self.mode == "cvm" and services.active:
            raise ValueError(f"mode cvm has no Veil services, but {', '.join(services.active)} enabled")
        if self.mode == "veil" and self.vcpus < 1 + self.dedicated_vcpus:
            raise ValueError(f"{self.vcpus} VCPUs leave none for the application after "
                             f"{self.dedicated_vcpus} dedicated ones (static partitioning / switchless workers)")
        enc = services.enc
        remote_ocalls = enc.enabled and (enc.switchless or self.vcpu_model == "static")
        if remote_ocalls and services.log.enabled:
            raise ValueError("VeilS-Log with switchless or statically partitioned enclaves is not modelled")
        if enc.enabled and enc.page_tables == "private" and self.vcpu_model == "static":
            raise ValueError("enc page_tables: private is modelled for ocalls on VCPU replicas, not with static "
                             "partitioning")
        return self

    @property
    def dedicated_vcpus(self) -> int:
        """VCPUs taken from the application: static partitions or switchless ocall workers."""
        if self.mode != "veil":
            return 0
        enc = self.services.enc
        if self.vcpu_model == "static":
            return self.static.service_vcpus + (self.static.enclave_vcpus if enc.enabled else 0)
        return enc.switchless_workers if enc.enabled and enc.switchless else 0


class RunSpec(Strict):
    """Run length; overrides the workload's own ``iterations``/``duration`` when given."""

    iterations: int | None = Field(default=None, ge=1)
    duration: Duration | None = None

    @model_validator(mode="after")
    def _one_length(self):
        if self.iterations is not None and self.duration is not None:
            raise ValueError("give iterations or duration, not both")
        return self


class RunConfig(Strict):
    """Everything one simulation needs; produced by the config layer for each sweep point."""

    name: str
    description: str = ""
    kind: Literal["workload", "boot"] = "workload"
    platform: PlatformProfile
    setup: Setup = Setup()
    workload: WorkloadSpec | None = None
    boot: BootSpec | None = None
    run: RunSpec = RunSpec()
    seed: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _has_subject(self):
        if self.kind == "workload" and self.workload is None:
            raise ValueError("a workload experiment needs a workload")
        if self.kind == "boot" and self.boot is None:
            raise ValueError("a boot experiment needs a boot section")
        return self
