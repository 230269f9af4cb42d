"""Boot-model settings: the platform's boot-phase costs and an experiment's guest shape.

``BootPlatform`` is the ``boot:`` section of a platform profile. It separates the parts of a boot
that are fixed (VMM launch, firmware, the kernel's memory-independent work) from the per-page and
per-VCPU costs that make boot scale with the guest. ``BootSpec`` is the ``boot:`` section of an
experiment: the guest that is booted (its VCPU count and mode come from ``setup``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from veilperf.config.params import BandwidthParam, CountParam, DurationParam, SizeParam
from veilperf.config.types import Size, Strict


class BootPlatform(Strict):
    """Boot-phase costs of the platform, each with provenance. Units: ns, bytes, bytes/s."""

    # Fixed phases of a plain SEV-SNP CVM boot.
    vmm_launch: DurationParam  # QEMU start + SNP launch of the firmware image
    firmware: DurationParam  # OVMF
    kernel_fixed: DurationParam  # Linux to user space, minus the scaling parts below

    # Parts of the kernel phase that scale with the guest.
    ap_bringup: DurationParam  # per AP: the kernel's serial bring-up, the BSP waits for it
    struct_page_init: DurationParam  # per 4 KiB page of guest memory: memmap initialisation
    struct_page_size: SizeParam  # bytes of memmap per 4 KiB page (touched, so accepted, at boot)
    boot_touched: SizeParam  # lazy acceptance: memory the BSP touches during boot besides memmap
    ap_touched: SizeParam  # lazy acceptance: memory each AP touches when it comes online

    # Memory acceptance (page validation).
    accept_host: DurationParam  # per page: everything but the guest's PVALIDATE (PSC, RMPUPDATE, fault-in)
    accept_chunk: SizeParam  # lazy acceptance granularity
    monitor_call_pages: CountParam  # pages validated per VeilMon call
    validate_rmpadjusts: CountParam  # RMPADJUST per validated page (grant VMPL-1..3)
    page_map_unmap: DurationParam  # per validated page: VeilMon maps and unmaps it

    # Veil's additions.
    monitor_image: SizeParam  # VeilMon binary, hashed (SHA-256) when loaded
    monitor_memory: SizeParam  # memory reserved for VeilMon, launched (validated) with it
    monitor_launch_bandwidth: BandwidthParam  # launch update (PSP) rate of the monitor region
    monitor_init: DurationParam  # VeilMon's own start-up before the firmware runs
    ap_boot_rmpadjusts: CountParam  # RMPADJUST per AP booted through VeilMon
    kernel_text: SizeParam  # kernel text write-protected by VeilS-Kci at boot


class BootSpec(Strict):
    """The guest being booted; VCPUs come from ``setup.vcpus``, cvm/veil from ``setup.mode``."""

    memory: Size = Field(default=1024**3, gt=0)  # bytes of guest memory
    acceptance: Literal["eager", "lazy"] = "eager"
    kci_protect_text: bool = False  # veil mode only: VeilS-Kci write-protects kernel text at boot
