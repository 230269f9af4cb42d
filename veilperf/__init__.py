"""veilperf: a discrete-event performance simulator of Veil on AMD SEV-SNP confidential VMs.

Library entry points for notebooks and scripts: :func:`load_results` and :func:`overheads`.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "load_results", "overheads"]


def __getattr__(name: str) -> Any:
    # Lazy: `import veilperf` stays cheap for the CLI and worker processes.
    if name in ("load_results", "overheads"):
        from veilperf import analysis

        return getattr(analysis, name)
    raise AttributeError(f"module 'veilperf' has no attribute {name!r}")
